package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/database"
)

// Event is one entry of a tenant's outbox stream.
type Event struct {
	// TenantID is the tenant whose write produced the event.
	TenantID string
	// Seq numbers the tenant's events from 1 in commit order, without gaps.
	Seq int64
	// ID is a random UUID unique to the event.
	ID string
	// Topic says what happened, e.g. "record.updated".
	Topic string
	// Payload is the JSON the writer appended, as PostgreSQL's jsonb
	// returns it (key order and spacing normalised).
	Payload json.RawMessage
	// CreatedAt is the start time of the transaction that appended it.
	CreatedAt time.Time
}

// MaxTopicLen is the longest topic Append accepts, in characters.
const MaxTopicLen = 200

// appendSQL bumps the tenant's sequence and inserts the event in one
// statement. The upsert leaves the head row locked until the transaction
// ends, which is what makes seq order equal commit order.
const appendSQL = `WITH head AS (
	INSERT INTO outbox_heads AS h (tenant_id, last_seq) VALUES ($1, 1)
	ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + 1
	RETURNING h.tenant_id, h.last_seq
)
INSERT INTO outbox_events (tenant_id, seq, topic, payload)
SELECT tenant_id, last_seq, $2, $3 FROM head
RETURNING seq, id, payload, created_at`

// Append adds an event to tenantID's outbox stream inside tx, which must be
// a transaction scoped to that tenant (database.InTenantTx); otherwise
// row-level security rejects it. payload is marshalled with encoding/json
// (pass a json.RawMessage for JSON you already have).
//
// Append locks the tenant's sequence until tx ends, so the tenant's other
// writers wait at their Append meanwhile: make it the last statement of the
// transaction. In REPEATABLE READ or SERIALIZABLE transactions a concurrent
// Append of the same tenant makes this one fail with a serialization error;
// retry the transaction.
func Append(ctx context.Context, tx pgx.Tx, tenantID, topic string, payload any) (Event, error) {
	body, err := encode(tenantID, topic, payload)
	if err != nil {
		return Event{}, err
	}
	e := Event{TenantID: tenantID, Topic: topic}
	err = tx.QueryRow(ctx, appendSQL, tenantID, topic, body).Scan(&e.Seq, &e.ID, &e.Payload, &e.CreatedAt)
	if err != nil {
		return Event{}, fmt.Errorf("append outbox event %q for tenant %s: %w", topic, tenantID, err)
	}
	return e, nil
}

// Queue is Append for a batch: it queues the event on b, to be sent with
// the write's own statements in one round trip (tx.SendBatch). The same
// rules hold: b must run in a transaction scoped to tenantID, and the event
// should be its last statement.
func Queue(b *pgx.Batch, tenantID, topic string, payload any) error {
	body, err := encode(tenantID, topic, payload)
	if err != nil {
		return err
	}
	b.Queue(appendSQL, tenantID, topic, body)
	return nil
}

func encode(tenantID, topic string, payload any) (json.RawMessage, error) {
	if tenantID == "" {
		return nil, fmt.Errorf("append outbox event %q: %w", topic, database.ErrNoTenant)
	}
	if err := checkTopic(topic); err != nil {
		return nil, err
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("append outbox event %q for tenant %s: marshal payload: %w", topic, tenantID, err)
	}
	return body, nil
}

func checkTopic(topic string) error {
	if topic == "" {
		return errors.New("append outbox event: empty topic")
	}
	if n := len([]rune(topic)); n > MaxTopicLen {
		return fmt.Errorf("append outbox event: topic is %d characters, more than %d", n, MaxTopicLen)
	}
	return nil
}

// DefaultEventsLimit and MaxEventsLimit bound how many events Events returns.
const (
	DefaultEventsLimit = 100
	MaxEventsLimit     = 1000
)

const eventColumns = `tenant_id, seq, id, topic, payload, created_at`

// Events returns up to limit events of tenantID's stream with seq greater
// than afterSeq, in seq order: everything committed so far, for tools and
// debugging. limit <= 0 means DefaultEventsLimit; it is capped at
// MaxEventsLimit. It reads in one round trip, under row-level security.
func Events(ctx context.Context, pool *pgxpool.Pool, tenantID string, afterSeq int64, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = DefaultEventsLimit
	}
	limit = min(limit, MaxEventsLimit)
	b := &pgx.Batch{}
	b.Queue(`SELECT `+eventColumns+` FROM outbox_events
		WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, tenantID, afterSeq, limit)
	br, err := database.SendTenantBatch(ctx, pool, tenantID, b)
	if err != nil {
		return nil, fmt.Errorf("read outbox events of tenant %s: %w", tenantID, err)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, fmt.Errorf("read outbox events of tenant %s: %w", tenantID, err)
	}
	events, err := pgx.CollectRows(rows, scanEvent)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("read outbox events of tenant %s: %w", tenantID, err)
	}
	return events, nil
}

func scanEvent(row pgx.CollectableRow) (Event, error) {
	var e Event
	err := row.Scan(&e.TenantID, &e.Seq, &e.ID, &e.Topic, &e.Payload, &e.CreatedAt)
	return e, err
}
