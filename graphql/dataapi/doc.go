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
//	doc, errs := s.Parse(query)                    // gqlparser parse + every validation rule
//	res := api.Execute(ctx, req)                   // plan each root field, run its statement
//
// Planning (plan.go) turns the validated operation into a typed tree and
// finds every user error (bad cursor, limits, invalid filter values); SQL
// rendering (sql.go) cannot fail on user input. Filters are translated into
// the condition language (schema/condition), so the data API, sharing rules,
// tag rules and scoring agree on what a filter means.
//
// The caller's Scope (visible objects and fields, a record predicate) is an
// input of both the schema and the plan, so permissions plug in without
// reshaping either. docs/graphql.md describes the API tenants see.
package dataapi
