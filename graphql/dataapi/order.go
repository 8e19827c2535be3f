package dataapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// sortKey is one ORDER BY key of a connection.
type sortKey struct {
	name string // API name, for the cursor's signature
	expr string // on the page's row alias
	typ  string // SQL type the cursor value is cast to
	desc bool
	// notNull keys never hold NULL, so the keyset needs no NULL branch
	// and stays a plain range an index can serve.
	notNull bool
	// slotted keys are a slot column, whose index is partial (WHERE the
	// slot IS NOT NULL): see splitNulls.
	slotted bool
}

// orderKeys parses orderBy into sort keys on the row aliased a, ending with
// id as the tie-breaker in the direction of the last key.
func (c *compiler) orderKeys(t *objectType, a string, v any, path []any) ([]sortKey, error) {
	var items []any
	switch x := v.(type) {
	case nil:
	case []any:
		items = x
	default:
		items = []any{x} // input coercion: one is a list of one
	}
	var keys []sortKey
	hasID := false
	for i, item := range items {
		p := appendPath(path, i)
		m, _ := item.(map[string]any)
		var set []string
		for k, d := range m {
			if d != nil {
				set = append(set, k)
			}
		}
		if len(set) != 1 {
			return nil, badInput(p, "each orderBy item sets exactly one field, got %d", len(set))
		}
		name := set[0]
		desc := m[name] == "DESC"
		if hasID {
			return nil, badInput(p, "id is unique, so no sort key can follow it")
		}
		k, ok := c.sortExpr(t, a, name)
		if !ok {
			return nil, badInput(appendPath(p, name), "%s cannot be sorted on", name)
		}
		k.desc = desc
		keys = append(keys, k)
		hasID = name == "id"
	}
	if !hasID {
		desc := len(keys) > 0 && keys[len(keys)-1].desc
		keys = append(keys, sortKey{name: "id", expr: a + ".id", typ: "uuid", desc: desc, notNull: true})
	}
	return keys, nil
}

// sortExpr is the typed SQL expression of a sortable field, using its slot
// column where it has one so the slot's index can serve the sort.
func (c *compiler) sortExpr(t *objectType, a, name string) (sortKey, bool) {
	switch name {
	case "id":
		return sortKey{name: name, expr: a + ".id", typ: "uuid", notNull: true}, true
	case "createdAt":
		return sortKey{name: name, expr: a + ".created_at", typ: "timestamptz", notNull: true}, true
	case "updatedAt":
		return sortKey{name: name, expr: a + ".updated_at", typ: "timestamptz", notNull: true}, true
	case "score":
		return sortKey{name: name, expr: a + ".score", typ: "numeric"}, true
	case "grade":
		return sortKey{name: name, expr: a + ".grade", typ: "text"}, true
	case "version":
		return sortKey{name: name, expr: a + ".version", typ: "integer", notNull: true}, true
	}
	f := t.field(name)
	if f == nil || !sortable(f) {
		return sortKey{}, false
	}
	x, typ := valueExpr(a, f)
	slotted := f.Slot != "" && x == a+"."+f.Slot
	if f.Kind == model.KindPicklist {
		// Picklists sort in their own order (a pipeline's stages), not
		// alphabetically.
		vals := make([]string, len(f.Values))
		for i, v := range f.Values {
			vals[i] = quoteLiteral(v.Value)
		}
		x, typ, slotted = "array_position(ARRAY["+strings.Join(vals, ", ")+"]::text[], "+x+")", "integer", false
	}
	return sortKey{name: name, expr: x, typ: typ, slotted: slotted}, true
}

// valueExpr is the typed SQL value of f in the row aliased a, from its slot
// column if it has one: what sorting, grouping and aggregates work on.
func valueExpr(a string, f *model.Field) (expr, typ string) {
	text := "(" + a + ".data->>" + quoteLiteral(f.Key) + ")"
	slot := f.Slot
	switch f.Kind {
	case model.KindInteger, model.KindDecimal, model.KindPercent:
		if slot != "" {
			return a + "." + slot, "numeric"
		}
		return text + "::numeric", "numeric"
	case model.KindCurrency:
		if slot != "" {
			return a + "." + slot, "numeric"
		}
		return "(" + a + ".data->" + quoteLiteral(f.Key) + "->>'amount')::numeric", "numeric"
	case model.KindBoolean:
		if slot != "" {
			return "(" + a + "." + slot + " = 1)", "boolean"
		}
		return text + "::boolean", "boolean"
	case model.KindDate, model.KindDateTime:
		if slot != "" {
			return a + "." + slot, "timestamptz"
		}
		if f.Kind == model.KindDate {
			return text, "text" // YYYY-MM-DD: text order is date order
		}
		return text + "::timestamptz", "timestamptz"
	case model.KindLookup:
		return refExpr(a, f), "uuid"
	}
	if slot != "" && slot[0] == model.SlotText {
		return a + "." + slot, "text"
	}
	return text, "text"
}

