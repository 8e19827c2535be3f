package model

import (
	"slices"
	"testing"
)

// TestRecordSchemaAgreesWithValidateCreate runs every corpus value through
// both validators: the compiled Go checks (ValidateCreate) and the
// definition compiled as a standard JSON Schema with the x-lattice-field
// extension (RecordSchema). They must accept and refuse the same values.
// Absent values (defaults, required) and nulls are where the store's API
// deliberately differs, and auto-numbers are generated, so those are left out.
func TestRecordSchemaAgreesWithValidateCreate(t *testing.T) {
	v := mustValidator(t)
	corpus := loadCorpus(t)
	kinds := make([]string, 0, len(corpus))
	for k := range corpus {
		kinds = append(kinds, string(k))
	}
	slices.Sort(kinds)
	compared := 0
	for _, k := range kinds {
		c := corpus[Kind(k)]
		if c.Kind == KindAutoNumber {
			continue
		}
		b, ps := parseAndPrepare(t, v, corpusBundle(t, c.ValueField, c.ValueRequired))
		if ps != nil {
			t.Fatalf("%s: value field refused: %v", k, ps)
		}
		m, err := Compile(b, 1)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := m.RecordSchema("Thing")
		if err != nil {
			t.Fatalf("%s: RecordSchema: %v", k, err)
		}
		obj := m.Object("Thing")
		check := func(cv corpusValue, wantValid bool) {
			if cv.Absent || string(cv.Value) == "null" {
				return
			}
			val, err := DecodeJSON(cv.Value)
			if err != nil {
				t.Fatal(err)
			}
			rec := map[string]any{"f": val}
			_, vs := obj.ValidateCreate(rec)
			schemaErr := rs.Validate(rec)
			compared++
			if (len(vs) == 0) != wantValid {
				t.Errorf("%s/%s: ValidateCreate valid=%v, corpus says %v", k, cv.Name, len(vs) == 0, wantValid)
			}
			if (schemaErr == nil) != wantValid {
				t.Errorf("%s/%s: RecordSchema valid=%v (%v), ValidateCreate valid=%v", k, cv.Name, schemaErr == nil, schemaErr, len(vs) == 0)
			}
		}
		for _, cv := range c.ValidValues {
			check(cv, true)
		}
		for _, cv := range c.InvalidValues {
			check(cv, false)
		}
	}
	if compared < 50 {
		t.Fatalf("compared only %d values", compared)
	}
}

func TestRecordSchemaChecksRequiredAndUnknownFields(t *testing.T) {
	v := mustValidator(t)
	b := loadBundle(t, v, "testdata/small.json")
	p, err := Prepare(nil, b, corpusNow)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Compile(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := m.RecordSchema("Account")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		rec   string
		valid bool
	}{
		{`{"name":"Acme","revenue":{"amount":10.5,"currency":"CNY"}}`, true},
		{`{"revenue":{"amount":10.5,"currency":"CNY"}}`, false},                // name is required
		{`{"name":"Acme","colour":"red"}`, false},                              // unknown field
		{`{"name":"Acme","revenue":{"amount":1,"currency":"EUR"}}`, false},     // currency not allowed
		{`{"name":"Acme","revenue":{"amount":1.001,"currency":"USD"}}`, false}, // scale
	} {
		rec, err := DecodeJSON([]byte(c.rec))
		if err != nil {
			t.Fatal(err)
		}
		if err := rs.Validate(rec); (err == nil) != c.valid {
			t.Errorf("%s: valid=%v (%v), want %v", c.rec, err == nil, err, c.valid)
		}
	}
	if _, err := m.RecordSchema("Nope"); err == nil {
		t.Error("RecordSchema of an unknown object succeeded")
	}
}
