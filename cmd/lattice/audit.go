package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/platform/audit"
)

// auditFilters are the flags that select audit entries.
type auditFilters struct {
	record, actor, action, object, from, to string
}

func (f *auditFilters) register(c *cobra.Command) {
	fl := c.Flags()
	fl.StringVar(&f.record, "record", "", "only entries about this record id")
	fl.StringVar(&f.actor, "actor", "", "only entries by this actor, e.g. user:<id>, integration:erp, cli, system")
	fl.StringVar(&f.action, "action", "", "only this action, or a prefix ending in * (e.g. record.*)")
	fl.StringVar(&f.object, "object", "", "only entries about this object (API name)")
	fl.StringVar(&f.from, "from", "", "only entries at or after this time (RFC 3339)")
	fl.StringVar(&f.to, "to", "", "only entries before this time (RFC 3339)")
}

// query turns the filters into an audit.Query.
func (f *auditFilters) query() (audit.Query, error) {
	q := audit.Query{RecordID: f.record, Actor: f.actor, Action: f.action, Object: f.object}
	for _, t := range []struct {
		flag, v string
		dst     *time.Time
	}{{"--from", f.from, &q.From}, {"--to", f.to, &q.To}} {
		if t.v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, t.v)
		if err != nil {
			return q, &usageError{msg: fmt.Sprintf("%s %q: want an RFC 3339 time such as 2025-03-01T12:00:00Z", t.flag, t.v)}
		}
		*t.dst = at
	}
	return q, nil
}

func newAuditCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Read a tenant's audit log and set its retention",
		Long: `Read a tenant's append-only audit log: every data change (with field-level
old and new values), schema and permission change, login, failed login,
logout and API token creation, use and revocation, with who, when, the
request id and the client address (docs/audit.md). Entries come newest
first; filters combine.`,
	}
	cmd.AddCommand(newAuditListCommand(a), newAuditExportCommand(a), newAuditRetentionCommand(a))
	return cmd
}

func newAuditListCommand(a *app) *cobra.Command {
	var tenant, after string
	var limit int
	var f auditFilters
	cmd := &cobra.Command{
		Use:   "list --tenant T [--record ID] [--actor A] [--action A] [--object O] [--from TIME] [--to TIME] [--limit N] [--after CURSOR]",
		Short: "List audit entries, newest first, one page at a time",
		Long: `List one page of a tenant's audit entries, newest first. When there are
more, the output ends with the cursor of the next page: pass it as --after.
With -o json the page is {"entries": [...], "next": "CURSOR"}.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := f.query()
			if err != nil {
				return err
			}
			q.After, q.Limit = after, limit
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				entries, next, err := audit.New(k.pool, a.log).List(cmd.Context(), tid, q)
				if err != nil {
					return err
				}
				err = a.show(map[string]any{"entries": entries, "next": next},
					"ID\tAT\tACTOR\tACTION\tOBJECT\tRECORD\tCHANGED\tREQUEST\tADDRESS", func(add func(cols ...any)) {
						for _, e := range entries {
							add(e.ID, e.At, e.Actor, e.Action, e.Object, e.RecordID, changedFields(e.Changes), e.RequestID, e.Address)
						}
					})
				if err == nil && next != "" && a.output != "json" {
					fmt.Fprintf(a.stdout, "\nmore: --after %s\n", next)
				}
				return err
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = cmd.MarkFlagRequired("tenant")
	f.register(cmd)
	cmd.Flags().IntVar(&limit, "limit", audit.DefaultLimit, fmt.Sprintf("page size (1-%d)", audit.MaxLimit))
	cmd.Flags().StringVar(&after, "after", "", "the cursor of the previous page")
	return cmd
}

// changedFields lists the field names of an entry's changes, sorted.
func changedFields(raw json.RawMessage) string {
	var m map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return ""
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ",")
}

func newAuditExportCommand(a *app) *cobra.Command {
	var tenant, output string
	var f auditFilters
	cmd := &cobra.Command{
		Use:   "export --tenant T [--record ID] [--actor A] [--action A] [--object O] [--from TIME] [--to TIME] [--output FILE]",
		Short: "Export every matching audit entry as NDJSON, newest first",
		Long: `Export every audit entry of a tenant that matches the filters as NDJSON (one
JSON entry per line, newest first), streaming a page at a time.

Without --output the entries go to standard output; with it, to FILE
(written under a temporary name and renamed when complete) and a summary
to standard output.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			// --output shadows the global output style flag; only a value
			// given on the command line names a file (not LATTICE_OUTPUT).
			if !cmd.Flags().Changed("output") {
				output = ""
			}
			q, err := f.query()
			if err != nil {
				return err
			}
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
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
				n, err := audit.New(k.pool, a.log).Export(cmd.Context(), tid, q, out)
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
				return a.printJSON(map[string]any{"entries": n, "file": output})
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = cmd.MarkFlagRequired("tenant")
	f.register(cmd)
	cmd.Flags().StringVar(&output, "output", "", "write to FILE instead of standard output")
	return cmd
}

func newAuditRetentionCommand(a *app) *cobra.Command {
	var tenant string
	var set time.Duration
	cmd := &cobra.Command{
		Use:   "retention --tenant T [--set 720h]",
		Short: "Show or set how long a tenant keeps audit entries",
		Long: fmt.Sprintf(`Show how long a tenant keeps audit entries, or with --set change it
(between %s and %s; the default is %s). The server deletes older entries
every hour; the change itself is recorded in the audit log.`, audit.MinRetention, audit.MaxRetention, audit.DefaultRetention),
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				l := audit.New(k.pool, a.log)
				if cmd.Flags().Changed("set") {
					if err := l.SetRetention(cmd.Context(), tid, set); err != nil {
						return err
					}
				}
				d, err := l.Retention(cmd.Context(), tid)
				if err != nil {
					return err
				}
				return a.show(map[string]any{"tenant": tenant, "retention": d.String(), "seconds": int64(d / time.Second)},
					"TENANT\tRETENTION", func(add func(cols ...any)) { add(tenant, d.String()) })
			})
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = cmd.MarkFlagRequired("tenant")
	cmd.Flags().DurationVar(&set, "set", 0, "the new retention, e.g. 720h (30 days)")
	return cmd
}
