package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/outbox"
)

// A consumer stopped midway through a batch (its context cancelled inside
// the handler) keeps the progress it made; a new consumer of the same name
// resumes right after it.
func TestResumeAfterCancellation(t *testing.T) {
	db := dbtest.New(t)
	a := newTenant(t, db, "tenant-a")
	for i := range 10 {
		appendEvent(t, db, a, rowPayload{Row: int64(i + 1)})
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := &collector{fail: func(ctx context.Context, e outbox.Event) error {
		if e.Seq == 5 {
			cancel() // the process is told to stop while handling seq 5
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}}
	c1 := newConsumer(t, db, outbox.Config{Name: "mailer"}, first.handle)
	n, err := c1.RunOnce(ctx)
	if !errors.Is(err, context.Canceled) || n != 4 {
		t.Fatalf("cancelled run: delivered %d, err %v; want 4 and context.Canceled", n, err)
	}
	// The cancellation is not the event's fault: no attempt is counted.
	if cur := readCursor(t, db, a, "mailer"); cur.LastSeq != 4 || cur.Attempts != 0 || cur.NextAttempt != nil {
		t.Fatalf("cursor after cancellation %+v, want last_seq 4, no attempts, no backoff", cur)
	}

	second := &collector{}
	c2 := newConsumer(t, db, outbox.Config{Name: "mailer"}, second.handle)
	if n := drain(t, c2); n != 6 {
		t.Fatalf("resumed consumer delivered %d, want 6", n)
	}
	if got := second.seqs(a); !slices.Equal(got, seqRange(5, 10)) {
		t.Fatalf("resumed consumer got %v, want 5..10 (nothing before the cursor)", got)
	}
	if all := append(first.seqs(a), second.seqs(a)...); !slices.Equal(all, seqRange(1, 10)) {
		t.Fatalf("all deliveries %v, want 1..10 in order", all)
	}
}

// A consumer whose database connection dies midway through a batch (as when
// its process crashes) loses only that batch's uncommitted progress: a new
// consumer of the same name delivers the batch again from the last
// committed cursor, in order, and never what came before it.
func TestResumeAfterCrash(t *testing.T) {
	db := dbtest.New(t)
	a := newTenant(t, db, "tenant-a")
	for i := range 10 {
		appendEvent(t, db, a, rowPayload{Row: int64(i + 1)})
	}
	inHandler, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	first := &collector{fail: func(ctx context.Context, e outbox.Event) error {
		if e.Seq == 6 {
			close(inHandler)
			<-release
		}
		return nil
	}}
	c1 := newConsumer(t, db, outbox.Config{Name: "mailer", BatchSize: 4}, first.handle)
	if n := runOnce(t, c1); n != 4 {
		t.Fatalf("first batch delivered %d, want 4", n)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c1.RunOnce(context.Background())
		done <- err
	}()
	<-inHandler
	// The consumer's session, idle in its batch transaction while the
	// handler runs.
	rows, err := db.Owner.Query(context.Background(), `SELECT pid FROM pg_stat_activity
		WHERE datname = current_database() AND usename = 'lattice_app' AND state = 'idle in transaction'`)
	if err != nil {
		t.Fatal(err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil || len(pids) != 1 {
		t.Fatalf("found sessions %v (err %v), want the consumer's one", pids, err)
	}
	var killed bool
	if err := db.Owner.QueryRow(context.Background(), "SELECT pg_terminate_backend($1, 10000)", pids[0]).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the consumer's session: %v %v", killed, err)
	}
	unblock()
	if err := <-done; err == nil {
		t.Fatal("the crashed run reported no error")
	}
	if cur := readCursor(t, db, a, "mailer"); cur.LastSeq != 4 {
		t.Fatalf("cursor after the crash at %d, want the last committed 4", cur.LastSeq)
	}

	second := &collector{}
	c2 := newConsumer(t, db, outbox.Config{Name: "mailer", BatchSize: 4}, second.handle)
	drain(t, c2)
	if got := second.seqs(a); !slices.Equal(got, seqRange(5, 10)) {
		t.Fatalf("resumed consumer got %v, want 5..10", got)
	}
	// Every event at least once, each delivery stream in order.
	seen := map[int64]bool{}
	for _, s := range append(first.seqs(a), second.seqs(a)...) {
		seen[s] = true
	}
	for s := int64(1); s <= 10; s++ {
		if !seen[s] {
			t.Errorf("seq %d never delivered", s)
		}
	}
	if got := first.seqs(a); !slices.IsSorted(got) || got[0] != 1 {
		t.Fatalf("crashed consumer delivered %v, want increasing from 1", got)
	}
}

// A failing event is retried after the backoff, dead-lettered after
// MaxAttempts with its attempts and last error, and the stream goes on.
func TestRetriesThenDeadLetter(t *testing.T) {
	db := dbtest.New(t)
	a := newTenant(t, db, "tenant-a")
	ctx := context.Background()
	for i := range 4 {
		appendEvent(t, db, a, rowPayload{Row: int64(i + 1)})
	}
	var calls atomic.Int32
	var backoffs []int
	col := &collector{fail: func(ctx context.Context, e outbox.Event) error {
		if e.Seq == 2 {
			return fmt.Errorf("boom %d", calls.Add(1))
		}
		return nil
	}}
	c := newConsumer(t, db, outbox.Config{
		Name:        "webhooks",
		MaxAttempts: 3,
		Backoff:     func(attempt int) time.Duration { backoffs = append(backoffs, attempt); return 0 },
	}, col.handle)

	if n := runOnce(t, c); n != 1 {
		t.Fatalf("run 1 delivered %d, want 1 (seq 1, then seq 2 fails)", n)
	}
	cur := readCursor(t, db, a, "webhooks")
	if cur.LastSeq != 1 || cur.Attempts != 1 || cur.NextAttempt == nil || cur.LastError == nil || *cur.LastError != "boom 1" {
		t.Fatalf("cursor after one failure %+v, want last_seq 1, attempts 1, a next attempt time and error boom 1", cur)
	}
	if n := runOnce(t, c); n != 0 {
		t.Fatalf("run 2 delivered %d, want 0 (seq 2 fails again; 3 and 4 wait)", n)
	}
	if cur := readCursor(t, db, a, "webhooks"); cur.LastSeq != 1 || cur.Attempts != 2 || *cur.LastError != "boom 2" {
		t.Fatalf("cursor after two failures %+v", cur)
	}
	if n := runOnce(t, c); n != 2 {
		t.Fatalf("run 3 delivered %d, want 2 (seq 2 dead-lettered, then 3 and 4)", n)
	}
	if calls.Load() != 3 {
		t.Fatalf("handler failed seq 2 %d times, want MaxAttempts = 3", calls.Load())
	}
	if !slices.Equal(backoffs, []int{1, 2}) {
		t.Fatalf("backoff asked for attempts %v, want [1 2]", backoffs)
	}
	if got := col.seqs(a); !slices.Equal(got, []int64{1, 3, 4}) {
		t.Fatalf("delivered %v, want [1 3 4]", got)
	}
	if cur := readCursor(t, db, a, "webhooks"); cur.LastSeq != 4 || cur.Attempts != 0 || cur.NextAttempt != nil || cur.LastError != nil {
		t.Fatalf("cursor after the dead letter %+v, want last_seq 4 and a clean retry state", cur)
	}
	dl, err := outbox.DeadLetters(ctx, db.App, a, "webhooks")
	if err != nil {
		t.Fatal(err)
	}
	if len(dl) != 1 || dl[0].Event.Seq != 2 || dl[0].Attempts != 3 || dl[0].LastError != "boom 3" ||
		dl[0].Consumer != "webhooks" || dl[0].Event.Topic != "test.event" || rowOf(t, dl[0].Event) != 2 || dl[0].FailedAt.IsZero() {
		t.Fatalf("dead letters %+v, want seq 2 after 3 attempts with boom 3", dl)
	}
	if n := runOnce(t, c); n != 0 {
		t.Fatalf("run after the stream's end delivered %d", n)
	}

	// Replay: a failing replay records another attempt; a good one removes it.
	if err := c.Replay(ctx, a, 2); err == nil || !strings.Contains(err.Error(), "boom 4") {
		t.Fatalf("failing replay: %v, want boom 4", err)
	}
	if dl, _ := outbox.DeadLetters(ctx, db.App, a, "webhooks"); len(dl) != 1 || dl[0].Attempts != 4 || dl[0].LastError != "boom 4" {
		t.Fatalf("dead letter after a failed replay %+v, want 4 attempts and boom 4", dl)
	}
	col.fail = nil
	if err := c.Replay(ctx, a, 2); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if got := col.seqs(a); !slices.Equal(got, []int64{1, 3, 4, 2}) {
		t.Fatalf("delivered %v after replay, want [1 3 4 2]", got)
	}
	if dl, _ := outbox.DeadLetters(ctx, db.App, a, "webhooks"); len(dl) != 0 {
		t.Fatalf("dead letters after replay: %+v, want none", dl)
	}
	if err := c.Replay(ctx, a, 2); !errors.Is(err, outbox.ErrNoDeadLetter) {
		t.Fatalf("second replay: %v, want ErrNoDeadLetter", err)
	}
}

// A stream waits out its backoff: the tenant is not served again until
// next_attempt_at has passed. A panicking handler counts as a failure.
func TestBackoffIsHonoured(t *testing.T) {
	db := dbtest.New(t)
	a := newTenant(t, db, "tenant-a")
	b := newTenant(t, db, "tenant-b")
	ctx := context.Background()
	appendEvent(t, db, a, nil)
	appendEvent(t, db, b, nil)
	var calls atomic.Int32
	col := &collector{fail: func(ctx context.Context, e outbox.Event) error {
		if e.TenantID == a {
			calls.Add(1)
			panic("handler bug")
		}
		return nil
	}}
	c := newConsumer(t, db, outbox.Config{Name: "scorer", Backoff: func(int) time.Duration { return time.Hour }}, col.handle)
	before := time.Now()
	if n := runOnce(t, c); n != 1 || calls.Load() != 1 {
		t.Fatalf("run 1: delivered %d, %d failing calls; want tenant B's event and one failure of A's", n, calls.Load())
	}
	cur := readCursor(t, db, a, "scorer")
	if cur.Attempts != 1 || cur.LastError == nil || !strings.Contains(*cur.LastError, "handler bug") {
		t.Fatalf("cursor %+v, want one attempt recording the panic", cur)
	}
	if wait := cur.NextAttempt.Sub(before); wait < 59*time.Minute || wait > 61*time.Minute {
		t.Fatalf("next attempt in %v, want the 1h backoff", wait)
	}
	if n := runOnce(t, c); n != 0 || calls.Load() != 1 {
		t.Fatalf("run during the backoff called the handler (%d calls)", calls.Load())
	}
	// Time passes.
	if _, err := db.Owner.Exec(ctx, "UPDATE outbox_cursors SET next_attempt_at = now() - interval '1 second' WHERE tenant_id = $1", a); err != nil {
		t.Fatal(err)
	}
	runOnce(t, c)
	if calls.Load() != 2 || readCursor(t, db, a, "scorer").Attempts != 2 {
		t.Fatalf("after the backoff: %d calls, want a second attempt", calls.Load())
	}
}

func TestDefaultBackoff(t *testing.T) {
	want := map[int]time.Duration{0: time.Second, 1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second,
		8: 128 * time.Second, 9: 256 * time.Second, 10: 5 * time.Minute, 11: 5 * time.Minute, 1000: 5 * time.Minute}
	for attempt, d := range want {
		if got := outbox.DefaultBackoff(attempt); got != d {
			t.Errorf("DefaultBackoff(%d) = %v, want %v", attempt, got, d)
		}
	}
}

// Two consumers with the same name never hand the same tenant's events to
// their handlers at the same time, and (as nothing fails) each event is
// delivered exactly once.
func TestSameNameConsumersDoNotOverlap(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()

	// Deterministic: while one consumer is inside a batch, the other skips
	// that tenant at once instead of waiting or delivering it too.
	a := newTenant(t, db, "tenant-a")
	for range 10 {
		appendEvent(t, db, a, nil)
	}
	inHandler, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	first := &collector{fail: func(ctx context.Context, e outbox.Event) error {
		once.Do(func() { close(inHandler); <-release })
		return nil
	}}
	second := &collector{}
	c1 := newConsumer(t, db, outbox.Config{Name: "indexer"}, first.handle)
	c2 := newConsumer(t, db, outbox.Config{Name: "indexer"}, second.handle)
	done := make(chan int, 1)
	go func() {
		n, err := c1.RunOnce(ctx)
		if err != nil {
			t.Error(err)
		}
		done <- n
	}()
	<-inHandler
	defer close(release)
	quick, cancel := context.WithTimeout(ctx, 10*time.Second)
	n, err := c2.RunOnce(quick)
	cancel()
	if err != nil || n != 0 {
		t.Fatalf("second consumer during the first's batch: delivered %d, err %v; want 0 without waiting", n, err)
	}
	release <- struct{}{}
	if n := <-done; n != 10 {
		t.Fatalf("first consumer delivered %d, want 10", n)
	}
	if n := runOnce(t, c2); n != 0 {
		t.Fatalf("second consumer delivered %d after the first finished, want 0", n)
	}

	// Stress: both run flat out over several tenants.
	tenants := []string{newTenant(t, db, "tenant-b"), newTenant(t, db, "tenant-c"), newTenant(t, db, "tenant-d")}
	const perTenant = 40
	for _, tenant := range tenants {
		for range perTenant {
			appendEvent(t, db, tenant, nil)
		}
	}
	var (
		mu        sync.Mutex
		inFlight  = map[string]int{}
		count     = map[string]int{}
		overlaps  int
		delivered atomic.Int32
	)
	h := func(ctx context.Context, e outbox.Event) error {
		mu.Lock()
		inFlight[e.TenantID]++
		if inFlight[e.TenantID] > 1 {
			overlaps++
		}
		count[key(e.TenantID, e.Seq)]++
		mu.Unlock()
		runtime.Gosched() // give an overlap a chance to show
		mu.Lock()
		inFlight[e.TenantID]--
		mu.Unlock()
		delivered.Add(1)
		return nil
	}
	var wg sync.WaitGroup
	for range 2 {
		c := newConsumer(t, db, outbox.Config{Name: "indexer", BatchSize: 5}, h)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; delivered.Load() < int32(len(tenants)*perTenant); i++ {
				if i > 100000 {
					t.Error("consumers stalled")
					return
				}
				if _, err := c.RunOnce(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if overlaps != 0 {
		t.Fatalf("%d deliveries overlapped another of the same tenant", overlaps)
	}
	for _, tenant := range tenants {
		for s := int64(1); s <= perTenant; s++ {
			if n := count[key(tenant, s)]; n != 1 {
				t.Errorf("tenant %s seq %d delivered %d times, want 1", tenant, s, n)
			}
		}
	}
}

func BenchmarkAppend(b *testing.B) {
	db := dbtest.New(b)
	ctx := context.Background()
	payload := map[string]any{"object": "contact", "changes": map[string]any{"email": []string{"a@example.com", "b@example.com"}}}
	b.Run("one-tenant", func(b *testing.B) {
		tenant := newTenant(b, db, "bench-serial")
		for b.Loop() {
			err := database.InTenantTx(ctx, db.App, tenant, func(tx pgx.Tx) error {
				_, err := outbox.Append(ctx, tx, tenant, "record.updated", payload)
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	var next atomic.Int32
	b.Run("parallel-tenants", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			tenant := newTenant(b, db, fmt.Sprintf("bench-par-%d", next.Add(1)))
			for pb.Next() {
				err := database.InTenantTx(ctx, db.App, tenant, func(tx pgx.Tx) error {
					_, err := outbox.Append(ctx, tx, tenant, "record.updated", payload)
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
