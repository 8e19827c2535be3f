package dataapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// count returns how many live records a root list has, optionally meeting
// where.
func (e *env) count(t *testing.T, c Caller, root, where string) string {
	t.Helper()
	if where == "" {
		where = "{}"
	}
	d := e.ok(t, c, fmt.Sprintf(`{ r: %s(where: %s) { totalCount } }`, root, where), nil)
	return fmt.Sprint(get(d, "r", "totalCount"))
}

// mustFail runs a query that must fail with code, and returns the result.
func (e *env) mustFail(t *testing.T, c Caller, code, query string, vars map[string]any) result {
	t.Helper()
	r := e.do(t, c, query, vars)
	if r.code() != code {
		t.Fatalf("%s: got %s (%v), want %s", query, r.code(), r.Errors, code)
	}
	return r
}

// Single-record writes: versions, conflicts, delete and restore, tags.
func TestSingleWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "writes")
	d := e.ok(t, c, `mutation { createAccount(input: {name: "Acme", industry: finance, employees: 10, website: "https://acme.example",
		annualRevenue: {amount: 12.50, currency: "EUR"}}) { id name industry employees website annualRevenue { amount currency }
		version createdBy updatedBy createdAt updatedAt deletedAt tags owner } }`, nil)
	acc := get(d, "createAccount")
	id := get(acc, "id").(string)
	if fmt.Sprint(get(acc, "version")) != "1" || get(acc, "industry") != "finance" || fmt.Sprint(get(acc, "annualRevenue", "amount")) != "12.50" ||
		get(acc, "createdBy") != "user:test" || get(acc, "deletedAt") != nil || fmt.Sprint(get(acc, "tags")) != "[]" || get(acc, "owner") != nil {
		t.Fatalf("created: %v", acc)
	}
	if _, ok := get(acc, "annualRevenue", "amount").(json.Number); !ok {
		t.Errorf("amount %T, want a JSON number", get(acc, "annualRevenue", "amount"))
	}

	// Update with the right version, then a stale one.
	u := e.ok(t, c, `mutation($id: ID!) { updateAccount(id: $id, expectedVersion: 1, input: {name: "Acme Inc", industry: null}) { name industry version } }`,
		map[string]any{"id": id})
	if get(u, "updateAccount", "name") != "Acme Inc" || get(u, "updateAccount", "industry") != nil || fmt.Sprint(get(u, "updateAccount", "version")) != "2" {
		t.Fatalf("update: %v", u)
	}
	r := e.mustFail(t, c, CodeConflict, `mutation($id: ID!) { updateAccount(id: $id, expectedVersion: 1, input: {name: "Stale"}) { name } }`, map[string]any{"id": id})
	if !strings.Contains(r.message(), "version 2, not 1") || r.Data != nil {
		t.Errorf("stale update: %v %v", r.Errors, r.Data)
	}
	if fmt.Sprint(r.Errors[0]["path"]) != "[updateAccount]" {
		t.Errorf("stale update path: %v", r.Errors[0]["path"])
	}
	e.mustFail(t, c, CodeConflict, `mutation($id: ID!) { deleteAccount(id: $id, expectedVersion: 7) { id } }`, map[string]any{"id": id})
	if n := e.count(t, c, "accounts", `{name: {eq: "Acme Inc"}}`); n != "1" {
		t.Fatalf("after refused writes: %s accounts named Acme Inc", n)
	}

	// An update that changes nothing keeps the version.
	u = e.ok(t, c, `mutation($id: ID!) { updateAccount(id: $id, input: {name: "Acme Inc"}) { version } }`, map[string]any{"id": id})
	if fmt.Sprint(get(u, "updateAccount", "version")) != "2" {
		t.Errorf("no-op update: %v", u)
	}

	// Delete returns the deleted record; it is gone from reads; restore.
	del := e.ok(t, c, `mutation($id: ID!) { deleteAccount(id: $id, expectedVersion: 2) { id name deletedAt } }`, map[string]any{"id": id})
	if get(del, "deleteAccount", "deletedAt") == nil || get(del, "deleteAccount", "name") != "Acme Inc" {
		t.Fatalf("delete: %v", del)
	}
	g := e.ok(t, c, `query($id: ID!) { account(id: $id) { id } node(id: $id) { id } }`, map[string]any{"id": id})
	if get(g, "account") != nil || get(g, "node") != nil {
		t.Errorf("deleted record is still read: %v", g)
	}
	e.mustFail(t, c, CodeNotFound, `mutation($id: ID!) { deleteAccount(id: $id) { id } }`, map[string]any{"id": id})
	e.mustFail(t, c, CodeNotFound, `mutation($id: ID!) { updateAccount(id: $id, input: {name: "x"}) { id } }`, map[string]any{"id": id})
	res := e.ok(t, c, `mutation($id: ID!) { restoreAccount(id: $id) { name deletedAt } }`, map[string]any{"id": id})
	if get(res, "restoreAccount", "deletedAt") != nil || get(res, "restoreAccount", "name") != "Acme Inc" {
		t.Errorf("restore: %v", res)
	}
	e.mustFail(t, c, CodeNotFound, `mutation($id: ID!) { restoreAccount(id: $id) { id } }`, map[string]any{"id": id})

	// Unknown and malformed ids.
	missing := "00000000-0000-4000-8000-000000000000"
	for _, m := range []string{"updateAccount(id: $id, input: {name: \"x\"})", "deleteAccount(id: $id)", "restoreAccount(id: $id)",
		"addAccountTags(id: $id, tags: [])", "removeAccountTags(id: $id, tags: [])"} {
		e.mustFail(t, c, CodeNotFound, `mutation($id: ID!) { `+m+` { id } }`, map[string]any{"id": missing})
		r := e.mustFail(t, c, CodeBadUserInput, `mutation($id: ID!) { `+m+` { id } }`, map[string]any{"id": "nope"})
		if r.argPath() != "[id]" {
			t.Errorf("%s with a bad id: argumentPath %s", m, r.argPath())
		}
	}
	// A record of another object is not found under this one.
	con := e.create(t, c, "Contact", map[string]any{"lastName": "Able"})
	e.mustFail(t, c, CodeNotFound, `mutation($id: ID!) { updateAccount(id: $id, input: {name: "x"}) { id } }`, map[string]any{"id": con})

	// Tags: added, removed, unknown.
	e.tagGroup(t, c, "segment", []string{"Account"}, "vip", "partner")
	tg := e.ok(t, c, `mutation($id: ID!) { addAccountTags(id: $id, tags: ["segment/vip", "segment/partner"]) { tags version } }`, map[string]any{"id": id})
	if fmt.Sprint(get(tg, "addAccountTags", "tags")) != "[segment/partner segment/vip]" {
		t.Errorf("add tags: %v", tg)
	}
	tg = e.ok(t, c, `mutation($id: ID!) { removeAccountTags(id: $id, tags: ["segment/vip"]) { tags } }`, map[string]any{"id": id})
	if fmt.Sprint(get(tg, "removeAccountTags", "tags")) != "[segment/partner]" {
		t.Errorf("remove tags: %v", tg)
	}
	r = e.mustFail(t, c, CodeBadUserInput, `mutation($id: ID!) { addAccountTags(id: $id, tags: ["segment/partner", "segment/nope"]) { tags } }`, map[string]any{"id": id})
	if r.argPath() != "[tags 1]" || !strings.Contains(r.message(), "segment/nope") {
		t.Errorf("unknown tag: %v", r.Errors)
	}
	r = e.mustFail(t, c, CodeBadUserInput, `mutation($id: ID!) { removeAccountTags(id: $id, tags: ["segment/gone"]) { tags } }`, map[string]any{"id": id})
	if r.argPath() != "[tags 0]" {
		t.Errorf("removing an unknown tag: %v", r.Errors)
	}
	r = e.mustFail(t, c, CodeBadUserInput, `mutation($id: ID!) { addContactTags(id: $id, tags: ["segment/vip"]) { tags } }`, map[string]any{"id": con})
	if !strings.HasPrefix(r.argPath(), "[tags") {
		t.Errorf("a tag of another object: %v", r.Errors)
	}
	tg = e.ok(t, c, `query($id: ID!) { account(id: $id) { tags } }`, map[string]any{"id": id})
	if fmt.Sprint(get(tg, "account", "tags")) != "[segment/partner]" {
		t.Errorf("refused tag changes changed tags: %v", tg)
	}
}

