package dataapi

import (
	"encoding/json"
	"fmt"
	"testing"
)

// statements runs query and returns how many statements it took.
func (e *env) statementsOf(t *testing.T, c Caller, query string, vars map[string]any) (map[string]any, int64) {
	t.Helper()
	before := e.statements.Load()
	d := e.ok(t, c, query, vars)
	return d, e.statements.Load() - before
}

// Every root field of a query is one statement, however deeply lists nest
// in lists: two more for the tenant setting and the statement timeout, in
// the same batch. Introspection and __typename take none.
func TestOneStatementPerRootField(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "stmts")
	var accounts []string
	for i := range 3 {
		acc := e.create(t, c, "Account", map[string]any{"name": fmt.Sprintf("Account %d", i)})
		accounts = append(accounts, acc)
		for j := range 3 {
			con := e.create(t, c, "Contact", map[string]any{"lastName": fmt.Sprintf("Contact %d.%d", i, j), "account": acc})
			for k := range 2 {
				deal := e.create(t, c, "Deal", map[string]any{"name": fmt.Sprintf("Deal %d.%d.%d", i, j, k), "account": acc, "contact": con})
				e.create(t, c, "Activity", map[string]any{"type": "call", "subject": fmt.Sprintf("Call %d.%d.%d", i, j, k),
					"occurredAt": "2026-01-01T00:00:00Z", "deal": deal, "contact": con, "account": acc})
			}
		}
	}
	e.create(t, c, "Account", map[string]any{"name": "Child", "parent": accounts[0]})

	query := `query($ids: [ID!]!, $id: ID!, $deep: Boolean!) {
		accounts(first: 20, orderBy: [{name: ASC}]) { totalCount edges { cursor node { name
			children(first: 5) { nodes { name parent { name } } }
			contacts(first: 5, orderBy: [{lastName: ASC}]) { totalCount nodes { lastName account { name }
				deals(first: 5, orderBy: [{name: ASC}]) { nodes { name contact { lastName } account { name }
					activities(first: 5) @include(if: $deep) { nodes { subject deal { name } } } } } } } } } }
		node(id: $id) { ... on Account { name contacts { nodes { deals { totalCount } } } } }
		nodes(ids: $ids) { id ...F }
		contactsAggregate(groupBy: [account]) { count }
		one: contact(id: $id) { lastName }
		__typename
		t: __type(name: "Deal") { name }
	}
	fragment F on Account { name deals(first: 10) { nodes { activities(first: 5) { totalCount } } } }`
	d, n := e.statementsOf(t, c, query, map[string]any{"ids": accounts, "id": accounts[1], "deep": true})
	if n != 1+5 { // the settings; accounts, node, nodes, contactsAggregate, one
		t.Errorf("ran %d statements, want 6: an N+1 somewhere", n)
	}
	// And the nested data is right.
	acc := get(d, "accounts", "edges", 0, "node")
	if get(acc, "name") != "Account 0" || get(acc, "children", "nodes", 0, "parent", "name") != "Account 0" {
		t.Errorf("account 0: %v", acc)
	}
	con := get(acc, "contacts", "nodes", 2)
	if get(con, "lastName") != "Contact 0.2" || get(con, "account", "name") != "Account 0" {
		t.Errorf("contact 0.2: %v", con)
	}
	deal := get(con, "deals", "nodes", 1)
	if get(deal, "name") != "Deal 0.2.1" || get(deal, "contact", "lastName") != "Contact 0.2" ||
		get(deal, "activities", "nodes", 0, "subject") != "Call 0.2.1" || get(deal, "activities", "nodes", 0, "deal", "name") != "Deal 0.2.1" {
		t.Errorf("deal 0.2.1: %v", deal)
	}
	if fmt.Sprint(get(d, "node", "contacts", "nodes", 0, "deals", "totalCount")) != "2" || len(get(d, "nodes").([]any)) != 3 ||
		fmt.Sprint(get(d, "nodes", 2, "deals", "nodes", 5, "activities", "totalCount")) != "1" {
		t.Errorf("node and nodes: %v %v", get(d, "node"), get(d, "nodes"))
	}
	if get(d, "one") != nil || get(d, "t", "name") != "Deal" || get(d, "__typename") != "Query" {
		t.Errorf("by id of another object, __type, __typename: %v", d)
	}

	// The count does not grow with the data.
	for i := range 4 {
		acc := e.create(t, c, "Account", map[string]any{"name": fmt.Sprintf("More %d", i)})
		e.create(t, c, "Contact", map[string]any{"lastName": "More", "account": acc})
	}
	if _, n2 := e.statementsOf(t, c, query, map[string]any{"ids": accounts, "id": accounts[1], "deep": true}); n2 != n {
		t.Errorf("with more records: %d statements, before %d", n2, n)
	}
	// Introspection alone runs no record statement.
	if _, n := e.statementsOf(t, c, `{ __schema { queryType { name } } __typename }`, nil); n > 2 {
		t.Errorf("introspection ran %d statements", n)
	}
}

