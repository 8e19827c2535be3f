package condition_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

var evalNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// world is a small set of records of testdata/bundle.json, kept in
// memory (newWorld) or stored in PostgreSQL (see sql_test.go).
type world struct {
	m       *model.Model
	byName  map[string]*condition.Record
	objects map[string][]string // object -> record names
	src     *condition.MemorySource
}

func num(s string) json.Number { return json.Number(s) }
func ptrTo[T any](v T) *T      { return &v }

// spec is one record of the world: values by API name, where a string
// "@name" is the id of the record called name.
type spec struct {
	object, name string
	vals         map[string]any
	tags         []string
	score        *json.Number
	grade        *string
	owner        string
	created      time.Time
}

func worldSpecs() []spec {
	day := 24 * time.Hour
	specs := []spec{
		{object: "Account", name: "Acme", vals: map[string]any{"name": "Acme", "industry": "technology", "employees": num("250"),
			"revenue": map[string]any{"amount": num("1500000.50"), "currency": "USD"}, "website": "https://acme.example",
			"founded": "2001-05-01", "active": true, "segments": []any{"enterprise", "mid"}, "extra": map[string]any{"k": "v"}},
			tags: []string{"vip", "b2b"}, score: ptrTo(num("72.5")), grade: ptrTo("B"),
			owner: "0C4B1D0E-8F7A-4E35-9A55-1F0E2D3C4B5A", created: evalNow.Add(-2 * time.Hour)},
		{object: "Account", name: "Beta", vals: map[string]any{"name": "Beta", "industry": "finance", "parent": "@Acme", "employees": num("12"),
			"active": false, "segments": []any{}, "founded": "2026-06-10"},
			tags: []string{"b2b"}, score: ptrTo(num("59.999")), created: evalNow.Add(-2 * day)},
		{object: "Account", name: "acme labs", vals: map[string]any{"name": "acme labs", "parent": "@Beta"}, created: evalNow.Add(-2 * day)},
		{object: "Contact", name: "ann", vals: map[string]any{"email": "ann@acme.example", "account": "@Acme", "level": "director",
			"lastSeen": "2026-06-15T11:00:00.123456789Z", "vip": true, "interests": []any{"pricing"}}, created: evalNow.Add(-2 * day)},
		{object: "Contact", name: "bob", vals: map[string]any{"email": "Bob@acme.example", "account": "@Acme", "level": "staff"}, created: evalNow.Add(-2 * day)},
		{object: "Contact", name: "cy", vals: map[string]any{"account": "@Beta", "level": "executive", "birthday": "1990-02-28"}, created: evalNow.Add(-2 * day)},
	}
	for i, a := range []struct {
		contact, typ, page, at string
	}{
		{"@ann", "pageView", "/pricing", "2026-06-14T12:00:00Z"},
		{"@ann", "pageView", "/pricing", "2026-06-12T12:00:00Z"},
		{"@ann", "pageView", "/pricing", "2026-06-05T12:00:00Z"},
		{"@bob", "call", "", "2026-06-14T12:00:00Z"},
		{"@ann", "pageView", "/docs", "2026-06-15T10:00:00Z"},
	} {
		vals := map[string]any{"contact": a.contact, "type": a.typ, "occurredAt": a.at}
		if a.page != "" {
			vals["page"] = a.page
		}
		specs = append(specs, spec{object: "Activity", name: "x" + string(rune('1'+i)), vals: vals, created: evalNow.Add(-2 * day)})
	}
	return specs
}

// memoryIDs are the ids of the in-memory world's records.
var memoryIDs = map[string]string{
	"Acme": "0a000000-0000-4000-8000-000000000001", "Beta": "0a000000-0000-4000-8000-000000000002",
	"acme labs": "0a000000-0000-4000-8000-000000000003",
}

func memoryID(name string) string {
	if id, ok := memoryIDs[name]; ok {
		return id
	}
	h := 0
	for _, c := range name {
		h = h*31 + int(c)
	}
	return fmt.Sprintf("0b000000-0000-4000-8000-%012d", h%1000000000000)
}

// resolve replaces "@name" lookups by ids.
func resolve(v any, ids map[string]string) any {
	if s, ok := v.(string); ok && strings.HasPrefix(s, "@") {
		return ids[s[1:]]
	}
	return v
}

func newWorld(t testing.TB) *world {
	m := testModel(t)
	w := &world{m: m, byName: map[string]*condition.Record{}, objects: map[string][]string{}, src: condition.NewMemorySource()}
	ids := map[string]string{}
	for _, sp := range worldSpecs() {
		ids[sp.name] = memoryID(sp.name)
	}
	for _, sp := range worldSpecs() {
		o := m.Object(sp.object)
		r := &condition.Record{ID: ids[sp.name], Values: model.Values{}, Tags: sp.tags, Score: sp.score, Grade: sp.grade,
			Owner: sp.owner, CreatedAt: sp.created, UpdatedAt: evalNow.Add(-time.Hour), Version: 1}
		for name, v := range sp.vals {
			r.Values[o.Field(name).Key] = resolve(v, ids)
		}
		w.add(o, sp.name, r)
	}
	return w
}

