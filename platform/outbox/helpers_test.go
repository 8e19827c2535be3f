package outbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/outbox"
)

// newTenant registers a tenant as the owner and returns its id.
func newTenant(t testing.TB, db *dbtest.DB, slug string) string {
	t.Helper()
	var id string
	if err := db.Owner.QueryRow(context.Background(), "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return id
}

// createScratch adds a tenant-owned table, guarded like the real ones, that
// tests write to next to their events: the "write" whose event must commit
// or roll back with it. Its bigserial ids show the order in which
// transactions did their work.
func createScratch(t testing.TB, db *dbtest.DB) {
	t.Helper()
	for _, q := range []string{
		`CREATE TABLE scratch (
			tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
			id bigserial NOT NULL,
			PRIMARY KEY (tenant_id, id))`,
		`ALTER TABLE scratch ENABLE ROW LEVEL SECURITY`,
		`ALTER TABLE scratch FORCE ROW LEVEL SECURITY`,
		`CREATE POLICY tenant_isolation ON scratch USING (tenant_id = lattice_current_tenant())
			WITH CHECK (tenant_id = lattice_current_tenant())`,
		`GRANT SELECT, INSERT ON scratch TO lattice_app`,
		`GRANT USAGE ON SEQUENCE scratch_id_seq TO lattice_app`,
	} {
		if _, err := db.Owner.Exec(context.Background(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// rowPayload is the payload tests append: which scratch row the write made.
type rowPayload struct {
	Row int64 `json:"row"`
}

func rowOf(t testing.TB, e outbox.Event) int64 {
	t.Helper()
	var p rowPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		t.Fatalf("event %d payload %s: %v", e.Seq, e.Payload, err)
	}
	return p.Row
}

// appendEvent commits one event for tenant in a transaction of its own.
func appendEvent(t testing.TB, db *dbtest.DB, tenant string, payload any) outbox.Event {
	t.Helper()
	var e outbox.Event
	err := database.InTenantTx(context.Background(), db.App, tenant, func(tx pgx.Tx) error {
		var err error
		e, err = outbox.Append(context.Background(), tx, tenant, "test.event", payload)
		return err
	})
	if err != nil {
		t.Fatalf("append: %v", err)
	}
	return e
}

// beginTenant opens a transaction on the app pool scoped to tenant, for
// tests that need to hold it open; it is rolled back at the end if still open.
func beginTenant(t testing.TB, db *dbtest.DB, tenant string) pgx.Tx {
	t.Helper()
	ctx := context.Background()
	tx, err := db.App.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(context.Background()) })
	if _, err := tx.Exec(ctx, "SELECT set_config('lattice.tenant_id', $1, true)", tenant); err != nil {
		t.Fatal(err)
	}
	return tx
}

// insertScratch makes the write in tx and returns the row's id.
func insertScratch(t testing.TB, tx pgx.Tx, tenant string) int64 {
	t.Helper()
	var id int64
	if err := tx.QueryRow(context.Background(), "INSERT INTO scratch (tenant_id) VALUES ($1) RETURNING id", tenant).Scan(&id); err != nil {
		t.Fatalf("insert scratch row: %v", err)
	}
	return id
}

// collector is a handler that records what it is given. fail, if set,
// decides whether to reject an event (it runs before recording).
type collector struct {
	mu   sync.Mutex
	got  []outbox.Event
	fail func(ctx context.Context, e outbox.Event) error
}

func (c *collector) handle(ctx context.Context, e outbox.Event) error {
	if c.fail != nil {
		if err := c.fail(ctx, e); err != nil {
			return err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, e)
	return nil
}

func (c *collector) events() []outbox.Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got)
}

// seqs returns the seqs delivered for tenant, in delivery order.
func (c *collector) seqs(tenant string) []int64 {
	var out []int64
	for _, e := range c.events() {
		if e.TenantID == tenant {
			out = append(out, e.Seq)
		}
	}
	return out
}

func newConsumer(t testing.TB, db *dbtest.DB, cfg outbox.Config, h outbox.Handler) *outbox.Consumer {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := outbox.NewConsumer(db.App, cfg, h)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// drain runs c until a run delivers nothing and returns the total delivered.
func drain(t testing.TB, c *outbox.Consumer) int {
	t.Helper()
	total := 0
	for range 1000 {
		n, err := c.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("RunOnce: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("consumer still delivering after 1000 runs")
	return total
}

// runOnce runs c once, failing the test on an error, and returns the count.
func runOnce(t testing.TB, c *outbox.Consumer) int {
	t.Helper()
	n, err := c.RunOnce(context.Background())
	if err != nil {
		t.Fatalf("RunOnce: %v", err)
	}
	return n
}

// seqRange returns from..to inclusive.
func seqRange(from, to int64) []int64 {
	var out []int64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}

// cursorState is a consumer's cursor as the owner sees it.
type cursorState struct {
	LastSeq     int64
	Attempts    int
	NextAttempt *time.Time
	LastError   *string
}

func readCursor(t testing.TB, db *dbtest.DB, tenant, consumer string) cursorState {
	t.Helper()
	var c cursorState
	err := db.Owner.QueryRow(context.Background(), `SELECT last_seq, attempts, next_attempt_at, last_error
		FROM outbox_cursors WHERE tenant_id = $1 AND consumer = $2`, tenant, consumer).
		Scan(&c.LastSeq, &c.Attempts, &c.NextAttempt, &c.LastError)
	if err != nil {
		t.Fatalf("read cursor %s/%s: %v", tenant, consumer, err)
	}
	return c
}

// waitForLockWait returns once some session of db waits for a lock.
func waitForLockWait(t testing.TB, db *dbtest.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no session started waiting for a lock within 10s")
		}
		time.Sleep(time.Millisecond) // polling an observable condition, not ordering by time
	}
}

func key(tenant string, row int64) string { return fmt.Sprintf("%s/%d", tenant, row) }
