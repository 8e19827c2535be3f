package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/tenants"
)

// kernel is what schema and record commands work with.
type kernel struct {
	pool    *pgxpool.Pool
	tenants *tenants.Service
	catalog *catalog.Catalog
	records *records.Store
}

// withKernel runs fn with a connected kernel, closing it afterwards.
func (a *app) withKernel(ctx context.Context, fn func(k *kernel) error) error {
	pool, svc, err := a.openApp(ctx, tenants.Options{})
	if err != nil {
		return err
	}
	defer pool.Close()
	cat, err := catalog.New(pool, catalog.Options{Logger: a.log})
	if err != nil {
		return err
	}
	return fn(&kernel{pool: pool, tenants: svc, catalog: cat, records: records.New(pool, cat, a.log)})
}

// withTenant runs fn with a connected kernel and the id of the live tenant
// whose slug or id is ref.
func (a *app) withTenant(ctx context.Context, ref string, fn func(k *kernel, tenantID string) error) error {
	return a.withKernel(ctx, func(k *kernel) error {
		tid, err := k.tenantID(ctx, ref)
		if err != nil {
			return err
		}
		return fn(k, tid)
	})
}

// tenantID resolves a live tenant's slug or id.
func (k *kernel) tenantID(ctx context.Context, ref string) (string, error) {
	t, err := k.tenants.Tenant(ctx, ref)
	if err != nil {
		return "", err
	}
	if t.DeletedAt != nil {
		return "", fmt.Errorf("tenant %q is deleted", ref)
	}
	return t.ID, nil
}

// readInput reads a file, or standard input for "-".
func (a *app) readInput(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(a.stdin)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, &usageError{msg: err.Error()}
	}
	return b, nil
}

// parseDefinition reads a bundle, or a single object definition wrapped
// into a bundle.
func parseDefinition(v *model.Validator, data []byte) (*model.Bundle, error) {
	if strings.Contains(string(data), `"lattice"`) {
		b, err := v.ParseBundle(data)
		return b, problemsError(err)
	}
	o, err := v.ParseObject(data)
	if err != nil {
		return nil, problemsError(err)
	}
	return &model.Bundle{Format: model.BundleFormat, Objects: []*model.ObjectDef{o}}, nil
}

func problemsError(err error) error {
	if ps, ok := err.(model.Problems); ok {
		return ps.APIError()
	}
	return err
}

func newSchemaCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Apply, import, export and inspect a tenant's schema",
		Long: `A tenant's schema is a bundle of object definitions: JSON Schema 2020-12
documents with Lattice's x-lattice-object and x-lattice-field keywords (see
docs/schema.md and the meta-schemas in schema/model/metaschema). Every change
is validated, applied in one transaction and recorded as a new version.`,
	}
	var tenant string
	var dryRun, yes, replace bool
	var message string
	tenantFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
		_ = c.MarkFlagRequired("tenant")
	}
	showResult := func(r catalog.Result) error {
		if a.output == "json" {
			return a.printJSON(r)
		}
		state := "applied"
		switch {
		case len(r.Changes) == 0:
			state = "no changes"
		case !r.Applied:
			state = "dry run, not applied"
		}
		fmt.Fprintf(a.stdout, "schema version %d (%s)\n", r.Version, state)
		for _, c := range r.Changes {
			fmt.Fprintln(a.stdout, "  "+c.String())
		}
		if r.Jobs > 0 {
			fmt.Fprintf(a.stdout, "%d background slot job(s) queued\n", r.Jobs)
		}
		return nil
	}
	run := func(ctx context.Context, k *kernel, tid string, b *model.Bundle, mode catalog.Mode, dry bool) (catalog.Result, error) {
		r, err := k.catalog.Apply(ctx, tid, catalog.ApplyRequest{Bundle: b, Mode: mode, DryRun: dry, Message: message, Actor: "cli"})
		if err != nil || !r.Applied || r.Jobs == 0 {
			return r, err
		}
		_, err = k.catalog.RunJobs(ctx, tid, func(j catalog.Job) {
			a.log.Info("slot job", "slot", j.Slot, "action", j.Action, "rows", j.DoneRows, "finished", j.Finished)
		})
		return r, err
	}

	apply := &cobra.Command{
		Use:   "apply --tenant T FILE",
		Short: "Add or replace object definitions (FILE: one object or a bundle; - for stdin)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := a.readInput(args[0])
			if err != nil {
				return err
			}
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				b, err := parseDefinition(k.catalog.Validator(), data)
				if err != nil {
					return err
				}
				r, err := run(cmd.Context(), k, tid, b, catalog.Merge, dryRun)
				if err != nil {
					return err
				}
				return showResult(r)
			})
		},
	}
	tenantFlag(apply)
	apply.Flags().BoolVar(&dryRun, "dry-run", false, "show the changes and change nothing")
	apply.Flags().StringVar(&message, "message", "", "describe the change in the history")

	imp := &cobra.Command{
		Use:   "import --tenant T FILE",
		Short: "Import a bundle: show the dry-run diff, then apply it atomically",
		Long: `Import a bundle (FILE, or - for stdin). The changes are computed and checked
as a dry run and shown first; they are applied, in one transaction, after
confirmation or with --yes. Objects not in the bundle are kept unless
--replace is given, which removes them (recoverably, until purged).`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := a.readInput(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return a.withTenant(ctx, tenant, func(k *kernel, tid string) error {
				b, err := k.catalog.Validator().ParseBundle(data)
				if err != nil {
					return problemsError(err)
				}
				mode := catalog.Merge
				if replace {
					mode = catalog.Replace
				}
				preview, err := run(ctx, k, tid, b, mode, true)
				if err != nil {
					return err
				}
				if len(preview.Changes) == 0 || !yes {
					if err := showResult(preview); err != nil {
						return err
					}
				}
				if len(preview.Changes) == 0 {
					return nil
				}
				if !yes {
					fmt.Fprintf(a.stdout, "Apply these %d change(s)? [y/N] ", len(preview.Changes))
					line, _ := bufio.NewReader(a.stdin).ReadString('\n')
					if answer := strings.ToLower(strings.TrimSpace(line)); answer != "y" && answer != "yes" {
						fmt.Fprintln(a.stdout, "\nnot applied")
						return nil
					}
				}
				r, err := run(ctx, k, tid, b, mode, false)
				if err != nil {
					return err
				}
				return showResult(r)
			})
		},
	}
	tenantFlag(imp)
	imp.Flags().BoolVarP(&yes, "yes", "y", false, "apply without asking")
	imp.Flags().BoolVar(&replace, "replace", false, "remove objects the bundle does not contain")
	imp.Flags().StringVar(&message, "message", "", "describe the change in the history")

	export := &cobra.Command{
		Use:   "export --tenant T",
		Short: "Print the tenant's schema as a bundle (JSON), ready to import elsewhere",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				b, err := k.catalog.Export(cmd.Context(), tid)
				if err != nil {
					return err
				}
				return a.printJSON(b)
			})
		},
	}
	tenantFlag(export)

	history := &cobra.Command{
		Use:   "history --tenant T",
		Short: "List the schema versions, newest first",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				h, err := k.catalog.History(cmd.Context(), tid)
				if err != nil {
					return err
				}
				return a.show(h, "VERSION\tCREATED\tBY\tCHANGES\tMESSAGE", func(add func(...any)) {
					for _, v := range h {
						add(v.Version, v.CreatedAt, v.CreatedBy, len(v.Changes), v.Message)
					}
				})
			})
		},
	}
	tenantFlag(history)

	diff := &cobra.Command{
		Use:   "diff --tenant T FROM [TO]",
		Short: "Show the changes between two schema versions (TO defaults to the current one)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			versions := make([]int, 0, 2)
			for _, s := range args {
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 {
					return &usageError{msg: fmt.Sprintf("version %q is not a non-negative number", s)}
				}
				versions = append(versions, n)
			}
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				if len(versions) == 1 {
					m, err := k.catalog.Model(cmd.Context(), tid)
					if err != nil {
						return err
					}
					versions = append(versions, m.Version)
				}
				changes, err := k.catalog.DiffVersions(cmd.Context(), tid, versions[0], versions[1])
				if err != nil {
					return err
				}
				return a.show(changes, "OP\tOBJECT\tFIELD\tDETAIL", func(add func(...any)) {
					for _, c := range changes {
						add(c.Op, c.Object, c.Field, c.Detail)
					}
				})
			})
		},
	}
	tenantFlag(diff)

	var olderThan time.Duration
	purge := &cobra.Command{
		Use:   "purge --tenant T [--older-than 720h]",
		Short: "Permanently delete fields and objects removed longer ago than --older-than",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if olderThan < 0 {
				return &usageError{msg: "--older-than must not be negative"}
			}
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				purged, err := k.catalog.Purge(cmd.Context(), tid, time.Now().Add(-olderThan), "cli")
				if err != nil {
					return err
				}
				return a.show(purged, "OP\tOBJECT\tFIELD\tDETAIL", func(add func(...any)) {
					for _, c := range purged {
						add(c.Op, c.Object, c.Field, c.Detail)
					}
				})
			})
		},
	}
	tenantFlag(purge)
	purge.Flags().DurationVar(&olderThan, "older-than", catalog.DefaultRetention, "purge what was removed longer ago than this")

	jobs := &cobra.Command{
		Use:   "jobs --tenant T",
		Short: "Run the tenant's pending background slot jobs and list them all",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				if _, err := k.catalog.RunJobs(cmd.Context(), tid, nil); err != nil {
					return err
				}
				js, err := k.catalog.Jobs(cmd.Context(), tid)
				if err != nil {
					return err
				}
				return a.show(js, "ID\tOBJECT\tFIELD\tSLOT\tACTION\tROWS\tFINISHED\tERROR", func(add func(...any)) {
					for _, j := range js {
						add(j.ID, j.ObjectID, j.FieldKey, j.Slot, j.Action, j.DoneRows, j.Finished, j.Error)
					}
				})
			})
		},
	}
	tenantFlag(jobs)

	cmd.AddCommand(apply, imp, export, history, diff, purge, jobs)
	return cmd
}