// Bulk mutations take as many statements for 12 records as for 3, and
// read their result back with one.
func TestBulkStatementsDoNotGrow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "bulkstmts")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme"})
	inputs := func(n int, prefix string) []any {
		var out []any
		for i := range n {
			out = append(out, map[string]any{"lastName": fmt.Sprintf("%s %d", prefix, i), "email": fmt.Sprintf("%s%d@x.example", prefix, i), "account": acc})
		}
		return out
	}
	const create = `mutation($in: [ContactCreateInput!]!) { createContacts(inputs: $in) { lastName account { name contacts { totalCount } } } }`
	_, small := e.statementsOf(t, c, create, map[string]any{"in": inputs(3, "s")})
	_, large := e.statementsOf(t, c, create, map[string]any{"in": inputs(12, "l")})
	if small != large {
		t.Errorf("createMany: %d statements for 3 records, %d for 12", small, large)
	}
	const update = `mutation($p: String) { updateContacts(where: {lastName: {startsWith: $p}}, set: {title: "x"}) { title account { name } } }`
	_, small = e.statementsOf(t, c, update, map[string]any{"p": "s"})
	_, large = e.statementsOf(t, c, update, map[string]any{"p": "l"})
	if small != large {
		t.Errorf("updateMany: %d statements for 3 records, %d for 12", small, large)
	}
	const upsert = `mutation($in: [ContactCreateInput!]!) { upsertContacts(on: email, inputs: $in) { lastName } }`
	_, small = e.statementsOf(t, c, upsert, map[string]any{"in": inputs(3, "u")})
	_, large = e.statementsOf(t, c, upsert, map[string]any{"in": inputs(12, "v")})
	if small != large {
		t.Errorf("upsertMany: %d statements for 3 records, %d for 12", small, large)
	}
}

// Concurrent requests share the cached schema and documents safely (run
// with -race) and each get their own caller's answer.
func TestConcurrentExecute(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	a := e.tenant(t, "conc-a")
	b := e.tenant(t, "conc-b")
	e.create(t, a, "Account", map[string]any{"name": "A"})
	e.create(t, b, "Account", map[string]any{"name": "B"})
	const q = `query($n: Int) { accounts(first: $n, orderBy: [{name: ASC}]) { nodes { name contacts(first: 2) { totalCount } } } }`
	errs := make(chan error, 40)
	for i := range 40 {
		go func() {
			c, want := a, "A"
			if i%2 == 1 {
				c, want = b, "B"
			}
			if i%4 >= 2 {
				c.Scope = ownerScope("conc", meID) // owns nothing
				want = "<nil>"
			}
			res := e.api.Execute(t.Context(), c, Request{Query: q, Variables: map[string]any{"n": 5}})
			var d struct {
				Accounts struct{ Nodes []struct{ Name string } }
			}
			if len(res.Errors) > 0 {
				errs <- fmt.Errorf("request %d: %v", i, res.Errors)
				return
			}
			if err := json.Unmarshal(res.Data, &d); err != nil {
				errs <- err
				return
			}
			got := "<nil>"
			if len(d.Accounts.Nodes) > 0 {
				got = d.Accounts.Nodes[0].Name
			}
			if got != want {
				errs <- fmt.Errorf("request %d got %s, want %s", i, got, want)
				return
			}
			errs <- nil
		}()
	}
	for range 40 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
