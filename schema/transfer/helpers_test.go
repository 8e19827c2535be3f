package transfer_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"

	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/records"
)

var quiet = slog.New(slog.DiscardHandler)

// env is a fresh migrated database with a catalog and a record store.
type env struct {
	db    *dbtest.DB
	cat   *catalog.Catalog
	store *records.Store
}

func newEnv(t testing.TB) *env {
	t.Helper()
	db := dbtest.New(t)
	cat, err := catalog.New(db.App, catalog.Options{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, cat: cat, store: records.New(db.App, cat, quiet)}
}

// tenant creates a tenant with bundle applied and returns its id.
func (e *env) tenant(t testing.TB, slug, bundle string) string {
	t.Helper()
	ctx := context.Background()
	var id string
	if err := e.db.Owner.QueryRow(ctx, "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	b, err := e.cat.Validator().ParseBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Apply(ctx, id, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return id
}

// crmBundle is a small schema with every kind an import converts: a
// lookup, unique fields, a picklist and a multi-picklist, currency, dates,
// an auto-number.
const crmBundle = `{"lattice":"bundle/v1","objects":[
{"x-lattice-object":{"apiName":"Account","displayField":"name"},
 "properties":{
  "name":{"x-lattice-field":{"kind":"text","indexed":true},"maxLength":120},
  "website":{"x-lattice-field":{"kind":"url","unique":true}},
  "code":{"x-lattice-field":{"kind":"integer","unique":true}},
  "parent":{"x-lattice-field":{"kind":"lookup","target":"Account","inverseName":"children","onDelete":"setNull"}}},
 "required":["name"]},
{"x-lattice-object":{"apiName":"Contact","displayField":"email"},
 "properties":{
  "email":{"x-lattice-field":{"kind":"email","unique":true}},
  "name":{"x-lattice-field":{"kind":"text"}},
  "notes":{"x-lattice-field":{"kind":"longText"}},
  "phone":{"x-lattice-field":{"kind":"phone"}},
  "homepage":{"x-lattice-field":{"kind":"url"}},
  "age":{"x-lattice-field":{"kind":"integer","indexed":true},"minimum":0,"maximum":150},
  "rating":{"x-lattice-field":{"kind":"decimal","scale":1}},
  "share":{"x-lattice-field":{"kind":"percent"}},
  "budget":{"x-lattice-field":{"kind":"currency","currencies":["USD","EUR"]},"minimum":0},
  "vip":{"x-lattice-field":{"kind":"boolean","indexed":true}},
  "born":{"x-lattice-field":{"kind":"date","indexed":true}},
  "lastSeen":{"x-lattice-field":{"kind":"datetime"}},
  "level":{"x-lattice-field":{"kind":"picklist","indexed":true,"values":[{"value":"junior"},{"value":"senior"}]},"default":"junior"},
  "topics":{"x-lattice-field":{"kind":"multiPicklist","values":[{"value":"crm"},{"value":"erp"},{"value":"bi"}]}},
  "extra":{"x-lattice-field":{"kind":"json"}},
  "account":{"x-lattice-field":{"kind":"lookup","target":"Account","inverseName":"contacts","onDelete":"restrict"}},
  "number":{"x-lattice-field":{"kind":"autoNumber","format":"C-{0000}"}}},
 "required":["email"]}]}`

// leadBundle is a typical 10-field object: four indexed fields and one
// unique e-mail (the records benchmarks' Lead).
const leadBundle = `{"lattice":"bundle/v1","objects":[{
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
	leadCities   = []string{"Shanghai", "Berlin", "Austin", "Lagos", "Lima", "Osaka", "Pune", "Leeds"}
	leadStatuses = []string{"new", "working", "qualified", "lost"}
)

// leadCSV generates a CSV file of n leads on the fly, without holding it:
// memory use does not depend on n. Every badEvery-th row (if > 0) has a
// rating out of range.
type leadCSV struct {
	n, i, badEvery int
	run            string
	buf            []byte
	off            int
	started        bool
}

func newLeadCSV(run string, n, badEvery int) *leadCSV {
	return &leadCSV{n: n, run: run, badEvery: badEvery}
}

func (g *leadCSV) Read(p []byte) (int, error) {
	for g.off >= len(g.buf) {
		g.buf, g.off = g.buf[:0], 0
		if !g.started {
			g.started = true
			g.buf = append(g.buf, "name,email,company,phone,city,rating,revenue,status,nextCall,website\n"...)
			continue
		}
		if g.i >= g.n {
			return 0, io.EOF
		}
		g.i++
		rating := g.i % 101
		if g.badEvery > 0 && g.i%g.badEvery == 0 {
			rating = 1000
		}
		g.buf = fmt.Appendf(g.buf, "Lead %d,lead%d.%s@example.com,\"Acme Trading Co., Ltd.\",+1 555 0100,%s,%s,125000.50,%s,2026-11-23,https://example.com/leads\n",
			g.i, g.i, g.run, leadCities[g.i%len(leadCities)], strconv.Itoa(rating), leadStatuses[g.i%len(leadStatuses)])
	}
	n := copy(p, g.buf[g.off:])
	g.off += n
	return n, nil
}
