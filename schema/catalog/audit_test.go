package catalog_test

import (
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
)

// Every applied schema change, and every purge, is one schema.changed
// entry with the version, the message and the readable diff, by the
// change's actor; dry runs, refused changes and no-ops leave none.
func TestSchemaChangesAreAudited(t *testing.T) {
	e := newEnv(t) // applies the Lead bundle as actor "test"
	ctx := t.Context()
	log := audit.New(e.db.App, slog.New(slog.DiscardHandler))
	changes := func() []audit.Entry {
		t.Helper()
		es, _, err := log.List(ctx, e.t, audit.Query{Action: audit.ActionSchemaChanged})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	type details struct {
		Version int            `json:"version"`
		Message string         `json:"message"`
		Changes []model.Change `json:"changes"`
	}
	read := func(en audit.Entry) details {
		t.Helper()
		var d details
		if err := json.Unmarshal(en.Details, &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	if es := changes(); len(es) != 1 || es[0].Actor != "test" || es[0].Object != "Lead" || read(es[0]).Version != 1 {
		t.Fatalf("after the first apply: %+v", es)
	}

	withCity := e.edit(t, func(o *model.ObjectDef) {
		o.Properties = append(o.Properties, model.Property{Name: "city", Schema: &model.FieldDef{Meta: model.FieldMeta{Kind: model.KindText}}})
	})
	b, err := e.cat.Validator().ParseBundle([]byte(withCity))
	if err != nil {
		t.Fatal(err)
	}
	// A dry run and a no-op are not recorded.
	if _, err := e.cat.Apply(ctx, e.t, catalog.ApplyRequest{Bundle: b, Mode: catalog.Replace, DryRun: true, Actor: "cli"}); err != nil {
		t.Fatal(err)
	}
	rctx := audit.WithRequest(ctx, audit.Request{ID: "req-schema", Address: "192.0.2.44"})
	r, err := e.cat.Apply(rctx, e.t, catalog.ApplyRequest{Bundle: b, Mode: catalog.Replace, Message: "add city", Actor: "5b0c8f3e-aaaa-4bbb-8ccc-000000000001"})
	if err != nil || !r.Applied {
		t.Fatalf("apply: %+v %v", r, err)
	}
	if r2, err := e.cat.Apply(ctx, e.t, catalog.ApplyRequest{Bundle: b, Mode: catalog.Replace, Actor: "cli"}); err != nil || r2.Applied {
		t.Fatalf("no-op apply: %+v %v", r2, err)
	}
	es := changes()
	if len(es) != 2 {
		t.Fatalf("%d schema.changed entries, want 2", len(es))
	}
	got := es[0]
	d := read(got)
	if got.Actor != "user:5b0c8f3e-aaaa-4bbb-8ccc-000000000001" || got.RequestID != "req-schema" || got.Address != "192.0.2.44" || got.Object != "Lead" {
		t.Errorf("entry = %+v", got)
	}
	if d.Version != r.Version || d.Message != "add city" || len(d.Changes) != 1 || d.Changes[0].Op != "field.added" || d.Changes[0].Field != "city" || d.Changes[0].Detail == "" {
		t.Errorf("details = %+v, want version %d with field.added city", d, r.Version)
	}

	// Removing the field and purging it: two more versions, two entries.
	without := e.edit(t, func(o *model.ObjectDef) {
		kept := o.Properties[:0]
		for _, p := range o.Properties {
			if p.Name != "city" {
				kept = append(kept, p)
			}
		}
		o.Properties = kept
	})
	e.apply(t, without, catalog.Replace)
	if _, err := e.cat.Purge(ctx, e.t, time.Now().Add(time.Hour), "system"); err != nil {
		t.Fatal(err)
	}
	es = changes()
	if len(es) != 4 {
		t.Fatalf("%d schema.changed entries, want 4", len(es))
	}
	if d := read(es[0]); es[0].Actor != "system" || d.Message != "purge" || len(d.Changes) != 1 || d.Changes[0].Op != "field.purged" {
		t.Errorf("purge entry = %+v %+v", es[0], d)
	}
	if d := read(es[1]); d.Changes[0].Op != "field.removed" || es[1].Actor != "test" {
		t.Errorf("removal entry = %+v %+v", es[1], d)
	}
	// Versions are newest first.
	for i := 1; i < len(es); i++ {
		if read(es[i-1]).Version <= read(es[i]).Version {
			t.Errorf("entry %d has version %d after %d", i, read(es[i]).Version, read(es[i-1]).Version)
		}
	}
}