// Invalid records, lookups to missing records and unique clashes are
// precise errors, and change nothing.
func TestWriteErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "werr")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme"})
	con := e.create(t, c, "Contact", map[string]any{"lastName": "Able", "email": "able@acme.example"})
	missing := "00000000-0000-4000-8000-000000000000"

	r := e.mustFail(t, c, CodeBadUserInput, `mutation { createContact(input: {lastName: "B", email: "not an address"}) { id } }`, nil)
	if !strings.Contains(r.message(), "/email") || get(r.Errors[0], "extensions", "details") == nil {
		t.Errorf("invalid value: %v", r.Errors)
	}
	if r.argPath() != "[input email]" {
		t.Errorf("invalid value: argumentPath %s, want [input email]", r.argPath())
	}
	r = e.mustFail(t, c, CodeBadUserInput, `mutation($a: ID) { createContact(input: {lastName: "B", account: $a}) { id } }`, map[string]any{"a": missing})
	if !strings.Contains(r.message(), "account") || r.argPath() != "[input account]" {
		t.Errorf("missing lookup target: %v", r.Errors)
	}
	// A lookup to a record of another object is a missing target too.
	e.mustFail(t, c, CodeBadUserInput, `mutation($a: ID) { createContact(input: {lastName: "B", account: $a}) { id } }`, map[string]any{"a": con})
	e.mustFail(t, c, CodeBadUserInput, `mutation($id: ID!, $a: ID) { updateContact(id: $id, input: {account: $a}) { id } }`, map[string]any{"id": con, "a": missing})
	e.mustFail(t, c, CodeBadUserInput, `mutation { createAccount(input: {name: "x", employees: -1}) { id } }`, nil)
	e.mustFail(t, c, CodeBadUserInput, `mutation { createAccount(input: {name: "x", owner: "someone"}) { id } }`, nil)

	// Unique clashes: CONFLICT naming the field.
	r = e.mustFail(t, c, CodeConflict, `mutation { createContact(input: {lastName: "B", email: "ABLE@acme.example"}) { id } }`, nil)
	if !strings.Contains(r.message(), "email") {
		t.Errorf("unique clash: %v", r.Errors)
	}
	other := e.create(t, c, "Contact", map[string]any{"lastName": "Other", "email": "other@acme.example"})
	e.mustFail(t, c, CodeConflict, `mutation($id: ID!) { updateContact(id: $id, input: {email: "able@acme.example"}) { id } }`, map[string]any{"id": other})

	// Deleting an account a deal restricts.
	e.create(t, c, "Deal", map[string]any{"name": "D", "account": acc})
	r = e.mustFail(t, c, CodeConflict, `mutation($id: ID!) { deleteAccount(id: $id) { id } }`, map[string]any{"id": acc})
	if !strings.Contains(r.message(), "onDelete restrict") {
		t.Errorf("restricted delete: %v", r.Errors)
	}
	e.mustFail(t, c, CodeConflict, `mutation { deleteAccounts(where: {name: {eq: "Acme"}}) { count } }`, nil)
	if n := e.count(t, c, "accounts", ""); n != "1" {
		t.Errorf("restricted delete deleted: %s accounts left", n)
	}
	if n := e.count(t, c, "contacts", ""); n != "2" {
		t.Errorf("refused writes wrote: %s contacts", n)
	}
}

