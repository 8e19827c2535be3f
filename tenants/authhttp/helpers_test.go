package authhttp_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/httpserver"
	"github.com/latticecrm/lattice/tenants"
	"github.com/latticecrm/lattice/tenants/authhttp"
)

// password is every fixture user's password.
const password = "correct horse battery"

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one test's database, service and HTTP server.
type env struct {
	t    *testing.T
	db   *dbtest.DB
	svc  *tenants.Service
	srv  *httptest.Server
	logs *lockedBuffer
}

// newEnv serves authhttp's endpoints, behind httpserver.Wrap, on a fresh
// database through a real tenants.Service on the lattice_app pool.
func newEnv(t *testing.T, opts tenants.Options) *env {
	t.Helper()
	db := dbtest.New(t)
	return newEnvOn(t, db, opts)
}

// newEnvOn is newEnv on an existing database (a second server with other
// options sharing the first one's data).
func newEnvOn(t *testing.T, db *dbtest.DB, opts tenants.Options) *env {
	t.Helper()
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.Logger == nil {
		opts.Logger = logger
	}
	svc, err := tenants.New(db.App, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	authhttp.New(svc, logger, false).Register(mux)
	srv := httptest.NewServer(httpserver.Wrap(mux, 1<<20, logger))
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, svc: svc, srv: srv, logs: logs}
}

func (e *env) tenant(slug string) tenants.Tenant {
	e.t.Helper()
	tn, err := e.svc.CreateTenant(e.t.Context(), slug, strings.ToUpper(slug[:1])+slug[1:]+" Inc")
	if err != nil {
		e.t.Fatalf("create tenant %s: %v", slug, err)
	}
	return tn
}

// member creates a user (if new) and adds it to tenant with role.
func (e *env) member(tenantSlug, email, role string) tenants.User {
	e.t.Helper()
	ctx := e.t.Context()
	u, err := e.svc.User(ctx, email)
	if err != nil {
		if u, err = e.svc.CreateUser(ctx, email, email, password); err != nil {
			e.t.Fatalf("create user %s: %v", email, err)
		}
	}
	if _, err := e.svc.AddMember(ctx, tenantSlug, email, role); err != nil {
		e.t.Fatalf("add %s to %s: %v", email, tenantSlug, err)
	}
	return u
}

// userToken mints a never-expiring API token for a member.
func (e *env) userToken(tenantSlug, email, name string) (string, tenants.Token) {
	e.t.Helper()
	sec, tok, err := e.svc.CreateToken(e.t.Context(), tenants.TokenRequest{Tenant: tenantSlug, User: email, Name: name})
	if err != nil {
		e.t.Fatalf("create token %s for %s: %v", name, email, err)
	}
	return sec, tok
}

// login opens a session through the service.
func (e *env) login(tenantSlug, email string) string {
	e.t.Helper()
	tok, _, err := e.svc.Login(e.t.Context(), tenants.LoginRequest{Tenant: tenantSlug, Email: email, Password: password, RemoteAddr: "198.51.100.1"})
	if err != nil {
		e.t.Fatalf("login %s to %s: %v", email, tenantSlug, err)
	}
	return tok
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

func sessionCookie(tok string) map[string]string {
	return map[string]string{"Cookie": authhttp.SessionCookie + "=" + tok}
}

// scenario is one HTTP request against the env's server and what its
// response must look like, in the spirit of PocketBase's tests.ApiScenario.
type scenario struct {
	name    string
	method  string
	path    string
	headers map[string]string
	body    string
	// wantStatus is the expected status code.
	wantStatus int
	// wantContent must all appear in the response body.
	wantContent []string
	// notWantContent must none appear in the response body.
	notWantContent []string
	// wantHeaders maps a response header to a substring its value must contain.
	wantHeaders map[string]string
	// check, if set, inspects the response further.
	check func(t *testing.T, resp *http.Response, body []byte)
}

// do sends the scenario's request and returns the response and its body.
func (s scenario) do(t *testing.T, e *env) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader
	if s.body != "" {
		body = strings.NewReader(s.body)
	}
	req, err := http.NewRequestWithContext(t.Context(), s.method, e.srv.URL+s.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if s.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", s.method, s.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// test runs the scenario as a subtest and checks its expectations.
func (s scenario) test(t *testing.T, e *env) {
	t.Helper()
	t.Run(s.name, func(t *testing.T) {
		t.Helper()
		resp, body := s.do(t, e)
		if resp.StatusCode != s.wantStatus {
			t.Fatalf("%s %s: status %d, want %d; body %s", s.method, s.path, resp.StatusCode, s.wantStatus, body)
		}
		for _, c := range s.wantContent {
			if !bytes.Contains(body, []byte(c)) {
				t.Errorf("body does not contain %q:\n%s", c, body)
			}
		}
		for _, c := range s.notWantContent {
			if c == "" {
				t.Fatal("empty notWantContent entry")
			}
			if bytes.Contains(body, []byte(c)) {
				t.Errorf("body contains %q, which it must not:\n%s", c, body)
			}
		}
		for h, want := range s.wantHeaders {
			if got := resp.Header.Get(h); !strings.Contains(got, want) || (want == "" && got == "") {
				t.Errorf("header %s = %q, want it to contain %q", h, got, want)
			}
		}
		if resp.StatusCode >= 400 {
			checkErrorBody(t, resp, body)
		}
		if s.check != nil {
			s.check(t, resp, body)
		}
	})
}

// checkErrorBody checks that an error response has the documented shape
// and carries the response's request id.
func checkErrorBody(t *testing.T, resp *http.Response, body []byte) {
	t.Helper()
	var e struct {
		Error struct {
			Code      string `json:"code"`
			Message   string `json:"message"`
			RequestID string `json:"requestId"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("error body lacks code or message: %s", body)
	}
	if id := resp.Header.Get("X-Request-ID"); id == "" || e.Error.RequestID != id {
		t.Errorf("error requestId %q, want the X-Request-ID %q", e.Error.RequestID, id)
	}
}

// decode unmarshals a JSON body into v.
func decode(t *testing.T, body []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
}

// secretPart returns the random part of a credential
// ("<prefix>_<tenant hex>_<secret>", where the secret itself may contain
// '_'), which must never appear anywhere but in the response that mints it.
func secretPart(cred string) string {
	parts := strings.SplitN(cred, "_", 3)
	if len(parts) != 3 || len(parts[2]) != 43 {
		panic("not a Lattice credential: " + cred)
	}
	return parts[2]
}

// newSecureEnv serves e's service through a handler with secureCookies set.
func newSecureEnv(t *testing.T, e *env) *env {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(e.logs, nil))
	mux := http.NewServeMux()
	authhttp.New(e.svc, logger, true).Register(mux)
	srv := httptest.NewServer(httpserver.Wrap(mux, 1<<20, logger))
	t.Cleanup(srv.Close)
	return &env{t: t, db: e.db, svc: e.svc, srv: srv, logs: e.logs}
}
