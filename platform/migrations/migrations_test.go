package migrations_test

import (
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/migrations"
)

func TestConcurrentMigratorsApplyEachMigrationOnce(t *testing.T) {
	url := dbtest.NewEmpty(t)
	ctx := t.Context()
	const servers = 4
	var wg sync.WaitGroup
	applied := make([][]migrations.Result, servers)
	errs := make([]error, servers)
	for i := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = migrations.Up(ctx, url, nil)
		}()
	}
	wg.Wait()
	total := 0
	for i := range servers {
		if errs[i] != nil {
			t.Fatalf("migrator %d: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	st, err := migrations.List(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations listed")
	}
	if total != len(st) {
		t.Fatalf("the migrators applied %d migrations in all, want each of %d exactly once", total, len(st))
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d (%s) not applied", s.Version, s.Name)
		}
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM lattice_migrations WHERE version_id > 0").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != len(st) {
		t.Fatalf("lattice_migrations records %d versions, want %d", rows, len(st))
	}
	// Running again is a no-op.
	again, err := migrations.Up(ctx, url, nil)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %d (err %v), want 0", len(again), err)
	}
}

// Roles are shared by the whole cluster while the migration lock is per
// database, so migrations of different databases must not collide on them
// (CI once failed with "tuple concurrently updated" from ALTER ROLE).
func TestMigratingSeveralDatabasesAtOnce(t *testing.T) {
	const databases = 4
	urls := make([]string, databases)
	for i := range urls {
		urls[i] = dbtest.NewEmpty(t)
	}
	ctx := t.Context()
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make([]error, databases)
		for i, url := range urls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = migrations.Up(ctx, url, nil)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, database %d: %v", round, i, err)
			}
		}
	}
}

func TestDigestIsStable(t *testing.T) {
	a, err := migrations.Digest()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := migrations.Digest()
	if a != b || len(a) != 12 {
		t.Fatalf("digest %q then %q; want the same 12 hex characters", a, b)
	}
}

// TestNumericSlotFilterUsesIndexUnderRLS proves that, as the app role under
// row-level security, a range filter on a numeric slot is an index
// condition rather than a filter applied to every row of the object.
func TestNumericSlotFilterUsesIndexUnderRLS(t *testing.T) {
	db := dbtest.New(t)
	ctx := t.Context()
	var tenant string
	if err := db.Owner.QueryRow(ctx, "INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme') RETURNING id").Scan(&tenant); err != nil {
		t.Fatal(err)
	}
	obj := "00000000-0000-4000-8000-000000000001"
	if _, err := db.Owner.Exec(ctx, `INSERT INTO records (tenant_id, object_id, id, n1)
		SELECT $1, $2, gen_random_uuid(), g FROM generate_series(1, 2000) g`, tenant, obj); err != nil {
		t.Fatal(err)
	}
	var full strings.Builder
	err := database.InTenantTx(ctx, db.App, tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
			return err
		}
		r, err := tx.Query(ctx, `EXPLAIN (FORMAT TEXT) SELECT id FROM records
			WHERE tenant_id = $1 AND object_id = $2 AND n1 >= 1990 ORDER BY n1, id LIMIT 5`, tenant, obj)
		if err != nil {
			return err
		}
		for r.Next() {
			var line string
			if err := r.Scan(&line); err != nil {
				return err
			}
			full.WriteString(line + "\n")
		}
		return r.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(full.String(), "Index Cond") || !regexpIndexCondN1.MatchString(full.String()) {
		t.Fatalf("the numeric slot filter is not an index condition:\n%s", full.String())
	}
}

var regexpIndexCondN1 = regexp.MustCompile(`Index Cond: .*n1 >= `)
