package condition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// Limits on one condition, so that no condition is expensive to compile,
// evaluate or plan.
const (
	// MaxDepth is how deeply and/or/not/related may nest.
	MaxDepth = 16
	// MaxNodes is how many conditions one condition may hold in all.
	MaxNodes = 500
	// MaxHops is how many lookups one path may follow (account.parent.name
	// follows two).
	MaxHops = 4
	// MaxListLength is how many values an in/notIn/tags list may hold.
	MaxListLength = 1000
	// MaxWindow is the longest withinLast duration.
	MaxWindow = 100 * 366 * 24 * time.Hour
	// MaxSize is the largest JSON form accepted, in bytes.
	MaxSize = 256 << 10
)

// Compile parses and checks a condition in its JSON form (see
// docs/conditions.md and MetaSchema) on records of object o of model m, and
// compiles it for Eval and SQL. Every problem is reported at once, each
// with the JSON pointer of the offending part of raw, as model.Problems.
func Compile(m *model.Model, o *model.Object, raw []byte) (*Condition, error) {
	if m == nil || o == nil || m.Object(o.APIName) != o {
		return nil, errors.New("condition: Compile needs a model and one of its objects")
	}
	if len(raw) > MaxSize {
		return nil, model.Problems{{Pointer: "", Code: "too_large", Message: fmt.Sprintf("a condition may be at most %d bytes, got %d", MaxSize, len(raw))}}
	}
	doc, err := model.DecodeJSON(raw)
	if err != nil {
		return nil, model.Problems{{Pointer: "", Code: "invalid_json", Message: err.Error()}}
	}
	if ps := metaProblems(doc); len(ps) > 0 {
		return nil, ps
	}
	c := &compiler{m: m}
	root := c.node(o, doc, "", 0)
	if len(c.ps) > 0 {
		return nil, c.ps
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, model.Problems{{Pointer: "", Code: "invalid_json", Message: err.Error()}}
	}
	return &Condition{obj: o, root: root, raw: compact.Bytes(), src: c.src, time: c.time}, nil
}

type compiler struct {
	m     *model.Model
	ps    model.Problems
	nodes int
	src   bool
	time  bool
}

func (c *compiler) problem(pointer, code, format string, args ...any) {
	c.ps = append(c.ps, model.Problem{Pointer: pointer, Code: code, Message: fmt.Sprintf(format, args...)})
}

// ptr appends JSON pointer tokens, escaping ~ and /.
func ptr(base string, tokens ...any) string {
	var b strings.Builder
	b.WriteString(base)
	for _, t := range tokens {
		s := fmt.Sprint(t)
		s = strings.ReplaceAll(s, "~", "~0")
		s = strings.ReplaceAll(s, "/", "~1")
		b.WriteByte('/')
		b.WriteString(s)
	}
	return b.String()
}

// node compiles one condition of the JSON form (already checked against
// the meta-schema) on records of o.
func (c *compiler) node(o *model.Object, v any, at string, depth int) node {
	c.nodes++
	if c.nodes == MaxNodes+1 {
		c.problem(at, "too_complex", "a condition may hold at most %d conditions", MaxNodes)
	}
	if depth > MaxDepth {
		c.problem(at, "too_deep", "conditions may nest at most %d deep", MaxDepth)
		return constNode{}
	}
	m, _ := v.(map[string]any)
	switch {
	case m["and"] != nil:
		kids := c.list(o, m["and"], ptr(at, "and"), depth)
		if len(kids) == 1 {
			return kids[0]
		}
		return &andNode{kids: kids}
	case m["or"] != nil:
		kids := c.list(o, m["or"], ptr(at, "or"), depth)
		if len(kids) == 1 {
			return kids[0]
		}
		return &orNode{kids: kids}
	case m["not"] != nil:
		return &notNode{kid: c.node(o, m["not"], ptr(at, "not"), depth+1)}
	case m["field"] != nil:
		return c.comparison(o, m, at)
	case m["related"] != nil:
		return c.related(o, m, at, depth)
	case m["tags"] != nil:
		return c.tags(m, at)
	}
	c.problem(at, "meta_schema", "a condition needs exactly one of and, or, not, field, related, tags")
	return constNode{}
}

