// Package records stores a tenant's records against its compiled schema:
// create, read, update, delete and restore, each in one transaction that
// validates every value (reporting every violation at once), checks lookups
// exist in the same tenant, lets PostgreSQL enforce uniqueness through the
// unique slots, honours optimistic concurrency on version and the
// restrict/set-null/cascade behaviour of lookups on delete, and appends an
// outbox event (record.created, record.updated with old and new values,
// record.deleted, record.restored) in the same transaction.
//
// Every record lives in the one records table, its values under stable
// field keys in data (JSONB) and, for indexed, unique and lookup fields,
// also in the slot columns schema/model assigned.
//
// A write uses the compiled model of the tenant's current schema version
// and holds a share lock on the tenant's schema row, so a concurrent schema
// change waits for it, and a write that raced one retries with the new model.
package records
