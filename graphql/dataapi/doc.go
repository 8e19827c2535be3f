// Package dataapi is the generated per-tenant GraphQL data API: the schema
// generated from a tenant's compiled model, and the planner that executes
// operations against the records table.
//
// Every root field of an operation compiles into one SQL statement whose
// JSON PostgreSQL builds, whatever the nesting (lookups, inverse relations
// as Relay connections, aggregates), so there are no N+1 queries and the
// response bytes go to the client without being decoded. The flow:
//
//	s, err := dataapi.BuildSchema(m, scope)        // *ast.Schema + SDL, per (model version, scope)
//	res := api.Execute(ctx, caller, req)           // parse, validate, compile each root field, run its statement
//
// The compiler (compiler.go, root.go, connection.go, record.go, order.go,
// aggregate.go) renders each root field into one statement and finds every
// user error while doing so (bad cursor, limits, invalid filter values),
// before anything runs; a mutation's result is compiled before its write
// (mutate.go), so a selection the compiler refuses writes nothing.
// Filters are translated into the condition language (filter.go,
// schema/condition), so the data API, sharing rules, tag rules and scoring
// agree on what a filter means.
//
// The caller's Scope (visible objects and fields, a record predicate) is an
// input of both the schema and the plan, so permissions plug in without
// reshaping either. docs/graphql.md describes the API tenants see.
package dataapi