func (c *compiler) list(o *model.Object, v any, at string, depth int) []node {
	items, _ := v.([]any)
	kids := make([]node, 0, len(items))
	for i, it := range items {
		kids = append(kids, c.node(o, it, ptr(at, i), depth+1))
	}
	return kids
}

func (c *compiler) tags(m map[string]any, at string) node {
	mode, _ := m["tags"].(string)
	vals, ok := c.strings(m["value"], ptr(at, "value"))
	if !ok {
		return constNode{}
	}
	n := &tagsNode{vals: dedupe(vals)}
	switch mode {
	case "hasAny":
		n.mode = tagsAny
	case "hasAll":
		n.mode = tagsAll
	default:
		n.mode = tagsNone
	}
	return n
}

func (c *compiler) related(o *model.Object, m map[string]any, at string, depth int) node {
	name, _ := m["related"].(string)
	var inv *model.Inverse
	for _, x := range o.Inverses {
		if x.Name == name {
			inv = x
			break
		}
	}
	if inv == nil {
		names := make([]string, len(o.Inverses))
		for i, x := range o.Inverses {
			names[i] = x.Name
		}
		list := "it has none"
		if len(names) > 0 {
			sort.Strings(names)
			list = "it has " + strings.Join(names, ", ")
		}
		c.problem(ptr(at, "related"), "unknown_relation", "%s has no related list %q (%s)", o.APIName, name, list)
		return constNode{}
	}
	c.src = true
	n := &relatedNode{inv: inv}
	if w, ok := m["where"]; ok {
		n.where = c.node(inv.From, w, ptr(at, "where"), depth+1)
	}
	if q, ok := m["quantifier"].(string); ok {
		switch q {
		case "some":
			n.quant = quantSome
		case "none":
			n.quant = quantNone
		default:
			n.quant = quantEvery
		}
		return n
	}
	cm, _ := m["count"].(map[string]any)
	opName, _ := cm["op"].(string)
	n.quant = quantCount
	n.countOp, _ = parseOp(opName)
	num, _ := cm["value"].(json.Number)
	r, ok := new(big.Rat).SetString(string(num))
	if !ok || !r.IsInt() || !r.Num().IsInt64() {
		c.problem(ptr(at, "count", "value"), "invalid_value", "count value must be a whole number")
		return constNode{}
	}
	n.countN = r.Num().Int64()
	return n
}

// comparison compiles {"field": path, "op": op, "value": value}.
func (c *compiler) comparison(o *model.Object, m map[string]any, at string) node {
	path, _ := m["field"].(string)
	hops, opd, ok := c.resolve(o, path, ptr(at, "field"))
	if !ok {
		return constNode{}
	}
	opName, _ := m["op"].(string)
	x, _ := parseOp(opName)
	if !opd.cls.allows(x) {
		c.problem(ptr(at, "op"), "operator_not_allowed", "%s (%s) does not support %s; it supports %s", path, opd.cls, opName, opd.cls.opList())
		return constNode{}
	}
	lf, neg, ok := c.leaf(opd, x, m["value"], ptr(at, "value"))
	if !ok {
		return constNode{}
	}
	if len(hops) > 0 {
		c.src = true
	}
	return &cmpNode{hops: hops, leaf: lf, neg: neg}
}

