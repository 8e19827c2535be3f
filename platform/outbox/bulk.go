package outbox

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
)

// appendManySQL bumps the tenant's sequence by the number of events and
// inserts them in one statement, numbered in array order. Like appendSQL,
// the upsert leaves the head row locked until the transaction ends.
const appendManySQL = `WITH ev AS (
	SELECT t.topic, t.payload::jsonb AS payload, t.ord FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(topic, payload, ord)
), head AS (
	INSERT INTO outbox_heads AS h (tenant_id, last_seq) VALUES ($1, cardinality($2::text[]))
	ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + EXCLUDED.last_seq
	RETURNING h.tenant_id, h.last_seq
)
INSERT INTO outbox_events (tenant_id, seq, topic, payload)
SELECT head.tenant_id, head.last_seq - cardinality($2::text[]) + ev.ord, ev.topic, ev.payload FROM head, ev`

// AppendMany appends len(topics) events to tenantID's stream in one
// statement: the sequence goes up by that many at once and event i gets
// the i-th number. topics and payloads (JSON documents) pair up by index.
// The rules of Append hold: tx is scoped to the tenant, the head row stays
// locked until tx ends, so make it the last statement. Nothing is sent for
// no events.
func AppendMany(ctx context.Context, tx pgx.Tx, tenantID string, topics []string, payloads []json.RawMessage) error {
	b := &pgx.Batch{}
	if err := QueueMany(b, tenantID, topics, payloads); err != nil || b.Len() == 0 {
		return err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("append %d outbox events for tenant %s: %w", len(topics), tenantID, err)
	}
	return nil
}

// QueueMany is AppendMany for a batch sent with the write's own statements.
func QueueMany(b *pgx.Batch, tenantID string, topics []string, payloads []json.RawMessage) error {
	if len(topics) != len(payloads) {
		return fmt.Errorf("append outbox events: %d topics for %d payloads", len(topics), len(payloads))
	}
	if len(topics) == 0 {
		return nil
	}
	if tenantID == "" {
		return fmt.Errorf("append %d outbox events: %w", len(topics), database.ErrNoTenant)
	}
	bodies := make([]string, len(payloads))
	for i, t := range topics {
		if err := checkTopic(t); err != nil {
			return err
		}
		if !json.Valid(payloads[i]) {
			return fmt.Errorf("append outbox event %q for tenant %s: payload is not JSON", t, tenantID)
		}
		bodies[i] = string(payloads[i])
	}
	b.Queue(appendManySQL, tenantID, topics, bodies)
	return nil
}

// AppendSelect appends the events a query yields, in one statement, for
// writers that stage many events before they can append them (a long
// import stages them in a temporary table so that the tenant's sequence is
// locked only at the end). query must return the columns ord (any ordered
// type), topic (text) and payload (jsonb); events are numbered in ord
// order. args are query's parameters from $2 on ($1 is the tenant id). It
// returns how many events were appended; with none, the sequence is not
// touched (and not locked).
func AppendSelect(ctx context.Context, tx pgx.Tx, tenantID, query string, args ...any) (int64, error) {
	if tenantID == "" {
		return 0, fmt.Errorf("append outbox events: %w", database.ErrNoTenant)
	}
	sql := `WITH ev AS MATERIALIZED (
	SELECT row_number() OVER (ORDER BY q.ord) AS ord, q.topic, q.payload FROM (` + query + `) AS q
), n AS (
	SELECT count(*) AS n FROM ev
), head AS (
	INSERT INTO outbox_heads AS h (tenant_id, last_seq) SELECT $1, n.n FROM n WHERE n.n > 0
	ON CONFLICT (tenant_id) DO UPDATE SET last_seq = h.last_seq + EXCLUDED.last_seq
	RETURNING h.tenant_id, h.last_seq
)
INSERT INTO outbox_events (tenant_id, seq, topic, payload)
SELECT head.tenant_id, head.last_seq - n.n + ev.ord, ev.topic, ev.payload FROM head, n, ev`
	tag, err := tx.Exec(ctx, sql, append([]any{tenantID}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("append staged outbox events for tenant %s: %w", tenantID, err)
	}
	return tag.RowsAffected(), nil
}
