package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/tenants"
)

func newTokenCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke API tokens",
	}
	var req tenants.TokenRequest
	create := &cobra.Command{
		Use:   "create --tenant TENANT --name NAME (--user EMAIL | --integration NAME)",
		Short: "Create an API token; its secret is printed once and stored only as a hash",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				secret, t, err := s.CreateToken(cmd.Context(), req)
				if err != nil {
					return err
				}
				out := struct {
					Token string        `json:"token"`
					Info  tenants.Token `json:"info"`
				}{secret, t}
				return a.show(out, "ID\tNAME\tOWNER\tROLE\tEXPIRES\tTOKEN (shown once)", func(add func(...any)) {
					add(t.ID, t.Name, owner(t), t.Role, t.ExpiresAt, secret)
				})
			})
		},
	}
	f := create.Flags()
	f.StringVar(&req.Tenant, "tenant", "", "tenant slug or id (required)")
	f.StringVar(&req.Name, "name", "", "what the token is for (required)")
	f.StringVar(&req.User, "user", "", "e-mail or id of the member the token acts as")
	f.StringVar(&req.Integration, "integration", "", "name of the integration the token acts as, instead of a user")
	f.StringVar(&req.Role, "role", "", "role of an integration token: member (default) or admin")
	f.DurationVar(&req.TTL, "expires-in", 90*24*time.Hour, "lifetime, e.g. 720h; 0 means the token never expires")
	_ = create.MarkFlagRequired("tenant")
	_ = create.MarkFlagRequired("name")

	var tenant string
	list := &cobra.Command{
		Use:   "list --tenant TENANT",
		Short: "List a tenant's API tokens (never their secrets)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				ts, err := s.ListTokens(cmd.Context(), tenant)
				if err != nil {
					return err
				}
				return a.show(ts, "ID\tNAME\tOWNER\tROLE\tHINT\tCREATED\tEXPIRES\tLAST USED\tREVOKED", func(add func(...any)) {
					for _, t := range ts {
						add(t.ID, t.Name, owner(t), t.Role, "…"+t.Hint, t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt)
					}
				})
			})
		},
	}
	list.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = list.MarkFlagRequired("tenant")

	revoke := &cobra.Command{
		Use:   "revoke --tenant TENANT TOKEN_ID",
		Short: "Revoke an API token; it stops working at once",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withService(cmd.Context(), func(s *tenants.Service) error {
				t, err := s.RevokeToken(cmd.Context(), tenant, args[0])
				if err != nil {
					return err
				}
				return a.show(t, "ID\tNAME\tREVOKED", func(add func(...any)) { add(t.ID, t.Name, t.RevokedAt) })
			})
		},
	}
	revoke.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
	_ = revoke.MarkFlagRequired("tenant")

	cmd.AddCommand(create, list, revoke)
	return cmd
}

func owner(t tenants.Token) string {
	if t.Integration != "" {
		return "integration:" + t.Integration
	}
	return t.UserEmail
}
