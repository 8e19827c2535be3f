package authhttp_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/tenants"
)

// Logins, failed logins, logouts and every token's creation, use and
// revocation land in the tenant's audit log with who, the request id and
// the address, and never with a password or secret.
func TestAuthIsAudited(t *testing.T) {
	e := newEnv(t, tenants.Options{})
	acme, other := e.tenant("acme"), e.tenant("other")
	ada := e.member("acme", "ada@acme.example", tenants.RoleAdmin)
	e.member("other", "bob@other.example", tenants.RoleAdmin)
	log := audit.New(e.db.App, slog.New(slog.DiscardHandler))
	entries := func(tenantID string) []audit.Entry {
		t.Helper()
		es, _, err := log.List(t.Context(), tenantID, audit.Query{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	// find returns the newest entry with action, checking there is one.
	find := func(tenantID, action string, want int) audit.Entry {
		t.Helper()
		var got []audit.Entry
		for _, en := range entries(tenantID) {
			if en.Action == action {
				got = append(got, en)
			}
		}
		if len(got) != want {
			t.Fatalf("%d %s entries, want %d: %+v", len(got), action, want, got)
		}
		if want == 0 {
			return audit.Entry{}
		}
		return got[0]
	}
	send := func(method, path, reqID string, headers map[string]string, body string) (*http.Response, []byte) {
		t.Helper()
		h := map[string]string{"X-Request-ID": reqID}
		for k, v := range headers {
			h[k] = v
		}
		return scenario{method: method, path: path, headers: h, body: body}.do(t, e)
	}

	// A failed login: the e-mail tried is the actor, the password nowhere.
	const wrong = "not-the-password-42"
	resp, _ := send("POST", "/v1/auth/login", "req-fail-1", nil, loginBody("acme", "Ada@Acme.example", wrong))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d", resp.StatusCode)
	}
	send("POST", "/v1/auth/login", "req-fail-2", nil, loginBody("acme", "nobody@acme.example", wrong))
	f := find(acme.ID, audit.ActionLoginFailed, 2)
	if f.Actor != "nobody@acme.example" || f.RequestID != "req-fail-2" || f.Address != "127.0.0.1" {
		t.Errorf("failed login entry = %+v", f)
	}
	if d := string(f.Details); !strings.Contains(d, "invalid_credentials") {
		t.Errorf("failed login details = %s", d)
	}
	// A tenant that does not exist has no log to write to; nothing fails.
	send("POST", "/v1/auth/login", "req-fail-3", nil, loginBody("nosuch", "ada@acme.example", wrong))

	// A login.
	resp, body := send("POST", "/v1/auth/login", "req-login", nil, loginBody("acme", "ada@acme.example", password))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %s", resp.StatusCode, body)
	}
	var login struct{ Token, SessionID string }
	decode(t, body, &login)
	l := find(acme.ID, audit.ActionLogin, 1)
	if l.Actor != "user:"+ada.ID || l.RequestID != "req-login" || l.Address != "127.0.0.1" || !strings.Contains(string(l.Details), login.SessionID) {
		t.Errorf("login entry = %+v", l)
	}

	// A token created with the session: the actor is the session's user.
	resp, body = send("POST", "/v1/tokens", "req-mint", bearer(login.Token), `{"name":"ci"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create token: %d %s", resp.StatusCode, body)
	}
	var minted struct {
		Token string
		Info  tenants.Token
	}
	decode(t, body, &minted)
	c := find(acme.ID, audit.ActionTokenCreated, 1)
	if c.Actor != "user:"+ada.ID || c.RequestID != "req-mint" || c.Address != "127.0.0.1" || !strings.Contains(string(c.Details), minted.Info.ID) {
		t.Errorf("token.created entry = %+v", c)
	}

	// Token use: recorded once a minute at most, with the request.
	for i, id := range []string{"req-use-1", "req-use-2", "req-use-3"} {
		if resp, body := send("GET", "/v1/me", id, bearer(minted.Token), ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("use %d: %d %s", i, resp.StatusCode, body)
		}
	}
	u := find(acme.ID, audit.ActionTokenUsed, 1)
	if u.Actor != "user:"+ada.ID || u.RequestID != "req-use-1" || u.Address != "127.0.0.1" || !strings.Contains(string(u.Details), minted.Info.ID) {
		t.Errorf("token.used entry = %+v", u)
	}
	if _, err := e.db.Owner.Exec(t.Context(), "UPDATE api_tokens SET last_used_at = now() - interval '2 minutes' WHERE id = $1", minted.Info.ID); err != nil {
		t.Fatal(err)
	}
	send("GET", "/v1/me", "req-use-4", bearer(minted.Token), "")
	if u := find(acme.ID, audit.ActionTokenUsed, 2); u.RequestID != "req-use-4" {
		t.Errorf("second token.used entry = %+v", u)
	}
	// Sessions are not tokens: their use is not recorded.
	send("GET", "/v1/me", "req-session", bearer(login.Token), "")
	find(acme.ID, audit.ActionTokenUsed, 2)

	// Revoking, with the token itself (an admin may).
	resp, body = send("DELETE", "/v1/tokens/"+minted.Info.ID, "req-revoke", bearer(minted.Token), "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	r := find(acme.ID, audit.ActionTokenRevoked, 1)
	if r.Actor != "user:"+ada.ID || r.RequestID != "req-revoke" || !strings.Contains(string(r.Details), minted.Info.ID) {
		t.Errorf("token.revoked entry = %+v", r)
	}

	// Logging out.
	if resp, body := send("POST", "/v1/auth/logout", "req-logout", bearer(login.Token), ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("logout: %d %s", resp.StatusCode, body)
	}
	o := find(acme.ID, audit.ActionLogout, 1)
	if o.Actor != "user:"+ada.ID || o.RequestID != "req-logout" || o.Address != "127.0.0.1" {
		t.Errorf("logout entry = %+v", o)
	}

	// Nothing secret anywhere, and nothing in the other tenant.
	for _, s := range []string{wrong, password, secretPart(minted.Token), secretPart(login.Token)} {
		var n int
		if err := e.db.Owner.QueryRow(t.Context(), "SELECT count(*) FROM audit_log WHERE strpos(audit_log::text, $1) > 0", s).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d audit rows contain a secret", n)
		}
	}
	if es := entries(other.ID); len(es) != 0 {
		all, _ := json.Marshal(es)
		t.Errorf("the other tenant's log has %d entries: %s", len(es), all)
	}
}
