package dataapi

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/latticecrm/lattice/schema/model"
)

// aggregate renders leadsAggregate(where, groupBy): one row per group,
// computing only the aggregates selected, as a JSON array ordered by the
// group keys (picklists in their own order), missing keys last.
func (c *compiler) aggregate(t *objectType, f *ast.Field, args map[string]any) (string, error) {
	a := c.newAlias()
	where, err := c.live(t, a, false)
	if err != nil {
		return "", err
	}
	filter, err := c.s.compileFilter(t, args["where"], []any{"where"})
	if err != nil {
		return "", err
	}
	if filter != nil {
		where += " AND " + c.cond(filter, a)
	}
	var groups []string
	if v := args["groupBy"]; v != nil {
		if groups, err = stringList(v, []any{"groupBy"}); err != nil {
			return "", err
		}
	}
	var cols []string // inner SELECT list
	groupCol := map[string]string{}
	order := make([]string, len(groups)) // the groups' ORDER BY
	for i, g := range groups {
		if _, dup := groupCol[g]; dup {
			return "", badInput([]any{"groupBy", i}, "%s is grouped by twice", g)
		}
		x, ok := c.groupExpr(t, a, g)
		if !ok {
			return "", badInput([]any{"groupBy", i}, "%s cannot be grouped by", g)
		}
		col := "k" + itoa(i)
		groupCol[g] = col
		cols = append(cols, x+" AS "+col)
		order[i] = t.groupOrder(g, "g."+col)
	}
	inner := func(x string) string {
		col := "v" + itoa(len(cols))
		cols = append(cols, x+" AS "+col)
		return "g." + col
	}
	var keys, exprs []string
	for _, s := range collect(f.SelectionSet, t.names.Aggregate, nil, c.vars) {
		if err := checkKey(s, []any{s.Alias}); err != nil {
			return "", err
		}
		var x string
		switch s.Name {
		case "__typename":
			x = quoteLiteral(t.names.Aggregate)
		case "count":
			x = inner("count(*)")
		case "key":
			var kk, kx []string
			for _, k := range collect(s.SelectionSet, t.names.GroupKey, nil, c.vars) {
				kk = append(kk, k.Alias)
				switch {
				case k.Name == "__typename":
					kx = append(kx, quoteLiteral(t.names.GroupKey))
				case groupCol[k.Name] != "":
					kx = append(kx, "g."+groupCol[k.Name])
				default:
					kx = append(kx, "NULL") // not grouped by: no single value
				}
			}
			x = jsonObject(kk, kx)
		case "sum", "avg", "min", "max":
			typeName := t.names.Numbers
			if s.Name == "min" || s.Name == "max" {
				typeName = t.names.Values
			}
			var vk, vx []string
			for _, v := range collect(s.SelectionSet, typeName, nil, c.vars) {
				vk = append(vk, v.Alias)
				if v.Name == "__typename" {
					vx = append(vx, quoteLiteral(typeName))
					continue
				}
				vx = append(vx, inner(c.aggregateExpr(t, a, s.Name, v.Name)))
			}
			x = jsonObject(vk, vx)
		}
		keys = append(keys, s.Alias)
		exprs = append(exprs, x)
	}
	if len(cols) == 0 {
		cols = append(cols, "1")
	}
	// The number of groups is known only to the database: more than
	// MaxCost (it is records returned, like a page's) makes the
	// statement return NULL, which the executor reports as the limit.
	maxGroups := c.limits.MaxCost
	c.onNull = limitError([]any{"groupBy"}, "the aggregate has more than %d groups; the limit (MaxCost) is %d: group by fewer or coarser fields, or filter", maxGroups, maxGroups)
	var b strings.Builder
	b.WriteString("SELECT CASE WHEN count(*) <= " + itoa(maxGroups) + " THEN coalesce(json_agg(" + jsonObject(keys, exprs))
	if len(groups) > 0 {
		b.WriteString(" ORDER BY " + strings.Join(order, ", "))
	}
	b.WriteString("), '[]') END FROM (SELECT " + strings.Join(cols, ", ") + " FROM records " + a + " WHERE " + where)
	if len(groups) > 0 {
		b.WriteString(" GROUP BY ")
		for i := range groups {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(itoa(i + 1))
		}
		b.WriteString(" LIMIT " + itoa(maxGroups+1))
	}
	b.WriteString(") g")
	return b.String(), nil
}

// groupOrder is what orders groups by the group-by field name whose value
// is in col: the value, or for a picklist its place in the picklist (a
// pipeline's stages in order, as sorting lists does).
func (t *objectType) groupOrder(name, col string) string {
	f := t.field(name)
	if f == nil || f.Kind != model.KindPicklist {
		return col
	}
	vals := make([]string, len(f.Values))
	for i, v := range f.Values {
		vals[i] = quoteLiteral(v.Value)
		if m := t.enums[f]; m != nil && !m.identity {
			vals[i] = quoteLiteral(m.names[i]) // the column holds enum names
		}
	}
	return "array_position(ARRAY[" + strings.Join(vals, ", ") + "]::text[], " + col + ")"
}

// groupExpr is the JSON-ready value of a group-by field.
func (c *compiler) groupExpr(t *objectType, a, name string) (string, bool) {
	switch name {
	case "owner":
		return "NULLIF(" + a + ".owner_id, '')", true
	case "grade":
		return a + ".grade", true
	}
	f := t.field(name)
	if f == nil || !groupable(f) {
		return "", false
	}
	x, typ := valueExpr(a, f)
	switch {
	case f.Kind == model.KindPicklist:
		if m := t.enums[f]; m != nil && !m.identity {
			return enumCase(m, x), true
		}
	case typ == "timestamptz" && f.Kind == model.KindDate:
		return "to_char(" + x + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')", true
	}
	return x, true
}

// aggregateExpr renders fn (sum, avg, min, max) of a field or system field.
func (c *compiler) aggregateExpr(t *objectType, a, fn, name string) string {
	var x, typ string
	kind := model.Kind("")
	switch name {
	case "score":
		x, typ = a+".score", "numeric"
	case "createdAt":
		x, typ = a+".created_at", "timestamptz"
	case "updatedAt":
		x, typ = a+".updated_at", "timestamptz"
	default:
		f := t.field(name)
		if f == nil {
			return "NULL"
		}
		kind = f.Kind
		x, typ = valueExpr(a, f)
	}
	agg := fn + "(" + x + ")"
	switch {
	case typ == "timestamptz" && kind == model.KindDate:
		return "to_char(" + agg + " AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
	case typ == "timestamptz":
		return timestampJSON(agg)
	case typ == "text" && (fn == "min" || fn == "max"):
		return fn + "(" + x + ` COLLATE "C")`
	}
	return agg
}