// resolve follows a path (field, system field, lookup.field...,
// currency.amount or currency.currency) from o.
func (c *compiler) resolve(o *model.Object, path, at string) ([]*model.Field, operand, bool) {
	segs := strings.Split(path, ".")
	cur := o
	var hops []*model.Field
	for i, seg := range segs {
		last := i == len(segs)-1
		f := cur.Field(seg)
		if f == nil {
			if sys, ok := systemOperands[seg]; ok && last {
				return hops, sys, c.hopsOK(hops, at)
			}
			if model.IsSystemField(seg) {
				if last {
					if seg == "tags" {
						c.problem(at, "not_filterable", `tags are tested with {"tags": "hasAny"|"hasAll"|"hasNone", "value": [...]}`)
					} else {
						c.problem(at, "not_filterable", "conditions cannot test %s; they can test id, createdAt, updatedAt, owner, version, score and grade", seg)
					}
				} else {
					c.problem(at, "not_a_lookup", "%s is a system field, not a lookup: only lookups can be followed with '.'", seg)
				}
				return nil, operand{}, false
			}
			c.problem(at, "unknown_field", "%s has no field %q", cur.APIName, seg)
			return nil, operand{}, false
		}
		if last {
			opd := operand{acc: accData, f: f, cls: kindClass(f.Kind), name: seg}
			if f.Kind == model.KindCurrency {
				opd.acc = accAmount
			}
			return hops, opd, c.hopsOK(hops, at)
		}
		if f.Kind == model.KindCurrency && i == len(segs)-2 {
			switch segs[i+1] {
			case "amount":
				return hops, operand{acc: accAmount, f: f, cls: clsNumber, name: path}, c.hopsOK(hops, at)
			case "currency":
				return hops, operand{acc: accCurrency, f: f, cls: clsText, name: path}, c.hopsOK(hops, at)
			}
			c.problem(at, "unknown_field", "a currency value has only amount and currency, not %q", segs[i+1])
			return nil, operand{}, false
		}
		if f.Kind != model.KindLookup || f.Target == nil {
			c.problem(at, "not_a_lookup", "%s.%s is a %s field, not a lookup: only lookups can be followed with '.'", cur.APIName, seg, f.Kind)
			return nil, operand{}, false
		}
		hops = append(hops, f)
		cur = f.Target
	}
	return nil, operand{}, false // unreachable: a path has at least one part
}

func (c *compiler) hopsOK(hops []*model.Field, at string) bool {
	if len(hops) > MaxHops {
		c.problem(at, "too_many_hops", "a path may follow at most %d lookups", MaxHops)
		return false
	}
	return true
}

// leaf compiles an operator and its value on operand opd into a positive
// leaf, and whether the result is negated.
func (c *compiler) leaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	switch x {
	case opNe:
		l, _, ok := c.leaf(opd, opEq, v, at)
		return l, true, ok
	case opNotIn:
		l, _, ok := c.leaf(opd, opIn, v, at)
		return l, true, ok
	case opIsNull:
		b, ok := v.(bool)
		if !ok {
			c.problem(at, "invalid_value", "isNull takes true or false")
			return nil, false, false
		}
		return &presentLeaf{opd: opd}, b, true
	case opWithinLast:
		d, ok := c.duration(v, at)
		if !ok {
			return nil, false, false
		}
		c.time = true
		switch opd.cls {
		case clsDate:
			return &dateLeaf{opd: opd, op: x, dur: d}, false, true
		case clsDatetime:
			return &dtLeaf{opd: opd, op: x, dur: d}, false, true
		default:
			return &instLeaf{opd: opd, op: x, dur: d}, false, true
		}
	case opIn:
		if list, ok := v.([]any); ok && len(list) == 0 {
			return falseLeaf{}, false, true // in [] holds for no record; notIn [] for every one
		}
	}
	switch opd.cls {
	case clsText:
		return c.textLeaf(opd, x, v, at)
	case clsPicklist:
		return c.picklistLeaf(opd, x, v, at)
	case clsMulti:
		return c.multiLeaf(opd, x, v, at)
	case clsNumber:
		return c.numLeaf(opd, x, v, at)
	case clsBool:
		return c.boolLeaf(opd, x, v, at)
	case clsDate:
		return c.dateLeaf(opd, x, v, at)
	case clsDatetime:
		return c.dtLeaf(opd, x, v, at)
	case clsInstant:
		return c.instLeaf(opd, x, v, at)
	case clsID, clsOwner:
		return c.idLeaf(opd, x, v, at)
	}
	c.problem(at, "operator_not_allowed", "%s does not support %s", opd.name, x)
	return nil, false, false
}

