-- Transactional outbox: every write appends an event in its own transaction,
-- and consumers read each tenant's stream in commit order with a cursor per
-- consumer, retries with backoff and dead letters. See docs/outbox.md and
-- platform/outbox.
--
-- All four tables are tenant-owned (tenant_id first in every key, the same
-- tenant_isolation policy as 00001). A consumer finds tenants with pending
-- events through one SECURITY DEFINER function that returns tenant ids only.

-- +goose Up

-- outbox_heads holds each tenant's event sequence. outbox.Append increments
-- last_seq with INSERT ... ON CONFLICT DO UPDATE; the row lock it takes is
-- held until commit, so within a tenant seq order is commit order and a
-- rolled-back append leaves neither an event nor a gap.
CREATE TABLE outbox_heads (
    tenant_id uuid   PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    last_seq  bigint NOT NULL CHECK (last_seq > 0)
);

CREATE TABLE outbox_events (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    seq        bigint      NOT NULL CHECK (seq > 0),
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    topic      text        NOT NULL CHECK (length(topic) BETWEEN 1 AND 200),
    payload    jsonb       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq)
);

-- outbox_cursors records, per tenant and consumer, the last event delivered
-- and the state of the current retry: attempts made on event last_seq + 1,
-- when it may be tried again, and why it last failed.
CREATE TABLE outbox_cursors (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    consumer        text        NOT NULL CHECK (consumer ~ '^[a-z][a-z0-9._-]{0,62}$'),
    last_seq        bigint      NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz,
    last_error      text,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, consumer)
);

-- outbox_dead_letters holds events a consumer gave up on after its maximum
-- number of attempts; the consumer's cursor has moved past them.
CREATE TABLE outbox_dead_letters (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    consumer   text        NOT NULL,
    seq        bigint      NOT NULL,
    attempts   integer     NOT NULL CHECK (attempts > 0),
    last_error text        NOT NULL,
    failed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, consumer, seq),
    FOREIGN KEY (tenant_id, consumer) REFERENCES outbox_cursors (tenant_id, consumer) ON DELETE CASCADE,
    -- No cascade: pruning old events must not silently drop dead letters.
    FOREIGN KEY (tenant_id, seq) REFERENCES outbox_events (tenant_id, seq)
);

ALTER TABLE outbox_heads ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_heads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_heads
    USING (tenant_id = lattice_current_tenant())
    WITH CHECK (tenant_id = lattice_current_tenant());

ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_events
    USING (tenant_id = lattice_current_tenant())
    WITH CHECK (tenant_id = lattice_current_tenant());

ALTER TABLE outbox_cursors ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_cursors FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_cursors
    USING (tenant_id = lattice_current_tenant())
    WITH CHECK (tenant_id = lattice_current_tenant());

ALTER TABLE outbox_dead_letters ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox_dead_letters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_dead_letters
    USING (tenant_id = lattice_current_tenant())
    WITH CHECK (tenant_id = lattice_current_tenant());

-- lattice_outbox_pending lists up to p_limit tenants that have events after
-- consumer p_consumer's cursor (no cursor yet counts as 0) and are not
-- waiting out a retry backoff. Tenants never served, then those served least
-- recently, come first, so a busy tenant cannot starve the others. Heads and
-- cursors are tenant-owned, so without this a consumer could not find work
-- across tenants. It reveals tenant ids only.
-- +goose StatementBegin
CREATE FUNCTION lattice_outbox_pending(p_consumer text, p_limit integer) RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT h.tenant_id
    FROM outbox_heads h
    LEFT JOIN outbox_cursors c ON c.tenant_id = h.tenant_id AND c.consumer = p_consumer
    WHERE h.last_seq > coalesce(c.last_seq, 0)
      AND (c.next_attempt_at IS NULL OR c.next_attempt_at <= now())
    ORDER BY c.updated_at NULLS FIRST, h.tenant_id
    LIMIT greatest(p_limit, 0)
    $$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION lattice_outbox_pending(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lattice_outbox_pending(text, integer) TO lattice_app;

-- Events are append-only for the application: it may not rewrite or delete
-- history. Heads need UPDATE for the sequence upsert.
GRANT SELECT, INSERT ON outbox_events TO lattice_app;
GRANT SELECT, INSERT, UPDATE ON outbox_heads TO lattice_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox_cursors, outbox_dead_letters TO lattice_app;

-- +goose Down
DROP FUNCTION lattice_outbox_pending(text, integer);
DROP TABLE outbox_dead_letters, outbox_cursors, outbox_events, outbox_heads;
