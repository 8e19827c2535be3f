package templates_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/templates"
)

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// crm parses, prepares and compiles the CRM template, failing the test on
// any problem.
func crm(t *testing.T) (parsed, prepared *model.Bundle, m *model.Model) {
	t.Helper()
	v, err := model.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	parsed, err = v.ParseBundle(templates.CRM())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	prepared, err = model.Prepare(nil, parsed, now)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	m, err = model.Compile(prepared, 1)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return parsed, prepared, m
}

func TestCRMReturnsACopy(t *testing.T) {
	a := templates.CRM()
	if !json.Valid(a) {
		t.Fatal("CRM() is not valid JSON")
	}
	want := slices.Clone(a)
	a[0] = 'x'
	if b := templates.CRM(); !bytes.Equal(b, want) {
		t.Error("changing the returned bytes changed the template")
	}
}

// field is what the template promises of each field.
type field struct {
	name     string
	kind     model.Kind
	required bool
	indexed  bool
	unique   bool
	target   string // lookups
	inverse  string
	onDelete string
}

var wantObjects = []struct {
	name, display string
	fields        []field
}{
	{"Account", "name", []field{
		{name: "name", kind: model.KindText, required: true, indexed: true},
		{name: "parent", kind: model.KindLookup, target: "Account", inverse: "children", onDelete: model.OnDeleteSetNull},
		{name: "industry", kind: model.KindPicklist},
		{name: "website", kind: model.KindURL},
		{name: "phone", kind: model.KindPhone},
		{name: "employees", kind: model.KindInteger},
		{name: "annualRevenue", kind: model.KindCurrency},
		{name: "billingCity", kind: model.KindText, indexed: true},
		{name: "description", kind: model.KindLongText},
	}},
	{"Contact", "lastName", []field{
		{name: "firstName", kind: model.KindText},
		{name: "lastName", kind: model.KindText, required: true, indexed: true},
		{name: "email", kind: model.KindEmail, unique: true},
		{name: "phone", kind: model.KindPhone},
		{name: "title", kind: model.KindText},
		{name: "account", kind: model.KindLookup, target: "Account", inverse: "contacts", onDelete: model.OnDeleteSetNull},
		{name: "jobLevel", kind: model.KindPicklist},
		{name: "birthday", kind: model.KindDate},
	}},
	{"Lead", "leadNumber", []field{
		{name: "leadNumber", kind: model.KindAutoNumber, unique: true},
		{name: "firstName", kind: model.KindText},
		{name: "lastName", kind: model.KindText, required: true},
		{name: "company", kind: model.KindText, indexed: true},
		{name: "email", kind: model.KindEmail, indexed: true},
		{name: "phone", kind: model.KindPhone},
		{name: "status", kind: model.KindPicklist},
		{name: "source", kind: model.KindPicklist},
		{name: "convertedAccount", kind: model.KindLookup, target: "Account", inverse: "convertedLeads", onDelete: model.OnDeleteSetNull},
	}},
	{"Deal", "name", []field{
		{name: "name", kind: model.KindText, required: true},
		{name: "account", kind: model.KindLookup, target: "Account", inverse: "deals", onDelete: model.OnDeleteRestrict},
		{name: "contact", kind: model.KindLookup, target: "Contact", inverse: "deals", onDelete: model.OnDeleteSetNull},
		{name: "stage", kind: model.KindPicklist, indexed: true},
		{name: "amount", kind: model.KindCurrency, indexed: true},
		{name: "closeDate", kind: model.KindDate, indexed: true},
		{name: "probability", kind: model.KindPercent},
	}},
	{"Activity", "subject", []field{
		{name: "type", kind: model.KindPicklist, required: true, indexed: true},
		{name: "subject", kind: model.KindText, required: true},
		{name: "occurredAt", kind: model.KindDateTime, required: true, indexed: true},
		{name: "durationMinutes", kind: model.KindInteger},
		{name: "details", kind: model.KindLongText},
		{name: "url", kind: model.KindURL},
		{name: "account", kind: model.KindLookup, target: "Account", inverse: "activities", onDelete: model.OnDeleteCascade},
		{name: "contact", kind: model.KindLookup, target: "Contact", inverse: "activities", onDelete: model.OnDeleteCascade},
		{name: "lead", kind: model.KindLookup, target: "Lead", inverse: "activities", onDelete: model.OnDeleteCascade},
		{name: "deal", kind: model.KindLookup, target: "Deal", inverse: "activities", onDelete: model.OnDeleteCascade},
	}},
}

