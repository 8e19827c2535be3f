package scoring_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/scoring"
)

// simpleRules score leads filled by fillLeads: their score is fit only.
const simpleRules = `{"grades": [{"grade": "A", "min": 40}, {"grade": "B"}], "rules": [
	{"name": "qualified", "kind": "fit", "points": 30, "when": {"field": "status", "op": "in", "value": ["qualified", "converted"]}},
	{"name": "referral", "kind": "fit", "points": 20, "when": {"field": "source", "op": "eq", "value": "referral"}},
	{"name": "pageViews", "kind": "engagement", "related": "activities", "pointsEach": 5, "at": "occurredAt", "halfLife": "7d",
	 "where": {"field": "type", "op": "eq", "value": "pageView"}}]}`

var (
	statuses = []string{"new", "contacted", "qualified", "unqualified", "converted"}
	sources  = []string{"web", "referral", "event", "ads", "partner", "other"}
)

// fillLeads inserts n leads behind the store's back (one statement): the
// g-th has status statuses[g % 5] and source sources[g % 6].
func (e *env) fillLeads(t testing.TB, tenant string, n int) {
	t.Helper()
	m, err := e.cat.Model(context.Background(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	o := m.Object("Lead")
	_, err = e.db.Owner.Exec(context.Background(), fmt.Sprintf(`INSERT INTO records (tenant_id, object_id, id, data, created_by, updated_by)
		SELECT $1, $2, gen_random_uuid(), jsonb_build_object('%s', 'Lead ' || g,
			'%s', (ARRAY['new','contacted','qualified','unqualified','converted'])[1 + g %% 5],
			'%s', (ARRAY['web','referral','event','ads','partner','other'])[1 + g %% 6]), 'test', 'test'
		FROM generate_series(1, $3::int) g`, o.Field("lastName").Key, o.Field("status").Key, o.Field("source").Key),
		tenant, o.Key, n)
	if err != nil {
		t.Fatal(err)
	}
	// As autovacuum would after such an insert: the planner needs to know
	// the object is not one row.
	if _, err := e.db.Owner.Exec(context.Background(), "ANALYZE records"); err != nil {
		t.Fatal(err)
	}
}

// checkSimpleScores checks every lead's stored score under simpleRules
// (no activities) and returns how many there are.
func (e *env) checkSimpleScores(t testing.TB, tenant string) int {
	t.Helper()
	m, _ := e.cat.Model(context.Background(), tenant)
	o := m.Object("Lead")
	rows, err := e.db.Owner.Query(context.Background(), `SELECT id::text, data->>$3, data->>$4, score::text, grade
		FROM records WHERE tenant_id = $1 AND object_id = $2 AND deleted_at IS NULL`, tenant, o.Key, o.Field("status").Key, o.Field("source").Key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, status, source string
		var score, grade *string
		if err := rows.Scan(&id, &status, &source, &score, &grade); err != nil {
			t.Fatal(err)
		}
		want := 0
		if status == "qualified" || status == "converted" {
			want += 30
		}
		if source == "referral" {
			want += 20
		}
		wantGrade := "B"
		if want >= 40 {
			wantGrade = "A"
		}
		if score == nil || *score != fmt.Sprint(want) || grade == nil || *grade != wantGrade {
			t.Fatalf("lead %s (%s, %s): score %v grade %v, want %d %s", id, status, source, str(score), str(grade), want, wantGrade)
		}
		n++
	}
	return n
}

func (e *env) countScored(t testing.TB, tenant string) (scored, events int) {
	t.Helper()
	err := e.db.Owner.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM records WHERE tenant_id = $1 AND score IS NOT NULL),
		(SELECT coalesce(sum(jsonb_array_length(payload->'records')), 0) FROM outbox_events WHERE tenant_id = $1 AND topic = 'record.scored')`, tenant).Scan(&scored, &events)
	if err != nil {
		t.Fatal(err)
	}
	return scored, events
}

// TestRescoreJobResumesAfterCrash interrupts a rescore job twice, once in
// the middle of a batch's transaction (it rolls back, as in a crash) and
// once between batches, and checks that running it again finishes the
// work: every record scored once, correctly, with one change in the events
// each. The job has five slices and two workers run batches at once.
func TestRescoreJobResumesAfterCrash(t *testing.T) {
	e := newEnv(t, scoring.Options{BatchSize: 100, Workers: 2})
	e.svc.SetSliceSize(200)
	tenant := e.tenant(t, "acme")
	e.fillLeads(t, tenant, 1000)
	res := e.apply(t, tenant, "Lead", simpleRules)
	if res.Job.TotalRows != 1000 || res.Job.Slices != 5 {
		t.Fatalf("job: %+v", res.Job)
	}
	consistent := func(what string, wantDone int64) scoring.Job {
		t.Helper()
		jobs, err := e.svc.Jobs(context.Background(), tenant, "Lead")
		if err != nil {
			t.Fatal(err)
		}
		j := jobs[0]
		scored, events := e.countScored(t, tenant)
		if j.Finished || j.DoneRows != int64(scored) || j.ChangedRows != int64(scored) || events != scored || (wantDone > 0 && j.DoneRows < wantDone) {
			t.Fatalf("%s: job %+v; %d scored, %d in events", what, j, scored, events)
		}
		return j
	}

	// A crash inside the 4th batch: its transaction never commits (nor
	// does a batch another worker was running then).
	ctx, cancel := context.WithCancel(context.Background())
	var batches atomic.Int32
	e.svc.SetBeforeCommit(func() {
		if batches.Add(1) == 4 {
			cancel()
		}
	})
	_, err := e.svc.RunJobs(ctx, tenant, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	e.svc.SetBeforeCommit(nil)
	crashed := consistent("after the crash", 100)

	// Stopped between batches, after three more.
	ctx, cancel = context.WithCancel(context.Background())
	n := 0
	_, err = e.svc.RunJobs(ctx, tenant, func(j scoring.Job) {
		if n++; n == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v", err)
	}
	consistent("after stopping", crashed.DoneRows+1)

	// Run again: it resumes and finishes.
	job, err := e.svc.Rescore(context.Background(), tenant, "Lead", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !job.Finished || job.DoneRows != 1000 || job.ChangedRows != 1000 || job.ID != res.Job.ID {
		t.Fatalf("resumed job: %+v", job)
	}
	if got := e.checkSimpleScores(t, tenant); got != 1000 {
		t.Fatalf("%d leads", got)
	}
	if scored, events := e.countScored(t, tenant); scored != 1000 || events != 1000 {
		t.Fatalf("%d scored, %d in events; want 1000 each", scored, events)
	}
	// A manual rescore finds nothing to change: no writes, no events.
	job, err = e.svc.Rescore(context.Background(), tenant, "Lead", "test", nil)
	if err != nil || job.ID == res.Job.ID || job.Reason != "manual" || job.DoneRows != 1000 || job.ChangedRows != 0 {
		t.Fatalf("manual rescore: %v %+v", err, job)
	}
	if _, events := e.countScored(t, tenant); events != 1000 {
		t.Fatalf("%d changes in events after a rescore that changed nothing", events)
	}
}

// TestRescoreDoesNotBlockWrites updates records with the record store
// while a rescore job runs (each batch holds its transaction open 100 ms
// longer than it needs): every update finishes within a batch's time, long
// before the job does, and the consumer then brings the updated records'
// scores up to date.
func TestRescoreDoesNotBlockWrites(t *testing.T) {
	e := newEnv(t, scoring.Options{BatchSize: 500, Workers: 2})
	e.svc.SetSliceSize(2000)
	tenant := e.tenant(t, "acme")
	e.fillLeads(t, tenant, 10000)
	e.apply(t, tenant, "Lead", simpleRules)
	started := make(chan struct{})
	var once atomic.Bool
	e.svc.SetBeforeCommit(func() {
		if once.CompareAndSwap(false, true) {
			close(started)
		}
		time.Sleep(100 * time.Millisecond)
	})
	done := make(chan error, 1)
	var finished atomic.Bool
	go func() {
		_, err := e.svc.RunJobs(context.Background(), tenant, nil)
		finished.Store(true)
		done <- err
	}()
	<-started
	m, _ := e.cat.Model(context.Background(), tenant)
	rows, err := e.db.Owner.Query(context.Background(), `SELECT id::text FROM records WHERE tenant_id = $1 AND object_id = $2 ORDER BY random() LIMIT 8`,
		tenant, m.Object("Lead").Key)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	var slowest time.Duration
	whileRunning := 0
	for i, id := range ids {
		begin := time.Now()
		e.update(t, tenant, "Lead", id, `{"status": "`+statuses[(i+rand.IntN(2))%5]+`", "source": "referral"}`)
		slowest = max(slowest, time.Since(begin))
		if !finished.Load() {
			whileRunning++
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if slowest > 2*time.Second || whileRunning < len(ids)/2 {
		t.Fatalf("updates waited up to %v; %d of %d finished while the job ran", slowest, whileRunning, len(ids))
	}
	t.Logf("slowest update while rescoring: %v; %d of %d finished while the job ran", slowest, whileRunning, len(ids))
	e.svc.SetBeforeCommit(nil)
	c, err := e.svc.Consumer(outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, c)
	if n := e.checkSimpleScores(t, tenant); n != 10000 {
		t.Fatalf("%d leads", n)
	}
}

// TestDecay advances the clock: page views lose half their points every
// seven days, and the decay job rescores (and only writes what changed).
func TestDecay(t *testing.T) {
	e := newEnv(t, scoring.Options{})
	ctx := context.Background()
	tenant := e.tenant(t, "acme")
	decaying := `{"scale": 2, "rules": [{"name": "pageViews", "kind": "engagement", "related": "activities", "pointsEach": 8,
		"at": "occurredAt", "within": "30d", "halfLife": "7d", "where": {"field": "type", "op": "eq", "value": "pageView"}}]}`
	lead := e.create(t, tenant, "Lead", `{"lastName": "One"}`)
	e.activity(t, tenant, lead, "pageView", t0)
	e.activity(t, tenant, lead, "pageView", t0.Add(-7*day))
	still := e.create(t, tenant, "Lead", `{"lastName": "Idle"}`)
	e.apply(t, tenant, "Lead", decaying)
	// Contact's rules do not depend on time: no decay job for it.
	e.create(t, tenant, "Contact", `{"lastName": "C"}`)
	e.apply(t, tenant, "Contact", `{"rules": [{"name": "exec", "kind": "fit", "points": 5, "when": {"field": "jobLevel", "op": "eq", "value": "executive"}}]}`)
	e.runJobs(t, tenant)
	if s, _ := e.scoreOf(t, lead); s != "12.00" { // 8 + 4
		t.Fatalf("at t0: %s", s)
	}
	before := len(scoredEvents(t, e, tenant))

	e.clock.Set(t0.Add(7 * day)) // 4 + 2
	queued, err := e.svc.RunDecay(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0].Object != "Lead" || queued[0].Reason != "decay" {
		t.Fatalf("queued: %+v", queued)
	}
	if s, _ := e.scoreOf(t, lead); s != "6.00" {
		t.Fatalf("a week later: %s", s)
	}
	evs := scoredEvents(t, e, tenant)
	if len(evs) != before+1 || evs[len(evs)-1]["reason"] != "decay" || evs[len(evs)-1]["id"] != lead {
		t.Fatalf("decay events: %v", evs[before:])
	}
	// Again at the same time: nothing changes, nothing is written.
	var asOf time.Time
	_ = e.db.Owner.QueryRow(ctx, "SELECT as_of FROM record_scores WHERE record_id = $1", still).Scan(&asOf)
	if _, err := e.svc.RunDecay(ctx, tenant); err != nil {
		t.Fatal(err)
	}
	var asOf2 time.Time
	_ = e.db.Owner.QueryRow(ctx, "SELECT as_of FROM record_scores WHERE record_id = $1", still).Scan(&asOf2)
	if len(scoredEvents(t, e, tenant)) != before+1 || !asOf.Equal(asOf2) {
		t.Fatalf("a decay run that changed nothing wrote something")
	}
	// 31 days on, the first view left the window; the second is 38 days
	// old. RunAllDecay finds the tenant.
	e.clock.Set(t0.Add(31 * day))
	if err := e.svc.RunAllDecay(ctx); err != nil {
		t.Fatal(err)
	}
	if s, g := e.scoreOf(t, lead); s != "0.00" || g != "" {
		t.Fatalf("31 days later: %s %q", s, g)
	}
	// RunAllJobs finishes jobs left behind, in every tenant.
	e.apply(t, tenant, "Lead", `{"rules": [{"name": "all", "kind": "fit", "points": 1, "when": {"and": []}}]}`)
	if err := e.svc.RunAllJobs(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := e.scoreOf(t, still); s != "1" {
		t.Fatalf("after RunAllJobs: %s", s)
	}
}
