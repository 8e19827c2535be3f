package authhttp_test

import (
	"net/http"
	"testing"

	"github.com/latticecrm/lattice/tenants"
	"github.com/latticecrm/lattice/tenants/authhttp"
)

// clearsCookie checks that a logout response deletes the session cookie.
func clearsCookie(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	c := findCookie(resp, authhttp.SessionCookie)
	if c == nil || c.Value != "" || c.MaxAge >= 0 || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
		t.Errorf("logout cookie %+v: want %s cleared (empty, Max-Age<0, HttpOnly, SameSite=Strict)", c, authhttp.SessionCookie)
	}
	if len(body) != 0 {
		t.Errorf("204 with a body: %q", body)
	}
}

func TestLogout(t *testing.T) {
	e := newEnv(t, tenants.Options{})
	e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	apiTok, _ := e.userToken("acme", "alice@acme.test", "ci")
	viaBearer := e.login("acme", "alice@acme.test")
	viaCookie := e.login("acme", "alice@acme.test")
	other := e.login("acme", "alice@acme.test")

	for _, s := range []scenario{
		{
			name: "no credential", method: http.MethodPost, path: "/v1/auth/logout",
			wantStatus: http.StatusUnauthorized, wantContent: []string{"authentication_required"},
		},
		{
			name: "api token is not a session", method: http.MethodPost, path: "/v1/auth/logout", headers: bearer(apiTok),
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"not_a_session"`},
		},
		{
			name: "api token still works after failed logout", method: http.MethodGet, path: "/v1/me", headers: bearer(apiTok),
			wantStatus: http.StatusOK, wantContent: []string{`"via":"token"`},
		},
		{
			name: "session via bearer works before", method: http.MethodGet, path: "/v1/me", headers: bearer(viaBearer),
			wantStatus: http.StatusOK, wantContent: []string{`"via":"session"`},
		},
		{
			name: "logout via bearer", method: http.MethodPost, path: "/v1/auth/logout", headers: bearer(viaBearer),
			wantStatus: http.StatusNoContent, check: clearsCookie,
		},
		{
			name: "bearer session stops working", method: http.MethodGet, path: "/v1/me", headers: bearer(viaBearer),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_token"`},
		},
		{
			name: "bearer session cannot log out twice", method: http.MethodPost, path: "/v1/auth/logout", headers: bearer(viaBearer),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_token"`},
		},
		{
			name: "logout via cookie", method: http.MethodPost, path: "/v1/auth/logout", headers: sessionCookie(viaCookie),
			wantStatus: http.StatusNoContent, check: clearsCookie,
		},
		{
			name: "cookie session stops working", method: http.MethodGet, path: "/v1/me", headers: sessionCookie(viaCookie),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_token"`},
		},
		{
			name: "other sessions of the user are untouched", method: http.MethodGet, path: "/v1/me", headers: bearer(other),
			wantStatus: http.StatusOK, wantContent: []string{`"email":"alice@acme.test"`},
		},
	} {
		s.test(t, e)
	}
}
