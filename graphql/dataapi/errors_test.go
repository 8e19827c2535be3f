package dataapi

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Request errors: the document, the operation, the variables. They are
// reported before anything runs, without data.
func TestRequestErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "reqerr")
	cases := []struct {
		name, query, op string
		vars            map[string]any
		code, msg       string
	}{
		{"malformed document", `{ accounts { totalCount }`, "", nil, CodeParseFailed, "Expected Name"},
		{"not GraphQL", `SELECT * FROM records`, "", nil, CodeParseFailed, ""},
		{"unknown field", `{ accounts { nodes { nope } } }`, "", nil, CodeValidationFailed, `Cannot query field "nope"`},
		{"unknown root field", `{ widgets { totalCount } }`, "", nil, CodeValidationFailed, "widgets"},
		{"unknown argument", `{ accounts(size: 3) { totalCount } }`, "", nil, CodeValidationFailed, "size"},
		{"wrong literal type", `{ accounts(first: "three") { totalCount } }`, "", nil, CodeValidationFailed, ""},
		{"unknown enum value", `{ accounts(where: {industry: {eq: mining}}) { totalCount } }`, "", nil, CodeValidationFailed, "mining"},
		{"subscription", `subscription { accounts { totalCount } }`, "", nil, CodeValidationFailed, ""},
		{"wrong variable type", `query($n: Int) { accounts(first: $n) { totalCount } }`, "", map[string]any{"n": "three"}, CodeBadUserInput, ""},
		{"missing variable", `query($id: ID!) { account(id: $id) { id } }`, "", nil, CodeBadUserInput, "must be defined"},
		{"null for a non-null variable", `query($id: ID!) { account(id: $id) { id } }`, "", map[string]any{"id": nil}, CodeBadUserInput, "cannot be null"},
		{"unknown input field in a variable", `mutation($in: AccountCreateInput!) { createAccount(input: $in) { id } }`, "",
			map[string]any{"in": map[string]any{"name": "x", "nope": 1}}, CodeBadUserInput, "unknown field"},
		{"enum value in another case", `query($d: SortDirection) { accounts(orderBy: [{name: $d}]) { totalCount } }`, "",
			map[string]any{"d": "desc"}, CodeBadUserInput, "case-sensitive"},
		{"enum value in another case, nested", `query($w: AccountFilter) { accounts(where: $w) { totalCount } }`, "",
			map[string]any{"w": map[string]any{"industry": map[string]any{"in": []any{"finance", "TECHNOLOGY"}}}}, CodeBadUserInput, "TECHNOLOGY"},
		{"several operations without a name", `query A { accounts { totalCount } } query B { contacts { totalCount } }`, "", nil, CodeBadUserInput, "operationName"},
		{"unknown operation name", `query A { accounts { totalCount } }`, "C", nil, CodeBadUserInput, `"C"`},
	}
	for _, tc := range cases {
		res := e.api.Execute(context.Background(), c, Request{Query: tc.query, OperationName: tc.op, Variables: tc.vars})
		if !res.RequestError || res.Data != nil || len(res.Errors) == 0 {
			t.Errorf("%s: RequestError %v, data %s, errors %v", tc.name, res.RequestError, res.Data, res.Errors)
			continue
		}
		ge := res.Errors[0]
		if code, _ := ge.Extensions["code"].(string); code != tc.code || !strings.Contains(ge.Message, tc.msg) {
			t.Errorf("%s: got %v %q, want %s with %q", tc.name, ge.Extensions["code"], ge.Message, tc.code, tc.msg)
		}
	}
	// Parse and validation errors carry the location of the mistake;
	// variable errors the variable's path.
	r := e.do(t, c, "{\n  accounts { nodes { nope } } }", nil)
	if fmt.Sprint(r.Errors[0]["locations"]) != "[map[column:22 line:2]]" {
		t.Errorf("validation error locations: %v", r.Errors[0]["locations"])
	}
	r = e.do(t, c, `query($w: AccountFilter) { accounts(where: $w) { totalCount } }`, map[string]any{"w": map[string]any{"industry": map[string]any{"in": []any{"finance", "TECHNOLOGY"}}}})
	if fmt.Sprint(r.Errors[0]["path"]) != "[variable w industry in 1]" {
		t.Errorf("variable error path: %v", r.Errors[0]["path"])
	}
	// Operation names pick the operation.
	d := e.api.Execute(context.Background(), c, Request{Query: `query A { a: accounts { totalCount } } query B { b: contacts { totalCount } }`, OperationName: "B"})
	if len(d.Errors) > 0 || !strings.Contains(string(d.Data), `"b"`) {
		t.Errorf("operationName B: %s %v", d.Data, d.Errors)
	}
}

