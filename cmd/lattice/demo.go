package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/tenants"
)

// The demo tenant that 'lattice serve --demo' (and so 'make run') sets up.
const (
	demoSlug      = "demo"
	demoEmail     = "admin@demo.example.com"
	demoTokenName = "demo"
)

// demoLogin is what the operator needs to try the demo tenant.
type demoLogin struct {
	Tenant, Email, Password, Token string
}

// seedDemo makes sure the demo tenant exists, is active and has an admin,
// then gives that admin a fresh password and a fresh API token, revoking the
// previous demo token. Safe to run any number of times: nothing accumulates
// and no secret is stored in plaintext.
func seedDemo(ctx context.Context, s *tenants.Service, cat *catalog.Catalog) (demoLogin, error) {
	t, err := s.Tenant(ctx, demoSlug)
	switch {
	case isKind(err, apierror.NotFound):
		t, err = s.CreateTenant(ctx, demoSlug, "Demo Company")
	case err == nil && t.DeletedAt != nil:
		t, err = s.RestoreTenant(ctx, demoSlug)
	}
	if err != nil {
		return demoLogin{}, fmt.Errorf("demo tenant: %w", err)
	}
	if err := installCRM(ctx, cat, t.ID, "demo"); err != nil {
		return demoLogin{}, err
	}
	if t.Status == tenants.StatusSuspended {
		if _, err := s.ResumeTenant(ctx, demoSlug); err != nil {
			return demoLogin{}, fmt.Errorf("resume demo tenant: %w", err)
		}
	}
	password := rand.Text()
	if _, err := s.User(ctx, demoEmail); isKind(err, apierror.NotFound) {
		_, err = s.CreateUser(ctx, demoEmail, "Demo Admin", password)
		if err != nil {
			return demoLogin{}, fmt.Errorf("demo admin: %w", err)
		}
	} else if err != nil {
		return demoLogin{}, fmt.Errorf("demo admin: %w", err)
	} else if err := s.ResetPassword(ctx, demoEmail, password); err != nil {
		return demoLogin{}, fmt.Errorf("demo admin password: %w", err)
	}
	if _, err := s.AddMember(ctx, demoSlug, demoEmail, tenants.RoleAdmin); err != nil {
		return demoLogin{}, fmt.Errorf("demo admin membership: %w", err)
	}
	old, err := s.ListTokens(ctx, demoSlug)
	if err != nil {
		return demoLogin{}, err
	}
	for _, tok := range old {
		if tok.Name == demoTokenName && tok.UserEmail == demoEmail && tok.RevokedAt == nil {
			if _, err := s.RevokeToken(ctx, demoSlug, tok.ID); err != nil {
				return demoLogin{}, err
			}
		}
	}
	secret, _, err := s.CreateToken(ctx, tenants.TokenRequest{
		Tenant: demoSlug, Name: demoTokenName, User: demoEmail, TTL: 30 * 24 * time.Hour,
	})
	if err != nil {
		return demoLogin{}, fmt.Errorf("demo token: %w", err)
	}
	return demoLogin{Tenant: demoSlug, Email: demoEmail, Password: password, Token: secret}, nil
}

func isKind(err error, k apierror.Kind) bool {
	e, ok := apierror.As(err)
	return ok && e.Kind == k
}
