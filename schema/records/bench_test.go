package records_test

// Benchmarks of the record store against PostgreSQL. They need the test
// cluster (see platform/dbtest) and build their data inside the Benchmark
// functions, so `go test` without -bench runs none of it. Results and the
// commands that produced them are recorded in docs/benchmarks.md.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// benchLeadBundle is a realistic 10-field object: four indexed fields
// (two text, one integer, one picklist) and one unique e-mail.
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

var (
	benchCities   = []string{"Shanghai", "Berlin", "Austin", "Lagos", "Lima", "Osaka", "Pune", "Leeds"}
	benchStatuses = []string{"new", "working", "qualified", "lost"}
)

// benchLead returns the n-th lead's values by API name, as the API would
// decode them (numbers as json.Number). The e-mail is distinct per n.
func benchLead(run string, n int64) map[string]any {
	return map[string]any{
		"name":     "Lead " + strconv.FormatInt(n, 10),
		"email":    fmt.Sprintf("lead%d.%s@example.com", n, run),
		"company":  "Acme Trading Co.",
		"phone":    "+1 555 0100",
		"city":     benchCities[n%int64(len(benchCities))],
		"rating":   json.Number(strconv.FormatInt(n%101, 10)),
		"revenue":  json.Number("125000.50"),
		"status":   benchStatuses[n%int64(len(benchStatuses))],
		"nextCall": "2026-11-23",
		"website":  "https://example.com/leads",
	}
}

var discardLog = slog.New(slog.DiscardHandler)

// benchDB is a fresh migrated database with one catalog and store.
type benchDB struct {
	db    *dbtest.DB
	cat   *catalog.Catalog
	store *records.Store
}

func newBenchDB(b *testing.B) *benchDB {
	b.Helper()
	db := dbtest.New(b)
	cat, err := catalog.New(db.App, catalog.Options{Logger: discardLog})
	if err != nil {
		b.Fatal(err)
	}
	return &benchDB{db: db, cat: cat, store: records.New(db.App, cat, discardLog)}
}

// tenant creates a tenant and applies bundle to it through the catalog.
func (d *benchDB) tenant(b *testing.B, slug, bundle string) string {
	b.Helper()
	ctx := context.Background()
	var id string
	if err := d.db.Owner.QueryRow(ctx, "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		b.Fatal(err)
	}
	d.apply(b, id, bundle)
	return id
}

func (d *benchDB) apply(b *testing.B, tenantID, bundle string) {
	bd, err := d.cat.Validator().ParseBundle([]byte(bundle))
	if err != nil {
		b.Error(err)
		return
	}
	if _, err := d.cat.Apply(context.Background(), tenantID, catalog.ApplyRequest{Bundle: bd, Actor: "bench"}); err != nil {
		b.Error(err)
	}
}

func (d *benchDB) object(b *testing.B, tenantID, name string) *model.Object {
	b.Helper()
	m, err := d.cat.Model(context.Background(), tenantID)
	if err != nil {
		b.Fatal(err)
	}
	o := m.Object(name)
	if o == nil {
		b.Fatalf("no object %s", name)
	}
	return o
}

// benchParallelism makes RunParallel use 4 goroutines per GOMAXPROCS: more
// clients than the pool's connections (pgxpool's default, max(4, CPUs)).
const benchParallelism = 4

