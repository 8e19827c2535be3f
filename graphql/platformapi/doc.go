// Package platformapi is Lattice's platform GraphQL API, served at
// /platform/graphql: what tenant admins (and the admin console) use to
// manage their tenant — objects and fields, schema versions and bundles,
// tags, scoring rule sets, roles, grants, sharing rules, members and API
// tokens, the audit log — and what operators use to manage tenants.
//
// It is SDL-first with github.com/graph-gophers/graphql-go: the schema is
// schema.graphql (embedded), and New parses it against the resolvers, so a
// resolver missing or of the wrong type fails at start-up (and in
// TestSchemaMatchesResolvers). Every resolver authorizes the caller with
// their casbin permissions (schema/permissions) and then calls the same
// service the CLI calls; no rule lives here that a service already has.
//
//	api, err := platformapi.New(platformapi.Services{...}, platformapi.Options{OperatorToken: tok})
//	mux.Handle("/platform/graphql", api.Handler(auth.Require))
//
// docs/platform-api.md describes the API for its users.
package platformapi
