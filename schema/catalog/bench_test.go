package catalog_test

// Benchmarks of schema changes against PostgreSQL. They need the test
// cluster (see platform/dbtest) and build their data inside the Benchmark
// functions, so `go test` without -bench runs none of it. Results and the
// commands that produced them are recorded in docs/benchmarks.md.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
)

// benchLeadBundle is a realistic 10-field object: four indexed fields and
// one unique e-mail (the same object as schema/records' benchmarks).
const benchLeadBundle = `{"lattice":"bundle/v1","objects":[{
	"x-lattice-object":{"apiName":"Lead","displayField":"name"},
	"properties":{
		"name":{"x-lattice-field":{"kind":"text","indexed":true},"maxLength":120},
		"email":{"x-lattice-field":{"kind":"email","unique":true}},
		"company":{"x-lattice-field":{"kind":"text"}},
		"phone":{"x-lattice-field":{"kind":"phone"}},
		"city":{"x-lattice-field":{"kind":"text","indexed":true}},
		"rating":{"x-lattice-field":{"kind":"integer","indexed":true},"minimum":0,"maximum":100},
		"revenue":{"x-lattice-field":{"kind":"decimal","scale":2},"minimum":0},
		"status":{"x-lattice-field":{"kind":"picklist","indexed":true,"values":[
			{"value":"new"},{"value":"working"},{"value":"qualified"},{"value":"lost"}]}},
		"nextCall":{"x-lattice-field":{"kind":"date"}},
		"website":{"x-lattice-field":{"kind":"url"}}
	},
	"required":["name","email"]}]}`

// benchLeadSQL gives, per field, the SQL expression of the g-th lead's
// value (g from generate_series), for data and for the field's slots.
var benchLeadSQL = map[string]string{
	"name":     "'Lead ' || g",
	"email":    "'lead' || g || '@example.com'",
	"company":  "'Acme Trading Co.'",
	"phone":    "'+1 555 0100'",
	"city":     "(ARRAY['Shanghai','Berlin','Austin','Lagos','Lima','Osaka','Pune','Leeds'])[1 + g % 8]",
	"rating":   "(g % 101)",
	"revenue":  "((g % 100000) + 0.5)",
	"status":   "(ARRAY['new','working','qualified','lost'])[1 + g % 4]",
	"nextCall": "to_char(make_date(2026, 1 + g % 12, 1 + g % 28), 'YYYY-MM-DD')",
	"website":  "'https://example.com/leads/' || g",
}

// fillSQL inserts $3 leads for tenant $1 and object $2 in one statement,
// with data under the fields' keys and the indexed and unique values in
// their slots, as the record store would write them.
func fillSQL(o *model.Object) string {
	var data, cols, vals []string
	for _, f := range o.Fields {
		e := benchLeadSQL[f.APIName]
		data = append(data, fmt.Sprintf("'%s', %s", f.Key, e))
		if f.Slot != "" {
			cols, vals = append(cols, f.Slot), append(vals, e)
		}
		if f.UniqueSlot != "" {
			if f.Kind == model.KindEmail {
				e = "lower(" + e + ")"
			}
			cols, vals = append(cols, f.UniqueSlot), append(vals, e)
		}
	}
	return fmt.Sprintf(`INSERT INTO records (tenant_id, object_id, id, data, created_by, updated_by, %s)
		SELECT $1::uuid, $2::uuid, gen_random_uuid(), jsonb_build_object(%s), 'bench', 'bench', %s
		FROM generate_series(1, $3::int) g`, strings.Join(cols, ", "), strings.Join(data, ", "), strings.Join(vals, ", "))
}

// addFieldEnv is a tenant with the Lead object and n leads.
type addFieldEnv struct {
	db     *dbtest.DB
	cat    *catalog.Catalog
	tenant string
}