// BenchmarkCreate creates one Lead (10 fields, 4 indexed, 1 unique) per
// transaction through records.Store.Create, as the lattice_app role.
// Target: at least half the rate of BenchmarkPlainInsert (serial: ns/op at
// most twice BenchmarkPlainInsert/serial's). The parallel variant, several
// clients writing to one tenant, is for information.
func BenchmarkCreate(b *testing.B) {
	ctx := context.Background()
	for _, mode := range []string{"serial", "parallel"} {
		// Setup runs here, once: RunParallel benchmarks are called again
		// for every b.N tried.
		d := newBenchDB(b)
		tenantID := d.tenant(b, "bench", benchLeadBundle)
		if _, err := d.store.Create(ctx, tenantID, "bench", "Lead", benchLead("warm", 0)); err != nil {
			b.Fatal(err) // warms the model cache and pgx's statement cache
		}
		var n atomic.Int64
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			if mode == "serial" {
				for b.Loop() {
					if _, err := d.store.Create(ctx, tenantID, "bench", "Lead", benchLead("c", n.Add(1))); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(benchParallelism)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := d.store.Create(ctx, tenantID, "bench", "Lead", benchLead("c", n.Add(1))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// plainInsert is the floor Create is measured against: the same data, as
// stored by Create (values under field keys, slot columns filled), inserted
// with one statement in a tenant transaction, without schema lock,
// validation, RETURNING or outbox event.
type plainInsert struct {
	o    *model.Object
	sql  string
	cols []*model.Field // in slot-column order; unique slot when uniq[i]
	uniq []bool
}

func newPlainInsert(o *model.Object) *plainInsert {
	p := &plainInsert{o: o}
	var names, params strings.Builder
	add := func(f *model.Field, slot, cast string, unique bool) {
		p.cols, p.uniq = append(p.cols, f), append(p.uniq, unique)
		fmt.Fprintf(&names, ", %s", slot)
		fmt.Fprintf(&params, ", $%d::%s", 4+len(p.cols), cast)
	}
	for _, f := range o.Fields {
		if f.Slot != "" {
			add(f, f.Slot, model.SlotSQLType(f.Slot), false)
		}
		if f.UniqueSlot != "" {
			add(f, f.UniqueSlot, model.SlotSQLType(f.UniqueSlot), true)
		}
	}
	p.sql = "INSERT INTO records (tenant_id, object_id, id, data, created_by, updated_by" + names.String() +
		") VALUES ($1, $2, $3, $4, 'bench', 'bench'" + params.String() + ")"
	return p
}

// args returns the statement's arguments for values by API name.
func (p *plainInsert) args(tenantID string, values map[string]any) ([]any, error) {
	data := make(map[string]any, len(values))
	for _, f := range p.o.Fields {
		if v, ok := values[f.APIName]; ok {
			data[f.Key] = v
		}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	args := []any{tenantID, p.o.Key, uuid.NewString(), raw}
	for i, f := range p.cols {
		if p.uniq[i] {
			args = append(args, f.UniqueValue(values[f.APIName]))
		} else {
			args = append(args, f.SlotValue(values[f.APIName]))
		}
	}
	return args, nil
}

func (p *plainInsert) insert(ctx context.Context, d *benchDB, tenantID string, values map[string]any) error {
	args, err := p.args(tenantID, values)
	if err != nil {
		return err
	}
	return database.InTenantTx(ctx, d.db.App, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, p.sql, args...)
		return err
	})
}

// BenchmarkPlainInsert inserts the same Lead data as BenchmarkCreate into
// the records table with one plain INSERT per transaction, scoped to the
// tenant (database.InTenantTx) as the same lattice_app role: the floor
// BenchmarkCreate is compared with.
func BenchmarkPlainInsert(b *testing.B) {
	ctx := context.Background()
	for _, mode := range []string{"serial", "parallel"} {
		d := newBenchDB(b)
		tenantID := d.tenant(b, "bench", benchLeadBundle)
		p := newPlainInsert(d.object(b, tenantID, "Lead"))
		if err := p.insert(ctx, d, tenantID, benchLead("warm", 0)); err != nil {
			b.Fatal(err)
		}
		var n atomic.Int64
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			if mode == "serial" {
				for b.Loop() {
					if err := p.insert(ctx, d, tenantID, benchLead("p", n.Add(1))); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				b.SetParallelism(benchParallelism)
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := p.insert(ctx, d, tenantID, benchLead("p", n.Add(1))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// scaleBundle is the object every tenant of BenchmarkTenantCount has: five
// indexed fields (two numeric, two text, one date).
const scaleBundle = `{"lattice":"bundle/v1","objects":[{
	"x-lattice-object":{"apiName":"Deal","displayField":"city"},
	"properties":{
		"rank":{"x-lattice-field":{"kind":"integer","indexed":true}},
		"amount":{"x-lattice-field":{"kind":"decimal","indexed":true}},
		"city":{"x-lattice-field":{"kind":"text","indexed":true}},
		"stage":{"x-lattice-field":{"kind":"picklist","indexed":true,"values":[
			{"value":"open"},{"value":"won"},{"value":"lost"}]}},
		"closeOn":{"x-lattice-field":{"kind":"date","indexed":true}}
	}}]}`

// scaleRecordsPerTenant is how many records each tenant starts with.
const scaleRecordsPerTenant = 200

func scaleDeal(n int64) map[string]any {
	return map[string]any{
		"rank":    json.Number(strconv.FormatInt(n%1000, 10)),
		"amount":  json.Number(strconv.FormatInt(n%5000, 10) + ".25"),
		"city":    benchCities[n%int64(len(benchCities))],
		"stage":   []string{"open", "won", "lost"}[n%3],
		"closeOn": fmt.Sprintf("2026-%02d-%02d", 1+n%12, 1+n%28),
	}
}

// scaleDB is a database of n tenants, each with scaleBundle applied through
// the catalog and scaleRecordsPerTenant records.
type scaleDB struct {
	*benchDB
	tenants []string
	target  string // the tenant the benchmarks work in
	deal    *model.Object
}

func newScaleDB(b *testing.B, n int) *scaleDB {
	b.Helper()
	ctx := context.Background()
	d := &scaleDB{benchDB: newBenchDB(b)}
	rows, err := d.db.Owner.Query(ctx, `INSERT INTO tenants (slug, name)
		SELECT 'tenant-' || g, 'Tenant ' || g FROM generate_series(1, $1) g RETURNING id::text`, n)
	if err != nil {
		b.Fatal(err)
	}
	if d.tenants, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		b.Fatal(err)
	}
	// Every tenant gets its schema from Catalog.Apply (own object and field
	// keys, slots assigned), four at a time.
	var wg sync.WaitGroup
	next := make(chan string)
	for range 4 {
		wg.Go(func() {
			for t := range next {
				d.apply(b, t, scaleBundle)
			}
		})
	}
	for _, t := range d.tenants {
		next <- t
	}
	close(next)
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	// Records: one INSERT ... SELECT per tenant with that tenant's keys and
	// slots, sent in batches through the owner pool.
	batch := &pgx.Batch{}
	for _, t := range d.tenants {
		o := d.object(b, t, "Deal")
		batch.Queue(scaleFillSQL(o), t, o.Key, scaleRecordsPerTenant)
		if batch.Len() == 100 {
			if err := d.db.Owner.SendBatch(ctx, batch).Close(); err != nil {
				b.Fatal(err)
			}
			batch = &pgx.Batch{}
		}
	}
	if batch.Len() > 0 {
		if err := d.db.Owner.SendBatch(ctx, batch).Close(); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := d.db.Owner.Exec(ctx, "VACUUM ANALYZE records"); err != nil {
		b.Fatal(err)
	}
	d.target = d.tenants[len(d.tenants)/2]
	d.deal = d.object(b, d.target, "Deal")
	var count int
	if err := d.db.Owner.QueryRow(ctx, "SELECT count(*) FROM records").Scan(&count); err != nil {
		b.Fatal(err)
	}
	if count != n*scaleRecordsPerTenant {
		b.Fatalf("%d records, want %d", count, n*scaleRecordsPerTenant)
	}
	return d
}

// scaleFillSQL inserts $3 records of object $2 for tenant $1, with values
// like scaleDeal's in data and in the fields' slots.
func scaleFillSQL(o *model.Object) string {
	exprs := map[string]string{
		"rank":    "(g % 1000)",
		"amount":  "((g % 5000) + 0.25)",
		"city":    "(ARRAY['Shanghai','Berlin','Austin','Lagos','Lima','Osaka','Pune','Leeds'])[1 + g % 8]",
		"stage":   "(ARRAY['open','won','lost'])[1 + g % 3]",
		"closeOn": "make_date(2026, 1 + g % 12, 1 + g % 28)",
	}
	var data, cols, vals []string
	for _, f := range o.Fields {
		e := exprs[f.APIName]
		data = append(data, fmt.Sprintf("'%s', %s", f.Key, e))
		if f.Slot != "" {
			cols = append(cols, f.Slot)
			vals = append(vals, e)
		}
	}
	return fmt.Sprintf(`INSERT INTO records (tenant_id, object_id, id, data, created_by, updated_by, %s)
		SELECT $1::uuid, $2::uuid, gen_random_uuid(), jsonb_build_object(%s), 'bench', 'bench', %s
		FROM generate_series(1, $3::int) g`, strings.Join(cols, ", "), strings.Join(data, ", "), strings.Join(vals, ", "))
}

// BenchmarkTenantCount is the 1,000-tenant test of ARCHITECTURE.md: "a
// benchmark with 1,000 tenants of 5 indexed fields each shows insert rate
// and query planning time within 20% of 1 tenant's". Target: insert
// ns/op and planning-ms of tenants=1000 at most 1.2 times tenants=1's.
//
//   - plan: EXPLAIN (SUMMARY) of a filtered, sorted, limited query on a
//     numeric slot, as lattice_app under row-level security, in one batch
//     with the tenant setting; planning-ms is PostgreSQL's "Planning Time".
//   - query: the same query executed, for information.
//   - insert: one record per transaction through Store.Create into one
//     tenant (last, so that plan and query see the data as loaded).
func BenchmarkTenantCount(b *testing.B) {
	counts := []int{1, 1000}
	dbs := map[int]*scaleDB{}
	for _, n := range counts {
		dbs[n] = newScaleDB(b, n)
	}
	ctx := context.Background()
	for _, n := range counts {
		d := dbs[n]
		b.Run(fmt.Sprintf("plan/tenants=%d", n), func(b *testing.B) {
			q, args := d.query()
			var planning float64
			for b.Loop() {
				ms, err := d.planningTime(ctx, q, args)
				if err != nil {
					b.Fatal(err)
				}
				planning += ms
			}
			b.ReportMetric(planning/float64(b.N), "planning-ms")
		})
	}
	for _, n := range counts {
		d := dbs[n]
		b.Run(fmt.Sprintf("query/tenants=%d", n), func(b *testing.B) {
			q, args := d.query()
			for b.Loop() {
				batch := &pgx.Batch{}
				batch.Queue(q, args...)
				br, err := database.SendTenantBatch(ctx, d.db.App, d.target, batch)
				if err != nil {
					b.Fatal(err)
				}
				rows, err := br.Query()
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for rows.Next() {
					got++
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				if err := br.Close(); err != nil {
					b.Fatal(err)
				}
				if got != 50 {
					b.Fatalf("query returned %d rows, want 50", got)
				}
			}
		})
	}
	for _, n := range counts {
		d := dbs[n]
		b.Run(fmt.Sprintf("insert/tenants=%d", n), func(b *testing.B) {
			var i int64
			b.ReportAllocs()
			for b.Loop() {
				i++
				if _, err := d.store.Create(ctx, d.target, "bench", "Deal", scaleDeal(i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// query is the typical list query of the data API on the rank field's
// numeric slot: filter, sort with the id tie-breaker, first page.
func (d *scaleDB) query() (string, []any) {
	slot := d.deal.Field("rank").Slot
	q := fmt.Sprintf(`SELECT id, data FROM records
		WHERE tenant_id = $1 AND object_id = $2 AND %[1]s >= $3::numeric AND deleted_at IS NULL
		ORDER BY %[1]s, id LIMIT 50`, slot)
	return q, []any{d.target, d.deal.Key, "100"}
}

// planningTime returns PostgreSQL's planning time of q, in milliseconds.
func (d *scaleDB) planningTime(ctx context.Context, q string, args []any) (float64, error) {
	batch := &pgx.Batch{}
	batch.Queue("EXPLAIN (ANALYZE false, SUMMARY true, FORMAT JSON) "+q, args...)
	br, err := database.SendTenantBatch(ctx, d.db.App, d.target, batch)
	if err != nil {
		return 0, err
	}
	defer br.Close()
	var raw []byte
	if err := br.QueryRow().Scan(&raw); err != nil {
		return 0, fmt.Errorf("explain: %w", err)
	}
	var plan []struct {
		PlanningTime *float64 `json:"Planning Time"`
	}
	if err := json.Unmarshal(raw, &plan); err != nil || len(plan) != 1 || plan[0].PlanningTime == nil {
		return 0, fmt.Errorf("no planning time in %s (%v)", raw, err)
	}
	return *plan[0].PlanningTime, br.Close()
}