func TestCRMObjectsAndFields(t *testing.T) {
	_, _, m := crm(t)
	var names []string
	for _, o := range m.Objects {
		names = append(names, o.APIName)
	}
	if want := []string{"Account", "Contact", "Lead", "Deal", "Activity"}; !slices.Equal(names, want) {
		t.Fatalf("objects = %v, want %v", names, want)
	}
	for _, wo := range wantObjects {
		o := m.Object(wo.name)
		if o.DisplayField == nil || o.DisplayField.APIName != wo.display {
			t.Errorf("%s: display field = %v, want %s", wo.name, o.DisplayField, wo.display)
		}
		var got []string
		for _, f := range o.Fields {
			got = append(got, f.APIName)
		}
		var want []string
		for _, wf := range wo.fields {
			want = append(want, wf.name)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s fields = %v, want %v", wo.name, got, want)
			continue
		}
		for _, wf := range wo.fields {
			f := o.Field(wf.name)
			target := ""
			if f.Target != nil {
				target = f.Target.APIName
			}
			gotf := field{name: f.APIName, kind: f.Kind, required: f.Required, indexed: f.Indexed, unique: f.Unique,
				target: target, inverse: f.InverseName}
			if f.Kind == model.KindLookup {
				gotf.onDelete = f.OnDelete
			}
			if f.Kind == model.KindAutoNumber {
				gotf.unique = f.UniqueSlot != "" // always unique, served by a unique slot
			}
			if gotf != wf {
				t.Errorf("%s.%s = %+v, want %+v", wo.name, wf.name, gotf, wf)
			}
		}
	}
}

func TestCRMOptions(t *testing.T) {
	_, _, m := crm(t)
	values := func(object, name string) []string {
		var out []string
		for _, v := range m.Object(object).Field(name).Values {
			out = append(out, v.Value)
		}
		return out
	}
	for _, c := range []struct {
		object, field string
		want          []string
	}{
		{"Lead", "status", []string{"new", "contacted", "qualified", "unqualified", "converted"}},
		{"Lead", "source", []string{"web", "referral", "event", "ads", "partner", "other"}},
		{"Deal", "stage", []string{"prospecting", "qualification", "proposal", "negotiation", "closedWon", "closedLost"}},
		{"Activity", "type", []string{"call", "email", "meeting", "visit", "pageView", "download"}},
	} {
		if got := values(c.object, c.field); !slices.Equal(got, c.want) {
			t.Errorf("%s.%s values = %v, want %v", c.object, c.field, got, c.want)
		}
	}
	if n := len(values("Account", "industry")); n < 6 || n > 10 {
		t.Errorf("Account.industry has %d values, want about 8", n)
	}
	if n := len(values("Contact", "jobLevel")); n < 3 {
		t.Errorf("Contact.jobLevel has %d values, want a few", n)
	}
	if got := m.Object("Lead").Field("status").Default; got != "new" {
		t.Errorf("Lead.status default = %v, want new", got)
	}
	if got := m.Object("Deal").Field("stage").Default; got != "prospecting" {
		t.Errorf("Deal.stage default = %v, want prospecting", got)
	}
	if got := m.Object("Lead").Field("leadNumber").FormatAutoNumber(7); got != "LEAD-0007" {
		t.Errorf("Lead.leadNumber 7 = %q, want LEAD-0007", got)
	}
	for _, c := range []struct {
		object, field string
		min, max      string // "" for none
	}{
		{"Account", "employees", "0", ""},
		{"Account", "annualRevenue", "0", ""},
		{"Deal", "amount", "0", ""},
		{"Deal", "probability", "0", "100"},
		{"Activity", "durationMinutes", "0", ""},
	} {
		f := m.Object(c.object).Field(c.field)
		if got := ratString(f.Minimum); got != c.min {
			t.Errorf("%s.%s minimum = %q, want %q", c.object, c.field, got, c.min)
		}
		if got := ratString(f.Maximum); got != c.max {
			t.Errorf("%s.%s maximum = %q, want %q", c.object, c.field, got, c.max)
		}
	}
}