// each calls fn for the value, or for every element of a list when x is
// in (the value must then be an array).
func (c *compiler) each(x op, v any, at string, fn func(v any, at string) bool) bool {
	if x != opIn {
		return fn(v, at)
	}
	list, ok := v.([]any)
	if !ok {
		c.problem(at, "invalid_value", "in and notIn take an array of values")
		return false
	}
	if len(list) > MaxListLength {
		c.problem(at, "invalid_value", "a list may hold at most %d values", MaxListLength)
		return false
	}
	good := true
	for i, e := range list {
		if !fn(e, ptr(at, i)) {
			good = false
		}
	}
	return good
}

func (c *compiler) str(v any, at, what string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		c.problem(at, "invalid_value", "%s must be a string, got %s", what, jsonType(v))
		return "", false
	}
	if strings.IndexByte(s, 0) >= 0 {
		// PostgreSQL text cannot hold NUL, and no stored value has one.
		c.problem(at, "invalid_value", "%s must not contain the NUL character", what)
		return "", false
	}
	return s, true
}

func (c *compiler) strings(v any, at string) ([]string, bool) {
	list, ok := v.([]any)
	if !ok {
		c.problem(at, "invalid_value", "expected an array of strings, got %s", jsonType(v))
		return nil, false
	}
	if len(list) > MaxListLength {
		c.problem(at, "invalid_value", "a list may hold at most %d values", MaxListLength)
		return nil, false
	}
	out := make([]string, 0, len(list))
	good := true
	for i, e := range list {
		s, ok := c.str(e, ptr(at, i), "each value")
		good = good && ok
		out = append(out, s)
	}
	return out, good
}

func isList(v any) bool {
	_, ok := v.([]any)
	return ok
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func (c *compiler) textLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	l := &textLeaf{opd: opd, op: x}
	ok := c.each(x, v, at, func(v any, at string) bool {
		s, ok := c.str(v, at, opd.name+" "+x.String()+" value")
		if ok {
			l.set = append(l.set, s)
		}
		return ok
	})
	if !ok {
		return nil, false, false
	}
	if x != opIn {
		l.s, l.set = l.set[0], nil
	} else {
		l.setIn(l.set)
	}
	return l, false, true
}

// picklistLeaf checks values against the picklist and turns ordering
// operators into sets: stage lt "proposal" is every value listed before
// proposal.
func (c *compiler) picklistLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	if x == opContains || x == opStartsWith {
		return c.textLeaf(opd, x, v, at)
	}
	index := map[string]int{}
	all := make([]string, len(opd.f.Values))
	for i, pv := range opd.f.Values {
		index[pv.Value] = i
		all[i] = pv.Value
	}
	var vals []string
	ok := c.each(x, v, at, func(v any, at string) bool {
		s, ok := c.str(v, at, opd.name+" "+x.String()+" value")
		if !ok {
			return false
		}
		if _, known := index[s]; !known {
			c.problem(at, "unknown_value", "%q is not a value of %s (one of %s)", s, opd.name, strings.Join(all, ", "))
			return false
		}
		vals = append(vals, s)
		return true
	})
	if !ok {
		return nil, false, false
	}
	l := &textLeaf{opd: opd, op: x}
	switch x {
	case opEq:
		l.s = vals[0]
	case opIn:
		l.setIn(vals)
	default:
		i := index[vals[0]]
		var set []string
		switch x {
		case opLt:
			set = all[:i]
		case opLte:
			set = all[:i+1]
		case opGt:
			set = all[i+1:]
		case opGte:
			set = all[i:]
		}
		if len(set) == 0 {
			return falseLeaf{}, false, true
		}
		l.op = opIn
		l.setIn(append([]string(nil), set...))
	}
	return l, false, true
}