// Bulk writes are all or nothing; their errors name the input.
func TestBulkWrites(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Limits: Limits{MaxBulk: 5}})
	c := e.tenant(t, "bulk")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme"})

	// createMany: one bad input writes nothing and names its index.
	in := []any{
		map[string]any{"lastName": "A", "email": "a@x.example", "account": acc, "jobLevel": "staff"},
		map[string]any{"lastName": "B", "email": "bad"},
		map[string]any{"lastName": "C", "email": "c@x.example"},
	}
	r := e.mustFail(t, c, CodeBadUserInput, `mutation($in: [ContactCreateInput!]!) { createContacts(inputs: $in) { id } }`, map[string]any{"in": in})
	if !strings.Contains(r.message(), "/1/email") || r.argPath() != "[inputs 1 email]" {
		t.Errorf("createMany error does not name input 1: %v", r.Errors)
	}
	if n := e.count(t, c, "contacts", ""); n != "0" {
		t.Fatalf("failed createMany wrote %s contacts", n)
	}
	// A lookup to a missing record in one input.
	in[1] = map[string]any{"lastName": "B", "account": "00000000-0000-4000-8000-000000000000"}
	r = e.mustFail(t, c, CodeBadUserInput, `mutation($in: [ContactCreateInput!]!) { createContacts(inputs: $in) { id } }`, map[string]any{"in": in})
	if !strings.Contains(r.message(), "/1/account") {
		t.Errorf("createMany lookup error: %v", r.Errors)
	}
	// Two inputs sharing a unique value.
	in[1] = map[string]any{"lastName": "B", "email": "A@x.example"}
	r = e.mustFail(t, c, CodeConflict, `mutation($in: [ContactCreateInput!]!) { createContacts(inputs: $in) { id } }`, map[string]any{"in": in})
	if !strings.Contains(r.message(), "/1/email") {
		t.Errorf("createMany duplicate: %v", r.Errors)
	}
	if n := e.count(t, c, "contacts", ""); n != "0" {
		t.Fatalf("failed createMany wrote %s contacts", n)
	}
	in[1] = map[string]any{"lastName": "B", "email": "b@x.example", "jobLevel": "manager"}
	d := e.ok(t, c, `mutation($in: [ContactCreateInput!]!) { createContacts(inputs: $in) { lastName jobLevel account { name } } }`, map[string]any{"in": in})
	same(t, "created", field(d, "lastName", "createContacts"), []string{"A", "B", "C"})
	same(t, "created job levels", field(d, "jobLevel", "createContacts"), []string{"staff", "manager", "<nil>"})
	// A clash with a stored record.
	r = e.mustFail(t, c, CodeConflict, `mutation { createContacts(inputs: [{lastName: "D"}, {lastName: "E", email: "c@X.example"}]) { id } }`, nil)
	if !strings.Contains(r.message(), "/1/email") {
		t.Errorf("createMany clash with a stored record: %v", r.Errors)
	}
	// More than MaxBulk.
	r = e.mustFail(t, c, CodeLimitExceeded, `mutation { createContacts(inputs: [{lastName: "1"}, {lastName: "2"}, {lastName: "3"}, {lastName: "4"}, {lastName: "5"}, {lastName: "6"}]) { id } }`, nil)
	if !strings.Contains(r.message(), "MaxBulk") {
		t.Errorf("MaxBulk error: %v", r.Errors)
	}
	if n := e.count(t, c, "contacts", ""); n != "3" {
		t.Fatalf("%s contacts, want 3", n)
	}

	// updateMany with where, returning what it changed.
	u := e.ok(t, c, `mutation { updateContacts(where: {email: {in: ["a@x.example", "b@x.example"]}}, set: {title: "CTO", jobLevel: executive}) { lastName title jobLevel version } }`, nil)
	got := field(u, "lastName", "updateContacts")
	if len(got) != 2 || fmt.Sprint(field(u, "jobLevel", "updateContacts")) != "[executive executive]" || fmt.Sprint(field(u, "version", "updateContacts")) != "[2 2]" {
		t.Errorf("updateMany: %v", u)
	}
	if n := e.count(t, c, "contacts", `{title: {eq: "CTO"}}`); n != "2" {
		t.Errorf("updateMany changed %s contacts", n)
	}
	// A unique value for two records: nothing changes.
	e.mustFail(t, c, CodeConflict, `mutation { updateContacts(where: {title: {eq: "CTO"}}, set: {email: "same@x.example"}) { id } }`, nil)
	// An invalid patch.
	r = e.mustFail(t, c, CodeBadUserInput, `mutation { updateContacts(where: {}, set: {email: "bad"}) { id } }`, nil)
	if r.argPath() != "[set email]" {
		t.Errorf("updateMany invalid patch: argumentPath %s", r.argPath())
	}
	// Nothing matches: nothing changes.
	u = e.ok(t, c, `mutation { updateContacts(where: {lastName: {eq: "nobody"}}, set: {title: "x"}) { id } }`, nil)
	if fmt.Sprint(get(u, "updateContacts")) != "[]" {
		t.Errorf("updateMany of nothing: %v", u)
	}
	// More matches than MaxBulk.
	e.ok(t, c, `mutation { createContacts(inputs: [{lastName: "x1"}, {lastName: "x2"}, {lastName: "x3"}]) { id } }`, nil)
	r = e.mustFail(t, c, CodeLimitExceeded, `mutation { updateContacts(where: {}, set: {title: "all"}) { id } }`, nil)
	if !strings.Contains(r.message(), "MaxBulk") {
		t.Errorf("updateMany over MaxBulk: %v", r.Errors)
	}
	e.mustFail(t, c, CodeLimitExceeded, `mutation { deleteContacts(where: {}) { count } }`, nil)
	if n := e.count(t, c, "contacts", `{title: {eq: "all"}}`); n != "0" {
		t.Errorf("refused updateMany changed %s contacts", n)
	}

	// deleteMany with where.
	del := e.ok(t, c, `mutation { deleteContacts(where: {lastName: {startsWith: "x"}}) { count ids __typename } }`, nil)
	if fmt.Sprint(get(del, "deleteContacts", "count")) != "3" || len(get(del, "deleteContacts", "ids").([]any)) != 3 || get(del, "deleteContacts", "__typename") != "DeleteResult" {
		t.Errorf("deleteMany: %v", del)
	}
	del = e.ok(t, c, `mutation { deleteContacts(where: {lastName: {eq: "nobody"}}) { count ids } }`, nil)
	if fmt.Sprint(get(del, "deleteContacts")) != "map[count:0 ids:[]]" {
		t.Errorf("deleteMany of nothing: %v", del)
	}
	if n := e.count(t, c, "contacts", ""); n != "3" {
		t.Errorf("%s contacts after deleteMany, want 3", n)
	}
}

