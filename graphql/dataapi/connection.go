package dataapi

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// connection renders a Relay connection of t's records as one scalar
// subquery: a page subquery (filter, keyset, ORDER BY, LIMIT n+1 to learn
// whether there is more), numbered, then aggregated into edges, nodes and
// pageInfo in selection order; totalCount is counted only when selected.
// link, if set, ties the rows to the enclosing record (a related list).
func (c *compiler) connection(t *objectType, f *ast.Field, args map[string]any, link func(string) string, root bool, path []any, depth, mult int) (_ string, err error) {
	defer func() { err = atPath(err, path) }()
	first, err := intArg(args, "first")
	if err != nil {
		return "", err
	}
	last, err := intArg(args, "last")
	if err != nil {
		return "", err
	}
	if first != nil && last != nil {
		return "", badInput([]any{"last"}, "give first or last, not both")
	}
	n := c.limits.DefaultPageSize
	backward := last != nil
	for name, v := range map[string]*int{"first": first, "last": last} {
		if v == nil {
			continue
		}
		if *v < 0 {
			return "", badInput([]any{name}, "%s must not be negative, got %d", name, *v)
		}
		if *v > c.limits.MaxPageSize {
			return "", limitError([]any{name}, "%s is %d; the largest page (MaxPageSize) is %d", name, *v, c.limits.MaxPageSize)
		}
		n = *v
	}
	mult *= n
	c.cost += mult
	if c.cost > c.limits.MaxCost {
		return "", limitError(nil, "the query could return about %d records; the limit (MaxCost) is %d: ask for smaller pages or fewer nested lists", c.cost, c.limits.MaxCost)
	}

	a := c.newAlias()
	deleted := false
	if root {
		deleted, _ = args["includeDeleted"].(bool)
	}
	where, err := c.live(t, a, deleted)
	if err != nil {
		return "", err
	}
	if link != nil {
		where += " AND " + link(a)
	}
	filter, err := c.s.compileFilter(t, args["where"], []any{"where"})
	if err != nil {
		return "", err
	}
	if filter != nil {
		where += " AND " + c.cond(filter, a)
	}
	keys, err := c.orderKeys(t, a, args["orderBy"], []any{"orderBy"})
	if err != nil {
		return "", err
	}
	page := where
	for _, cur := range []struct {
		name    string
		reverse bool
	}{{"after", false}, {"before", true}} {
		s, _ := args[cur.name].(string)
		if s == "" {
			continue
		}
		vals, err := decodeCursor(s, keys, []any{cur.name})
		if err != nil {
			return "", err
		}
		page += " AND " + c.keyset(keys, vals, cur.reverse)
	}

	// What the selection needs.
	var node string
	needCursor := false
	var parts []ast.SelectionSet
	sel := collect(f.SelectionSet, t.names.Connection, nil, c.vars)
	for _, s := range sel {
		switch s.Name {
		case "edges":
			for _, e := range collect(s.SelectionSet, t.names.Edge, nil, c.vars) {
				if e.Name == "cursor" {
					needCursor = true
				}
				if e.Name == "node" {
					parts = append(parts, e.SelectionSet)
				}
			}
		case "nodes":
			parts = append(parts, s.SelectionSet)
		case "pageInfo":
			for _, p := range collect(s.SelectionSet, "PageInfo", nil, c.vars) {
				if p.Name == "startCursor" || p.Name == "endCursor" {
					needCursor = true
				}
			}
		}
	}
	if len(parts) > 0 {
		var merged ast.SelectionSet
		for _, p := range parts {
			merged = append(merged, p...)
		}
		node, err = c.record(t, a, merged, appendPath(path, "nodes"), depth, mult)
		if err != nil {
			return "", err
		}
	}

	nstr := itoa(n)
	var inner strings.Builder
	inner.WriteString("SELECT row_number() OVER (ORDER BY " + orderBy(keys, backward) + ") AS rn, count(*) OVER () AS cnt")
	if node != "" {
		inner.WriteString(", " + node + " AS node")
	}
	if needCursor {
		inner.WriteString(", " + cursorExpr(keys) + " AS cur")
	}
	inner.WriteString(" FROM (SELECT * FROM records " + a + " WHERE " + page + " ORDER BY " + orderBy(keys, backward) + " LIMIT " + itoa(n+1) + ") " + a)

	order := "q.rn"
	if backward {
		order = "q.rn DESC"
	}
	inPage := " FILTER (WHERE q.rn <= " + nstr + ")"
	first1 := "min(q.cur) FILTER (WHERE q.rn = 1)"
	lastN := "min(q.cur) FILTER (WHERE q.rn = least(q.cnt, " + nstr + "))"
	more := "coalesce(max(q.cnt), 0) > " + nstr

	var keysOut, exprs []string
	for _, s := range sel {
		if err := checkKey(s, appendPath(path, s.Alias)); err != nil {
			return "", err
		}
		var x string
		switch s.Name {
		case "__typename":
			x = quoteLiteral(t.names.Connection)
		case "nodes":
			x = "coalesce(json_agg(q.node ORDER BY " + order + ")" + inPage + ", '[]')"
		case "edges":
			var ek, ex []string
			for _, e := range collect(s.SelectionSet, t.names.Edge, nil, c.vars) {
				ek = append(ek, e.Alias)
				switch e.Name {
				case "__typename":
					ex = append(ex, quoteLiteral(t.names.Edge))
				case "cursor":
					ex = append(ex, "q.cur")
				case "node":
					ex = append(ex, "q.node")
				}
			}
			x = "coalesce(json_agg(" + jsonObject(ek, ex) + " ORDER BY " + order + ")" + inPage + ", '[]')"
		case "pageInfo":
			var pk, px []string
			for _, p := range collect(s.SelectionSet, "PageInfo", nil, c.vars) {
				pk = append(pk, p.Alias)
				switch p.Name {
				case "__typename":
					px = append(px, "'PageInfo'")
				case "hasNextPage":
					if backward {
						px = append(px, "false")
					} else {
						px = append(px, more)
					}
				case "hasPreviousPage":
					if backward {
						px = append(px, more)
					} else {
						px = append(px, "false")
					}
				case "startCursor":
					if backward {
						px = append(px, lastN)
					} else {
						px = append(px, first1)
					}
				case "endCursor":
					if backward {
						px = append(px, first1)
					} else {
						px = append(px, lastN)
					}
				}
			}
			x = jsonObject(pk, px)
		case "totalCount":
			x = "(SELECT count(*) FROM records " + a + " WHERE " + where + ")"
		}
		keysOut = append(keysOut, s.Alias)
		exprs = append(exprs, x)
	}
	rows := false // an aggregate over the page is selected
	for _, s := range sel {
		rows = rows || s.Name == "nodes" || s.Name == "edges" || s.Name == "pageInfo"
	}
	if !rows {
		return "(SELECT " + jsonObject(keysOut, exprs) + ")", nil
	}
	return "(SELECT " + jsonObject(keysOut, exprs) + " FROM (" + inner.String() + ") q)", nil
}
