-- Access control: every tenant's casbin rules, and a version per tenant
-- that every change of its rules bumps. See docs/permissions.md and
-- platform/access.
--
-- Both tables are tenant-owned: tenant_id first in every key, the
-- tenant_isolation policy of 00001, cascade from tenants.

-- +goose Up

-- access_rules holds casbin rules the way casbin's SQL adapters do: the
-- rule type (ptype: p for policies, g for groupings) and up to six values.
-- The model (platform/access/model.conf) has p = sub, dom, obj, act, eft
-- and g = member, role, dom; the domain is always the tenant's own id, so a
-- rule can never grant anything in another tenant. The values form the
-- primary key, so their total length is bounded to fit a B-tree entry.
CREATE TABLE access_rules (
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    ptype     text NOT NULL CHECK (ptype IN ('p', 'g')),
    v0        text NOT NULL DEFAULT '',
    v1        text NOT NULL DEFAULT '',
    v2        text NOT NULL DEFAULT '',
    v3        text NOT NULL DEFAULT '',
    v4        text NOT NULL DEFAULT '',
    v5        text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, ptype, v0, v1, v2, v3, v4, v5),
    CONSTRAINT access_rules_domain CHECK (
        (ptype = 'p' AND v1 = tenant_id::text) OR (ptype = 'g' AND v2 = tenant_id::text)),
    CONSTRAINT access_rules_length CHECK (
        octet_length(v0) + octet_length(v1) + octet_length(v2) + octet_length(v3)
        + octet_length(v4) + octet_length(v5) <= 2000)
);

-- access_versions counts the changes of each tenant's rules. A change
-- bumps it first, in its own transaction, which also serialises the
-- changes of one tenant (the row stays locked until commit).
CREATE TABLE access_versions (
    tenant_id uuid   PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    version   bigint NOT NULL CHECK (version > 0)
);

ALTER TABLE access_rules ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_rules FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON access_rules
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());
ALTER TABLE access_versions ENABLE ROW LEVEL SECURITY;
ALTER TABLE access_versions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON access_versions
    USING (tenant_id = lattice_current_tenant()) WITH CHECK (tenant_id = lattice_current_tenant());

-- Rules are added and removed, never updated in place.
GRANT SELECT, INSERT, DELETE ON access_rules TO lattice_app;
GRANT SELECT, INSERT, UPDATE ON access_versions TO lattice_app;

-- +goose Down
DROP TABLE access_versions, access_rules;