func (w *world) add(o *model.Object, name string, r *condition.Record) {
	w.byName[name] = r
	w.objects[o.APIName] = append(w.objects[o.APIName], name)
	w.src.Add(o, r)
}

// expand replaces {id:name} in a condition by the record's id.
func (w *world) expand(cond string) string {
	for name, r := range w.byName {
		cond = strings.ReplaceAll(cond, "{id:"+name+"}", r.ID)
		cond = strings.ReplaceAll(cond, "{ID:"+name+"}", strings.ToUpper(r.ID))
	}
	return cond
}

// selects returns the names of the records of object that c selects.
func (w *world) selects(c *condition.Condition, object string, src condition.Source) []string {
	var out []string
	for _, name := range w.objects[object] {
		if c.Eval(w.byName[name], src, evalNow) {
			out = append(out, name)
		}
	}
	return out
}

// handCases are conditions on the world with the records they select,
// checked in Go here and in PostgreSQL by TestSQLHandWritten.
var handCases = []struct {
	object, cond string
	want         []string
}{
	{"Account", `{"field":"industry","op":"eq","value":"technology"}`, []string{"Acme"}},
	// ne and notIn are the negations of eq and in: a missing value is "not equal".
	{"Account", `{"field":"industry","op":"ne","value":"technology"}`, []string{"Beta", "acme labs"}},
	{"Account", `{"field":"industry","op":"notIn","value":["finance"]}`, []string{"Acme", "acme labs"}},
	{"Account", `{"field":"industry","op":"isNull","value":true}`, []string{"acme labs"}},
	{"Account", `{"field":"industry","op":"isNull","value":false}`, []string{"Acme", "Beta"}},
	// Picklists order by their values' order: technology, finance, retail.
	{"Account", `{"field":"industry","op":"lte","value":"finance"}`, []string{"Acme", "Beta"}},
	{"Account", `{"field":"industry","op":"gt","value":"finance"}`, nil},
	{"Account", `{"field":"industry","op":"lt","value":"technology"}`, nil},
	// Text is case-sensitive, in byte order: "Acme" < "Beta" < "acme labs".
	{"Account", `{"field":"name","op":"gt","value":"Beta"}`, []string{"acme labs"}},
	{"Account", `{"field":"name","op":"lt","value":"a"}`, []string{"Acme", "Beta"}},
	{"Account", `{"field":"name","op":"contains","value":"cme"}`, []string{"Acme", "acme labs"}},
	{"Account", `{"field":"name","op":"startsWith","value":"Acme"}`, []string{"Acme"}},
	{"Account", `{"field":"name","op":"eq","value":"acme"}`, nil},
	// A missing value fails every comparison, and not() flips the result.
	{"Account", `{"field":"employees","op":"lt","value":100}`, []string{"Beta"}},
	{"Account", `{"not":{"field":"employees","op":"gte","value":100}}`, []string{"Beta", "acme labs"}},
	{"Account", `{"field":"employees","op":"in","value":[12, 250.0, 2.5e2]}`, []string{"Acme", "Beta"}},
	// Numbers compare exactly, whatever their notation.
	{"Account", `{"field":"revenue","op":"gt","value":1500000.5}`, nil},
	{"Account", `{"field":"revenue","op":"gte","value":1.5000005e6}`, []string{"Acme"}},
	{"Account", `{"field":"revenue.amount","op":"eq","value":1500000.500000}`, []string{"Acme"}},
	{"Account", `{"field":"revenue.currency","op":"eq","value":"USD"}`, []string{"Acme"}},
	{"Account", `{"field":"revenue.currency","op":"ne","value":"USD"}`, []string{"Beta", "acme labs"}},
	// Lookups: a hop through a missing lookup gives a missing value.
	{"Account", `{"field":"parent.industry","op":"eq","value":"finance"}`, []string{"acme labs"}},
	{"Account", `{"field":"parent.industry","op":"ne","value":"finance"}`, []string{"Acme", "Beta"}},
	{"Account", `{"field":"parent.parent.name","op":"eq","value":"Acme"}`, []string{"acme labs"}},
	{"Account", `{"field":"parent","op":"isNull","value":true}`, []string{"Acme"}},
	{"Account", `{"field":"parent","op":"eq","value":"{ID:Acme}"}`, []string{"Beta"}},
	{"Account", `{"field":"parent.id","op":"in","value":["{id:Beta}"]}`, []string{"acme labs"}},
	// multiPicklist: an empty list is missing.
	{"Account", `{"field":"segments","op":"contains","value":"mid"}`, []string{"Acme"}},
	{"Account", `{"field":"segments","op":"contains","value":["mid","smb"]}`, nil},
	{"Account", `{"field":"segments","op":"in","value":["smb","mid"]}`, []string{"Acme"}},
	{"Account", `{"field":"segments","op":"eq","value":["mid","enterprise"]}`, []string{"Acme"}},
	{"Account", `{"field":"segments","op":"eq","value":["mid"]}`, nil},
	{"Account", `{"field":"segments","op":"isNull","value":true}`, []string{"Beta", "acme labs"}},
	{"Account", `{"field":"segments","op":"notIn","value":[]}`, []string{"Acme", "Beta", "acme labs"}},
	{"Account", `{"field":"active","op":"eq","value":false}`, []string{"Beta"}},
	{"Account", `{"field":"active","op":"ne","value":true}`, []string{"Beta", "acme labs"}},
	{"Account", `{"field":"active","op":"in","value":[true,false]}`, []string{"Acme", "Beta"}},
	{"Account", `{"field":"extra","op":"isNull","value":false}`, []string{"Acme"}},
	{"Account", `{"field":"founded","op":"lt","value":"2002-01-01"}`, []string{"Acme"}},
	// A date is within the window if its (UTC) day overlaps it.
	{"Account", `{"field":"founded","op":"withinLast","value":"5d"}`, []string{"Beta"}},
	{"Account", `{"field":"founded","op":"withinLast","value":"4d"}`, nil},
	// Related lists.
	{"Account", `{"related":"contacts","quantifier":"some","where":{"field":"level","op":"eq","value":"director"}}`, []string{"Acme"}},
	{"Account", `{"related":"contacts","quantifier":"none"}`, []string{"acme labs"}},
	{"Account", `{"related":"contacts","quantifier":"every","where":{"field":"level","op":"eq","value":"executive"}}`, []string{"Beta", "acme labs"}},
	{"Account", `{"related":"contacts","count":{"op":"gte","value":2}}`, []string{"Acme"}},
	{"Account", `{"related":"contacts","count":{"op":"eq","value":0}}`, []string{"acme labs"}},
	{"Account", `{"related":"children","count":{"op":"lt","value":1}}`, []string{"acme labs"}},
	// "Visited the pricing page at least twice in the last 7 days."
	{"Account", `{"related":"contacts","quantifier":"some","where":{"related":"activities","count":{"op":"gte","value":2},
		"where":{"and":[{"field":"type","op":"eq","value":"pageView"},{"field":"page","op":"eq","value":"/pricing"},
		{"field":"occurredAt","op":"withinLast","value":"7d"}]}}}`, []string{"Acme"}},
	{"Account", `{"related":"contacts","quantifier":"some","where":{"related":"activities","count":{"op":"gte","value":2},
		"where":{"and":[{"field":"page","op":"eq","value":"/pricing"},{"field":"occurredAt","op":"withinLast","value":"2d"}]}}}`, nil},
	{"Account", `{"tags":"hasAny","value":["vip","cold"]}`, []string{"Acme"}},
	{"Account", `{"tags":"hasAll","value":["vip","b2b"]}`, []string{"Acme"}},
	{"Account", `{"tags":"hasAll","value":[]}`, []string{"Acme", "Beta", "acme labs"}},
	{"Account", `{"tags":"hasNone","value":["vip"]}`, []string{"Beta", "acme labs"}},
	{"Account", `{"field":"score","op":"gte","value":60}`, []string{"Acme"}},
	{"Account", `{"field":"score","op":"lt","value":60}`, []string{"Beta"}},
	{"Account", `{"field":"score","op":"isNull","value":true}`, []string{"acme labs"}},
	{"Account", `{"field":"grade","op":"in","value":["A","B"]}`, []string{"Acme"}},
	{"Account", `{"field":"grade","op":"ne","value":"B"}`, []string{"Beta", "acme labs"}},
	{"Account", `{"field":"createdAt","op":"withinLast","value":"3h"}`, []string{"Acme"}},
	{"Account", `{"field":"createdAt","op":"lt","value":"2026-06-15T10:00:00Z"}`, []string{"Beta", "acme labs"}},
	{"Account", `{"field":"createdAt","op":"eq","value":"2026-06-15T12:00:00+02:00"}`, []string{"Acme"}},
	// Ids compare ignoring case, like PostgreSQL's uuid.
	{"Account", `{"field":"owner","op":"eq","value":"0c4b1d0e-8f7a-4e35-9a55-1f0e2d3c4b5a"}`, []string{"Acme"}},
	{"Account", `{"field":"owner","op":"isNull","value":true}`, []string{"Beta", "acme labs"}},
	{"Account", `{"field":"id","op":"eq","value":"{ID:acme labs}"}`, []string{"acme labs"}},
	{"Account", `{"field":"version","op":"eq","value":1}`, []string{"Acme", "Beta", "acme labs"}},
	{"Account", `{"and":[]}`, []string{"Acme", "Beta", "acme labs"}},
	{"Account", `{"or":[]}`, nil},
	{"Account", `{"or":[{"field":"name","op":"eq","value":"Beta"},{"tags":"hasAny","value":["vip"]}]}`, []string{"Acme", "Beta"}},
	// Datetimes compare at microsecond precision.
	{"Contact", `{"field":"lastSeen","op":"eq","value":"2026-06-15T11:00:00.123456Z"}`, []string{"ann"}},
	{"Contact", `{"field":"lastSeen","op":"gt","value":"2026-06-15T13:00:00.1234569+02:00"}`, nil},
	{"Contact", `{"field":"lastSeen","op":"withinLast","value":"1h"}`, []string{"ann"}},
	{"Contact", `{"field":"lastSeen","op":"withinLast","value":"59m"}`, nil},
	{"Contact", `{"field":"email","op":"eq","value":"bob@acme.example"}`, nil},
	{"Contact", `{"field":"email","op":"in","value":["Bob@acme.example","ann@acme.example"]}`, []string{"ann", "bob"}},
	{"Contact", `{"field":"account.name","op":"eq","value":"Acme"}`, []string{"ann", "bob"}},
	{"Contact", `{"field":"account.parent.name","op":"eq","value":"Acme"}`, []string{"cy"}},
	{"Contact", `{"field":"level","op":"lt","value":"manager"}`, []string{"ann", "cy"}},
	{"Contact", `{"field":"birthday","op":"in","value":["1990-02-28"]}`, []string{"cy"}},
	{"Contact", `{"field":"vip","op":"eq","value":true}`, []string{"ann"}},
	{"Contact", `{"field":"interests","op":"contains","value":"pricing"}`, []string{"ann"}},
	{"Contact", `{"related":"activities","quantifier":"every","where":{"field":"type","op":"eq","value":"pageView"}}`, []string{"ann", "cy"}},
}

