package authhttp_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/tenants"
)

type tokenList struct {
	Tokens []tenants.Token `json:"tokens"`
}

type createdToken struct {
	Token string        `json:"token"`
	Info  tenants.Token `json:"info"`
}

// listIDs checks a GET /v1/tokens body holds exactly the ids want.
func listIDs(want ...string) func(t *testing.T, resp *http.Response, body []byte) {
	return func(t *testing.T, resp *http.Response, body []byte) {
		t.Helper()
		var l tokenList
		decode(t, body, &l)
		if l.Tokens == nil {
			t.Errorf("tokens is null, want a list: %s", body)
		}
		got := map[string]bool{}
		for _, tok := range l.Tokens {
			got[tok.ID] = true
		}
		for _, id := range want {
			if !got[id] {
				t.Errorf("token %s missing from the list %s", id, body)
			}
		}
		if len(l.Tokens) != len(want) {
			t.Errorf("list has %d tokens, want %d: %s", len(l.Tokens), len(want), body)
		}
	}
}

// stillWorks is a scenario asserting that tok still authenticates.
func stillWorks(name, tok string, wantContent ...string) scenario {
	return scenario{name: name, method: http.MethodGet, path: "/v1/me", headers: bearer(tok),
		wantStatus: http.StatusOK, wantContent: wantContent}
}

