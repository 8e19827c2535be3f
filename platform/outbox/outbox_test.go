package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/outbox"
)

var errRollback = errors.New("roll back on purpose")

// Many concurrent writers, some of which roll back, while a consumer runs:
// the delivered events are exactly the committed writes, and each tenant's
// stream is 1..N without gaps, delivered in order.
func TestEveryCommittedWriteHasItsEventAndNoOther(t *testing.T) {
	db := dbtest.New(t)
	createScratch(t, db)
	tenants := []string{newTenant(t, db, "tenant-a"), newTenant(t, db, "tenant-b")}
	col := &collector{}
	c := newConsumer(t, db, outbox.Config{Name: "audit", BatchSize: 7}, col.handle)

	runCtx, stop := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- c.Run(runCtx, time.Millisecond) }()

	const writers, perWriter = 8, 30
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				tenant := tenants[(w+i)%2]
				err := database.InTenantTx(context.Background(), db.App, tenant, func(tx pgx.Tx) error {
					var row int64
					if err := tx.QueryRow(context.Background(), "INSERT INTO scratch (tenant_id) VALUES ($1) RETURNING id", tenant).Scan(&row); err != nil {
						return err
					}
					if _, err := outbox.Append(context.Background(), tx, tenant, "scratch.created", rowPayload{Row: row}); err != nil {
						return err
					}
					if (w*perWriter+i)%4 == 0 {
						return errRollback
					}
					return nil
				})
				if err != nil && !errors.Is(err, errRollback) {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	stop()
	if err := <-runDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
	drain(t, c)

	// The committed writes, as the owner sees them.
	committed := map[string]bool{}
	perTenant := map[string]int64{}
	rows, err := db.Owner.Query(context.Background(), "SELECT tenant_id::text, id FROM scratch")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var tenant string
		var id int64
		if err := rows.Scan(&tenant, &id); err != nil {
			t.Fatal(err)
		}
		committed[key(tenant, id)] = true
		perTenant[tenant]++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	wantCommitted := writers * perWriter * 3 / 4
	if len(committed) != wantCommitted {
		t.Fatalf("%d writes committed, want %d", len(committed), wantCommitted)
	}

	delivered := map[string]bool{}
	for _, e := range col.events() {
		k := key(e.TenantID, rowOf(t, e))
		if delivered[k] {
			t.Errorf("event for %s delivered twice", k)
		}
		delivered[k] = true
		if !committed[k] {
			t.Errorf("event seq %d for %s delivered, but its write rolled back", e.Seq, k)
		}
	}
	for k := range committed {
		if !delivered[k] {
			t.Errorf("committed write %s: its event was never delivered", k)
		}
	}
	for _, tenant := range tenants {
		got := col.seqs(tenant)
		if want := seqRange(1, perTenant[tenant]); !slices.Equal(got, want) {
			t.Errorf("tenant %s: delivered seqs %v, want 1..%d in order", tenant, got, perTenant[tenant])
		}
		events, err := outbox.Events(context.Background(), db.App, tenant, 0, outbox.MaxEventsLimit)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(events)) != perTenant[tenant] || events[len(events)-1].Seq != perTenant[tenant] {
			t.Errorf("tenant %s: stream holds %d events, want %d numbered 1..%[3]d", tenant, len(events), perTenant[tenant])
		}
	}
}

