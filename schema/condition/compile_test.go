package condition_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

func nested(n int, leaf string) string {
	return strings.Repeat(`{"not":`, n) + leaf + strings.Repeat(`}`, n)
}

// Every kind of mistake is reported with the JSON pointer of the offending
// part and a stable code; all of a condition's problems at once.
func TestCompileProblems(t *testing.T) {
	m := testModel(t)
	cases := []struct {
		object, src string
		want        []string // "pointer code"
		exact       bool     // no other problems
	}{
		{"Account", `{"field":`, []string{" invalid_json"}, true},
		{"Account", `{}`, []string{" meta_schema"}, true},
		{"Account", `[]`, []string{" meta_schema"}, true},
		{"Account", `{"field":"name","op":"like","value":"x"}`, []string{"/op meta_schema"}, false},
		{"Account", `{"field":"name","op":"eq"}`, []string{" meta_schema"}, true},
		{"Account", `{"field":"name","op":"eq","value":"x","extra":1}`, []string{" meta_schema"}, false},
		{"Account", `{"and":[{"field":"name","op":"eq","value":"x"}],"or":[]}`, []string{"/or meta_schema"}, false},
		{"Account", `{"field":"name","op":"eq","value":"x","where":{"and":[]}}`, []string{"/where meta_schema"}, false},
		{"Account", `{"tags":"hasAny","value":"vip"}`, []string{"/value meta_schema"}, false},
		{"Account", `{"related":"contacts","count":{"op":"gte","value":-1}}`, []string{"/count/value meta_schema"}, false},
		{"Account", `{"related":"contacts","quantifier":"some","count":{"op":"gte","value":1}}`, []string{" meta_schema"}, false},
		{"Account", `{"and":[{"field":"nope","op":"eq","value":1}]}`, []string{"/and/0/field unknown_field"}, true},
		{"Account", `{"field":"parent.nope","op":"eq","value":"x"}`, []string{"/field unknown_field"}, true},
		{"Account", `{"field":"revenue.cents","op":"eq","value":1}`, []string{"/field unknown_field"}, true},
		{"Account", `{"field":"name.first","op":"eq","value":"x"}`, []string{"/field not_a_lookup"}, true},
		{"Account", `{"field":"owner.name","op":"eq","value":"x"}`, []string{"/field not_a_lookup"}, true},
		{"Account", `{"field":"tags","op":"eq","value":"vip"}`, []string{"/field not_filterable"}, true},
		{"Account", `{"field":"deletedAt","op":"isNull","value":true}`, []string{"/field not_filterable"}, true},
		{"Account", `{"field":"parent.parent.parent.parent.parent.name","op":"eq","value":"x"}`, []string{"/field too_many_hops"}, true},
		{"Account", `{"field":"name","op":"withinLast","value":"7d"}`, []string{"/op operator_not_allowed"}, true},
		{"Account", `{"field":"employees","op":"contains","value":1}`, []string{"/op operator_not_allowed"}, true},
		{"Account", `{"field":"extra","op":"eq","value":{}}`, []string{"/op operator_not_allowed"}, true},
		{"Account", `{"field":"segments","op":"lt","value":"smb"}`, []string{"/op operator_not_allowed"}, true},
		{"Account", `{"field":"parent","op":"gt","value":"x"}`, []string{"/op operator_not_allowed"}, true},
		{"Account", `{"field":"employees","op":"gt","value":"10"}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"employees","op":"in","value":[1,"2",3]}`, []string{"/value/1 invalid_value"}, true},
		{"Account", `{"field":"employees","op":"in","value":5}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"employees","op":"eq","value":1e5000}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"name","op":"isNull","value":"yes"}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"name","op":"eq","value":7}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"name","op":"contains","value":"a\u0000b"}`, []string{"/value invalid_value"}, true},
		{"Account", `{"tags":"hasAll","value":["vip","\u0000"]}`, []string{"/value/1 invalid_value"}, true},
		{"Account", `{"field":"active","op":"eq","value":"true"}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"founded","op":"lt","value":"2026-02-30"}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"createdAt","op":"gt","value":"yesterday"}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"parent","op":"eq","value":"not-a-uuid"}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"owner","op":"in","value":["0c4b1d0e-8f7a-4e35-9a55-1f0e2d3c4b5a", 5]}`, []string{"/value/1 invalid_value"}, true},
		{"Account", `{"field":"revenue.currency","op":"eq","value":5}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"segments","op":"eq","value":[]}`, []string{"/value invalid_value"}, true},
		{"Account", `{"field":"industry","op":"eq","value":"mining"}`, []string{"/value unknown_value"}, true},
		{"Account", `{"field":"industry","op":"in","value":["finance","mining"]}`, []string{"/value/1 unknown_value"}, true},
		{"Account", `{"field":"segments","op":"contains","value":["smb","huge"]}`, []string{"/value/1 unknown_value"}, true},
		{"Account", `{"field":"segments","op":"contains","value":"huge"}`, []string{"/value unknown_value"}, true},
		{"Account", `{"field":"founded","op":"withinLast","value":"7 days"}`, []string{"/value invalid_duration"}, true},
		{"Account", `{"field":"createdAt","op":"withinLast","value":"0d"}`, []string{"/value invalid_duration"}, true},
		{"Account", `{"field":"createdAt","op":"withinLast","value":"9999w"}`, []string{"/value invalid_duration"}, true},
		{"Account", `{"field":"createdAt","op":"withinLast","value":7}`, []string{"/value invalid_duration"}, true},
		{"Account", `{"related":"deals","quantifier":"some"}`, []string{"/related unknown_relation"}, true},
		{"Account", `{"related":"contacts","quantifier":"some","where":{"field":"industry","op":"eq","value":"x"}}`, []string{"/where/field unknown_field"}, true},
		{"Account", `{"related":"contacts","quantifier":"every","where":{"related":"activities","count":{"op":"gt","value":1},"where":{"field":"occurredAt","op":"withinLast","value":"7x"}}}`,
			[]string{"/where/where/value invalid_duration"}, true},
		{"Account", nested(condition.MaxDepth+1, `{"field":"name","op":"eq","value":"x"}`), []string{strings.Repeat("/not", condition.MaxDepth+1) + " too_deep"}, true},
		{"Account", `{"or":[{"field":"x","op":"eq","value":1},{"field":"employees","op":"contains","value":1},{"not":{"field":"name","op":"gt","value":true}}]}`,
			[]string{"/or/0/field unknown_field", "/or/1/op operator_not_allowed", "/or/2/not/value invalid_value"}, true},
	}
	for _, tc := range cases {
		_, err := condition.Compile(m, m.Object(tc.object), []byte(tc.src))
		ps := problems(err)
		if err != nil && ps == nil {
			t.Errorf("%s: error is not model.Problems: %v", tc.src, err)
			continue
		}
		got := map[string]bool{}
		for _, p := range ps {
			got[p.Pointer+" "+p.Code] = true
			if p.Message == "" {
				t.Errorf("%s: problem %s has no message", tc.src, p)
			}
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Errorf("%s: want problem %q, got %v", tc.src, w, ps)
			}
		}
		if tc.exact && len(ps) != len(tc.want) {
			t.Errorf("%s: want exactly %v, got %v", tc.src, tc.want, ps)
		}
	}
}