// upsertMany creates or updates on a unique field, all or nothing.
func TestUpsert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "upsert")
	e.create(t, c, "Contact", map[string]any{"lastName": "Able", "email": "able@x.example", "title": "CEO"})
	d := e.ok(t, c, `mutation { upsertContacts(on: email, inputs: [{lastName: "Able 2", email: "ABLE@x.example"}, {lastName: "New", email: "new@x.example", jobLevel: staff}]) {
		lastName email title jobLevel version } }`, nil)
	same(t, "upserted", field(d, "lastName", "upsertContacts"), []string{"Able 2", "New"})
	same(t, "versions", field(d, "version", "upsertContacts"), []string{"2", "1"})
	same(t, "kept values", field(d, "title", "upsertContacts"), []string{"CEO", "<nil>"})
	same(t, "job levels", field(d, "jobLevel", "upsertContacts"), []string{"<nil>", "staff"})
	if n := e.count(t, c, "contacts", ""); n != "2" {
		t.Fatalf("%s contacts after upsert, want 2", n)
	}
	// One bad input: nothing is written, the input is named.
	r := e.mustFail(t, c, CodeBadUserInput, `mutation { upsertContacts(on: email, inputs: [{lastName: "Third", email: "third@x.example"}, {lastName: "Bad", email: "bad"}]) { id } }`, nil)
	if !strings.Contains(r.message(), "/1/email") {
		t.Errorf("upsert error does not name input 1: %v", r.Errors)
	}
	r = e.mustFail(t, c, CodeBadUserInput, `mutation { upsertContacts(on: email, inputs: [{lastName: "Third", email: "third@x.example"}, {lastName: "No email"}]) { id } }`, nil)
	if r.argPath() != "[inputs 1 email]" {
		t.Errorf("upsert without the key: argumentPath %s", r.argPath())
	}
	if n := e.count(t, c, "contacts", ""); n != "2" {
		t.Fatalf("failed upserts wrote: %s contacts", n)
	}
}

