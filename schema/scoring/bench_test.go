package scoring_test

// Benchmarks against PostgreSQL. They build their data inside the
// Benchmark functions, so `go test` without -bench runs none of it.
// Results and commands are recorded in docs/benchmarks.md and
// docs/scoring.md.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/scoring"
)

// benchRules is a realistic rule set for Lead of the CRM template: eight
// fit rules (picklists, text from data and from slots, tags) and two
// engagement rules over activities (page views with a window and decay,
// meetings capped).
const benchRules = `{
  "grades": [{"grade": "A", "min": 80}, {"grade": "B", "min": 60}, {"grade": "C", "min": 40}, {"grade": "D"}],
  "rules": [
    {"name": "qualified", "kind": "fit", "points": QUALIFIED, "when": {"field": "status", "op": "in", "value": ["qualified", "converted"]}},
    {"name": "contacted", "kind": "fit", "points": 10, "when": {"field": "status", "op": "eq", "value": "contacted"}},
    {"name": "lost", "kind": "fit", "points": -20, "when": {"field": "status", "op": "eq", "value": "unqualified"}},
    {"name": "referral", "kind": "fit", "points": REFERRAL, "when": {"field": "source", "op": "in", "value": ["referral", "partner"]}},
    {"name": "events", "kind": "fit", "points": 10, "when": {"field": "source", "op": "eq", "value": "event"}},
    {"name": "bigCompany", "kind": "fit", "points": 15, "when": {"field": "company", "op": "startsWith", "value": "Company 1"}},
    {"name": "freeMail", "kind": "fit", "points": -10, "when": {"field": "email", "op": "contains", "value": "@gmail.com"}},
    {"name": "vip", "kind": "fit", "points": 25, "when": {"tags": "hasAny", "value": ["tier/vip"]}},
    {"name": "pageViews", "kind": "engagement", "related": "activities", "where": {"field": "type", "op": "eq", "value": "pageView"},
     "pointsEach": 5, "at": "occurredAt", "within": "30d", "halfLife": "7d", "cap": 30},
    {"name": "meetings", "kind": "engagement", "related": "activities", "where": {"field": "type", "op": "eq", "value": "meeting"},
     "pointsEach": 10, "cap": 20}
  ]
}`

func benchDoc(qualified, referral int) string {
	return strings.NewReplacer("QUALIFIED", fmt.Sprint(qualified), "REFERRAL", fmt.Sprint(referral)).Replace(benchRules)
}

// fillBench inserts n leads and, for the first n/10 of them, three
// activities each (page views and meetings over the last 60 days), in two
// statements through the owner pool, values in data and slots as the
// record store writes them.
func fillBench(b *testing.B, e *env, tenant string, n int) {
	ctx := context.Background()
	m, err := e.cat.Model(ctx, tenant)
	if err != nil {
		b.Fatal(err)
	}
	lead, act := m.Object("Lead"), m.Object("Activity")
	lf := func(name string) *model.Field { return lead.Field(name) }
	af := func(name string) *model.Field { return act.Field(name) }
	start := time.Now()
	_, err = e.db.Owner.Exec(ctx, fmt.Sprintf(`INSERT INTO records (tenant_id, object_id, id, data, created_by, updated_by, tags, %[1]s, %[2]s)
		SELECT $1, $2, gen_random_uuid(),
			jsonb_build_object('%[3]s', 'Last ' || g, '%[4]s', 'Company ' || (g %% 5000),
				'%[5]s', 'lead' || g || CASE WHEN g %% 7 = 0 THEN '@gmail.com' ELSE '@corp.example' END,
				'%[6]s', (ARRAY['new','contacted','qualified','unqualified','converted'])[1 + g %% 5],
				'%[7]s', (ARRAY['web','referral','event','ads','partner','other'])[1 + g %% 6]),
			'bench', 'bench', CASE WHEN g %% 50 = 0 THEN '{tier/vip}'::text[] ELSE '{}' END,
			'Company ' || (g %% 5000), 'lead' || g || CASE WHEN g %% 7 = 0 THEN '@gmail.com' ELSE '@corp.example' END
		FROM generate_series(1, $3::int) g`,
		lf("company").Slot, lf("email").Slot, lf("lastName").Key, lf("company").Key, lf("email").Key, lf("status").Key, lf("source").Key),
		tenant, lead.Key, n)
	if err != nil {
		b.Fatal(err)
	}
	_, err = e.db.Owner.Exec(ctx, fmt.Sprintf(`INSERT INTO records (tenant_id, object_id, id, data, created_by, updated_by, %[1]s, %[2]s, %[3]s)
		SELECT $1, $2, gen_random_uuid(),
			jsonb_build_object('%[4]s', (ARRAY['pageView','meeting','pageView'])[1 + g %% 3], '%[5]s', 'visit',
				'%[6]s', to_char(($4::timestamptz - (g %% 60) * interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
				'%[7]s', l.id::text),
			'bench', 'bench', (ARRAY['pageView','meeting','pageView'])[1 + g %% 3], $4::timestamptz - (g %% 60) * interval '1 day', l.id
		FROM (SELECT id, row_number() OVER () AS k FROM records WHERE tenant_id = $1 AND object_id = $5 LIMIT $3::int / 10) l,
			generate_series(3 * (l.k - 1), 3 * l.k - 1) g`,
		af("type").Slot, af("occurredAt").Slot, af("lead").Slot, af("type").Key, af("subject").Key, af("occurredAt").Key, af("lead").Key),
		tenant, act.Key, n, t0, lead.Key)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.Owner.Exec(ctx, "VACUUM ANALYZE records"); err != nil {
		b.Fatal(err)
	}
	b.Logf("filled %d leads and %d activities in %v", n, 3*(n/10), time.Since(start).Round(time.Second))
}

// benchRescore times rescoring n leads after a rule change: setup fills
// them, applies a first rule set and scores them (untimed); every
// iteration applies a changed rule set (the points of two rules move, so
// most scores change) and runs its job to the end.
func benchRescore(b *testing.B, n int) {
	e := newEnv(b, scoring.Options{})
	ctx := context.Background()
	tenant := e.tenant(b, "bench")
	fillBench(b, e, tenant, n)
	start := time.Now()
	e.apply(b, tenant, "Lead", benchDoc(30, 20))
	e.runJobs(b, tenant)
	if _, err := e.db.Owner.Exec(ctx, "VACUUM ANALYZE records, record_scores"); err != nil {
		b.Fatal(err)
	}
	b.Logf("first scoring (all %d leads new) and vacuum: %v", n, time.Since(start).Round(time.Second))
	i := 0
	var changed int64
	for b.Loop() {
		i++
		res := e.apply(b, tenant, "Lead", benchDoc(30+5*(i%2+1), 20+5*(i%2+1)))
		job, err := e.svc.Rescore(ctx, tenant, "Lead", "bench", nil)
		if err != nil {
			b.Fatal(err)
		}
		if job.ID != res.Job.ID || job.DoneRows != int64(n) {
			b.Fatalf("job %+v", job)
		}
		changed += job.ChangedRows
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(changed)/float64(b.N), "changed/op")
}

// BenchmarkRescore1M rescores 1,000,000 leads (100,000 of them with three
// activities) after a rule change. Target: under 60 s on 2 cores. Setup
// takes about two minutes; run it once: -benchtime=1x.
func BenchmarkRescore1M(b *testing.B) { benchRescore(b, 1_000_000) }

// BenchmarkRescore100k is BenchmarkRescore1M on 100,000 leads.
func BenchmarkRescore100k(b *testing.B) { benchRescore(b, 100_000) }