func TestCompileMessages(t *testing.T) {
	m := testModel(t)
	_, err := condition.Compile(m, m.Object("Account"), []byte(`{"field":"employees","op":"contains","value":1}`))
	if !strings.Contains(fmt.Sprint(err), "employees (number) does not support contains; it supports eq, ne, in, notIn, lt, lte, gt, gte, isNull") {
		t.Errorf("message: %v", err)
	}
	_, err = condition.Compile(m, m.Object("Account"), []byte(`{"related":"deals","quantifier":"some"}`))
	if !strings.Contains(fmt.Sprint(err), "it has children, contacts") {
		t.Errorf("message: %v", err)
	}
	_, err = condition.Compile(m, m.Object("Account"), []byte(`{"field":"segments"}`))
	if ps := problems(err); len(ps) == 0 || ps.APIError().Code != "invalid_definition" {
		t.Errorf("problems convert to an API error: %v", err)
	}
	if _, err := condition.Compile(m, nil, []byte(`{"and":[]}`)); err == nil {
		t.Error("nil object accepted")
	}
	var _ model.Problems = problems(err)
}

// Every form of the language compiles, and the compiled condition prints
// the JSON it was compiled from.
func TestCompileAccepts(t *testing.T) {
	m := testModel(t)
	src := `{"and": [
		{"field": "industry", "op": "eq", "value": "technology"},
		{"field": "parent.industry", "op": "in", "value": ["finance", "retail"]},
		{"field": "parent.parent.name", "op": "startsWith", "value": "Acme"},
		{"not": {"field": "name", "op": "contains", "value": "test"}},
		{"or": [{"field": "employees", "op": "gte", "value": 100}, {"field": "revenue", "op": "gt", "value": 1e6}]},
		{"field": "revenue.currency", "op": "in", "value": ["USD"]},
		{"related": "contacts", "quantifier": "some", "where": {"field": "level", "op": "lte", "value": "director"}},
		{"related": "contacts", "quantifier": "none"},
		{"related": "children", "quantifier": "every", "where": {"field": "active", "op": "eq", "value": true}},
		{"related": "contacts", "count": {"op": "gte", "value": 2}, "where": {"related": "activities", "quantifier": "some",
			"where": {"and": [{"field": "type", "op": "eq", "value": "pageView"}, {"field": "page", "op": "eq", "value": "/pricing"},
				{"field": "occurredAt", "op": "withinLast", "value": "7d"}]}}},
		{"tags": "hasAny", "value": ["vip"]},
		{"tags": "hasNone", "value": []},
		{"field": "score", "op": "gte", "value": 60},
		{"field": "grade", "op": "in", "value": ["A", "B"]},
		{"field": "createdAt", "op": "withinLast", "value": "30m"},
		{"field": "updatedAt", "op": "lt", "value": "2026-01-01"},
		{"field": "owner", "op": "isNull", "value": false},
		{"field": "id", "op": "ne", "value": "0C4B1D0E-8F7A-4E35-9A55-1F0E2D3C4B5A"},
		{"field": "version", "op": "gt", "value": 1},
		{"field": "segments", "op": "contains", "value": ["smb", "mid"]},
		{"field": "extra", "op": "isNull", "value": true},
		{"field": "founded", "op": "withinLast", "value": "2w"}
	]}`
	c := mustCompile(t, m, "Account", src)
	if !c.UsesSource() || c.Object() != m.Object("Account") {
		t.Errorf("UsesSource %v Object %v", c.UsesSource(), c.Object())
	}
	if strings.ContainsAny(c.String(), "\n\t") || !strings.HasPrefix(c.String(), `{"and":[{"field":"industry"`) {
		t.Errorf("String() = %s", c)
	}
	if mustCompile(t, m, "Account", `{"field":"name","op":"eq","value":"x"}`).UsesSource() {
		t.Error("a plain comparison needs no Source")
	}
}
