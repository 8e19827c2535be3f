package condition_test

import (
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/condition"
)

// tenClauses is a typical segment: ten tests of one record, no lookups or
// related lists, every one true so that none is skipped.
const tenClauses = `{"and": [
	{"field": "industry", "op": "in", "value": ["technology", "finance"]},
	{"field": "name", "op": "startsWith", "value": "Ac"},
	{"field": "employees", "op": "gte", "value": 100},
	{"field": "revenue", "op": "gt", "value": 1000000},
	{"field": "founded", "op": "lt", "value": "2010-01-01"},
	{"field": "segments", "op": "contains", "value": "enterprise"},
	{"tags": "hasAny", "value": ["vip", "hot"]},
	{"field": "score", "op": "gte", "value": 60},
	{"field": "grade", "op": "in", "value": ["A", "B"]},
	{"field": "createdAt", "op": "withinLast", "value": "30d"}
]}`

// BenchmarkEval10Clauses is the target: at least 1,000,000
// evaluations per second per core.
func BenchmarkEval10Clauses(b *testing.B) {
	w := newWorld(b)
	c := mustCompile(b, w.m, "Account", tenClauses)
	r := w.byName["Acme"]
	if !c.Eval(r, nil, evalNow) {
		b.Fatal("the benchmark record must meet every clause")
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		c.Eval(r, nil, evalNow)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "evals/s")
}

// BenchmarkEvalDatetimeNumbers exercises the slower leaves: datetime keys,
// a withinLast window and long numbers.
func BenchmarkEvalDatetimeNumbers(b *testing.B) {
	w := newWorld(b)
	c := mustCompile(b, w.m, "Contact", `{"and": [
		{"field": "lastSeen", "op": "withinLast", "value": "7d"},
		{"field": "lastSeen", "op": "gt", "value": "2026-01-01T00:00:00Z"},
		{"field": "birthday", "op": "isNull", "value": true},
		{"field": "version", "op": "lt", "value": 123456789012345678901234567890}]}`)
	r := w.byName["ann"]
	if !c.Eval(r, nil, evalNow) {
		b.Fatal("the benchmark record must meet every clause")
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Eval(r, nil, evalNow)
	}
}

// BenchmarkEvalRelated follows lookups and related lists through a
// MemorySource: "visited the pricing page twice in 7 days".
func BenchmarkEvalRelated(b *testing.B) {
	w := newWorld(b)
	c := mustCompile(b, w.m, "Account", `{"and": [
		{"field": "parent.industry", "op": "ne", "value": "retail"},
		{"related": "contacts", "quantifier": "some", "where": {"related": "activities", "count": {"op": "gte", "value": 2},
			"where": {"and": [{"field": "type", "op": "eq", "value": "pageView"}, {"field": "page", "op": "eq", "value": "/pricing"},
				{"field": "occurredAt", "op": "withinLast", "value": "7d"}]}}}]}`)
	r := w.byName["Acme"]
	if !c.Eval(r, w.src, evalNow) {
		b.Fatal("the benchmark record must meet the condition")
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.Eval(r, w.src, evalNow)
	}
}

func BenchmarkCompile10Clauses(b *testing.B) {
	m := testModel(b)
	o := m.Object("Account")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := condition.Compile(m, o, []byte(tenClauses)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSQL10Clauses(b *testing.B) {
	w := newWorld(b)
	c := mustCompile(b, w.m, "Account", tenClauses)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		c.SQL("r", 3, evalNow)
	}
}
