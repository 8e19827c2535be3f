package condition_test

import (
	"fmt"
	"time"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

func exampleModel() *model.Model {
	v, _ := model.NewValidator()
	b, err := v.ParseBundle([]byte(`{"lattice": "bundle/v1", "objects": [{
		"x-lattice-object": {"apiName": "Lead"},
		"properties": {
			"company": {"x-lattice-field": {"kind": "text", "indexed": true}},
			"status": {"x-lattice-field": {"kind": "picklist", "values": [{"value": "new"}, {"value": "contacted"}, {"value": "qualified"}]}},
			"lastVisit": {"x-lattice-field": {"kind": "datetime"}}
		}}]}`))
	if err != nil {
		panic(err)
	}
	p, err := model.Prepare(nil, b, time.Now())
	if err != nil {
		panic(err)
	}
	m, _ := model.Compile(p, 1)
	return m
}

func Example() {
	m := exampleModel()
	lead := m.Object("Lead")
	c, err := condition.Compile(m, lead, []byte(`{"and": [
		{"field": "status", "op": "gte", "value": "contacted"},
		{"field": "lastVisit", "op": "withinLast", "value": "7d"},
		{"tags": "hasNone", "value": ["competitor"]}]}`))
	if err != nil {
		panic(err)
	}
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := &condition.Record{
		ID: "5b0c1d6e-8f7a-4e35-9a55-1f0e2d3c4b5a",
		Values: model.Values{
			lead.Field("status").Key:    "qualified",
			lead.Field("lastVisit").Key: "2026-11-20T09:30:00Z",
		},
	}
	fmt.Println(c.Eval(r, nil, now))

	pred, args := c.SQL("r", 3, now)
	fmt.Println(pred)
	fmt.Println(len(args), "parameters")
	// Output:
	// true
	// (COALESCE((r.data->>$3::text) = ANY($4::text[]), false) AND COALESCE((left((r.data->>$5::text), 19) || rpad(rtrim(substr((r.data->>$5::text), 21), 'Z'), 6, '0')) COLLATE "C" >= $6::text AND (left((r.data->>$5::text), 19) || rpad(rtrim(substr((r.data->>$5::text), 21), 'Z'), 6, '0')) COLLATE "C" <= $7::text, false) AND NOT (r.tags && $8::text[]))
	// 6 parameters
}

func ExampleCompile_problems() {
	m := exampleModel()
	_, err := condition.Compile(m, m.Object("Lead"), []byte(`{"or": [
		{"field": "company", "op": "withinLast", "value": "7d"},
		{"field": "status", "op": "eq", "value": "won"},
		{"field": "lastVisit", "op": "withinLast", "value": "a week"},
		{"related": "deals", "quantifier": "some"}]}`))
	for _, p := range err.(model.Problems) {
		fmt.Println(p.Pointer, p.Code)
	}
	// Output:
	// /or/0/op operator_not_allowed
	// /or/1/value unknown_value
	// /or/2/value invalid_duration
	// /or/3/related unknown_relation
}