// A rolled-back write leaves no event and no gap: the next commit takes the
// number the rolled-back one had.
func TestRolledBackWriteHasNoEvent(t *testing.T) {
	db := dbtest.New(t)
	createScratch(t, db)
	a := newTenant(t, db, "tenant-a")
	ctx := context.Background()
	col := &collector{}
	c := newConsumer(t, db, outbox.Config{Name: "audit"}, col.handle)

	first := appendEvent(t, db, a, rowPayload{Row: 1})
	if first.Seq != 1 || first.TenantID != a || first.ID == "" || first.Topic != "test.event" || first.CreatedAt.IsZero() {
		t.Fatalf("first event %+v, want seq 1 of tenant %s with id, topic and time", first, a)
	}

	// Roll back explicitly, and through an error returned to InTenantTx.
	tx := beginTenant(t, db, a)
	e, err := outbox.Append(ctx, tx, a, "test.event", rowPayload{Row: 2})
	if err != nil || e.Seq != 2 {
		t.Fatalf("append in doomed transaction: seq %d err %v, want seq 2", e.Seq, err)
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	err = database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		if _, err := outbox.Append(ctx, tx, a, "test.event", rowPayload{Row: 3}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTenantTx: %v", err)
	}

	if n := drain(t, c); n != 1 {
		t.Fatalf("delivered %d events, want only the committed one", n)
	}
	if got := col.events(); rowOf(t, got[0]) != 1 {
		t.Fatalf("delivered %+v, want the row 1 event", got[0])
	}

	next := appendEvent(t, db, a, rowPayload{Row: 4})
	if next.Seq != 2 {
		t.Fatalf("next committed event has seq %d, want 2 (no gap)", next.Seq)
	}
	if n := drain(t, c); n != 1 {
		t.Fatalf("delivered %d, want 1", n)
	}
	got := col.events()
	if len(got) != 2 || got[1].Seq != 2 || rowOf(t, got[1]) != 4 {
		t.Fatalf("delivered %+v, want seq 2 with row 4 last", got)
	}
	var events, head int64
	if err := db.Owner.QueryRow(ctx, `SELECT (SELECT count(*) FROM outbox_events), (SELECT last_seq FROM outbox_heads WHERE tenant_id = $1)`, a).Scan(&events, &head); err != nil {
		t.Fatal(err)
	}
	if events != 2 || head != 2 {
		t.Fatalf("outbox holds %d events with head %d, want 2 and 2", events, head)
	}
}

// Transactions that start in one order and commit in another are delivered
// in commit order, none is missed, and a tenant's open transaction does not
// hold up another tenant's stream.
func TestCommitOrderNotStartOrder(t *testing.T) {
	db := dbtest.New(t)
	createScratch(t, db)
	a := newTenant(t, db, "tenant-a")
	b := newTenant(t, db, "tenant-b")
	ctx := context.Background()
	col := &collector{}
	c := newConsumer(t, db, outbox.Config{Name: "audit"}, col.handle)

	// tx1 starts and writes first; tx2 starts later, writes, appends and
	// commits while tx1 is still open.
	tx1 := beginTenant(t, db, a)
	row1 := insertScratch(t, tx1, a)
	tx2 := beginTenant(t, db, a)
	row2 := insertScratch(t, tx2, a)
	if row2 <= row1 {
		t.Fatalf("scratch ids %d then %d; want increasing", row1, row2)
	}
	if _, err := outbox.Append(ctx, tx2, a, "scratch.created", rowPayload{Row: row2}); err != nil {
		t.Fatal(err)
	}
	if err := tx2.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runOnce(t, c); n != 1 {
		t.Fatalf("first run delivered %d, want tx2's event", n)
	}
	// Now tx1 appends and commits: its event comes after tx2's.
	if _, err := outbox.Append(ctx, tx1, a, "scratch.created", rowPayload{Row: row1}); err != nil {
		t.Fatal(err)
	}
	if err := tx1.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := runOnce(t, c); n != 1 {
		t.Fatalf("second run delivered %d, want tx1's event", n)
	}
	got := col.events()
	if len(got) != 2 || rowOf(t, got[0]) != row2 || got[0].Seq != 1 || rowOf(t, got[1]) != row1 || got[1].Seq != 2 {
		t.Fatalf("delivered rows %d (seq %d), %d (seq %d); want %d then %d, seqs 1 and 2",
			rowOf(t, got[0]), got[0].Seq, rowOf(t, got[1]), got[1].Seq, row2, row1)
	}

	// tx3 appends first and stays open; tx4's append waits for it, so tx4
	// cannot commit a higher seq while a lower one is still uncommitted.
	tx3 := beginTenant(t, db, a)
	row3 := insertScratch(t, tx3, a)
	if e, err := outbox.Append(ctx, tx3, a, "scratch.created", rowPayload{Row: row3}); err != nil || e.Seq != 3 {
		t.Fatalf("tx3 append: seq %d err %v, want 3", e.Seq, err)
	}
	tx4 := beginTenant(t, db, a)
	row4 := insertScratch(t, tx4, a)
	tx4Done := make(chan error, 1)
	go func() {
		e, err := outbox.Append(ctx, tx4, a, "scratch.created", rowPayload{Row: row4})
		if err == nil && e.Seq != 4 {
			err = errors.New("tx4 got the wrong seq")
		}
		if err == nil {
			err = tx4.Commit(ctx)
		}
		tx4Done <- err
	}()
	waitForLockWait(t, db)
	// Tenant B is not held up by tenant A's open transaction.
	appendEvent(t, db, b, rowPayload{Row: 100})
	if n := runOnce(t, c); n != 1 {
		t.Fatalf("run during tx3 delivered %d, want only tenant B's event", n)
	}
	if got := col.events(); got[len(got)-1].TenantID != b {
		t.Fatalf("last delivered %+v, want tenant B's event", got[len(got)-1])
	}
	select {
	case err := <-tx4Done:
		t.Fatalf("tx4 finished (%v) while tx3 held the sequence", err)
	default:
	}
	if err := tx3.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-tx4Done; err != nil {
		t.Fatalf("tx4: %v", err)
	}
	if n := drain(t, c); n != 2 {
		t.Fatalf("delivered %d after tx3 and tx4 committed, want 2", n)
	}
	var rowsA []int64
	for _, e := range col.events() {
		if e.TenantID == a {
			rowsA = append(rowsA, rowOf(t, e))
		}
	}
	if want := []int64{row2, row1, row3, row4}; !slices.Equal(rowsA, want) {
		t.Fatalf("tenant A delivered rows %v, want commit order %v", rowsA, want)
	}
	if got, want := col.seqs(a), seqRange(1, 4); !slices.Equal(got, want) {
		t.Fatalf("tenant A seqs %v, want %v", got, want)
	}
	if got := col.seqs(b); !slices.Equal(got, []int64{1}) {
		t.Fatalf("tenant B seqs %v, want its own stream [1]", got)
	}
}

// A tenant sees only its own outbox rows, and Append fails closed without
// the matching tenant scope.
func TestOutboxIsTenantIsolated(t *testing.T) {
	db := dbtest.New(t)
	a := newTenant(t, db, "tenant-a")
	b := newTenant(t, db, "tenant-b")
	ctx := context.Background()
	appendEvent(t, db, a, map[string]string{"secret": "a"})
	appendEvent(t, db, a, map[string]string{"secret": "a2"})
	appendEvent(t, db, b, map[string]string{"secret": "b"})
	// Give both tenants a cursor and A a dead letter.
	c := newConsumer(t, db, outbox.Config{Name: "audit", MaxAttempts: 1}, func(ctx context.Context, e outbox.Event) error {
		if e.TenantID == a && e.Seq == 1 {
			return errors.New("no")
		}
		return nil
	})
	drain(t, c)

	tables := []string{"outbox_heads", "outbox_events", "outbox_cursors", "outbox_dead_letters"}
	err := database.InTenantTx(ctx, db.App, b, func(tx pgx.Tx) error {
		for _, table := range tables {
			var n int
			if err := tx.QueryRow(ctx, "SELECT count(*) FROM "+table+" WHERE tenant_id = $1", a).Scan(&n); err != nil {
				return err
			}
			if n != 0 {
				t.Errorf("tenant B sees %d of tenant A's rows in %s", n, table)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, table := range tables {
		var n int
		if err := db.App.QueryRow(ctx, "SELECT count(*) FROM "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s without a tenant: %d rows (err %v), want 0", table, n, err)
		}
	}
	// Reading A's stream under B's scope, or B's under A's, finds only the scope's own.
	if evs, err := outbox.Events(ctx, db.App, b, 0, 0); err != nil || len(evs) != 1 || evs[0].TenantID != b {
		t.Fatalf("tenant B's events: %+v (err %v), want its one event", evs, err)
	}
	if evs, err := outbox.Events(ctx, db.App, a, 0, 0); err != nil || len(evs) != 2 {
		t.Fatalf("tenant A's events: %d (err %v), want 2", len(evs), err)
	}
	if dl, err := outbox.DeadLetters(ctx, db.App, b, "audit"); err != nil || len(dl) != 0 {
		t.Fatalf("tenant B's dead letters: %+v (err %v), want none", dl, err)
	}
	if dl, err := outbox.DeadLetters(ctx, db.App, a, "audit"); err != nil || len(dl) != 1 {
		t.Fatalf("tenant A's dead letters: %+v (err %v), want 1", dl, err)
	}

	// Append with no tenant set in the transaction.
	tx, err := db.App.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = outbox.Append(ctx, tx, a, "test.event", nil)
	_ = tx.Rollback(ctx)
	if !database.IsCode(err, "42501") {
		t.Fatalf("append with no tenant set: %v, want a row-level security violation", err)
	}
	// Append for A inside B's scope.
	err = database.InTenantTx(ctx, db.App, b, func(tx pgx.Tx) error {
		_, err := outbox.Append(ctx, tx, a, "test.event", nil)
		return err
	})
	if !database.IsCode(err, "42501") {
		t.Fatalf("append for tenant A in tenant B's transaction: %v, want a row-level security violation", err)
	}
	// Append with no tenant at all.
	err = database.InTenantTx(ctx, db.App, b, func(tx pgx.Tx) error {
		_, err := outbox.Append(ctx, tx, "", "test.event", nil)
		return err
	})
	if !errors.Is(err, database.ErrNoTenant) {
		t.Fatalf("append with an empty tenant: %v, want ErrNoTenant", err)
	}
	// The app role cannot rewrite history.
	err = database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM outbox_events")
		return err
	})
	if !database.IsCode(err, "42501") {
		t.Fatalf("app role deleting events: %v, want permission denied", err)
	}
	var n int
	if err := db.Owner.QueryRow(ctx, "SELECT count(*) FROM outbox_events").Scan(&n); err != nil || n != 3 {
		t.Fatalf("events after the attempts: %d (err %v), want 3", n, err)
	}
}

// Bad arguments fail before touching the database, with context.
func TestValidation(t *testing.T) {
	db := dbtest.New(t)
	a := newTenant(t, db, "tenant-a")
	ctx := context.Background()
	h := func(context.Context, outbox.Event) error { return nil }
	for _, name := range []string{"", "Audit", "1audit", "a b", "audit;drop", strings.Repeat("a", 64)} {
		if _, err := outbox.NewConsumer(db.App, outbox.Config{Name: name}, h); err == nil {
			t.Errorf("NewConsumer(%q) succeeded, want an error", name)
		}
	}
	if _, err := outbox.NewConsumer(db.App, outbox.Config{Name: "audit"}, nil); err == nil {
		t.Error("NewConsumer without a handler succeeded")
	}
	if c, err := outbox.NewConsumer(db.App, outbox.Config{Name: "search.index-v2"}, h); err != nil || c.Name() != "search.index-v2" {
		t.Errorf("NewConsumer(search.index-v2): %v", err)
	}
	cases := map[string]struct {
		topic   string
		payload any
	}{
		"empty topic":   {"", nil},
		"long topic":    {strings.Repeat("é", 201), nil},
		"bad payload":   {"test.event", func() {}},
		"bad JSON text": {"test.event", jsonRaw("{")},
	}
	for _, name := range slices.Sorted(maps.Keys(cases)) {
		tc := cases[name]
		err := database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
			_, err := outbox.Append(ctx, tx, a, tc.topic, tc.payload)
			return err
		})
		if err == nil {
			t.Errorf("%s: Append succeeded, want an error", name)
		}
	}
	if evs, err := outbox.Events(ctx, db.App, a, 0, 0); err != nil || len(evs) != 0 {
		t.Fatalf("events after failed appends: %d (err %v), want 0", len(evs), err)
	}
	// A raw JSON payload is stored as JSON, not as a base64 string.
	e := appendEvent(t, db, a, jsonRaw(`{"b": 1, "a": [true]}`))
	if string(e.Payload) != `{"a": [true], "b": 1}` {
		t.Fatalf("payload %s, want jsonb's form of the raw JSON", e.Payload)
	}
	if c := newConsumer(t, db, outbox.Config{Name: "audit"}, h); c.Run(ctx, 0) == nil {
		t.Fatal("Run with a zero interval succeeded")
	}
}

type jsonRaw = json.RawMessage

// Purging a tenant removes its outbox rows, dead letters included.
func TestTenantPurgeRemovesOutbox(t *testing.T) {
	db := dbtest.New(t)
	a := newTenant(t, db, "tenant-a")
	b := newTenant(t, db, "tenant-b")
	ctx := context.Background()
	appendEvent(t, db, a, nil)
	appendEvent(t, db, b, nil)
	c := newConsumer(t, db, outbox.Config{Name: "audit", MaxAttempts: 1}, func(context.Context, outbox.Event) error {
		return errors.New("no")
	})
	drain(t, c)
	if _, err := db.Owner.Exec(ctx, "DELETE FROM tenants WHERE id = $1", a); err != nil {
		t.Fatalf("purge tenant: %v", err)
	}
	for _, table := range []string{"outbox_heads", "outbox_events", "outbox_cursors", "outbox_dead_letters"} {
		var mine, other int
		if err := db.Owner.QueryRow(ctx, "SELECT count(*) FILTER (WHERE tenant_id = $1), count(*) FILTER (WHERE tenant_id = $2) FROM "+table, a, b).Scan(&mine, &other); err != nil {
			t.Fatal(err)
		}
		if mine != 0 || other != 1 {
			t.Errorf("%s after purging A: %d rows of A, %d of B; want 0 and 1", table, mine, other)
		}
	}
}