func (c *compiler) multiLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	known := map[string]bool{}
	all := make([]string, len(opd.f.Values))
	for i, pv := range opd.f.Values {
		known[pv.Value] = true
		all[i] = pv.Value
	}
	// contains takes one value or a list; eq and in take a list.
	single, isSingle := v.(string)
	if isSingle && x != opContains || !isSingle && !isList(v) {
		what := "an array of strings"
		if x == opContains {
			what = "a string or an array of strings"
		}
		c.problem(at, "invalid_value", "%s %s takes %s, got %s", opd.name, x, what, jsonType(v))
		return nil, false, false
	}
	vals := []string{single}
	if isSingle {
		if _, ok := c.str(single, at, opd.name+" contains value"); !ok {
			return nil, false, false
		}
	} else {
		var ok bool
		if vals, ok = c.strings(v, at); !ok {
			return nil, false, false
		}
	}
	good := true
	for i, s := range vals {
		if !known[s] {
			p := at
			if !isSingle {
				p = ptr(at, i)
			}
			c.problem(p, "unknown_value", "%q is not a value of %s (one of %s)", s, opd.name, strings.Join(all, ", "))
			good = false
		}
	}
	if !good {
		return nil, false, false
	}
	vals = dedupe(vals)
	if len(vals) == 0 && x != opIn {
		c.problem(at, "invalid_value", "%s with no values is not a condition; use isNull for an empty %s", x, opd.name)
		return nil, false, false
	}
	return &multiLeaf{opd: opd, op: x, vals: vals}, false, true
}

func (c *compiler) numLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	l := &numLeaf{opd: opd, op: x}
	ok := c.each(x, v, at, func(v any, at string) bool {
		n, ok := v.(json.Number)
		if !ok {
			c.problem(at, "invalid_value", "%s %s value must be a number, got %s", opd.name, x, jsonType(v))
			return false
		}
		d, ok := parseDec(string(n))
		if !ok || !literalNumberInRange(string(n)) {
			c.problem(at, "invalid_value", "%s is out of range: numbers in conditions have at most 1000 characters and an exponent within ±1000", n)
			return false
		}
		l.set = append(l.set, d)
		l.texts = append(l.texts, string(n))
		return true
	})
	if !ok {
		return nil, false, false
	}
	if x != opIn {
		l.n, l.text, l.set, l.texts = l.set[0], l.texts[0], nil, nil
	}
	return l, false, true
}

func (c *compiler) boolLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	var seen [2]bool
	ok := c.each(x, v, at, func(v any, at string) bool {
		b, ok := v.(bool)
		if !ok {
			c.problem(at, "invalid_value", "%s %s value must be true or false, got %s", opd.name, x, jsonType(v))
			return false
		}
		if b {
			seen[1] = true
		} else {
			seen[0] = true
		}
		return true
	})
	switch {
	case !ok:
		return nil, false, false
	case seen[0] && seen[1]:
		return &presentLeaf{opd: opd}, false, true
	case seen[0]:
		return &boolLeaf{opd: opd, b: false}, false, true
	case seen[1]:
		return &boolLeaf{opd: opd, b: true}, false, true
	}
	return falseLeaf{}, false, true
}

func (c *compiler) dateLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	l := &dateLeaf{opd: opd, op: x}
	ok := c.each(x, v, at, func(v any, at string) bool {
		s, ok := c.str(v, at, opd.name+" "+x.String()+" value")
		if !ok {
			return false
		}
		if s, ok = parseDateLiteral(s); !ok {
			c.problem(at, "invalid_value", "%q is not a date (YYYY-MM-DD)", v)
			return false
		}
		l.set = append(l.set, s)
		return true
	})
	if !ok {
		return nil, false, false
	}
	if x != opIn {
		l.s, l.set = l.set[0], nil
	}
	return l, false, true
}

