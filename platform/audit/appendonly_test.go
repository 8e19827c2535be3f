package audit_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
)

// The server's role can add audit rows and read them, and nothing else:
// every UPDATE, DELETE and TRUNCATE it sends is refused by PostgreSQL,
// however it is written, also with the purge flag set by hand.
func TestAppRoleCannotUpdateOrDeleteAuditRows(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.tenant(t, "tenant-a")
	e.append(t, a,
		audit.Entry{Actor: "user:1", Action: "record.updated", Object: "Lead", Changes: raw(`{"email":{"old":"a@x","new":"b@x"}}`)},
		audit.Entry{Actor: "cli", Action: "schema.changed", At: time.Now().Add(-800 * 24 * time.Hour)},
	)
	var firstID int64
	if err := e.db.Owner.QueryRow(ctx, "SELECT min(id) FROM audit_log WHERE tenant_id = $1", a).Scan(&firstID); err != nil {
		t.Fatal(err)
	}

	// The privileges themselves.
	for _, priv := range []string{"UPDATE", "DELETE", "TRUNCATE"} {
		var has bool
		if err := e.db.Owner.QueryRow(ctx, "SELECT has_table_privilege('lattice_app', 'audit_log', $1)", priv).Scan(&has); err != nil {
			t.Fatal(err)
		}
		if has {
			t.Errorf("lattice_app has %s on audit_log", priv)
		}
	}
	for _, priv := range []string{"SELECT", "INSERT"} {
		var has bool
		if err := e.db.Owner.QueryRow(ctx, "SELECT has_table_privilege('lattice_app', 'audit_log', $1)", priv).Scan(&has); err != nil {
			t.Fatal(err)
		}
		if !has {
			t.Errorf("lattice_app lacks %s on audit_log", priv)
		}
	}

	// Handcrafted statements, in the tenant's own scope and out of it.
	attacks := []string{
		"UPDATE audit_log SET actor = 'nobody'",
		"UPDATE audit_log SET changes = NULL WHERE tenant_id = lattice_current_tenant()",
		"UPDATE audit_log SET at = now() - interval '10 years' WHERE id = " + itoa(firstID),
		"DELETE FROM audit_log",
		"DELETE FROM audit_log WHERE id = " + itoa(firstID),
		"WITH gone AS (DELETE FROM audit_log RETURNING id) SELECT count(*) FROM gone",
		"DELETE FROM audit_log USING tenants WHERE tenants.id = audit_log.tenant_id",
		"TRUNCATE audit_log",
		"SELECT 1; DELETE FROM audit_log",
	}
	for _, scoped := range []bool{true, false} {
		for _, flag := range []bool{false, true} {
			for _, q := range attacks {
				err := pgx.BeginFunc(ctx, e.db.App, func(tx pgx.Tx) error {
					if scoped {
						if _, err := tx.Exec(ctx, database.SetTenantSQL, a); err != nil {
							return err
						}
					}
					if flag {
						// What the purge function sets: it must not help.
						if _, err := tx.Exec(ctx, "SELECT set_config('lattice.audit_purge', 'on', true)"); err != nil {
							return err
						}
					}
					_, err := tx.Exec(ctx, q)
					return err
				})
				if !database.IsCode(err, "42501") || !strings.Contains(err.Error(), "permission denied") {
					t.Errorf("scoped=%v flag=%v %q: err = %v, want permission denied", scoped, flag, q, err)
				}
			}
		}
	}
	// Nothing changed.
	if n := e.count(t, "tenant_id = $1 AND actor IN ('user:1', 'cli')", a); n != 2 {
		t.Fatalf("after the attacks tenant A has %d of its 2 entries", n)
	}

	// The owner (anyone but the purge function) is refused by the trigger.
	for _, q := range []string{"UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log", "TRUNCATE audit_log"} {
		_, err := e.db.Owner.Exec(ctx, q)
		if !database.IsCode(err, "42501") || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("owner %q: err = %v, want the append-only trigger's refusal", q, err)
		}
	}
	if n := e.count(t, "tenant_id = $1", a); n != 2 {
		t.Fatalf("after the owner's attempts tenant A has %d entries, want 2", n)
	}

	// The purge function is the way to delete, for the transaction's
	// tenant only and never below the tenant's retention, whatever
	// cutoff it is given.
	b := e.tenant(t, "tenant-b")
	e.append(t, b, audit.Entry{Action: "record.created", At: time.Now().Add(-800 * 24 * time.Hour)})
	err := e.inTenant(t, a, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "SELECT lattice_audit_purge($1, now() + interval '100 years')", b)
		return err
	})
	if !database.IsCode(err, "42501") {
		t.Errorf("purging tenant B from tenant A's transaction: err = %v, want refused", err)
	}
	var purged int64
	err = e.inTenant(t, a, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, "SELECT lattice_audit_purge($1, now() + interval '100 years')", a).Scan(&purged)
	})
	if err != nil {
		t.Fatal(err)
	}
	if purged != 1 {
		t.Errorf("purge with a future cutoff deleted %d entries, want 1 (only the one older than 365 days)", purged)
	}
	if n := e.count(t, "tenant_id = $1 AND action <> 'audit.purged'", a); n != 1 {
		t.Errorf("tenant A keeps %d entries, want the recent one", n)
	}
	if n := e.count(t, "tenant_id = $1", b); n != 1 {
		t.Errorf("tenant B has %d entries after A's purge, want 1", n)
	}
	if n := e.count(t, "tenant_id = $1 AND action = 'audit.purged' AND actor = 'system' AND (details->>'deleted')::int = 1", a); n != 1 {
		t.Errorf("purge recorded %d audit.purged entries, want 1", n)
	}
	// The flag does not outlive the purge function's own DELETE.
	err = e.inTenant(t, a, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT lattice_audit_purge($1, now())", a); err != nil {
			return err
		}
		var flag string
		if err := tx.QueryRow(ctx, "SELECT coalesce(current_setting('lattice.audit_purge', true), '')").Scan(&flag); err != nil {
			return err
		}
		if flag == "on" {
			t.Error("the purge flag is still on after lattice_audit_purge returned")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Deleting a tenant deletes its audit log with it (ON DELETE CASCADE),
// which the append-only trigger lets through.
func TestDeletingATenantDeletesItsLog(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	e.append(t, a, audit.Entry{Action: "auth.login"}, audit.Entry{Action: "auth.logout"})
	e.append(t, b, audit.Entry{Action: "auth.login"})
	// As the app role, which the tenants service deletes tenants with.
	if _, err := e.db.App.Exec(t.Context(), "DELETE FROM tenants WHERE id = $1", a); err != nil {
		t.Fatalf("delete tenant: %v", err)
	}
	if n := e.count(t, "tenant_id = $1", a); n != 0 {
		t.Errorf("deleted tenant keeps %d audit rows", n)
	}
	if n := e.count(t, "tenant_id = $1", b); n != 1 {
		t.Errorf("other tenant has %d audit rows, want 1", n)
	}
}

// Tenant B never sees tenant A's entries, by the API or by hand.
func TestTenantIsolation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	rec := "7d1f4c2e-1111-4a4a-8888-000000000001"
	e.append(t, a,
		audit.Entry{Actor: "user:a", Action: "record.created", Object: "Lead", RecordID: rec},
		audit.Entry{Actor: "user:a", Action: "auth.login"},
	)
	e.append(t, b, audit.Entry{Actor: "user:b", Action: "auth.login"})

	for _, q := range []audit.Query{{}, {RecordID: rec}, {Actor: "user:a"}, {Action: "record.*"}, {Object: "Lead"}} {
		got := e.all(t, b, q)
		for _, en := range got {
			if en.Actor == "user:a" {
				t.Errorf("tenant B listing %+v sees tenant A's entry %+v", q, en)
			}
		}
	}
	if got := e.all(t, b, audit.Query{}); len(got) != 1 || got[0].Actor != "user:b" {
		t.Errorf("tenant B lists %+v, want its own login only", got)
	}
	hist, _, err := e.log.History(ctx, b, rec, "", 0)
	if err != nil || len(hist) != 0 {
		t.Errorf("tenant B's history of A's record: %v, %v; want none", hist, err)
	}
	var buf strings.Builder
	if n, err := e.log.Export(ctx, b, audit.Query{}, &buf); err != nil || n != 1 || strings.Contains(buf.String(), "user:a") {
		t.Errorf("tenant B exports %d entries (%v): %s", n, err, buf.String())
	}
	// A cursor of A's listing does not reach A's rows either.
	_, next, err := e.log.List(ctx, a, audit.Query{Limit: 1})
	if err != nil || next == "" {
		t.Fatalf("List A: next=%q err=%v", next, err)
	}
	if got, _, err := e.log.List(ctx, b, audit.Query{After: next}); err != nil || len(got) > 1 || (len(got) == 1 && got[0].Actor != "user:b") {
		t.Errorf("tenant B with A's cursor: %+v, %v", got, err)
	}

	// Handcrafted reads and writes under B's scope.
	err = e.inTenant(t, b, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE tenant_id = $1 OR true", a).Scan(&n); err != nil {
			return err
		}
		if n != 1 {
			t.Errorf("under B's scope a handcrafted read sees %d rows, want B's 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = e.inTenant(t, b, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO audit_log (tenant_id, actor, action) VALUES ($1, 'forger', 'auth.login')", a)
		return err
	})
	if !database.IsCode(err, "42501") {
		t.Errorf("inserting into A's log under B's scope: %v, want a row-level security violation", err)
	}
	// Append in a transaction of another tenant fails the same way.
	err = e.inTenant(t, b, func(tx pgx.Tx) error {
		return e.log.Append(ctx, tx, a, audit.Entry{Action: "auth.login"})
	})
	if !database.IsCode(err, "42501") {
		t.Errorf("Append for A in B's transaction: %v, want a row-level security violation", err)
	}
	// Without a tenant nothing is visible and nothing can be written.
	var n int
	if err := e.db.App.QueryRow(ctx, "SELECT count(*) FROM audit_log").Scan(&n); err != nil || n != 0 {
		t.Errorf("unscoped read: %d rows, %v", n, err)
	}
	if err := e.log.Append(ctx, nil, "", audit.Entry{Action: "x"}); err != database.ErrNoTenant {
		t.Errorf("Append without a tenant: %v, want ErrNoTenant", err)
	}
	if n := e.count(t, "actor = 'forger'"); n != 0 {
		t.Errorf("%d forged rows", n)
	}
}

