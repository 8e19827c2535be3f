package tenants_test

import (
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/tenants"
)

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{SessionTTL: 2 * time.Hour})
	ctx := t.Context()
	acme := e.tenant(t, "acme")
	e.tenant(t, "globex")
	alice := e.user(t, "alice@example.com")
	e.user(t, "bob@example.com") // a real user, but of no tenant
	e.member(t, "acme", alice.Email, tenants.RoleAdmin)

	var session string
	t.Run("success", func(t *testing.T) {
		plain, sess, err := e.svc.Login(ctx, tenants.LoginRequest{
			Tenant: "acme", Email: "alice@example.com", Password: testPassword,
			RemoteAddr: "198.51.100.7", UserAgent: "lattice-test/1.0",
		})
		if err != nil {
			t.Fatal(err)
		}
		if want := "lss_" + compactID(acme.ID) + "_"; !strings.HasPrefix(plain, want) || len(plain) != len(want)+43 {
			t.Fatalf("session token %q; want %q followed by 43 characters", plain, want)
		}
		if sess.ID == "" || sess.TenantID != acme.ID || sess.UserID != alice.ID ||
			!near(sess.ExpiresAt, time.Now().Add(2*time.Hour), time.Minute) {
			t.Errorf("Session = %+v; want alice in acme for 2h", sess)
		}
		p := e.auth(t, plain)
		want := tenants.Principal{
			TenantID: acme.ID, TenantSlug: "acme", TenantName: acme.Name,
			UserID: alice.ID, Email: alice.Email, Role: tenants.RoleAdmin,
			Via: tenants.ViaSession, CredentialID: sess.ID, ExpiresAt: p.ExpiresAt,
		}
		if p != want {
			t.Errorf("Principal = %+v\nwant %+v", p, want)
		}
		if !p.ExpiresAt.Equal(sess.ExpiresAt) {
			t.Errorf("Principal.ExpiresAt = %s, want %s", p.ExpiresAt, sess.ExpiresAt)
		}

		var row, addr, agent string
		var hashMatches bool
		secretPart := secretOf(plain)
		err = e.db.Owner.QueryRow(ctx, `SELECT s::text, s.remote_addr, s.user_agent, s.secret_hash = sha256(convert_to($2, 'UTF8'))
			FROM sessions s WHERE s.id = $1`, sess.ID, secretPart).Scan(&row, &addr, &agent, &hashMatches)
		if err != nil {
			t.Fatal(err)
		}
		if !hashMatches || strings.Contains(row, secretPart[:16]) {
			t.Errorf("sessions row must hold only the SHA-256 of the secret: %s", row)
		}
		if addr != "198.51.100.7" || agent != "lattice-test/1.0" {
			t.Errorf("session remote_addr %q, user_agent %q", addr, agent)
		}
		session = plain
	})

	t.Run("e-mail is case-insensitive", func(t *testing.T) {
		plain, _ := e.login(t, "acme", "Alice@Example.com", testPassword)
		if p := e.auth(t, plain); p.UserID != alice.ID {
			t.Errorf("Principal = %+v", p)
		}
	})

	t.Run("refused", func(t *testing.T) {
		n := e.count(t, "SELECT count(*) FROM sessions")
		cases := []struct {
			name string
			req  tenants.LoginRequest
			kind apierror.Kind
			code string
		}{
			{"wrong password", tenants.LoginRequest{Tenant: "acme", Email: "alice@example.com", Password: testPassword + "x"}, apierror.Unauthenticated, "invalid_credentials"},
			{"unknown email", tenants.LoginRequest{Tenant: "acme", Email: "carol@example.com", Password: testPassword}, apierror.Unauthenticated, "invalid_credentials"},
			{"not a member", tenants.LoginRequest{Tenant: "acme", Email: "bob@example.com", Password: testPassword}, apierror.Unauthenticated, "invalid_credentials"},
			{"member elsewhere", tenants.LoginRequest{Tenant: "globex", Email: "alice@example.com", Password: testPassword}, apierror.Unauthenticated, "invalid_credentials"},
			{"unknown tenant", tenants.LoginRequest{Tenant: "initech", Email: "alice@example.com", Password: testPassword}, apierror.NotFound, "tenant_not_found"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				c.req.RemoteAddr = "203.0.113.5"
				plain, _, err := e.svc.Login(ctx, c.req)
				wantErr(t, err, c.kind, c.code)
				if plain != "" {
					t.Error("refused login returned a session token")
				}
			})
		}
		invalid := []struct {
			name  string
			req   tenants.LoginRequest
			field string
			code  string
		}{
			{"no tenant", tenants.LoginRequest{Email: "alice@example.com", Password: testPassword}, "tenant", "tenant_required"},
			{"no email", tenants.LoginRequest{Tenant: "acme", Password: testPassword}, "email", "credentials_required"},
			{"no password", tenants.LoginRequest{Tenant: "acme", Email: "alice@example.com"}, "email", "credentials_required"},
			{"bad slug", tenants.LoginRequest{Tenant: "Acme", Email: "alice@example.com", Password: testPassword}, "", "invalid_slug"},
		}
		for _, c := range invalid {
			t.Run(c.name, func(t *testing.T) {
				_, _, err := e.svc.Login(ctx, c.req)
				if c.field == "" {
					wantErr(t, err, apierror.Invalid, c.code)
					return
				}
				wantInvalid(t, err, c.field, c.code)
			})
		}
		if got := e.count(t, "SELECT count(*) FROM sessions"); got != n {
			t.Errorf("sessions: %d rows after refused logins, want %d", got, n)
		}
	})

	t.Run("suspended tenant", func(t *testing.T) {
		if _, err := e.svc.SuspendTenant(ctx, "acme", "maintenance"); err != nil {
			t.Fatal(err)
		}
		_, _, err := e.svc.Login(ctx, tenants.LoginRequest{Tenant: "acme", Email: alice.Email, Password: testPassword})
		if ae := wantErr(t, err, apierror.Forbidden, "tenant_suspended"); !strings.Contains(ae.Message, "maintenance") {
			t.Errorf("message %q lacks the reason", ae.Message)
		}
		if _, err := e.svc.ResumeTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("deleted tenant", func(t *testing.T) {
		if _, err := e.svc.DeleteTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
		_, _, err := e.svc.Login(ctx, tenants.LoginRequest{Tenant: "acme", Email: alice.Email, Password: testPassword})
		wantErr(t, err, apierror.NotFound, "tenant_not_found")
		if _, err := e.svc.RestoreTenant(ctx, "acme"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("expired session", func(t *testing.T) {
		if session == "" {
			t.Fatal("no session from the success case")
		}
		e.auth(t, session)
		e.exec(t, "UPDATE sessions SET expires_at = now() - interval '1 second' WHERE tenant_id = $1", acme.ID)
		_, err := e.svc.Authenticate(ctx, session)
		wantErr(t, err, apierror.Unauthenticated, "session_expired")
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	e.tenant(t, "acme")
	alice := e.user(t, "alice@example.com")
	e.member(t, "acme", alice.Email, tenants.RoleMember)
	s1, _ := e.login(t, "acme", alice.Email, testPassword)
	s2, _ := e.login(t, "acme", alice.Email, testPassword)
	tok, _ := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "ci", User: alice.Email})

	p := e.auth(t, s1)
	if err := e.svc.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	_, err := e.svc.Authenticate(ctx, s1)
	wantErr(t, err, apierror.Unauthenticated, "invalid_token")
	e.auth(t, s2) // only the one session ended

	tp := e.auth(t, tok)
	wantErr(t, e.svc.Logout(ctx, tp), apierror.Invalid, "not_a_session")
	e.auth(t, tok) // and the token still works
}

func TestResetPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	e.tenant(t, "acme")
	e.tenant(t, "globex")
	alice := e.user(t, "alice@example.com")
	bob := e.user(t, "bob@example.com")
	e.member(t, "acme", alice.Email, tenants.RoleMember)
	e.member(t, "globex", alice.Email, tenants.RoleAdmin)
	e.member(t, "acme", bob.Email, tenants.RoleMember)
	inAcme, _ := e.login(t, "acme", alice.Email, testPassword)
	inGlobex, _ := e.login(t, "globex", alice.Email, testPassword)
	bobs, _ := e.login(t, "acme", bob.Email, testPassword)
	tok, _ := e.token(t, tenants.TokenRequest{Tenant: "acme", Name: "ci", User: alice.Email})

	wantInvalid(t, e.svc.ResetPassword(ctx, alice.Email, "short"), "password", "password_too_short")
	wantErr(t, e.svc.ResetPassword(ctx, "carol@example.com", "a new password"), apierror.NotFound, "user_not_found")
	e.auth(t, inAcme) // refused resets changed nothing

	const newPassword = "a brand new password"
	if err := e.svc.ResetPassword(ctx, alice.ID, newPassword); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]string{"acme": inAcme, "globex": inGlobex} {
		_, err := e.svc.Authenticate(ctx, s)
		if err == nil {
			t.Errorf("session in %s survived the password reset", name)
			continue
		}
		wantErr(t, err, apierror.Unauthenticated, "invalid_token")
	}
	if n := e.count(t, "SELECT count(*) FROM sessions WHERE user_id = $1", alice.ID); n != 0 {
		t.Errorf("%d sessions of alice remain", n)
	}
	e.auth(t, bobs) // another user's session is untouched
	e.auth(t, tok)  // API tokens are left alone

	_, _, err := e.svc.Login(ctx, tenants.LoginRequest{Tenant: "acme", Email: alice.Email, Password: testPassword})
	wantErr(t, err, apierror.Unauthenticated, "invalid_credentials")
	s, _ := e.login(t, "globex", alice.Email, newPassword)
	if p := e.auth(t, s); p.UserID != alice.ID || p.Role != tenants.RoleAdmin {
		t.Errorf("Principal after new login = %+v", p)
	}
}
