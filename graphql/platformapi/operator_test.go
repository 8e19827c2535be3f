package platformapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The operator, with the server's operator token, lists, creates,
// suspends, resumes, deletes and restores tenants; tenants see the effect.
func TestOperatorManagesTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	op := testOperatorToken

	d := e.ok(t, op, `{ me { operator tenantId role } tenants { slug } }`, nil)
	if str(d, "me", "operator") != "true" || get(d, "me", "tenantId") != nil || len(list(d, "tenants")) != 0 {
		t.Fatalf("empty server: %v", d)
	}
	// A tenant from the CRM template, with a first admin (a new user: the
	// password is answered once).
	d = e.ok(t, op, `mutation { createTenant(input: {slug: "globex", name: "Globex Corp", admin: "boss@globex.example"}) {
		tenant { id slug name status } admin { email role } adminPassword } }`, nil)
	if str(d, "createTenant", "tenant", "status") != "active" || str(d, "createTenant", "tenant", "name") != "Globex Corp" ||
		str(d, "createTenant", "admin", "role") != "admin" || str(d, "createTenant", "adminPassword") == "" {
		t.Fatalf("createTenant: %v", d)
	}
	session := e.login(t, "globex", "boss@globex.example", str(d, "createTenant", "adminPassword"))
	d = e.ok(t, session, `{ me { role tenantSlug } objects { apiName } }`, nil)
	if str(d, "me", "role") != "admin" || len(list(d, "objects")) != 5 {
		t.Fatalf("the new tenant's admin: %v", d)
	}
	// Bad input creates nothing.
	err := e.fails(t, op, CodeBadUserInput, `mutation { createTenant(input: {slug: "Bad Slug!"}) { tenant { id } } }`, nil)
	if problems(t, err)["/input/slug"] != "invalid_slug" {
		t.Errorf("bad slug: %+v", err)
	}
	err = e.fails(t, op, CodeBadUserInput, `mutation { createTenant(input: {slug: "initech", template: "erp"}) { tenant { id } } }`, nil)
	if problems(t, err)["/input/template"] != "invalid_template" {
		t.Errorf("bad template: %+v", err)
	}
	e.fails(t, op, CodeConflict, `mutation { createTenant(input: {slug: "globex"}) { tenant { id } } }`, nil)
	d = e.ok(t, op, `{ tenants { slug } initech: tenant(ref: "initech") { id } }`, nil)
	if len(list(d, "tenants")) != 1 || get(d, "initech") != nil {
		t.Fatalf("refused creations left tenants: %v", d)
	}

	// Suspended: its credentials get 403; resumed: they work again.
	d = e.ok(t, op, `mutation { suspendTenant(ref: "globex", reason: "unpaid invoice") { status suspendedReason } }`, nil)
	if str(d, "suspendTenant", "status") != "suspended" || str(d, "suspendTenant", "suspendedReason") != "unpaid invoice" {
		t.Fatalf("suspend: %v", d)
	}
	if r := e.post(t, session, `{ me { role } }`, nil); r.status != http.StatusForbidden || !contains(r.raw, "tenant_suspended") {
		t.Errorf("suspended tenant: %d %s", r.status, r.raw)
	}
	e.ok(t, op, `mutation { resumeTenant(ref: "globex") { status } }`, nil)
	e.ok(t, session, `{ me { role } }`, nil)

	// Deleted: credentials stop working, the tenant is listed only with
	// includeDeleted; restored: back.
	d = e.ok(t, op, `mutation { deleteTenant(ref: "globex") { deletedAt } }`, nil)
	if str(d, "deleteTenant", "deletedAt") == "" {
		t.Fatalf("delete: %v", d)
	}
	if r := e.post(t, session, `{ me { role } }`, nil); r.status != http.StatusUnauthorized {
		t.Errorf("deleted tenant: %d %s", r.status, r.raw)
	}
	d = e.ok(t, op, `{ live: tenants { slug } all: tenants(includeDeleted: true) { slug deletedAt } }`, nil)
	if len(list(d, "live")) != 0 || str(d, "all", 0, "deletedAt") == "" {
		t.Fatalf("listing: %v", d)
	}
	e.ok(t, op, `mutation { restoreTenant(ref: "globex") { deletedAt } }`, nil)
	e.fails(t, op, CodeConflict, `mutation { restoreTenant(ref: "globex") { deletedAt } }`, nil)
	e.ok(t, session, `{ me { role } }`, nil)
	e.fails(t, op, CodeNotFound, `mutation { suspendTenant(ref: "nobody") { status } }`, nil)

	// A tenant admin is not the operator.
	err = e.fails(t, session, CodeForbidden, `mutation { deleteTenant(ref: "globex") { deletedAt } }`, nil)
	if err.Extensions["permission"] != "operator" {
		t.Errorf("admin as operator: %+v", err)
	}
}

// Without a configured operator token nobody is the operator, and a short
// token is refused at start-up.
func TestOperatorTokenConfiguration(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if _, err := New(e.api.svc, Options{OperatorToken: "short"}); err == nil {
		t.Error("a short operator token was accepted")
	}
	api, err := New(e.api.svc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "/platform/graphql", nil)
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	if api.isOperator(req) || !e.api.isOperator(req) {
		t.Error("operator token check")
	}
	req.Header.Set("Authorization", "Bearer "+testOperatorToken+"x")
	if e.api.isOperator(req) {
		t.Error("a longer token passed")
	}

	// The API's own body limit (below the server's).
	small, err := New(e.api.svc, Options{OperatorToken: testOperatorToken, MaxBodyBytes: 64})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req = httptest.NewRequest(http.MethodPost, "/platform/graphql", strings.NewReader(`{"query": "{ tenants { slug } }", "variables": {"padding": "0123456789012345678901234567890123456789"}}`))
	req.Header.Set("Authorization", "Bearer "+testOperatorToken)
	req.Header.Set("Content-Type", "application/json")
	small.Handler(func(h http.Handler) http.Handler { return h }).ServeHTTP(rec, req)
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "PAYLOAD_TOO_LARGE") {
		t.Errorf("over the limit: %d %s", rec.Code, rec.Body)
	}
}
