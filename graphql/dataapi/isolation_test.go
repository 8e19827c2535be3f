package dataapi

import (
	"fmt"
	"strings"
	"testing"
)

// Tenant B can never read or write tenant A's records, through any root
// field. The test runs twice: as the application role, under row-level
// security, and as a superuser that row-level security does not restrict,
// so the application's own scoping of every statement is tested alone.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	for _, owner := range []bool{false, true} {
		t.Run(fmt.Sprintf("rlsBypassed=%v", owner), func(t *testing.T) {
			t.Parallel()
			e := newEnvAs(t, Options{}, owner)
			testTenantIsolation(t, e)
			// The pool reaches both tenants' rows unless row-level security
			// restricts it: so the second run does test the application alone.
			var n int
			if err := e.pool.QueryRow(t.Context(), "SELECT count(DISTINCT tenant_id) FROM records").Scan(&n); err != nil && !owner {
				n = 0 // fails closed without a tenant: fine
			} else if err != nil {
				t.Fatal(err)
			}
			if owner != (n == 2) {
				t.Errorf("rlsBypassed=%v, but the pool sees %d tenants' records", owner, n)
			}
		})
	}
}

func testTenantIsolation(t *testing.T, e *env) {
	a := e.tenant(t, "tenant-a")
	b := e.tenant(t, "tenant-b")
	aAcc := e.create(t, a, "Account", map[string]any{"name": "A secret", "employees": 7})
	aCon := e.create(t, a, "Contact", map[string]any{"lastName": "A person", "email": "shared@x.example", "account": aAcc})
	aDeleted := e.create(t, a, "Account", map[string]any{"name": "A deleted"})
	e.ok(t, a, `mutation($id: ID!) { deleteAccount(id: $id) { id } }`, map[string]any{"id": aDeleted})
	e.tagGroup(t, a, "segment", []string{"Account"}, "vip")
	e.tagGroup(t, b, "segment", []string{"Account"}, "vip")
	bAcc := e.create(t, b, "Account", map[string]any{"name": "B own"})
	bCon := e.create(t, b, "Contact", map[string]any{"lastName": "B person", "account": bAcc})

	// Reads.
	vars := map[string]any{"acc": aAcc, "con": aCon}
	r := e.ok(t, b, `query($acc: ID!, $con: ID!) {
		account(id: $acc) { id } contact(id: $con) { id } node(id: $acc) { id } nodes(ids: [$acc, $con]) { id }
		accounts(includeDeleted: true) { totalCount nodes { name contacts { totalCount } } }
		byID: accounts(where: {id: {in: [$acc]}}) { totalCount }
		contacts(where: {account: {id: {eq: $acc}}}) { totalCount }
		withA: accounts(where: {contacts: {some: {id: {eq: $con}}}}) { totalCount }
		accountsAggregate { count sum { employees } }
		contactsAggregate(groupBy: [account]) { key { account } count } }`, vars)
	for _, k := range []string{"account", "contact", "node"} {
		if get(r, k) != nil {
			t.Errorf("%s of another tenant: %v", k, get(r, k))
		}
	}
	if fmt.Sprint(get(r, "nodes")) != "[<nil> <nil>]" {
		t.Errorf("nodes of another tenant: %v", get(r, "nodes"))
	}
	same(t, "accounts", field(r, "name", "accounts", "nodes"), []string{"B own"})
	for _, k := range []string{"byID", "contacts", "withA"} {
		if fmt.Sprint(get(r, k, "totalCount")) != "0" {
			t.Errorf("%s reached another tenant: %v", k, get(r, k))
		}
	}
	if fmt.Sprint(get(r, "accountsAggregate")) != "[map[count:1 sum:map[employees:<nil>]]]" {
		t.Errorf("aggregate: %v", get(r, "accountsAggregate"))
	}
	if fmt.Sprint(get(r, "contactsAggregate")) != fmt.Sprintf("[map[count:1 key:map[account:%s]]]", bAcc) {
		t.Errorf("grouped aggregate: %v", get(r, "contactsAggregate"))
	}

	// Writes by id.
	for _, m := range []string{
		`updateAccount(id: $id, input: {name: "stolen"}) { id }`,
		`deleteAccount(id: $id) { id }`,
		`addAccountTags(id: $id, tags: ["segment/vip"]) { id }`,
		`removeAccountTags(id: $id, tags: ["segment/vip"]) { id }`,
	} {
		e.mustFail(t, b, CodeNotFound, `mutation($id: ID!) { `+m+` }`, map[string]any{"id": aAcc})
	}
	e.mustFail(t, b, CodeNotFound, `mutation($id: ID!) { restoreAccount(id: $id) { id } }`, map[string]any{"id": aDeleted})

	// Another tenant's id planted in a lookup.
	e.mustFail(t, b, CodeBadUserInput, `mutation($a: ID) { createContact(input: {lastName: "x", account: $a}) { id } }`, map[string]any{"a": aAcc})
	e.mustFail(t, b, CodeBadUserInput, `mutation($id: ID!, $a: ID) { updateContact(id: $id, input: {account: $a}) { id } }`, map[string]any{"id": bCon, "a": aAcc})
	e.mustFail(t, b, CodeBadUserInput, `mutation($a: ID) { createContacts(inputs: [{lastName: "x"}, {lastName: "y", account: $a}]) { id } }`, map[string]any{"a": aAcc})
	e.mustFail(t, b, CodeBadUserInput, `mutation($a: ID) { updateContacts(where: {}, set: {account: $a}) { id } }`, map[string]any{"a": aAcc})
	e.mustFail(t, b, CodeBadUserInput, `mutation($a: ID) { upsertContacts(on: email, inputs: [{lastName: "x", email: "x@x.example", account: $a}]) { id } }`, map[string]any{"a": aAcc})

	// Bulk writes with A's ids in where, and with no condition at all.
	u := e.ok(t, b, `mutation($acc: ID!) { updateAccounts(where: {id: {eq: $acc}}, set: {name: "stolen"}) { id }
		deleteContacts(where: {account: {id: {eq: $acc}}}) { count } }`, map[string]any{"acc": aAcc})
	if fmt.Sprint(get(u, "updateAccounts")) != "[]" || fmt.Sprint(get(u, "deleteContacts", "count")) != "0" {
		t.Errorf("bulk writes reached another tenant: %v", u)
	}
	u = e.ok(t, b, `mutation { updateAccounts(where: {}, set: {billingCity: "B town"}) { name } }`, nil)
	same(t, "updateMany of everything", field(u, "name", "updateAccounts"), []string{"B own"})
	// An upsert on a unique value A holds creates B's own record.
	up := e.ok(t, b, `mutation { upsertContacts(on: email, inputs: [{lastName: "B's", email: "SHARED@x.example"}]) { id lastName } }`, nil)
	if get(up, "upsertContacts", 0, "id") == aCon {
		t.Errorf("upsert matched another tenant's record: %v", up)
	}
	d := e.ok(t, b, `mutation { deleteAccounts(where: {}) { count ids } }`, nil)
	if fmt.Sprint(get(d, "deleteAccounts", "ids")) != "["+bAcc+"]" {
		t.Errorf("deleteMany of everything: %v", d)
	}

	// A is untouched.
	ra := e.ok(t, a, `query($acc: ID!, $con: ID!) { account(id: $acc) { name billingCity version tags deletedAt }
		contact(id: $con) { lastName account { id } } accounts(includeDeleted: true) { totalCount } }`, vars)
	if get(ra, "account", "name") != "A secret" || get(ra, "account", "billingCity") != nil || fmt.Sprint(get(ra, "account", "version")) != "1" ||
		get(ra, "contact", "lastName") != "A person" || get(ra, "contact", "account", "id") != aAcc || fmt.Sprint(get(ra, "accounts", "totalCount")) != "2" {
		t.Errorf("tenant A changed: %v", ra)
	}
	// B's SDL and A's are separate schemas of separate models; a cursor of
	// A's list pages B's own records only.
	c := e.ok(t, a, `{ accounts(first: 1, orderBy: [{name: ASC}]) { pageInfo { endCursor } } }`, nil)
	rb := e.ok(t, b, `query($c: String) { accounts(includeDeleted: true, after: $c, orderBy: [{name: ASC}]) { nodes { name } } }`,
		map[string]any{"c": get(c, "accounts", "pageInfo", "endCursor")})
	for _, n := range field(rb, "name", "accounts", "nodes") {
		if strings.HasPrefix(n, "A ") {
			t.Errorf("a cursor of tenant A reached A's records from B: %v", rb)
		}
	}
}
