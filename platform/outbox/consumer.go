package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/database"
)

// Handler receives one event. Returning nil accepts it and the consumer's
// cursor moves past it; returning an error makes the consumer retry it after
// a backoff, and after Config.MaxAttempts move it to the dead letters.
// Delivery is at least once, so a handler must be idempotent. A panic
// counts as an error.
type Handler func(ctx context.Context, e Event) error

// Config configures a Consumer. Zero fields take the documented defaults.
type Config struct {
	// Name identifies the consumer; its cursors are kept under this name,
	// so a restarted process, or a second one, continues where the last
	// stopped. 1 to 63 characters: lower-case letters, digits, '.', '_'
	// and '-', starting with a letter. Required.
	Name string
	// BatchSize is how many events of one tenant one RunOnce hands to the
	// handler at most. Progress commits once per batch, so it is also the
	// most a hard crash can make the consumer deliver again. Default 100.
	BatchSize int
	// MaxTenants is how many tenants with pending events one RunOnce
	// serves at most. Default 100.
	MaxTenants int
	// MaxAttempts is how many times the handler is tried on one event:
	// after that many failures the event is dead-lettered and the stream
	// moves on. 1 dead-letters at the first failure. Default 5.
	MaxAttempts int
	// Backoff returns how long to wait before trying an event again after
	// its attempt-th failure (attempt counts from 1). A tenant's stream
	// waits meanwhile. Default DefaultBackoff: 1s, doubling, at most 5m.
	Backoff func(attempt int) time.Duration
	// Logger receives handler failures, dead letters and errors of Run.
	// Default slog.Default().
	Logger *slog.Logger
}

// DefaultBackoff waits 1s after the first failure and doubles per
// failure, up to 5 minutes.
func DefaultBackoff(attempt int) time.Duration {
	const maxBackoff = 5 * time.Minute
	if attempt < 1 {
		attempt = 1
	}
	if attempt > 10 { // 2^9 s already exceeds the cap
		return maxBackoff
	}
	return min(time.Second<<(attempt-1), maxBackoff)
}

// consumerName matches what outbox_cursors.consumer's CHECK allows.
var consumerName = regexp.MustCompile(`^[a-z][a-z0-9._-]{0,62}$`)

// maxErrorLen bounds the handler error text stored with a cursor or dead letter.
const maxErrorLen = 2000

// writeTimeout bounds the final write and commit of a batch, which run even
// after the caller's context is cancelled so that progress is kept.
const writeTimeout = 10 * time.Second

// Consumer delivers outbox events to a Handler. It is safe for concurrent
// use, and several processes may run consumers of the same name: each
// tenant's stream is served by one of them at a time.
type Consumer struct {
	pool *pgxpool.Pool
	cfg  Config
	h    Handler
	log  *slog.Logger
}

// NewConsumer returns a consumer that reads the outbox through pool (the
// application's pool; row-level security applies) and hands events to h.
func NewConsumer(pool *pgxpool.Pool, cfg Config, h Handler) (*Consumer, error) {
	if !consumerName.MatchString(cfg.Name) {
		return nil, fmt.Errorf("outbox consumer name %q: want 1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter", cfg.Name)
	}
	if pool == nil || h == nil {
		return nil, fmt.Errorf("outbox consumer %s: pool and handler are required", cfg.Name)
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 100
	}
	if cfg.MaxTenants <= 0 {
		cfg.MaxTenants = 100
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.Backoff == nil {
		cfg.Backoff = DefaultBackoff
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Consumer{pool: pool, cfg: cfg, h: h, log: cfg.Logger.With("consumer", cfg.Name)}, nil
}

// Name returns the consumer's name.
func (c *Consumer) Name() string { return c.cfg.Name }

// Run calls RunOnce until ctx is done and then returns ctx's error. After a
// run that delivered events it runs again at once; otherwise, or after an
// error (which it logs), it waits interval first.
func (c *Consumer) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("outbox consumer %s: poll interval %v is not positive", c.cfg.Name, interval)
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		n, err := c.RunOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			c.log.Error("outbox consumer run failed", "err", err)
		}
		if n > 0 && err == nil {
			continue
		}
		timer.Reset(interval)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
	}
}