// A mutation's selection is planned before the write: a selection the
// limits refuse writes nothing, and variables in it are honoured.
func TestMutationSelection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Limits: Limits{MaxDepth: 3}})
	c := e.tenant(t, "msel")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme"})
	con := e.create(t, c, "Contact", map[string]any{"lastName": "A", "account": acc})
	e.create(t, c, "Contact", map[string]any{"lastName": "B", "account": acc})

	r := e.mustFail(t, c, CodeLimitExceeded, `mutation($a: ID) { createContact(input: {lastName: "Deep", account: $a}) {
		account { contacts { nodes { account { name } } } } } }`, map[string]any{"a": acc})
	if !strings.Contains(r.message(), "MaxDepth") {
		t.Errorf("depth error: %v", r.Errors)
	}
	r = e.mustFail(t, c, CodeBadUserInput, `mutation { createContact(input: {lastName: "Bad arg"}) { deals(first: -1) { totalCount } } }`, nil)
	if r.argPath() != "[first]" {
		t.Errorf("nested argument error: %v", r.Errors)
	}
	e.mustFail(t, c, CodeLimitExceeded, `mutation { updateContacts(where: {}, set: {title: "x"}) { account { contacts { nodes { account { name } } } } } }`, nil)
	e.mustFail(t, c, CodeBadUserInput, `mutation { a: createContacts(inputs: [{lastName: "Z"}]) { deals(after: "junk") { totalCount } } }`, nil)
	e.mustFail(t, c, CodeBadUserInput, `mutation { a: upsertContacts(on: email, inputs: [{lastName: "Z", email: "z@x.example"}]) { deals(first: 1, last: 1) { totalCount } } }`, nil)
	e.tagGroup(t, c, "segment", []string{"Contact"}, "vip")
	e.mustFail(t, c, CodeLimitExceeded, `mutation($id: ID!) { addContactTags(id: $id, tags: ["segment/vip"]) { account { contacts { nodes { account { name } } } } } }`,
		map[string]any{"id": con})
	if n := e.count(t, c, "contacts", `{tags: {hasAny: ["segment/vip"]}}`); n != "0" {
		t.Errorf("refused selection tagged %s contacts", n)
	}
	if n := e.count(t, c, "contacts", `{lastName: {in: ["Deep", "Bad arg", "Z"]}}`); n != "0" {
		t.Errorf("refused selections wrote %s contacts", n)
	}
	if n := e.count(t, c, "contacts", `{title: {eq: "x"}}`); n != "0" {
		t.Errorf("refused selection updated %s contacts", n)
	}

	// Variables in a mutation's selection.
	d := e.ok(t, c, `mutation($id: ID!, $n: Int, $skip: Boolean!) { updateAccount(id: $id, input: {billingCity: "Berlin"}) {
		name @skip(if: $skip) billingCity contacts(first: $n, orderBy: [{lastName: DESC}]) { nodes { lastName } } } }`,
		map[string]any{"id": acc, "n": 1, "skip": true})
	if _, has := get(d, "updateAccount").(map[string]any)["name"]; has {
		t.Errorf("@skip(if: $skip) ignored in a mutation: %v", d)
	}
	same(t, "contacts(first: $n)", field(d, "lastName", "updateAccount", "contacts", "nodes"), []string{"B"})
}

