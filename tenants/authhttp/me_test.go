package authhttp_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/tenants"
)

func TestMe(t *testing.T) {
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	acme := e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	e.member("acme", "bob@acme.test", tenants.RoleMember)
	e.tenant("initech")
	e.member("initech", "dave@initech.test", tenants.RoleAdmin)

	aliceTok, aliceInfo := e.userToken("acme", "alice@acme.test", "ci")
	bobTok, _ := e.userToken("acme", "bob@acme.test", "laptop")
	revokedTok, revokedInfo := e.userToken("acme", "alice@acme.test", "old")
	if _, err := e.svc.RevokeToken(ctx, "acme", revokedInfo.ID); err != nil {
		t.Fatal(err)
	}
	expiredTok, expiredInfo, err := e.svc.CreateToken(ctx, tenants.TokenRequest{Tenant: "acme", User: "bob@acme.test", Name: "short", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Owner.Exec(ctx, "UPDATE api_tokens SET expires_at = now() - interval '1 minute' WHERE id = $1", expiredInfo.ID); err != nil {
		t.Fatal(err)
	}
	daveTok, _ := e.userToken("initech", "dave@initech.test", "ci")
	daveSession := e.login("initech", "dave@initech.test")
	if _, err := e.svc.SuspendTenant(ctx, "initech", "unpaid invoices"); err != nil {
		t.Fatal(err)
	}
	aliceSession := e.login("acme", "alice@acme.test")
	expiredSession := e.login("acme", "bob@acme.test")
	if _, err := e.db.Owner.Exec(ctx, "UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE user_id = (SELECT id FROM users WHERE email = 'bob@acme.test')"); err != nil {
		t.Fatal(err)
	}

	// A token of acme's with its tenant part swapped for another tenant's id.
	initech, err := e.svc.Tenant(ctx, "initech")
	if err != nil {
		t.Fatal(err)
	}
	swapped := "lat_" + strings.ReplaceAll(initech.ID, "-", "") + "_" + secretPart(aliceTok)

	unauth := map[string]string{"WWW-Authenticate": `Bearer realm="lattice"`}
	allSecrets := []string{secretPart(aliceTok), secretPart(bobTok), secretPart(aliceSession)}

	for _, s := range []scenario{
		{
			name: "no credential", method: http.MethodGet, path: "/v1/me",
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"authentication_required"`}, wantHeaders: unauth,
		},
		{
			name: "empty session cookie", method: http.MethodGet, path: "/v1/me", headers: sessionCookie(""),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"authentication_required"`}, wantHeaders: unauth,
		},
		{
			name: "basic auth", method: http.MethodGet, path: "/v1/me", headers: map[string]string{"Authorization": "Basic x"},
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_token"`}, wantHeaders: unauth,
		},
		{
			name: "basic auth with a valid token inside", method: http.MethodGet, path: "/v1/me",
			headers:    map[string]string{"Authorization": "Basic " + aliceTok},
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_token"`}, wantHeaders: unauth,
		},
		{
			name: "garbage bearer", method: http.MethodGet, path: "/v1/me", headers: bearer("lat_nothex_abc"),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_token"`}, wantHeaders: unauth,
		},
		{
			name: "tenant part swapped", method: http.MethodGet, path: "/v1/me", headers: bearer(swapped),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"invalid_token"`}, wantHeaders: unauth,
			notWantContent: []string{"initech", "acme"},
		},
		{
			name: "admin api token", method: http.MethodGet, path: "/v1/me", headers: bearer(aliceTok),
			wantStatus: http.StatusOK,
			wantContent: []string{`"tenantSlug":"acme"`, `"tenantId":"` + acme.ID + `"`, `"email":"alice@acme.test"`,
				`"role":"admin"`, `"via":"token"`, `"credentialId":"` + aliceInfo.ID + `"`},
			notWantContent: allSecrets,
		},
		{
			name: "member api token, lower-case bearer scheme", method: http.MethodGet, path: "/v1/me",
			headers:    map[string]string{"Authorization": "bearer " + bobTok},
			wantStatus: http.StatusOK, wantContent: []string{`"tenantSlug":"acme"`, `"email":"bob@acme.test"`, `"role":"member"`},
		},
		{
			name: "session token as bearer", method: http.MethodGet, path: "/v1/me", headers: bearer(aliceSession),
			wantStatus: http.StatusOK, wantContent: []string{`"email":"alice@acme.test"`, `"via":"session"`, `"expiresAt"`},
			notWantContent: allSecrets,
		},
		{
			name: "bearer wins over cookie", method: http.MethodGet, path: "/v1/me",
			headers:    map[string]string{"Authorization": "Bearer " + bobTok, "Cookie": "lattice_session=" + aliceSession},
			wantStatus: http.StatusOK, wantContent: []string{`"email":"bob@acme.test"`},
		},
		{
			name: "revoked token", method: http.MethodGet, path: "/v1/me", headers: bearer(revokedTok),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"token_revoked"`}, wantHeaders: unauth,
			notWantContent: []string{"alice"},
		},
		{
			name: "expired token", method: http.MethodGet, path: "/v1/me", headers: bearer(expiredTok),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"token_expired"`}, wantHeaders: unauth,
			notWantContent: []string{"bob"},
		},
		{
			name: "expired session", method: http.MethodGet, path: "/v1/me", headers: bearer(expiredSession),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"session_expired"`}, wantHeaders: unauth,
		},
		{
			name: "suspended tenant token", method: http.MethodGet, path: "/v1/me", headers: bearer(daveTok),
			wantStatus: http.StatusForbidden, wantContent: []string{`"code":"tenant_suspended"`, "unpaid invoices"},
			check: func(t *testing.T, resp *http.Response, body []byte) {
				if wa := resp.Header.Get("WWW-Authenticate"); wa != "" {
					t.Errorf("403 carries WWW-Authenticate %q", wa)
				}
			},
		},
		{
			name: "suspended tenant session cookie", method: http.MethodGet, path: "/v1/me", headers: sessionCookie(daveSession),
			wantStatus: http.StatusForbidden, wantContent: []string{`"code":"tenant_suspended"`},
		},
	} {
		s.test(t, e)
	}

	// Logs never carry credentials.
	for _, sec := range append(allSecrets, secretPart(revokedTok), secretPart(expiredTok), secretPart(daveTok)) {
		if strings.Contains(e.logs.String(), sec) {
			t.Errorf("a credential secret reached the log")
		}
	}
}

func TestMeAfterTenantResumed(t *testing.T) {
	e := newEnv(t, tenants.Options{})
	e.tenant("initech")
	e.member("initech", "dave@initech.test", tenants.RoleAdmin)
	tok, _ := e.userToken("initech", "dave@initech.test", "ci")
	me := scenario{name: "me", method: http.MethodGet, path: "/v1/me", headers: bearer(tok)}

	if _, err := e.svc.SuspendTenant(t.Context(), "initech", ""); err != nil {
		t.Fatal(err)
	}
	me.name, me.wantStatus, me.wantContent = "suspended", http.StatusForbidden, []string{"tenant_suspended"}
	me.test(t, e)
	if _, err := e.svc.ResumeTenant(t.Context(), "initech"); err != nil {
		t.Fatal(err)
	}
	me.name, me.wantStatus, me.wantContent = "resumed", http.StatusOK, []string{`"tenantSlug":"initech"`}
	me.test(t, e)
	if _, err := e.svc.DeleteTenant(t.Context(), "initech"); err != nil {
		t.Fatal(err)
	}
	me.name, me.wantStatus, me.wantContent = "deleted", http.StatusUnauthorized, []string{"tenant_deleted"}
	me.test(t, e)
}
