package condition_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

var (
	propSeed       = flag.Uint64("condition.seed", 20261123, "seed of TestPropertyGoMatchesSQL")
	propIterations = flag.Int("condition.iterations", 6, "random schemas TestPropertyGoMatchesSQL generates, each with its records and conditions")
	propConditions = flag.Int("condition.conditions", 150, "random conditions per schema in TestPropertyGoMatchesSQL")
)

// TestPropertyGoMatchesSQL generates random schemas (2-3 objects, fields
// of every kind, indexed or not, unique or not, lookups between and
// within objects), random records stored through the catalog and the
// record store (some deleted, some with tags, score, grade, owner and
// timestamps set), and random conditions (nested and/or/not, lookups,
// related lists, tags, system fields, withinLast), and checks that the Go
// evaluator over the records read back selects exactly the records the
// SQL predicate selects as lattice_app in a tenant transaction.
//
// Run it longer with -condition.iterations=50 or another -condition.seed.
func TestPropertyGoMatchesSQL(t *testing.T) {
	e := newDBEnv(t)
	seed := *propSeed
	checked, nonTrivial := 0, 0
	for it := 0; it < *propIterations; it++ {
		rng := rand.New(rand.NewPCG(seed, uint64(it)))
		now := time.Date(2026, 11, 23, 18, 30, 15, 123456789, time.UTC).Add(time.Duration(rng.IntN(1000)) * time.Hour)
		gs := genSchema(rng)
		bundle := gs.bundle()
		tenant, m := e.tenant(t, fmt.Sprintf("prop%d", it), bundle)
		genRecords(t, e, rng, tenant, m, now)
		s := e.load(t, tenant, m)
		g := &condGen{rng: rng, m: m, s: s, now: now}
		err := database.InTenantTx(t.Context(), e.db.App, tenant, func(tx pgx.Tx) error {
			for i := 0; i < *propConditions; i++ {
				o := m.Objects[rng.IntN(len(m.Objects))]
				src := mustJSON(t, g.cond(o, 0))
				c, err := condition.Compile(m, o, src)
				if err != nil {
					t.Fatalf("seed %d iteration %d condition %d: the generator made a condition that does not compile: %v\n%s\nschema: %s",
						seed, it, i, err, src, bundle)
				}
				goIDs := s.evalIDs(c, now)
				sqlIDs, err := e.sqlIDs(t.Context(), tx, tenant, c, now)
				if err != nil {
					t.Fatalf("seed %d iteration %d condition %d: %v\ncondition: %s", seed, it, i, err, src)
				}
				checked++
				if n := len(goIDs); n > 0 && n < len(s.byObject[o.Key]) {
					nonTrivial++
				}
				if !slices.Equal(goIDs, sqlIDs) {
					pred, args := c.SQL("r", 3, now)
					t.Fatalf("seed %d iteration %d condition %d: Go and SQL disagree on %s records\ncondition: %s\nnow: %s\nSQL: %s\nargs: %v\n%s\nschema: %s",
						seed, it, i, o.APIName, src, now.Format(time.RFC3339Nano), pred, args, s.diff(goIDs, sqlIDs), bundle)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("seed %d: %d schemas, %d conditions agree (%d selected some but not all records)", seed, *propIterations, checked, nonTrivial)
	if checked > 50 && nonTrivial < checked/5 {
		t.Errorf("only %d of %d conditions selected some but not all records: the generator is too weak", nonTrivial, checked)
	}
}

// diff describes the records only one side selected.
func (s *stored) diff(goIDs, sqlIDs []string) string {
	var b strings.Builder
	show := func(what string, ids, other []string) {
		for _, id := range ids {
			if slices.Contains(other, id) {
				continue
			}
			for _, sr := range s.all {
				if sr.rec.ID == id {
					fmt.Fprintf(&b, "only %s selects %s %s: %s\n", what, sr.object.APIName, id, describe(sr))
				}
			}
		}
	}
	show("Go", goIDs, sqlIDs)
	show("SQL", sqlIDs, goIDs)
	return b.String()
}

func describe(sr *storedRecord) string {
	vals := map[string]any{}
	for _, f := range sr.object.Fields {
		if v, ok := sr.rec.Values[f.Key]; ok {
			vals[f.APIName] = v
		}
	}
	r := sr.rec
	data, _ := json.Marshal(map[string]any{"values": vals, "tags": r.Tags, "score": r.Score, "grade": r.Grade, "owner": r.Owner,
		"createdAt": r.CreatedAt, "updatedAt": r.UpdatedAt, "version": r.Version})
	return string(data)
}

// ---- random schemas

type gField struct {
	name, kind      string
	indexed, unique bool
	target, inverse string
	onDelete        string
	values          []string
	currencies      []string
}

type gObject struct {
	name   string
	fields []*gField
}

type gSchema struct{ objects []*gObject }

var (
	picklistValues = []string{"alpha", "Beta", "gamma", "omega", "Zed", "beta", "b-1", "B.2"}
	multiValues    = []string{"red", "Green", "blue", "x_1", "Red"}
	scalarKinds    = []string{"text", "text", "longText", "integer", "integer", "decimal", "percent", "currency", "boolean", "date", "date",
		"datetime", "datetime", "email", "phone", "url", "picklist", "picklist", "multiPicklist", "json", "autoNumber"}
)

func genSchema(rng *rand.Rand) *gSchema {
	n := 2 + rng.IntN(2)
	gs := &gSchema{}
	for i := 0; i < n; i++ {
		gs.objects = append(gs.objects, &gObject{name: fmt.Sprintf("Obj%d", i)})
	}
	inverse := 0
	for _, o := range gs.objects {
		slots := map[string]int{}
		take := func(class string, max int) bool {
			if slots[class] >= max {
				return false
			}
			slots[class]++
			return true
		}
		nf := 10 + rng.IntN(8)
		for j := 0; j < nf; j++ {
			f := &gField{kind: scalarKinds[rng.IntN(len(scalarKinds))]}
			if j < 2 || rng.IntN(8) == 0 {
				f.kind = "lookup"
			}
			f.name = fmt.Sprintf("%s%d", f.kind, j)
			switch f.kind {
			case "lookup":
				if !take("r", 8) {
					f.kind, f.name = "text", fmt.Sprintf("text%d", j)
					break
				}
				f.target = gs.objects[rng.IntN(len(gs.objects))].name
				inverse++
				f.inverse = fmt.Sprintf("rel%d", inverse)
				f.onDelete = []string{"setNull", "cascade", "restrict", "setNull"}[rng.IntN(4)]
			case "picklist":
				f.values = shuffled(rng, picklistValues)[:3+rng.IntN(4)]
			case "multiPicklist":
				f.values = shuffled(rng, multiValues)[:2+rng.IntN(3)]
			case "currency":
				if rng.IntN(2) == 0 {
					f.currencies = []string{"USD", "CNY"}
				}
			}
			class := map[string]string{"text": "s", "email": "s", "phone": "s", "url": "s", "picklist": "s",
				"integer": "n", "decimal": "n", "percent": "n", "currency": "n", "boolean": "n", "date": "t", "datetime": "t"}[f.kind]
			if class != "" && rng.IntN(2) == 0 {
				f.indexed = take(class, map[string]int{"s": 8, "n": 8, "t": 4}[class])
			}
			switch f.kind {
			case "text", "email", "phone", "url", "integer":
				if rng.IntN(4) == 0 {
					f.unique = take("u", 3) // autoNumber fields need one too
				}
			case "autoNumber":
				if !take("u", 4) {
					f.kind, f.name = "longText", fmt.Sprintf("longText%d", j)
				}
			}
			o.fields = append(o.fields, f)
		}
	}
	return gs
}

func shuffled(rng *rand.Rand, in []string) []string {
	out := slices.Clone(in)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func (gs *gSchema) bundle() []byte {
	var objects []any
	for _, o := range gs.objects {
		props := map[string]any{}
		for _, f := range o.fields {
			meta := map[string]any{"kind": f.kind}
			if f.indexed {
				meta["indexed"] = true
			}
			if f.unique {
				meta["unique"] = true
			}
			if f.target != "" {
				meta["target"], meta["inverseName"], meta["onDelete"] = f.target, f.inverse, f.onDelete
			}
			if f.values != nil {
				var vals []any
				for _, v := range f.values {
					vals = append(vals, map[string]any{"value": v})
				}
				meta["values"] = vals
			}
			if f.currencies != nil {
				meta["currencies"] = f.currencies
			}
			if f.kind == "autoNumber" {
				meta["format"] = "N-{000}"
			}
			props[f.name] = map[string]any{"x-lattice-field": meta}
		}
		objects = append(objects, map[string]any{"x-lattice-object": map[string]any{"apiName": o.name}, "properties": props})
	}
	data, _ := json.Marshal(map[string]any{"lattice": "bundle/v1", "objects": objects})
	return data
}

// ---- random records

var (
	textTokens    = []string{"a", "b", "A", "B", "é", "Z", "ab", "aB", "abc", "z é", "", "ä", "Ω", "a b", "%", "_"}
	decimalPool   = []string{"0", "1.5", "1.50", "-0.25", "2", "100", "12345678901234567890.12", "-12345678901234567890.1", "0.01", "99.99", "-7"}
	integerPool   = []string{"-5", "0", "1", "2", "3", "10", "100", "1000000", "9007199254740993", "9223372036854775807", "-9223372036854775808"}
	tagPool       = []string{"vip", "hot", "cold", "VIP", "é"}
	scorePool     = []string{"0", "59.99", "60", "60.0", "72.5", "-3", "100", "12345678901234567890.5"}
	gradePool     = []string{"A", "B", "b", "C", "A+"}
	ownerPool     = []string{"7d3f6f8e-1111-4a2b-9c3d-000000000001", "7D3F6F8E-1111-4A2B-9C3D-000000000002", "7d3f6f8e-1111-4a2b-9c3d-000000000003"}
	fixedDates    = []string{"1999-12-31", "2026-01-01", "0001-01-01", "0000-02-29", "9999-12-31", "2000-02-29"}
	fixedDatetime = []string{"1999-12-31T23:59:59.9999999Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "2026-11-23T18:30:15.1234565Z"}
)

func pick[T any](rng *rand.Rand, list []T) T { return list[rng.IntN(len(list))] }

func randomText(rng *rand.Rand) string {
	s := pick(rng, textTokens)
	if rng.IntN(2) == 0 {
		s += pick(rng, textTokens)
	}
	return s
}

func randomDate(rng *rand.Rand, now time.Time) string {
	if rng.IntN(6) == 0 {
		return pick(rng, fixedDates)
	}
	return now.AddDate(0, 0, rng.IntN(41)-25).Format(time.DateOnly)
}

func randomDatetime(rng *rand.Rand, now time.Time) string {
	if rng.IntN(8) == 0 {
		return pick(rng, fixedDatetime)
	}
	t := now.Add(time.Duration(rng.Int64N(int64(40*24*time.Hour))) - 30*24*time.Hour)
	switch rng.IntN(4) {
	case 0:
		t = t.Truncate(time.Second)
	case 1:
		t = t.Truncate(time.Millisecond)
	case 2:
		t = t.Truncate(time.Microsecond)
	}
	if rng.IntN(4) == 0 {
		return t.In(time.FixedZone("", 8*3600)).Format(time.RFC3339Nano)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

var uniqueCounter int

func randomValue(rng *rand.Rand, f *model.Field, now time.Time, live map[string][]string) (any, bool) {
	uniqueCounter++
	u := ""
	if f.Unique {
		u = fmt.Sprintf("%d", uniqueCounter)
	}
	switch f.Kind {
	case model.KindText, model.KindLongText:
		return randomText(rng) + u, true
	case model.KindEmail:
		return pick(rng, []string{"ann", "Bob", "ann.b", "zed"}) + u + "@" + pick(rng, []string{"a.example", "B.example"}), true
	case model.KindPhone:
		if u != "" {
			return "+1 555-" + u, true
		}
		return pick(rng, []string{"+1 555-0100", "+1 555-0101", "(020) 1234 5678", "555.0100"}), true
	case model.KindURL:
		return pick(rng, []string{"https://a.example", "https://a.example/x", "http://B.example/é"}) + "/" + u, true
	case model.KindInteger:
		if u != "" {
			return json.Number(u), true
		}
		return json.Number(pick(rng, integerPool)), true
	case model.KindDecimal, model.KindPercent:
		return json.Number(pick(rng, decimalPool)), true
	case model.KindCurrency:
		cur := pick(rng, []string{"USD", "CNY", "EUR"})
		if f.Currencies != nil {
			cur = pick(rng, []string{"USD", "CNY"})
		}
		return map[string]any{"amount": json.Number(pick(rng, decimalPool)), "currency": cur}, true
	case model.KindBoolean:
		return rng.IntN(2) == 0, true
	case model.KindDate:
		return randomDate(rng, now), true
	case model.KindDateTime:
		return randomDatetime(rng, now), true
	case model.KindPicklist:
		return pick(rng, f.Values).Value, true
	case model.KindMultiPicklist:
		var out []any
		for _, v := range f.Values {
			if rng.IntN(2) == 0 {
				out = append(out, v.Value)
			}
		}
		if out == nil {
			out = []any{}
		}
		return out, true
	case model.KindJSON:
		return pick(rng, []any{map[string]any{"a": json.Number("1")}, []any{json.Number("1"), "x"}, "x", json.Number("5"), true}), true
	case model.KindLookup:
		ids := live[f.Target.Key]
		if len(ids) == 0 {
			return nil, false
		}
		return pick(rng, ids), true
	}
	return nil, false
}

// genRecords creates 8 to 14 records per object, links some lookups
// afterwards (forward and cyclic references), deletes some and sets the
// system columns the store does not.
func genRecords(t *testing.T, e *dbEnv, rng *rand.Rand, tenant string, m *model.Model, now time.Time) {
	ctx := t.Context()
	live := map[string][]string{}
	type created struct {
		o  *model.Object
		id string
	}
	var all []created
	for _, o := range m.Objects {
		n := 8 + rng.IntN(7)
		for i := 0; i < n; i++ {
			vals := map[string]any{}
			for _, f := range o.Fields {
				if f.Kind == model.KindAutoNumber || rng.IntN(10) < 3 {
					continue
				}
				if v, ok := randomValue(rng, f, now, live); ok {
					vals[f.APIName] = v
				}
			}
			r, err := e.store.Create(ctx, tenant, "test", o.APIName, vals)
			if err != nil {
				t.Fatalf("create %s %v: %v", o.APIName, vals, err)
			}
			live[o.Key] = append(live[o.Key], r.ID)
			all = append(all, created{o, r.ID})
		}
	}
	for _, c := range all {
		if rng.IntN(3) != 0 {
			continue
		}
		vals := map[string]any{}
		for _, f := range c.o.Fields {
			if f.Kind == model.KindLookup && rng.IntN(2) == 0 {
				v, _ := randomValue(rng, f, now, live)
				vals[f.APIName] = v
			}
		}
		if len(vals) > 0 {
			if _, err := e.store.Update(ctx, tenant, "test", c.o.APIName, c.id, vals, nil); err != nil {
				t.Fatalf("update %s %s %v: %v", c.o.APIName, c.id, vals, err)
			}
		}
	}
	for _, c := range all {
		switch rng.IntN(14) {
		case 0, 1:
			_ = e.store.Delete(ctx, tenant, "test", c.o.APIName, c.id, nil) // restrict may refuse; already deleted by a cascade is fine
		case 2:
			// Deleted behind the store's back, so that live records point
			// at a deleted one, as they may while a purge runs.
			if _, err := e.db.Owner.Exec(ctx, "UPDATE records SET deleted_at = now() WHERE tenant_id = $1 AND id = $2", tenant, c.id); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range all {
		s := system{tags: []string{}, version: 1 + rng.IntN(4),
			created: now.Add(-time.Duration(rng.Int64N(int64(40 * 24 * time.Hour)))).Truncate(time.Microsecond),
			updated: now.Add(-time.Duration(rng.Int64N(int64(3 * 24 * time.Hour)))).Truncate(time.Microsecond)}
		for _, tag := range tagPool {
			if rng.IntN(3) == 0 {
				s.tags = append(s.tags, tag)
			}
		}
		if rng.IntN(3) != 0 {
			v := pick(rng, scorePool)
			s.score = &v
		}
		if rng.IntN(3) != 0 {
			v := pick(rng, gradePool)
			s.grade = &v
		}
		if rng.IntN(3) != 0 {
			v := pick(rng, ownerPool)
			s.owner = &v
		}
		e.setSystem(t, tenant, c.id, s)
	}
}

// ---- random conditions

type condGen struct {
	rng *rand.Rand
	m   *model.Model
	s   *stored
	now time.Time
}

// ops lists the operators the test expects each kind to allow.
var kindOps = map[string][]string{
	"text":     {"eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "contains", "startsWith", "isNull"},
	"picklist": {"eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "contains", "startsWith", "isNull"},
	"multi":    {"eq", "ne", "in", "notIn", "contains", "isNull"},
	"number":   {"eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "isNull"},
	"boolean":  {"eq", "ne", "in", "notIn", "isNull"},
	"date":     {"eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "isNull", "withinLast"},
	"datetime": {"eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "isNull", "withinLast"},
	"instant":  {"eq", "ne", "in", "notIn", "lt", "lte", "gt", "gte", "isNull", "withinLast"},
	"id":       {"eq", "ne", "in", "notIn", "isNull"},
	"owner":    {"eq", "ne", "in", "notIn", "isNull"},
	"json":     {"isNull"},
}

func (g *condGen) cond(o *model.Object, depth int) any {
	r := g.rng.IntN(100)
	if depth >= 3 {
		r = 40 + g.rng.IntN(60)
	}
	switch {
	case r < 12:
		return map[string]any{"and": g.conds(o, depth)}
	case r < 22:
		return map[string]any{"or": g.conds(o, depth)}
	case r < 30:
		return map[string]any{"not": g.cond(o, depth+1)}
	case r < 42 && len(o.Inverses) > 0 && depth < 3:
		return g.related(o, depth)
	case r < 50:
		var vals []any
		for _, t := range append(slices.Clone(tagPool), "nope") {
			if g.rng.IntN(4) == 0 {
				vals = append(vals, t)
			}
		}
		if vals == nil {
			vals = []any{}
		}
		return map[string]any{"tags": pick(g.rng, []string{"hasAny", "hasAll", "hasNone"}), "value": vals}
	}
	return g.comparison(o)
}

func (g *condGen) conds(o *model.Object, depth int) []any {
	n := g.rng.IntN(4)
	out := []any{}
	for i := 0; i < n; i++ {
		out = append(out, g.cond(o, depth+1))
	}
	return out
}

func (g *condGen) related(o *model.Object, depth int) any {
	inv := pick(g.rng, o.Inverses)
	n := map[string]any{"related": inv.Name}
	if g.rng.IntN(3) == 0 {
		n["count"] = map[string]any{"op": pick(g.rng, []string{"eq", "ne", "lt", "lte", "gt", "gte"}), "value": g.rng.IntN(4)}
	} else {
		n["quantifier"] = pick(g.rng, []string{"some", "none", "every"})
	}
	if g.rng.IntN(5) != 0 {
		n["where"] = g.cond(inv.From, depth+1)
	}
	return n
}

// comparison picks a path (sometimes through lookups), an operator the
// final field allows and a value, usually one that records hold.
func (g *condGen) comparison(o *model.Object) any {
	var path []string
	cur := o
	for hops := 0; hops < 2 && g.rng.IntN(4) == 0; hops++ {
		var lookups []*model.Field
		for _, f := range cur.Fields {
			if f.Kind == model.KindLookup {
				lookups = append(lookups, f)
			}
		}
		if len(lookups) == 0 {
			break
		}
		f := pick(g.rng, lookups)
		path = append(path, f.APIName)
		cur = f.Target
	}
	var f *model.Field
	class, name := "", ""
	if g.rng.IntN(6) == 0 {
		name = pick(g.rng, []string{"id", "createdAt", "updatedAt", "owner", "version", "score", "grade"})
		class = map[string]string{"id": "id", "createdAt": "instant", "updatedAt": "instant", "owner": "owner", "version": "number",
			"score": "number", "grade": "text"}[name]
	} else {
		f = pick(g.rng, cur.Fields)
		name = f.APIName
		class = map[model.Kind]string{model.KindText: "text", model.KindLongText: "text", model.KindEmail: "text", model.KindPhone: "text",
			model.KindURL: "text", model.KindAutoNumber: "text", model.KindPicklist: "picklist", model.KindMultiPicklist: "multi",
			model.KindInteger: "number", model.KindDecimal: "number", model.KindPercent: "number", model.KindCurrency: "number",
			model.KindBoolean: "boolean", model.KindDate: "date", model.KindDateTime: "datetime", model.KindLookup: "id", model.KindJSON: "json"}[f.Kind]
		if f.Kind == model.KindCurrency && g.rng.IntN(3) == 0 {
			if g.rng.IntN(2) == 0 {
				name += ".amount"
			} else {
				name, class = name+".currency", "text"
			}
		}
	}
	path = append(path, name)
	op := pick(g.rng, kindOps[class])
	return map[string]any{"field": strings.Join(path, "."), "op": op, "value": g.value(cur, f, name, class, op)}
}

// pool returns the values records of o hold for an operand.
func (g *condGen) pool(o *model.Object, f *model.Field, name string) []any {
	var out []any
	for _, sr := range g.s.all {
		if sr.object != o {
			continue
		}
		r := sr.rec
		switch {
		case f != nil && strings.HasSuffix(name, ".currency"):
			if m, ok := r.Values[f.Key].(map[string]any); ok {
				out = append(out, m["currency"])
			}
		case f != nil && f.Kind == model.KindCurrency:
			if m, ok := r.Values[f.Key].(map[string]any); ok {
				out = append(out, m["amount"])
			}
		case f != nil:
			if v, ok := r.Values[f.Key]; ok {
				out = append(out, v)
			}
		case name == "id":
			out = append(out, r.ID)
		case name == "createdAt":
			out = append(out, r.CreatedAt.UTC().Format(time.RFC3339Nano))
		case name == "updatedAt":
			out = append(out, r.UpdatedAt.UTC().Format(time.RFC3339Nano))
		case name == "owner" && r.Owner != "":
			out = append(out, r.Owner)
		case name == "version":
			out = append(out, json.Number(fmt.Sprint(r.Version)))
		case name == "score" && r.Score != nil:
			out = append(out, *r.Score)
		case name == "grade" && r.Grade != nil:
			out = append(out, *r.Grade)
		}
	}
	return out
}

func (g *condGen) value(o *model.Object, f *model.Field, name, class, op string) any {
	rng := g.rng
	switch op {
	case "isNull":
		return rng.IntN(2) == 0
	case "withinLast":
		return pick(rng, []string{"30m", "90m", "24h", "36h", "1d", "3d", "7d", "2w", "30d"})
	case "in", "notIn":
		if class == "multi" {
			return g.multi(f, 0)
		}
		n := rng.IntN(4)
		out := []any{}
		for i := 0; i < n; i++ {
			out = append(out, g.scalar(o, f, name, class, "eq"))
		}
		return out
	}
	if class == "multi" {
		if op == "contains" && rng.IntN(2) == 0 {
			return pick(rng, f.Values).Value
		}
		return g.multi(f, 1)
	}
	return g.scalar(o, f, name, class, op)
}

func (g *condGen) multi(f *model.Field, min int) []any {
	out := []any{}
	for _, v := range f.Values {
		if g.rng.IntN(2) == 0 {
			out = append(out, v.Value)
		}
	}
	if len(out) < min {
		out = append(out, pick(g.rng, f.Values).Value)
	}
	return out
}

func (g *condGen) scalar(o *model.Object, f *model.Field, name, class, op string) any {
	rng := g.rng
	if class == "picklist" && op != "contains" && op != "startsWith" {
		return pick(rng, f.Values).Value
	}
	pool := g.pool(o, f, name)
	fromPool := len(pool) > 0 && rng.IntN(10) < 7
	switch class {
	case "text", "picklist":
		if fromPool {
			s, _ := pick(rng, pool).(string)
			if op == "contains" || op == "startsWith" {
				return substring(rng, s, op == "startsWith")
			}
			return s
		}
		return randomText(rng)
	case "number":
		if fromPool {
			return renotate(rng, pick(rng, pool).(json.Number))
		}
		return json.Number(pick(rng, append(slices.Clone(decimalPool), integerPool...)))
	case "boolean":
		return rng.IntN(2) == 0
	case "date":
		if fromPool {
			return pick(rng, pool)
		}
		return randomDate(rng, g.now)
	case "datetime", "instant":
		if fromPool {
			s := pick(rng, pool).(string)
			t, _ := time.Parse(time.RFC3339Nano, s)
			switch rng.IntN(4) {
			case 0:
				return t.Add(time.Duration(rng.IntN(1000))).Format(time.RFC3339Nano) // sub-microsecond noise
			case 1:
				return t.In(time.FixedZone("", -5*3600)).Format(time.RFC3339Nano)
			case 2:
				return t.Format(time.DateOnly)
			}
			return s
		}
		return randomDatetime(rng, g.now)
	case "id":
		ids := []string{}
		target := o
		if f != nil {
			target = f.Target
		}
		for _, sr := range g.s.all {
			if sr.object == target {
				ids = append(ids, sr.rec.ID)
			}
		}
		if len(ids) == 0 || rng.IntN(8) == 0 {
			return "00000000-0000-4000-8000-000000000000"
		}
		id := pick(rng, ids)
		if rng.IntN(3) == 0 {
			id = strings.ToUpper(id)
		}
		return id
	case "owner":
		id := pick(rng, ownerPool)
		if rng.IntN(2) == 0 {
			id = strings.ToLower(id)
		}
		return id
	}
	panic("no value for class " + class)
}

// substring returns a piece of s on rune boundaries (a prefix for
// startsWith), or sometimes something else.
func substring(rng *rand.Rand, s string, prefix bool) string {
	if rng.IntN(5) == 0 || s == "" {
		return randomText(rng)
	}
	runes := []rune(s)
	i := 0
	if !prefix {
		i = rng.IntN(len(runes))
	}
	j := i + rng.IntN(len(runes)-i+1)
	out := string(runes[i:j])
	if !utf8.ValidString(out) {
		return ""
	}
	return out
}

// renotate writes the same number differently: 1.5 as 1.50 or 15e-1.
func renotate(rng *rand.Rand, n json.Number) json.Number {
	s := string(n)
	switch rng.IntN(4) {
	case 0:
		if strings.Contains(s, ".") {
			return json.Number(s + "0")
		}
		return json.Number(s + ".000")
	case 1:
		if !strings.ContainsAny(s, "eE") {
			return json.Number(s + "e0")
		}
	case 2:
		if !strings.ContainsAny(s, ".eE") && len(s) < 15 && strings.TrimPrefix(s, "-") != "0" {
			return json.Number(s + "0e-1")
		}
	}
	return n
}
