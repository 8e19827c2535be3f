// Package migrations holds Lattice's SQL migrations, embedded in the binary,
// and applies them in order with goose. A PostgreSQL session advisory lock
// serialises concurrent migrators, so two servers starting at once apply
// each migration exactly once. Applied versions are recorded in the
// lattice_migrations table.
//
// Migrations run as the database owner (the operator's DATABASE_URL), which
// also creates the lattice_app role the server connects as.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver goose needs
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed sql/*.sql
var files embed.FS

// AppRole is the PostgreSQL role the server connects as. The first migration
// creates it without superuser or BYPASSRLS, so row-level security applies.
const AppRole = "lattice_app"

// lockID is the advisory lock key goose holds while migrating ("lattice" in ASCII).
const lockID = 0x6c617474696365

// Result is one applied migration.
type Result struct {
	Version int64
	Name    string
}

// Status is the state of one known migration.
type Status struct {
	Version int64
	Name    string
	Applied bool
}

func provider(db *sql.DB, logger *slog.Logger) (*goose.Provider, error) {
	sub, err := fs.Sub(files, "sql")
	if err != nil {
		return nil, fmt.Errorf("open embedded migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID))
	if err != nil {
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	opts := []goose.ProviderOption{
		goose.WithSessionLocker(locker),
		goose.WithTableName("lattice_migrations"),
		goose.WithDisableGlobalRegistry(true),
	}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// Up applies every pending migration to the database at ownerURL and returns
// those it applied (none when the database is current).
func Up(ctx context.Context, ownerURL string, logger *slog.Logger) ([]Result, error) {
	db, err := sql.Open("pgx", ownerURL)
	if err != nil {
		return nil, fmt.Errorf("open database for migrations: %w", err)
	}
	defer db.Close()
	p, err := provider(db, logger)
	if err != nil {
		return nil, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	if err := markLeakproof(ctx, db, logger); err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(results))
	for _, r := range results {
		out = append(out, Result{Version: r.Source.Version, Name: r.Source.Path})
	}
	return out, nil
}

// List reports every embedded migration and whether it is applied.
func List(ctx context.Context, ownerURL string) ([]Status, error) {
	db, err := sql.Open("pgx", ownerURL)
	if err != nil {
		return nil, fmt.Errorf("open database for migrations: %w", err)
	}
	defer db.Close()
	p, err := provider(db, nil)
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("read migration status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// Digest identifies the embedded migration set; test helpers name template
// databases after it so a changed migration builds a fresh template.
func Digest() (string, error) {
	entries, err := fs.ReadDir(files, "sql")
	if err != nil {
		return "", fmt.Errorf("list embedded migrations: %w", err)
	}
	h := sha256.New()
	// What Up does besides the SQL files counts too.
	fmt.Fprintf(h, "leakproof:%v\x00", leakproofFunctions)
	for _, e := range entries {
		b, err := fs.ReadFile(files, "sql/"+e.Name())
		if err != nil {
			return "", fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		fmt.Fprintf(h, "%s\x00%d\x00", e.Name(), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

// leakproofFunctions are PostgreSQL's numeric comparisons. Under row-level
// security the planner may use a condition in an index scan only if its
// operator is LEAKPROOF; text, timestamptz, uuid and boolean comparisons
// are, numeric's are not (although they cannot fail or reveal anything for
// any input), so without this a filter on a numeric slot column scans every
// record of the object instead of using the slot's index: measured on 1M
// records, 611 ms instead of 0.4 ms (docs/benchmarks.md).
var leakproofFunctions = []string{
	"numeric_eq(numeric, numeric)", "numeric_ne(numeric, numeric)",
	"numeric_lt(numeric, numeric)", "numeric_le(numeric, numeric)",
	"numeric_gt(numeric, numeric)", "numeric_ge(numeric, numeric)",
	"numeric_cmp(numeric, numeric)",
	// Array overlap and containment (&&, @>, <@), so that tag filters can
	// use the GIN index on records.tags (docs/tags.md).
	"arrayoverlap(anyarray, anyarray)", "arraycontains(anyarray, anyarray)",
	"arraycontained(anyarray, anyarray)",
}

// markLeakproof marks the numeric comparisons LEAKPROOF in this database.
// It runs after every migration, not once, because the mark lives on
// built-in functions and a dump restored into a new cluster loses it. Only
// a superuser may set it; anyone else gets a warning and slower queries.
func markLeakproof(ctx context.Context, db *sql.DB, logger *slog.Logger) error {
	var super bool
	if err := db.QueryRowContext(ctx, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user").Scan(&super); err != nil {
		return fmt.Errorf("check superuser: %w", err)
	}
	if !super {
		if logger != nil {
			logger.Warn("not a superuser: numeric comparisons stay non-leakproof, so filters on numeric fields cannot use their indexes under row-level security")
		}
		return nil
	}
	// Concurrent migrators would collide on the catalog rows: serialise
	// them and change only what is not marked yet.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("mark numeric comparisons leakproof: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(lockID)); err != nil {
		return fmt.Errorf("lock for leakproof marks: %w", err)
	}
	for _, f := range leakproofFunctions {
		var done bool
		if err := tx.QueryRowContext(ctx, "SELECT proleakproof FROM pg_proc WHERE oid = $1::regprocedure", "pg_catalog."+f).Scan(&done); err != nil {
			return fmt.Errorf("look up %s: %w", f, err)
		}
		if done {
			continue
		}
		if _, err := tx.ExecContext(ctx, "ALTER FUNCTION pg_catalog."+f+" LEAKPROOF"); err != nil {
			return fmt.Errorf("mark %s leakproof: %w", f, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("mark numeric comparisons leakproof: %w", err)
	}
	return nil
}
