package audit_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
)

// env is one test's database and a Log on its application pool.
type env struct {
	db  *dbtest.DB
	log *audit.Log
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := dbtest.New(t)
	return &env{db: db, log: audit.New(db.App, slog.New(slog.DiscardHandler))}
}

// tenant registers a tenant as the owner and returns its id.
func (e *env) tenant(t *testing.T, slug string) string {
	t.Helper()
	var id string
	if err := e.db.Owner.QueryRow(t.Context(), "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return id
}

// count counts audit rows as the owner, behind row-level security.
func (e *env) count(t *testing.T, where string, args ...any) int {
	t.Helper()
	var n int
	if err := e.db.Owner.QueryRow(t.Context(), "SELECT count(*) FROM audit_log WHERE "+where, args...).Scan(&n); err != nil {
		t.Fatalf("count audit rows where %s: %v", where, err)
	}
	return n
}

func (e *env) append(t *testing.T, tenant string, entries ...audit.Entry) {
	t.Helper()
	if err := e.log.Append(t.Context(), nil, tenant, entries...); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// all lists every entry of the tenant, walking the pages.
func (e *env) all(t *testing.T, tenant string, q audit.Query) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for pages := 0; ; pages++ {
		page, next, err := e.log.List(t.Context(), tenant, q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		if pages > 10000 {
			t.Fatal("List does not end")
		}
		q.After = next
	}
}

// wantInvalid fails t unless err is an Invalid *apierror.Error about field.
func wantInvalid(t *testing.T, err error, field, code string) {
	t.Helper()
	e, ok := apierror.As(err)
	if !ok || e.Kind != apierror.Invalid || e.Field != field || (code != "" && e.Code != code) {
		t.Fatalf("got %v, want an Invalid error about %q (code %q)", err, field, code)
	}
}

// inTenant runs fn in a transaction of the app role scoped to tenant.
func (e *env) inTenant(t *testing.T, tenant string, fn func(tx pgx.Tx) error) error {
	t.Helper()
	return database.InTenantTx(t.Context(), e.db.App, tenant, fn)
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

// decode unmarshals an entry's JSON into a map.
func decode(t *testing.T, r json.RawMessage) map[string]any {
	t.Helper()
	if len(r) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(r, &m); err != nil {
		t.Fatalf("decode %s: %v", r, err)
	}
	return m
}

// counter counts the statements that read audit_log, on a pool of its own.
type counter struct{ reads atomic.Int64 }

func (c *counter) note(sql string) {
	if strings.HasPrefix(strings.TrimSpace(sql), "SELECT") && strings.Contains(sql, "FROM audit_log") {
		c.reads.Add(1)
	}
}

func (c *counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.note(d.SQL)
	return ctx
}
func (c *counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (c *counter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.note(d.SQL)
}
func (c *counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// countingLog returns a Log on a new app pool whose audit_log reads c counts.
func (e *env) countingLog(t *testing.T) (*audit.Log, *counter) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(e.db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	cfg.ConnConfig.Tracer = c
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return audit.New(pool, slog.New(slog.DiscardHandler)), c
}