// Field errors: planning errors name the field's path and the argument;
// limits name the limit.
func TestFieldErrorsAndLimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Limits: Limits{MaxDepth: 3, MaxPageSize: 100, DefaultPageSize: 10, MaxCost: 1000}})
	c := e.tenant(t, "limits")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme"})
	cases := []struct {
		name, query        string
		code, limit        string
		path, argumentPath string
	}{
		{"depth", `{ contacts { nodes { account { contacts { nodes { account { name } } } } } } }`, CodeLimitExceeded, "MaxDepth",
			"[contacts nodes account contacts nodes account]", "<nil>"},
		{"depth through node", `{ node(id: "` + acc + `") { ... on Account { parent { parent { parent { name } } } } } }`, CodeLimitExceeded, "MaxDepth", "[node parent parent parent]", "<nil>"},
		{"page size", `{ accounts(first: 101) { totalCount } }`, CodeLimitExceeded, "MaxPageSize", "[accounts]", "[first]"},
		{"nested page size", `{ accounts(first: 1) { nodes { contacts(last: 101) { totalCount } } } }`, CodeLimitExceeded, "MaxPageSize", "[accounts nodes contacts]", "[last]"},
		{"cost", `{ accounts(first: 100) { nodes { contacts(first: 11) { totalCount } } } }`, CodeLimitExceeded, "MaxCost", "[accounts nodes contacts]", "<nil>"},
		{"cost of defaults", `{ accounts { nodes { contacts { nodes { deals { nodes { name } } } } } } }`, CodeLimitExceeded, "MaxCost", "", "<nil>"},
		{"cost of nodes", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, CodeLimitExceeded, "MaxCost", "[nodes]", "[ids]"},
		{"cost of lists in nodes", `{ nodes(ids: [` + strings.Repeat(`"`+acc+`", `, 30) + `]) { ... on Account { contacts(first: 50) { totalCount } } } }`,
			CodeLimitExceeded, "MaxCost", "[nodes contacts]", "<nil>"},
		{"bad id", `{ account(id: "42") { id } }`, CodeBadUserInput, "", "[account]", "[id]"},
		{"bad id in nodes", `{ nodes(ids: ["` + acc + `", "x"]) { id } }`, CodeBadUserInput, "", "[nodes]", "[ids 1]"},
		{"bad filter in an aggregate", `{ accountsAggregate(where: {createdAt: {eq: "now"}}) { count } }`, CodeBadUserInput, "", "[accountsAggregate]", "[where createdAt eq]"},
		{"group twice", `{ accountsAggregate(groupBy: [industry, industry]) { count } }`, CodeBadUserInput, "", "[accountsAggregate]", "[groupBy 1]"},
		{"long alias", `{ accounts { nodes { a` + strings.Repeat("x", 70) + `: name } } }`, CodeBadUserInput, "63", "[accounts nodes a" + strings.Repeat("x", 70) + "]", "<nil>"},
	}
	ids := make([]any, 1001)
	for i := range ids {
		ids[i] = acc
	}
	for _, tc := range cases {
		var vars map[string]any
		if strings.Contains(tc.query, "$ids") {
			vars = map[string]any{"ids": ids}
		}
		r := e.do(t, c, tc.query, vars)
		if r.code() != tc.code || !strings.Contains(r.message(), tc.limit) {
			t.Errorf("%s: got %s %q, want %s naming %s", tc.name, r.code(), r.message(), tc.code, tc.limit)
			continue
		}
		if tc.path != "" && fmt.Sprint(r.Errors[0]["path"]) != tc.path {
			t.Errorf("%s: path %v, want %s", tc.name, r.Errors[0]["path"], tc.path)
		}
		if r.argPath() != tc.argumentPath {
			t.Errorf("%s: argumentPath %s, want %s", tc.name, r.argPath(), tc.argumentPath)
		}
		if r.Data != nil {
			t.Errorf("%s: data %v with a failed non-null root field", tc.name, r.Data)
		}
	}
	// Within the limits, the same shapes run.
	e.ok(t, c, `{ contacts { nodes { account { contacts { nodes { id } } } } } accounts(first: 100) { nodes { contacts(first: 9) { totalCount } } }
		a`+strings.Repeat("x", 70)+`: accounts { totalCount } }`, nil)
	// Errors of several root fields are all reported.
	r := e.do(t, c, `{ a: accounts(first: -1) { totalCount } b: contacts(first: 1000) { totalCount } ok: leads { totalCount } }`, nil)
	if len(r.Errors) != 2 || fmt.Sprint(r.Errors[0]["path"]) != "[a]" || fmt.Sprint(r.Errors[1]["path"]) != "[b]" {
		t.Errorf("errors of two root fields: %v", r.Errors)
	}
}