func ratString(r *big.Rat) string {
	if r == nil {
		return ""
	}
	return r.RatString()
}

// bilingual checks a text has an English and a Chinese version.
func bilingual(t *testing.T, what string, text model.Text) {
	t.Helper()
	if text["en"] == "" {
		t.Errorf("%s has no English (en) text: %v", what, text)
	}
	zh := text["zh-CN"]
	if !slices.ContainsFunc([]rune(zh), func(r rune) bool { return unicode.Is(unicode.Han, r) }) {
		t.Errorf("%s has no Chinese (zh-CN) text: %q", what, zh)
	}
}

func TestCRMLabels(t *testing.T) {
	parsed, _, _ := crm(t)
	helpTexts := 0
	for _, o := range parsed.Objects {
		name := o.Meta.APIName
		bilingual(t, name+" label", o.Meta.Label)
		bilingual(t, name+" plural label", o.Meta.PluralLabel)
		bilingual(t, name+" description", o.Meta.Description)
		for _, p := range o.Properties {
			fm := p.Schema.Meta
			bilingual(t, name+"."+p.Name+" label", fm.Label)
			if fm.HelpText != nil {
				helpTexts++
				bilingual(t, name+"."+p.Name+" help text", fm.HelpText)
			}
			for _, v := range fm.Values {
				bilingual(t, name+"."+p.Name+" value "+v.Value, v.Label)
			}
		}
	}
	if helpTexts < 3 {
		t.Errorf("%d fields have help text, want a few", helpTexts)
	}
}

func TestCRMSlots(t *testing.T) {
	_, _, m := crm(t)
	for _, o := range m.Objects {
		used := map[byte]int{}
		seen := map[string]string{}
		for _, f := range o.Fields {
			for _, s := range []string{f.Slot, f.UniqueSlot} {
				if s == "" {
					continue
				}
				if other, dup := seen[s]; dup {
					t.Errorf("%s: slot %s used by %s and %s", o.APIName, s, other, f.APIName)
				}
				seen[s] = f.APIName
				used[s[0]]++
			}
			needSlot := f.Kind == model.KindLookup || (f.Indexed && f.Kind.Indexable())
			if needSlot != (f.Slot != "") {
				t.Errorf("%s.%s slot = %q, want one: %v", o.APIName, f.APIName, f.Slot, needSlot)
			}
			needUnique := f.Unique || f.Kind == model.KindAutoNumber
			if needUnique != (f.UniqueSlot != "") {
				t.Errorf("%s.%s unique slot = %q, want one: %v", o.APIName, f.APIName, f.UniqueSlot, needUnique)
			}
		}
		for class, n := range used {
			if n > model.SlotCounts[class] {
				t.Errorf("%s uses %d slots of class %c, the records table has %d", o.APIName, n, class, model.SlotCounts[class])
			}
		}
	}
}

// Preparing the prepared template again, as a client sending it back
// unchanged would, changes nothing.
func TestCRMPreparedIsStable(t *testing.T) {
	_, prepared, _ := crm(t)
	v, err := model.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(prepared)
	if err != nil {
		t.Fatal(err)
	}
	again, err := v.ParseBundle(data)
	if err != nil {
		t.Fatalf("prepared template refused: %v", err)
	}
	again, err = model.Prepare(prepared, again, now.Add(time.Hour))
	if err != nil {
		t.Fatalf("prepared template refused: %v", err)
	}
	if changes := model.Diff(prepared, again); len(changes) != 0 {
		t.Errorf("sending the prepared template back changed it: %v", changes)
	}
}

