package model

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"
)

func mustValidator(t testing.TB) *Validator {
	t.Helper()
	v, err := NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func loadBundle(t testing.TB, v *Validator, path string) *Bundle {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.ParseBundle(data)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return b
}

func TestPrepareCompileValidate(t *testing.T) {
	v := mustValidator(t)
	b := loadBundle(t, v, "testdata/small.json")
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	p, err := Prepare(nil, b, now)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	acct, contact := m.Object("Account"), m.Object("Contact")
	if acct == nil || contact == nil || acct.Key == "" || acct.Key == contact.Key {
		t.Fatalf("objects not compiled with distinct keys: %+v %+v", acct, contact)
	}
	if got := acct.Field("name").Slot; got != "s1" {
		t.Errorf("Account.name slot = %q, want s1", got)
	}
	if got := acct.Field("parent").Slot; got != "r1" {
		t.Errorf("Account.parent slot = %q, want r1", got)
	}
	if got := acct.Field("website").UniqueSlot; got != "u1" {
		t.Errorf("Account.website unique slot = %q, want u1", got)
	}
	if len(acct.Inverses) != 2 {
		t.Errorf("Account inverses = %d, want children and contacts", len(acct.Inverses))
	}
	in := map[string]any{}
	_ = json.Unmarshal([]byte(`{"email":"a@b.example","born":"1990-02-03"}`), &in)
	vals, vs := contact.ValidateCreate(in)
	if len(vs) != 0 {
		t.Fatalf("valid contact rejected: %v", vs)
	}
	if vals[contact.Field("level").Key] != "junior" {
		t.Errorf("default not applied: %v", vals)
	}
	bad, _ := DecodeJSON([]byte(`{"name":"` + strings.Repeat("x", 121) + `","revenue":{"amount":1.234,"currency":"XXX"},"website":"ftp://x","bogus":1,"id":"x"}`))
	_, vs = acct.ValidateCreate(bad.(map[string]any))
	rules := map[string]string{}
	for _, x := range vs {
		rules[x.Path] = x.Rule
	}
	want := map[string]string{"/name": "maxLength", "/revenue/amount": "scale", "/revenue/currency": "currency", "/website": "format", "/bogus": "unknown_field", "/id": "read_only"}
	for path, rule := range want {
		if rules[path] != rule {
			t.Errorf("violation at %s = %q, want %q (all: %v)", path, rules[path], rule, vs)
		}
	}
	if len(vs) != len(want) {
		t.Errorf("got %d violations, want %d: %v", len(vs), len(want), vs)
	}

	// Rename a field (same key, new name), remove another, add one.
	next, _ := p.Clone()
	c := next.Object("Contact")
	c.Properties[0].Name = "workEmail"
	c.Meta.DisplayField = "workEmail"
	c.Required = []string{"workEmail"}
	born := c.Properties[3]
	c.Properties = append(c.Properties[:3], c.Properties[4:]...)
	c.Properties = append(c.Properties, Property{Name: "nickname", Schema: &FieldDef{Meta: FieldMeta{Kind: KindText}}})
	p2, err := Prepare(p, next, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	changes := Diff(p, p2)
	ops := map[string]bool{}
	for _, ch := range changes {
		ops[ch.Op+" "+ch.Field] = true
	}
	for _, w := range []string{"field.renamed workEmail", "field.removed born", "field.added nickname"} {
		if !ops[w] {
			t.Errorf("diff lacks %q: %v", w, changes)
		}
	}
	if got := p2.Object("Contact").Meta.RemovedFields; len(got) != 1 || got[0].Schema.Meta.Key != born.Schema.Meta.Key {
		t.Fatalf("removed fields = %+v", got)
	}
	// Restoring by key brings it back.
	next3, _ := p2.Clone()
	c3 := next3.Object("Contact")
	c3.Properties = append(c3.Properties, Property{Name: "born", Schema: &FieldDef{Meta: FieldMeta{Kind: KindDate, Key: born.Schema.Meta.Key}}})
	p3, err := Prepare(p2, next3, now.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(p3.Object("Contact").Meta.RemovedFields) != 0 {
		t.Fatal("field not restored")
	}
}

func TestPrepareReportsEveryProblem(t *testing.T) {
	v := mustValidator(t)
	b := loadBundle(t, v, "testdata/small.json")
	c := b.Object("Contact")
	c.Properties = append(c.Properties,
		Property{Name: "owner", Schema: &FieldDef{Meta: FieldMeta{Kind: KindText}}},
		Property{Name: "boss", Schema: &FieldDef{Meta: FieldMeta{Kind: KindLookup, Target: "Nobody"}}},
		Property{Name: "code", Schema: &FieldDef{Meta: FieldMeta{Kind: KindText}, Keywords: map[string]json.RawMessage{"type": json.RawMessage(`"integer"`), "pattern": json.RawMessage(`"a(?=b)"`)}}},
	)
	_, err := Prepare(nil, b, time.Now())
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("err = %v, want Problems", err)
	}
	want := map[string]string{
		"/objects/1/properties/owner":                       "system_field",
		"/objects/1/properties/boss/x-lattice-field/target": "unknown_object",
		"/objects/1/properties/code/type":                   "keyword_conflict",
		"/objects/1/properties/code/pattern":                "invalid_keyword",
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Pointer] = p.Code
	}
	for ptr, code := range want {
		if got[ptr] != code {
			t.Errorf("problem at %s = %q, want %q; all: %v", ptr, got[ptr], code, ps)
		}
	}
}