// Mutation fields run in order, each its own transaction: a later field
// sees an earlier one's write, and a failing field does not undo it.
func TestMutationFieldsInOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "order")
	d := e.ok(t, c, `mutation { a: createAccount(input: {name: "First"}) { id } b: updateAccounts(where: {name: {eq: "First"}}, set: {name: "Second"}) { name } __typename }`, nil)
	same(t, "second field sees the first", field(d, "name", "b"), []string{"Second"})
	if d["__typename"] != "Mutation" {
		t.Errorf("__typename: %v", d)
	}
	r := e.do(t, c, `mutation { a: createAccount(input: {name: "Kept"}) { id } b: createContact(input: {lastName: "x", email: "bad"}) { id } c: createAccount(input: {name: "Also kept"}) { id } }`, nil)
	if len(r.Errors) != 1 || fmt.Sprint(r.Errors[0]["path"]) != "[b]" || r.Data != nil {
		t.Errorf("failing middle field: %v %v", r.Errors, r.Data)
	}
	if n := e.count(t, c, "accounts", `{name: {in: ["Kept", "Also kept"]}}`); n != "2" {
		t.Errorf("fields around a failing one wrote %s accounts, want 2", n)
	}
}

// A created record is owned by the creating user unless the input names
// an owner; an integration creates records without one. Under a scope of
// "my records", what a user creates is theirs to see.
func TestCreateOwner(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "owner")
	user := c
	user.Actor = meID
	user.Scope = ownerScope("mine", meID)
	d := e.ok(t, user, `mutation { a: createAccount(input: {name: "Mine"}) { owner createdBy } b: createAccounts(inputs: [{name: "Mine too"}]) { owner } }`, nil)
	if fmt.Sprint(d["a"]) != fmt.Sprintf("map[createdBy:%s owner:%s]", meID, meID) || fmt.Sprint(d["b"]) != fmt.Sprintf("[map[owner:%s]]", meID) {
		t.Errorf("create: %v", d)
	}
	r := e.do(t, user, `mutation { b: createAccounts(inputs: [{name: "Mine too"}, {name: "Given", owner: "`+herID+`"}]) { owner } }`, nil)
	if r.code() != CodeForbidden {
		t.Errorf("createMany with a record outside the scope: %v", r.Errors)
	}
	integration := c
	integration.Actor = "integration:erp"
	d = e.ok(t, integration, `mutation { createAccount(input: {name: "Synced"}) { owner createdBy } }`, nil)
	if fmt.Sprint(d["createAccount"]) != "map[createdBy:integration:erp owner:<nil>]" {
		t.Errorf("integration create: %v", d["createAccount"])
	}
}