func TestCRMInverses(t *testing.T) {
	_, _, m := crm(t)
	want := map[string]map[string]string{ // object -> inverse name -> from object.field
		"Account":  {"children": "Account.parent", "contacts": "Contact.account", "convertedLeads": "Lead.convertedAccount", "deals": "Deal.account", "activities": "Activity.account"},
		"Contact":  {"deals": "Deal.contact", "activities": "Activity.contact"},
		"Lead":     {"activities": "Activity.lead"},
		"Deal":     {"activities": "Activity.deal"},
		"Activity": {},
	}
	for _, o := range m.Objects {
		got := map[string]string{}
		for _, in := range o.Inverses {
			if _, dup := got[in.Name]; dup {
				t.Errorf("%s has two inverses named %s", o.APIName, in.Name)
			}
			got[in.Name] = in.From.APIName + "." + in.Field.APIName
			if in.Field.Target != o {
				t.Errorf("%s.%s: inverse field targets %v", o.APIName, in.Name, in.Field.Target.APIName)
			}
		}
		if !maps.Equal(got, want[o.APIName]) {
			t.Errorf("%s inverses = %v, want %v", o.APIName, got, want[o.APIName])
		}
	}
}

const (
	acmeID    = "6f1c2b8e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"
	contactID = "0b6e7f30-9a2c-4d1e-8f3a-5c6d7e8f9a0b"
	leadID    = "9d8c7b6a-5f4e-4d3c-b2a1-0f9e8d7c6b5a"
	dealID    = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
)

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := model.DecodeJSON([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return v.(map[string]any)
}

// byName turns values by field key into values by API name, as JSON.
func byName(t *testing.T, o *model.Object, vals model.Values) map[string]string {
	t.Helper()
	out := map[string]string{}
	for key, v := range vals {
		f := o.FieldByKey(key)
		if f == nil {
			t.Fatalf("%s: value under unknown key %s", o.APIName, key)
		}
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[f.APIName] = string(data)
	}
	return out
}

func TestCRMSampleRecords(t *testing.T) {
	_, _, m := crm(t)
	for _, c := range []struct {
		object string
		record string
		// stored lists the values that must be stored, by API name (as
		// JSON): normalized ones and defaults, not every value.
		stored map[string]string
	}{
		{"Account", `{"name": "Acme Robotics", "parent": "` + acmeID + `", "industry": "manufacturing",
			"website": "https://acme-robotics.example", "phone": "+1 (415) 555-0100", "employees": 250,
			"annualRevenue": {"amount": 12500000, "currency": "USD"}, "billingCity": "San Francisco",
			"description": "Makes warehouse robots.\nKey account since 2024."}`,
			map[string]string{"name": `"Acme Robotics"`, "annualRevenue": `{"amount":12500000,"currency":"USD"}`, "employees": "250"}},
		{"Contact", `{"firstName": "Lei", "lastName": "Li", "email": "li.lei@example.cn", "phone": "+86 138 0013 8000",
			"title": "采购经理", "account": "` + acmeID + `", "jobLevel": "manager", "birthday": "1988-06-15"}`,
			map[string]string{"lastName": `"Li"`, "title": `"采购经理"`, "birthday": `"1988-06-15"`}},
		{"Lead", `{"firstName": "Ada", "lastName": "Lovelace", "company": "Analytical Engines Ltd",
			"email": "ada@analytical.example", "phone": "020 7946 0000", "source": "web"}`,
			map[string]string{"status": `"new"`, "source": `"web"`}},
		{"Deal", `{"name": "Acme warehouse rollout", "account": "` + acmeID + `", "contact": "` + strings.ToUpper(contactID) + `",
			"amount": {"amount": 480000.50, "currency": "CNY"}, "closeDate": "2026-12-31", "probability": 60}`,
			map[string]string{"stage": `"prospecting"`, "contact": `"` + contactID + `"`, "probability": "60"}},
		{"Activity", `{"type": "pageView", "subject": "Viewed the pricing page", "occurredAt": "2026-11-23T18:05:00+08:00",
			"url": "https://lattice.example/pricing", "lead": "` + leadID + `", "contact": "` + contactID + `",
			"account": "` + acmeID + `", "deal": "` + dealID + `", "durationMinutes": 3, "details": "Came from the newsletter."}`,
			map[string]string{"occurredAt": `"2026-11-23T10:05:00Z"`, "type": `"pageView"`, "lead": `"` + leadID + `"`}},
	} {
		t.Run(c.object, func(t *testing.T) {
			o := m.Object(c.object)
			input := decode(t, c.record)
			vals, vs := o.ValidateCreate(input)
			if len(vs) > 0 {
				t.Fatalf("sample %s refused: %v", c.object, vs)
			}
			got := byName(t, o, vals)
			for name := range input {
				if _, ok := got[name]; !ok {
					t.Errorf("%s: %s given but not stored", c.object, name)
				}
			}
			for name, want := range c.stored {
				if got[name] != want {
					t.Errorf("%s.%s stored %s, want %s", c.object, name, got[name], want)
				}
			}
		})
	}
}

func TestCRMBadRecords(t *testing.T) {
	_, _, m := crm(t)
	for _, c := range []struct {
		object string
		record string
		want   map[string]string // path -> rule
	}{
		{"Account", `{"parent": "acme", "industry": "mining", "website": "acme.example", "employees": -3,
			"annualRevenue": {"amount": 1000, "currency": "XYZ"}}`,
			map[string]string{"/name": "required", "/parent": "format", "/industry": "enum", "/website": "format",
				"/employees": "minimum", "/annualRevenue/currency": "currency"}},
		{"Contact", `{"lastName": null, "email": "li.lei(at)example.cn", "jobLevel": "intern",
			"birthday": "1988-02-30", "account": "123", "nickname": "Lee"}`,
			map[string]string{"/lastName": "required", "/email": "format", "/jobLevel": "enum", "/birthday": "format",
				"/account": "format", "/nickname": "unknown_field"}},
		{"Lead", `{"leadNumber": "LEAD-0001", "company": "Globex", "status": "won", "source": "tv", "email": "ada"}`,
			map[string]string{"/leadNumber": "read_only", "/lastName": "required", "/status": "enum", "/source": "enum", "/email": "format"}},
		{"Deal", `{"stage": "won", "amount": {"amount": -5, "currency": "USD"}, "closeDate": "31/12/2026",
			"probability": 120, "contact": 42, "id": "` + dealID + `"}`,
			map[string]string{"/name": "required", "/stage": "enum", "/amount/amount": "minimum", "/closeDate": "format",
				"/probability": "maximum", "/contact": "type", "/id": "read_only"}},
		{"Activity", `{"type": "fax", "occurredAt": "yesterday", "durationMinutes": 1.5,
			"url": "ftp://files.example/x.pdf", "deal": "not-a-uuid"}`,
			map[string]string{"/subject": "required", "/type": "enum", "/occurredAt": "format",
				"/durationMinutes": "integer", "/url": "format", "/deal": "format"}},
	} {
		t.Run(c.object, func(t *testing.T) {
			o := m.Object(c.object)
			vals, vs := o.ValidateCreate(decode(t, c.record))
			got := map[string]string{}
			for _, v := range vs {
				if _, dup := got[v.Path]; dup {
					t.Errorf("two violations at %s: %v", v.Path, vs)
				}
				got[v.Path] = v.Rule
			}
			if !maps.Equal(got, c.want) {
				t.Errorf("violations = %v, want %v (all: %v)", got, c.want, vs)
			}
			if c.object == "Deal" && vals[o.Field("stage").Key] != nil {
				t.Errorf("invalid stage stored: %v", vals)
			}
		})
	}
}
