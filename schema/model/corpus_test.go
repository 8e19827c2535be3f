package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// The field-kind corpus (testdata/corpus/<kind>.json) holds, for every field
// kind, definitions that must be accepted or refused with given problems and
// values that must be accepted (with the normalized value stored) or refused
// with given violations. The format is documented on corpusFile.

// corpusFile is one testdata/corpus/<kind>.json.
type corpusFile struct {
	Kind Kind `json:"kind"`
	// Definitions: each field is run as field "f" of a one-object bundle
	// (object "Thing"; a lookup targets Thing itself) through ParseBundle
	// and Prepare. Problems are compared as a set of pointer+code pairs.
	ValidDefinitions   []corpusDefinition `json:"validDefinitions"`
	InvalidDefinitions []corpusDefinition `json:"invalidDefinitions"`
	// ValueField is the field ("f" of Thing, required if ValueRequired)
	// that the values are checked against with ValidateCreate({"f": value}).
	ValueField    json.RawMessage `json:"valueField"`
	ValueRequired bool            `json:"valueRequired,omitempty"`
	ValidValues   []corpusValue   `json:"validValues"`
	InvalidValues []corpusValue   `json:"invalidValues"`
	// AutoNumbers (autoNumber only): what FormatAutoNumber(n) of the value
	// field gives.
	AutoNumbers []struct {
		N    int64  `json:"n"`
		Text string `json:"text"`
	} `json:"autoNumbers,omitempty"`
}

type corpusDefinition struct {
	Name     string          `json:"name"`
	Field    json.RawMessage `json:"field"`
	Required bool            `json:"required"`
	Problems []corpusProblem `json:"problems,omitempty"`
}

type corpusProblem struct {
	Pointer string `json:"pointer"`
	Code    string `json:"code"`
}

// corpusValue is one value. With "absent": true the field is left out of
// the input (and "value" must not be given). A valid value's "stored" is the
// normalized value ValidateCreate returns under the field's key; leaving
// "stored" out means the field must not be in the output at all.
type corpusValue struct {
	Name       string            `json:"name"`
	Value      json.RawMessage   `json:"value,omitempty"`
	Absent     bool              `json:"absent,omitempty"`
	Stored     json.RawMessage   `json:"stored,omitempty"`
	Violations []corpusViolation `json:"violations,omitempty"`
}

