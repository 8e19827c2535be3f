package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// Format is a file format.
type Format string

// The formats.
const (
	CSV    Format = "csv"
	NDJSON Format = "ndjson"
)

// ParseFormat checks a format name; "jsonl" is taken for NDJSON.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "csv":
		return CSV, nil
	case "ndjson", "jsonl":
		return NDJSON, nil
	}
	return "", apierror.Invalidf("format", "invalid_format", "format %q: want csv or ndjson", s)
}

// Mode decides what a bad row does to an import.
type Mode string

// The modes.
const (
	// AllOrNothing writes nothing if any row is bad.
	AllOrNothing Mode = "all-or-nothing"
	// SkipBadRows writes the good rows and reports the bad ones.
	SkipBadRows Mode = "skip-bad-rows"
)

// ParseMode checks a mode name.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case AllOrNothing, SkipBadRows:
		return Mode(s), nil
	}
	return "", apierror.Invalidf("mode", "invalid_mode", "mode %q: want all-or-nothing or skip-bad-rows", s)
}

// DefaultBatchSize is how many rows an import writes per batch by default.
const DefaultBatchSize = 2500

// MaxBatchSize bounds the rows of one batch.
const MaxBatchSize = 10000

// MaxLineBytes is the longest NDJSON line an import reads; a longer one is
// reported as a bad row and skipped.
const MaxLineBytes = 16 << 20

// ImportOptions configures an import.
type ImportOptions struct {
	// Format of the input: CSV (with a header row) or NDJSON.
	Format Format
	// Map renames columns (CSV headers, NDJSON keys): column -> target,
	// where a target is a field API name, "lookup.uniqueField", "id",
	// "owner", or "" to skip the column. Unmapped columns map by name.
	Map map[string]string
	// IgnoreUnknown skips columns that name no field instead of refusing
	// the file (CSV) or the row (NDJSON).
	IgnoreUnknown bool
	// UpsertOn is "id" or a unique field: rows matching a live record
	// update it. Empty: every row creates a record.
	UpsertOn string
	// Mode is AllOrNothing (the default) or SkipBadRows.
	Mode Mode
	// BatchSize is the number of rows written per batch (default 2500).
	BatchSize int
	// Actor is recorded as createdBy/updatedBy.
	Actor records.Actor
	// Report, if set, receives the error report as CSV (row, line, field,
	// rule, value, message), written and flushed batch by batch.
	Report io.Writer
	// Progress, if set, is called after every batch.
	Progress func(Progress)
}

// Progress is an import's state after a batch.
type Progress struct {
	Rows, Created, Updated, Unchanged, Bad int64
}

// Problem is one line of the error report: one violation of one row.
type Problem struct {
	// Row numbers the data rows of the file from 1 (a CSV header is not a
	// row; blank NDJSON lines are not rows).
	Row int64 `json:"row"`
	// Line is the line of the file the row starts on.
	Line    int64  `json:"line"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule"`
	Value   string `json:"value,omitempty"`
	Message string `json:"message"`
}

// ReportHeader is the header row of the error report.
var ReportHeader = []string{"row", "line", "field", "rule", "value", "message"}

// firstProblems is how many problems a Summary carries.
const firstProblems = 10

// Summary is what an import did.
type Summary struct {
	Object    string `json:"object"`
	Format    Format `json:"format"`
	Mode      Mode   `json:"mode"`
	Rows      int64  `json:"rows"`
	Created   int64  `json:"created"`
	Updated   int64  `json:"updated"`
	Unchanged int64  `json:"unchanged"`
	Bad       int64  `json:"bad"`
	// Committed says whether the written rows are stored: false when an
	// all-or-nothing import had a bad row, or the import failed.
	Committed bool `json:"committed"`
	// Problems counts the report's lines; FirstProblems are the first few.
	Problems      int64     `json:"problems"`
	FirstProblems []Problem `json:"firstProblems,omitempty"`
	// IgnoredColumns were skipped: read-only (system fields, auto-numbers)
	// or, with IgnoreUnknown, unknown.
	IgnoredColumns []string `json:"ignoredColumns,omitempty"`
	Seconds        float64  `json:"seconds"`
	RowsPerSecond  float64  `json:"rowsPerSecond"`
}

