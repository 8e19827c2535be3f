package tenants_test

import (
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/tenants"
)

func TestCreateToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	acme := e.tenant(t, "acme")
	alice := e.user(t, "alice@example.com")
	e.member(t, "acme", alice.Email, tenants.RoleAdmin)

	t.Run("user token", func(t *testing.T) {
		plain, tok, err := e.svc.CreateToken(ctx, tenants.TokenRequest{Tenant: "acme", Name: "ci", User: "Alice@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if want := "lat_" + compactID(acme.ID) + "_"; !strings.HasPrefix(plain, want) || len(plain) != len(want)+43 {
			t.Fatalf("plaintext %q; want %q followed by 43 characters", plain, want)
		}
		if tok.ID == "" || tok.TenantID != acme.ID || tok.Name != "ci" || tok.UserID != alice.ID ||
			tok.UserEmail != alice.Email || tok.Integration != "" || tok.Role != tenants.RoleAdmin {
			t.Errorf("token = %+v", tok)
		}
		if tok.Hint != plain[len(plain)-4:] {
			t.Errorf("hint %q, want the last 4 characters of the secret", tok.Hint)
		}
		if tok.ExpiresAt != nil || tok.LastUsedAt != nil || tok.RevokedAt != nil || !near(tok.CreatedAt, time.Now(), time.Minute) {
			t.Errorf("token times = created %s expires %v used %v revoked %v", tok.CreatedAt, tok.ExpiresAt, tok.LastUsedAt, tok.RevokedAt)
		}
		got, err := e.svc.GetToken(ctx, "acme", tok.ID)
		if err != nil || got.ID != tok.ID || got.Hint != tok.Hint || got.Role != tenants.RoleAdmin {
			t.Errorf("GetToken = %+v, %v; want %+v", got, err, tok)
		}
	})

	t.Run("integration token", func(t *testing.T) {
		_, tok := e.token(t, tenants.TokenRequest{Tenant: acme.ID, Name: "erp-sync", Integration: "erp.sync_v2-prod", TTL: time.Hour})
		if tok.Integration != "erp.sync_v2-prod" || tok.UserID != "" || tok.UserEmail != "" || tok.Role != tenants.RoleMember {
			t.Errorf("integration token = %+v; want integration set, no user, role member by default", tok)
		}
		if tok.ExpiresAt == nil || !near(*tok.ExpiresAt, time.Now().Add(time.Hour), time.Minute) {
			t.Errorf("ExpiresAt = %v, want about an hour from now", tok.ExpiresAt)
		}
		_, tok = e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "admin-bot", Integration: "bot", Role: tenants.RoleAdmin})
		if tok.Role != tenants.RoleAdmin {
			t.Errorf("integration token role %q, want admin", tok.Role)
		}
	})

	t.Run("invalid requests", func(t *testing.T) {
		bob := e.user(t, "bob@example.com") // exists, but not a member of acme
		n := e.count(t, "SELECT count(*) FROM api_tokens")
		cases := []struct {
			name  string
			req   tenants.TokenRequest
			field string // "" for errors without a field
			code  string
		}{
			{"no name", tenants.TokenRequest{Tenant: "acme", User: alice.Email}, "name", "invalid_name"},
			{"blank name", tenants.TokenRequest{Tenant: "acme", Name: "  ", User: alice.Email}, "name", "invalid_name"},
			{"long name", tenants.TokenRequest{Tenant: "acme", Name: strings.Repeat("n", 101), User: alice.Email}, "name", "invalid_name"},
			{"no owner", tenants.TokenRequest{Tenant: "acme", Name: "ci"}, "user", "token_owner_required"},
			{"both owners", tenants.TokenRequest{Tenant: "acme", Name: "ci", User: alice.Email, Integration: "erp"}, "user", "token_owner_required"},
			{"integration with space", tenants.TokenRequest{Tenant: "acme", Name: "ci", Integration: "erp sync"}, "integration", "invalid_integration"},
			{"integration leading dot", tenants.TokenRequest{Tenant: "acme", Name: "ci", Integration: ".erp"}, "integration", "invalid_integration"},
			{"integration too long", tenants.TokenRequest{Tenant: "acme", Name: "ci", Integration: strings.Repeat("e", 64)}, "integration", "invalid_integration"},
			{"integration bad role", tenants.TokenRequest{Tenant: "acme", Name: "ci", Integration: "erp", Role: "owner"}, "role", "invalid_role"},
			{"role on user token", tenants.TokenRequest{Tenant: "acme", Name: "ci", User: alice.Email, Role: tenants.RoleMember}, "role", "role_not_allowed"},
			{"negative ttl", tenants.TokenRequest{Tenant: "acme", Name: "ci", User: alice.Email, TTL: -time.Second}, "ttl", "invalid_ttl"},
			{"user not a member", tenants.TokenRequest{Tenant: "acme", Name: "ci", User: bob.Email}, "", "not_a_member"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				plain, _, err := e.svc.CreateToken(ctx, c.req)
				wantInvalid(t, err, c.field, c.code)
				if plain != "" {
					t.Errorf("refused request returned a secret")
				}
			})
		}
		_, _, err := e.svc.CreateToken(ctx, tenants.TokenRequest{Tenant: "acme", Name: "ci", User: "carol@example.com"})
		wantErr(t, err, apierror.NotFound, "user_not_found")
		_, _, err = e.svc.CreateToken(ctx, tenants.TokenRequest{Tenant: "initech", Name: "ci", Integration: "erp"})
		wantErr(t, err, apierror.NotFound, "tenant_not_found")
		_, _, err = e.svc.CreateToken(ctx, tenants.TokenRequest{Name: "ci", Integration: "erp"})
		wantInvalid(t, err, "tenant", "tenant_required")
		if got := e.count(t, "SELECT count(*) FROM api_tokens"); got != n {
			t.Errorf("api_tokens: %d rows after refused requests, want %d", got, n)
		}
	})
}

