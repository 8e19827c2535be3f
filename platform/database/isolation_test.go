package database_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
)

// fixture inserts two tenants, each with one user, membership, token and
// session, as the owner (behind RLS's back), and returns their ids.
func fixture(t *testing.T, db *dbtest.DB) (a, b string) {
	t.Helper()
	ctx := t.Context()
	for _, slug := range []string{"tenant-a", "tenant-b"} {
		var tid, uid string
		err := db.Owner.QueryRow(ctx, "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&tid)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Owner.QueryRow(ctx, "INSERT INTO users (email, password_hash) VALUES ($1, 'x') RETURNING id", slug+"@example.com").Scan(&uid)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			"INSERT INTO tenant_members (tenant_id, user_id, role) VALUES ($1, $2, 'admin')",
			"INSERT INTO api_tokens (tenant_id, name, user_id, secret_hash, hint) VALUES ($1, 'k', $2, decode(md5(random()::text), 'hex'), 'hint')",
			"INSERT INTO sessions (tenant_id, user_id, secret_hash, expires_at) VALUES ($1, $2, decode(md5(random()::text), 'hex'), now() + interval '1 hour')",
		} {
			if _, err := db.Owner.Exec(ctx, q, tid, uid); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
		if slug == "tenant-a" {
			a = tid
		} else {
			b = tid
		}
	}
	return a, b
}

var tenantTables = []string{"tenant_members", "api_tokens", "sessions"}

func TestAppRoleIsNotPrivileged(t *testing.T) {
	db := dbtest.New(t)
	var super, bypass bool
	err := db.App.QueryRow(t.Context(), "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").Scan(&super, &bypass)
	if err != nil {
		t.Fatal(err)
	}
	if super || bypass {
		t.Fatalf("app role: superuser=%v bypassrls=%v; want neither", super, bypass)
	}
	// Every table with a tenant_id column must have RLS enabled and forced.
	rows, err := db.Owner.Query(t.Context(), `SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
		WHERE a.attname = 'tenant_id' AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`)
	if err != nil {
		t.Fatal(err)
	}
	type tbl struct {
		name          string
		rls, forceRLS bool
	}
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tbl, error) {
		var x tbl
		return x, r.Scan(&x.name, &x.rls, &x.forceRLS)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) < len(tenantTables) {
		t.Fatalf("found %d tenant tables, want at least %d", len(tables), len(tenantTables))
	}
	for _, x := range tables {
		if !x.rls || !x.forceRLS {
			t.Errorf("table %s: row security enabled=%v forced=%v; want both", x.name, x.rls, x.forceRLS)
		}
	}
}

func TestTenantIDFirstInEveryKey(t *testing.T) {
	db := dbtest.New(t)
	// Every primary and unique key of a table with tenant_id, and every
	// foreign key from one such table to another, must start with tenant_id,
	// so the schema can be distributed by tenant. Foreign keys to global
	// tables (tenants, users) are references to what Citus calls reference
	// tables and are exempt.
	rows, err := db.Owner.Query(t.Context(), `SELECT con.conrelid::regclass::text, con.conname, att.attname
		FROM pg_constraint con
		JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
		WHERE con.connamespace = 'public'::regnamespace
		AND (con.contype IN ('p', 'u') OR (con.contype = 'f'
			AND EXISTS (SELECT 1 FROM pg_attribute r WHERE r.attrelid = con.confrelid AND r.attname = 'tenant_id')))
		AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = con.conrelid AND t.attname = 'tenant_id')`)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for rows.Next() {
		var table, con, first string
		if err := rows.Scan(&table, &con, &first); err != nil {
			t.Fatal(err)
		}
		n++
		if first != "tenant_id" {
			t.Errorf("%s.%s starts with %s, want tenant_id", table, con, first)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no keys found on tenant tables")
	}
}

func TestNoTenantSetSeesNothing(t *testing.T) {
	db := dbtest.New(t)
	a, _ := fixture(t, db)
	ctx := t.Context()
	for _, table := range tenantTables {
		var n int
		// A plain statement, outside any tenant transaction.
		if err := db.App.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		if n != 0 {
			t.Errorf("%s without a tenant: saw %d rows, want 0", table, n)
		}
		// After a tenant transaction on the same pool, the setting must be gone.
		err := database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n)
		})
		if err != nil || n != 1 {
			t.Fatalf("%s in tenant A: n=%d err=%v, want 1 row", table, n, err)
		}
		if err := db.App.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s after a tenant transaction: n=%d err=%v, want 0 (setting leaked)", table, n, err)
		}
	}
	// Writes without a tenant fail.
	_, err := db.App.Exec(ctx, "UPDATE api_tokens SET name = 'hijacked'")
	if err != nil {
		t.Fatal(err)
	}
	var hijacked int
	if err := db.Owner.QueryRow(ctx, "SELECT count(*) FROM api_tokens WHERE name = 'hijacked'").Scan(&hijacked); err != nil || hijacked != 0 {
		t.Fatalf("update without a tenant changed %d rows (err %v)", hijacked, err)
	}
	if err := database.InTenantTx(ctx, db.App, "", func(pgx.Tx) error { return nil }); err != database.ErrNoTenant {
		t.Fatalf("InTenantTx with no tenant: %v, want ErrNoTenant", err)
	}
}

