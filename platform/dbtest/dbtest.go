// Package dbtest gives each test its own PostgreSQL database, cloned from a
// migrated template with CREATE DATABASE ... TEMPLATE: isolated, and fast
// because migrations run once per migration set, not once per test.
//
// The cluster is the one at LATTICE_TEST_DATABASE_URL, else DATABASE_URL,
// else postgres://postgres@127.0.0.1:5432/postgres; the URL's user must be
// able to create databases and roles. A cluster that does not answer fails
// the test: tests never skip for want of a database.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/migrations"
)

// DB is one test's migrated database.
type DB struct {
	// Name is the database name.
	Name string
	// OwnerURL connects as the cluster user that owns the database.
	OwnerURL string
	// AppURL connects as lattice_app, subject to row-level security.
	AppURL string
	// App is a pool on AppURL: what the server would use.
	App *pgxpool.Pool
	// Owner is a pool on OwnerURL, for setting up and inspecting state
	// behind the application's back.
	Owner *pgxpool.Pool
}

// ClusterURL returns the URL of the test cluster's maintenance database.
func ClusterURL() string {
	for _, k := range []string{"LATTICE_TEST_DATABASE_URL", "DATABASE_URL"} {
		if v := os.Getenv(k); v != "" {
			if u, err := database.WithDatabase(v, "postgres"); err == nil {
				return u
			}
		}
	}
	return "postgres://postgres@127.0.0.1:5432/postgres"
}

// lockKey serialises template builds across concurrent test binaries.
const lockKey = 0x6c61747465737400 // "lattest\0"

// New creates a fresh migrated database for t and drops it when t ends.
func New(t testing.TB) *DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster := ClusterURL()
	tpl, err := template(ctx, cluster)
	if err != nil {
		t.Fatalf("dbtest: prepare template database on %s: %v", database.Redact(cluster), err)
	}
	name := "lattice_test_" + randomHex(6)
	if err := execOn(ctx, cluster, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, tpl)); err != nil {
		t.Fatalf("dbtest: create database %s: %v", name, err)
	}
	db := &DB{Name: name}
	t.Cleanup(func() {
		if db.App != nil {
			db.App.Close()
		}
		if db.Owner != nil {
			db.Owner.Close()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := execOn(ctx, cluster, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	if db.OwnerURL, err = database.WithDatabase(cluster, name); err != nil {
		t.Fatal(err)
	}
	if db.AppURL, err = database.AppURL(db.OwnerURL, migrations.AppRole); err != nil {
		t.Fatal(err)
	}
	if db.Owner, err = database.Open(ctx, db.OwnerURL); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	if db.App, err = database.Open(ctx, db.AppURL); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	return db
}

// NewEmpty creates an empty, unmigrated database for t (for migration tests)
// and returns its owner URL. It is dropped when t ends.
func NewEmpty(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cluster := ClusterURL()
	name := "lattice_test_" + randomHex(6)
	if err := execOn(ctx, cluster, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("dbtest: create database %s on %s: %v", name, database.Redact(cluster), err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := execOn(ctx, cluster, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	u, err := database.WithDatabase(cluster, name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// template returns the name of the migrated template database for the
// current migration set, building it if needed. The build happens under an
// advisory lock and under a temporary name that is renamed when complete, so
// no test ever clones a half-migrated template.
func template(ctx context.Context, cluster string) (string, error) {
	digest, err := migrations.Digest()
	if err != nil {
		return "", err
	}
	name := "lattice_tpl_" + digest
	conn, err := pgx.Connect(ctx, cluster)
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(lockKey)); err != nil {
		return "", fmt.Errorf("lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(lockKey))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", fmt.Errorf("look up template: %w", err)
	}
	if exists {
		return name, nil
	}
	building := name + "_build"
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("drop stale template build: %w", err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", fmt.Errorf("create template: %w", err)
	}
	buildURL, err := database.WithDatabase(cluster, building)
	if err != nil {
		return "", err
	}
	if _, err := migrations.Up(ctx, buildURL, nil); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", fmt.Errorf("publish template: %w", err)
	}
	return name, nil
}

func execOn(ctx context.Context, connURL, sql string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", database.Redact(connURL), err)
	}
	defer conn.Close(ctx)
	// CREATE DATABASE ... TEMPLATE fails while another session is briefly
	// connected to the template (e.g. a concurrent CREATE); retry a little.
	for attempt := 0; ; attempt++ {
		_, err = conn.Exec(ctx, sql)
		if err == nil || attempt == 20 || !database.IsCode(err, "55006") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
