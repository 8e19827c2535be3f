package scoring_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/scoring"
	"github.com/latticecrm/lattice/schema/templates"
)

// crmModel compiles the CRM template without a database.
func crmModel(t *testing.T) *model.Model {
	t.Helper()
	v, err := model.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.ParseBundle(templates.CRM())
	if err != nil {
		t.Fatal(err)
	}
	p, err := model.Prepare(nil, b, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Compile(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func problems(t *testing.T, m *model.Model, object, doc string) []string {
	t.Helper()
	_, err := scoring.Compile(m, m.Object(object), []byte(doc))
	var ps model.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want problems, got %v for\n%s", err, doc)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Pointer+" "+p.Code)
	}
	return out
}

// TestInvalidRuleSetsNamePointers checks that every mistake is reported at
// once, each with the JSON pointer of the offending part: meta-schema
// problems, condition problems re-pointed under their rule, and the
// checks of the rule set's own rules.
func TestInvalidRuleSetsNamePointers(t *testing.T) {
	m := crmModel(t)
	for _, c := range []struct {
		name string
		doc  string
		want []string
	}{
		{"not JSON", `{"rules": [`, []string{" invalid_json"}},
		{"no rules", `{}`, []string{" meta_schema"}},
		{"shape and conditions together", `{"scale": 7, "colour": "red", "rules": [
			{"name": "a", "kind": "profile", "when": {"field": "nope", "op": "eq", "value": 1}, "points": 5},
			{"name": "b", "kind": "fit", "when": {"field": "status", "op": "eq", "value": "won"}, "points": 5, "related": "activities", "pointsEach": 1},
			{"name": "c", "kind": "engagement", "related": "activities", "pointsEach": 5, "halfLife": "7d",
			 "where": {"field": "type", "op": "eq", "value": "fax"}},
			{"name": "d", "kind": "engagement", "related": "visits", "pointsEach": 5},
			{"name": "e", "kind": "fit", "when": {"field": "company", "op": "withinLast", "value": "7d"}, "points": "ten"}]}`,
			[]string{"/colour meta_schema", "/rules/0/kind meta_schema", "/rules/0/when/field unknown_field",
				"/rules/1 meta_schema", "/rules/1/when/value unknown_value",
				"/rules/2 meta_schema", "/rules/2/where/value unknown_value",
				"/rules/3/related unknown_relation",
				"/rules/4/points meta_schema", "/rules/4/when/op operator_not_allowed", "/scale meta_schema"}},
		{"meaning", `{"object": "Contact", "grades": [{"grade": "A", "min": 80}, {"grade": "B", "min": 90}, {"grade": "C"}, {"grade": "A", "min": 10}],
			"weights": {"fit": 0.00001},
			"rules": [
			{"name": "a", "kind": "fit", "when": {"field": "status", "op": "eq", "value": "new"}, "points": 1.23456},
			{"name": "a", "kind": "engagement", "related": "activities", "pointsEach": 5, "at": "subject", "within": "30d"},
			{"name": "c", "kind": "engagement", "related": "activities", "pointsEach": 5, "at": "nope", "halfLife": "1w", "cap": 0.5}]}`,
			[]string{"/grades/1/min grades_not_descending", "/grades/2 grade_without_min", "/grades/3/grade duplicate_grade",
				"/object object_mismatch", "/rules/0/points too_many_decimals", "/rules/1/at invalid_time_field",
				"/rules/1/name duplicate_rule", "/rules/2/at invalid_time_field", "/weights/fit too_many_decimals"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := problems(t, m, "Lead", c.doc)
			slices.Sort(got)
			want := slices.Clone(c.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
		})
	}
}

func TestValidRuleSetCompiles(t *testing.T) {
	m := crmModel(t)
	rs, err := scoring.Compile(m, m.Object("Lead"), []byte(leadRules))
	if err != nil {
		t.Fatal(err)
	}
	if !rs.TimeDependent || len(rs.Rules) != 7 || !slices.Equal(rs.Grades(), []string{"A", "B", "C", "D"}) {
		t.Fatalf("compiled: time dependent %v, %d rules, grades %v", rs.TimeDependent, len(rs.Rules), rs.Grades())
	}
	// Without within, halfLife or withinLast, scores do not depend on time.
	rs, err = scoring.Compile(m, m.Object("Lead"), []byte(`{"rules": [
		{"name": "a", "kind": "fit", "when": {"field": "status", "op": "eq", "value": "new"}, "points": 1},
		{"name": "b", "kind": "engagement", "related": "activities", "pointsEach": 2}]}`))
	if err != nil || rs.TimeDependent {
		t.Fatalf("time independent: %v %v", err, rs)
	}
	rs, err = scoring.Compile(m, m.Object("Lead"), []byte(`{"rules": [
		{"name": "a", "kind": "engagement", "related": "activities", "pointsEach": 2,
		 "where": {"field": "occurredAt", "op": "withinLast", "value": "3d"}}]}`))
	if err != nil || !rs.TimeDependent {
		t.Fatalf("withinLast is time dependent: %v %v", err, rs)
	}
	// The published meta-schema is JSON and names itself.
	var meta map[string]any
	if err := json.Unmarshal(scoring.MetaSchema(), &meta); err != nil || meta["$id"] != scoring.MetaSchemaURL {
		t.Fatalf("meta-schema: %v %v", err, meta["$id"])
	}
}

// leadRules is the rule set most tests use, on Lead of the CRM template
// (tags are "group/tag" strings).
const leadRules = `{
  "lattice": "scoring/v1",
  "object": "Lead",
  "weights": {"fit": 1, "engagement": 1},
  "grades": [{"grade": "A", "min": 60}, {"grade": "B", "min": 40}, {"grade": "C", "min": 20}, {"grade": "D"}],
  "rules": [
    {"name": "qualified", "kind": "fit", "points": 30,
     "when": {"field": "status", "op": "in", "value": ["qualified", "converted"]}},
    {"name": "referral", "kind": "fit", "points": 20, "when": {"field": "source", "op": "eq", "value": "referral"}},
    {"name": "techAccount", "kind": "fit", "points": 15,
     "when": {"field": "convertedAccount.industry", "op": "eq", "value": "technology"}},
    {"name": "freeMail", "kind": "fit", "points": -10, "when": {"field": "email", "op": "contains", "value": "@gmail.com"}},
    {"name": "vip", "kind": "fit", "points": 25, "when": {"tags": "hasAny", "value": ["tier/vip"]}},
    {"name": "pageViews", "kind": "engagement", "related": "activities",
     "where": {"field": "type", "op": "eq", "value": "pageView"},
     "pointsEach": 5, "at": "occurredAt", "within": "30d", "halfLife": "7d", "cap": 30},
    {"name": "meetings", "kind": "engagement", "related": "activities",
     "where": {"field": "type", "op": "eq", "value": "meeting"}, "pointsEach": 10, "cap": 15}
  ]
}`