func TestTenantCannotReachAnotherTenant(t *testing.T) {
	db := dbtest.New(t)
	a, b := fixture(t, db)
	ctx := t.Context()
	err := database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		for _, table := range tenantTables {
			var n int
			// A handcrafted filter naming B's id explicitly.
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1", b).Scan(&n); err != nil {
				return err
			}
			if n != 0 {
				t.Errorf("tenant A read %d of B's rows in %s", n, table)
			}
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1 OR true", b).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				t.Errorf("tenant A with OR true saw %d rows of %s, want only its own 1", n, table)
			}
			tag, err := tx.Exec(ctx, "DELETE FROM "+table+" WHERE tenant_id = $1", b)
			if err != nil {
				return err
			}
			if tag.RowsAffected() != 0 {
				t.Errorf("tenant A deleted %d of B's rows in %s", tag.RowsAffected(), table)
			}
		}
		tag, err := tx.Exec(ctx, "UPDATE api_tokens SET name = 'hijacked' WHERE tenant_id = $1", b)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 0 {
			t.Errorf("tenant A updated %d of B's tokens", tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Moving a row into B, or inserting one for B, violates the policy.
	for _, q := range []string{
		"UPDATE api_tokens SET tenant_id = '" + b + "'",
		"INSERT INTO api_tokens (tenant_id, name, integration, role, secret_hash, hint) VALUES ('" + b + "', 'x', 'erp', 'member', '\\x00', 'h')",
	} {
		err := database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, q)
			return err
		})
		if !database.IsCode(err, "42501") { // insufficient_privilege: new row violates row-level security policy
			t.Errorf("%s: err = %v, want a row-level security violation", q, err)
		}
	}
	// Switching tenant mid-transaction is not a way out: set_config is the
	// only lever, and the app role may use it, so the guarantee is that the
	// application sets it once per transaction; RLS then holds for that
	// transaction. Prove the owner-side data is intact.
	var names []string
	rows, err := db.Owner.Query(ctx, "SELECT name FROM api_tokens ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "k,k" {
		t.Fatalf("tokens after attacks: %v, want [k k]", names)
	}
}

func TestSendTenantBatchIsOneScopedTransaction(t *testing.T) {
	db := dbtest.New(t)
	a, b := fixture(t, db)
	ctx := t.Context()
	batch := &pgx.Batch{}
	batch.Queue("SELECT count(*) FROM api_tokens")
	batch.Queue("SELECT txid_current()")
	batch.Queue("SELECT txid_current()")
	br, err := database.SendTenantBatch(ctx, db.App, a, batch)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var tx1, tx2 int64
	if err := br.QueryRow().Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := br.QueryRow().Scan(&tx1); err != nil {
		t.Fatal(err)
	}
	if err := br.QueryRow().Scan(&tx2); err != nil {
		t.Fatal(err)
	}
	if err := br.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("batch for tenant A saw %d tokens, want 1", n)
	}
	if tx1 != tx2 {
		t.Errorf("batch statements ran in transactions %d and %d, want one", tx1, tx2)
	}
	// The setting does not outlive the batch on the pooled connection.
	if err := db.App.QueryRow(ctx, "SELECT count(*) FROM api_tokens").Scan(&n); err != nil || n != 0 {
		t.Errorf("after the batch: n=%d err=%v, want 0", n, err)
	}
	_ = b
	if _, err := database.SendTenantBatch(context.Background(), db.App, "", &pgx.Batch{}); err != database.ErrNoTenant {
		t.Fatalf("SendTenantBatch with no tenant: %v, want ErrNoTenant", err)
	}
}
