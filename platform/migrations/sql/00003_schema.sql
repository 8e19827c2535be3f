-- The schema engine: a tenant's schema (current and every version), the one
-- records table for every tenant and object, auto-number counters and the
-- jobs that fill or clear slot columns in the background.
--
-- Record values live in records.data under stable field keys. Indexed,
-- unique and lookup fields are also copied into typed slot columns assigned
-- per object by the schema (schema/model): n = numeric, s = text,
-- t = timestamp, r = reference (lookups), u = unique text. Each slot has
-- one partial index, so the number of indexes is fixed whatever the number
-- of tenants, objects and fields (docs/record-storage.md).

-- +goose Up
CREATE TABLE tenant_schemas (
    tenant_id  uuid        PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    version    integer     NOT NULL,
    bundle     jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE schema_versions (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version    integer     NOT NULL,
    bundle     jsonb       NOT NULL,
    changes    jsonb       NOT NULL,
    message    text        NOT NULL DEFAULT '',
    created_by text        NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, version)
);

CREATE TABLE records (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    object_id  uuid        NOT NULL,
    id         uuid        NOT NULL,
    data       jsonb       NOT NULL DEFAULT '{}',
    version    integer     NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by text        NOT NULL DEFAULT '',
    updated_by text        NOT NULL DEFAULT '',
    owner_id   text,
    tags       text[]      NOT NULL DEFAULT '{}',
    score      numeric,
    grade      text,
    deleted_at timestamptz,
    n1 numeric,
    n2 numeric,
    n3 numeric,
    n4 numeric,
    n5 numeric,
    n6 numeric,
    n7 numeric,
    n8 numeric,
    s1 text,
    s2 text,
    s3 text,
    s4 text,
    s5 text,
    s6 text,
    s7 text,
    s8 text,
    t1 timestamptz,
    t2 timestamptz,
    t3 timestamptz,
    t4 timestamptz,
    r1 uuid,
    r2 uuid,
    r3 uuid,
    r4 uuid,
    r5 uuid,
    r6 uuid,
    r7 uuid,
    r8 uuid,
    u1 text,
    u2 text,
    u3 text,
    u4 text,
    PRIMARY KEY (tenant_id, object_id, id)
);
CREATE INDEX records_n1_idx ON records (tenant_id, object_id, n1, id) WHERE n1 IS NOT NULL;
CREATE INDEX records_n2_idx ON records (tenant_id, object_id, n2, id) WHERE n2 IS NOT NULL;
CREATE INDEX records_n3_idx ON records (tenant_id, object_id, n3, id) WHERE n3 IS NOT NULL;
CREATE INDEX records_n4_idx ON records (tenant_id, object_id, n4, id) WHERE n4 IS NOT NULL;
CREATE INDEX records_n5_idx ON records (tenant_id, object_id, n5, id) WHERE n5 IS NOT NULL;
CREATE INDEX records_n6_idx ON records (tenant_id, object_id, n6, id) WHERE n6 IS NOT NULL;
CREATE INDEX records_n7_idx ON records (tenant_id, object_id, n7, id) WHERE n7 IS NOT NULL;
CREATE INDEX records_n8_idx ON records (tenant_id, object_id, n8, id) WHERE n8 IS NOT NULL;
CREATE INDEX records_s1_idx ON records (tenant_id, object_id, s1, id) WHERE s1 IS NOT NULL;
CREATE INDEX records_s2_idx ON records (tenant_id, object_id, s2, id) WHERE s2 IS NOT NULL;
CREATE INDEX records_s3_idx ON records (tenant_id, object_id, s3, id) WHERE s3 IS NOT NULL;
CREATE INDEX records_s4_idx ON records (tenant_id, object_id, s4, id) WHERE s4 IS NOT NULL;
CREATE INDEX records_s5_idx ON records (tenant_id, object_id, s5, id) WHERE s5 IS NOT NULL;
CREATE INDEX records_s6_idx ON records (tenant_id, object_id, s6, id) WHERE s6 IS NOT NULL;
CREATE INDEX records_s7_idx ON records (tenant_id, object_id, s7, id) WHERE s7 IS NOT NULL;
CREATE INDEX records_s8_idx ON records (tenant_id, object_id, s8, id) WHERE s8 IS NOT NULL;
CREATE INDEX records_t1_idx ON records (tenant_id, object_id, t1, id) WHERE t1 IS NOT NULL;
CREATE INDEX records_t2_idx ON records (tenant_id, object_id, t2, id) WHERE t2 IS NOT NULL;
CREATE INDEX records_t3_idx ON records (tenant_id, object_id, t3, id) WHERE t3 IS NOT NULL;
CREATE INDEX records_t4_idx ON records (tenant_id, object_id, t4, id) WHERE t4 IS NOT NULL;
CREATE INDEX records_r1_idx ON records (tenant_id, object_id, r1, id) WHERE r1 IS NOT NULL;
CREATE INDEX records_r2_idx ON records (tenant_id, object_id, r2, id) WHERE r2 IS NOT NULL;
CREATE INDEX records_r3_idx ON records (tenant_id, object_id, r3, id) WHERE r3 IS NOT NULL;
CREATE INDEX records_r4_idx ON records (tenant_id, object_id, r4, id) WHERE r4 IS NOT NULL;
CREATE INDEX records_r5_idx ON records (tenant_id, object_id, r5, id) WHERE r5 IS NOT NULL;
CREATE INDEX records_r6_idx ON records (tenant_id, object_id, r6, id) WHERE r6 IS NOT NULL;
CREATE INDEX records_r7_idx ON records (tenant_id, object_id, r7, id) WHERE r7 IS NOT NULL;
CREATE INDEX records_r8_idx ON records (tenant_id, object_id, r8, id) WHERE r8 IS NOT NULL;
CREATE UNIQUE INDEX records_u1_key ON records (tenant_id, object_id, u1) WHERE u1 IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX records_u2_key ON records (tenant_id, object_id, u2) WHERE u2 IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX records_u3_key ON records (tenant_id, object_id, u3) WHERE u3 IS NOT NULL AND deleted_at IS NULL;
CREATE UNIQUE INDEX records_u4_key ON records (tenant_id, object_id, u4) WHERE u4 IS NOT NULL AND deleted_at IS NULL;

