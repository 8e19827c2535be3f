package condition

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// The SQL compiler. Every node renders a predicate that is never NULL:
// a test of a value that may be NULL is written (p AND x IS NOT NULL) for a
// plain column, so that an index on x still serves p, and COALESCE(p,
// false) otherwise. Values, object ids and field keys are parameters.

type sqlBuilder struct {
	buf    strings.Builder
	args   []any
	next   int
	alias  string
	subs   int
	now    time.Time
	shared map[string]string
}

func newSQLBuilder(alias string, first int, now time.Time) *sqlBuilder {
	return &sqlBuilder{next: first, alias: alias, now: now, shared: map[string]string{}}
}

func (b *sqlBuilder) w(parts ...string) {
	for _, p := range parts {
		b.buf.WriteString(p)
	}
}

// param binds v and returns its placeholder with a cast ("$3::text").
func (b *sqlBuilder) param(v any, cast string) string {
	if s, ok := v.([]string); ok && s == nil {
		v = []string{} // nil would bind NULL
	}
	b.args = append(b.args, v)
	p := "$" + strconv.Itoa(b.next) + "::" + cast
	b.next++
	return p
}

// sharedParam binds a string once per SQL text and cast (field keys and
// object ids recur).
func (b *sqlBuilder) sharedParam(v, cast string) string {
	k := cast + "\x00" + v
	if p, ok := b.shared[k]; ok {
		return p
	}
	p := b.param(v, cast)
	b.shared[k] = p
	return p
}

func (b *sqlBuilder) key(k string) string       { return b.sharedParam(k, "text") }
func (b *sqlBuilder) objectID(id string) string { return b.sharedParam(id, "uuid") }

// sub returns a fresh alias for a subquery row.
func (b *sqlBuilder) sub() string {
	b.subs++
	return b.alias + "_" + strconv.Itoa(b.subs)
}

// pred writes p, a predicate on c that is NULL only when c is NULL, as a
// two-valued predicate.
func (b *sqlBuilder) pred(c col, p string) {
	switch {
	case c.notNull:
		b.w("(", p, ")")
	case c.bare:
		b.w("(", p, " AND ", c.x, " IS NOT NULL)")
	default:
		b.w("COALESCE(", p, ", false)")
	}
}

// ordered renders x op y, in byte order for text.
func ordered(c col, o op, y string) string {
	if c.typ == ctText {
		return c.x + ` COLLATE "C" ` + o.sqlCmp() + " " + y
	}
	return c.x + " " + o.sqlCmp() + " " + y
}

func (n constNode) sql(b *sqlBuilder, _ string) {
	if n.v {
		b.w("true")
	} else {
		b.w("false")
	}
}

func (n *andNode) sql(b *sqlBuilder, alias string) { b.join(n.kids, " AND ", "true", alias) }
func (n *orNode) sql(b *sqlBuilder, alias string)  { b.join(n.kids, " OR ", "false", alias) }

func (b *sqlBuilder) join(kids []node, sep, empty, alias string) {
	if len(kids) == 0 {
		b.w(empty)
		return
	}
	b.w("(")
	for i, k := range kids {
		if i > 0 {
			b.w(sep)
		}
		k.sql(b, alias)
	}
	b.w(")")
}

func (n *notNode) sql(b *sqlBuilder, alias string) {
	b.w("NOT ")
	n.kid.sql(b, alias)
}

// A comparison through lookups is an EXISTS over the chain of live
// targets; a negated one is NOT EXISTS, so a missing target counts as a
// missing value.
func (n *cmpNode) sql(b *sqlBuilder, alias string) {
	if n.neg {
		b.w("NOT ")
	}
	cur := alias
	for _, f := range n.hops {
		x := b.sub()
		b.w("EXISTS (SELECT 1 ", b.liveRecord(x, cur, f.Target), " AND ", x, ".id = ", b.lookupTarget(cur, f), " AND ")
		cur = x
	}
	n.leaf.sql(b, cur)
	for range n.hops {
		b.w(")")
	}
}