func (c *compiler) instants(opd operand, x op, v any, at string) ([]time.Time, bool) {
	var out []time.Time
	ok := c.each(x, v, at, func(v any, at string) bool {
		s, ok := c.str(v, at, opd.name+" "+x.String()+" value")
		if !ok {
			return false
		}
		t, ok := parseInstantLiteral(s)
		if !ok {
			c.problem(at, "invalid_value", "%q is not an RFC 3339 date-time (2026-11-23T18:00:00Z) or a date (2026-11-23) in years 0000 to 9999", s)
			return false
		}
		out = append(out, t)
		return true
	})
	return out, ok
}

func (c *compiler) dtLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	ts, ok := c.instants(opd, x, v, at)
	if !ok {
		return nil, false, false
	}
	l := &dtLeaf{opd: opd, op: x, times: ts}
	for _, t := range ts {
		l.set = append(l.set, timeKey(t))
	}
	if x != opIn {
		l.k, l.t, l.set, l.times = l.set[0], ts[0], nil, nil
	}
	return l, false, true
}

func (c *compiler) instLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	ts, ok := c.instants(opd, x, v, at)
	if !ok {
		return nil, false, false
	}
	l := &instLeaf{opd: opd, op: x, times: ts}
	for _, t := range ts {
		l.set = append(l.set, t.UnixMicro())
	}
	if x != opIn {
		l.us, l.t, l.set, l.times = l.set[0], ts[0], nil, nil
	}
	return l, false, true
}

func (c *compiler) idLeaf(opd operand, x op, v any, at string) (leaf, bool, bool) {
	what := "a record id (a UUID)"
	if opd.cls == clsOwner {
		what = "a user id (a UUID)"
	}
	l := &idLeaf{opd: opd, op: x}
	ok := c.each(x, v, at, func(v any, at string) bool {
		s, ok := v.(string)
		if !ok || !model.IsUUID(s) {
			c.problem(at, "invalid_value", "%s %s value must be %s", opd.name, x, what)
			return false
		}
		l.set = append(l.set, strings.ToLower(s))
		return true
	})
	if !ok {
		return nil, false, false
	}
	if x != opIn {
		l.s, l.set = l.set[0], nil
	}
	return l, false, true
}

// duration parses a withinLast duration: a whole number of minutes (m),
// hours (h), days (d) or weeks (w), e.g. "30m", "24h", "7d", "2w".
func (c *compiler) duration(v any, at string) (time.Duration, bool) {
	s, ok := v.(string)
	bad := func() (time.Duration, bool) {
		c.problem(at, "invalid_duration", `withinLast takes a duration such as "30m", "24h", "7d" or "2w" (a whole number of minutes, hours, days or weeks, at most 100 years), got %v`, jsonValue(v))
		return 0, false
	}
	if !ok || len(s) < 2 || len(s) > 12 {
		return bad()
	}
	var unit time.Duration
	switch s[len(s)-1] {
	case 'm':
		unit = time.Minute
	case 'h':
		unit = time.Hour
	case 'd':
		unit = 24 * time.Hour
	case 'w':
		unit = 7 * 24 * time.Hour
	default:
		return bad()
	}
	digits := s[:len(s)-1]
	if digits[0] < '1' || digits[0] > '9' {
		return bad()
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n > int64(MaxWindow/unit) {
		return bad()
	}
	return time.Duration(n) * unit, true
}

// literalNumberInRange keeps literals well inside PostgreSQL's numeric
// range, so that the SQL form can never fail on one.
func literalNumberInRange(n string) bool {
	if len(n) > 1000 {
		return false
	}
	if i := strings.IndexAny(n, "eE"); i >= 0 {
		e, err := strconv.Atoi(strings.TrimPrefix(n[i+1:], "+"))
		return err == nil && e >= -1000 && e <= 1000
	}
	return true
}

func jsonValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func dedupe(vals []string) []string {
	seen := make(map[string]bool, len(vals))
	out := vals[:0:0]
	for _, s := range vals {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