// RunOnce serves up to Config.MaxTenants tenants that have events after
// this consumer's cursor and are not waiting out a backoff: for each, it
// delivers up to Config.BatchSize events in seq order and commits the
// cursor. It returns how many events the handler accepted. Handler failures
// are not errors of RunOnce: they are recorded on the cursor and logged. err
// reports database failures (the other tenants are still served) and, once
// ctx is done, ctx's error.
func (c *Consumer) RunOnce(ctx context.Context) (delivered int, err error) {
	rows, err := c.pool.Query(ctx, "SELECT lattice_outbox_pending($1, $2)", c.cfg.Name, c.cfg.MaxTenants)
	if err != nil {
		return 0, fmt.Errorf("outbox consumer %s: find pending tenants: %w", c.cfg.Name, err)
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("outbox consumer %s: find pending tenants: %w", c.cfg.Name, err)
	}
	var errs []error
	for _, tenant := range tenants {
		if ctx.Err() != nil {
			break
		}
		n, err := c.serveTenant(ctx, tenant)
		delivered += n
		if err != nil {
			errs = append(errs, fmt.Errorf("outbox consumer %s, tenant %s: %w", c.cfg.Name, tenant, err))
		}
	}
	if ctx.Err() != nil {
		errs = append(errs, fmt.Errorf("outbox consumer %s: %w", c.cfg.Name, ctx.Err()))
	}
	return delivered, errors.Join(errs...)
}

// cursor is the locked state of one tenant's cursor.
type cursor struct {
	lastSeq  int64
	attempts int
	waiting  bool // next_attempt_at is in the future
}

// deadLetter is an event given up on during a batch.
type deadLetter struct {
	seq      int64
	attempts int
	lastErr  string
}

// serveTenant delivers one batch of tenant's events.
func (c *Consumer) serveTenant(ctx context.Context, tenant string) (delivered int, err error) {
	tx, cur, events, err := c.lockCursor(ctx, tenant)
	if err != nil || tx == nil {
		return 0, err
	}
	defer func() {
		// A no-op after Commit; undoes the batch on any earlier return.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		defer cancel()
		_ = tx.Rollback(rctx)
	}()

	lastSeq, attempts := cur.lastSeq, cur.attempts
	var (
		dead      []deadLetter
		failed    bool   // the batch stopped at an event the handler failed
		failure   string // and this is why
		retryWait time.Duration
	)
	for _, e := range events {
		if ctx.Err() != nil {
			break
		}
		if e.Seq <= lastSeq {
			continue
		}
		herr := c.call(ctx, e)
		if herr == nil {
			lastSeq, attempts = e.Seq, 0
			delivered++
			continue
		}
		if ctx.Err() != nil {
			// Shutting down: the failure is the cancellation's, not the
			// event's, so it does not count as an attempt.
			break
		}
		attempts++
		msg := truncate(herr.Error())
		log := c.log.With("tenant", tenant, "seq", e.Seq, "topic", e.Topic, "attempt", attempts, "err", herr)
		if attempts >= c.cfg.MaxAttempts {
			log.Error("outbox event dead-lettered")
			dead = append(dead, deadLetter{seq: e.Seq, attempts: attempts, lastErr: msg})
			lastSeq, attempts = e.Seq, 0
			continue
		}
		retryWait = max(c.cfg.Backoff(attempts), 0)
		log.Warn("outbox handler failed; will retry", "retry_in", retryWait)
		failed, failure = true, msg
		break
	}

	// Keep the progress even if ctx is done: the handler has seen these.
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	b := &pgx.Batch{}
	for _, d := range dead {
		b.Queue(`INSERT INTO outbox_dead_letters (tenant_id, consumer, seq, attempts, last_error)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (tenant_id, consumer, seq) DO UPDATE
			SET attempts = outbox_dead_letters.attempts + EXCLUDED.attempts,
				last_error = EXCLUDED.last_error, failed_at = now()`,
			tenant, c.cfg.Name, d.seq, d.attempts, d.lastErr)
	}
	// NULL unless the batch stopped at a failure; a retry that a
	// cancellation interrupted keeps its attempts and last error.
	var nextAttempt, lastError any
	if failed {
		nextAttempt, lastError = retryWait.Microseconds(), failure
	}
	b.Queue(`UPDATE outbox_cursors SET last_seq = $3, attempts = $4,
			next_attempt_at = clock_timestamp() + $5::bigint * interval '1 microsecond',
			last_error = CASE WHEN $4 = 0 THEN NULL ELSE coalesce($6, last_error) END,
			updated_at = now()
		WHERE tenant_id = $1 AND consumer = $2`,
		tenant, c.cfg.Name, lastSeq, attempts, nextAttempt, lastError)
	if err := tx.SendBatch(wctx, b).Close(); err != nil {
		return delivered, fmt.Errorf("save cursor at seq %d: %w", lastSeq, err)
	}
	if err := tx.Commit(wctx); err != nil {
		return delivered, fmt.Errorf("commit cursor at seq %d: %w", lastSeq, err)
	}
	return delivered, nil
}

