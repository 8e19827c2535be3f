-- The data API's node(id) and nodes(ids) find a record by id alone (ids are
-- UUIDs, unique across the tenant's objects), so the object is not known
-- up front: without this index such a lookup scans the tenant's records.

-- +goose Up
CREATE INDEX records_node_idx ON records (tenant_id, id);

-- +goose Down
DROP INDEX records_node_idx;