func newAddFieldEnv(b *testing.B, n int) *addFieldEnv {
	b.Helper()
	ctx := context.Background()
	db := dbtest.New(b)
	cat, err := catalog.New(db.App, catalog.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	e := &addFieldEnv{db: db, cat: cat}
	if err := db.Owner.QueryRow(ctx, "INSERT INTO tenants (slug, name) VALUES ('bench', 'Bench') RETURNING id").Scan(&e.tenant); err != nil {
		b.Fatal(err)
	}
	bd, err := cat.Validator().ParseBundle([]byte(benchLeadBundle))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cat.Apply(ctx, e.tenant, catalog.ApplyRequest{Bundle: bd, Actor: "bench"}); err != nil {
		b.Fatal(err)
	}
	if n == 0 {
		return e
	}
	m, err := cat.Model(ctx, e.tenant)
	if err != nil {
		b.Fatal(err)
	}
	o := m.Object("Lead")
	// One statement through the owner pool, then VACUUM ANALYZE so that
	// autovacuum does not start on the fresh rows while Apply is timed.
	if _, err := db.Owner.Exec(ctx, fillSQL(o), e.tenant, o.Key, n); err != nil {
		b.Fatal(err)
	}
	if _, err := db.Owner.Exec(ctx, "VACUUM ANALYZE records"); err != nil {
		b.Fatal(err)
	}
	var count int
	if err := db.Owner.QueryRow(ctx, "SELECT count(*) FROM records WHERE tenant_id = $1 AND object_id = $2", e.tenant, o.Key).Scan(&count); err != nil {
		b.Fatal(err)
	}
	if count != n {
		b.Fatalf("%d records, want %d", count, n)
	}
	return e
}

// addFields times Catalog.Apply of a bundle that adds one text field to
// Lead, a new field every iteration (the export that builds the bundle is
// not timed). The object grows by one field per iteration, so run it a
// fixed number of times (-benchtime=Nx) to compare runs.
func (e *addFieldEnv) addFields(b *testing.B) {
	ctx := context.Background()
	filenode := func() (n uint32) {
		if err := e.db.Owner.QueryRow(ctx, "SELECT pg_relation_filenode('records')").Scan(&n); err != nil {
			b.Fatal(err)
		}
		return n
	}
	before := filenode()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		bd, err := e.cat.Export(ctx, e.tenant)
		if err != nil {
			b.Fatal(err)
		}
		o := bd.Object("Lead")
		o.Properties = append(o.Properties, model.Property{Name: fmt.Sprintf("extra%d", i),
			Schema: &model.FieldDef{Meta: model.FieldMeta{Kind: model.KindText}, Keywords: map[string]json.RawMessage{}}})
		b.StartTimer()
		res, err := e.cat.Apply(ctx, e.tenant, catalog.ApplyRequest{Bundle: bd, Mode: catalog.Replace, Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		if !res.Applied || len(res.Changes) != 1 || res.Changes[0].Op != "field.added" || res.Jobs != 0 {
			b.Fatalf("apply: %+v", res)
		}
	}
	b.StopTimer()
	if after := filenode(); after != before {
		b.Fatalf("records was rewritten (filenode %d -> %d)", before, after)
	}
	b.ReportMetric(float64(10+i), "fields-at-end")
}

// BenchmarkAddFieldTo1MRecords adds one field to an object holding
// 1,000,000 records with Catalog.Apply (Replace). Target: under 100 ms per
// add (ns/op < 1e8). Setup (filling the records) takes about a minute.
func BenchmarkAddFieldTo1MRecords(b *testing.B) {
	e := newAddFieldEnv(b, 1_000_000)
	e.addFields(b)
}

// BenchmarkAddFieldNoRecords is BenchmarkAddFieldTo1MRecords on an object
// without records: the two should match, since adding a field is a
// metadata change.
func BenchmarkAddFieldNoRecords(b *testing.B) {
	e := newAddFieldEnv(b, 0)
	e.addFields(b)
}

// largeBundle is a big tenant schema: objects x fields, cycling through
// the common kinds, three indexed fields and a lookup to the previous
// object each (like schema/model's BenchmarkPrepare50x50).
func largeBundle(objects, fields int) *model.Bundle {
	kinds := []model.FieldMeta{
		{Kind: model.KindText}, {Kind: model.KindInteger}, {Kind: model.KindDecimal}, {Kind: model.KindEmail},
		{Kind: model.KindDate}, {Kind: model.KindDateTime}, {Kind: model.KindBoolean}, {Kind: model.KindURL},
		{Kind: model.KindPhone}, {Kind: model.KindPicklist, Values: []model.PicklistValue{{Value: "a"}, {Value: "b"}}},
	}
	bd := &model.Bundle{Format: model.BundleFormat}
	for i := range objects {
		o := &model.ObjectDef{Meta: model.ObjectMeta{APIName: fmt.Sprintf("Obj%d", i), Label: model.Text{"en": "Object"}}}
		for j := range fields {
			meta := kinds[j%len(kinds)]
			if j == 0 && i > 0 {
				meta = model.FieldMeta{Kind: model.KindLookup, Target: fmt.Sprintf("Obj%d", i-1), InverseName: fmt.Sprintf("children%d", i)}
			}
			if j < 3 && meta.Kind != model.KindLookup {
				meta.Indexed = true
			}
			meta.Label = model.Text{"en": "Field", "zh-CN": "字段"}
			o.Properties = append(o.Properties, model.Property{Name: fmt.Sprintf("f%d", j),
				Schema: &model.FieldDef{Meta: meta, Keywords: map[string]json.RawMessage{}}})
		}
		bd.Objects = append(bd.Objects, o)
	}
	return bd
}

// BenchmarkAddFieldLargeSchema is BenchmarkAddFieldNoRecords for a tenant
// whose schema also holds 50 more objects of 50 fields: Apply's cost grows
// with the tenant's whole schema, not with its records. For information
// (same 100 ms target).
func BenchmarkAddFieldLargeSchema(b *testing.B) {
	e := newAddFieldEnv(b, 0)
	ctx := context.Background()
	if _, err := e.cat.Apply(ctx, e.tenant, catalog.ApplyRequest{Bundle: largeBundle(50, 50), Actor: "bench"}); err != nil {
		b.Fatal(err)
	}
	e.addFields(b)
}
