package tenants_test

import (
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/tenants"
)

func TestCreateUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()

	u, err := e.svc.CreateUser(ctx, "Alice@Example.COM", "Alice", testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == "" || u.Email != "alice@example.com" || u.Name != "Alice" {
		t.Fatalf("created user = %+v; want the e-mail lower-cased", u)
	}
	var hash string
	if err := e.db.Owner.QueryRow(ctx, "SELECT password_hash FROM users WHERE id = $1", u.ID).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, testPassword) {
		t.Errorf("stored password_hash %q is not an argon2id hash", hash)
	}
	for _, ref := range []string{"alice@example.com", "ALICE@example.com", u.ID} {
		if got, err := e.svc.User(ctx, ref); err != nil || got.ID != u.ID {
			t.Errorf("User(%q) = %+v, %v", ref, got, err)
		}
	}
	_, err = e.svc.User(ctx, "bob@example.com")
	wantErr(t, err, apierror.NotFound, "user_not_found")

	n := e.count(t, "SELECT count(*) FROM users")
	cases := []struct {
		name, email, uname, pw, field, code string
	}{
		{"empty email", "", "", testPassword, "email", "invalid_email"},
		{"no at", "alice.example.com", "", testPassword, "email", "invalid_email"},
		{"display name form", "Alice <alice2@example.com>", "", testPassword, "email", "invalid_email"},
		{"two ats", "a@b@example.com", "", testPassword, "email", "invalid_email"},
		{"spaces", " bob@example.com ", "", testPassword, "email", "invalid_email"},
		{"too long", strings.Repeat("a", 243) + "@example.com", "", testPassword, "email", "invalid_email"},
		{"long name", "bob@example.com", strings.Repeat("n", 201), testPassword, "name", "invalid_name"},
		{"short password", "bob@example.com", "Bob", "short", "password", "password_too_short"},
		{"long password", "bob@example.com", "Bob", strings.Repeat("p", 257), "password", "password_too_long"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.svc.CreateUser(ctx, c.email, c.uname, c.pw)
			wantInvalid(t, err, c.field, c.code)
		})
	}

	t.Run("duplicate email", func(t *testing.T) {
		for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM"} {
			_, err := e.svc.CreateUser(ctx, email, "Alice Again", testPassword)
			if ae := wantErr(t, err, apierror.Conflict, "email_taken"); ae.Field != "email" {
				t.Errorf("field %q, want email", ae.Field)
			}
		}
	})
	if got := e.count(t, "SELECT count(*) FROM users"); got != n {
		t.Errorf("users: %d rows after refused creations, want %d", got, n)
	}
}

func TestMembers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	acme := e.tenant(t, "acme")
	alice := e.user(t, "alice@example.com")
	bob := e.user(t, "bob@example.com")

	m := e.member(t, "acme", "bob@example.com", tenants.RoleMember)
	if m.ID != bob.ID || m.Email != bob.Email || m.Role != tenants.RoleMember || m.JoinedAt.IsZero() {
		t.Fatalf("AddMember = %+v", m)
	}
	e.member(t, acme.ID, alice.ID, tenants.RoleAdmin)

	t.Run("bad role", func(t *testing.T) {
		for _, role := range []string{"", "owner", "Admin"} {
			_, err := e.svc.AddMember(ctx, "acme", "alice@example.com", role)
			wantInvalid(t, err, "role", "invalid_role")
		}
	})
	t.Run("unknown tenant or user", func(t *testing.T) {
		_, err := e.svc.AddMember(ctx, "initech", "alice@example.com", tenants.RoleMember)
		wantErr(t, err, apierror.NotFound, "tenant_not_found")
		_, err = e.svc.AddMember(ctx, "acme", "carol@example.com", tenants.RoleMember)
		wantErr(t, err, apierror.NotFound, "user_not_found")
	})

	list, err := e.svc.ListMembers(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Email != "alice@example.com" || list[0].Role != tenants.RoleAdmin ||
		list[1].Email != "bob@example.com" || list[1].Role != tenants.RoleMember {
		t.Fatalf("ListMembers = %+v; want alice (admin), bob (member)", list)
	}

	t.Run("adding again changes the role", func(t *testing.T) {
		m2 := e.member(t, "acme", "BOB@example.com", tenants.RoleAdmin)
		if m2.Role != tenants.RoleAdmin || !m2.JoinedAt.Equal(m.JoinedAt) {
			t.Errorf("re-add = %+v; want role admin and the original join time %s", m2, m.JoinedAt)
		}
		if n := e.count(t, "SELECT count(*) FROM tenant_members WHERE tenant_id = $1", acme.ID); n != 2 {
			t.Errorf("%d memberships, want 2", n)
		}
		list, err := e.svc.ListMembers(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 || list[1].Email != "bob@example.com" || list[1].Role != tenants.RoleAdmin {
			t.Errorf("ListMembers after role change = %+v", list)
		}
	})

	t.Run("remove", func(t *testing.T) {
		_, tok := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "bob-ci", User: "bob@example.com"})
		e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "alice-ci", User: "alice@example.com"})
		e.login(t, "acme", "bob@example.com", testPassword)

		if err := e.svc.RemoveMember(ctx, "acme", bob.ID); err != nil {
			t.Fatal(err)
		}
		list, err := e.svc.ListMembers(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != alice.ID {
			t.Errorf("ListMembers after removal = %+v, want alice only", list)
		}
		if n := e.count(t, "SELECT count(*) FROM api_tokens WHERE user_id = $1", bob.ID); n != 0 {
			t.Errorf("removed member still has %d tokens", n)
		}
		if n := e.count(t, "SELECT count(*) FROM sessions WHERE user_id = $1", bob.ID); n != 0 {
			t.Errorf("removed member still has %d sessions", n)
		}
		if n := e.count(t, "SELECT count(*) FROM api_tokens WHERE user_id = $1", alice.ID); n != 1 {
			t.Errorf("other member has %d tokens, want 1", n)
		}
		_, err = e.svc.GetToken(ctx, "acme", tok.ID)
		wantErr(t, err, apierror.NotFound, "token_not_found")
		if n := e.count(t, "SELECT count(*) FROM users WHERE id = $1", bob.ID); n != 1 {
			t.Error("removing a member deleted the user")
		}

		wantErr(t, e.svc.RemoveMember(ctx, "acme", bob.ID), apierror.NotFound, "member_not_found")
		wantErr(t, e.svc.RemoveMember(ctx, "acme", "carol@example.com"), apierror.NotFound, "user_not_found")
		wantErr(t, e.svc.RemoveMember(ctx, "initech", alice.ID), apierror.NotFound, "tenant_not_found")
	})
}
