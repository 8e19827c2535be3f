-- Record scopes ("own records", "my team's records") filter on the owner.
-- The record store now writes owners lower-cased and never empty, so
-- conditions compare the bare column and this index serves them under
-- row-level security (an expression such as lower(owner_id) could not be
-- used there: lower() is not leakproof). Older rows are normalised here.

-- +goose Up
UPDATE records SET owner_id = NULLIF(lower(owner_id), '')
    WHERE owner_id IS DISTINCT FROM NULLIF(lower(owner_id), '');
CREATE INDEX records_owner_idx ON records (tenant_id, object_id, owner_id, id) WHERE owner_id IS NOT NULL;

-- +goose Down
DROP INDEX records_owner_idx;