// pending is a row read but not yet written.
type pending struct {
	row  records.ImportRow
	line int64
}

// batch is rows read, converted and prepared, on their way to the store.
type batch struct {
	rows  []records.ImportRow
	lines []int64
}

// importer carries one Import. A reader goroutine reads, converts and
// prepares (records.Importer.Prepare) the next batch while the caller's
// goroutine writes the current one, so the Go work of an import overlaps
// the database's; at most three batches are in memory.
type importer struct {
	opts    ImportOptions
	im      *records.Importer
	m       *mapper
	sum     *Summary
	report  *csv.Writer
	started time.Time

	// The reader goroutine's own.
	rows    int64
	cur     *batch
	batches chan<- *batch
}

// Import reads records of one object from r and writes them with store.
// Rows are validated like single writes; bad rows go to the report. It
// returns an error only when the import could not go on (an unreadable
// header, a database failure); the Summary says what was done until then.
// In AllOrNothing mode nothing is stored unless every row was good.
func Import(ctx context.Context, store *records.Store, tenantID, object string, r io.Reader, opts ImportOptions) (*Summary, error) {
	if opts.Format == "" {
		opts.Format = CSV
	}
	if opts.Mode == "" {
		opts.Mode = AllOrNothing
	}
	if _, err := ParseFormat(string(opts.Format)); err != nil {
		return nil, err
	}
	if _, err := ParseMode(string(opts.Mode)); err != nil {
		return nil, err
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.BatchSize < 1 || opts.BatchSize > MaxBatchSize {
		return nil, apierror.Invalidf("batch", "invalid_batch", "batch size must be between 1 and %d, got %d", MaxBatchSize, opts.BatchSize)
	}
	o, err := store.Object(ctx, tenantID, object)
	if err != nil {
		return nil, err
	}
	mp, err := newMapper(o, opts.Map, opts.IgnoreUnknown)
	if err != nil {
		return nil, err
	}
	im, err := store.BeginImport(ctx, tenantID, records.ImportOptions{
		Object: object, UpsertOn: opts.UpsertOn, AllOrNothing: opts.Mode == AllOrNothing, Actor: opts.Actor,
	})
	if err != nil {
		return nil, err
	}
	x := &importer{opts: opts, im: im, m: mp, started: time.Now(),
		sum: &Summary{Object: o.APIName, Format: opts.Format, Mode: opts.Mode}}
	if opts.Report != nil {
		x.report = csv.NewWriter(opts.Report)
		if err := x.report.Write(ReportHeader); err != nil {
			_, _ = im.Close(ctx)
			return nil, fmt.Errorf("write the error report: %w", err)
		}
	}
	err = x.run(ctx, r)
	committed, cerr := im.Close(ctx)
	if err == nil {
		err = cerr
	}
	x.sum.Committed = committed && err == nil
	x.sum.IgnoredColumns = mp.ignoredColumns()
	elapsed := time.Since(x.started)
	x.sum.Seconds = elapsed.Seconds()
	if elapsed > 0 {
		x.sum.RowsPerSecond = float64(x.sum.Rows) / elapsed.Seconds()
	}
	if x.report != nil {
		x.report.Flush()
		if rerr := x.report.Error(); err == nil && rerr != nil {
			err = fmt.Errorf("write the error report: %w", rerr)
		}
	}
	return x.sum, err
}

// run reads in a goroutine of its own and writes batch by batch.
func (x *importer) run(ctx context.Context, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *batch, 1)
	x.batches = batches
	readDone := make(chan error, 1)
	go func() {
		defer close(batches)
		var err error
		if x.opts.Format == CSV {
			err = x.readCSV(ctx, r)
		} else {
			err = x.readNDJSON(ctx, r)
		}
		if err == nil {
			err = x.send(ctx)
		}
		readDone <- err
	}()
	var err error
	for b := range batches {
		if err != nil {
			continue // drain until the reader sees the cancellation
		}
		if err = x.write(ctx, b); err != nil {
			cancel()
		}
	}
	if rerr := <-readDone; err == nil {
		err = rerr
	}
	return err
}