// A statement slower than the statement timeout is TIMEOUT, naming it.
func TestStatementTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "timeout")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme"})
	// Many records behind the API's back, quickly.
	if _, err := e.db.Owner.Exec(context.Background(), `INSERT INTO records (tenant_id, object_id, id, data)
		SELECT tenant_id, object_id, gen_random_uuid(), data FROM records, generate_series(1, 20000) g
		WHERE id = $1`, acc); err != nil {
		t.Fatal(err)
	}
	// The same data through an API with a 1ms timeout.
	e.api = New(e.pool, e.cat, e.api.store, e.api.tags, Options{Limits: Limits{StatementTimeout: time.Millisecond}})
	r := e.do(t, c, `{ accounts(where: {or: [{name: {contains: "zz"}}, {description: {startsWith: "q"}}]}) { totalCount } }`, nil)
	if r.code() != CodeTimeout || !strings.Contains(r.message(), "1ms") {
		t.Errorf("slow statement: %v", r.Errors)
	}

	// The timeout is the statement's alone: the connection goes back to
	// the pool without it.
	var timeout string
	if err := e.pool.QueryRow(context.Background(), "SHOW statement_timeout").Scan(&timeout); err != nil || timeout != "0" {
		t.Errorf("statement_timeout after the request: %q %v", timeout, err)
	}
}

// A selection of more than 50 fields (json_build_object's limit is 100
// arguments) still renders, in selection order.
func TestWideSelection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "wide")
	id := e.create(t, c, "Account", map[string]any{"name": "Acme", "employees": 3})
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, " f%02d: %s", i, []string{"name", "employees", "id", "version"}[i%4])
	}
	d := e.ok(t, c, `query($id: ID!) { account(id: $id) {`+b.String()+` } accounts { nodes {`+b.String()+` } } }`, map[string]any{"id": id})
	for _, rec := range []any{get(d, "account"), get(d, "accounts", "nodes", 0)} {
		m := rec.(map[string]any)
		if len(m) != 60 || m["f00"] != "Acme" || fmt.Sprint(m["f57"]) != "3" || m["f58"] != id || fmt.Sprint(m["f59"]) != "1" {
			t.Errorf("wide record: %v", m)
		}
	}
}

