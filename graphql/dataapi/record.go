package dataapi

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/latticecrm/lattice/schema/model"
)

// record renders the JSON of the record row aliased a for a selection set
// on t. mult is how many times this record may occur in the response (the
// product of the enclosing page sizes), for the cost estimate.
func (c *compiler) record(t *objectType, a string, set ast.SelectionSet, path []any, depth, mult int) (string, error) {
	if depth > c.limits.MaxDepth {
		return "", fieldAt(limitError(nil, "the query nests records %d levels deep; the limit (MaxDepth) is %d", depth, c.limits.MaxDepth), path)
	}
	fields := collect(set, t.names.Object, implementsNode, c.vars)
	keys := make([]string, 0, len(fields))
	exprs := make([]string, 0, len(fields))
	for _, f := range fields {
		p := appendPath(path, f.Alias)
		if err := checkKey(f, p); err != nil {
			return "", err
		}
		x, err := c.recordField(t, a, f, p, depth, mult)
		if err != nil {
			return "", err
		}
		keys = append(keys, f.Alias)
		exprs = append(exprs, x)
	}
	return jsonObject(keys, exprs), nil
}

// recordField renders one selected field of a record.
func (c *compiler) recordField(t *objectType, a string, f *ast.Field, path []any, depth, mult int) (string, error) {
	switch f.Name {
	case "__typename":
		return quoteLiteral(t.names.Object), nil
	case "id":
		return a + ".id", nil
	case "createdAt":
		return timestampJSON(a + ".created_at"), nil
	case "updatedAt":
		return timestampJSON(a + ".updated_at"), nil
	case "deletedAt":
		return timestampJSON(a + ".deleted_at"), nil
	case "createdBy":
		return a + ".created_by", nil
	case "updatedBy":
		return a + ".updated_by", nil
	case "owner":
		return "NULLIF(" + a + ".owner_id, '')", nil
	case "version":
		return a + ".version", nil
	case "tags":
		return a + ".tags", nil
	case "score":
		return a + ".score", nil
	case "grade":
		return a + ".grade", nil
	}
	if fd := t.field(f.Name); fd != nil {
		return c.userField(t, a, fd, f, path, depth, mult)
	}
	if inv := t.inverses[f.Name]; inv != nil {
		from := c.s.byKey[inv.From.Key]
		link := func(x string) string { return refExpr(x, inv.Field) + " = " + a + ".id" }
		return c.connection(from, f, arguments(f, c.vars), link, false, path, depth+1, mult)
	}
	// Validation against the schema makes this unreachable.
	return "", fieldAt(badInput(nil, "%s has no field %s", t.names.Object, f.Name), path)
}

// refExpr is the id a lookup of the row aliased a points at: its
// reference slot, which schema/model gives every lookup.
func refExpr(a string, f *model.Field) string {
	if f.Slot != "" {
		return a + "." + f.Slot
	}
	return "(" + a + ".data->>" + quoteLiteral(f.Key) + ")::uuid"
}

// userField renders a tenant-defined field.
func (c *compiler) userField(t *objectType, a string, fd *model.Field, f *ast.Field, path []any, depth, mult int) (string, error) {
	v := dataKey(a, fd)
	switch fd.Kind {
	case model.KindLookup:
		target := c.s.byKey[fd.Target.Key]
		b := c.newAlias()
		live, err := c.live(target, b, false)
		if err != nil {
			return "", err
		}
		rec, err := c.record(target, b, f.SelectionSet, path, depth+1, mult)
		if err != nil {
			return "", err
		}
		c.cost += mult
		return "(SELECT " + rec + " FROM records " + b + " WHERE " + live + " AND " + b + ".id = " + refExpr(a, fd) + ")", nil
	case model.KindCurrency:
		var keys, exprs []string
		for _, sf := range collect(f.SelectionSet, "Money", nil, c.vars) {
			keys = append(keys, sf.Alias)
			switch sf.Name {
			case "__typename":
				exprs = append(exprs, "'Money'")
			default: // amount, currency
				exprs = append(exprs, v+"->"+quoteLiteral(sf.Name))
			}
		}
		return "CASE WHEN jsonb_typeof(" + v + ") = 'object' THEN " + jsonObject(keys, exprs) + " END", nil
	case model.KindPicklist:
		if m := t.enums[fd]; m != nil && !m.identity {
			return enumCase(m, a+".data->>"+quoteLiteral(fd.Key)), nil
		}
	case model.KindMultiPicklist:
		if m := t.enums[fd]; m != nil && !m.identity {
			return "(SELECT json_agg(" + enumCase(m, "e") + ") FROM jsonb_array_elements_text(" + v + ") e)", nil
		}
	}
	return v, nil
}

// enumCase maps stored picklist values (text expression x) to enum names.
func enumCase(m *enumMap, x string) string {
	var b strings.Builder
	b.WriteString("CASE " + x)
	for _, name := range m.names {
		b.WriteString(" WHEN " + quoteLiteral(m.toValue[name]) + " THEN " + quoteLiteral(name))
	}
	b.WriteString(" END")
	return b.String()
}
