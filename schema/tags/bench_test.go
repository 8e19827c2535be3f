package tags_test

import (
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/tags"
)

// BenchmarkBulkApply tags and untags 20,000 of 40,000 contacts selected by
// a condition on a picklist (no index: every record of the object is
// read), one event per changed record. Reported: records changed per
// second.
func BenchmarkBulkApply(b *testing.B) {
	e := newBenchEnv(b)
	ctx := b.Context()
	tenant := e.tenant(b, "acme")
	e.setup(b, tenant)
	m, err := e.cat.Model(ctx, tenant)
	if err != nil {
		b.Fatal(err)
	}
	o := m.Object("Contact")
	level := o.Field("level").Key
	email := o.Field("email").Key
	if _, err := e.db.Owner.Exec(ctx, `INSERT INTO records (tenant_id, object_id, id, data)
		SELECT $1, $2, gen_random_uuid(), jsonb_build_object($3::text, 'c' || g || '@example.com', $4::text, CASE WHEN g % 2 = 0 THEN 'senior' ELSE 'junior' END)
		FROM generate_series(1, 40000) g`, tenant, o.Key, email, level); err != nil {
		b.Fatal(err)
	}
	if _, err := e.db.Owner.Exec(ctx, "ANALYZE records"); err != nil {
		b.Fatal(err)
	}
	where := []byte(`{"field": "level", "op": "eq", "value": "senior"}`)
	changed := 0
	start := time.Now()
	for b.Loop() {
		res, err := e.tags.BulkApply(ctx, tenant, actor, "Contact", where, []string{"interest/pricing"}, nil)
		if err != nil || res.Changed != 20000 {
			b.Fatalf("%+v %v", res, err)
		}
		res, err = e.tags.BulkApply(ctx, tenant, actor, "Contact", where, nil, []string{"interest/pricing"})
		if err != nil || res.Changed != 20000 {
			b.Fatalf("%+v %v", res, err)
		}
		changed += 40000
	}
	b.ReportMetric(float64(changed)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkApply tags one record by hand: one transaction, two round trips
// after the tenant setting.
func BenchmarkApply(b *testing.B) {
	e := newBenchEnv(b)
	ctx := b.Context()
	tenant := e.tenant(b, "acme")
	e.setup(b, tenant)
	id := e.contact(b, tenant, "ann@example.com", "")
	add := [][]string{{"industry/software"}, {"industry/retail"}}
	i := 0
	for b.Loop() {
		if _, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, add[i%2], nil); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func newBenchEnv(b *testing.B) *env { return newEnvTB(b, tags.Options{}) }