// An aggregate with more groups than MaxCost is refused, naming it.
func TestAggregateGroupLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Limits: Limits{MaxCost: 3}})
	c := e.tenant(t, "groups")
	for i := range 4 {
		e.create(t, c, "Account", map[string]any{"name": fmt.Sprintf("A%d", i), "employees": i % 3})
	}
	r := e.do(t, c, `{ accountsAggregate(groupBy: [name]) { key { name } count } }`, nil)
	if r.code() != CodeLimitExceeded || !strings.Contains(r.message(), "MaxCost") || r.argPath() != "[groupBy]" || r.Data != nil {
		t.Errorf("4 groups over a limit of 3: %v %v", r.Errors, r.Data)
	}
	d := e.ok(t, c, `{ accountsAggregate(groupBy: [employees]) { key { employees } count } all: accountsAggregate { count } }`, nil)
	if fmt.Sprint(d["accountsAggregate"]) != "[map[count:2 key:map[employees:0]] map[count:1 key:map[employees:1]] map[count:1 key:map[employees:2]]]" ||
		fmt.Sprint(d["all"]) != "[map[count:4]]" {
		t.Errorf("3 groups: %v", d)
	}
}

// Variables of any Go type a caller may decode into work as their JSON
// would: ints and float64s, typed slices and maps, defaults with their
// exact digits, IDs sent as numbers.
func TestVariableCoercion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "vars")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme", "employees": int32(12), "annualRevenue": map[string]any{"amount": 1.5, "currency": "USD"}})
	e.tagGroup(t, c, "segment", []string{"Account"}, "vip")
	d := e.ok(t, c, `mutation($in: [ContactCreateInput!]!, $id: ID!, $tags: [String!]!) { createContacts(inputs: $in) { lastName jobLevel }
		addAccountTags(id: $id, tags: $tags) { tags } }`, map[string]any{"in": []map[string]any{{"lastName": "A", "jobLevel": "staff"}, {"lastName": "B"}},
		"id": acc, "tags": []string{"segment/vip"}})
	if fmt.Sprint(get(d, "addAccountTags", "tags")) != "[segment/vip]" {
		t.Errorf("typed slice of strings: %v", d)
	}
	same(t, "typed slice of maps", field(d, "lastName", "createContacts"), []string{"A", "B"})
	d = e.ok(t, c, `query($p: Decimal = 1.50, $n: Int = 1, $names: [String!], $dir: SortDirection = DESC, $w: AccountFilter) {
		a: accounts(first: $n, where: {annualRevenue: {amount: {eq: $p}}, name: {in: $names}}, orderBy: [{name: $dir}]) { nodes { name employees annualRevenue { amount } } }
		b: accounts(where: $w) { totalCount } }`,
		map[string]any{"names": []string{"Acme", "Other"}, "w": map[string]any{"employees": map[string]any{"in": []int{12, 13}}, "id": map[string]any{"in": []string{acc}}}})
	if fmt.Sprint(get(d, "a", "nodes")) != "[map[annualRevenue:map[amount:1.5] employees:12 name:Acme]]" || fmt.Sprint(get(d, "b", "totalCount")) != "1" {
		t.Errorf("coerced variables: %v", d)
	}
	// A list variable may be a single value (input coercion); an ID may be
	// sent as a number, and is then simply not a record id.
	d = e.ok(t, c, `query($names: [String!]) { accounts(where: {name: {in: $names}}) { totalCount } }`, map[string]any{"names": "Acme"})
	if fmt.Sprint(get(d, "accounts", "totalCount")) != "1" {
		t.Errorf("single value for a list: %v", d)
	}
	r := e.do(t, c, `query($id: ID!) { account(id: $id) { id } }`, map[string]any{"id": 42})
	if r.code() != CodeBadUserInput || !strings.Contains(r.message(), `"42"`) {
		t.Errorf("numeric ID: %v", r.Errors)
	}
	// nodes of no ids.
	d = e.ok(t, c, `{ nodes(ids: []) { id } }`, nil)
	if fmt.Sprint(d["nodes"]) != "[]" {
		t.Errorf("nodes(ids: []): %v", d)
	}
}
