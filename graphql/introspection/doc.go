// Package introspection answers GraphQL introspection (__schema and
// __type) over a schema held as a gqlparser *ast.Schema.
//
// The generated per-tenant data API parses and validates operations with
// github.com/vektah/gqlparser/v2 and runs ordinary root fields through its
// own SQL planner; gqlparser has no executor, so those two root fields come
// here instead:
//
//	doc, errs := gqlparser.LoadQuery(schema, query)       // parse + validate
//	vars, err := validator.VariableValues(schema, op, raw) // coerce variables
//	for _, sel := range op.SelectionSet {                  // after CollectFields
//		f := sel.(*ast.Field)
//		if f.Name == "__schema" || f.Name == "__type" {
//			data, err := introspection.Resolve(schema, f, vars)
//			// data is the JSON value for f's response key
//		}
//	}
//
// Resolve follows the GraphQL specification (October 2021, plus the
// September 2025 draft's isOneOf and deprecated arguments and input fields):
// it applies the field's selection set with aliases, fragment spreads,
// inline fragments, @skip/@include and __typename, and writes the JSON
// object keys in selection order. The output is deterministic: __Schema.types
// and __Schema.directives are sorted by name; fields, arguments, enum values,
// union members and an interface's implementations keep definition order.
//
// Resolve expects a validated operation: gqlparser's validator fills in the
// field definitions and fragment definitions that it reads. On input it
// cannot handle it returns an error rather than panicking.
package introspection
