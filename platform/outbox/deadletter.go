package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/database"
)

// DeadLetter is an event a consumer gave up on after Config.MaxAttempts
// failures. The consumer's cursor has moved past it; Consumer.Replay
// delivers it again.
type DeadLetter struct {
	// Consumer is the name of the consumer that gave up.
	Consumer string
	// Event is the event itself.
	Event Event
	// Attempts counts the handler's failures on it, replays included.
	Attempts int
	// LastError is the handler's last error, shortened to 2000 bytes.
	LastError string
	// FailedAt is when it was dead-lettered or last failed a replay.
	FailedAt time.Time
}

// ErrNoDeadLetter is returned by Consumer.Replay for an event that is not a
// dead letter of that consumer.
var ErrNoDeadLetter = errors.New("no such dead letter")

const deadLetterSelect = `SELECT d.consumer, d.attempts, d.last_error, d.failed_at,
		e.tenant_id, e.seq, e.id, e.topic, e.payload, e.created_at
	FROM outbox_dead_letters d
	JOIN outbox_events e ON e.tenant_id = d.tenant_id AND e.seq = d.seq`

func scanDeadLetter(row pgx.CollectableRow) (DeadLetter, error) {
	var d DeadLetter
	e := &d.Event
	err := row.Scan(&d.Consumer, &d.Attempts, &d.LastError, &d.FailedAt,
		&e.TenantID, &e.Seq, &e.ID, &e.Topic, &e.Payload, &e.CreatedAt)
	return d, err
}

// DeadLetters returns the dead letters of consumer in tenantID's stream, in
// seq order.
func DeadLetters(ctx context.Context, pool *pgxpool.Pool, tenantID, consumer string) ([]DeadLetter, error) {
	b := &pgx.Batch{}
	b.Queue(deadLetterSelect+` WHERE d.tenant_id = $1 AND d.consumer = $2 ORDER BY d.seq`, tenantID, consumer)
	br, err := database.SendTenantBatch(ctx, pool, tenantID, b)
	if err != nil {
		return nil, fmt.Errorf("read dead letters of consumer %s in tenant %s: %w", consumer, tenantID, err)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, fmt.Errorf("read dead letters of consumer %s in tenant %s: %w", consumer, tenantID, err)
	}
	out, err := pgx.CollectRows(rows, scanDeadLetter)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read dead letters of consumer %s in tenant %s: %w", consumer, tenantID, err)
	}
	return out, nil
}

// Replay hands the dead letter at seq in tenantID's stream to the
// consumer's handler once more, outside the stream's order. On success the
// dead letter is removed; on failure its attempts, error and time are
// updated and the handler's error is returned. Concurrent replays of one
// dead letter wait for each other, so it is delivered once.
func (c *Consumer) Replay(ctx context.Context, tenantID string, seq int64) error {
	var herr error
	err := database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, deadLetterSelect+` WHERE d.tenant_id = $1 AND d.consumer = $2 AND d.seq = $3 FOR UPDATE OF d`,
			tenantID, c.cfg.Name, seq)
		if err != nil {
			return err
		}
		d, err := pgx.CollectExactlyOneRow(rows, scanDeadLetter)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNoDeadLetter
		}
		if err != nil {
			return err
		}
		if herr = c.call(ctx, d.Event); herr == nil {
			_, err = tx.Exec(ctx, `DELETE FROM outbox_dead_letters WHERE tenant_id = $1 AND consumer = $2 AND seq = $3`,
				tenantID, c.cfg.Name, seq)
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE outbox_dead_letters SET attempts = attempts + 1, last_error = $4, failed_at = now()
			WHERE tenant_id = $1 AND consumer = $2 AND seq = $3`,
			tenantID, c.cfg.Name, seq, truncate(herr.Error()))
		return err
	})
	if err == nil && herr != nil {
		err = herr
	}
	if err != nil {
		return fmt.Errorf("replay dead letter %d of consumer %s in tenant %s: %w", seq, c.cfg.Name, tenantID, err)
	}
	return nil
}
