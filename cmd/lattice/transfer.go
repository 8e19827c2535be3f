package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/transfer"
)

// Bulk import and export of records (docs/import-export.md).

func newRecordsImportCommand(a *app) *cobra.Command {
	var tenant, format, upsertOn, mode, errorsFile string
	var maps []string
	var ignoreUnknown, quiet bool
	var batch int
	cmd := &cobra.Command{
		Use:   "import --tenant T OBJECT FILE|- [--format csv|ndjson] [--map col=field,...] [--upsert-on FIELD] [--mode all-or-nothing|skip-bad-rows] [--errors report.csv] [--batch N]",
		Short: "Import records from a CSV or NDJSON file",
		Long: `Import records of one object from a CSV file (with a header row) or an NDJSON
file (one JSON object per line), streaming: memory stays flat whatever the
file size. Every row is validated like a single write; lookups must name
live records of the tenant (by id, or by a unique field of the target with a
column such as "account.website"); unique fields are enforced by the
database.

CSV columns map to fields by API name; --map renames (col=field, or
col=lookup.uniqueField, col=id, col=owner, col= to skip). Read-only columns
(version, createdAt, ... and auto-numbers) are skipped, so an export imports
as it is. Empty cells give no value. CSV text converts by field kind: numbers
as 12 or -3.75, booleans true/false, dates 2026-11-23, date-times RFC 3339,
currency "12.50 USD", multi-picklists "a;b", json as JSON text.

--mode all-or-nothing (the default) writes nothing if any row is bad;
skip-bad-rows writes the good rows batch by batch. Every problem of every
bad row goes to the --errors report (CSV: row, line, field, rule, value,
message); the summary on standard output shows the first few.
--upsert-on id or a unique field updates the live record with the same value
instead of creating one.

Exit status: 0 when the import committed (with skip-bad-rows, even if rows
were skipped); 2 when an all-or-nothing import was rejected for bad rows.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			object, file := args[0], args[1]
			if !cmd.Flags().Changed("format") {
				format = formatOf(file)
			}
			f, err := transfer.ParseFormat(format)
			if err != nil {
				return &usageError{msg: "--format: " + err.Error()}
			}
			m, err := transfer.ParseMode(mode)
			if err != nil {
				return &usageError{msg: "--mode: " + err.Error()}
			}
			mapping, err := transfer.ParseMap(maps)
			if err != nil {
				return &usageError{msg: err.Error()}
			}
			in := a.stdin
			if file != "-" {
				fh, err := os.Open(file)
				if err != nil {
					return &usageError{msg: err.Error()}
				}
				defer fh.Close()
				in = fh
			}
			opts := transfer.ImportOptions{Format: f, Map: mapping, IgnoreUnknown: ignoreUnknown, UpsertOn: upsertOn,
				Mode: m, BatchSize: batch, Actor: cliActor}
			if errorsFile != "" {
				rf, err := os.Create(errorsFile)
				if err != nil {
					return &usageError{msg: "--errors: " + err.Error()}
				}
				defer rf.Close()
				opts.Report = rf
			}
			bar := a.progress(quiet, "importing "+object, "rows")
			if bar != nil {
				opts.Progress = func(p transfer.Progress) { _ = bar.Set64(p.Rows) }
			}
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				sum, err := transfer.Import(cmd.Context(), k.records, tid, object, in, opts)
				if bar != nil {
					_ = bar.Finish()
					fmt.Fprintln(a.stderr)
				}
				if sum == nil {
					return err
				}
				if perr := a.printJSON(sum); err == nil {
					err = perr
				}
				if err != nil {
					return err
				}
				if !sum.Committed {
					where := "the summary's firstProblems"
					if errorsFile != "" {
						where = errorsFile
					}
					return apierror.New(apierror.Invalid, "import_rejected",
						"%d of %d row(s) are bad, so nothing was imported (all-or-nothing); see %s, or use --mode skip-bad-rows", sum.Bad, sum.Rows, where)
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = cmd.MarkFlagRequired("tenant")
	fl.StringVar(&format, "format", "csv", "csv or ndjson (default: from the file name's extension, else csv)")
	fl.StringArrayVar(&maps, "map", nil, "column mapping col=field[,col=field...]: a field, lookup.uniqueField, id, owner, or nothing to skip; repeatable")
	fl.BoolVar(&ignoreUnknown, "ignore-unknown", false, "skip columns that name no field instead of refusing the file")
	fl.StringVar(&upsertOn, "upsert-on", "", "id or a unique field: rows matching a live record update it")
	fl.StringVar(&mode, "mode", string(transfer.AllOrNothing), "all-or-nothing or skip-bad-rows")
	fl.StringVar(&errorsFile, "errors", "", "write the error report (CSV) to this file")
	fl.IntVar(&batch, "batch", transfer.DefaultBatchSize, fmt.Sprintf("rows per batch (1-%d)", transfer.MaxBatchSize))
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

func newRecordsExportCommand(a *app) *cobra.Command {
	var tenant, format, fields, output string
	var where json.RawMessage
	var quiet bool
	cmd := &cobra.Command{
		Use:   "export --tenant T OBJECT [--format csv|ndjson] [--where CONDITION] [--fields a,b,c] [--output FILE]",
		Short: "Export an object's live records as CSV or NDJSON",
		Long: `Export the live records of one object in id order, streaming, as CSV (a header
row of column names) or NDJSON (one JSON object per record). Columns are by
default id, every field, owner, version, createdAt, updatedAt, createdBy and
updatedBy; --fields chooses them, including system fields (tags, score,
grade too) and lookup paths such as account.website (the target's unique
field instead of its id). The output imports back with 'lattice records
import' (read-only columns are skipped there).

Without --output the records go to standard output; with it, to FILE
(written under a temporary name and renamed when complete) and a summary
to standard output.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			object := args[0]
			// --output shadows the global output style flag; only a value
			// given on the command line names a file (not LATTICE_OUTPUT).
			if !cmd.Flags().Changed("output") {
				output = ""
			}
			if !cmd.Flags().Changed("format") && output != "" {
				format = formatOf(output)
			}
			f, err := transfer.ParseFormat(format)
			if err != nil {
				return &usageError{msg: "--format: " + err.Error()}
			}
			opts := transfer.ExportOptions{Format: f, Where: where}
			if fields != "" {
				for _, c := range strings.Split(fields, ",") {
					if c = strings.TrimSpace(c); c != "" {
						opts.Columns = append(opts.Columns, c)
					}
				}
			}
			bar := a.progress(quiet, "exporting "+object, "records")
			if bar != nil {
				opts.Progress = func(n int64) { _ = bar.Set64(n) }
			}
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				start := time.Now()
				var out io.Writer = a.stdout
				var tmp *os.File
				if output != "" {
					tmp, err = os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".*.tmp")
					if err != nil {
						return &usageError{msg: "--output: " + err.Error()}
					}
					defer os.Remove(tmp.Name()) // no-op once renamed
					defer tmp.Close()
					out = tmp
				}
				n, err := transfer.Export(cmd.Context(), k.records, tid, object, out, opts)
				if bar != nil {
					_ = bar.Finish()
					fmt.Fprintln(a.stderr)
				}
				if err != nil {
					return err
				}
				if tmp == nil {
					return nil
				}
				if err := tmp.Close(); err != nil {
					return err
				}
				if err := os.Rename(tmp.Name(), output); err != nil {
					return err
				}
				return a.printJSON(map[string]any{"object": object, "format": f, "records": n, "file": output,
					"seconds": time.Since(start).Seconds()})
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = cmd.MarkFlagRequired("tenant")
	fl.StringVar(&format, "format", "csv", "csv or ndjson (default: from --output's extension, else csv)")
	fl.Var(&rawJSON{&where}, "where", `a condition records must meet, e.g. '{"field":"level","op":"eq","value":"senior"}' (docs/conditions.md)`)
	fl.StringVar(&fields, "fields", "", "columns to write, comma separated (default: id, every field, owner, version, timestamps)")
	fl.StringVarP(&output, "output", "o", "", "write to this file instead of standard output")
	fl.BoolVar(&quiet, "quiet", false, "no progress bar")
	return cmd
}

// formatOf guesses a file's format from its name: .ndjson and .jsonl are
// NDJSON, anything else CSV.
func formatOf(name string) string {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".ndjson", ".jsonl":
		return string(transfer.NDJSON)
	}
	return string(transfer.CSV)
}

// progress returns a progress bar with a rate on standard error, or nil
// when quiet or when standard error is not a terminal.
func (a *app) progress(quiet bool, what, unit string) *progressbar.ProgressBar {
	f, ok := a.stderr.(*os.File)
	if quiet || !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString(unit),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetElapsedTime(true),
	)
}
