package dataapi

import (
	"fmt"
	"testing"
)

// A GraphQL client creates, queries with nested relations and filters,
// paginates, aggregates, bulk-upserts and deletes.
func TestEndToEnd(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.tenant(t, "acme")

	acme := e.ok(t, c, `mutation { createAccount(input: {name: "Acme", industry: technology, employees: 500,
		annualRevenue: {amount: 1000000.50, currency: "USD"}}) { id name industry employees annualRevenue { amount currency } version } }`, nil)
	acmeID := get(acme, "createAccount", "id").(string)
	if got := fmt.Sprint(get(acme, "createAccount", "annualRevenue", "amount")); got != "1000000.50" {
		t.Fatalf("amount = %s, want the exact digits 1000000.50", got)
	}
	sub := e.ok(t, c, `mutation($p: ID) { createAccount(input: {name: "Acme Labs", parent: $p}) { id parent { name } } }`, map[string]any{"p": acmeID})
	if get(sub, "createAccount", "parent", "name") != "Acme" {
		t.Fatalf("self relation: %v", sub)
	}
	var inputs []any
	for i := range 7 {
		inputs = append(inputs, map[string]any{"lastName": fmt.Sprintf("Person %d", i), "email": fmt.Sprintf("p%d@acme.example", i), "account": acmeID})
	}
	created := e.ok(t, c, `mutation($in: [ContactCreateInput!]!) { createContacts(inputs: $in) { id lastName account { name } } }`, map[string]any{"in": inputs})
	if n := len(get(created, "createContacts").([]any)); n != 7 {
		t.Fatalf("created %d contacts, want 7", n)
	}

	// Nested relations both ways, one statement per root field.
	before := e.statements.Load()
	q := e.ok(t, c, `{ accounts(where: {name: {eq: "Acme"}}) { totalCount nodes { name children { nodes { name parent { name } } }
		contacts(first: 3, orderBy: [{lastName: DESC}]) { totalCount pageInfo { hasNextPage } nodes { lastName account { name } } } } } }`, nil)
	if n := e.statements.Load() - before; n != 2 { // set_config (tenant and statement_timeout), the root field
		t.Errorf("ran %d statements, want 2 (no N+1)", n)
	}
	if get(q, "accounts", "totalCount").(interface{ String() string }).String() != "1" {
		t.Fatalf("totalCount: %v", q)
	}
	acc := get(q, "accounts", "nodes", 0)
	if get(acc, "children", "nodes", 0, "name") != "Acme Labs" || get(acc, "children", "nodes", 0, "parent", "name") != "Acme" {
		t.Fatalf("children: %v", acc)
	}
	if get(acc, "contacts", "nodes", 0, "lastName") != "Person 6" || get(acc, "contacts", "pageInfo", "hasNextPage") != true {
		t.Fatalf("contacts: %v", get(acc, "contacts"))
	}

	// Keyset pagination walks every contact exactly once, forwards and backwards.
	seen := map[string]bool{}
	after := any(nil)
	for page := 0; ; page++ {
		r := e.ok(t, c, `query($after: String) { contacts(first: 3, after: $after, orderBy: [{email: ASC}]) {
			edges { cursor node { email } } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after})
		for _, edge := range get(r, "contacts", "edges").([]any) {
			em := get(edge, "node", "email").(string)
			if seen[em] {
				t.Fatalf("page %d repeats %s", page, em)
			}
			seen[em] = true
		}
		if get(r, "contacts", "pageInfo", "hasNextPage") != true {
			break
		}
		after = get(r, "contacts", "pageInfo", "endCursor")
	}
	if len(seen) != 7 {
		t.Fatalf("paged through %d contacts, want 7", len(seen))
	}
	back := e.ok(t, c, `{ contacts(last: 2, orderBy: [{email: ASC}]) { nodes { email } pageInfo { hasPreviousPage } } }`, nil)
	if get(back, "contacts", "nodes", 0, "email") != "p5@acme.example" || get(back, "contacts", "nodes", 1, "email") != "p6@acme.example" {
		t.Fatalf("last 2: %v", back)
	}

	// Filters through lookups and over related lists.
	f := e.ok(t, c, `{ contacts(where: {account: {name: {startsWith: "Acme"}}, lastName: {in: ["Person 1", "Person 2"]}}) { totalCount }
		accounts(where: {contacts: {count: {gte: 5}}}) { nodes { name } }
		none: accounts(where: {contacts: {none: {}}}) { nodes { name } } }`, nil)
	if fmt.Sprint(get(f, "contacts", "totalCount")) != "2" {
		t.Fatalf("lookup filter: %v", f)
	}
	if fmt.Sprint(get(f, "accounts", "nodes")) != "[map[name:Acme]]" || fmt.Sprint(get(f, "none", "nodes")) != "[map[name:Acme Labs]]" {
		t.Fatalf("related filters: %v", f)
	}

	// Aggregates.
	agg := e.ok(t, c, `{ accountsAggregate(groupBy: [industry]) { key { industry } count sum { employees } max { name } } }`, nil)
	groups := get(agg, "accountsAggregate").([]any)
	if len(groups) != 2 || get(groups[0], "key", "industry") != "technology" || fmt.Sprint(get(groups[0], "sum", "employees")) != "500" {
		t.Fatalf("aggregate: %v", agg)
	}

	// Bulk upsert on the unique e-mail: one update, one create.
	up := e.ok(t, c, `mutation { upsertContacts(on: email, inputs: [{lastName: "Renamed", email: "P1@acme.example"}, {lastName: "New", email: "new@acme.example"}]) { lastName email } }`, nil)
	if get(up, "upsertContacts", 0, "lastName") != "Renamed" || get(up, "upsertContacts", 1, "lastName") != "New" {
		t.Fatalf("upsert: %v", up)
	}
	cnt := e.ok(t, c, `{ contacts { totalCount } }`, nil)
	if fmt.Sprint(get(cnt, "contacts", "totalCount")) != "8" {
		t.Fatalf("after upsert: %v", cnt)
	}

	// Bulk delete, then restore one.
	del := e.ok(t, c, `mutation { deleteContacts(where: {lastName: {startsWith: "Person"}}) { count ids } }`, nil)
	if fmt.Sprint(get(del, "deleteContacts", "count")) != "6" {
		t.Fatalf("deleteMany: %v", del)
	}
	id := get(del, "deleteContacts", "ids", 0).(string)
	res := e.ok(t, c, `mutation($id: ID!) { restoreContact(id: $id) { id deletedAt } }`, map[string]any{"id": id})
	if get(res, "restoreContact", "deletedAt") != nil {
		t.Fatalf("restore: %v", res)
	}
	node := e.ok(t, c, `query($id: ID!) { node(id: $id) { __typename id ... on Contact { email } } }`, map[string]any{"id": id})
	if get(node, "node", "__typename") != "Contact" || get(node, "node", "id") != id {
		t.Fatalf("node: %v", node)
	}
}
