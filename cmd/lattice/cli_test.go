package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
)

// run executes the CLI with args against databaseURL and returns its
// output, error output and exit code.
func run(t *testing.T, ctx context.Context, databaseURL, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	root := newRootCommand(strings.NewReader(stdin), &out, &errOut)
	root.SetArgs(append([]string{"--database-url", databaseURL}, args...))
	code := 0
	if err := root.ExecuteContext(ctx); err != nil {
		errOut.WriteString(err.Error())
		code = exitCode(err)
	}
	return out.String(), errOut.String(), code
}

func TestCLIAdministration(t *testing.T) {
	url := dbtest.NewEmpty(t)
	ctx := t.Context()
	mustRun := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := run(t, ctx, url, stdin, args...)
		if code != 0 {
			t.Fatalf("lattice %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	mustRun("", "migrate")
	if out := mustRun("", "migrate", "--status"); !strings.Contains(out, "00001_tenancy.sql") || !strings.Contains(out, "true") {
		t.Fatalf("migrate --status:\n%s", out)
	}
	if out := mustRun("", "tenant", "create", "acme", "--name", "Acme Inc."); !strings.Contains(out, "Acme Inc.") {
		t.Fatalf("tenant create:\n%s", out)
	}
	out := mustRun("", "user", "create", "--email", "Ann@Acme.example", "--name", "Ann")
	if !strings.Contains(out, "ann@acme.example") {
		t.Fatalf("user create:\n%s", out)
	}
	mustRun("a long enough password\n", "user", "create", "--email", "bob@acme.example", "--password-stdin")
	mustRun("", "user", "add-to-tenant", "--email", "ann@acme.example", "--tenant", "acme", "--role", "admin")
	var created struct {
		Token string
		Info  struct{ ID, Role string }
	}
	out = mustRun("", "-o", "json", "token", "create", "--tenant", "acme", "--user", "ann@acme.example", "--name", "ci")
	if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(created.Token, "lat_") || created.Info.Role != "admin" {
		t.Fatalf("token create -o json: %v\n%s", err, out)
	}
	if out := mustRun("", "token", "list", "--tenant", "acme"); !strings.Contains(out, created.Info.ID) || strings.Contains(out, created.Token) {
		t.Fatalf("token list must show the id and never the secret:\n%s", out)
	}
	mustRun("", "token", "revoke", "--tenant", "acme", created.Info.ID)
	mustRun("", "tenant", "suspend", "acme", "--reason", "unpaid invoice")
	if out := mustRun("", "tenant", "show", "acme"); !strings.Contains(out, "suspended") {
		t.Fatalf("tenant show after suspend:\n%s", out)
	}
	mustRun("", "tenant", "resume", "acme")
	mustRun("", "tenant", "rename", "acme", "--name", "Acme Corp")
	mustRun("another long password\n", "user", "reset-password", "--email", "bob@acme.example", "--password-stdin")
	mustRun("", "tenant", "delete", "acme")
	if out := mustRun("", "tenant", "list"); strings.Contains(out, "acme") {
		t.Fatalf("a deleted tenant is listed without --include-deleted:\n%s", out)
	}
	mustRun("", "tenant", "purge", "acme")
	if out := mustRun("", "tenant", "list", "--include-deleted"); strings.Contains(out, "acme") {
		t.Fatalf("a purged tenant is still listed:\n%s", out)
	}

	// Bad input: a specific message and exit code, nothing changed.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tenant", "create", "Bad_Slug"}, 2, "invalid_slug"},
		{[]string{"tenant", "create", "admin"}, 2, "reserved_slug"},
		{[]string{"tenant", "show", "nobody"}, 3, "tenant_not_found"},
		{[]string{"user", "create", "--email", "ann@acme.example"}, 4, "email_taken"},
		{[]string{"user", "create", "--email", "not an email"}, 2, "invalid_email"},
		{[]string{"tenant", "create"}, 2, "accepts 1 arg"},
		{[]string{"token", "create", "--tenant", "x"}, 2, "required flag"},
		{[]string{"--log-format", "xml", "version"}, 2, "--log-format"},
	} {
		_, errOut, code := run(t, ctx, url, "", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("lattice %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, errOut, c.code, c.want)
		}
	}
	mustRun("", "tenant", "create", "dup")
	if _, errOut, code := run(t, ctx, url, "", "tenant", "create", "dup"); code != 4 || !strings.Contains(errOut, "slug_taken") {
		t.Fatalf("duplicate slug: exit %d %q", code, errOut)
	}
	if out := mustRun("", "-o", "json", "tenant", "list"); strings.Count(out, `"slug"`) != 1 {
		t.Fatalf("want exactly one tenant after the failed attempts:\n%s", out)
	}
}

func TestServeHelpListsEnvironment(t *testing.T) {
	var out bytes.Buffer
	root := newRootCommand(strings.NewReader(""), &out, &out)
	root.SetArgs([]string{"serve", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--addr", "LATTICE_ADDR", "LATTICE_MAX_BODY_BYTES", "LATTICE_SHUTDOWN_TIMEOUT", "LATTICE_DATABASE_URL", "LATTICE_AUTO_MIGRATE"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("serve --help lacks %q", want)
		}
	}
}

func TestEnvironmentConfiguresFlags(t *testing.T) {
	t.Setenv("LATTICE_OUTPUT", "json")
	out, errOut, code := run(t, t.Context(), "postgres://postgres@127.0.0.1:5432/unused", "", "version")
	if code != 0 || !strings.HasPrefix(strings.TrimSpace(out), "{") {
		t.Fatalf("LATTICE_OUTPUT=json version: exit %d, out %q, err %q", code, out, errOut)
	}
	// A flag on the command line wins over the environment.
	out, _, _ = run(t, t.Context(), "postgres://postgres@127.0.0.1:5432/unused", "", "-o", "table", "version")
	if !strings.HasPrefix(out, "lattice ") {
		t.Fatalf("flag should override env: %q", out)
	}
	t.Setenv("LATTICE_LOG_LEVEL", "loud")
	if _, errOut, code := run(t, t.Context(), "postgres://x@127.0.0.1/unused", "", "version"); code != 2 || !strings.Contains(errOut, "log-level") {
		t.Fatalf("bad env value: exit %d %q", code, errOut)
	}
}

// syncBuffer is a bytes.Buffer safe to read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeDemo is what `make run` does: create the database, migrate, seed
// the demo tenant, serve, print a working token; run twice, it still works.
func TestServeDemo(t *testing.T) {
	// A database that does not exist yet: serve must create it.
	name := fmt.Sprintf("lattice_demo_%d", time.Now().UnixNano())
	url, err := database.WithDatabase(dbtest.ClusterURL(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn, err := pgx.Connect(context.Background(), dbtest.ClusterURL())
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	for round := range 2 {
		ctx, cancel := context.WithCancel(t.Context())
		var out, errOut syncBuffer
		root := newRootCommand(strings.NewReader(""), &out, &errOut)
		root.SetArgs([]string{"--database-url", url, "serve", "--demo", "--addr", "127.0.0.1:0"})
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		tokenRE := regexp.MustCompile(`API token (lat_\S+)`)
		urlRE := regexp.MustCompile(`running at (http://\S+)`)
		deadline := time.Now().Add(60 * time.Second)
		for !tokenRE.MatchString(out.String()) && time.Now().Before(deadline) {
			select {
			case err := <-done:
				t.Fatalf("round %d: serve exited early: %v\n%s", round, err, errOut.String())
			case <-time.After(50 * time.Millisecond):
			}
		}
		m := tokenRE.FindStringSubmatch(out.String())
		u := urlRE.FindStringSubmatch(out.String())
		if m == nil || u == nil {
			t.Fatalf("round %d: no token or URL printed:\n%s\n%s", round, out.String(), errOut.String())
		}
		get := func(path, token string) (int, string) {
			req, _ := http.NewRequestWithContext(ctx, "GET", u[1]+path, nil)
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, _ := get("/healthz", ""); code != 200 {
			t.Errorf("round %d: /healthz %d", round, code)
		}
		if code, _ := get("/readyz", ""); code != 200 {
			t.Errorf("round %d: /readyz %d", round, code)
		}
		if code, body := get("/v1/me", m[1]); code != 200 || !strings.Contains(body, `"tenantSlug":"demo"`) {
			t.Errorf("round %d: /v1/me with the printed token: %d %s", round, code, body)
		}
		if code, _ := get("/v1/me", ""); code != 401 {
			t.Errorf("round %d: /v1/me without a token: %d, want 401", round, code)
		}
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("round %d: serve returned %v", round, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: serve did not shut down", round)
		}
	}
}