func TestTokens(t *testing.T) {
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	e.member("acme", "bob@acme.test", tenants.RoleMember)
	e.tenant("globex")
	e.member("globex", "carol@globex.test", tenants.RoleAdmin)

	aliceTok, alice := e.userToken("acme", "alice@acme.test", "alice-ci")
	bobTok, bob := e.userToken("acme", "bob@acme.test", "bob-laptop")
	carolTok, carol := e.userToken("globex", "carol@globex.test", "carol-ci")
	syncTok, sync, err := e.svc.CreateToken(ctx, tenants.TokenRequest{Tenant: "acme", Integration: "mailer", Name: "mailer"})
	if err != nil {
		t.Fatal(err)
	}
	aliceSession := e.login("acme", "alice@acme.test")
	secrets := []string{secretPart(aliceTok), secretPart(bobTok), secretPart(carolTok), secretPart(syncTok)}

	for _, s := range []scenario{
		{
			name: "list without credential", method: http.MethodGet, path: "/v1/tokens",
			wantStatus: http.StatusUnauthorized, wantContent: []string{"authentication_required"},
		},
		{
			name: "admin lists every token of the tenant", method: http.MethodGet, path: "/v1/tokens", headers: bearer(aliceTok),
			wantStatus: http.StatusOK, wantContent: []string{`"name":"alice-ci"`, `"name":"bob-laptop"`, `"integration":"mailer"`, `"userEmail":"bob@acme.test"`},
			notWantContent: append([]string{carol.ID, "carol", "globex"}, secrets...),
			check:          listIDs(alice.ID, bob.ID, sync.ID),
		},
		{
			name: "admin session lists the same", method: http.MethodGet, path: "/v1/tokens", headers: bearer(aliceSession),
			wantStatus: http.StatusOK, check: listIDs(alice.ID, bob.ID, sync.ID),
		},
		{
			name: "member sees only their own", method: http.MethodGet, path: "/v1/tokens", headers: bearer(bobTok),
			wantStatus: http.StatusOK, wantContent: []string{`"name":"bob-laptop"`, `"hint":"` + bob.Hint + `"`},
			notWantContent: append([]string{alice.ID, sync.ID, "alice-ci", "mailer", carol.ID}, secrets...),
			check:          listIDs(bob.ID),
		},
		{
			name: "member-role integration token sees no user tokens", method: http.MethodGet, path: "/v1/tokens", headers: bearer(syncTok),
			wantStatus: http.StatusOK, check: listIDs(),
		},
		{
			name: "member cannot create an integration token", method: http.MethodPost, path: "/v1/tokens", headers: bearer(bobTok),
			body:       `{"name":"erp","integration":"erp-sync"}`,
			wantStatus: http.StatusForbidden, wantContent: []string{`"code":"admin_required"`}, notWantContent: []string{"lat_"},
		},
		{
			name: "member cannot give their token a role", method: http.MethodPost, path: "/v1/tokens", headers: bearer(bobTok),
			body:       `{"name":"escalate","role":"admin"}`,
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"role_not_allowed"`}, notWantContent: []string{"lat_"},
		},
		{
			name: "integration token must name an integration", method: http.MethodPost, path: "/v1/tokens", headers: bearer(syncTok),
			body:       `{"name":"x"}`,
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"integration_required"`},
		},
		{
			name: "bad expiresIn", method: http.MethodPost, path: "/v1/tokens", headers: bearer(aliceTok),
			body:       `{"name":"x","expiresIn":"forever"}`,
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"invalid_duration"`, `"field":"expiresIn"`, "forever"},
		},
		{
			name: "negative expiresIn", method: http.MethodPost, path: "/v1/tokens", headers: bearer(aliceTok),
			body:       `{"name":"x","expiresIn":"-1h"}`,
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"invalid_ttl"`},
		},
		{
			name: "missing name", method: http.MethodPost, path: "/v1/tokens", headers: bearer(aliceTok),
			body:       `{"expiresIn":"1h"}`,
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"invalid_name"`},
		},
		{
			name: "unknown field", method: http.MethodPost, path: "/v1/tokens", headers: bearer(aliceTok),
			body:       `{"name":"x","user":"bob@acme.test"}`,
			wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"invalid_json"`},
		},
		{
			name: "member DELETE of the admin's token is not found", method: http.MethodDelete, path: "/v1/tokens/" + alice.ID,
			headers: bearer(bobTok), wantStatus: http.StatusNotFound, wantContent: []string{`"code":"token_not_found"`},
			notWantContent: []string{"alice-ci", "alice@acme.test"},
		},
		stillWorks("admin token survives the member's DELETE", aliceTok, `"email":"alice@acme.test"`),
		{
			name: "member DELETE of an integration token is not found", method: http.MethodDelete, path: "/v1/tokens/" + sync.ID,
			headers: bearer(bobTok), wantStatus: http.StatusNotFound, wantContent: []string{`"code":"token_not_found"`},
		},
		stillWorks("integration token survives the member's DELETE", syncTok, `"integration":"mailer"`),
		{
			name: "DELETE of another tenant's token id", method: http.MethodDelete, path: "/v1/tokens/" + carol.ID,
			headers: bearer(aliceTok), wantStatus: http.StatusNotFound, wantContent: []string{`"code":"token_not_found"`},
			notWantContent: []string{"carol", "globex"},
		},
		stillWorks("other tenant's token survives", carolTok, `"tenantSlug":"globex"`),
		{
			name: "DELETE of a malformed id", method: http.MethodDelete, path: "/v1/tokens/not-a-uuid",
			headers: bearer(aliceTok), wantStatus: http.StatusBadRequest, wantContent: []string{`"code":"invalid_token_id"`},
		},
		{
			name: "DELETE of an unknown id", method: http.MethodDelete, path: "/v1/tokens/00000000-0000-4000-8000-000000000000",
			headers: bearer(aliceTok), wantStatus: http.StatusNotFound, wantContent: []string{`"code":"token_not_found"`},
		},
	} {
		s.test(t, e)
	}

	// An admin creates an integration token: 201, its secret shown this once.
	var integ createdToken
	scenario{
		name: "admin creates an integration token", method: http.MethodPost, path: "/v1/tokens", headers: bearer(aliceTok),
		body:       `{"name":"erp sync","integration":"erp-sync","role":"admin","expiresIn":"720h"}`,
		wantStatus: http.StatusCreated, wantContent: []string{`"token":"lat_`, `"integration":"erp-sync"`, `"role":"admin"`, `"name":"erp sync"`},
		notWantContent: []string{`"userId"`, `"userEmail"`},
		check: func(t *testing.T, resp *http.Response, body []byte) {
			decode(t, body, &integ)
			if integ.Info.ExpiresAt == nil {
				t.Fatal("expiresIn 720h gave a token without expiry")
			}
			if d := time.Until(*integ.Info.ExpiresAt); d < 719*time.Hour || d > 721*time.Hour {
				t.Errorf("token expires in %s, want 720h", d)
			}
			if !strings.HasSuffix(integ.Token, integ.Info.Hint) {
				t.Errorf("hint %q is not the end of the secret", integ.Info.Hint)
			}
		},
	}.test(t, e)
	if integ.Token == "" {
		t.Fatal("no integration token created")
	}
	for _, s := range []scenario{
		stillWorks("integration token authenticates", integ.Token,
			`"integration":"erp-sync"`, `"role":"admin"`, `"tenantSlug":"acme"`, `"credentialId":"`+integ.Info.ID+`"`),
		{
			name: "secret is not shown again", method: http.MethodGet, path: "/v1/tokens", headers: bearer(aliceTok),
			wantStatus: http.StatusOK, wantContent: []string{integ.Info.ID}, notWantContent: []string{secretPart(integ.Token), `"token"`},
			check: listIDs(alice.ID, bob.ID, sync.ID, integ.Info.ID),
		},
		{
			name: "admin integration token lists everything", method: http.MethodGet, path: "/v1/tokens", headers: bearer(integ.Token),
			wantStatus: http.StatusOK, check: listIDs(alice.ID, bob.ID, sync.ID, integ.Info.ID),
		},
	} {
		s.test(t, e)
	}
	meNoEmail := stillWorks("integration principal has no user", integ.Token)
	meNoEmail.notWantContent = []string{`"email"`, `"userId"`}
	meNoEmail.test(t, e)

	// A member creates a token of their own, then revokes it.
	var bobCLI createdToken
	scenario{
		name: "member creates own token", method: http.MethodPost, path: "/v1/tokens", headers: bearer(bobTok),
		body:       `{"name":"bob-cli"}`,
		wantStatus: http.StatusCreated, wantContent: []string{`"token":"lat_`, `"userEmail":"bob@acme.test"`, `"role":"member"`},
		notWantContent: []string{`"expiresAt"`, `"integration"`},
		check:          func(t *testing.T, resp *http.Response, body []byte) { decode(t, body, &bobCLI) },
	}.test(t, e)
	if bobCLI.Token == "" {
		t.Fatal("no token created for bob")
	}
	for _, s := range []scenario{
		stillWorks("member's new token works", bobCLI.Token, `"email":"bob@acme.test"`),
		{
			name: "member sees both own tokens", method: http.MethodGet, path: "/v1/tokens", headers: bearer(bobTok),
			wantStatus: http.StatusOK, check: listIDs(bob.ID, bobCLI.Info.ID),
		},
		{
			name: "owner revokes own token", method: http.MethodDelete, path: "/v1/tokens/" + bobCLI.Info.ID, headers: bearer(bobTok),
			wantStatus: http.StatusOK, wantContent: []string{`"id":"` + bobCLI.Info.ID + `"`, `"revokedAt":"`},
			notWantContent: []string{secretPart(bobCLI.Token)},
		},
		{
			name: "revoked token stops working", method: http.MethodGet, path: "/v1/me", headers: bearer(bobCLI.Token),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"token_revoked"`},
		},
		{
			name: "revoking twice conflicts", method: http.MethodDelete, path: "/v1/tokens/" + bobCLI.Info.ID, headers: bearer(bobTok),
			wantStatus: http.StatusConflict, wantContent: []string{`"code":"token_already_revoked"`},
		},
		{
			name: "admin revokes a member's token", method: http.MethodDelete, path: "/v1/tokens/" + bob.ID, headers: bearer(aliceTok),
			wantStatus: http.StatusOK, wantContent: []string{`"revokedAt":"`, `"userEmail":"bob@acme.test"`},
		},
		{
			name: "member's token revoked by the admin", method: http.MethodGet, path: "/v1/me", headers: bearer(bobTok),
			wantStatus: http.StatusUnauthorized, wantContent: []string{`"code":"token_revoked"`},
		},
		{
			name: "revoked tokens stay listed for the admin", method: http.MethodGet, path: "/v1/tokens", headers: bearer(aliceTok),
			wantStatus: http.StatusOK, check: listIDs(alice.ID, bob.ID, sync.ID, integ.Info.ID, bobCLI.Info.ID),
		},
	} {
		s.test(t, e)
	}
}

