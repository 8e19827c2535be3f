package condition

import (
	"bytes"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// The Go evaluator. Every leaf is false when its value is missing; negated
// operators negate a leaf; and/or/not are two-valued. Literals were parsed
// at compile time, and nothing here allocates.

type constNode struct{ v bool }

func (n constNode) eval(*Record, evalCtx) bool { return n.v }

type andNode struct{ kids []node }

func (n *andNode) eval(r *Record, e evalCtx) bool {
	for _, k := range n.kids {
		if !k.eval(r, e) {
			return false
		}
	}
	return true
}

type orNode struct{ kids []node }

func (n *orNode) eval(r *Record, e evalCtx) bool {
	for _, k := range n.kids {
		if k.eval(r, e) {
			return true
		}
	}
	return false
}

type notNode struct{ kid node }

func (n *notNode) eval(r *Record, e evalCtx) bool { return !n.kid.eval(r, e) }

// cmpNode tests a value of r, or of the record reached from r through the
// lookups in hops. A hop through a missing lookup or to a record the
// Source does not have (deleted, say) makes the value missing.
type cmpNode struct {
	hops []*model.Field
	leaf leaf
	neg  bool
}

func (n *cmpNode) eval(r *Record, e evalCtx) bool {
	for _, f := range n.hops {
		id, ok := r.Values[f.Key].(string)
		if !ok || e.src == nil {
			return n.neg
		}
		if r = e.src.Record(f.Target, id); r == nil {
			return n.neg
		}
	}
	return n.leaf.test(r, e) != n.neg
}

type quantifier uint8

const (
	quantSome quantifier = iota + 1
	quantNone
	quantEvery
	quantCount
)

// relatedNode tests the live records of a related list.
type relatedNode struct {
	inv     *model.Inverse
	quant   quantifier
	countOp op
	countN  int64
	where   node // nil: every related record matches
}

func (n *relatedNode) match(x *Record, e evalCtx) bool {
	return n.where == nil || n.where.eval(x, e)
}

func (n *relatedNode) eval(r *Record, e evalCtx) bool {
	var list []*Record
	if e.src != nil {
		list = e.src.Related(n.inv, r.ID)
	}
	switch n.quant {
	case quantSome, quantNone:
		some := false
		for _, x := range list {
			if n.match(x, e) {
				some = true
				break
			}
		}
		return some == (n.quant == quantSome)
	case quantEvery:
		for _, x := range list {
			if !n.match(x, e) {
				return false
			}
		}
		return true
	}
	var count int64
	for _, x := range list {
		if n.match(x, e) {
			if count++; count > n.countN {
				break // knowing count > N decides every comparison with N
			}
		}
	}
	switch {
	case count < n.countN:
		return n.countOp.cmpResult(-1)
	case count > n.countN:
		return n.countOp.cmpResult(1)
	}
	return n.countOp.cmpResult(0)
}

type tagsMode uint8

const (
	tagsAny tagsMode = iota + 1
	tagsAll
	tagsNone
)

type tagsNode struct {
	mode tagsMode
	vals []string
}

func (n *tagsNode) eval(r *Record, _ evalCtx) bool {
	switch n.mode {
	case tagsAll:
		for _, v := range n.vals {
			if !hasString(r.Tags, v) {
				return false
			}
		}
		return true
	case tagsAny:
		for _, t := range r.Tags {
			if hasString(n.vals, t) {
				return true
			}
		}
		return false
	}
	for _, t := range r.Tags {
		if hasString(n.vals, t) {
			return false
		}
	}
	return true
}

func hasString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// strSet is a set of strings: a slice while small, a map beyond.
type strSet struct {
	list []string
	m    map[string]struct{}
}

func newStrSet(vals []string) strSet {
	s := strSet{list: vals}
	if len(vals) > 8 {
		s.m = make(map[string]struct{}, len(vals))
		for _, v := range vals {
			s.m[v] = struct{}{}
		}
	}
	return s
}

func (s *strSet) has(v string) bool {
	if s.m != nil {
		_, ok := s.m[v]
		return ok
	}
	return hasString(s.list, v)
}

// falseLeaf is a test that never holds (in with an empty list).
type falseLeaf struct{}

func (falseLeaf) test(*Record, evalCtx) bool { return false }

// presentLeaf holds when the operand has a value (isNull false).
type presentLeaf struct{ opd operand }

func (l *presentLeaf) test(r *Record, _ evalCtx) bool { return l.opd.present(r) }

// textLeaf compares strings byte by byte (the order of COLLATE "C").
type textLeaf struct {
	opd operand
	op  op // eq, in, lt, lte, gt, gte, contains, startsWith
	s   string
	set []string
	in  strSet
}

func (l *textLeaf) setIn(vals []string) {
	l.set = dedupe(vals)
	l.in = newStrSet(l.set)
}

func (l *textLeaf) test(r *Record, _ evalCtx) bool {
	v, ok := l.opd.str(r)
	if !ok {
		return false
	}
	switch l.op {
	case opEq:
		return v == l.s
	case opIn:
		return l.in.has(v)
	case opContains:
		return strings.Contains(v, l.s)
	case opStartsWith:
		return strings.HasPrefix(v, l.s)
	}
	return l.op.cmpResult(cmpString(v, l.s))
}

// idLeaf compares record and user ids ignoring ASCII case, as PostgreSQL's
// uuid type does.
type idLeaf struct {
	opd operand
	op  op // eq, in
	s   string
	set []string
}

func (l *idLeaf) test(r *Record, _ evalCtx) bool {
	v, ok := l.opd.str(r)
	if !ok {
		return false
	}
	if l.op == opEq {
		return asciiEqualFold(v, l.s)
	}
	for _, s := range l.set {
		if asciiEqualFold(v, s) {
			return true
		}
	}
	return false
}

// asciiEqualFold reports whether a equals b, lower case, with ASCII
// letters of a folded to lower case (b is lower case already).
func asciiEqualFold(a, lower string) bool {
	if len(a) != len(lower) {
		return false
	}
	for i := 0; i < len(a); i++ {
		c := a[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// numLeaf compares numbers exactly.
type numLeaf struct {
	opd   operand
	op    op // eq, in, lt, lte, gt, gte
	n     dec
	text  string
	set   []dec
	texts []string
}

func (l *numLeaf) test(r *Record, _ evalCtx) bool {
	v, ok := l.opd.num(r)
	if !ok {
		return false
	}
	if l.op == opIn {
		for _, n := range l.set {
			if cmpDec(v, n) == 0 {
				return true
			}
		}
		return false
	}
	return l.op.cmpResult(cmpDec(v, l.n))
}

// boolLeaf holds when a boolean equals b.
type boolLeaf struct {
	opd operand
	b   bool
}

func (l *boolLeaf) test(r *Record, _ evalCtx) bool {
	v, ok := r.Values[l.opd.f.Key].(bool)
	return ok && v == l.b
}

// dateLeaf compares "YYYY-MM-DD" dates as text, which is date order.
type dateLeaf struct {
	opd operand
	op  op // eq, in, lt, lte, gt, gte, withinLast
	s   string
	set []string
	dur time.Duration
}

// dateWindow is the dates a withinLast window touches: a date counts as
// its whole UTC day, so it is within the window [now-dur, now] when the
// two overlap.
func dateWindow(now time.Time, dur time.Duration) (lo, hi [10]byte) {
	return dateKey(now.Add(-dur)), dateKey(now)
}

func (l *dateLeaf) test(r *Record, e evalCtx) bool {
	v, ok := l.opd.str(r)
	if !ok {
		return false
	}
	switch l.op {
	case opIn:
		return hasString(l.set, v)
	case opWithinLast:
		lo, hi := dateWindow(e.now, l.dur)
		return v >= string(lo[:]) && v <= string(hi[:])
	}
	return l.op.cmpResult(cmpString(v, l.s))
}

// dtLeaf compares datetime fields by their keys (microsecond precision).
type dtLeaf struct {
	opd   operand
	op    op // eq, in, lt, lte, gt, gte, withinLast
	k     dtKey
	t     time.Time
	set   []dtKey
	times []time.Time
	dur   time.Duration
}

// instantWindow is the withinLast window [now-dur, now] at microsecond
// precision, as sent to PostgreSQL.
func instantWindow(now time.Time, dur time.Duration) (lo, hi time.Time) {
	return floorMicro(now.Add(-dur)), floorMicro(now)
}

func (l *dtLeaf) test(r *Record, e evalCtx) bool {
	s, ok := l.opd.str(r)
	if !ok {
		return false
	}
	k, ok := storedDTKey(s)
	if !ok {
		return false
	}
	switch l.op {
	case opIn:
		for i := range l.set {
			if k == l.set[i] {
				return true
			}
		}
		return false
	case opWithinLast:
		lo, hi := instantWindow(e.now, l.dur)
		lk, hk := timeKey(lo), timeKey(hi)
		return bytes.Compare(k[:], lk[:]) >= 0 && bytes.Compare(k[:], hk[:]) <= 0
	}
	return l.op.cmpResult(bytes.Compare(k[:], l.k[:]))
}

// instLeaf compares createdAt and updatedAt at microsecond precision.
type instLeaf struct {
	opd   operand
	op    op // eq, in, lt, lte, gt, gte, withinLast
	us    int64
	t     time.Time
	set   []int64
	times []time.Time
	dur   time.Duration
}

func (l *instLeaf) test(r *Record, e evalCtx) bool {
	var us int64
	if l.opd.acc == accCreatedAt {
		us = r.CreatedAt.UnixMicro()
	} else {
		us = r.UpdatedAt.UnixMicro()
	}
	switch l.op {
	case opIn:
		for _, x := range l.set {
			if us == x {
				return true
			}
		}
		return false
	case opWithinLast:
		lo, hi := instantWindow(e.now, l.dur)
		return us >= lo.UnixMicro() && us <= hi.UnixMicro()
	}
	c := 0
	if us < l.us {
		c = -1
	} else if us > l.us {
		c = 1
	}
	return l.op.cmpResult(c)
}

// multiLeaf tests the set of values of a multiPicklist.
type multiLeaf struct {
	opd  operand
	op   op // eq (the same set), in (any of), contains (all of)
	vals []string
}

func (l *multiLeaf) test(r *Record, _ evalCtx) bool {
	arr, ok := r.Values[l.opd.f.Key].([]any)
	if !ok || len(arr) == 0 {
		return false
	}
	switch l.op {
	case opIn:
		for _, x := range arr {
			if s, ok := x.(string); ok && hasString(l.vals, s) {
				return true
			}
		}
		return false
	case opEq:
		for _, x := range arr {
			if s, ok := x.(string); !ok || !hasString(l.vals, s) {
				return false
			}
		}
	}
	// contains, and the other half of eq: every value is selected.
	for _, v := range l.vals {
		found := false
		for _, x := range arr {
			if s, ok := x.(string); ok && s == v {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