func (n *relatedNode) sql(b *sqlBuilder, alias string) {
	x := b.sub()
	scope := b.liveRecord(x, alias, n.inv.From) + " AND " + b.lookupTarget(x, n.inv.Field) + " = " + alias + ".id"
	where := func(negate bool) {
		if n.where == nil {
			if negate {
				b.w(" AND false")
			}
			return
		}
		b.w(" AND ")
		if negate {
			b.w("NOT ")
		}
		n.where.sql(b, x)
	}
	switch n.quant {
	case quantSome:
		b.w("EXISTS (SELECT 1 ", scope)
		where(false)
		b.w(")")
	case quantNone:
		b.w("NOT EXISTS (SELECT 1 ", scope)
		where(false)
		b.w(")")
	case quantEvery:
		b.w("NOT EXISTS (SELECT 1 ", scope)
		where(true)
		b.w(")")
	default:
		// Counting past N decides every comparison with N, so stop there.
		b.w("((SELECT count(*) FROM (SELECT 1 ", scope)
		where(false)
		limit := b.param(n.countN+1, "bigint")
		b.w(" LIMIT ", limit, ") AS ", x, "_n) ", n.countOp.sqlCmp(), " ", b.param(n.countN, "bigint"), ")")
	}
}

func (n *tagsNode) sql(b *sqlBuilder, alias string) {
	t := tagsColumn(alias)
	switch n.mode {
	case tagsAny:
		b.w("(", t, " && ", b.param(n.vals, "text[]"), ")")
	case tagsAll:
		b.w("(", t, " @> ", b.param(n.vals, "text[]"), ")")
	default:
		b.w("NOT (", t, " && ", b.param(n.vals, "text[]"), ")")
	}
}

func (falseLeaf) sql(b *sqlBuilder, _ string) { b.w("false") }

func (l *presentLeaf) sql(b *sqlBuilder, alias string) {
	c := b.column(alias, &l.opd)
	switch {
	case c.notNull:
		b.w("true")
	case c.typ == ctJSONB && l.opd.cls == clsMulti:
		b.w("COALESCE(jsonb_typeof(", c.x, ") = 'array' AND ", c.x, " <> '[]'::jsonb, false)")
	case c.typ == ctJSONB:
		b.w("COALESCE(", c.x, " <> 'null'::jsonb, false)")
	default:
		b.w("(", c.x, " IS NOT NULL)")
	}
}

func (l *textLeaf) sql(b *sqlBuilder, alias string) {
	if (l.op == opEq || l.op == opIn) && l.opd.acc == accData {
		if u, ok := uniqueSlot(l.opd.f); ok {
			l.uniqueSQL(b, alias+"."+u, alias)
			return
		}
	}
	c := b.column(alias, &l.opd)
	var p string
	switch l.op {
	case opEq:
		p = c.x + " = " + b.param(l.s, "text")
	case opIn:
		p = c.x + " = ANY(" + b.param(l.set, "text[]") + ")"
	case opContains:
		p = "strpos(" + c.x + ", " + b.param(l.s, "text") + ") > 0"
	case opStartsWith:
		p = "starts_with(" + c.x + ", " + b.param(l.s, "text") + ")"
	default:
		p = ordered(c, l.op, b.param(l.s, "text"))
	}
	b.pred(c, p)
}

// uniqueSQL serves eq and in on a unique field through its unique slot u
// and that slot's index. E-mail slots hold the address in lower case, so
// the value itself is compared too.
func (l *textLeaf) uniqueSQL(b *sqlBuilder, u, alias string) {
	vals := l.set
	if l.op == opEq {
		vals = []string{l.s}
	}
	if l.opd.f.Kind != model.KindEmail {
		b.w("(", u, " = ANY(", b.param(vals, "text[]"), ") AND ", u, " IS NOT NULL)")
		return
	}
	lower := make([]string, len(vals))
	for i, v := range vals {
		lower[i] = strings.ToLower(v)
	}
	c := b.column(alias, &l.opd)
	b.w("(", u, " = ANY(", b.param(dedupe(lower), "text[]"), ") AND ", u, " IS NOT NULL AND COALESCE(",
		c.x, " = ANY(", b.param(vals, "text[]"), "), false))")
}

func (l *idLeaf) sql(b *sqlBuilder, alias string) {
	c := b.column(alias, &l.opd)
	var p string
	switch {
	case l.op == opEq && c.typ == ctUUID:
		p = c.x + " = " + b.param(l.s, "uuid")
	case l.op == opEq:
		p = c.x + " = " + b.param(l.s, "text")
	case c.typ == ctUUID:
		p = c.x + " = ANY(" + b.param(l.set, "text[]") + "::uuid[])"
	default:
		p = c.x + " = ANY(" + b.param(l.set, "text[]") + ")"
	}
	b.pred(c, p)
}

