package tenants_test

import (
	"testing"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/tenants"
)

// TestTenantIsolation checks that the service, running as lattice_app under
// row-level security, never lets one tenant's name reach another's rows.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	a := e.tenant(t, "tenant-a")
	b := e.tenant(t, "tenant-b")
	alice := e.user(t, "alice@example.com")
	bob := e.user(t, "bob@example.com")
	e.member(t, "tenant-a", alice.Email, tenants.RoleAdmin)
	e.member(t, "tenant-b", bob.Email, tenants.RoleAdmin)
	aUserTok, aUser := e.token(t, tenants.TokenRequest{Tenant: "tenant-a", Name: "a-ci", User: alice.Email})
	_, aInt := e.token(t, tenants.TokenRequest{Tenant: "tenant-a", Name: "a-erp", Integration: "erp"})
	_, bTok := e.token(t, tenants.TokenRequest{Tenant: "tenant-b", Name: "b-ci", User: bob.Email})

	toks, err := e.svc.ListTokens(ctx, "tenant-b")
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 1 || toks[0].ID != bTok.ID || toks[0].TenantID != b.ID {
		t.Errorf("ListTokens(B) = %+v; want only B's token", toks)
	}
	toks, err = e.svc.ListTokens(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2 {
		t.Errorf("ListTokens(A) = %+v; want A's two tokens", toks)
	}
	for _, tk := range toks {
		if tk.TenantID != a.ID || tk.ID == bTok.ID {
			t.Errorf("ListTokens(A) includes %+v", tk)
		}
	}

	members, err := e.svc.ListMembers(ctx, "tenant-b")
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 1 || members[0].ID != bob.ID {
		t.Errorf("ListMembers(B) = %+v; want bob only", members)
	}

	for _, id := range []string{aUser.ID, aInt.ID} {
		_, err := e.svc.GetToken(ctx, "tenant-b", id)
		wantErr(t, err, apierror.NotFound, "token_not_found")
		_, err = e.svc.RevokeToken(ctx, "tenant-b", id)
		wantErr(t, err, apierror.NotFound, "token_not_found")
	}
	if n := e.count(t, "SELECT count(*) FROM api_tokens WHERE revoked_at IS NOT NULL"); n != 0 {
		t.Errorf("%d tokens revoked through the wrong tenant", n)
	}
	e.auth(t, aUserTok)

	// Memberships and tokens of A cannot be reached through B either.
	wantErr(t, e.svc.RemoveMember(ctx, "tenant-b", alice.Email), apierror.NotFound, "member_not_found")
	if n := e.count(t, "SELECT count(*) FROM tenant_members WHERE tenant_id = $1", a.ID); n != 1 {
		t.Errorf("A has %d members, want 1", n)
	}
	_, _, err = e.svc.CreateToken(ctx, tenants.TokenRequest{Tenant: "tenant-b", Name: "sneak", User: alice.Email})
	wantErr(t, err, apierror.Invalid, "not_a_member")
	_, _, err = e.svc.Login(ctx, tenants.LoginRequest{Tenant: "tenant-b", Email: alice.Email, Password: testPassword})
	wantErr(t, err, apierror.Unauthenticated, "invalid_credentials")
}
