-- Tenancy and identity: tenants, users, memberships, API tokens, sessions,
-- the application role and row-level security.
--
-- Tenant-owned tables carry tenant_id first in every key and are guarded by
-- a row-level security policy that compares tenant_id with the tenant the
-- transaction set through set_config('lattice.tenant_id', id, true). With no
-- tenant set, lattice_current_tenant() is NULL, the comparison is never true
-- and every statement sees and changes nothing: a missing scope fails closed.

-- +goose Up
-- +goose StatementBegin
-- Roles are shared by every database of the cluster while the migration
-- lock is per database, so migrations of two databases can race here: an
-- unconditional ALTER ROLE fails with "tuple concurrently updated". Create
-- the role only when it is missing and alter it only when it is wrong.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lattice_app') THEN
        BEGIN
            CREATE ROLE lattice_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL; -- a concurrent migration of another database made it
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lattice_app' AND (rolsuper OR rolbypassrls)) THEN
        ALTER ROLE lattice_app NOSUPERUSER NOBYPASSRLS;
    END IF;
END
$$;
-- +goose StatementEnd

CREATE FUNCTION lattice_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('lattice.tenant_id', true), '')::uuid $$;

-- tenants is the registry of tenants itself, not tenant-owned data, so it
-- has no row-level policy: the server must resolve a slug or a token's tenant
-- before any tenant is set.
CREATE TABLE tenants (
    id               uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    slug             text        NOT NULL,
    name             text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    status           text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    suspended_reason text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    deleted_at       timestamptz,
    CONSTRAINT tenants_slug_key UNIQUE (slug),
    CONSTRAINT tenants_slug_format CHECK (slug ~ '^[a-z][a-z0-9-]{1,61}[a-z0-9]$')
);

-- users are global identities: one person may belong to several tenants.
CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL CHECK (email = lower(email)),
    name          text        NOT NULL DEFAULT '',
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email)
);

CREATE TABLE tenant_members (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text        NOT NULL CHECK (role IN ('admin', 'member')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, user_id)
);
CREATE INDEX tenant_members_user_idx ON tenant_members (user_id);

-- api_tokens belong to a member (user_id) or to an integration (integration
-- name), never both. Only the SHA-256 of the secret is stored.
CREATE TABLE api_tokens (
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           uuid        NOT NULL DEFAULT gen_random_uuid(),
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    user_id      uuid,
    integration  text,
    -- role applies to integration tokens; a user's token acts with the
    -- user's current membership role.
    role         text        CHECK (role IN ('admin', 'member')),
    secret_hash  bytea       NOT NULL,
    hint         text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT api_tokens_secret_key UNIQUE (tenant_id, secret_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_members (tenant_id, user_id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) <> (integration IS NULL)),
    CHECK ((integration IS NULL) = (role IS NULL))
);

-- sessions are created by a password login and last until they expire or
-- the user logs out.
CREATE TABLE sessions (
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          uuid        NOT NULL DEFAULT gen_random_uuid(),
    user_id     uuid        NOT NULL,
    secret_hash bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    remote_addr text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, id),
    CONSTRAINT sessions_secret_key UNIQUE (tenant_id, secret_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES tenant_members (tenant_id, user_id) ON DELETE CASCADE
);

ALTER TABLE tenant_members ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_members FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_members
    USING (tenant_id = lattice_current_tenant())
    WITH CHECK (tenant_id = lattice_current_tenant());

ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_tokens
    USING (tenant_id = lattice_current_tenant())
    WITH CHECK (tenant_id = lattice_current_tenant());

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sessions
    USING (tenant_id = lattice_current_tenant())
    WITH CHECK (tenant_id = lattice_current_tenant());

-- lattice_user_tenants lists the tenants a user belongs to. Membership rows
-- are tenant-owned, so without this the server could not find them for
-- cross-tenant identity work (ending every session after a password reset,
-- listing a user's tenants). It reveals tenant ids only.
CREATE FUNCTION lattice_user_tenants(p_user_id uuid) RETURNS SETOF uuid
    LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
    AS $$ SELECT tenant_id FROM tenant_members WHERE user_id = p_user_id $$;
REVOKE ALL ON FUNCTION lattice_user_tenants(uuid) FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO lattice_app;
GRANT EXECUTE ON FUNCTION lattice_user_tenants(uuid) TO lattice_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenants, users, tenant_members, api_tokens, sessions TO lattice_app;
GRANT EXECUTE ON FUNCTION lattice_current_tenant() TO lattice_app;

-- +goose Down
DROP TABLE sessions, api_tokens, tenant_members, users, tenants;
DROP FUNCTION lattice_user_tenants(uuid);
DROP FUNCTION lattice_current_tenant();
