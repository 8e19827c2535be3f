package dataapi

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/tags"
	"github.com/latticecrm/lattice/schema/templates"
)

// env is a migrated database with a data API over a counting pool.
type env struct {
	db         *dbtest.DB
	pool       *pgxpool.Pool
	cat        *catalog.Catalog
	api        *API
	statements atomic.Int64
}

// counter counts the statements the pool runs (set_config included).
type counter struct{ n *atomic.Int64 }

func (c counter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c counter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c counter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchStartData) context.Context {
	c.n.Add(int64(d.Batch.Len()))
	return ctx
}
func (c counter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c counter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	db := dbtest.New(t)
	e := &env{db: db}
	cfg, err := pgxpool.ParseConfig(db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = counter{&e.statements}
	if e.pool, err = pgxpool.NewWithConfig(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.pool.Close)
	if e.cat, err = catalog.New(e.pool, catalog.Options{}); err != nil {
		t.Fatal(err)
	}
	store := records.New(e.pool, e.cat, nil)
	e.api = New(e.pool, e.cat, store, tags.New(e.pool, e.cat, tags.Options{}), opts)
	return e
}

// tenant creates a tenant with the CRM template.
func (e *env) tenant(t testing.TB, slug string) Caller {
	t.Helper()
	var id string
	if err := e.db.Owner.QueryRow(context.Background(), "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	b, err := e.cat.Validator().ParseBundle(templates.CRM())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Apply(context.Background(), id, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return Caller{TenantID: id, Actor: "user:test"}
}

// result is a decoded response.
type result struct {
	Data   map[string]any
	Errors []map[string]any
}

func (e *env) do(t testing.TB, c Caller, query string, vars map[string]any) result {
	t.Helper()
	res := e.api.Execute(context.Background(), c, Request{Query: query, Variables: vars})
	raw, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var out result
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return out
}

// ok runs query and fails the test on any error.
func (e *env) ok(t testing.TB, c Caller, query string, vars map[string]any) map[string]any {
	t.Helper()
	r := e.do(t, c, query, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("errors: %v\nquery: %s", r.Errors, query)
	}
	return r.Data
}

// get walks decoded JSON: get(v, "leads", "nodes", 0, "name").
func get(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// code returns the first error's extensions.code.
func (r result) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := get(r.Errors[0], "extensions", "code").(string)
	return c
}
