// Package condition is Lattice's condition language: one JSON form of
// conditions on records, with two implementations that always agree, a Go
// evaluator over in-memory records and a SQL compiler for the records
// table. Filters, sharing rules, tag rules and scoring rules all use it.
// docs/conditions.md is the reference; condition.schema.json (MetaSchema)
// is the published meta-schema of the JSON form.
//
//	{"and": [
//	  {"field": "industry", "op": "in", "value": ["technology", "finance"]},
//	  {"field": "account.parent.name", "op": "startsWith", "value": "Acme"},
//	  {"related": "activities", "count": {"op": "gte", "value": 2},
//	   "where": {"field": "occurredAt", "op": "withinLast", "value": "7d"}},
//	  {"tags": "hasAny", "value": ["customer/vip"]},
//	  {"field": "score", "op": "gte", "value": 60}
//	]}
//
// Use:
//
//	c, err := condition.Compile(m, m.Object("Contact"), raw) // model.Problems with JSON pointers
//	ok := c.Eval(rec, src, time.Now())                        // Go, no allocation
//	pred, args := c.SQL("r", 3, time.Now())                   // one parameterised predicate
//	rows, err := tx.Query(ctx, "SELECT id FROM records r WHERE tenant_id = $1 AND object_id = $2"+
//		" AND deleted_at IS NULL AND ("+pred+")", append([]any{tenant, c.Object().Key}, args...)...)
//
// Compile checks the JSON form against the meta-schema and the model,
// reports every problem at once, and parses every literal once. A compiled
// Condition is immutable and safe for concurrent use; cache it per model
// version.
//
// The null rule, identical in both implementations: a comparison with a
// missing value is false; ne, notIn and isNull true are the exact
// negations of eq, in and isNull false; a lookup hop through a missing
// lookup or to a deleted record gives a missing value; results are always
// true or false, never NULL. Text compares case-sensitively, byte by byte.
//
// The package knows the records table only in storage.go, which maps
// operands to slot columns (so the shared indexes serve them) or JSONB
// expressions, and relations to subqueries through the lookups' reference
// slots.
package condition
