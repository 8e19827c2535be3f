package tenants_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/tenants"
)

// rateEnv is a tenant "acme" with members alice and bob (both passwords
// testPassword), under a Service with the given login limits.
func rateEnv(t *testing.T, opts tenants.Options) *env {
	t.Helper()
	e := newEnv(t, opts)
	e.tenant(t, "acme")
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		e.user(t, email)
		e.member(t, "acme", email, tenants.RoleMember)
	}
	return e
}

func wantRateLimited(t *testing.T, err error, max time.Duration) {
	t.Helper()
	ae := wantErr(t, err, apierror.TooManyRequests, "too_many_attempts")
	if ae.RetryAfter <= 0 || ae.RetryAfter > max {
		t.Errorf("RetryAfter = %s, want in (0, %s]", ae.RetryAfter, max)
	}
}

func TestLoginRateLimitPerAccount(t *testing.T) {
	t.Parallel()
	e := rateEnv(t, tenants.Options{LoginLimits: tenants.LoginLimits{
		PerAccountBurst: 2, PerAccountEvery: time.Hour,
		PerAddressBurst: 100, PerAddressEvery: time.Hour,
	}})
	ctx := t.Context()
	login := func(email, password, addr string) error {
		_, _, err := e.svc.Login(ctx, tenants.LoginRequest{Tenant: "acme", Email: email, Password: password, RemoteAddr: addr})
		return err
	}

	// Two failures are allowed, each from a different address so that only
	// the account's bucket is exhausted.
	wantErr(t, login("alice@example.com", "wrong password 1", "192.0.2.1"), apierror.Unauthenticated, "invalid_credentials")
	wantErr(t, login("alice@example.com", "wrong password 2", "192.0.2.2"), apierror.Unauthenticated, "invalid_credentials")
	// The third attempt is refused before the password is looked at, even
	// the right one, from a fresh address.
	n := e.count(t, "SELECT count(*) FROM sessions")
	wantRateLimited(t, login("alice@example.com", testPassword, "192.0.2.3"), time.Hour+time.Second)
	wantRateLimited(t, login("alice@example.com", "wrong password 3", "192.0.2.3"), time.Hour+time.Second)
	if got := e.count(t, "SELECT count(*) FROM sessions"); got != n {
		t.Error("a rate-limited login opened a session")
	}

	// Another account, from another address, is not affected.
	if err := login("bob@example.com", testPassword, "198.51.100.1"); err != nil {
		t.Errorf("bob's login: %v", err)
	}
	// A failure of another account is judged on its own merits, even from
	// an address that failed for alice.
	wantErr(t, login("bob@example.com", "wrong password", "192.0.2.1"), apierror.Unauthenticated, "invalid_credentials")
}

func TestLoginRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	e := rateEnv(t, tenants.Options{
		LoginLimits: tenants.LoginLimits{
			PerAccountBurst: 100, PerAccountEvery: time.Hour,
			PerAddressBurst: 2, PerAddressEvery: time.Hour,
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	})
	ctx := t.Context()
	login := func(email, password, addr string) error {
		_, _, err := e.svc.Login(ctx, tenants.LoginRequest{Tenant: "acme", Email: email, Password: password, RemoteAddr: addr})
		return err
	}

	// Failures on different accounts (one of them not even a user) from
	// one address add up.
	wantErr(t, login("alice@example.com", "wrong password", "192.0.2.66"), apierror.Unauthenticated, "invalid_credentials")
	wantErr(t, login("nobody@example.com", "wrong password", "192.0.2.66"), apierror.Unauthenticated, "invalid_credentials")
	wantRateLimited(t, login("bob@example.com", testPassword, "192.0.2.66"), time.Hour+time.Second)

	// The same accounts from another address are fine.
	if err := login("bob@example.com", testPassword, "198.51.100.1"); err != nil {
		t.Errorf("bob from another address: %v", err)
	}
	if err := login("alice@example.com", testPassword, "198.51.100.2"); err != nil {
		t.Errorf("alice from another address: %v", err)
	}
	// Successful logins spend nothing.
	for range 3 {
		if err := login("alice@example.com", testPassword, "198.51.100.2"); err != nil {
			t.Fatalf("repeated successful login: %v", err)
		}
	}

	// Security events are logged, without the passwords tried.
	out := logs.String()
	if !strings.Contains(out, "login failed") || !strings.Contains(out, "login rate limited") || !strings.Contains(out, "192.0.2.66") {
		t.Errorf("log lacks the failed and rate-limited logins:\n%s", out)
	}
	for _, pw := range []string{"wrong password", testPassword} {
		if strings.Contains(out, pw) {
			t.Errorf("log contains the password %q:\n%s", pw, out)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// One account must have one bucket however the login names it. E-mail
// addresses are case-insensitive throughout (CreateUser lower-cases them and
// Login matches lower($2)), and Login also resolves a tenant given by id, so
// neither respelling may buy more password guesses.
func TestLoginRateLimitAccountCannotBeRespelled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{LoginLimits: tenants.LoginLimits{
		PerAccountBurst: 2, PerAccountEvery: time.Hour,
		PerAddressBurst: 100, PerAddressEvery: time.Hour,
	}})
	ctx := t.Context()
	// A tenant id that starts with a letter passes ValidateSlug.
	const tenantID = "abcdef01-2345-4678-9abc-def012345678"
	e.exec(t, "INSERT INTO tenants (id, slug, name) VALUES ($1, 'acme', 'Acme Inc.')", tenantID)
	e.user(t, "alice@example.com")
	e.member(t, "acme", "alice@example.com", tenants.RoleMember)
	login := func(tenant, email, password, addr string) error {
		_, _, err := e.svc.Login(ctx, tenants.LoginRequest{Tenant: tenant, Email: email, Password: password, RemoteAddr: addr})
		return err
	}
	wantErr(t, login("acme", "alice@example.com", "wrong password 1", "192.0.2.1"), apierror.Unauthenticated, "invalid_credentials")
	wantErr(t, login("acme", "alice@example.com", "wrong password 2", "192.0.2.2"), apierror.Unauthenticated, "invalid_credentials")
	wantRateLimited(t, login("acme", "alice@example.com", testPassword, "192.0.2.3"), time.Hour+time.Second)

	respelled := []struct{ name, tenant, email string }{
		{"upper-case e-mail", "acme", "ALICE@example.com"},
		{"mixed-case e-mail", "acme", "Alice@Example.Com"},
		{"tenant by id", tenantID, "alice@example.com"},
	}
	for i, r := range respelled {
		t.Run(r.name, func(t *testing.T) {
			err := login(r.tenant, r.email, testPassword, fmt.Sprintf("192.0.2.%d", 10+i))
			if err == nil {
				t.Fatalf("Login(%q, %q) with the right password succeeded while the account is locked out", r.tenant, r.email)
			}
			if ae, ok := apierror.As(err); !ok || ae.Kind != apierror.TooManyRequests && ae.Kind != apierror.NotFound && ae.Kind != apierror.Invalid {
				t.Fatalf("Login(%q, %q) = %v; want too_many_attempts (or a refusal to name the tenant by id)", r.tenant, r.email, err)
			}
		})
	}
}

// LoginLimits with some fields left zero must not lock an address out for
// good after one failure. Today a zero PerAddressBurst makes an address
// bucket that can never hold a token, so every later login from that
// address, by anyone, is refused forever. New may instead reject such
// limits; either is acceptable.
func TestLoginPartialLimitsDoNotLockOutAddress(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	svc, err := tenants.New(db.App, tenants.Options{
		LoginLimits: tenants.LoginLimits{PerAccountBurst: 3, PerAccountEvery: time.Minute},
		Logger:      slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Logf("New rejects partial limits: %v", err)
		return // rejecting the configuration is a fix too
	}
	e := &env{db: db, svc: svc}
	ctx := t.Context()
	e.tenant(t, "acme")
	for _, email := range []string{"alice@example.com", "bob@example.com"} {
		e.user(t, email)
		e.member(t, "acme", email, tenants.RoleMember)
	}
	_, _, err = svc.Login(ctx, tenants.LoginRequest{Tenant: "acme", Email: "alice@example.com", Password: "wrong password", RemoteAddr: "192.0.2.1"})
	wantErr(t, err, apierror.Unauthenticated, "invalid_credentials")
	_, _, err = svc.Login(ctx, tenants.LoginRequest{Tenant: "acme", Email: "bob@example.com", Password: testPassword, RemoteAddr: "192.0.2.1"})
	if err != nil {
		t.Fatalf("after one failure from 192.0.2.1, another account's correct login from it: %v", err)
	}
}