func TestEvalHandWritten(t *testing.T) {
	w := newWorld(t)
	for _, tc := range handCases {
		c := mustCompile(t, w.m, tc.object, w.expand(tc.cond))
		got := w.selects(c, tc.object, w.src)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s on %s: got %v, want %v", strings.Join(strings.Fields(tc.cond), " "), tc.object, got, tc.want)
		}
	}
}

// A lookup hop to a record the Source does not have (deleted) or without
// a Source at all finds a missing value.
func TestEvalMissingTargets(t *testing.T) {
	w := newWorld(t)
	acct := w.m.Object("Account")
	withoutAcme := condition.NewMemorySource()
	for _, name := range []string{"Beta", "acme labs"} {
		withoutAcme.Add(acct, w.byName[name])
	}
	isNull := mustCompile(t, w.m, "Account", `{"field":"parent.name","op":"isNull","value":true}`)
	if got := w.selects(isNull, "Account", withoutAcme); !slices.Equal(got, []string{"Acme", "Beta"}) {
		t.Errorf("deleted target: %v", got)
	}
	if got := w.selects(isNull, "Account", nil); !slices.Equal(got, []string{"Acme", "Beta", "acme labs"}) {
		t.Errorf("nil source: %v", got)
	}
	ne := mustCompile(t, w.m, "Account", `{"field":"parent.name","op":"ne","value":"Acme"}`)
	if got := w.selects(ne, "Account", nil); !slices.Equal(got, []string{"Acme", "Beta", "acme labs"}) {
		t.Errorf("nil source ne: %v", got)
	}
	some := mustCompile(t, w.m, "Account", `{"related":"contacts","quantifier":"some"}`)
	if got := w.selects(some, "Account", nil); got != nil {
		t.Errorf("nil source related: %v", got)
	}
}

// Eval allocates nothing, through lookups and related lists included.
func TestEvalAllocatesNothing(t *testing.T) {
	w := newWorld(t)
	c := mustCompile(t, w.m, "Account", `{"and":[{"field":"parent.industry","op":"ne","value":"retail"},
		{"related":"contacts","count":{"op":"gte","value":0},"where":{"field":"lastSeen","op":"withinLast","value":"7d"}},
		{"field":"revenue","op":"gt","value":12345678901234567890.5},{"field":"score","op":"gte","value":1}]}`)
	r := w.byName["Acme"]
	if n := testing.AllocsPerRun(100, func() { c.Eval(r, w.src, evalNow) }); n != 0 {
		t.Errorf("Eval allocates %v times", n)
	}
}
