package platformapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/httpserver"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/scoring"
	"github.com/latticecrm/lattice/schema/tags"
	"github.com/latticecrm/lattice/tenants"
	"github.com/latticecrm/lattice/tenants/authhttp"
)

// testOperatorToken is the operator token of test servers.
const testOperatorToken = "op-test-token-0123456789abcdef"

// env is a real server: the platform API behind the real authentication
// middleware (and the /v1 endpoints, for logins), on a test database.
type env struct {
	db      *dbtest.DB
	tenants *tenants.Service
	catalog *catalog.Catalog
	perms   *permissions.Service
	records *records.Store
	api     *API
	srv     *httptest.Server
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := dbtest.New(t)
	log := quietLogger()
	svc, err := tenants.New(db.App, tenants.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(db.App, catalog.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	perms := permissions.New(access.New(db.App, access.Options{Logger: log}), cat, svc, permissions.Options{Logger: log})
	ctx, cancel := context.WithCancel(context.Background())
	api, err := New(Services{
		Tenants:     svc,
		Catalog:     cat,
		Tags:        tags.New(db.App, cat, tags.Options{Logger: log}),
		Scoring:     scoring.New(db.App, cat, scoring.Options{Logger: log}),
		Permissions: perms,
		Audit:       audit.New(db.App, log),
	}, Options{Logger: log, OperatorToken: testOperatorToken, Context: ctx})
	if err != nil {
		t.Fatal(err)
	}
	auth := authhttp.New(svc, log, false)
	mux := http.NewServeMux()
	auth.Register(mux)
	mux.Handle("/platform/graphql", api.Handler(auth.Require))
	srv := httptest.NewServer(httpserver.Wrap(mux, 1<<20, log))
	// Cleanups run last first: stop the server and background work before
	// dbtest drops the database.
	t.Cleanup(func() {
		srv.Close()
		cancel()
		api.Wait()
	})
	return &env{db: db, tenants: svc, catalog: cat, perms: perms, records: records.New(db.App, cat, log), api: api, srv: srv}
}

// gqlError is one error of a response.
type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type result struct {
	status int
	Data   map[string]any `json:"data"`
	Errors []gqlError     `json:"errors"`
	raw    string
}

// post sends a GraphQL request with a bearer token ("" for none).
func (e *env) post(t *testing.T, token, query string, vars map[string]any) result {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/platform/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := result{status: res.StatusCode, raw: string(b)}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return r
}

// ok sends a request that must succeed and returns its data.
func (e *env) ok(t *testing.T, token, query string, vars map[string]any) map[string]any {
	t.Helper()
	r := e.post(t, token, query, vars)
	if r.status != http.StatusOK || len(r.Errors) > 0 {
		t.Fatalf("%s\n-> status %d: %s", query, r.status, r.raw)
	}
	return r.Data
}

// fails sends a request that must fail with one error of the given code
// and returns that error.
func (e *env) fails(t *testing.T, token, code, query string, vars map[string]any) gqlError {
	t.Helper()
	r := e.post(t, token, query, vars)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != code {
		t.Fatalf("%s\n-> want one %s error, got status %d: %s", query, code, r.status, r.raw)
	}
	return r.Errors[0]
}

// problems returns an error's extensions.problems as pointer -> code.
func problems(t *testing.T, e gqlError) map[string]string {
	t.Helper()
	ps, ok := e.Extensions["problems"].([]any)
	if !ok || len(ps) == 0 {
		t.Fatalf("no problems in %+v", e)
	}
	out := map[string]string{}
	for _, p := range ps {
		m := p.(map[string]any)
		key := fmt.Sprint(m["pointer"])
		if o, ok := m["object"]; ok {
			key = fmt.Sprint(o) + ":" + key
		}
		out[key] = fmt.Sprint(m["code"])
	}
	return out
}

// get walks a decoded JSON value by keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

func str(v any, path ...any) string {
	x := get(v, path...)
	if x == nil {
		return ""
	}
	return fmt.Sprint(x)
}

func list(v any, path ...any) []any {
	l, _ := get(v, path...).([]any)
	return l
}

// tenant is a tenant made through the operator's API with an admin and
// the admin's API token.
type tenant struct {
	id, slug   string
	adminEmail string
	adminToken string
}

// newTenant creates a tenant (template none or crm) with an admin, through
// the API as the operator, and gives the admin an API token.
func (e *env) newTenant(t *testing.T, slug, template string) tenant {
	t.Helper()
	admin := "admin@" + slug + ".example"
	d := e.ok(t, testOperatorToken, `mutation($in: CreateTenantInput!) { createTenant(input: $in) {
		tenant { id slug status } admin { email role } adminPassword } }`,
		map[string]any{"in": map[string]any{"slug": slug, "template": template, "admin": admin}})
	if str(d, "createTenant", "admin", "role") != "admin" || str(d, "createTenant", "adminPassword") == "" {
		t.Fatalf("createTenant: %v", d)
	}
	tok, _, err := e.tenants.CreateToken(t.Context(), tenants.TokenRequest{Tenant: slug, Name: "admin", User: admin})
	if err != nil {
		t.Fatal(err)
	}
	return tenant{id: str(d, "createTenant", "tenant", "id"), slug: slug, adminEmail: admin, adminToken: tok}
}

// memberToken adds a member (membership role member, no roles) and returns
// their API token and user id.
func (e *env) memberToken(t *testing.T, ten tenant, email string) (string, string) {
	t.Helper()
	u, err := e.tenants.CreateUser(t.Context(), email, "", "a long enough password")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tenants.AddMember(t.Context(), ten.id, u.ID, tenants.RoleMember); err != nil {
		t.Fatal(err)
	}
	tok, _, err := e.tenants.CreateToken(t.Context(), tenants.TokenRequest{Tenant: ten.id, Name: "member", User: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	return tok, u.ID
}

// login signs a user in through POST /v1/auth/login and returns the session token.
func (e *env) login(t *testing.T, slug, email, password string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"tenant": slug, "email": email, "password": password})
	res, err := e.srv.Client().Post(e.srv.URL+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct{ Token string }
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != http.StatusOK || out.Token == "" {
		t.Fatalf("login %s: status %d, %v", email, res.StatusCode, err)
	}
	return out.Token
}

// schemaVersion reads the tenant's schema version from the catalog.
func (e *env) schemaVersion(t *testing.T, tenantID string) int {
	t.Helper()
	m, err := e.catalog.Model(t.Context(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return m.Version
}

// waitFor polls check until it returns true or the deadline passes.
func waitFor(t *testing.T, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
