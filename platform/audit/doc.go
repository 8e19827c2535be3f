// Package audit is Lattice's append-only audit log: who changed what in a
// tenant, when, from which request and address.
//
// Writing. Append adds entries inside the change's own tenant transaction,
// so the entry commits or rolls back with the change:
//
//	log := audit.New(pool, logger)
//	err := database.InTenantTx(ctx, pool, tenantID, func(tx pgx.Tx) error {
//		// ... the change itself ...
//		return log.Append(ctx, tx, tenantID, audit.Entry{Actor: "user:" + userID,
//			Action: audit.ActionPermissionChanged, Details: details})
//	})
//
// With a nil tx Append writes in a transaction of its own. An entry's
// empty Actor, RequestID and Address are taken from the Request that
// WithRequest put in ctx (HTTP middleware does that once per request), and
// its empty At is the time of the insert.
//
// Data changes are not appended by the code that makes them: Consumer
// turns the outbox's record events into entries, with field-level old and
// new values, at least once and idempotently.
//
// Reading. List pages through a tenant's entries newest first, filtered
// by record, actor, action (exact or a "record.*" prefix), object and a
// half-open time range, with an opaque keyset cursor; History is List for
// one record; Export streams every matching entry as NDJSON in pages.
//
// Append-only. The server's database role may only SELECT and INSERT
// audit rows: PostgreSQL refuses its UPDATE and DELETE statements, and a
// trigger refuses them for every role. Retention (SetRetention, Retention,
// RunRetention) deletes old entries through lattice_audit_purge, a
// SECURITY DEFINER function that deletes only the calling transaction's
// tenant's entries older than its retention.
//
// docs/audit.md lists what is recorded, by whom, and what is not.
package audit
