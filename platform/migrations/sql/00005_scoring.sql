-- Lead scoring: rule sets per object (every version kept), each record's
-- fit and engagement scores with the contribution of every rule, and the
-- background jobs that rescore an object's records in batches after a rule
-- change or for decay. See docs/scoring.md and schema/scoring.
--
-- A record's combined score and grade live in records.score and
-- records.grade (00003), where conditions, filters and sorting read them;
-- only schema/scoring writes them. The tables here are tenant-owned:
-- tenant_id first in every key, the tenant_isolation policy of 00001,
-- cascade from tenants.

-- +goose Up

-- scoring_rulesets keeps every version of every object's rule set; the
-- highest version of an object is the active one. ruleset is the document
-- as applied (schema/scoring/ruleset.schema.json); time_dependent says
-- whether its scores change with time alone (decay, windows), so that the
-- decay job knows which objects to rescore.
CREATE TABLE scoring_rulesets (
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    object_id      uuid        NOT NULL,
    version        integer     NOT NULL CHECK (version > 0),
    ruleset        jsonb       NOT NULL CHECK (jsonb_typeof(ruleset) = 'object'),
    rule_names     text[]      NOT NULL,
    time_dependent boolean     NOT NULL,
    schema_version integer     NOT NULL,
    message        text        NOT NULL DEFAULT '',
    created_by     text        NOT NULL DEFAULT '',
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, object_id, version)
);

-- record_scores holds, per scored record, the parts of its score:
-- fit and engagement (already rounded to the rule set's scale), the score
-- and grade also written to records, each rule's contribution in the rule
-- order of ruleset_version, and the score and grade before the last
-- scoring (for record.scored events). as_of is the start of the statement that
-- computed them: a scorer only overwrites a row computed under an older
-- rule set version, or under the same version from older data, so a slow
-- batch can never undo a newer result. fillfactor leaves room for HOT
-- updates (nothing indexed changes when a score does).
CREATE TABLE record_scores (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    object_id       uuid        NOT NULL,
    record_id       uuid        NOT NULL,
    ruleset_version integer     NOT NULL,
    fit             numeric     NOT NULL,
    engagement      numeric     NOT NULL,
    score           numeric     NOT NULL,
    grade           text,
    contributions   numeric[]   NOT NULL,
    previous_score  numeric,
    previous_grade  text,
    as_of           timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, object_id, record_id)
) WITH (fillfactor = 80);

-- scoring_jobs rescore every live record of one object under one rule set
-- version. At most one unfinished job per object: applying a newer version
-- finishes (supersedes) the older job in the same transaction. A job's
-- records are split by id into slices (scoring_job_slices), which workers
-- take with SKIP LOCKED and score in batches ordered by id, one short
-- transaction each, resuming after after_id; the job finishes with its last
-- slice.
CREATE TABLE scoring_jobs (
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id              uuid        NOT NULL DEFAULT gen_random_uuid(),
    object_id       uuid        NOT NULL,
    ruleset_version integer     NOT NULL,
    reason          text        NOT NULL CHECK (reason IN ('apply', 'decay', 'manual')),
    total_rows      bigint      NOT NULL DEFAULT 0,
    error           text        NOT NULL DEFAULT '',
    superseded      boolean     NOT NULL DEFAULT false,
    created_by      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX scoring_jobs_one_open ON scoring_jobs (tenant_id, object_id) WHERE finished_at IS NULL;

-- A slice covers the ids after its first after_id up to last_id.
CREATE TABLE scoring_job_slices (
    tenant_id    uuid        NOT NULL,
    job_id       uuid        NOT NULL,
    slice        integer     NOT NULL,
    after_id     uuid        NOT NULL,
    last_id      uuid        NOT NULL,
    done_rows    bigint      NOT NULL DEFAULT 0,
    changed_rows bigint      NOT NULL DEFAULT 0,
    finished_at  timestamptz,
    PRIMARY KEY (tenant_id, job_id, slice),
    FOREIGN KEY (tenant_id, job_id) REFERENCES scoring_jobs (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE scoring_rulesets ENABLE ROW LEVEL SECURITY;
ALTER TABLE scoring_rulesets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON scoring_rulesets
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE record_scores ENABLE ROW LEVEL SECURITY;
ALTER TABLE record_scores FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON record_scores
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE scoring_jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE scoring_jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON scoring_jobs
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE scoring_job_slices ENABLE ROW LEVEL SECURITY;
ALTER TABLE scoring_job_slices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON scoring_job_slices
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());

-- The background worker is not scoped to one tenant: these list tenant ids
-- only, with unfinished jobs and with time-dependent active rule sets.
CREATE FUNCTION lattice_pending_scoring_jobs() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT DISTINCT tenant_id FROM scoring_jobs WHERE finished_at IS NULL AND error = '' $$;
REVOKE ALL ON FUNCTION lattice_pending_scoring_jobs() FROM PUBLIC;

CREATE FUNCTION lattice_decaying_scoring_tenants() RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
    SELECT DISTINCT tenant_id FROM (
        SELECT DISTINCT ON (tenant_id, object_id) tenant_id, time_dependent
        FROM scoring_rulesets ORDER BY tenant_id, object_id, version DESC) AS active
    WHERE time_dependent
    $$;
REVOKE ALL ON FUNCTION lattice_decaying_scoring_tenants() FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE, DELETE ON scoring_rulesets, record_scores, scoring_jobs, scoring_job_slices TO lattice_app;
GRANT EXECUTE ON FUNCTION lattice_pending_scoring_jobs() TO lattice_app;
GRANT EXECUTE ON FUNCTION lattice_decaying_scoring_tenants() TO lattice_app;

-- +goose Down
DROP FUNCTION lattice_decaying_scoring_tenants();
DROP FUNCTION lattice_pending_scoring_jobs();
DROP TABLE scoring_job_slices, scoring_jobs, record_scores, scoring_rulesets;