-- Auto-numbers are taken outside the record's transaction, so a rolled-back
-- create leaves a gap rather than serialising every create of an object.
CREATE TABLE autonumber_counters (
    tenant_id  uuid   NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    object_id  uuid   NOT NULL,
    field_key  text   NOT NULL,
    last_value bigint NOT NULL,
    PRIMARY KEY (tenant_id, object_id, field_key)
);

-- slot_jobs fill a slot column from data (a field became indexed or unique)
-- or clear it (a field stopped being unique, or was purged), in batches
-- after the schema change commits, resuming from after_id.
CREATE TABLE slot_jobs (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    object_id   uuid        NOT NULL,
    field_key   text        NOT NULL,
    slot        text        NOT NULL,
    action      text        NOT NULL CHECK (action IN ('fill', 'clear', 'purge')),
    after_id    uuid,
    done_rows   bigint      NOT NULL DEFAULT 0,
    error       text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (tenant_id, id)
);

ALTER TABLE tenant_schemas ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_schemas FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_schemas
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE schema_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE schema_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON schema_versions
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE records ENABLE ROW LEVEL SECURITY;
ALTER TABLE records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON records
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE autonumber_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE autonumber_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON autonumber_counters
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE slot_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE slot_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON slot_jobs
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());

-- lattice_pending_slot_jobs lists tenants with unfinished slot jobs for the
-- background worker, which is not scoped to one tenant. Tenant ids only.
CREATE FUNCTION lattice_pending_slot_jobs() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT DISTINCT tenant_id FROM slot_jobs WHERE finished_at IS NULL AND error = '' $$;
REVOKE ALL ON FUNCTION lattice_pending_slot_jobs() FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_schemas, schema_versions, records, autonumber_counters, slot_jobs TO lattice_app;
GRANT EXECUTE ON FUNCTION lattice_pending_slot_jobs() TO lattice_app;

-- +goose Down
DROP FUNCTION lattice_pending_slot_jobs();
DROP TABLE slot_jobs, autonumber_counters, records, schema_versions, tenant_schemas;