// lockCursor begins a transaction scoped to tenant, locks this consumer's
// cursor there and reads the batch after it. It returns a nil transaction
// when there is nothing to do now: another process holds the cursor, or the
// stream is waiting out a backoff. A missing cursor is created first.
func (c *Consumer) lockCursor(ctx context.Context, tenant string) (pgx.Tx, cursor, []Event, error) {
	for try := 0; ; try++ {
		tx, err := c.pool.Begin(ctx)
		if err != nil {
			return nil, cursor{}, nil, fmt.Errorf("begin: %w", err)
		}
		cur, events, locked, exists, err := c.readLocked(ctx, tx, tenant)
		if err == nil && locked && !cur.waiting {
			return tx, cur, events, nil
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
		_ = tx.Rollback(rctx)
		cancel()
		if err != nil || locked || exists || try > 0 {
			// An error, a backoff, or another process has the cursor.
			return nil, cursor{}, nil, err
		}
		if err := c.createCursor(ctx, tenant); err != nil {
			return nil, cursor{}, nil, err
		}
	}
}

// readLocked runs, in one round trip, the tenant setting, the cursor lock
// (SKIP LOCKED: a cursor another process holds is skipped, not waited
// for), whether the cursor exists at all, and the batch after it.
func (c *Consumer) readLocked(ctx context.Context, tx pgx.Tx, tenant string) (cur cursor, events []Event, locked, exists bool, err error) {
	b := &pgx.Batch{}
	b.Queue(database.SetTenantSQL, tenant)
	b.Queue(`SELECT last_seq, attempts, coalesce(next_attempt_at > clock_timestamp(), false)
		FROM outbox_cursors WHERE tenant_id = $1 AND consumer = $2
		FOR UPDATE SKIP LOCKED`, tenant, c.cfg.Name)
	b.Queue(`SELECT EXISTS (SELECT 1 FROM outbox_cursors WHERE tenant_id = $1 AND consumer = $2)`, tenant, c.cfg.Name)
	b.Queue(`SELECT `+eventColumns+` FROM outbox_events
		WHERE tenant_id = $1 AND seq > (SELECT last_seq FROM outbox_cursors WHERE tenant_id = $1 AND consumer = $2)
		ORDER BY seq LIMIT $3`, tenant, c.cfg.Name, c.cfg.BatchSize)
	br := tx.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("lock cursor: %w", cerr)
		}
	}()
	if _, err = br.Exec(); err != nil {
		return cur, nil, false, false, fmt.Errorf("set tenant: %w", err)
	}
	err = br.QueryRow().Scan(&cur.lastSeq, &cur.attempts, &cur.waiting)
	switch {
	case err == nil:
		locked = true
	case errors.Is(err, pgx.ErrNoRows):
	default:
		return cur, nil, false, false, fmt.Errorf("lock cursor: %w", err)
	}
	if err = br.QueryRow().Scan(&exists); err != nil {
		return cur, nil, false, false, fmt.Errorf("look up cursor: %w", err)
	}
	rows, err := br.Query()
	if err != nil {
		return cur, nil, false, false, fmt.Errorf("read events: %w", err)
	}
	events, err = pgx.CollectRows(rows, scanEvent)
	if err != nil {
		return cur, nil, false, false, fmt.Errorf("read events: %w", err)
	}
	return cur, events, locked, exists, nil
}

// createCursor inserts this consumer's cursor for tenant at seq 0 in a
// transaction of its own, so that a concurrent creator waits only for that
// insert and never for a batch.
func (c *Consumer) createCursor(ctx context.Context, tenant string) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO outbox_cursors (tenant_id, consumer) VALUES ($1, $2)
		ON CONFLICT (tenant_id, consumer) DO NOTHING`, tenant, c.cfg.Name)
	err := pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, database.SetTenantSQL, tenant); err != nil {
			return err
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if err != nil {
		return fmt.Errorf("create cursor: %w", err)
	}
	return nil
}

// call runs the handler, turning a panic into an error.
func (c *Consumer) call(ctx context.Context, e Event) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("outbox handler panicked", "tenant", e.TenantID, "seq", e.Seq, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("handler panicked: %v", r)
		}
	}()
	return c.h(ctx, e)
}

// truncate shortens a handler error for storage, keeping valid UTF-8.
func truncate(s string) string {
	if len(s) > maxErrorLen {
		s = s[:maxErrorLen]
	}
	return strings.ToValidUTF8(s, "")
}
