package scoring_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/scoring"
	"github.com/latticecrm/lattice/schema/templates"
)

const actor records.Actor = "test"

// t0 is the tests' fixed "now".
var t0 = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type env struct {
	db    *dbtest.DB
	cat   *catalog.Catalog
	store *records.Store
	svc   *scoring.Service
	clock *clock
}

func newEnv(t testing.TB, opts scoring.Options) *env {
	t.Helper()
	db := dbtest.New(t)
	quiet := slog.New(slog.DiscardHandler)
	cat, err := catalog.New(db.App, catalog.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: t0}
	if opts.Now == nil {
		opts.Now = c.Now
	}
	if opts.Logger == nil {
		opts.Logger = quiet
	}
	return &env{db: db, cat: cat, store: records.New(db.App, cat, quiet), svc: scoring.New(db.App, cat, opts), clock: c}
}

// tenant creates a tenant with the CRM template.
func (e *env) tenant(t testing.TB, slug string) string {
	t.Helper()
	var id string
	if err := e.db.Owner.QueryRow(context.Background(), "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	b, err := e.cat.Validator().ParseBundle(templates.CRM())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Apply(context.Background(), id, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return id
}

func vals(t testing.TB, s string) map[string]any {
	t.Helper()
	v, err := model.DecodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func (e *env) create(t testing.TB, tenant, object, values string) string {
	t.Helper()
	r, err := e.store.Create(context.Background(), tenant, actor, object, vals(t, values))
	if err != nil {
		t.Fatalf("create %s %s: %v", object, values, err)
	}
	return r.ID
}

func (e *env) update(t testing.TB, tenant, object, id, values string) {
	t.Helper()
	if _, err := e.store.Update(context.Background(), tenant, actor, object, id, vals(t, values), nil); err != nil {
		t.Fatalf("update %s %s: %v", object, id, err)
	}
}

// activity creates an Activity of the given type for lead at time at.
func (e *env) activity(t testing.TB, tenant, lead, typ string, at time.Time) string {
	t.Helper()
	return e.create(t, tenant, "Activity", `{"type": "`+typ+`", "subject": "x", "lead": "`+lead+`", "occurredAt": "`+at.Format(time.RFC3339Nano)+`"}`)
}

// scoreOf reads a record's stored score and grade ("" when none).
func (e *env) scoreOf(t testing.TB, id string) (string, string) {
	t.Helper()
	var score, grade *string
	if err := e.db.Owner.QueryRow(context.Background(), "SELECT score::text, grade FROM records WHERE id = $1", id).Scan(&score, &grade); err != nil {
		t.Fatal(err)
	}
	s, g := "", ""
	if score != nil {
		s = *score
	}
	if grade != nil {
		g = *grade
	}
	return s, g
}

// parts reads a record's stored fit and engagement.
func (e *env) parts(t testing.TB, id string) (string, string) {
	t.Helper()
	var fit, eng string
	if err := e.db.Owner.QueryRow(context.Background(), "SELECT fit::text, engagement::text FROM record_scores WHERE record_id = $1", id).Scan(&fit, &eng); err != nil {
		t.Fatalf("record_scores of %s: %v", id, err)
	}
	return fit, eng
}

func (e *env) apply(t testing.TB, tenant, object, doc string) *scoring.ApplyResult {
	t.Helper()
	res, err := e.svc.Apply(context.Background(), tenant, scoring.ApplyRequest{Object: object, Document: []byte(doc), Actor: "test"})
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func (e *env) runJobs(t testing.TB, tenant string) {
	t.Helper()
	if _, err := e.svc.RunJobs(context.Background(), tenant, nil); err != nil {
		t.Fatalf("run jobs: %v", err)
	}
}

// drain runs the consumer until it has nothing left to deliver.
func drain(t testing.TB, c *outbox.Consumer) {
	t.Helper()
	for i := 0; ; i++ {
		n, err := c.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("consumer: %v", err)
		}
		if n == 0 {
			return
		}
		if i > 100 {
			t.Fatal("the consumer never runs dry: a feedback loop?")
		}
	}
}

// scoredEvents returns the records of the tenant's record.scored events,
// one map per record with the event's object, rulesetVersion and reason.
func scoredEvents(t testing.TB, e *env, tenant string) []map[string]any {
	t.Helper()
	var out []map[string]any
	after := int64(0)
	for {
		evs, err := outbox.Events(context.Background(), e.db.App, tenant, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		for _, ev := range evs {
			after = ev.Seq
			if ev.Topic != scoring.TopicScored {
				continue
			}
			var p map[string]any
			if err := json.Unmarshal(ev.Payload, &p); err != nil {
				t.Fatal(err)
			}
			// One event lists every record one transaction changed.
			for _, r := range p["records"].([]any) {
				rec := r.(map[string]any)
				for _, k := range []string{"object", "objectId", "rulesetVersion", "reason"} {
					rec[k] = p[k]
				}
				out = append(out, rec)
			}
		}
	}
}

func code(err error) string {
	if e, ok := apierror.As(err); ok {
		return e.Code
	}
	if err != nil {
		return "untyped: " + err.Error()
	}
	return ""
}
