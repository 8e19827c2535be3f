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

	filter, err := c.s.compileFilter(t, args["where"], []any{"where"})
	if err != nil {
		return "", err
	}
	a := c.newAlias()
	keys, err := c.orderKeys(t, a, args["orderBy"], []any{"orderBy"})
	if err != nil {
		return "", err
	}
	var cursors [2][]any // after, before: decoded before anything is rendered
	for i, name := range []string{"after", "before"} {
		if s, _ := args[name].(string); s != "" {
			if cursors[i], err = decodeCursor(s, keys, []any{name}); err != nil {
				return "", err
			}
		}
	}

	// What the selection needs. Only the parts it selects are rendered, so
	// every parameter bound is one the statement uses (PostgreSQL refuses
	// a statement with a parameter it cannot type).
	sel := collect(f.SelectionSet, t.names.Connection, nil, c.vars)
	rows, count := false, false // the page, the total count
	for _, s := range sel {
		rows = rows || s.Name == "nodes" || s.Name == "edges" || s.Name == "pageInfo"
		count = count || s.Name == "totalCount"
	}
	var where string
	if rows || count {
		deleted := false
		if root {
			deleted, _ = args["includeDeleted"].(bool)
		}
		if where, err = c.live(t, a, deleted); err != nil {
			return "", err
		}
		if link != nil {
			where += " AND " + link(a)
		}
		if filter != nil {
			where += " AND " + c.cond(filter, a)
		}
	}
	var source string // the page's rows, at most n+1, in no particular order
	if rows {
		source = c.pageRows(a, where, keys, cursors, backward, n+1)
	}

	// Each edges and nodes selection renders its own node, so that two of
	// them selecting different fields under one response key (which
	// validation allows: they are different fields' selections) each get
	// theirs.
	needCursor := false
	nodes := map[*ast.Field]string{} // edges or nodes field -> its node column
	var nodeCols []string
	addNode := func(owner *ast.Field, set ast.SelectionSet, at []any) error {
		x, err := c.record(t, a, set, at, depth, mult)
		if err != nil {
			return err
		}
		col := "n" + itoa(len(nodeCols))
		nodes[owner] = "q." + col
		nodeCols = append(nodeCols, x+" AS "+col)
		return nil
	}
	for _, s := range sel {
		switch s.Name {
		case "edges":
			var set ast.SelectionSet
			for _, e := range collect(s.SelectionSet, t.names.Edge, nil, c.vars) {
				needCursor = needCursor || e.Name == "cursor"
				if e.Name == "node" {
					set = append(set, e.SelectionSet...)
				}
			}
			if set != nil {
				if err := addNode(s, set, appendPath(path, s.Alias, "node")); err != nil {
					return "", err
				}
			}
		case "nodes":
			if err := addNode(s, s.SelectionSet, appendPath(path, s.Alias)); err != nil {
				return "", err
			}
		case "pageInfo":
			for _, p := range collect(s.SelectionSet, "PageInfo", nil, c.vars) {
				needCursor = needCursor || p.Name == "startCursor" || p.Name == "endCursor"
			}
		}
	}

	nstr := itoa(n)
	var inner strings.Builder
	inner.WriteString("SELECT row_number() OVER (ORDER BY " + orderBy(keys, backward) + ") AS rn, count(*) OVER () AS cnt")
	for _, col := range nodeCols {
		inner.WriteString(", " + col)
	}
	if needCursor {
		inner.WriteString(", " + cursorExpr(keys) + " AS cur")
	}
	inner.WriteString(" FROM " + source + " " + a)

	order := "q.rn"
	if backward {
		order = "q.rn DESC"
	}
	inPage := " FILTER (WHERE q.rn <= " + nstr + ")"
	first1 := "min(q.cur) FILTER (WHERE q.rn = 1 AND q.rn <= " + nstr + ")" // no cursor on an empty page
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
			x = "coalesce(json_agg(" + nodes[s] + " ORDER BY " + order + ")" + inPage + ", '[]')"
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
					ex = append(ex, nodes[s])
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
	switch {
	case !rows && !count:
		// Nothing is read (only __typename), but a root field's statement
		// must still use $1, the tenant, which every statement binds.
		return "(SELECT " + jsonObject(keysOut, exprs) + " WHERE $1::uuid IS NOT NULL)", nil
	case !rows:
		return "(SELECT " + jsonObject(keysOut, exprs) + ")", nil
	}
	return "(SELECT " + jsonObject(keysOut, exprs) + " FROM (" + inner.String() + ") q)", nil
}

// pageRows renders the subquery of a page's rows: those meeting where
// after and before the cursors, the first limit in the order of keys.
func (c *compiler) pageRows(a, where string, keys []sortKey, cursors [2][]any, backward bool, limit int) string {
	page := func(keys []sortKey) string {
		p := where
		for i, vals := range cursors {
			if vals != nil {
				p += " AND " + c.keyset(keys, vals, i == 1)
			}
		}
		return p
	}
	ob, lim := " ORDER BY "+orderBy(keys, backward), " LIMIT "+itoa(limit)
	k := keys[0]
	if !k.slotted || k.desc != backward { // not a slot, or descending: NULLs first
		return "(SELECT * FROM records " + a + " WHERE " + page(keys) + ob + lim + ")"
	}
	// splitNulls: a slot's index holds only its non-NULL values, so an
	// ascending sort on it, whose NULLs come last, could not use it and
	// would read every record of the object to find the first page. The
	// page is read as the non-NULL rows from the index, then only if
	// they fall short of a page, the NULL rows.
	notNull := append([]sortKey{}, keys...)
	notNull[0].notNull = true // the keyset need not reach the NULLs
	nn := a + "_nn"
	return "(WITH " + nn + " AS MATERIALIZED (SELECT * FROM records " + a + " WHERE " + page(notNull) + " AND " + k.expr + " IS NOT NULL" + ob + lim + ")" +
		" SELECT * FROM " + nn + " UNION ALL (SELECT * FROM records " + a + " WHERE " + page(keys) + " AND " + k.expr + " IS NULL" + ob +
		" LIMIT greatest(0, " + itoa(limit) + " - (SELECT count(*) FROM " + nn + "))))"
}