// orderBy renders the ORDER BY list, reversed for backward pages.
func orderBy(keys []sortKey, reverse bool) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		if k.desc != reverse {
			parts[i] = k.expr + " DESC"
		} else {
			parts[i] = k.expr + " ASC"
		}
	}
	return strings.Join(parts, ", ")
}

// signature names an order in cursors, so a cursor is refused under
// another orderBy.
func signature(keys []sortKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		d := "a"
		if k.desc {
			d = "d"
		}
		parts[i] = k.name + ":" + d
	}
	return strings.Join(parts, ",")
}

// cursorExpr renders the opaque cursor of the row: base64 of a JSON array
// of the order's signature and the row's sort key values.
func cursorExpr(keys []sortKey) string {
	vals := make([]string, 0, len(keys)+1)
	vals = append(vals, quoteLiteral(signature(keys)))
	for _, k := range keys {
		vals = append(vals, k.expr)
	}
	return "translate(encode(convert_to(json_build_array(" + strings.Join(vals, ", ") + ")::text, 'UTF8'), 'base64'), E'\\n', '')"
}

// decodeCursor reads a cursor made under keys.
func decodeCursor(s string, keys []sortKey, path []any) ([]any, error) {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, badInput(path, "%q is not a cursor of this connection", s)
	}
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	var vals []any
	if err := d.Decode(&vals); err != nil || len(vals) != len(keys)+1 {
		return nil, badInput(path, "%q is not a cursor of this connection", s)
	}
	if sig, _ := vals[0].(string); sig != signature(keys) {
		return nil, badInput(path, "the cursor was made for another orderBy (%v); use it with the same orderBy", vals[0])
	}
	out := vals[1:]
	for i, v := range out {
		if !cursorValue(keys[i], v) {
			return nil, badInput(path, "%q is not a cursor of this connection", s)
		}
	}
	return out, nil
}

// cursorValue reports whether v can be a value of sort key k. A cursor is
// opaque but not trusted: a value of the wrong type would fail the cast
// in SQL, an internal error instead of a bad cursor.
func cursorValue(k sortKey, v any) bool {
	if v == nil {
		return !k.notNull
	}
	switch k.typ {
	case "uuid":
		s, ok := v.(string)
		return ok && model.IsUUID(s)
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		i, err := n.Int64()
		return err == nil && i >= math.MinInt32 && i <= math.MaxInt32
	case "numeric":
		n, ok := v.(json.Number)
		if !ok || len(n) > 1000 {
			return false
		}
		_, ok = new(big.Rat).SetString(string(n))
		return ok && numericExponentOK(string(n))
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "timestamptz":
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil
	}
	s, ok := v.(string) // text
	return ok && !strings.ContainsRune(s, 0)
}

// numericExponentOK keeps a cursor's number well inside PostgreSQL's
// numeric range ("1e999999" would overflow the cast).
func numericExponentOK(n string) bool {
	i := strings.IndexAny(n, "eE")
	if i < 0 {
		return true
	}
	e, err := strconv.Atoi(strings.TrimPrefix(n[i+1:], "+"))
	return err == nil && e >= -1000 && e <= 1000
}

// keyset renders the predicate "the row comes after the cursor values" in
// the order keys (reversed for before). Missing values sort last in
// ascending and first in descending order, PostgreSQL's defaults, so
// reversing an order also reverses where they go.
func (c *compiler) keyset(keys []sortKey, vals []any, reverse bool) string {
	var ors []string
	var eqs []string
	for i, k := range keys {
		v := vals[i]
		desc := k.desc != reverse
		var after string
		var param string
		if v != nil {
			param = c.arg(fmt.Sprint(v)) + "::" + k.typ
		}
		switch {
		case v == nil && !desc:
			after = "" // nothing sorts after a missing value ascending but other missing ones
		case v == nil && desc:
			after = k.expr + " IS NOT NULL"
		case !desc && k.notNull:
			after = k.expr + " > " + param
		case !desc:
			after = "(" + k.expr + " > " + param + " OR " + k.expr + " IS NULL)"
		default:
			after = k.expr + " < " + param
		}
		if after != "" {
			ors = append(ors, "("+strings.Join(append(append([]string{}, eqs...), after), " AND ")+")")
		}
		if v == nil {
			eqs = append(eqs, k.expr+" IS NULL")
		} else {
			eqs = append(eqs, k.expr+" = "+param)
		}
	}
	if len(ors) == 0 {
		return "false"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}
