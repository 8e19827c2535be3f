package main

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/tenants"
)

func newUserCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Create users, manage tenant membership and reset passwords",
	}
	var email, name string
	var passwordStdin bool
	create := &cobra.Command{
		Use:   "create --email EMAIL",
		Short: "Create a user (a global identity that can join several tenants)",
		Long: `Create a user. The password is read from standard input with
--password-stdin; otherwise a random one is generated and printed once.
Passwords are never taken as flags, which other users of the machine can see.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, generated, err := a.password(passwordStdin)
			if err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				u, err := s.CreateUser(cmd.Context(), email, name, pw)
				if err != nil {
					return err
				}
				return a.showUser(u, generated)
			})
		},
	}
	create.Flags().StringVar(&email, "email", "", "the user's e-mail address, their login (required)")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	_ = create.MarkFlagRequired("email")

	var tenant, role string
	add := &cobra.Command{
		Use:   "add-to-tenant --email EMAIL --tenant TENANT",
		Short: "Make a user a member of a tenant, or change their role there",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				m, err := s.AddMember(cmd.Context(), tenant, email, role)
				if err != nil {
					return err
				}
				return a.show(m, "USER\tEMAIL\tROLE\tJOINED", func(add func(...any)) { add(m.ID, m.Email, m.Role, m.JoinedAt) })
			})
		},
	}
	add.Flags().StringVar(&email, "email", "", "the user's e-mail or id (required)")
	add.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	add.Flags().StringVar(&role, "role", tenants.RoleMember, "role in the tenant: admin or member")
	_ = add.MarkFlagRequired("email")
	_ = add.MarkFlagRequired("tenant")

	remove := &cobra.Command{
		Use:   "remove-from-tenant --email EMAIL --tenant TENANT",
		Short: "Remove a user from a tenant, with their tokens and sessions there",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				if err := s.RemoveMember(cmd.Context(), tenant, email); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "removed %s from %s\n", email, tenant)
				return nil
			})
		},
	}
	remove.Flags().StringVar(&email, "email", "", "the user's e-mail or id (required)")
	remove.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = remove.MarkFlagRequired("email")
	_ = remove.MarkFlagRequired("tenant")

	list := &cobra.Command{
		Use:   "list --tenant TENANT",
		Short: "List a tenant's members",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				ms, err := s.ListMembers(cmd.Context(), tenant)
				if err != nil {
					return err
				}
				return a.show(ms, "USER\tEMAIL\tNAME\tROLE\tJOINED", func(add func(...any)) {
					for _, m := range ms {
						add(m.ID, m.Email, m.Name, m.Role, m.JoinedAt)
					}
				})
			})
		},
	}
	list.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = list.MarkFlagRequired("tenant")

	reset := &cobra.Command{
		Use:   "reset-password --email EMAIL",
		Short: "Set a new password and end the user's sessions in every tenant",
		Long: `Set a new password, read from standard input with --password-stdin or
generated and printed once, and end every session the user has. API tokens
stay valid; revoke them with 'lattice token revoke'.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, generated, err := a.password(passwordStdin)
			if err != nil {
				return err
			}
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				if err := s.ResetPassword(cmd.Context(), email, pw); err != nil {
					return err
				}
				u, err := s.User(cmd.Context(), email)
				if err != nil {
					return err
				}
				return a.showUser(u, generated)
			})
		},
	}
	reset.Flags().StringVar(&email, "email", "", "the user's e-mail or id (required)")
	reset.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of standard input")
	_ = reset.MarkFlagRequired("email")

	cmd.AddCommand(create, add, remove, list, reset, newAssignRoleCommand(a, false), newAssignRoleCommand(a, true))
	return cmd
}

// password reads a password from stdin, or generates one (generated is then
// the plaintext to show the operator).
func (a *app) password(fromStdin bool) (pw, generated string, err error) {
	if fromStdin {
		line, err := bufio.NewReader(a.stdin).ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if line == "" && err != nil {
			return "", "", &usageError{msg: "--password-stdin: no password on standard input"}
		}
		return line, "", nil
	}
	pw = rand.Text() // 26 base32 characters, 130 bits
	return pw, pw, nil
}

func (a *app) showUser(u tenants.User, generatedPassword string) error {
	out := struct {
		tenants.User
		Password string `json:"password,omitempty"`
	}{u, generatedPassword}
	return a.show(out, "ID\tEMAIL\tNAME\tPASSWORD", func(add func(...any)) {
		pw := "(as given)"
		if generatedPassword != "" {
			pw = generatedPassword
		}
		add(u.ID, u.Email, u.Name, pw)
	})
}
