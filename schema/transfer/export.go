package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// ExportOptions configures an export.
type ExportOptions struct {
	// Format of the output: CSV (default) or NDJSON.
	Format Format
	// Columns to write, in order: field API names, lookup paths
	// "lookup.uniqueField", and the system fields id, owner, version,
	// createdAt, updatedAt, createdBy, updatedBy, tags, score, grade.
	// Default: DefaultColumns.
	Columns []string
	// Where, if set, is a condition (docs/conditions.md) records must meet.
	Where json.RawMessage
	// PageSize is how many records are read per query (default 1000).
	PageSize int
	// Progress, if set, is called after every page with the rows written.
	Progress func(rows int64)
}

// exportSystem are the system columns an export can write.
var exportSystem = map[string]func(r *records.Record) any{
	"id":        func(r *records.Record) any { return r.ID },
	"owner":     func(r *records.Record) any { return nilIfEmpty(r.Owner) },
	"version":   func(r *records.Record) any { return r.Version },
	"createdAt": func(r *records.Record) any { return r.CreatedAt.UTC().Format(time.RFC3339Nano) },
	"updatedAt": func(r *records.Record) any { return r.UpdatedAt.UTC().Format(time.RFC3339Nano) },
	"createdBy": func(r *records.Record) any { return r.CreatedBy },
	"updatedBy": func(r *records.Record) any { return r.UpdatedBy },
	"tags":      func(r *records.Record) any { return r.Tags },
	"score": func(r *records.Record) any {
		if r.Score == nil {
			return nil
		}
		return *r.Score
	},
	"grade": func(r *records.Record) any {
		if r.Grade == nil {
			return nil
		}
		return *r.Grade
	},
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// DefaultColumns are what an export writes unless told otherwise: the id,
// every field in definition order, the owner and the version and
// timestamps. An import skips the read-only ones, so an export imports
// as it is.
func DefaultColumns(o *model.Object) []string {
	cols := []string{"id"}
	for _, f := range o.Fields {
		cols = append(cols, f.APIName)
	}
	return append(cols, "owner", "version", "createdAt", "updatedAt", "createdBy", "updatedBy")
}

// column is one exported column.
type column struct {
	name   string
	system func(*records.Record) any
	field  *model.Field // a field, or the lookup of a path
	by     *model.Field // the target's field of a lookup path
}

func exportColumns(o *model.Object, names []string) ([]column, error) {
	if len(names) == 0 {
		names = DefaultColumns(o)
	}
	cols := make([]column, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if seen[n] {
			return nil, apierror.Invalidf("fields", "invalid_fields", "column %q is asked for twice", n)
		}
		seen[n] = true
		if get, ok := exportSystem[n]; ok {
			cols = append(cols, column{name: n, system: get})
			continue
		}
		if f := o.Field(n); f != nil {
			cols = append(cols, column{name: n, field: f})
			continue
		}
		lookup, by, ok := strings.Cut(n, ".")
		if ok && by == "id" {
			if f := o.Field(lookup); f != nil && f.Kind == model.KindLookup {
				cols = append(cols, column{name: n, field: f})
				continue
			}
		}
		if ok {
			lf, bf, err := records.RefField(o, lookup, by)
			if err != nil {
				return nil, err
			}
			cols = append(cols, column{name: n, field: lf, by: bf})
			continue
		}
		return nil, apierror.Invalidf("fields", "invalid_fields", "%s has no field %q", o.APIName, n)
	}
	return cols, nil
}

// Export writes the live records of object, in id order, to w. It reads
// them in keyset pages (one query each, not one snapshot: records written
// meanwhile may or may not appear) and writes each page as it comes, so
// memory stays flat. It returns the number of records written.
func Export(ctx context.Context, store *records.Store, tenantID, object string, w io.Writer, opts ExportOptions) (int64, error) {
	if opts.Format == "" {
		opts.Format = CSV
	}
	if _, err := ParseFormat(string(opts.Format)); err != nil {
		return 0, err
	}
	if opts.PageSize == 0 {
		opts.PageSize = 1000
	}
	o, err := store.Object(ctx, tenantID, object)
	if err != nil {
		return 0, err
	}
	cols, err := exportColumns(o, opts.Columns)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	var cw *csv.Writer
	if opts.Format == CSV {
		cw = csv.NewWriter(bw)
		header := make([]string, len(cols))
		for i, c := range cols {
			header[i] = c.name
		}
		if err := cw.Write(header); err != nil {
			return 0, err
		}
	}
	var n int64
	cells := make([]string, len(cols))
	var line bytes.Buffer
	enc := json.NewEncoder(&line)
	enc.SetEscapeHTML(false)
	after := ""
	for {
		page, next, err := store.List(ctx, tenantID, object, records.ListOptions{Limit: opts.PageSize, After: after, Where: opts.Where})
		if err != nil {
			return n, err
		}
		refs, err := resolvePaths(ctx, store, tenantID, cols, page)
		if err != nil {
			return n, err
		}
		for _, r := range page {
			if cw != nil {
				for i, c := range cols {
					cells[i] = c.csv(r, refs[i])
				}
				if err := cw.Write(cells); err != nil {
					return n, err
				}
			} else {
				line.Reset()
				line.WriteByte('{')
				for i, c := range cols {
					if i > 0 {
						line.WriteByte(',')
					}
					if err := enc.Encode(c.name); err != nil {
						return n, err
					}
					line.Truncate(line.Len() - 1)
					line.WriteByte(':')
					if err := enc.Encode(c.value(r, refs[i])); err != nil {
						return n, err
					}
					line.Truncate(line.Len() - 1)
				}
				line.WriteString("}\n")
				if _, err := bw.Write(line.Bytes()); err != nil {
					return n, err
				}
			}
			n++
		}
		if cw != nil {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return n, err
			}
		}
		if err := bw.Flush(); err != nil {
			return n, err
		}
		if opts.Progress != nil {
			opts.Progress(n)
		}
		if next == "" {
			return n, nil
		}
		after = next
	}
}

// resolvePaths reads, for each lookup-path column, the target field's
// value of the page's lookups, by target id.
func resolvePaths(ctx context.Context, store *records.Store, tenantID string, cols []column, page []*records.Record) ([]map[string]any, error) {
	out := make([]map[string]any, len(cols))
	for i, c := range cols {
		if c.by == nil {
			continue
		}
		var ids []string
		seen := map[string]bool{}
		for _, r := range page {
			if id, ok := r.Values[c.field.APIName].(string); ok && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
		vals, err := store.UniqueValues(ctx, tenantID, c.field.Target, c.by, ids)
		if err != nil {
			return nil, err
		}
		out[i] = vals
	}
	return out, nil
}

// value is the column's value of r as the API shows it.
func (c column) value(r *records.Record, refs map[string]any) any {
	switch {
	case c.system != nil:
		return c.system(r)
	case c.by != nil:
		id, _ := r.Values[c.field.APIName].(string)
		return refs[id]
	default:
		return r.Values[c.field.APIName]
	}
}

// csv is the column's value of r as CSV text.
func (c column) csv(r *records.Record, refs map[string]any) string {
	v := c.value(r, refs)
	switch {
	case c.system != nil:
		if tags, ok := v.([]string); ok {
			return strings.Join(tags, MultiSeparator)
		}
		return scalarText(v)
	case c.by != nil:
		return toCSV(c.by, v)
	default:
		return toCSV(c.field, v)
	}
}
