package catalog_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

const leadBundle = `{"lattice":"bundle/v1","objects":[{
	"x-lattice-object":{"apiName":"Lead","displayField":"name"},
	"properties":{
		"name":{"x-lattice-field":{"kind":"text"}},
		"code":{"x-lattice-field":{"kind":"text"}},
		"email":{"x-lattice-field":{"kind":"email"}},
		"note":{"x-lattice-field":{"kind":"text"}}
	},
	"required":["name"]}]}`

type env struct {
	db    *dbtest.DB
	cat   *catalog.Catalog
	store *records.Store
	t     string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := dbtest.New(t)
	cat, err := catalog.New(db.App, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, cat: cat, store: records.New(db.App, cat, nil)}
	if err := db.Owner.QueryRow(t.Context(), "INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme') RETURNING id").Scan(&e.t); err != nil {
		t.Fatal(err)
	}
	e.apply(t, leadBundle, catalog.Merge)
	return e
}

func (e *env) apply(t *testing.T, bundle string, mode catalog.Mode) catalog.Result {
	t.Helper()
	r, err := e.tryApply(t, bundle, mode, false)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (e *env) tryApply(t *testing.T, bundle string, mode catalog.Mode, dry bool) (catalog.Result, error) {
	t.Helper()
	b, err := e.cat.Validator().ParseBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	return e.cat.Apply(t.Context(), e.t, catalog.ApplyRequest{Bundle: b, Mode: mode, DryRun: dry, Actor: "test"})
}

// edit exports the schema, lets fn change the Lead object, and returns the bundle JSON.
func (e *env) edit(t *testing.T, fn func(o *model.ObjectDef)) string {
	t.Helper()
	b, err := e.cat.Export(t.Context(), e.t)
	if err != nil {
		t.Fatal(err)
	}
	fn(b.Object("Lead"))
	out, _ := json.Marshal(b)
	return string(out)
}

func (e *env) create(t *testing.T, values string) *records.Record {
	t.Helper()
	v, _ := model.DecodeJSON([]byte(values))
	r, err := e.store.Create(t.Context(), e.t, "test", "Lead", v.(map[string]any))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func field(o *model.ObjectDef, name string) *model.FieldDef {
	return o.Property(name).Schema
}

func TestDryRunChangesNothing(t *testing.T) {
	e := newEnv(t)
	bundle := e.edit(t, func(o *model.ObjectDef) {
		o.Properties = append(o.Properties, model.Property{Name: "city", Schema: &model.FieldDef{Meta: model.FieldMeta{Kind: model.KindText}}})
	})
	r, err := e.tryApply(t, bundle, catalog.Replace, true)
	if err != nil || r.Applied || r.Version != 1 || len(r.Changes) != 1 || r.Changes[0].Op != "field.added" {
		t.Fatalf("dry run: %+v %v", r, err)
	}
	m, _ := e.cat.Model(t.Context(), e.t)
	if m.Version != 1 || m.Object("Lead").Field("city") != nil {
		t.Fatalf("dry run changed the schema: version %d", m.Version)
	}
	h, _ := e.cat.History(t.Context(), e.t)
	if len(h) != 1 {
		t.Fatalf("history has %d versions after a dry run, want 1", len(h))
	}
}

func TestKindChangeRefusedWhenValuesDoNotConvert(t *testing.T) {
	e := newEnv(t)
	e.create(t, `{"name":"a","code":"ok@example.com"}`)
	e.create(t, `{"name":"b","code":"not an address"}`)
	bundle := e.edit(t, func(o *model.ObjectDef) { field(o, "code").Meta.Kind = model.KindEmail })
	_, err := e.tryApply(t, bundle, catalog.Replace, false)
	ae, ok := apierror.As(err)
	if !ok || ae.Code != "invalid_definition" {
		t.Fatalf("err = %v", err)
	}
	ps := ae.Details.(model.Problems)
	if len(ps) != 1 || ps[0].Code != "values_do_not_convert" || !strings.HasPrefix(ps[0].Message, "1 record(s)") ||
		ps[0].Pointer != "/objects/0/properties/code/x-lattice-field/kind" || !strings.Contains(ps[0].Message, "not an address") {
		t.Fatalf("problems: %+v", ps)
	}
	// Once the bad value is fixed, the change goes through.
	m, _ := e.cat.Model(t.Context(), e.t)
	recs, _, _ := e.store.List(t.Context(), e.t, "Lead", records.ListOptions{})
	for _, r := range recs {
		if r.Values["code"] == "not an address" {
			if _, err := e.store.Update(t.Context(), e.t, "test", "Lead", r.ID, map[string]any{"code": "b@example.com"}, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r := e.apply(t, bundle, catalog.Replace); r.Version != m.Version+1 || r.Changes[0].Op != "field.kindChanged" {
		t.Fatalf("kind change: %+v", r)
	}
	// Across representations it is refused outright.
	bundle = e.edit(t, func(o *model.ObjectDef) { field(o, "note").Meta.Kind = model.KindInteger })
	if _, err := e.tryApply(t, bundle, catalog.Replace, false); !strings.Contains(errString(err), "kind_change") {
		t.Fatalf("text to integer: %v", err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestUniqueNeedsNoDuplicatesThenFillsSlot(t *testing.T) {
	e := newEnv(t)
	e.create(t, `{"name":"a","email":"Same@example.com"}`)
	dup := e.create(t, `{"name":"b","email":"same@example.com"}`)
	bundle := e.edit(t, func(o *model.ObjectDef) { field(o, "email").Meta.Unique = true })
	_, err := e.tryApply(t, bundle, catalog.Replace, false)
	if !strings.Contains(errString(err), "duplicate_values") || !strings.Contains(errString(err), "same@example.com") {
		t.Fatalf("unique with duplicates: %v", err)
	}
	if err := e.store.Delete(t.Context(), e.t, "test", "Lead", dup.ID, nil); err != nil {
		t.Fatal(err)
	}
	r := e.apply(t, bundle, catalog.Replace)
	if r.Jobs != 1 {
		t.Fatalf("want one fill job, got %+v", r)
	}
	n, err := e.cat.RunJobs(t.Context(), e.t, nil)
	if err != nil || n != 1 {
		t.Fatalf("jobs: %d %v", n, err)
	}
	var filled int
	if err := e.db.Owner.QueryRow(t.Context(), "SELECT count(*) FROM records WHERE u1 = 'same@example.com'").Scan(&filled); err != nil || filled != 2 {
		t.Fatalf("u1 filled for %d records (err %v), want 2 (live and deleted)", filled, err)
	}
	// The filled slot now enforces uniqueness.
	v, _ := model.DecodeJSON([]byte(`{"name":"c","email":"SAME@example.com"}`))
	if _, err := e.store.Create(t.Context(), e.t, "test", "Lead", v.(map[string]any)); !strings.Contains(errString(err), "unique") {
		t.Fatalf("duplicate after unique: %v", err)
	}
}

func TestRenameRemoveRestoreAndPurge(t *testing.T) {
	e := newEnv(t)
	rec := e.create(t, `{"name":"a","note":"keep me"}`)
	bundle := e.edit(t, func(o *model.ObjectDef) {
		for i := range o.Properties {
			if o.Properties[i].Name == "name" {
				o.Properties[i].Name = "fullName"
			}
		}
		o.Meta.DisplayField, o.Required = "fullName", []string{"fullName"}
		kept := o.Properties[:0]
		for _, p := range o.Properties {
			if p.Name != "note" {
				kept = append(kept, p)
			}
		}
		o.Properties = kept
	})
	r := e.apply(t, bundle, catalog.Replace)
	ops := []string{}
	for _, c := range r.Changes {
		ops = append(ops, c.Op+":"+c.Field)
	}
	if got := strings.Join(ops, " "); !strings.Contains(got, "field.renamed:fullName") || !strings.Contains(got, "field.removed:note") {
		t.Fatalf("changes: %s", got)
	}
	got, err := e.store.Get(t.Context(), e.t, "Lead", rec.ID, false)
	if err != nil || got.Values["fullName"] != "a" || got.Values["note"] != nil {
		t.Fatalf("after rename/remove: %+v %v", got, err)
	}
	// Diff between any two versions works from the history.
	changes, err := e.cat.DiffVersions(t.Context(), e.t, 1, r.Version)
	if err != nil || len(changes) != len(r.Changes) {
		t.Fatalf("diff 1..%d: %v %v", r.Version, changes, err)
	}
	// Purging with a cutoff before the removal keeps it; after, deletes the values.
	if p, err := e.cat.Purge(t.Context(), e.t, time.Now().Add(-time.Hour), "test"); err != nil || len(p) != 0 {
		t.Fatalf("early purge: %v %v", p, err)
	}
	p, err := e.cat.Purge(t.Context(), e.t, time.Now().Add(time.Hour), "test")
	if err != nil || len(p) != 1 || p[0].Op != "field.purged" {
		t.Fatalf("purge: %v %v", p, err)
	}
	var left int
	if err := e.db.Owner.QueryRow(t.Context(), "SELECT count(*) FROM records WHERE data::text LIKE '%keep me%'").Scan(&left); err != nil || left != 0 {
		t.Fatalf("purged values remain in %d records (err %v)", left, err)
	}
	m, _ := e.cat.Model(t.Context(), e.t)
	if len(m.Object("Lead").Removed) != 0 {
		t.Fatal("purged field still listed as removed")
	}
}

func TestAddingAFieldDoesNotTouchRecords(t *testing.T) {
	e := newEnv(t)
	rec := e.create(t, `{"name":"a"}`)
	var xmin1 string
	_ = e.db.Owner.QueryRow(t.Context(), "SELECT xmin::text FROM records WHERE id = $1", rec.ID).Scan(&xmin1)
	bundle := e.edit(t, func(o *model.ObjectDef) {
		o.Properties = append(o.Properties, model.Property{Name: "city", Schema: &model.FieldDef{Meta: model.FieldMeta{Kind: model.KindText}}})
	})
	e.apply(t, bundle, catalog.Replace)
	var xmin2 string
	_ = e.db.Owner.QueryRow(t.Context(), "SELECT xmin::text FROM records WHERE id = $1", rec.ID).Scan(&xmin2)
	if xmin1 == "" || xmin1 != xmin2 {
		t.Fatalf("the record row was rewritten (xmin %s -> %s)", xmin1, xmin2)
	}
}

func TestOtherServersSeeChanges(t *testing.T) {
	e := newEnv(t)
	other, err := catalog.New(e.db.App, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- other.Listen(ctx, e.db.AppURL) }()
	if m, err := other.Model(t.Context(), e.t); err != nil || m.Version != 1 {
		t.Fatalf("other server: %v %v", m, err)
	}
	bundle := e.edit(t, func(o *model.ObjectDef) {
		o.Properties = append(o.Properties, model.Property{Name: "city", Schema: &model.FieldDef{Meta: model.FieldMeta{Kind: model.KindText}}})
	})
	// The listener may connect after the change; either way it must end up
	// dropping its stale model (backlog purge or notification).
	e.apply(t, bundle, catalog.Replace)
	deadline := time.Now().Add(10 * time.Second)
	for {
		m, err := other.Model(t.Context(), e.t)
		if err != nil {
			t.Fatal(err)
		}
		if m.Version == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other server never saw version 2")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("listener: %v", err)
	}
}
