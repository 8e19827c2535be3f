-- Audit log: an append-only record of who changed what in a tenant, when,
-- from which request and address. See docs/audit.md and platform/audit.
--
-- Both tables are tenant-owned: tenant_id first in every key, the
-- tenant_isolation policy of 00001, cascade from tenants.
--
-- Append-only is enforced by PostgreSQL, not by the application:
--   1. lattice_app (the server's role) gets SELECT and INSERT on audit_log
--      and nothing else, so any UPDATE, DELETE or TRUNCATE it sends fails
--      with "permission denied", however the statement is written.
--   2. A trigger refuses UPDATE, DELETE and TRUNCATE for every role,
--      the owner included, except the DELETEs of the retention function
--      below (which sets a transaction-local flag around its own DELETE)
--      and the cascade of deleting a tenant (whose rows go with it).
--   3. Retention goes through lattice_audit_purge, a SECURITY DEFINER
--      function owned by the migrating owner: the only way lattice_app can
--      delete audit rows. It deletes rows of the transaction's own tenant
--      only, never rows younger than that tenant's retention (whatever
--      cutoff it is given), and records what it deleted as an audit entry.

-- +goose Up

CREATE TABLE audit_log (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          bigint      GENERATED ALWAYS AS IDENTITY,
    at          timestamptz NOT NULL DEFAULT now(),
    -- user:<id>, integration:<name>, plugin:<name>, cli, system, or what
    -- a failed login tried. COLLATE "C" so that prefix filters can use
    -- the indexes whatever the database's collation.
    actor       text        COLLATE "C" NOT NULL CHECK (length(actor) BETWEEN 1 AND 320),
    action      text        COLLATE "C" NOT NULL CHECK (length(action) BETWEEN 1 AND 200),
    object      text        NOT NULL DEFAULT '' CHECK (length(object) <= 200),
    record_id   uuid,
    -- field-level changes: {"field": {"old": ..., "new": ...}}
    changes     jsonb       CHECK (jsonb_typeof(changes) = 'object'),
    request_id  text        NOT NULL DEFAULT '' CHECK (length(request_id) <= 200),
    address     text        NOT NULL DEFAULT '' CHECK (length(address) <= 200),
    details     jsonb       CHECK (jsonb_typeof(details) = 'object'),
    -- The outbox event an entry was made from, and its position among the
    -- entries made from that event: redelivered events add nothing.
    event_id    uuid,
    event_index integer     NOT NULL DEFAULT 0 CHECK (event_index >= 0),
    PRIMARY KEY (tenant_id, id)
);

-- What the queries of platform/audit need, newest first by id; the primary
-- key serves a tenant's whole log.
CREATE INDEX audit_log_record_idx ON audit_log (tenant_id, record_id, id DESC) WHERE record_id IS NOT NULL;
CREATE INDEX audit_log_actor_idx ON audit_log (tenant_id, actor, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (tenant_id, action, id DESC);
-- Time ranges and retention.
CREATE INDEX audit_log_at_idx ON audit_log (tenant_id, at);
-- Idempotent consumption of the outbox.
CREATE UNIQUE INDEX audit_log_event_key ON audit_log (tenant_id, event_id, event_index) WHERE event_id IS NOT NULL;

-- audit_settings holds each tenant's retention; a tenant without a row
-- keeps entries for 365 days. At least a day, so that a retention change
-- cannot empty the log at once.
CREATE TABLE audit_settings (
    tenant_id  uuid        PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    retention  interval    NOT NULL DEFAULT interval '365 days' CHECK (retention >= interval '1 day'),
    updated_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE audit_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_settings
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());

-- lattice_audit_guard refuses changes to audit rows. A DELETE passes only
-- inside lattice_audit_purge (the flag is transaction-local and the
-- function clears it again) or when the row's tenant is gone (the cascade
-- of deleting a tenant). UPDATE never passes.
-- +goose StatementBegin
CREATE FUNCTION lattice_audit_guard() RETURNS trigger
    LANGUAGE plpgsql SET search_path = public, pg_temp
    AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('lattice.audit_purge', true) = 'on' THEN
            RETURN OLD;
        END IF;
        IF NOT EXISTS (SELECT 1 FROM tenants WHERE id = OLD.tenant_id) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION lattice_audit_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION lattice_audit_guard();

-- lattice_audit_purge deletes p_tenant's entries older than p_before, but
-- never those younger than the tenant's retention, and returns how many it
-- deleted, recording that as an audit.purged entry. p_tenant must be the
-- transaction's tenant (lattice.tenant_id): one tenant's work cannot purge
-- another's log.
-- +goose StatementBegin
CREATE FUNCTION lattice_audit_purge(p_tenant uuid, p_before timestamptz) RETURNS bigint
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
DECLARE
    keep   interval;
    cutoff timestamptz;
    n      bigint;
BEGIN
    IF p_tenant IS NULL OR p_tenant IS DISTINCT FROM lattice_current_tenant() THEN
        RAISE EXCEPTION 'lattice_audit_purge: tenant % is not the tenant of this transaction', p_tenant
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT s.retention INTO keep FROM audit_settings s WHERE s.tenant_id = p_tenant;
    cutoff := least(p_before, now() - coalesce(keep, interval '365 days'));
    PERFORM set_config('lattice.audit_purge', 'on', true);
    DELETE FROM audit_log WHERE tenant_id = p_tenant AND at < cutoff;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM set_config('lattice.audit_purge', '', true);
    IF n > 0 THEN
        INSERT INTO audit_log (tenant_id, actor, action, details)
        VALUES (p_tenant, 'system', 'audit.purged', jsonb_build_object('before', cutoff, 'deleted', n));
    END IF;
    RETURN n;
END
$$;
-- +goose StatementEnd
REVOKE ALL ON FUNCTION lattice_audit_purge(uuid, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lattice_audit_purge(uuid, timestamptz) TO lattice_app;

-- Append-only for the server: no UPDATE, DELETE or TRUNCATE.
REVOKE ALL ON audit_log FROM lattice_app;
GRANT SELECT, INSERT ON audit_log TO lattice_app;
GRANT SELECT, INSERT, UPDATE ON audit_settings TO lattice_app;

-- +goose Down
DROP TABLE audit_settings, audit_log;
DROP FUNCTION lattice_audit_purge(uuid, timestamptz);
DROP FUNCTION lattice_audit_guard();
