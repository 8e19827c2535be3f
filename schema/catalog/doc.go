// Package catalog stores each tenant's schema: the current bundle and every
// version before it, with the changes between them. It applies changes
// atomically (validated by schema/model, one transaction, one new version),
// checks that data survives them (a kind change every stored value must
// pass, a unique field without duplicates), queues the background jobs that
// fill or clear slot columns, purges removed fields and objects after their
// retention, and caches each tenant's compiled model, invalidated across
// servers by LISTEN/NOTIFY on the lattice_schema channel.
//
// Schema changes never rewrite the records table: values live under stable
// field keys, so adding, renaming and removing fields are metadata changes.
package catalog