func TestTokenSecretIsNotStored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	e.tenant(t, "acme")
	plain, tok := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "erp", Integration: "erp"})
	secretPart := secretOf(plain)
	if len(secretPart) != 43 {
		t.Fatalf("secret part %q", secretPart)
	}

	var row string
	var hashMatches bool
	err := e.db.Owner.QueryRow(ctx, `SELECT k::text, k.secret_hash = sha256(convert_to($2, 'UTF8'))
		FROM api_tokens k WHERE k.id = $1`, tok.ID, secretPart).Scan(&row, &hashMatches)
	if err != nil {
		t.Fatal(err)
	}
	if !hashMatches {
		t.Error("secret_hash is not the SHA-256 of the secret")
	}
	// Neither the credential nor any 8 consecutive characters of its secret
	// (beyond the 4-character hint) appear in any column.
	if strings.Contains(row, plain) {
		t.Fatalf("api_tokens row contains the plaintext token: %s", row)
	}
	for i := 0; i+8 <= len(secretPart); i++ {
		if strings.Contains(row, secretPart[i:i+8]) {
			t.Fatalf("api_tokens row contains part of the secret (%q): %s", secretPart[i:i+8], row)
		}
	}
	// Tokens as listed do not carry it either.
	list, err := e.svc.ListTokens(ctx, "acme")
	if err != nil || len(list) != 1 {
		t.Fatalf("ListTokens = %+v, %v", list, err)
	}
	if s := strings.Join([]string{list[0].ID, list[0].Name, list[0].Hint}, " "); strings.Contains(s, secretPart[:8]) {
		t.Errorf("listed token exposes the secret")
	}
}

func TestListAndRevokeTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	e.tenant(t, "acme")
	_, first := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "first", Integration: "one"})
	_, second := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "second", Integration: "two"})
	_, third := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "third", Integration: "three"})
	// Make the order unambiguous whatever the clock resolution.
	e.exec(t, "UPDATE api_tokens SET created_at = now() - interval '3 hours' WHERE id = $1", first.ID)
	e.exec(t, "UPDATE api_tokens SET created_at = now() - interval '2 hours' WHERE id = $1", second.ID)
	e.exec(t, "UPDATE api_tokens SET created_at = now() - interval '1 hour' WHERE id = $1", third.ID)

	rev, err := e.svc.RevokeToken(ctx, "acme", second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if rev.ID != second.ID || rev.RevokedAt == nil || !near(*rev.RevokedAt, time.Now(), time.Minute) {
		t.Fatalf("revoked token = %+v", rev)
	}
	e2 := wantErr(t, func() error { _, err := e.svc.RevokeToken(ctx, "acme", second.ID); return err }(),
		apierror.Conflict, "token_already_revoked")
	if !strings.Contains(e2.Message, second.ID) {
		t.Errorf("message %q does not name the token", e2.Message)
	}

	list, err := e.svc.ListTokens(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != third.ID || list[1].ID != second.ID || list[2].ID != first.ID {
		t.Fatalf("ListTokens = %+v; want third, second, first (newest first, revoked included)", list)
	}
	if list[1].RevokedAt == nil || list[0].RevokedAt != nil || list[2].RevokedAt != nil {
		t.Errorf("only the second token should be revoked: %+v", list)
	}

	for _, bad := range []string{"", "123", "not-a-uuid", first.ID + "0", strings.Replace(first.ID, "-", "_", 1)} {
		_, err := e.svc.GetToken(ctx, "acme", bad)
		wantInvalid(t, err, "id", "invalid_token_id")
		_, err = e.svc.RevokeToken(ctx, "acme", bad)
		wantInvalid(t, err, "id", "invalid_token_id")
	}
	const unknown = "00000000-0000-4000-8000-000000000000"
	_, err = e.svc.GetToken(ctx, "acme", unknown)
	wantErr(t, err, apierror.NotFound, "token_not_found")
	_, err = e.svc.RevokeToken(ctx, "acme", unknown)
	wantErr(t, err, apierror.NotFound, "token_not_found")
	_, err = e.svc.GetToken(ctx, "initech", first.ID)
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
	_, err = e.svc.ListTokens(ctx, "initech")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
}