// add queues a row and hands the batch on when it is full.
func (x *importer) add(ctx context.Context, p pending) error {
	if x.cur == nil {
		x.cur = &batch{rows: make([]records.ImportRow, 0, x.opts.BatchSize), lines: make([]int64, 0, x.opts.BatchSize)}
	}
	x.rows++
	p.row.Row = x.rows
	x.cur.rows = append(x.cur.rows, p.row)
	x.cur.lines = append(x.cur.lines, p.line)
	if len(x.cur.rows) >= x.opts.BatchSize {
		return x.send(ctx)
	}
	return nil
}

// send prepares the current batch and hands it to the writer.
func (x *importer) send(ctx context.Context) error {
	b := x.cur
	if b == nil || len(b.rows) == 0 {
		return nil
	}
	x.cur = nil
	x.im.Prepare(b.rows)
	select {
	case x.batches <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// write writes a batch, reports its bad rows and shows progress.
func (x *importer) write(ctx context.Context, b *batch) error {
	bad, err := x.im.Write(ctx, b.rows)
	if err != nil {
		return err
	}
	first := b.rows[0].Row
	x.sum.Rows = b.rows[len(b.rows)-1].Row
	for _, e := range bad {
		line := b.lines[e.Row-first]
		for _, v := range e.Violations {
			if err := x.problem(Problem{Row: e.Row, Line: line, Field: v.Field, Rule: v.Rule, Value: scalarText(v.Value), Message: v.Message}); err != nil {
				return err
			}
		}
	}
	st := x.im.Stats()
	x.sum.Created, x.sum.Updated, x.sum.Unchanged, x.sum.Bad = st.Created, st.Updated, st.Unchanged, st.Bad
	if x.report != nil {
		x.report.Flush()
		if err := x.report.Error(); err != nil {
			return fmt.Errorf("write the error report: %w", err)
		}
	}
	if x.opts.Progress != nil {
		x.opts.Progress(Progress{Rows: x.sum.Rows, Created: st.Created, Updated: st.Updated, Unchanged: st.Unchanged, Bad: st.Bad})
	}
	return nil
}

func (x *importer) problem(p Problem) error {
	x.sum.Problems++
	if len(x.sum.FirstProblems) < firstProblems {
		x.sum.FirstProblems = append(x.sum.FirstProblems, p)
	}
	if x.report == nil {
		return nil
	}
	return x.report.Write([]string{fmt.Sprint(p.Row), fmt.Sprint(p.Line), p.Field, p.Rule, p.Value, p.Message})
}

// readCSV reads a header row and then one row per record.
func (x *importer) readCSV(ctx context.Context, r io.Reader) error {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return apierror.Invalidf("header", "invalid_header", "the CSV file is empty: it needs a header row")
	}
	if err != nil {
		return apierror.Invalidf("header", "invalid_header", "the CSV header cannot be read: %v", err)
	}
	header = append([]string(nil), header...)
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // Excel's byte order mark
	targets, err := x.m.header(header)
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := cr.FieldPos(0)
		p := pending{line: int64(line)}
		var pe *csv.ParseError
		switch {
		case err == nil:
			x.csvRow(&p.row, targets, rec)
		case errors.As(err, &pe):
			p.line = int64(pe.StartLine)
			msg := pe.Err.Error()
			if errors.Is(err, csv.ErrFieldCount) {
				msg = fmt.Sprintf("the row has %d fields, the header %d", len(rec), len(header))
			}
			p.row.Violations = model.Violations{{Rule: "csv", Message: msg}}
		default:
			return fmt.Errorf("read CSV: %w", err)
		}
		if err := x.add(ctx, p); err != nil {
			return err
		}
	}
}

// csvRow converts one CSV record. Empty cells give no value.
func (x *importer) csvRow(row *records.ImportRow, targets []*target, rec []string) {
	row.Values = make(map[string]any, len(rec))
	for i, cell := range rec {
		t := targets[i]
		if cell == "" || t.kind == targetIgnore {
			continue
		}
		switch t.kind {
		case targetID:
			row.ID = strings.TrimSpace(cell)
		case targetOwner:
			row.Values["owner"] = strings.TrimSpace(cell)
		case targetField:
			v, bad := fromCSV(t.field, cell)
			if bad != nil {
				row.Violations = append(row.Violations, *bad)
				continue
			}
			row.Values[t.field.APIName] = v
		case targetRef:
			v, bad := fromCSV(t.by, cell)
			if bad != nil {
				bad.Field, bad.Path = t.field.APIName, "/"+t.field.APIName
				row.Violations = append(row.Violations, *bad)
				continue
			}
			if row.Refs == nil {
				row.Refs = map[string]records.Ref{}
			}
			row.Refs[t.field.APIName] = records.Ref{By: t.by.APIName, Value: v}
		}
	}
}

