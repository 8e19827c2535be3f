package condition_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// dbEnv is one test database with the catalog and the record store.
type dbEnv struct {
	db    *dbtest.DB
	cat   *catalog.Catalog
	store *records.Store
}

func newDBEnv(t testing.TB) *dbEnv {
	t.Helper()
	db := dbtest.New(t)
	cat, err := catalog.New(db.App, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &dbEnv{db: db, cat: cat, store: records.New(db.App, cat, nil)}
}

// tenant creates a tenant with the bundle applied and returns its id and model.
func (e *dbEnv) tenant(t testing.TB, slug string, bundle []byte) (string, *model.Model) {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := e.db.Owner.QueryRow(ctx, "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	b, err := e.cat.Validator().ParseBundle(bundle)
	if err != nil {
		t.Fatalf("parse bundle: %v\n%s", err, bundle)
	}
	if _, err := e.cat.Apply(ctx, id, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatalf("apply bundle: %v\n%s", err, bundle)
	}
	m, err := e.cat.Model(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return id, m
}

// system sets what the record store does not: tags, score, grade, owner,
// timestamps and version, behind the application's back.
type system struct {
	tags             []string
	score, grade     *string
	owner            *string
	created, updated time.Time
	version          int
}

func (e *dbEnv) setSystem(t testing.TB, tenant, id string, s system) {
	t.Helper()
	// Owners are stored lower-cased, as the record store writes them.
	_, err := e.db.Owner.Exec(context.Background(), `UPDATE records SET tags = $3, score = $4::numeric, grade = $5, owner_id = lower($6),
		created_at = $7, updated_at = $8, version = $9 WHERE tenant_id = $1 AND id = $2`,
		tenant, id, s.tags, s.score, s.grade, s.owner, s.created, s.updated, s.version)
	if err != nil {
		t.Fatal(err)
	}
}

// stored is every record of a tenant as read back from the database.
type stored struct {
	m        *model.Model
	all      []*storedRecord
	byObject map[string][]*storedRecord // live records by object key
	src      *condition.MemorySource    // live records
}

type storedRecord struct {
	object  *model.Object
	deleted bool
	rec     *condition.Record
}

func (e *dbEnv) load(t testing.TB, tenant string, m *model.Model) *stored {
	t.Helper()
	rows, err := e.db.Owner.Query(context.Background(), `SELECT object_id::text, id::text, data, tags, score::text, grade,
		created_at, updated_at, coalesce(owner_id, ''), version, deleted_at IS NOT NULL FROM records WHERE tenant_id = $1 ORDER BY id`, tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	s := &stored{m: m, byObject: map[string][]*storedRecord{}, src: condition.NewMemorySource()}
	for rows.Next() {
		var objectID string
		var data []byte
		var score *string
		r := &condition.Record{}
		sr := &storedRecord{rec: r}
		if err := rows.Scan(&objectID, &r.ID, &data, &r.Tags, &score, &r.Grade, &r.CreatedAt, &r.UpdatedAt, &r.Owner, &r.Version, &sr.deleted); err != nil {
			t.Fatal(err)
		}
		if score != nil {
			n := json.Number(*score)
			r.Score = &n
		}
		v, err := model.DecodeJSON(data)
		if err != nil {
			t.Fatal(err)
		}
		r.Values = model.Values(v.(map[string]any))
		sr.object = m.ObjectByKey(objectID)
		s.all = append(s.all, sr)
		if !sr.deleted {
			s.byObject[objectID] = append(s.byObject[objectID], sr)
			s.src.Add(sr.object, r)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return s
}

// evalIDs are the ids of the live records of c's object that Eval selects.
func (s *stored) evalIDs(c *condition.Condition, now time.Time) []string {
	var out []string
	for _, sr := range s.byObject[c.Object().Key] {
		if c.Eval(sr.rec, s.src, now) {
			out = append(out, sr.rec.ID)
		}
	}
	sort.Strings(out)
	return out
}

// sqlIDs runs the condition's predicate as the application would, in a
// tenant-scoped transaction as lattice_app, and returns the ids it
// selects. It also fails if the predicate is NULL for any row.
func (e *dbEnv) sqlIDs(ctx context.Context, tx pgx.Tx, tenant string, c *condition.Condition, now time.Time) ([]string, error) {
	pred, args := c.SQL("r", 3, now)
	args = append([]any{tenant, c.Object().Key}, args...)
	b := &pgx.Batch{}
	b.Queue("SELECT id::text FROM records r WHERE tenant_id = $1 AND object_id = $2 AND deleted_at IS NULL AND ("+pred+") ORDER BY id::text", args...)
	b.Queue("SELECT count(*) FROM records r WHERE tenant_id = $1 AND object_id = $2 AND deleted_at IS NULL AND ("+pred+") IS NULL", args...)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("%w\nSQL: %s\nargs: %v", err, pred, args)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("%w\nSQL: %s\nargs: %v", err, pred, args)
	}
	var nulls int
	if err := br.QueryRow().Scan(&nulls); err != nil {
		return nil, err
	}
	if nulls > 0 {
		return nil, fmt.Errorf("the predicate is NULL for %d row(s)\nSQL: %s", nulls, pred)
	}
	return ids, nil
}

// storeWorld stores the world's records through the record store.
func storeWorld(t *testing.T, e *dbEnv) (string, *model.Model, map[string]string) {
	data, err := json.Marshal(mustReadBundle(t))
	if err != nil {
		t.Fatal(err)
	}
	tenant, m := e.tenant(t, "world", data)
	ids := map[string]string{}
	for _, sp := range worldSpecs() {
		vals := map[string]any{}
		for k, v := range sp.vals {
			vals[k] = resolve(v, ids)
		}
		if sp.owner != "" {
			vals["owner"] = sp.owner
		}
		r, err := e.store.Create(t.Context(), tenant, "test", sp.object, vals)
		if err != nil {
			t.Fatalf("create %s: %v", sp.name, err)
		}
		ids[sp.name] = r.ID
		var owner *string
		if sp.owner != "" {
			owner = &sp.owner
		}
		var score *string
		if sp.score != nil {
			s := string(*sp.score)
			score = &s
		}
		tags := sp.tags
		if tags == nil {
			tags = []string{}
		}
		e.setSystem(t, tenant, r.ID, system{tags: tags, score: score, grade: sp.grade, owner: owner,
			created: sp.created, updated: evalNow.Add(-time.Hour), version: 1})
	}
	return tenant, m, ids
}

func mustReadBundle(t *testing.T) json.RawMessage {
	m := testModel(t)
	return mustJSON(t, m.Bundle)
}

func mustJSON(t testing.TB, v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The hand-written cases select the same records in PostgreSQL, and in Go
// over the records read back from it.
func TestSQLHandWritten(t *testing.T) {
	e := newDBEnv(t)
	tenant, m, ids := storeWorld(t, e)
	s := e.load(t, tenant, m)
	names := map[string]string{}
	for name, id := range ids {
		names[id] = name
	}
	w := &world{byName: map[string]*condition.Record{}}
	for name, id := range ids {
		w.byName[name] = &condition.Record{ID: id}
	}
	err := database.InTenantTx(t.Context(), e.db.App, tenant, func(tx pgx.Tx) error {
		for _, tc := range handCases {
			c := mustCompile(t, m, tc.object, w.expand(tc.cond))
			want := slices.Clone(tc.want)
			sort.Strings(want)
			got, err := e.sqlIDs(t.Context(), tx, tenant, c, evalNow)
			if err != nil {
				return err
			}
			for i, id := range got {
				got[i] = names[id]
			}
			sort.Strings(got)
			goIDs := s.evalIDs(c, evalNow)
			for i, id := range goIDs {
				goIDs[i] = names[id]
			}
			sort.Strings(goIDs)
			if !slices.Equal(got, want) || !slices.Equal(goIDs, want) {
				pred, _ := c.SQL("r", 3, evalNow)
				t.Errorf("%s on %s:\n  SQL %v\n  Go  %v\n want %v\n  %s", strings.Join(strings.Fields(tc.cond), " "), tc.object, got, goIDs, want, pred)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
