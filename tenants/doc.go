// Package tenants manages who uses Lattice: tenants (the companies), users
// (global identities that belong to one or more tenants), passwords,
// login sessions and API tokens.
//
// A Service wraps the application's connection pool (the lattice_app role,
// subject to row-level security). Tenant registry and user identity rows are
// global; memberships, tokens and sessions are tenant-owned and are only
// touched inside a tenant-scoped transaction (platform/database).
//
// Credentials carry their tenant: an API token is "lat_" + the tenant id in
// hex + "_" + a 256-bit secret, a session token is the same with "lss_".
// Only the SHA-256 of the secret is stored. Authenticate turns either into a
// Principal in one round trip to PostgreSQL.
//
// Errors a caller can fix are *apierror.Error with stable codes (see
// errors.go); everything else is wrapped with context.
package tenants
