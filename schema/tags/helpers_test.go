package tags_test

import (
	"encoding/json"
	"os"
	"slices"
	"testing"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/tags"
)

const actor records.Actor = "test"

type env struct {
	db    *dbtest.DB
	cat   *catalog.Catalog
	store *records.Store
	tags  *tags.Service
}

func newEnv(t *testing.T, opts tags.Options) *env { return newEnvTB(t, opts) }

func newEnvTB(t testing.TB, opts tags.Options) *env {
	t.Helper()
	db := dbtest.New(t)
	cat, err := catalog.New(db.App, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, cat: cat, store: records.New(db.App, cat, nil), tags: tags.New(db.App, cat, opts)}
}

// tenant creates a tenant with the small test schema (Account, Contact).
func (e *env) tenant(t testing.TB, slug string) string {
	t.Helper()
	var id string
	if err := e.db.Owner.QueryRow(t.Context(), "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../model/testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.cat.Validator().ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Apply(t.Context(), id, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// setup creates, in tenant, the groups industry (single-valued; Account
// and Contact), interest (multi-valued; Contact only) and intent
// (single-valued; Contact) with a few tags each.
func (e *env) setup(t testing.TB, tenant string) {
	t.Helper()
	ctx := t.Context()
	for _, g := range []tags.GroupInput{
		{Name: "industry", Label: model.Text{"en": "Industry", "zh-CN": "行业"}, Objects: []string{"Account", "Contact"}},
		{Name: "interest", Label: model.Text{"en": "Interest"}, MultiValued: true, Objects: []string{"Contact"}},
		{Name: "intent", Label: model.Text{"en": "Purchase intent"}, Objects: []string{"Contact"}},
	} {
		if _, err := e.tags.CreateGroup(ctx, tenant, actor, g); err != nil {
			t.Fatalf("create group %s: %v", g.Name, err)
		}
	}
	for _, v := range []string{"industry/software", "industry/retail", "industry/finance",
		"interest/pricing", "interest/api", "interest/security", "intent/high", "intent/low"} {
		g, n, _ := tags.ParseValue(v)
		if _, err := e.tags.CreateTag(ctx, tenant, actor, tags.TagInput{Group: g, Name: n, Label: model.Text{"en": n}}); err != nil {
			t.Fatalf("create tag %s: %v", v, err)
		}
	}
}

// contact creates a Contact record and returns its id.
func (e *env) contact(t testing.TB, tenant, email, level string) string {
	t.Helper()
	vals := map[string]any{"email": email}
	if level != "" {
		vals["level"] = level
	}
	r, err := e.store.Create(t.Context(), tenant, actor, "Contact", vals)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func (e *env) record(t testing.TB, tenant, object, id string) *records.Record {
	t.Helper()
	r, err := e.store.Get(t.Context(), tenant, object, id, true)
	if err != nil {
		t.Fatal(err)
	}
	return r
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

func field(err error) string {
	if e, ok := apierror.As(err); ok {
		return e.Field
	}
	return ""
}

// tagged returns the payloads of the tenant's record.tagged events.
func tagged(t *testing.T, e *env, tenant string) []tags.EventPayload {
	t.Helper()
	evs, err := outbox.Events(t.Context(), e.db.App, tenant, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []tags.EventPayload
	for _, ev := range evs {
		if ev.Topic != tags.TopicTagged {
			continue
		}
		var p tags.EventPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func sameTags(got []string, want ...string) bool {
	if want == nil {
		want = []string{}
	}
	return slices.Equal(got, want)
}

func tagsOptions() tags.Options { return tags.Options{} }