func (l *numLeaf) sql(b *sqlBuilder, alias string) {
	c := b.column(alias, &l.opd)
	var p string
	if l.op == opIn {
		p = c.x + " = ANY(" + b.param(l.texts, "text[]") + "::numeric[])"
	} else {
		p = c.x + " " + l.op.sqlCmp() + " " + b.param(l.text, "numeric")
	}
	b.pred(c, p)
}

func (l *boolLeaf) sql(b *sqlBuilder, alias string) {
	c := b.column(alias, &l.opd)
	if c.typ == ctBoolNumeric {
		v := "0"
		if l.b {
			v = "1"
		}
		b.pred(c, c.x+" = "+b.param(v, "numeric"))
		return
	}
	b.pred(c, c.x+" = "+b.param(strconv.FormatBool(l.b), "text"))
}

func (l *dateLeaf) sql(b *sqlBuilder, alias string) {
	c := b.column(alias, &l.opd)
	slot := c.typ == ctTimestamptz
	lit := func(s string) string {
		if slot {
			return b.param(dateMidnight(s), "timestamptz")
		}
		return b.param(s, "text")
	}
	var p string
	switch l.op {
	case opEq:
		p = c.x + " = " + lit(l.s)
	case opIn:
		if slot {
			ts := make([]time.Time, len(l.set))
			for i, s := range l.set {
				ts[i] = dateMidnight(s)
			}
			p = c.x + " = ANY(" + b.param(ts, "timestamptz[]") + ")"
		} else {
			p = c.x + " = ANY(" + b.param(l.set, "text[]") + ")"
		}
	case opWithinLast:
		lo, hi := dateWindow(b.now, l.dur)
		p = ordered(c, opGte, lit(string(lo[:]))) + " AND " + ordered(c, opLte, lit(string(hi[:])))
	default:
		p = ordered(c, l.op, lit(l.s))
	}
	b.pred(c, p)
}

func (l *dtLeaf) sql(b *sqlBuilder, alias string) {
	c := b.column(alias, &l.opd)
	slot := c.typ == ctTimestamptz
	lit := func(t time.Time) string {
		if slot {
			return b.param(t, "timestamptz")
		}
		k := timeKey(t)
		return b.param(string(k[:]), "text")
	}
	var p string
	switch l.op {
	case opEq:
		p = c.x + " = " + lit(l.t)
	case opIn:
		if slot {
			p = c.x + " = ANY(" + b.param(l.times, "timestamptz[]") + ")"
		} else {
			keys := make([]string, len(l.set))
			for i := range l.set {
				keys[i] = string(l.set[i][:])
			}
			p = c.x + " = ANY(" + b.param(keys, "text[]") + ")"
		}
	case opWithinLast:
		lo, hi := instantWindow(b.now, l.dur)
		p = ordered(c, opGte, lit(lo)) + " AND " + ordered(c, opLte, lit(hi))
	default:
		p = ordered(c, l.op, lit(l.t))
	}
	b.pred(c, p)
}

func (l *instLeaf) sql(b *sqlBuilder, alias string) {
	c := b.column(alias, &l.opd)
	var p string
	switch l.op {
	case opEq:
		p = c.x + " = " + b.param(l.t, "timestamptz")
	case opIn:
		p = c.x + " = ANY(" + b.param(l.times, "timestamptz[]") + ")"
	case opWithinLast:
		lo, hi := instantWindow(b.now, l.dur)
		p = c.x + " >= " + b.param(lo, "timestamptz") + " AND " + c.x + " <= " + b.param(hi, "timestamptz")
	default:
		p = c.x + " " + l.op.sqlCmp() + " " + b.param(l.t, "timestamptz")
	}
	b.pred(c, p)
}

func (l *multiLeaf) sql(b *sqlBuilder, alias string) {
	c := b.column(alias, &l.opd)
	switch l.op {
	case opIn:
		b.w("COALESCE(", c.x, " ?| ", b.param(l.vals, "text[]"), ", false)")
	case opContains:
		b.w("COALESCE(", c.x, " ?& ", b.param(l.vals, "text[]"), ", false)")
	default:
		set, _ := json.Marshal(l.vals)
		p := b.param(string(set), "jsonb")
		b.w("COALESCE(", c.x, " @> ", p, " AND ", p, " @> ", c.x, ", false)")
	}
}