// Append commits and rolls back with the caller's transaction, fills
// what the request knows, and validates entries.
func TestAppend(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.tenant(t, "tenant-a")

	// Rolled back with the change.
	_ = e.inTenant(t, a, func(tx pgx.Tx) error {
		if err := e.log.Append(ctx, tx, a, audit.Entry{Action: "permission.changed"}); err != nil {
			t.Fatal(err)
		}
		return context.Canceled
	})
	if n := e.count(t, "tenant_id = $1", a); n != 0 {
		t.Fatalf("a rolled-back Append left %d rows", n)
	}

	// Defaults from the request, explicit values win.
	rctx := audit.WithRequest(ctx, audit.Request{ID: "req-1", Address: "203.0.113.7", Actor: "user:42"})
	rctx = audit.WithRequest(rctx, audit.Request{Address: "198.51.100.1"}) // keeps ID and Actor
	err := e.inTenant(t, a, func(tx pgx.Tx) error {
		return e.log.Append(rctx, tx, a,
			audit.Entry{Action: "token.created"},
			audit.Entry{Action: "token.revoked", Actor: "cli", RequestID: "req-2", Address: "::1"},
		)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.append(t, a, audit.Entry{Action: "auth.logout"}) // no request: system
	got := e.all(t, a, audit.Query{})
	if len(got) != 3 {
		t.Fatalf("got %d entries, want 3: %+v", len(got), got)
	}
	want := []struct{ action, actor, req, addr string }{
		{"auth.logout", "system", "", ""},
		{"token.revoked", "cli", "req-2", "::1"},
		{"token.created", "user:42", "req-1", "198.51.100.1"},
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.action || g.Actor != w.actor || g.RequestID != w.req || g.Address != w.addr {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
		if g.ID <= 0 || time.Since(g.At) > time.Minute {
			t.Errorf("entry %d: id %d at %v", i, g.ID, g.At)
		}
		if i > 0 && got[i-1].ID <= g.ID {
			t.Errorf("entries not newest first: %d then %d", got[i-1].ID, g.ID)
		}
	}

	// Invalid entries write nothing.
	for _, c := range []struct {
		entry audit.Entry
		field string
	}{
		{audit.Entry{}, "entries[1].action"},
		{audit.Entry{Action: "x", RecordID: "not-a-uuid"}, "entries[1].recordId"},
		{audit.Entry{Action: "x", Changes: raw(`[1,2]`)}, "entries[1].changes"},
		{audit.Entry{Action: "x", Details: raw(`{"a":`)}, "entries[1].details"},
		{audit.Entry{Action: "x", Actor: strings.Repeat("a", audit.MaxActorLen+1)}, "entries[1].actor"},
		{audit.Entry{Action: "x", EventID: "e1"}, "entries[1].eventId"},
	} {
		err := e.log.Append(ctx, nil, a, audit.Entry{Action: "ok"}, c.entry)
		wantInvalid(t, err, c.field, "")
	}
	if n := e.count(t, "tenant_id = $1", a); n != 3 {
		t.Fatalf("invalid Appends wrote rows: %d, want 3", n)
	}

	// Entries of one event are recorded once, however often appended.
	ev := "0b5e9a6c-2222-4b4b-9999-000000000002"
	for range 3 {
		e.append(t, a, audit.Entry{Action: "record.scored", EventID: ev, RecordID: "7d1f4c2e-1111-4a4a-8888-000000000001"},
			audit.Entry{Action: "record.scored", EventID: ev, RecordID: "7d1f4c2e-1111-4a4a-8888-000000000002"})
	}
	if n := e.count(t, "tenant_id = $1 AND event_id = $2", a, ev); n != 2 {
		t.Fatalf("an event appended 3 times has %d rows, want 2", n)
	}
	hist, _, err := e.log.History(ctx, a, "7d1f4c2e-1111-4a4a-8888-000000000002", "", 10)
	if err != nil || len(hist) != 1 || hist[0].EventID != ev {
		t.Fatalf("history: %+v, %v", hist, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
