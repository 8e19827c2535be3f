package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/schema/permissions"
)

// withPermissions runs fn with the permissions service on the tenant whose
// slug or id is ref. The CLI is the operator's: it changes rules without an
// escalation check (by is "").
func (a *app) withPermissions(ctx context.Context, ref string, fn func(k *kernel, p *permissions.Service, tenantID string) error) error {
	return a.withTenant(ctx, ref, func(k *kernel, tid string) error {
		acc := access.New(k.pool, access.Options{Logger: a.log})
		return fn(k, permissions.New(acc, k.catalog, k.tenants, permissions.Options{Logger: a.log}), tid)
	})
}

func newRoleCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "role",
		Short: "Roles and their grants (casbin policies): create, grant, revoke, share, list",
		Long: `Every tenant has the built-in roles admin, manager (inherits salesRep),
salesRep (reads and edits own records) and readOnly; admins add custom roles.
A grant allows or denies an action on an object:

  record:<Object>|*         read, create, update, delete, export
  field:<Object>.<field>|*  read, edit
  scope:<Object>|*          own, team, all (which records; the widest allowed wins)
  platform:<area>|*         manage (schema, users, roles, plugins, tokens), read (audit)

A deny overrides any allow. See docs/permissions.md.`,
	}
	var tenant string
	tenantFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
		_ = c.MarkFlagRequired("tenant")
	}

	list := &cobra.Command{
		Use:   "list --tenant T",
		Short: "List roles with what they inherit, their grants and members",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPermissions(cmd.Context(), tenant, func(_ *kernel, p *permissions.Service, tid string) error {
				rs, err := p.Roles(cmd.Context(), tid)
				if err != nil {
					return err
				}
				return a.show(rs, "ROLE\tBUILT-IN\tINHERITS\tGRANTS\tMEMBERS", func(add func(...any)) {
					for _, r := range rs {
						var gs []string
						for _, g := range r.Grants {
							gs = append(gs, fmt.Sprintf("%s %s %s", g.Effect, g.Action, g.Object))
						}
						add(r.Name, r.BuiltIn, strings.Join(r.Inherits, ","), strings.Join(gs, "; "), strings.Join(r.Members, ","))
					}
				})
			})
		},
	}
	tenantFlag(list)

	var inherits []string
	create := &cobra.Command{
		Use:   "create --tenant T NAME [--inherits ROLE,...]",
		Short: "Create a custom role (camelCase name), optionally inheriting other roles' grants",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPermissions(cmd.Context(), tenant, func(_ *kernel, p *permissions.Service, tid string) error {
				if err := p.CreateRole(cmd.Context(), tid, "", args[0], inherits); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "created role %s\n", args[0])
				return nil
			})
		},
	}
	tenantFlag(create)
	create.Flags().StringSliceVar(&inherits, "inherits", nil, "roles whose grants this role inherits")

	del := &cobra.Command{
		Use:   "delete --tenant T NAME",
		Short: "Delete a custom role with its grants and assignments",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPermissions(cmd.Context(), tenant, func(_ *kernel, p *permissions.Service, tid string) error {
				if err := p.DeleteRole(cmd.Context(), tid, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "deleted role %s\n", args[0])
				return nil
			})
		},
	}
	tenantFlag(del)

	var deny bool
	grantCmd := func(use, short string, revoke bool) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " --tenant T ROLE OBJECT ACTION [--deny]",
			Short: short,
			Args:  exactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				g := permissions.Grant{Role: args[0], Object: args[1], Action: args[2], Effect: permissions.Allow}
				if deny {
					g.Effect = permissions.Deny
				}
				return a.withPermissions(cmd.Context(), tenant, func(_ *kernel, p *permissions.Service, tid string) error {
					op, verb := p.Grant, "granted"
					if revoke {
						op, verb = p.Revoke, "revoked"
					}
					if err := op(cmd.Context(), tid, "", g); err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "%s %s %s %s on %s\n", verb, g.Role, g.Effect, g.Action, g.Object)
					return nil
				})
			},
		}
		tenantFlag(c)
		c.Flags().BoolVar(&deny, "deny", false, "a deny rule (overrides any allow) instead of an allow")
		return c
	}

	var condition string
	shareCmd := func(use, short string, remove bool) *cobra.Command {
		c := &cobra.Command{
			Use:   use + " --tenant T ROLE OBJECT --where CONDITION",
			Short: short,
			Args:  exactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				raw, err := a.conditionArg(condition)
				if err != nil {
					return err
				}
				sh := permissions.Share{Role: args[0], Object: args[1], Condition: raw}
				return a.withPermissions(cmd.Context(), tenant, func(_ *kernel, p *permissions.Service, tid string) error {
					op, verb := p.AddShare, "shared"
					if remove {
						op, verb = p.RemoveShare, "unshared"
					}
					if err := op(cmd.Context(), tid, "", sh); err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "%s %s records with %s where %s\n", verb, sh.Object, sh.Role, raw)
					return nil
				})
			},
		}
		tenantFlag(c)
		c.Flags().StringVar(&condition, "where", "", "the condition (JSON, @FILE or -) the shared records meet (required)")
		_ = c.MarkFlagRequired("where")
		return c
	}

	cmd.AddCommand(list, create, del,
		grantCmd("grant", "Add an allow (or --deny) rule to a custom role", false),
		grantCmd("revoke", "Remove a rule from a custom role", true),
		shareCmd("share", "Add a sharing rule: the role reads the object's records meeting a condition", false),
		shareCmd("unshare", "Remove a sharing rule", true))
	return cmd
}

func newPolicyCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "policy", Short: "Check and explain authorization decisions"}
	var tenant string
	check := &cobra.Command{
		Use:   "check --tenant T SUBJECT OBJECT ACTION",
		Short: "Decide whether SUBJECT (role:NAME, user:EMAIL-OR-ID, integration:NAME) may act on OBJECT, and say which rule decided",
		Args:  exactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPermissions(cmd.Context(), tenant, func(k *kernel, p *permissions.Service, tid string) error {
				sub := args[0]
				if ref, ok := strings.CutPrefix(sub, "user:"); ok {
					u, err := k.tenants.User(cmd.Context(), ref)
					if err != nil {
						return err
					}
					sub = permissions.UserSubject(u.ID)
				}
				d, err := p.Check(cmd.Context(), tid, sub, args[1], args[2])
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(d)
				}
				verdict := "DENIED"
				if d.Allowed {
					verdict = "ALLOWED"
				}
				fmt.Fprintf(a.stdout, "%s: %s %s %s\n", verdict, args[0], args[2], args[1])
				if len(d.Rules) == 0 {
					fmt.Fprintln(a.stdout, "  no rule allows it (denied by default)")
				}
				for _, r := range d.Rules {
					fmt.Fprintf(a.stdout, "  decided by: %s\n", strings.Join(r, ", "))
				}
				return nil
			})
		},
	}
	check.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = check.MarkFlagRequired("tenant")
	cmd.AddCommand(check)
	return cmd
}

// newAssignRoleCommand is `lattice user assign-role` (and unassign-role).
func newAssignRoleCommand(a *app, unassign bool) *cobra.Command {
	var tenant, email, integration, role string
	use, short := "assign-role", "Give a user (or an integration) a role in a tenant"
	if unassign {
		use, short = "unassign-role", "Take a role from a user (or an integration); a tenant always keeps an admin"
	}
	c := &cobra.Command{
		Use:   use + " --tenant T (--email E | --integration NAME) --role ROLE",
		Short: short,
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withPermissions(cmd.Context(), tenant, func(k *kernel, p *permissions.Service, tid string) error {
				var sub string
				switch {
				case integration != "" && email == "":
					sub = permissions.IntegrationSubject(integration)
				case email != "" && integration == "":
					u, err := k.tenants.User(cmd.Context(), email)
					if err != nil {
						return err
					}
					sub = permissions.UserSubject(u.ID)
				default:
					return fmt.Errorf("give --email or --integration")
				}
				op, verb := p.Assign, "assigned"
				if unassign {
					op, verb = p.Unassign, "unassigned"
				}
				if err := op(cmd.Context(), tid, "", sub, role); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s role %s to %s\n", verb, role, sub)
				return nil
			})
		},
	}
	c.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	c.Flags().StringVar(&email, "email", "", "the user's e-mail or id")
	c.Flags().StringVar(&integration, "integration", "", "the integration's name")
	c.Flags().StringVar(&role, "role", "", "the role (required)")
	_ = c.MarkFlagRequired("tenant")
	_ = c.MarkFlagRequired("role")
	return c
}
