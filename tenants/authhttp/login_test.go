package authhttp_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/tenants"
	"github.com/latticecrm/lattice/tenants/authhttp"
)

func loginBody(tenant, email, pw string) string {
	return `{"tenant":"` + tenant + `","email":"` + email + `","password":"` + pw + `"}`
}

type loginResp struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
	SessionID string    `json:"sessionId"`
}

func findCookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestLogin(t *testing.T) {
	e := newEnv(t, tenants.Options{SessionTTL: 2 * time.Hour})
	e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	e.tenant("globex")
	e.member("globex", "carol@globex.test", tenants.RoleAdmin)

	// Success: the token comes back in the body and in the cookie.
	var session string
	scenario{
		name: "success", method: http.MethodPost, path: "/v1/auth/login",
		body:       loginBody("acme", "alice@acme.test", password),
		wantStatus: http.StatusOK, wantContent: []string{`"token":"lss_`, `"sessionId":"`, `"expiresAt":"`},
		notWantContent: []string{password},
		check: func(t *testing.T, resp *http.Response, body []byte) {
			var lr loginResp
			decode(t, body, &lr)
			session = lr.Token
			if !strings.HasPrefix(lr.Token, "lss_") || lr.SessionID == "" {
				t.Fatalf("login response %+v: want an lss_ token and a session id", lr)
			}
			if d := time.Until(lr.ExpiresAt); d < 110*time.Minute || d > 2*time.Hour+time.Minute {
				t.Errorf("session expires in %s, want about the 2h SessionTTL", d)
			}
			c := findCookie(resp, authhttp.SessionCookie)
			if c == nil {
				t.Fatalf("no %s cookie set; Set-Cookie: %q", authhttp.SessionCookie, resp.Header.Values("Set-Cookie"))
			}
			if c.Value != lr.Token {
				t.Errorf("cookie value %q, want the session token from the body", c.Value)
			}
			if !c.HttpOnly {
				t.Error("session cookie is not HttpOnly")
			}
			if c.SameSite != http.SameSiteStrictMode {
				t.Errorf("session cookie SameSite = %v, want Strict; Set-Cookie: %q", c.SameSite, resp.Header.Get("Set-Cookie"))
			}
			if c.Path != "/" {
				t.Errorf("session cookie Path = %q, want /", c.Path)
			}
			if c.Secure {
				t.Error("session cookie is Secure although secureCookies is false")
			}
			if c.Expires.IsZero() || c.Expires.Sub(lr.ExpiresAt).Abs() > 2*time.Second {
				t.Errorf("cookie expires %v, want the session's %v", c.Expires, lr.ExpiresAt)
			}
		},
	}.test(t, e)
	if session == "" {
		t.Fatal("no session token from login")
	}

	for _, s := range []scenario{
		{
			name: "session works as bearer", method: http.MethodGet, path: "/v1/me", headers: bearer(session),
			wantStatus: http.StatusOK, wantContent: []string{`"email":"alice@acme.test"`, `"via":"session"`, `"tenantSlug":"acme"`},
		},
		{
			name: "session cookie works alone", method: http.MethodGet, path: "/v1/me", headers: sessionCookie(session),
			wantStatus: http.StatusOK, wantContent: []string{`"email":"alice@acme.test"`, `"via":"session"`},
		},
		{
			name: "email is case-insensitive", method: http.MethodPost, path: "/v1/auth/login",
			body:       loginBody("acme", "Alice@ACME.test", password),
			wantStatus: http.StatusOK, wantContent: []string{`"token":"lss_`},
		},
		{
			name: "wrong password", method: http.MethodPost, path: "/v1/auth/login",
			body:       loginBody("acme", "alice@acme.test", "wrong password!"),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_credentials"`},
			wantHeaders: map[string]string{"WWW-Authenticate": "Bearer"}, notWantContent: []string{"wrong password!", "lss_"},
			check: noSessionCookie,
		},
		{
			name: "unknown user looks like a wrong password", method: http.MethodPost, path: "/v1/auth/login",
			body:       loginBody("acme", "mallory@acme.test", password),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_credentials"`}, check: noSessionCookie,
		},
		{
			name: "user of another tenant looks like a wrong password", method: http.MethodPost, path: "/v1/auth/login",
			body:       loginBody("acme", "carol@globex.test", password),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_credentials"`}, check: noSessionCookie,
		},
		{
			name: "unknown tenant", method: http.MethodPost, path: "/v1/auth/login",
			body:       loginBody("nosuchco", "alice@acme.test", password),
			wantStatus: http.StatusNotFound, wantContent: []string{`"code":"tenant_not_found"`}, check: noSessionCookie,
		},
		{
			name: "form content type", method: http.MethodPost, path: "/v1/auth/login",
			headers:    map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			body:       "tenant=acme&email=alice%40acme.test&password=correct+horse+battery",
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"unsupported_media_type"`}, check: noSessionCookie,
		},
		{
			name: "unknown field", method: http.MethodPost, path: "/v1/auth/login",
			body:       `{"tenant":"acme","email":"alice@acme.test","password":"` + password + `","RemoteAddr":"10.0.0.1"}`,
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"invalid_json"`}, check: noSessionCookie,
		},
		{
			name: "missing password", method: http.MethodPost, path: "/v1/auth/login",
			body:       `{"tenant":"acme","email":"alice@acme.test"}`,
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"credentials_required"`},
		},
	} {
		s.test(t, e)
	}

	// The mux's own 405 is plain text, so only its status is checked.
	get := scenario{name: "GET", method: http.MethodGet, path: "/v1/auth/login"}
	if resp, body := get.do(t, e); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/auth/login: status %d, want 405: %s", resp.StatusCode, body)
	}

	if strings.Contains(e.logs.String(), password) || strings.Contains(e.logs.String(), "wrong password!") {
		t.Error("a password reached the log")
	}
	if strings.Contains(e.logs.String(), secretPart(session)) {
		t.Error("a session secret reached the log")
	}
}

func noSessionCookie(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	if c := findCookie(resp, authhttp.SessionCookie); c != nil && c.Value != "" {
		t.Errorf("failed login set a session cookie %q", c.Value)
	}
}

func TestLoginSuspendedTenant(t *testing.T) {
	e := newEnv(t, tenants.Options{})
	e.tenant("initech")
	e.member("initech", "dave@initech.test", tenants.RoleAdmin)
	if _, err := e.svc.SuspendTenant(t.Context(), "initech", "audit"); err != nil {
		t.Fatal(err)
	}
	scenario{
		name: "suspended", method: http.MethodPost, path: "/v1/auth/login",
		body:       loginBody("initech", "dave@initech.test", password),
		wantStatus: http.StatusForbidden, wantContent: []string{`"code":"tenant_suspended"`, "audit"}, check: noSessionCookie,
	}.test(t, e)
}

func TestLoginSecureCookie(t *testing.T) {
	e := newEnv(t, tenants.Options{})
	e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	// A second handler on the same service with secureCookies set.
	secure := newSecureEnv(t, e)
	scenario{
		name: "secure", method: http.MethodPost, path: "/v1/auth/login",
		body:       loginBody("acme", "alice@acme.test", password),
		wantStatus: http.StatusOK,
		check: func(t *testing.T, resp *http.Response, body []byte) {
			c := findCookie(resp, authhttp.SessionCookie)
			if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie %+v: want Secure, HttpOnly, SameSite=Strict", c)
			}
		},
	}.test(t, secure)
}

// limitedLogins are small enough to hit in a test: two failures per account
// and five per address, then one more an hour.
var limitedLogins = tenants.LoginLimits{
	PerAccountBurst: 2, PerAccountEvery: time.Hour,
	PerAddressBurst: 5, PerAddressEvery: time.Hour,
}

func TestLoginRateLimit(t *testing.T) {
	e := newEnv(t, tenants.Options{LoginLimits: limitedLogins})
	e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	e.member("acme", "bob@acme.test", tenants.RoleMember)

	wrong := scenario{
		method: http.MethodPost, path: "/v1/auth/login", body: loginBody("acme", "alice@acme.test", "not the password"),
		wantStatus: http.StatusUnauthorized, wantContent: []string{"invalid_credentials"},
	}
	for i := range limitedLogins.PerAccountBurst {
		wrong.name = "failure " + strconv.Itoa(i+1)
		wrong.test(t, e)
	}
	limited := func(name, email, pw string) scenario {
		return scenario{
			name: name, method: http.MethodPost, path: "/v1/auth/login", body: loginBody("acme", email, pw),
			wantStatus: http.StatusTooManyRequests, wantContent: []string{`"code":"too_many_attempts"`},
			notWantContent: []string{"lss_"},
			check: func(t *testing.T, resp *http.Response, body []byte) {
				ra := resp.Header.Get("Retry-After")
				secs, err := strconv.Atoi(ra)
				if err != nil || secs < 1 || secs > int(time.Hour/time.Second)+2 {
					t.Errorf("Retry-After = %q, want whole seconds in [1, 3602]", ra)
				}
				noSessionCookie(t, resp, body)
			},
		}
	}
	limited("account locked: wrong password", "alice@acme.test", "not the password").test(t, e)
	limited("account locked: even the right password", "alice@acme.test", password).test(t, e)

	// Another account from the same address is still allowed until the
	// address budget runs out.
	scenario{
		name: "other account still allowed", method: http.MethodPost, path: "/v1/auth/login",
		body: loginBody("acme", "bob@acme.test", password), wantStatus: http.StatusOK, wantContent: []string{"lss_"},
	}.test(t, e)

	if !strings.Contains(e.logs.String(), "login rate limited") {
		t.Errorf("rate limiting not logged:\n%s", e.logs.String())
	}
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	e := newEnv(t, tenants.Options{LoginLimits: limitedLogins})
	e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	// Five failures for five different (unknown) accounts exhaust the address.
	for i := range limitedLogins.PerAddressBurst {
		scenario{
			name: "spray " + strconv.Itoa(i), method: http.MethodPost, path: "/v1/auth/login",
			body:       loginBody("acme", "user"+strconv.Itoa(i)+"@acme.test", "not the password"),
			wantStatus: http.StatusUnauthorized, wantContent: []string{"invalid_credentials"},
		}.test(t, e)
	}
	scenario{
		name: "address locked", method: http.MethodPost, path: "/v1/auth/login",
		body:       loginBody("acme", "alice@acme.test", password),
		wantStatus: http.StatusTooManyRequests, wantContent: []string{"too_many_attempts"},
		wantHeaders: map[string]string{"Retry-After": ""},
	}.test(t, e)
}

// TestLoginRateLimitIgnoresEmailCase: the same account spelled with other
// letter case is the same account (login matches e-mails case-insensitively),
// so it must share the account's failure budget. Otherwise an attacker gets
// a fresh per-account budget for every case variant of the address.
func TestLoginRateLimitIgnoresEmailCase(t *testing.T) {
	e := newEnv(t, tenants.Options{LoginLimits: tenants.LoginLimits{
		PerAccountBurst: 2, PerAccountEvery: time.Hour,
		PerAddressBurst: 100, PerAddressEvery: time.Hour,
	}})
	e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	for i, email := range []string{"alice@acme.test", "alice@acme.test"} {
		scenario{
			name: "failure " + strconv.Itoa(i+1), method: http.MethodPost, path: "/v1/auth/login",
			body:       loginBody("acme", email, "not the password"),
			wantStatus: http.StatusUnauthorized, wantContent: []string{"invalid_credentials"},
		}.test(t, e)
	}
	for _, email := range []string{"ALICE@acme.test", "Alice@Acme.Test", "alice@ACME.TEST"} {
		scenario{
			name: "locked as " + email, method: http.MethodPost, path: "/v1/auth/login",
			body:       loginBody("acme", email, "not the password"),
			wantStatus: http.StatusTooManyRequests, wantContent: []string{"too_many_attempts"},
		}.test(t, e)
	}
}