func TestTokensTenantIsolation(t *testing.T) {
	e := newEnv(t, tenants.Options{})
	e.tenant("acme")
	e.member("acme", "alice@acme.test", tenants.RoleAdmin)
	e.tenant("globex")
	e.member("globex", "carol@globex.test", tenants.RoleAdmin)
	// A user in both tenants, admin in each.
	e.member("acme", "sam@both.test", tenants.RoleAdmin)
	e.member("globex", "sam@both.test", tenants.RoleAdmin)

	aliceTok, alice := e.userToken("acme", "alice@acme.test", "acme-alice")
	carolTok, carol := e.userToken("globex", "carol@globex.test", "globex-carol")
	samATok, samA := e.userToken("acme", "sam@both.test", "acme-sam")
	samBTok, samB := e.userToken("globex", "sam@both.test", "globex-sam")
	_, globexInteg, err := e.svc.CreateToken(t.Context(), tenants.TokenRequest{Tenant: "globex", Integration: "globex-erp", Name: "globex-erp", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	samSessionA := e.login("acme", "sam@both.test")

	acmeIDs := []string{alice.ID, samA.ID}
	globexIDs := []string{carol.ID, samB.ID, globexInteg.ID}
	notGlobex := append([]string{"globex", "carol"}, globexIDs...)
	notAcme := append([]string{"acme-", "alice"}, acmeIDs...)

	var cases []scenario
	for _, c := range []struct {
		who  string
		cred string
		ids  []string
		not  []string
	}{
		{"acme admin", aliceTok, acmeIDs, notGlobex},
		{"acme token of a two-tenant user", samATok, acmeIDs, notGlobex},
		{"acme session of a two-tenant user", samSessionA, acmeIDs, notGlobex},
		{"globex admin", carolTok, globexIDs, notAcme},
		{"globex token of a two-tenant user", samBTok, globexIDs, notAcme},
	} {
		cases = append(cases, scenario{
			name: c.who + " lists only its tenant", method: http.MethodGet, path: "/v1/tokens", headers: bearer(c.cred),
			wantStatus: http.StatusOK, notWantContent: c.not, check: listIDs(c.ids...),
		})
	}
	for _, id := range globexIDs {
		cases = append(cases, scenario{
			name: "acme credential cannot revoke globex token " + id, method: http.MethodDelete, path: "/v1/tokens/" + id,
			headers: bearer(samATok), wantStatus: http.StatusNotFound, wantContent: []string{"token_not_found"},
			notWantContent: []string{"globex-"},
		})
	}
	cases = append(cases,
		stillWorks("globex tokens survive", carolTok, `"tenantSlug":"globex"`),
		stillWorks("globex token of sam survives", samBTok, `"tenantSlug":"globex"`),
		scenario{
			name: "me shows the credential's tenant", method: http.MethodGet, path: "/v1/me", headers: bearer(samSessionA),
			wantStatus: http.StatusOK, wantContent: []string{`"tenantSlug":"acme"`}, notWantContent: []string{"globex"},
		},
		scenario{
			name: "globex still lists all its tokens", method: http.MethodGet, path: "/v1/tokens", headers: bearer(carolTok),
			wantStatus: http.StatusOK, check: listIDs(globexIDs...),
		},
	)
	for _, s := range cases {
		s.test(t, e)
	}
}
