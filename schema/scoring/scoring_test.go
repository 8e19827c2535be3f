package scoring_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/scoring"
)

const day = 24 * time.Hour

// handLeads creates the leads whose scores under leadRules are computed by
// hand in TestApplyRescoresHandComputed.
type handLeads struct {
	l1, l2, l3, l4, deleted string
}

func (e *env) handLeads(t *testing.T, tenant string) handLeads {
	t.Helper()
	var h handLeads
	acct := e.create(t, tenant, "Account", `{"name": "Acme", "industry": "technology"}`)
	// l1: qualified (30) + referral (20) = fit 50. Page views 7 and 14
	// days ago count 5 x 0.5 + 5 x 0.25 = 3.75; one 40 days ago is past the
	// 30-day window, one tomorrow has not happened; a meeting 100 days ago
	// counts 10 (no decay); an e-mail counts nothing. Engagement 13.75,
	// rounded 14; score 64: A.
	h.l1 = e.create(t, tenant, "Lead", `{"lastName": "One", "status": "qualified", "source": "referral", "email": "one@corp.example"}`)
	e.activity(t, tenant, h.l1, "pageView", t0.Add(-7*day))
	e.activity(t, tenant, h.l1, "pageView", t0.Add(-14*day))
	e.activity(t, tenant, h.l1, "pageView", t0.Add(-40*day))
	e.activity(t, tenant, h.l1, "pageView", t0.Add(day))
	e.activity(t, tenant, h.l1, "meeting", t0.Add(-100*day))
	e.activity(t, tenant, h.l1, "email", t0.Add(-day))
	// l2: a gmail address, fit -10. Eight page views now: 40, capped 30;
	// two meetings: 20, capped 15. Engagement 45, score 35: C.
	h.l2 = e.create(t, tenant, "Lead", `{"lastName": "Two", "status": "new", "source": "web", "email": "two@gmail.com"}`)
	for range 8 {
		e.activity(t, tenant, h.l2, "pageView", t0)
	}
	e.activity(t, tenant, h.l2, "meeting", t0.Add(-day))
	e.activity(t, tenant, h.l2, "meeting", t0.Add(-2*day))
	// l3: converted (30), a technology account (15), tagged vip (25): 70, A.
	h.l3 = e.create(t, tenant, "Lead", `{"lastName": "Three", "status": "converted", "convertedAccount": "`+acct+`"}`)
	if _, err := e.db.Owner.Exec(context.Background(), `UPDATE records SET tags = '{tier/vip}' WHERE id = $1`, h.l3); err != nil {
		t.Fatal(err)
	}
	// l4: nothing: 0, D.
	h.l4 = e.create(t, tenant, "Lead", `{"lastName": "Four"}`)
	// A deleted lead is not scored.
	h.deleted = e.create(t, tenant, "Lead", `{"lastName": "Gone", "status": "qualified"}`)
	if err := e.store.Delete(context.Background(), tenant, actor, "Lead", h.deleted, nil); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestApplyRescoresHandComputed(t *testing.T) {
	e := newEnv(t, scoring.Options{BatchSize: 2})
	tenant := e.tenant(t, "acme")
	other := e.tenant(t, "other")
	h := e.handLeads(t, tenant)
	otherLead := e.create(t, other, "Lead", `{"lastName": "Elsewhere", "status": "qualified"}`)

	res := e.apply(t, tenant, "Lead", leadRules)
	if !res.Changed || res.Version != 1 || res.Job == nil || res.Job.TotalRows != 4 || res.Job.Reason != "apply" {
		t.Fatalf("apply: %+v %+v", res, res.Job)
	}
	var seen []scoring.Job
	if _, err := e.svc.RunJobs(t.Context(), tenant, func(j scoring.Job) { seen = append(seen, j) }); err != nil {
		t.Fatal(err)
	}
	// Batches of 2: 2, 4, then an empty batch finishes the job.
	if len(seen) != 3 || seen[0].DoneRows != 2 || seen[1].DoneRows != 4 || !seen[2].Finished || seen[2].DoneRows != 4 {
		t.Fatalf("progress: %+v", seen)
	}
	for _, c := range []struct {
		id, score, grade, fit, eng string
	}{
		{h.l1, "64", "A", "50", "14"},
		{h.l2, "35", "C", "-10", "45"},
		{h.l3, "70", "A", "70", "0"},
		{h.l4, "0", "D", "0", "0"},
	} {
		score, grade := e.scoreOf(t, c.id)
		fit, eng := e.parts(t, c.id)
		if score != c.score || grade != c.grade || fit != c.fit || eng != c.eng {
			t.Errorf("lead %s: score %s grade %s fit %s engagement %s; want %s %s %s %s", c.id, score, grade, fit, eng, c.score, c.grade, c.fit, c.eng)
		}
	}
	if score, grade := e.scoreOf(t, h.deleted); score != "" || grade != "" {
		t.Errorf("a deleted lead was scored: %s %s", score, grade)
	}
	if score, _ := e.scoreOf(t, otherLead); score != "" {
		t.Errorf("another tenant's lead was scored: %s", score)
	}
	// The two batches that changed scores appended one record.scored
	// event each, listing every changed record.
	var events int
	if err := e.db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM outbox_events WHERE tenant_id = $1 AND topic = 'record.scored'`, tenant).Scan(&events); err != nil || events != 2 {
		t.Fatalf("%d record.scored events, want 2 (%v)", events, err)
	}
	evs := scoredEvents(t, e, tenant)
	if len(evs) != 4 {
		t.Fatalf("%d record.scored events, want 4: %v", len(evs), evs)
	}
	for _, ev := range evs {
		if ev["id"] == h.l1 {
			if ev["reason"] != "rules" || ev["rulesetVersion"] != float64(1) || ev["object"] != "Lead" ||
				ev["new"].(map[string]any)["score"] != float64(64) || ev["new"].(map[string]any)["grade"] != "A" ||
				ev["old"].(map[string]any)["score"] != nil {
				t.Fatalf("event: %v", ev)
			}
		}
	}
	// The Go evaluator (Explain) agrees with the SQL for every lead.
	for _, id := range []string{h.l1, h.l2, h.l3, h.l4} {
		ex, err := e.svc.Explain(t.Context(), tenant, "Lead", id)
		if err != nil {
			t.Fatal(err)
		}
		score, grade := e.scoreOf(t, id)
		if ex.Score != score || *ex.Grade != grade || ex.Stored == nil || *ex.Stored.Score != score {
			t.Errorf("explain %s: %s %v, stored %s %s", id, ex.Score, *ex.Grade, score, grade)
		}
	}

	// A second version with weights and two decimals: l1 is
	// 0.5 x 50 + 2 x 13.75 = 52.50 (B); its event says so.
	v2 := strings.Replace(leadRules, `"weights": {"fit": 1, "engagement": 1}`, `"scale": 2, "weights": {"fit": 0.5, "engagement": 2}`, 1)
	res = e.apply(t, tenant, "Lead", v2)
	if res.Version != 2 || !res.Changed {
		t.Fatalf("apply v2: %+v", res)
	}
	e.runJobs(t, tenant)
	if score, grade := e.scoreOf(t, h.l1); score != "52.50" || grade != "B" {
		t.Fatalf("l1 under v2: %s %s", score, grade)
	}
	if fit, eng := e.parts(t, h.l1); fit != "50.00" || eng != "13.75" {
		t.Fatalf("l1 parts under v2: %s %s", fit, eng)
	}
	// l4 stays 0 and D: no event for it.
	evs = scoredEvents(t, e, tenant)
	var l1Event map[string]any
	for _, ev := range evs[4:] {
		if ev["id"] == h.l4 {
			t.Fatalf("an unchanged record got an event: %v", ev)
		}
		if ev["id"] == h.l1 {
			l1Event = ev
		}
	}
	if l1Event == nil || l1Event["old"].(map[string]any)["score"] != float64(64) || l1Event["new"].(map[string]any)["score"] != 52.5 {
		t.Fatalf("l1's event under v2: %v", l1Event)
	}
}

func TestExplainListsContributingRules(t *testing.T) {
	e := newEnv(t, scoring.Options{})
	tenant := e.tenant(t, "acme")
	h := e.handLeads(t, tenant)
	e.apply(t, tenant, "Lead", leadRules)
	e.runJobs(t, tenant)

	ex, err := e.svc.Explain(t.Context(), tenant, "Lead", h.l1)
	if err != nil {
		t.Fatal(err)
	}
	if ex.Score != "64" || *ex.Grade != "A" || ex.Fit != "50" || ex.Engagement != "14" || ex.RulesetVersion != 1 || !ex.At.Equal(t0) {
		t.Fatalf("explanation: %+v", ex)
	}
	var names []string
	for _, r := range ex.Rules {
		names = append(names, r.Name+"="+r.Points)
	}
	if want := []string{"qualified=30", "referral=20", "pageViews=3.75", "meetings=10"}; !slices.Equal(names, want) {
		t.Fatalf("rules %v, want %v", names, want)
	}
	if want := []string{"techAccount", "freeMail", "vip"}; !slices.Equal(ex.NotMatched, want) {
		t.Fatalf("not matched %v, want %v", ex.NotMatched, want)
	}
	q := ex.Rules[0]
	if len(q.Matched) != 1 || q.Matched[0].Value != "qualified" || !q.Matched[0].Holds || !strings.Contains(string(q.Matched[0].Test), `"status"`) {
		t.Fatalf("qualified matched: %+v", q.Matched)
	}
	pv := ex.Rules[2]
	if pv.RelatedCount != 2 || len(pv.Related) != 2 {
		t.Fatalf("page views: %+v", pv)
	}
	var weights []float64
	var points []string
	for _, r := range pv.Related {
		weights = append(weights, r.Weight)
		points = append(points, r.Points)
		if r.At == nil || r.Name != "x" {
			t.Fatalf("related match: %+v", r)
		}
	}
	slices.Sort(weights)
	slices.Sort(points)
	if !slices.Equal(weights, []float64{0.25, 0.5}) || !slices.Equal(points, []string{"1.25", "2.5"}) {
		t.Fatalf("page view weights %v points %v", weights, points)
	}
	if ex.Stored == nil || *ex.Stored.Score != "64" || ex.Stored.Contributions["pageViews"] != "3.7500" || ex.Stored.Contributions["qualified"] != "30.0000" {
		t.Fatalf("stored: %+v", ex.Stored)
	}

	// A lookup value and a cap show up too.
	ex, err = e.svc.Explain(t.Context(), tenant, "Lead", h.l3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Rules) != 3 || ex.Rules[1].Name != "techAccount" || ex.Rules[1].Matched[0].Value != "technology" ||
		ex.Rules[2].Name != "vip" || !slices.Equal(ex.Rules[2].Matched[0].Value.([]string), []string{"tier/vip"}) {
		t.Fatalf("l3: %+v", ex.Rules)
	}
	ex, err = e.svc.Explain(t.Context(), tenant, "Lead", h.l2)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range ex.Rules {
		if r.Name == "pageViews" && (r.Points != "30" || r.Uncapped != "40" || r.RelatedCount != 8) {
			t.Fatalf("capped rule: %+v", r)
		}
		if r.Name == "freeMail" && (r.Points != "-10" || r.Matched[0].Value != "two@gmail.com") {
			t.Fatalf("negative rule: %+v", r)
		}
	}
	// Explaining unknown or deleted records, or an object without rules.
	if _, err := e.svc.Explain(t.Context(), tenant, "Lead", h.deleted); code(err) != "record_not_found" {
		t.Fatalf("deleted: %v", err)
	}
	if _, err := e.svc.Explain(t.Context(), tenant, "Contact", h.l1); code(err) != "ruleset_not_found" {
		t.Fatalf("no rule set: %v", err)
	}
}

// TestPreviewChangesNothing previews a draft over named and sampled
// records and checks the distributions, and that nothing was written.
func TestPreviewChangesNothing(t *testing.T) {
	e := newEnv(t, scoring.Options{})
	tenant := e.tenant(t, "acme")
	h := e.handLeads(t, tenant)
	e.apply(t, tenant, "Lead", leadRules)
	e.runJobs(t, tenant)

	snapshot := func() string {
		var s string
		err := e.db.Owner.QueryRow(context.Background(), `SELECT
			(SELECT string_agg(id::text || coalesce(score::text, '-') || coalesce(grade, '-') || version, ',' ORDER BY id) FROM records) ||
			(SELECT count(*) FROM outbox_events)::text || '/' || (SELECT count(*) FROM scoring_rulesets)::text || '/' ||
			(SELECT count(*) FROM scoring_jobs)::text || '/' ||
			(SELECT string_agg(record_id::text || score::text || as_of::text, ',' ORDER BY record_id) FROM record_scores)`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot()
	// The draft makes a referral worth 40 and drops grade D: l1 goes to
	// 84 (A), l4 loses its grade.
	draft := strings.Replace(leadRules, `"points": 20`, `"points": 40`, 1)
	draft = strings.Replace(draft, `, {"grade": "D"}`, ``, 1)
	p, err := e.svc.Preview(t.Context(), tenant, "Lead", []byte(draft), scoring.PreviewOptions{IDs: []string{h.l1, strings.ToUpper(h.l4), h.deleted}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Scored != 2 || p.Changed != 2 || p.ActiveVersion != 1 || !slices.Equal(p.Missing, []string{h.deleted}) {
		t.Fatalf("preview: %+v", p)
	}
	got := map[string]string{}
	for _, r := range p.Records {
		got[r.ID] = *r.ScoreBefore + "/" + *r.GradeBefore + " -> " + r.Score + "/" + str(r.Grade)
	}
	if got[h.l1] != "64/A -> 84/A" || got[h.l4] != "0/D -> 0/-" {
		t.Fatalf("records: %v", got)
	}
	// Both lists have the same rows: the draft's grades, then D (only
	// before), then no grade.
	if d := dist(p.Before); d != "A:1 B:0 C:0 D:1 :0" {
		t.Fatalf("before: %s", d)
	}
	if d := dist(p.After); d != "A:1 B:0 C:0 D:0 :1" {
		t.Fatalf("after: %s", d)
	}
	// A sample of every lead.
	p, err = e.svc.Preview(t.Context(), tenant, "Lead", []byte(draft), scoring.PreviewOptions{Sample: 10})
	if err != nil {
		t.Fatal(err)
	}
	if p.Scored != 4 || dist(p.Before) != "A:2 B:0 C:1 D:1 :0" || dist(p.After) != "A:2 B:0 C:1 D:0 :1" {
		t.Fatalf("sample: %d %s %s", p.Scored, dist(p.Before), dist(p.After))
	}
	moves := map[string]int{}
	for _, m := range p.Moves {
		moves[m.From+">"+m.To] = m.Count
	}
	if moves["A>A"] != 2 || moves["C>C"] != 1 || moves["D>"] != 1 {
		t.Fatalf("moves: %v", p.Moves)
	}
	if after := snapshot(); after != before {
		t.Fatalf("preview changed something:\n%s\n%s", before, after)
	}
	// A draft with a mistake is refused with its pointer.
	_, err = e.svc.Preview(t.Context(), tenant, "Lead", []byte(`{"rules": [{"name": "x", "kind": "fit", "points": 1, "when": {"field": "nope", "op": "eq", "value": 1}}]}`), scoring.PreviewOptions{})
	if code(err) != "invalid_ruleset" || !strings.Contains(err.Error(), "/rules/0/when/field") {
		t.Fatalf("bad draft: %v", err)
	}
}

func str(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func dist(gs []scoring.GradeCount) string {
	var parts []string
	for _, g := range gs {
		parts = append(parts, g.Grade+":"+itoa(g.Count))
	}
	return strings.Join(parts, " ")
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

func TestVersionsAndHistory(t *testing.T) {
	e := newEnv(t, scoring.Options{})
	tenant := e.tenant(t, "acme")
	e.create(t, tenant, "Lead", `{"lastName": "One", "status": "qualified"}`)
	r1 := e.apply(t, tenant, "Lead", leadRules)
	// The same document again (reformatted) changes nothing.
	var doc any
	_ = json.Unmarshal([]byte(leadRules), &doc)
	compact, _ := json.Marshal(doc)
	if r := e.apply(t, tenant, "Lead", string(compact)); r.Changed || r.Version != 1 || r.Job != nil {
		t.Fatalf("reapply: %+v", r)
	}
	// A new version before the first job ran supersedes it.
	r2 := e.apply(t, tenant, "Lead", strings.Replace(leadRules, `"points": 30`, `"points": 35`, 1))
	jobs, err := e.svc.Jobs(t.Context(), tenant, "Lead")
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID != r2.Job.ID || jobs[0].Finished || jobs[1].ID != r1.Job.ID || !jobs[1].Superseded || !jobs[1].Finished {
		t.Fatalf("jobs: %+v", jobs)
	}
	e.runJobs(t, tenant)
	hist, err := e.svc.History(t.Context(), tenant, "Lead")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Version != 2 || hist[1].Version != 1 || hist[0].CreatedBy != "test" || !hist[0].TimeDependent ||
		!slices.Equal(hist[0].RuleNames, []string{"qualified", "referral", "techAccount", "freeMail", "vip", "pageViews", "meetings"}) {
		t.Fatalf("history: %+v", hist)
	}
	active, err := e.svc.Active(t.Context(), tenant, "Lead")
	if err != nil || active.Version != 2 || !strings.Contains(string(active.Ruleset), `"points": 35`) {
		t.Fatalf("active: %v %+v", err, active)
	}
	// Invalid documents and unknown objects are refused.
	if _, err := e.svc.Apply(t.Context(), tenant, scoring.ApplyRequest{Object: "Lead", Document: []byte(`{"rules": [{"name": "x"}]}`)}); code(err) != "invalid_ruleset" {
		t.Fatalf("invalid: %v", err)
	}
	if _, err := e.svc.Apply(t.Context(), tenant, scoring.ApplyRequest{Object: "Nope", Document: []byte(leadRules)}); code(err) != "object_not_found" {
		t.Fatalf("unknown object: %v", err)
	}
	if _, err := e.svc.Active(t.Context(), tenant, "Contact"); code(err) != "ruleset_not_found" {
		t.Fatalf("no rule set: %v", err)
	}
}

// TestGoAndSQLAgree scores leads with random values and activities at
// random times (decay weights that are not powers of two, activities in
// the future and past the window) in SQL, and checks that the Go
// evaluator behind Explain computes the same fit, engagement, score and
// grade for every one, to four decimal places.
func TestGoAndSQLAgree(t *testing.T) {
	e := newEnv(t, scoring.Options{BatchSize: 7})
	tenant := e.tenant(t, "acme")
	rng := rand.New(rand.NewPCG(7, 11))
	var ids []string
	for i := range 40 {
		lead := e.create(t, tenant, "Lead", fmt.Sprintf(`{"lastName": "L%d", "status": %q, "source": %q, "email": "l%d@%s"}`,
			i, statuses[rng.IntN(5)], sources[rng.IntN(6)], i, []string{"gmail.com", "corp.example"}[rng.IntN(2)]))
		for range rng.IntN(7) {
			at := t0.Add(-time.Duration(rng.Int64N(int64(40*day))) + time.Duration(rng.Int64N(int64(2*day))))
			e.activity(t, tenant, lead, []string{"pageView", "meeting", "email"}[rng.IntN(3)], at)
		}
		ids = append(ids, lead)
	}
	doc := strings.Replace(leadRules, `"weights": {"fit": 1, "engagement": 1}`, `"scale": 4, "weights": {"fit": 0.7, "engagement": 1.3}`, 1)
	doc = strings.Replace(doc, `"cap": 30`, `"cap": 12.5`, 1)
	e.apply(t, tenant, "Lead", doc)
	e.runJobs(t, tenant)
	fractional := 0
	for _, id := range ids {
		ex, err := e.svc.Explain(t.Context(), tenant, "Lead", id)
		if err != nil {
			t.Fatal(err)
		}
		score, grade := e.scoreOf(t, id)
		fit, eng := e.parts(t, id)
		if ex.Score != score || str(ex.Grade) != str(&grade) || ex.Fit != fit || ex.Engagement != eng {
			t.Errorf("lead %s: Go %s %s (fit %s, engagement %s); SQL %s %s (fit %s, engagement %s)",
				id, ex.Score, str(ex.Grade), ex.Fit, ex.Engagement, score, grade, fit, eng)
		}
		if !strings.HasSuffix(eng, ".0000") {
			fractional++
		}
	}
	if fractional < 10 {
		t.Fatalf("only %d leads have decayed engagement: the test checks too little", fractional)
	}
}
