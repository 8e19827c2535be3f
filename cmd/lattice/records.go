package main

import (
	"encoding/json"
	"fmt"
	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// cliActor is recorded as createdBy/updatedBy for changes made from the CLI.
const cliActor records.Actor = "cli"

func newRecordsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "records",
		Short: "Read and write a tenant's records (JSON in and out)",
		Long: `Read and write records of any object of a tenant's schema. Values are JSON
by field API name; writes are validated against the schema and every
violation is reported at once. Output is JSON.`,
	}
	var tenant, data string
	var expected int
	var includeDeleted bool
	common := func(c *cobra.Command) {
		c.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
		_ = c.MarkFlagRequired("tenant")
	}
	dataFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&data, "data", "-", "the values as a JSON object, or - to read them from standard input")
	}
	versionFlag := func(c *cobra.Command) {
		c.Flags().IntVar(&expected, "expected-version", 0, "fail with a conflict unless the record is at this version")
	}
	values := func() (map[string]any, error) {
		raw := []byte(data)
		if data == "-" {
			var err error
			if raw, err = a.readInput("-"); err != nil {
				return nil, err
			}
		}
		v, err := model.DecodeJSON(raw)
		m, ok := v.(map[string]any)
		if err != nil || !ok {
			return nil, &usageError{msg: "--data must be a JSON object of values by field name"}
		}
		return m, nil
	}
	expectedVersion := func(c *cobra.Command) *int {
		if c.Flags().Changed("expected-version") {
			return &expected
		}
		return nil
	}

	create := &cobra.Command{
		Use:   "create --tenant T OBJECT [--data JSON]",
		Short: "Create a record",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			vals, err := values()
			if err != nil {
				return err
			}
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				r, err := k.records.Create(cmd.Context(), tid, cliActor, args[0], vals)
				if err != nil {
					return err
				}
				return a.printJSON(r)
			})
		},
	}
	common(create)
	dataFlag(create)

	get := &cobra.Command{
		Use:   "get --tenant T OBJECT ID",
		Short: "Show a record",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				r, err := k.records.Get(cmd.Context(), tid, args[0], args[1], includeDeleted)
				if err != nil {
					return err
				}
				return a.printJSON(r)
			})
		},
	}
	common(get)
	get.Flags().BoolVar(&includeDeleted, "include-deleted", false, "show a soft-deleted record too")

	update := &cobra.Command{
		Use:   "update --tenant T OBJECT ID [--data JSON] [--expected-version N]",
		Short: "Change some values of a record (null clears a field)",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			vals, err := values()
			if err != nil {
				return err
			}
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				r, err := k.records.Update(cmd.Context(), tid, cliActor, args[0], args[1], vals, expectedVersion(cmd))
				if err != nil {
					return err
				}
				return a.printJSON(r)
			})
		},
	}
	common(update)
	dataFlag(update)
	versionFlag(update)

	del := &cobra.Command{
		Use:   "delete --tenant T OBJECT ID [--expected-version N]",
		Short: "Soft-delete a record (lookups to it restrict, cascade or are cleared)",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				if err := k.records.Delete(cmd.Context(), tid, cliActor, args[0], args[1], expectedVersion(cmd)); err != nil {
					return err
				}
				return a.printJSON(map[string]string{"deleted": args[1]})
			})
		},
	}
	common(del)
	versionFlag(del)

	restore := &cobra.Command{
		Use:   "restore --tenant T OBJECT ID",
		Short: "Restore a soft-deleted record",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				r, err := k.records.Restore(cmd.Context(), tid, cliActor, args[0], args[1])
				if err != nil {
					return err
				}
				return a.printJSON(r)
			})
		},
	}
	common(restore)

	var opts records.ListOptions
	list := &cobra.Command{
		Use:   "list --tenant T OBJECT",
		Short: "List records in id order, one page at a time",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTenant(cmd.Context(), tenant, func(k *kernel, tid string) error {
				rs, next, err := k.records.List(cmd.Context(), tid, args[0], opts)
				if err != nil {
					return err
				}
				if rs == nil {
					rs = []*records.Record{}
				}
				return a.printJSON(map[string]any{"records": rs, "next": next})
			})
		},
	}
	common(list)
	list.Flags().IntVar(&opts.Limit, "limit", 100, "page size (1-1000)")
	list.Flags().StringVar(&opts.After, "after", "", "the 'next' value of the previous page")
	list.Flags().BoolVar(&opts.IncludeDeleted, "include-deleted", false, "list soft-deleted records too")
	list.Flags().Var(&rawJSON{&opts.Where}, "where", `a condition records must meet, e.g. '{"field":"industry","op":"eq","value":"software"}' (docs/conditions.md)`)

	cmd.AddCommand(create, get, update, del, restore, list)
	cmd.AddCommand(newRecordsImportCommand(a), newRecordsExportCommand(a))
	return cmd
}

// rawJSON is a flag holding a JSON document, checked to be well-formed.
type rawJSON struct{ dst *json.RawMessage }

func (r *rawJSON) String() string {
	if r.dst == nil {
		return ""
	}
	return string(*r.dst)
}

func (r *rawJSON) Set(s string) error {
	if !json.Valid([]byte(s)) {
		return fmt.Errorf("not valid JSON")
	}
	*r.dst = json.RawMessage(s)
	return nil
}

func (r *rawJSON) Type() string { return "json" }
