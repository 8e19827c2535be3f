package tenants_test

import (
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/tenants"
)

// testPassword satisfies the password policy. Every CreateUser and Login
// costs one argon2id computation (~30ms), so tests create few users.
const testPassword = "correct horse battery"

// env is one test's database and a Service on its application pool.
type env struct {
	db  *dbtest.DB
	svc *tenants.Service
}

// newEnv gives t its own migrated database and a Service using the
// lattice_app pool, as the server does.
func newEnv(t *testing.T, opts tenants.Options) *env {
	t.Helper()
	db := dbtest.New(t)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	svc, err := tenants.New(db.App, opts)
	if err != nil {
		t.Fatalf("tenants.New: %v", err)
	}
	return &env{db: db, svc: svc}
}

// wantErr fails t unless err is an *apierror.Error of the given kind and code.
func wantErr(t *testing.T, err error, kind apierror.Kind, code string) *apierror.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want kind %d code %q", kind, code)
	}
	e, ok := apierror.As(err)
	if !ok {
		t.Fatalf("got %T %v, want *apierror.Error kind %d code %q", err, err, kind, code)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("got kind %d code %q (%v), want kind %d code %q", e.Kind, e.Code, err, kind, code)
	}
	return e
}

// wantInvalid is wantErr for an Invalid error about field.
func wantInvalid(t *testing.T, err error, field, code string) {
	t.Helper()
	e := wantErr(t, err, apierror.Invalid, code)
	if e.Field != field {
		t.Fatalf("got field %q, want %q (%v)", e.Field, field, err)
	}
}

// count runs a count(*) query as the database owner, behind RLS's back.
func (e *env) count(t *testing.T, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Owner.QueryRow(t.Context(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// exec runs a statement as the database owner.
func (e *env) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := e.db.Owner.Exec(t.Context(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func (e *env) tenant(t *testing.T, slug string) tenants.Tenant {
	t.Helper()
	tn, err := e.svc.CreateTenant(t.Context(), slug, strings.ToUpper(slug[:1])+slug[1:]+" Inc.")
	if err != nil {
		t.Fatalf("CreateTenant(%q): %v", slug, err)
	}
	return tn
}

func (e *env) user(t *testing.T, email string) tenants.User {
	t.Helper()
	u, err := e.svc.CreateUser(t.Context(), email, "User "+email, testPassword)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", email, err)
	}
	return u
}

func (e *env) member(t *testing.T, tenant, user, role string) tenants.Member {
	t.Helper()
	m, err := e.svc.AddMember(t.Context(), tenant, user, role)
	if err != nil {
		t.Fatalf("AddMember(%q, %q, %q): %v", tenant, user, role, err)
	}
	return m
}

func (e *env) token(t *testing.T, req tenants.TokenRequest) (string, tenants.Token) {
	t.Helper()
	plain, tok, err := e.svc.CreateToken(t.Context(), req)
	if err != nil {
		t.Fatalf("CreateToken(%+v): %v", req, err)
	}
	return plain, tok
}

func (e *env) login(t *testing.T, tenant, email, password string) (string, tenants.Session) {
	t.Helper()
	plain, sess, err := e.svc.Login(t.Context(), tenants.LoginRequest{Tenant: tenant, Email: email, Password: password, RemoteAddr: "192.0.2.1"})
	if err != nil {
		t.Fatalf("Login(%q, %q): %v", tenant, email, err)
	}
	return plain, sess
}

func (e *env) auth(t *testing.T, cred string) tenants.Principal {
	t.Helper()
	p, err := e.svc.Authenticate(t.Context(), cred)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return p
}

// compactID is a tenant id as credentials carry it.
func compactID(id string) string { return strings.ReplaceAll(id, "-", "") }

// near reports whether got is within d of want.
func near(got, want time.Time, d time.Duration) bool {
	diff := got.Sub(want)
	return -d <= diff && diff <= d
}

// secretOf is the secret part of a credential: what follows
// "lat_" or "lss_", the 32 hex digits of the tenant id and "_". (The secret
// itself may contain '_'.)
func secretOf(cred string) string { return cred[len("lat_")+32+1:] }
