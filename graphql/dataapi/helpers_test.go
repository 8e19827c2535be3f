package dataapi

import (
	"context"
	"encoding/json"
	"fmt"
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
	return newEnvAs(t, opts, false)
}

// newEnvAs is newEnv, connecting as the database owner (a superuser, whom
// row-level security does not restrict) when owner is set: what the
// application's own tenant scoping must hold without.
func newEnvAs(t testing.TB, opts Options, owner bool) *env {
	t.Helper()
	db := dbtest.New(t)
	e := &env{db: db}
	url := db.AppURL
	if owner {
		url = db.OwnerURL
	}
	cfg, err := pgxpool.ParseConfig(url)
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

// projectBundle is a custom object with the kinds the CRM template lacks
// (boolean, decimal, multiPicklist, unindexed date and datetime, json) and
// picklist values that are not GraphQL names ("p-1" is the enum value
// p_1), merged into a tenant beside the template.
const projectBundle = `{"lattice": "bundle/v1", "objects": [{
  "x-lattice-object": {"apiName": "Project", "label": {"en": "Project"}, "displayField": "name"},
  "required": ["name"],
  "properties": {
    "name": {"x-lattice-field": {"kind": "text", "indexed": true}, "maxLength": 100},
    "code": {"x-lattice-field": {"kind": "text", "unique": true}, "maxLength": 20},
    "active": {"x-lattice-field": {"kind": "boolean", "indexed": true}},
    "billable": {"x-lattice-field": {"kind": "boolean"}},
    "budget": {"x-lattice-field": {"kind": "decimal", "scale": 2}},
    "priority": {"x-lattice-field": {"kind": "picklist", "values": [{"value": "p-1"}, {"value": "p.2"}, {"value": "3rd"}]}},
    "labels": {"x-lattice-field": {"kind": "multiPicklist", "values": [{"value": "red"}, {"value": "green"}, {"value": "blue-ish"}]}},
    "startsOn": {"x-lattice-field": {"kind": "date"}},
    "kickoff": {"x-lattice-field": {"kind": "datetime"}},
    "meta": {"x-lattice-field": {"kind": "json"}},
    "account": {"x-lattice-field": {"kind": "lookup", "target": "Account", "inverseName": "projects", "onDelete": "setNull"}}
  }
}]}`

// withProjects merges the Project object into c's tenant.
func (e *env) withProjects(t testing.TB, c Caller) {
	t.Helper()
	b, err := e.cat.Validator().ParseBundle([]byte(projectBundle))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Apply(context.Background(), c.TenantID, catalog.ApplyRequest{Bundle: b, Mode: catalog.Merge, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
}

// tagGroup creates a multi-valued tag group for objects with the named
// tags; records carry them as "group/name".
func (e *env) tagGroup(t testing.TB, c Caller, group string, objects []string, names ...string) {
	t.Helper()
	ctx := context.Background()
	if _, err := e.api.tags.CreateGroup(ctx, c.TenantID, "test", tags.GroupInput{Name: group, MultiValued: true, Objects: objects}); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if _, err := e.api.tags.CreateTag(ctx, c.TenantID, "test", tags.TagInput{Group: group, Name: n}); err != nil {
			t.Fatal(err)
		}
	}
}

// setScore sets a record's score and grade behind the API's back, as the
// scoring engine would (nil clears).
func (e *env) setScore(t testing.TB, id string, score, grade any) {
	t.Helper()
	if _, err := e.db.Owner.Exec(context.Background(), "UPDATE records SET score = $2::numeric, grade = $3 WHERE id = $1", id, score, grade); err != nil {
		t.Fatal(err)
	}
}

// create runs create<Object>(input) and returns the new record's id.
func (e *env) create(t testing.TB, c Caller, object string, input map[string]any) string {
	t.Helper()
	d := e.ok(t, c, fmt.Sprintf(`mutation($in: %sCreateInput!) { r: create%s(input: $in) { id } }`, object, object), map[string]any{"in": input})
	id, _ := get(d, "r", "id").(string)
	if id == "" {
		t.Fatalf("create %s: no id in %v", object, d)
	}
	return id
}

// field collects one field of every node of a connection (or of every
// element of a list): field(d, "name", "accounts", "nodes").
func field(v any, name string, path ...any) []string {
	var out []string
	l, _ := get(v, path...).([]any)
	for _, n := range l {
		out = append(out, fmt.Sprint(get(n, name)))
	}
	return out
}

// same fails the test unless got equals want, element by element.
func same(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "|") != strings.Join(want, "|") || len(got) != len(want) {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}

// argPath returns the first error's extensions.argumentPath as a string.
func (r result) argPath() string {
	if len(r.Errors) == 0 {
		return ""
	}
	return fmt.Sprint(get(r.Errors[0], "extensions", "argumentPath"))
}

// message returns the first error's message.
func (r result) message() string {
	if len(r.Errors) == 0 {
		return ""
	}
	m, _ := r.Errors[0]["message"].(string)
	return m
}
