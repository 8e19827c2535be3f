package tags_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/condition"
)

// explain returns the plan of q as the app role, under row-level security,
// in tenant's transaction.
func explain(t *testing.T, db *dbtest.DB, tenant, q string, args ...any) string {
	t.Helper()
	ctx := t.Context()
	var plan strings.Builder
	err := database.InTenantTx(ctx, db.App, tenant, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "EXPLAIN (FORMAT TEXT) "+q, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				return err
			}
			plan.WriteString(line + "\n")
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan.String()
}

// TestTagFilterUsesGINIndexUnderRLS proves that, as lattice_app under
// row-level security, tags && $1 and tags @> $1 (what the condition
// language compiles hasAny, hasAll and hasNone to) are served by the GIN
// index on records.tags, because the migrations mark the array operators
// LEAKPROOF; and, as a control, that without the marks they are not.
func TestTagFilterUsesGINIndexUnderRLS(t *testing.T) {
	e := newEnv(t, tagsOptions())
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	other := e.tenant(t, "other")
	m, err := e.cat.Model(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	contact := m.Object("Contact")
	// 20,000 contacts over two tenants, a rare tag on 10 of them.
	for _, tid := range []string{tenant, other} {
		if _, err := e.db.Owner.Exec(ctx, `INSERT INTO records (tenant_id, object_id, id, tags)
			SELECT $1, $2, gen_random_uuid(), CASE WHEN g % 1000 = 0 THEN ARRAY['industry/software', 'interest/api']
				ELSE ARRAY['industry/retail', 'interest/pricing'] END
			FROM generate_series(1, 10000) g`, tid, contact.Key); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.db.Owner.Exec(ctx, "ANALYZE records"); err != nil {
		t.Fatal(err)
	}
	const scope = "SELECT id FROM records r WHERE r.tenant_id = $1 AND r.object_id = $2 AND r.deleted_at IS NULL AND "
	rare := []string{"industry/software"}
	cases := map[string]string{
		"overlap":  explain(t, e.db, tenant, scope+"r.tags && $3::text[]", tenant, contact.Key, rare),
		"contains": explain(t, e.db, tenant, scope+"r.tags @> $3::text[]", tenant, contact.Key, rare),
	}
	// The condition language's own predicate.
	c, err := condition.Compile(m, contact, []byte(`{"tags": "hasAll", "value": ["industry/software", "interest/api"]}`))
	if err != nil {
		t.Fatal(err)
	}
	pred, args := c.SQL("r", 3, time.Now())
	cases["condition hasAll"] = explain(t, e.db, tenant, scope+pred, append([]any{tenant, contact.Key}, args...)...)
	for name, plan := range cases {
		if !strings.Contains(plan, "Bitmap Index Scan on records_tags_idx") {
			t.Errorf("%s: the tag filter does not use the GIN index:\n%s", name, plan)
		}
	}
	// The marks are what make it work: without them the same query cannot
	// use the index under row-level security. (pg_proc is per database, so
	// this changes the test's own database only.)
	for _, f := range []string{"arrayoverlap", "arraycontains", "arraycontained"} {
		var leakproof bool
		if err := e.db.Owner.QueryRow(ctx, "SELECT proleakproof FROM pg_proc WHERE oid = $1::regprocedure", "pg_catalog."+f+"(anyarray, anyarray)").Scan(&leakproof); err != nil {
			t.Fatal(err)
		}
		if !leakproof {
			t.Errorf("%s is not marked LEAKPROOF", f)
		}
		if _, err := e.db.Owner.Exec(ctx, "ALTER FUNCTION pg_catalog."+f+"(anyarray, anyarray) NOT LEAKPROOF"); err != nil {
			t.Fatal(err)
		}
	}
	e.db.App.Reset() // no plan cached from before
	plan := explain(t, e.db, tenant, scope+"r.tags && $3::text[]", tenant, contact.Key, rare)
	if strings.Contains(plan, "records_tags_idx") {
		t.Errorf("without LEAKPROOF marks the GIN index was still used; the control is broken:\n%s", plan)
	}
}
