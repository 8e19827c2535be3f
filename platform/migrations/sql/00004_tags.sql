-- Multi-dimensional tags: tag groups (dimensions such as industry or
-- purchase intent), the tags within them, and tag rules that apply a tag
-- to the records a condition selects. See docs/tags.md and schema/tags.
--
-- A record's tags live in records.tags (text[], from 00003) as
-- "group/tag" strings. One GIN index on that column serves tag filters
-- (tags && $1, tags @> $1) for every tenant and object: a fixed index, like
-- the slot indexes. Under row-level security the planner uses it only
-- because migrations.Up marks arrayoverlap, arraycontains and
-- arraycontained LEAKPROOF (platform/migrations/migrations.go).
--
-- All three tables are tenant-owned: tenant_id first in every key, the
-- tenant_isolation policy of 00001, cascade from tenants.

-- +goose Up

-- tag_groups are the dimensions. name is the immutable API name; objects
-- holds the keys (records.object_id) of the objects its tags apply to.
-- deleting_at is set while the group's tags are being removed from
-- records: no new tags may be created in it or applied from it.
CREATE TABLE tag_groups (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name         text        NOT NULL CHECK (name ~ '^[a-z][A-Za-z0-9]{0,62}$'),
    label        jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(label) = 'object'),
    description  jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(description) = 'object'),
    multi_valued boolean     NOT NULL DEFAULT false,
    objects      uuid[]      NOT NULL CHECK (cardinality(objects) BETWEEN 1 AND 100),
    position     integer     NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    created_by   text        NOT NULL DEFAULT '',
    updated_by   text        NOT NULL DEFAULT '',
    deleting_at  timestamptz,
    PRIMARY KEY (tenant_id, name)
);

-- tags are the values of a dimension; records store group_name || '/' || name.
CREATE TABLE tags (
    tenant_id   uuid        NOT NULL,
    group_name  text        NOT NULL,
    name        text        NOT NULL CHECK (name ~ '^[a-z][A-Za-z0-9]{0,62}$'),
    label       jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(label) = 'object'),
    color       text        CHECK (color ~ '^#[0-9a-fA-F]{6}$'),
    position    integer     NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    created_by  text        NOT NULL DEFAULT '',
    updated_by  text        NOT NULL DEFAULT '',
    deleting_at timestamptz,
    PRIMARY KEY (tenant_id, group_name, name),
    FOREIGN KEY (tenant_id, group_name) REFERENCES tag_groups (tenant_id, name) ON DELETE CASCADE
);

-- tag_rules apply one tag to the records of one object that meet a
-- condition (schema/condition's JSON form) and, with remove_when_false,
-- take it off those that do not. Deleting the tag deletes its rules.
CREATE TABLE tag_rules (
    tenant_id         uuid        NOT NULL,
    id                uuid        NOT NULL DEFAULT gen_random_uuid(),
    group_name        text        NOT NULL,
    tag_name          text        NOT NULL,
    object_id         uuid        NOT NULL,
    condition         jsonb       NOT NULL,
    remove_when_false boolean     NOT NULL DEFAULT false,
    enabled           boolean     NOT NULL DEFAULT true,
    version           integer     NOT NULL DEFAULT 1,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    created_by        text        NOT NULL DEFAULT '',
    updated_by        text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, group_name, tag_name) REFERENCES tags (tenant_id, group_name, name) ON DELETE CASCADE
);
-- The rule consumer loads an object's rules on every write of its records.
CREATE INDEX tag_rules_object_idx ON tag_rules (tenant_id, object_id);

-- One index for every tenant's tag filters (see the header).
CREATE INDEX records_tags_idx ON records USING gin (tags);

ALTER TABLE tag_groups ENABLE ROW LEVEL SECURITY;
ALTER TABLE tag_groups FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tag_groups
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE tags ENABLE ROW LEVEL SECURITY;
ALTER TABLE tags FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tags
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE tag_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE tag_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tag_rules
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());

GRANT SELECT, INSERT, UPDATE, DELETE ON tag_groups, tags, tag_rules TO lattice_app;

-- +goose Down
DROP INDEX records_tags_idx;
DROP TABLE tag_rules, tags, tag_groups;
