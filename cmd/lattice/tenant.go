package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/tenants"
)

func newTenantCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tenant",
		Short: "Create, inspect, suspend and delete tenants",
	}
	showOne := func(t tenants.Tenant) error {
		return a.show(t, "ID\tSLUG\tNAME\tSTATUS\tCREATED\tDELETED", func(add func(...any)) {
			add(t.ID, t.Slug, t.Name, t.Status, t.CreatedAt, t.DeletedAt)
		})
	}
	var name, template string
	create := &cobra.Command{
		Use:   "create SLUG",
		Short: "Create a tenant",
		Long: `Create a tenant. SLUG is 3-63 characters of lowercase letters, digits and
hyphens, starting with a letter; it is unique and appears in URLs.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				name = args[0]
			}
			if template != "crm" && template != "none" {
				return &usageError{msg: fmt.Sprintf("--template %q: want crm or none", template)}
			}
			return a.withKernel(cmd.Context(), func(k *kernel) error {
				t, err := k.tenants.CreateTenant(cmd.Context(), args[0], name)
				if err != nil {
					return err
				}
				if template == "crm" {
					if err := installCRM(cmd.Context(), k.catalog, t.ID, "cli"); err != nil {
						return err
					}
				}
				return showOne(t)
			})
		},
	}
	create.Flags().StringVar(&name, "name", "", "display name (default: the slug)")
	create.Flags().StringVar(&template, "template", "crm", "schema to start from: crm (Account, Contact, Lead, Deal, Activity) or none")

	var includeDeleted bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List tenants",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				ts, err := s.ListTenants(cmd.Context(), includeDeleted)
				if err != nil {
					return err
				}
				return a.show(ts, "ID\tSLUG\tNAME\tSTATUS\tCREATED\tDELETED", func(add func(...any)) {
					for _, t := range ts {
						add(t.ID, t.Slug, t.Name, t.Status, t.CreatedAt, t.DeletedAt)
					}
				})
			})
		},
	}
	list.Flags().BoolVar(&includeDeleted, "include-deleted", false, "also list soft-deleted tenants")

	// one makes a command that applies op to the tenant named by its argument.
	one := func(use, short string, op func(s *tenants.Service, cmd *cobra.Command, ref string) (tenants.Tenant, error)) *cobra.Command {
		return &cobra.Command{
			Use:   use + " TENANT",
			Short: short + " (TENANT is a slug or id)",
			Args:  exactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withService(cmd.Context(), func(s *tenants.Service) error {
					t, err := op(s, cmd, args[0])
					if err != nil {
						return err
					}
					return showOne(t)
				})
			},
		}
	}
	show := one("show", "Show a tenant", func(s *tenants.Service, cmd *cobra.Command, ref string) (tenants.Tenant, error) {
		return s.Tenant(cmd.Context(), ref)
	})
	var newName, newSlug string
	rename := one("rename", "Change a tenant's name or slug", func(s *tenants.Service, cmd *cobra.Command, ref string) (tenants.Tenant, error) {
		if newName == "" && newSlug == "" {
			return tenants.Tenant{}, &usageError{msg: "give --name, --slug or both"}
		}
		return s.RenameTenant(cmd.Context(), ref, newName, newSlug)
	})
	rename.Flags().StringVar(&newName, "name", "", "new display name")
	rename.Flags().StringVar(&newSlug, "slug", "", "new slug (tokens keep working)")
	var reason string
	suspend := one("suspend", "Suspend a tenant: its requests get 403 until resumed", func(s *tenants.Service, cmd *cobra.Command, ref string) (tenants.Tenant, error) {
		return s.SuspendTenant(cmd.Context(), ref, reason)
	})
	suspend.Flags().StringVar(&reason, "reason", "", "reason shown to the tenant's users")
	resume := one("resume", "Resume a suspended tenant", func(s *tenants.Service, cmd *cobra.Command, ref string) (tenants.Tenant, error) {
		return s.ResumeTenant(cmd.Context(), ref)
	})
	del := one("delete", "Soft-delete a tenant: credentials stop working, data is kept until purged", func(s *tenants.Service, cmd *cobra.Command, ref string) (tenants.Tenant, error) {
		return s.DeleteTenant(cmd.Context(), ref)
	})
	restore := one("restore", "Undo the soft deletion of a tenant", func(s *tenants.Service, cmd *cobra.Command, ref string) (tenants.Tenant, error) {
		return s.RestoreTenant(cmd.Context(), ref)
	})

	var olderThan time.Duration
	purge := &cobra.Command{
		Use:   "purge [TENANT]",
		Short: "Permanently remove a soft-deleted tenant, or all deleted longer ago than --older-than",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				if len(args) == 1 {
					if err := s.PurgeTenant(cmd.Context(), args[0]); err != nil {
						return err
					}
					return a.show(map[string][]string{"purged": args}, "PURGED", func(add func(...any)) { add(args[0]) })
				}
				if olderThan <= 0 {
					return &usageError{msg: "give a TENANT or --older-than"}
				}
				slugs, err := s.PurgeDeletedTenants(cmd.Context(), time.Now().Add(-olderThan))
				if err != nil {
					return err
				}
				return a.show(map[string][]string{"purged": slugs}, "PURGED", func(add func(...any)) {
					for _, s := range slugs {
						add(s)
					}
				})
			})
		},
	}
	purge.Flags().DurationVar(&olderThan, "older-than", 0, "purge every tenant soft-deleted longer ago than this (e.g. 720h)")

	cmd.AddCommand(create, list, show, rename, suspend, resume, del, restore, purge)
	return cmd
}

// exactArgs is cobra.ExactArgs with an error that counts as a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := cobra.ExactArgs(n)(cmd, args); err != nil {
			return &usageError{msg: err.Error() + "\nusage: " + cmd.UseLine()}
		}
		return nil
	}
}