// readNDJSON reads one JSON object per line; blank lines are skipped.
func (x *importer) readNDJSON(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var line int64
	var buf []byte
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		text, tooLong, err := readLine(br, &buf)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read NDJSON: %w", err)
		}
		eof := err != nil
		if len(text) == 0 && eof && !tooLong {
			return nil
		}
		line++
		if t := bytes.TrimSpace(text); len(t) > 0 || tooLong {
			p := pending{line: line}
			if tooLong {
				p.row.Violations = model.Violations{{Rule: "json", Message: fmt.Sprintf("the line is longer than %d bytes", MaxLineBytes)}}
			} else {
				x.jsonRow(&p.row, t)
			}
			if err := x.add(ctx, p); err != nil {
				return err
			}
		}
		if eof {
			return nil
		}
	}
}

// readLine reads one line without its newline into *buf. A line longer
// than MaxLineBytes is skipped to its end and reported as too long.
func readLine(br *bufio.Reader, buf *[]byte) (line []byte, tooLong bool, err error) {
	*buf = (*buf)[:0]
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(*buf)+len(chunk) > MaxLineBytes+1 {
				tooLong, *buf = true, (*buf)[:0]
			} else {
				*buf = append(*buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		b := *buf
		if n := len(b); n > 0 && b[n-1] == '\n' {
			b = b[:n-1]
		}
		if cap(*buf) > 1<<20 { // do not keep a huge buffer for the next lines
			*buf = nil
		}
		return b, tooLong, err
	}
}

// jsonRow converts one NDJSON line.
func (x *importer) jsonRow(row *records.ImportRow, text []byte) {
	v, err := model.DecodeJSON(text)
	if err != nil {
		row.Violations = model.Violations{{Rule: "json", Message: "not valid JSON: " + err.Error()}}
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		row.Violations = model.Violations{{Rule: "json", Message: "each line must be a JSON object of values by field name"}}
		return
	}
	row.Values = make(map[string]any, len(obj))
	for key, val := range obj {
		t, err := x.m.column(key)
		if err != nil {
			rule := "mapping"
			if isUnknown(err) {
				rule = "unknown_field"
			}
			row.Violations = append(row.Violations, model.Violation{Path: "/" + key, Field: key, Rule: rule, Message: err.Error()})
			continue
		}
		switch t.kind {
		case targetIgnore:
		case targetID:
			if val == nil {
				continue
			}
			s, ok := val.(string)
			if !ok {
				row.Violations = append(row.Violations, model.Violation{Path: "/id", Field: "id", Rule: "type", Value: val, Message: "id must be a string (a UUID)"})
				continue
			}
			row.ID = s
		case targetOwner:
			row.Values["owner"] = val
		case targetField:
			_, dupRef := row.Refs[t.field.APIName]
			if _, dup := row.Values[t.field.APIName]; dup || dupRef {
				row.Violations = append(row.Violations, model.Violation{Path: "/" + key, Field: t.field.APIName, Rule: "mapping", Message: fmt.Sprintf("two keys set %s", t.field.APIName)})
				continue
			}
			row.Values[t.field.APIName] = val
		case targetRef:
			_, dupRef := row.Refs[t.field.APIName]
			if _, dup := row.Values[t.field.APIName]; dup || dupRef {
				row.Violations = append(row.Violations, model.Violation{Path: "/" + key, Field: t.field.APIName, Rule: "mapping", Message: fmt.Sprintf("two keys set %s", t.field.APIName)})
				continue
			}
			if row.Refs == nil {
				row.Refs = map[string]records.Ref{}
			}
			row.Refs[t.field.APIName] = records.Ref{By: t.by.APIName, Value: val}
		}
	}
}
