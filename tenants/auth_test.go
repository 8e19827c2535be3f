package tenants_test

import (
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/tenants"
)

func TestAuthenticateToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	acme := e.tenant(t, "acme")
	globex := e.tenant(t, "globex")
	alice := e.user(t, "alice@example.com")
	e.member(t, "acme", alice.Email, tenants.RoleAdmin)
	e.member(t, "globex", alice.Email, tenants.RoleAdmin)
	userTok, userInfo := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "ci", User: alice.Email, TTL: time.Hour})
	intTok, intInfo := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "erp", Integration: "erp", Role: tenants.RoleAdmin})
	e.token(t, tenants.TokenRequest{Tenant: "globex", Name: "ci", User: alice.Email})

	t.Run("user token", func(t *testing.T) {
		p := e.auth(t, userTok)
		want := tenants.Principal{
			TenantID: acme.ID, TenantSlug: "acme", TenantName: acme.Name,
			UserID: alice.ID, Email: alice.Email, Role: tenants.RoleAdmin,
			Via: tenants.ViaToken, CredentialID: userInfo.ID, ExpiresAt: p.ExpiresAt,
		}
		if p != want {
			t.Errorf("Principal = %+v\nwant %+v", p, want)
		}
		if userInfo.ExpiresAt == nil || !p.ExpiresAt.Equal(*userInfo.ExpiresAt) {
			t.Errorf("ExpiresAt = %s, want %v", p.ExpiresAt, userInfo.ExpiresAt)
		}
	})

	t.Run("integration token", func(t *testing.T) {
		p := e.auth(t, intTok)
		want := tenants.Principal{
			TenantID: acme.ID, TenantSlug: "acme", TenantName: acme.Name,
			Integration: "erp", Role: tenants.RoleAdmin, Via: tenants.ViaToken, CredentialID: intInfo.ID,
		}
		if p != want {
			t.Errorf("Principal = %+v\nwant %+v", p, want)
		}
	})

	t.Run("user token acts with the current role", func(t *testing.T) {
		e.member(t, "acme", alice.Email, tenants.RoleMember)
		defer e.member(t, "acme", alice.Email, tenants.RoleAdmin)
		if p := e.auth(t, userTok); p.Role != tenants.RoleMember {
			t.Errorf("role after demotion = %q, want member", p.Role)
		}
	})

	t.Run("records last use", func(t *testing.T) {
		got, err := e.svc.GetToken(ctx, "acme", userInfo.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.LastUsedAt == nil || !near(*got.LastUsedAt, time.Now(), time.Minute) {
			t.Errorf("LastUsedAt = %v, want about now", got.LastUsedAt)
		}
	})

	t.Run("not valid", func(t *testing.T) {
		secretPart := secretOf(userTok)
		tampered := []byte(userTok)
		i := len(tampered) - 10
		if tampered[i] == 'A' {
			tampered[i] = 'B'
		} else {
			tampered[i] = 'A'
		}
		cases := map[string]string{
			"empty":                    "",
			"garbage":                  "garbage",
			"bearer prefix left in":    "Bearer " + userTok,
			"wrong prefix":             "xyz" + userTok[3:],
			"session prefix":           "lss" + userTok[3:],
			"tampered secret":          string(tampered),
			"other tenant's id":        "lat_" + compactID(globex.ID) + "_" + secretPart,
			"unknown tenant id":        "lat_" + strings.Repeat("0", 32) + "_" + secretPart,
			"secret truncated":         userTok[:len(userTok)-1],
			"token with trailing data": userTok + "x",
		}
		for name, cred := range cases {
			t.Run(name, func(t *testing.T) {
				_, err := e.svc.Authenticate(ctx, cred)
				wantErr(t, err, apierror.Unauthenticated, "invalid_token")
			})
		}
	})

	t.Run("keeps working after a slug change", func(t *testing.T) {
		if _, err := e.svc.RenameTenant(ctx, "acme", "", "acme-corp"); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if _, err := e.svc.RenameTenant(ctx, "acme-corp", "", "acme"); err != nil {
				t.Fatal(err)
			}
		}()
		if p := e.auth(t, userTok); p.TenantSlug != "acme-corp" || p.TenantID != acme.ID {
			t.Errorf("Principal after rename = %+v", p)
		}
	})
}

func TestAuthenticateRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	e.tenant(t, "acme")
	e.tenant(t, "globex")
	alice := e.user(t, "alice@example.com")
	e.member(t, "acme", alice.Email, tenants.RoleMember)
	good, _ := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "good", User: alice.Email})
	integ, _ := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "erp", Integration: "erp"})
	session, _ := e.login(t, "acme", alice.Email, testPassword)

	t.Run("expired", func(t *testing.T) {
		tok, info := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "short", User: alice.Email, TTL: time.Hour})
		e.auth(t, tok)
		e.exec(t, "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", info.ID)
		_, err := e.svc.Authenticate(ctx, tok)
		wantErr(t, err, apierror.Unauthenticated, "token_expired")
	})

	t.Run("revoked", func(t *testing.T) {
		tok, info := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "revoked", Integration: "gone"})
		e.auth(t, tok)
		if _, err := e.svc.RevokeToken(ctx, "acme", info.ID); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.Authenticate(ctx, tok)
		wantErr(t, err, apierror.Unauthenticated, "token_revoked")
	})

	t.Run("suspended tenant", func(t *testing.T) {
		if _, err := e.svc.SuspendTenant(ctx, "acme", "invoice 42 unpaid"); err != nil {
			t.Fatal(err)
		}
		for _, cred := range []string{good, integ, session} {
			_, err := e.svc.Authenticate(ctx, cred)
			ae := wantErr(t, err, apierror.Forbidden, "tenant_suspended")
			if !strings.Contains(ae.Message, "invoice 42 unpaid") || !strings.Contains(ae.Message, "acme") {
				t.Errorf("message %q does not give the tenant and the reason", ae.Message)
			}
		}
		if _, err := e.svc.ResumeTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		for _, cred := range []string{good, integ, session} {
			e.auth(t, cred)
		}
	})

	t.Run("deleted tenant", func(t *testing.T) {
		if _, err := e.svc.DeleteTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		for _, cred := range []string{good, integ, session} {
			_, err := e.svc.Authenticate(ctx, cred)
			wantErr(t, err, apierror.Unauthenticated, "tenant_deleted")
		}
		if _, err := e.svc.RestoreTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		for _, cred := range []string{good, integ, session} {
			e.auth(t, cred)
		}
	})

	t.Run("member removed", func(t *testing.T) {
		if err := e.svc.RemoveMember(ctx, "acme", alice.Email); err != nil {
			t.Fatal(err)
		}
		for _, cred := range []string{good, session} {
			_, err := e.svc.Authenticate(ctx, cred)
			wantErr(t, err, apierror.Unauthenticated, "invalid_token")
		}
		e.auth(t, integ) // integration tokens belong to no member
	})
}

// A credential that is refused must not be recorded as used: last_used_at
// is what an administrator reads to decide whether a token is still in use.
func TestAuthenticateRefusedTokenIsNotRecordedAsUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	e.tenant(t, "acme")
	expired, expiredInfo := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "expired", Integration: "old", TTL: time.Hour})
	e.exec(t, "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1", expiredInfo.ID)
	suspended, suspendedInfo := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "live", Integration: "erp"})

	_, err := e.svc.Authenticate(ctx, expired)
	wantErr(t, err, apierror.Unauthenticated, "token_expired")
	if got, err := e.svc.GetToken(ctx, "acme", expiredInfo.ID); err != nil || got.LastUsedAt != nil {
		t.Errorf("expired token: LastUsedAt = %v (err %v) after a refused use; want nil", got.LastUsedAt, err)
	}

	if _, err := e.svc.SuspendTenant(ctx, "acme", "audit"); err != nil {
		t.Fatal(err)
	}
	_, err = e.svc.Authenticate(ctx, suspended)
	wantErr(t, err, apierror.Forbidden, "tenant_suspended")
	if got, err := e.svc.GetToken(ctx, "acme", suspendedInfo.ID); err != nil || got.LastUsedAt != nil {
		t.Errorf("token of a suspended tenant: LastUsedAt = %v (err %v) after a refused use; want nil", got.LastUsedAt, err)
	}
}