type corpusViolation struct {
	Path    string `json:"path"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

const corpusDir = "testdata/corpus"

// minimum coverage of each kind's corpus file
const (
	minValidDefinitions   = 3
	minInvalidDefinitions = 3
	minValidValues        = 4
	minInvalidValues      = 5
)

func loadCorpus(t *testing.T) map[Kind]*corpusFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpusDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no corpus files in %s", corpusDir)
	}
	out := map[Kind]*corpusFile{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		var c corpusFile
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := Kind(strings.TrimSuffix(filepath.Base(p), ".json")); c.Kind != want {
			t.Fatalf("%s: kind is %q, want %q (the file name)", p, c.Kind, want)
		}
		out[c.Kind] = &c
	}
	return out
}

// TestCorpusCoversEveryKind checks there is exactly one corpus file per
// kind in the kinds table, each with at least the minimum number of cases.
func TestCorpusCoversEveryKind(t *testing.T) {
	corpus := loadCorpus(t)
	for k := range kinds {
		if corpus[k] == nil {
			t.Errorf("no corpus file for kind %s (%s/%s.json)", k, corpusDir, k)
		}
	}
	for k, c := range corpus {
		if !k.Valid() {
			t.Errorf("corpus file for unknown kind %q", k)
			continue
		}
		check := func(what string, got, min int) {
			if got < min {
				t.Errorf("%s: %d %s, want at least %d", k, got, what, min)
			}
		}
		check("valid definitions", len(c.ValidDefinitions), minValidDefinitions)
		check("invalid definitions", len(c.InvalidDefinitions), minInvalidDefinitions)
		check("invalid values", len(c.InvalidValues), minInvalidValues)
		if k == KindAutoNumber {
			// Every value given for an autoNumber field is refused
			// (read-only): the valid case is leaving it out, and the
			// numbers it generates are checked instead.
			check("valid values", len(c.ValidValues), 1)
			check("autoNumbers", len(c.AutoNumbers), minValidValues)
		} else {
			check("valid values", len(c.ValidValues), minValidValues)
		}
	}
}

// corpusBundle wraps a field as "f" of the one-object bundle the corpus uses.
func corpusBundle(t *testing.T, field json.RawMessage, required bool) []byte {
	t.Helper()
	obj := map[string]any{
		"x-lattice-object": map[string]any{"apiName": "Thing"},
		"properties":       map[string]json.RawMessage{"f": field},
	}
	if required {
		obj["required"] = []string{"f"}
	}
	data, err := json.Marshal(map[string]any{"lattice": BundleFormat, "objects": []any{obj}})
	if err != nil {
		t.Fatalf("marshal bundle: %v", err)
	}
	return data
}

var corpusNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// parseAndPrepare runs a bundle through ParseBundle and Prepare and returns
// the prepared bundle or the problems of whichever step refused it.
func parseAndPrepare(t *testing.T, v *Validator, data []byte) (*Bundle, Problems) {
	t.Helper()
	b, err := v.ParseBundle(data)
	if err == nil {
		b, err = Prepare(nil, b, corpusNow)
	}
	if err == nil {
		return b, nil
	}
	var ps Problems
	if !errors.As(err, &ps) || len(ps) == 0 {
		t.Fatalf("error is not Problems: %v", err)
	}
	return nil, ps
}

func TestCorpus(t *testing.T) {
	v := mustValidator(t)
	corpus := loadCorpus(t)
	var names []string
	for k := range corpus {
		names = append(names, string(k))
	}
	slices.Sort(names)
	for _, k := range names {
		c := corpus[Kind(k)]
		t.Run(k, func(t *testing.T) {
			t.Run("definitions", func(t *testing.T) { runCorpusDefinitions(t, v, c) })
			t.Run("values", func(t *testing.T) { runCorpusValues(t, v, c) })
		})
	}
}

func runCorpusDefinitions(t *testing.T, v *Validator, c *corpusFile) {
	names := map[string]bool{}
	for _, d := range c.ValidDefinitions {
		if names[d.Name] || d.Name == "" {
			t.Errorf("definition name %q is empty or used twice", d.Name)
		}
		names[d.Name] = true
		if len(d.Problems) > 0 {
			t.Errorf("valid definition %q lists problems", d.Name)
		}
		b, ps := parseAndPrepare(t, v, corpusBundle(t, d.Field, d.Required))
		if ps != nil {
			t.Errorf("valid definition %q refused: %v", d.Name, ps)
			continue
		}
		f := b.Objects[0].Property("f").Schema
		if f.Meta.Kind != c.Kind {
			t.Errorf("valid definition %q has kind %s, want %s", d.Name, f.Meta.Kind, c.Kind)
		}
		if _, err := Compile(b, 1); err != nil {
			t.Errorf("valid definition %q does not compile: %v", d.Name, err)
		}
		// What Prepare returns is itself a definition that must be
		// accepted unchanged (clients send it back to make changes).
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		again, err := v.ParseBundle(data)
		if err == nil {
			again, err = Prepare(b, again, corpusNow.Add(time.Hour))
		}
		if err != nil {
			t.Errorf("valid definition %q: prepared bundle refused when sent back: %v", d.Name, err)
		} else if got := again.Objects[0].Property("f").Schema; !jsonEqual(got, f) {
			t.Errorf("valid definition %q: prepared again\n%s\nwant\n%s", d.Name, mustJSON(got), mustJSON(f))
		}
	}
	for _, d := range c.InvalidDefinitions {
		if names[d.Name] || d.Name == "" {
			t.Errorf("definition name %q is empty or used twice", d.Name)
		}
		names[d.Name] = true
		if len(d.Problems) == 0 {
			t.Errorf("invalid definition %q lists no problems", d.Name)
			continue
		}
		_, ps := parseAndPrepare(t, v, corpusBundle(t, d.Field, d.Required))
		if ps == nil {
			t.Errorf("invalid definition %q accepted", d.Name)
			continue
		}
		want := map[string]bool{}
		for _, p := range d.Problems {
			want[p.Pointer+" "+p.Code] = true
		}
		got := map[string]bool{}
		for _, p := range ps {
			got[p.Pointer+" "+p.Code] = true
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("invalid definition %q:\n got problems %v\nwant (pointer code) %v\n all: %v",
				d.Name, sortedKeys(got), sortedKeys(want), ps)
		}
	}
}

func runCorpusValues(t *testing.T, v *Validator, c *corpusFile) {
	b, ps := parseAndPrepare(t, v, corpusBundle(t, c.ValueField, c.ValueRequired))
	if ps != nil {
		t.Fatalf("value field refused: %v", ps)
	}
	m, err := Compile(b, 1)
	if err != nil {
		t.Fatal(err)
	}
	obj := m.Object("Thing")
	f := obj.Field("f")
	if f == nil || f.Kind != c.Kind {
		t.Fatalf("value field compiled as %+v, want kind %s", f, c.Kind)
	}
	names := map[string]bool{}
	run := func(cv corpusValue) (Values, Violations) {
		t.Helper()
		if names[cv.Name] || cv.Name == "" {
			t.Errorf("value name %q is empty or used twice", cv.Name)
		}
		names[cv.Name] = true
		input := map[string]any{}
		switch {
		case cv.Absent && cv.Value != nil:
			t.Fatalf("value %q is both absent and given", cv.Name)
		case !cv.Absent && cv.Value == nil:
			t.Fatalf("value %q has no value (give one, or \"absent\": true)", cv.Name)
		case !cv.Absent:
			val, err := DecodeJSON(cv.Value)
			if err != nil {
				t.Fatalf("value %q: %v", cv.Name, err)
			}
			input["f"] = val
		}
		return obj.ValidateCreate(input)
	}
	for _, cv := range c.ValidValues {
		if len(cv.Violations) > 0 {
			t.Errorf("valid value %q lists violations", cv.Name)
		}
		if cv.Stored == nil && !cv.Absent {
			t.Errorf("valid value %q: give the stored value", cv.Name)
		}
		out, vs := run(cv)
		if len(vs) > 0 {
			t.Errorf("valid value %q refused: %v", cv.Name, vs)
			continue
		}
		stored, ok := out[f.Key]
		switch {
		case cv.Stored == nil && ok:
			t.Errorf("valid value %q: stored %s, want nothing stored", cv.Name, mustJSON(stored))
		case cv.Stored != nil && !ok:
			t.Errorf("valid value %q: nothing stored, want %s", cv.Name, cv.Stored)
		case cv.Stored != nil && !sameJSON(t, mustJSON(stored), cv.Stored):
			t.Errorf("valid value %q: stored %s, want %s", cv.Name, mustJSON(stored), cv.Stored)
		}
		for k := range out {
			if k != f.Key {
				t.Errorf("valid value %q: output has key %q besides the field's", cv.Name, k)
			}
		}
	}
	for _, cv := range c.InvalidValues {
		if len(cv.Violations) == 0 {
			t.Errorf("invalid value %q lists no violations", cv.Name)
			continue
		}
		out, vs := run(cv)
		if stored, ok := out[f.Key]; ok {
			t.Errorf("invalid value %q: stored %s despite violations", cv.Name, mustJSON(stored))
		}
		var got, want []string
		for _, x := range vs {
			got = append(got, fmt.Sprintf("%s | %s | %s", x.Path, x.Rule, x.Message))
			if x.Field != "f" {
				t.Errorf("invalid value %q: violation %+v names field %q, want f", cv.Name, x, x.Field)
			}
		}
		for _, x := range cv.Violations {
			want = append(want, fmt.Sprintf("%s | %s | %s", x.Path, x.Rule, x.Message))
		}
		sort.Strings(got)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("invalid value %q:\n got %q\nwant %q", cv.Name, got, want)
		}
	}
	for _, an := range c.AutoNumbers {
		if got := f.FormatAutoNumber(an.N); got != an.Text {
			t.Errorf("FormatAutoNumber(%d) = %q, want %q", an.N, got, an.Text)
		}
	}
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// sameJSON compares two JSON documents by value, numbers by their exact
// text (so 1 and 1.0 differ: integers must be stored normalized).
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	va, err := DecodeJSON(a)
	if err != nil {
		t.Fatalf("decode %s: %v", a, err)
	}
	vb, err := DecodeJSON(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return reflect.DeepEqual(va, vb)
}

// A default on an autoNumber field is refused with a message saying why
// (the corpus compares only pointers and codes of problems), and a value
// checked against the field directly is read-only, as in ValidateCreate.
func TestAutoNumberDefaultRefusedClearly(t *testing.T) {
	v := mustValidator(t)
	field := json.RawMessage(`{"x-lattice-field": {"kind": "autoNumber", "format": "LEAD-{0000}"}, "default": "LEAD-0001"}`)
	_, ps := parseAndPrepare(t, v, corpusBundle(t, field, false))
	if len(ps) != 1 || ps[0].Pointer != "/objects/0/properties/f/default" || ps[0].Message != "default: f is numbered automatically" {
		t.Errorf("problems = %v, want one at /objects/0/properties/f/default: \"default: f is numbered automatically\"", ps)
	}
	f := &Field{APIName: "number", Kind: KindAutoNumber}
	vs, out := f.Validate("LEAD-0001")
	if out != nil || len(vs) != 1 || vs[0].Rule != "read_only" || vs[0].Message != "number is numbered automatically" {
		t.Errorf("Validate = %v, %v; want one read_only violation", vs, out)
	}
}
