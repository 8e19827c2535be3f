package dataapi

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/latticecrm/lattice/schema/model"
)

// query compiles a root field of Query into one statement returning one
// JSON value (one row, one column).
func (c *compiler) query(rf rootField, f *ast.Field) (string, error) {
	args := arguments(f, c.vars)
	switch rf.kind {
	case rootOne:
		id, err := c.idParam(f, args)
		if err != nil {
			return "", err
		}
		return c.byID(rf.obj, f.SelectionSet, id, false)
	case rootList:
		x, err := c.connection(rf.obj, f, args, nil, true, nil, 1, 1)
		if err != nil {
			return "", err
		}
		return "SELECT " + x, nil
	case rootAggregate:
		return c.aggregate(rf.obj, f, args)
	case rootNode:
		id, err := c.idParam(f, args)
		if err != nil {
			return "", err
		}
		a := c.newAlias()
		node, err := c.anyRecord(a, f.SelectionSet, 1)
		if err != nil {
			return "", err
		}
		return "SELECT (SELECT " + node + " FROM records " + a + " WHERE " + a + ".tenant_id = $1 AND " + c.visibleObjects(a) +
			" AND " + a + ".id = " + id + "::uuid AND " + a + ".deleted_at IS NULL)", nil
	case rootNodes:
		ids, err := stringList(args["ids"], []any{"ids"})
		if err != nil {
			return "", err
		}
		for i, id := range ids {
			if !model.IsUUID(id) {
				return "", badInput([]any{"ids", i}, "%q is not a record id (a UUID)", id)
			}
		}
		c.cost += len(ids)
		if c.cost > c.limits.MaxCost {
			return "", limitError([]any{"ids"}, "%d ids; the limit (MaxCost) is %d", len(ids), c.limits.MaxCost)
		}
		a := c.newAlias()
		node, err := c.anyRecord(a, f.SelectionSet, len(ids))
		if err != nil {
			return "", err
		}
		return "SELECT coalesce(json_agg(" + node + " ORDER BY i.ord), '[]') FROM unnest(" + c.arg(ids) + "::uuid[]) WITH ORDINALITY AS i(id, ord)" +
			" LEFT JOIN records " + a + " ON " + a + ".tenant_id = $1 AND " + c.visibleObjects(a) + " AND " + a + ".id = i.id AND " + a + ".deleted_at IS NULL", nil
	}
	return "", badInput(nil, "%s is not a query", f.Name)
}

// byID compiles the record of t whose id is the uuid parameter param
// (null if there is none the caller can see). deleted finds deleted
// records too: mutations return what they deleted.
func (c *compiler) byID(t *objectType, set ast.SelectionSet, param string, deleted bool) (string, error) {
	a := c.newAlias()
	live, err := c.live(t, a, deleted)
	if err != nil {
		return "", err
	}
	rec, err := c.record(t, a, set, nil, 1, 1)
	if err != nil {
		return "", err
	}
	return "SELECT (SELECT " + rec + " FROM records " + a + " WHERE " + live + " AND " + a + ".id = " + param + "::uuid)", nil
}

// byIDs compiles the records of t whose ids are the uuid[] parameter param
// as a JSON array in the same order, deleted ones included (bulk mutations
// return them); null if the caller cannot see one of them. mult is how
// many ids there may be, for the cost.
func (c *compiler) byIDs(t *objectType, set ast.SelectionSet, param string, mult int) (string, error) {
	a := c.newAlias()
	rec, err := c.record(t, a, set, nil, 1, mult)
	if err != nil {
		return "", err
	}
	live, err := c.live(t, a, true)
	if err != nil {
		return "", err
	}
	return "SELECT CASE WHEN count(" + a + ".id) = cardinality(" + param + "::uuid[]) THEN coalesce(json_agg(" + rec + " ORDER BY i.ord), '[]') END" +
		" FROM unnest(" + param + "::uuid[]) WITH ORDINALITY AS i(id, ord) LEFT JOIN records " + a + " ON " + live + " AND " + a + ".id = i.id", nil
}

// anyRecord renders a Node of any visible object: a CASE on the row's
// object choosing that object's selection, NULL where the caller's scope
// hides the record. mult is how many such records there may be, for the
// cost of their nested lists.
func (c *compiler) anyRecord(a string, set ast.SelectionSet, mult int) (string, error) {
	var b strings.Builder
	b.WriteString("CASE " + a + ".object_id")
	for _, t := range c.s.sortedObjects() {
		rec, err := c.record(t, a, set, nil, 1, mult)
		if err != nil {
			return "", err
		}
		b.WriteString(" WHEN " + quoteLiteral(t.obj.Key) + "::uuid THEN ")
		sc, err := c.scope(t)
		if err != nil {
			return "", err
		}
		if sc != nil {
			b.WriteString("CASE WHEN " + c.cond(sc, a) + " THEN " + rec + " END")
		} else {
			b.WriteString(rec)
		}
	}
	b.WriteString(" END")
	return b.String(), nil
}

// idArg reads a record id argument.
func idArg(args map[string]any, name string) (string, error) {
	id, _ := args[name].(string)
	if !model.IsUUID(id) {
		return "", badInput([]any{name}, "%s %s is not a record id (a UUID)", name, describe(args[name]))
	}
	return strings.ToLower(id), nil
}

// visibleObjects restricts the row aliased a to the caller's objects. A
// node is found by id alone, and listing the objects lets the primary key
// (tenant_id, object_id, id) serve the lookup, one probe per object,
// without an index on (tenant_id, id), which the planner would prefer over
// the slot indexes on small tables.
func (c *compiler) visibleObjects(a string) string {
	objs := c.s.sortedObjects()
	if len(objs) == 0 {
		return "false"
	}
	keys := make([]string, len(objs))
	for i, t := range objs {
		keys[i] = quoteLiteral(t.obj.Key)
	}
	return a + ".object_id = ANY(ARRAY[" + strings.Join(keys, ", ") + "]::uuid[])"
}
