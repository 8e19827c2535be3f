// Package database opens Lattice's PostgreSQL connection pools and runs work
// scoped to one tenant.
//
// Two connection strings matter. The owner URL (DATABASE_URL) belongs to the
// operator: it creates the database if missing and runs migrations. The app
// URL is what the server and CLI use for everything else; it connects as the
// non-superuser role lattice_app, so PostgreSQL row-level security applies to
// every statement. AppURL derives it from the owner URL unless configured.
//
// Tenant scope is set per transaction, never per connection:
//
//	err := database.InTenantTx(ctx, pool, tenantID, func(tx pgx.Tx) error { ... })
//
// runs fn in a transaction whose first statement is
// set_config('lattice.tenant_id', tenantID, true). For reads,
// SendTenantBatch sends that statement and the caller's statements as one
// batch: one network round trip and one implicit transaction. Work that
// forgets to set a tenant sees no tenant-owned rows at all.
package database
