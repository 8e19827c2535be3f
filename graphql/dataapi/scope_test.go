package dataapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/schema/model"
)

// A Scope hiding objects, fields and edits shapes the schema: what it
// hides is absent from the SDL and refused by validation wherever it
// could be named.
func TestScopeShapesSchema(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	admin := e.tenant(t, "shape")
	acc := e.create(t, admin, "Account", map[string]any{"name": "Acme", "annualRevenue": map[string]any{"amount": 5, "currency": "USD"}})
	deal := e.create(t, admin, "Deal", map[string]any{"name": "D", "account": acc})
	e.create(t, admin, "Lead", map[string]any{"lastName": "L"})

	scope := &Scope{
		Key:        "shape",
		ReadObject: func(o *model.Object) bool { return o.APIName != "Deal" },
		Allow: func(o *model.Object, act string) bool {
			return o.APIName != "Lead" && !(o.APIName == "Account" && act == "delete")
		},
		ReadField: func(o *model.Object, f *model.Field) bool {
			return !(o.APIName == "Account" && f.APIName == "annualRevenue")
		},
		EditField: func(o *model.Object, f *model.Field) bool { return !(o.APIName == "Contact" && f.APIName == "email") },
	}
	c := admin
	c.Scope = scope
	s, err := e.api.Schema(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	for _, absent := range []string{"type Deal ", "DealFilter", "deals(", "deal: Deal", "annualRevenue", "createLead", "LeadCreateInput", "upsertContacts", "ContactUniqueField",
		"deleteAccount(", "deleteAccounts(", "restoreAccount("} {
		if strings.Contains(s.SDL, absent) {
			t.Errorf("SDL has %q", absent)
		}
	}
	for _, present := range []string{"type Lead ", "leads(", "type Activity ", "createContact(", "email: Email", "createAccount(", "updateAccounts(", "addAccountTags("} {
		if !strings.Contains(s.SDL, present) {
			t.Errorf("SDL lacks %q", present)
		}
	}
	if strings.Contains(sdlBlock(s.SDL, "input ContactCreateInput"), "email") || strings.Contains(sdlBlock(s.SDL, "input ContactUpdateInput"), "email") {
		t.Errorf("email is editable")
	}
	if !strings.Contains(sdlBlock(s.SDL, "input ContactFilter"), "email") {
		t.Errorf("email cannot be filtered on")
	}

	for _, q := range []string{
		`{ deals { totalCount } }`,
		`{ accounts { nodes { annualRevenue { amount } } } }`,
		`{ accounts(where: {annualRevenue: {isNull: false}}) { totalCount } }`,
		`{ accounts(orderBy: [{annualRevenue: ASC}]) { totalCount } }`,
		`{ accountsAggregate { sum { annualRevenue } } }`,
		`{ accounts { nodes { deals { totalCount } } } }`,
		`{ activities(where: {deal: {name: {eq: "D"}}}) { totalCount } }`,
		`{ accounts(where: {deals: {some: {}}}) { totalCount } }`,
		`mutation { createLead(input: {lastName: "x"}) { id } }`,
		`mutation { createContact(input: {lastName: "x", email: "x@y.example"}) { id } }`,
		`mutation { upsertContacts(on: email, inputs: []) { id } }`,
	} {
		if r := e.do(t, c, q, nil); r.code() != CodeValidationFailed {
			t.Errorf("%s: got %v, want %s", q, r.Errors, CodeValidationFailed)
		}
	}
	r := e.do(t, c, `mutation($in: ContactCreateInput!) { createContact(input: $in) { id } }`, map[string]any{"in": map[string]any{"lastName": "x", "email": "x@y.example"}})
	if r.code() != CodeBadUserInput {
		t.Errorf("hidden input field in a variable: %v", r.Errors)
	}
	// A hidden object's records are not nodes.
	n := e.ok(t, c, `query($d: ID!, $a: ID!) { node(id: $d) { id } nodes(ids: [$d, $a]) { id } }`, map[string]any{"d": deal, "a": acc})
	if get(n, "node") != nil || get(n, "nodes", 0) != nil || get(n, "nodes", 1, "id") != acc {
		t.Errorf("hidden object's node: %v", n)
	}
	// The unrestricted caller of the same tenant still sees everything.
	e.ok(t, admin, `{ deals { totalCount } accounts { nodes { annualRevenue { amount } } } }`, nil)
}

// sdlBlock returns the block of the SDL that starts with head.
func sdlBlock(sdl, head string) string {
	i := strings.Index(sdl, head+" {")
	if i < 0 {
		return ""
	}
	j := strings.Index(sdl[i:], "}")
	return sdl[i : i+j]
}

// scopeData: accounts and contacts owned by me and by someone else, under
// a Scope that shows me only my own accounts and contacts.
type scopeData struct {
	e                 *env
	admin, me         Caller
	mine, mine2, hers string // accounts
	cMine, cOnHers    string // my contacts: on my account, on hers
	cHers             string // her contact on my account
	deal              string // a deal (unrestricted) on her account
}

const (
	meID  = "00000000-0000-4000-8000-0000000000aa"
	herID = "00000000-0000-4000-8000-0000000000bb"
)

func ownerScope(key, owner string) *Scope {
	return &Scope{Key: key, Records: func(o *model.Object) json.RawMessage {
		if o.APIName == "Account" || o.APIName == "Contact" {
			return json.RawMessage(`{"field": "owner", "op": "eq", "value": "` + owner + `"}`)
		}
		return nil
	}}
}

func newScopeData(t *testing.T) *scopeData {
	t.Helper()
	e := newEnv(t, Options{})
	d := &scopeData{e: e, admin: e.tenant(t, "scoped")}
	d.me = d.admin
	d.me.Scope = ownerScope("me", meID)
	a := d.admin
	d.mine = e.create(t, a, "Account", map[string]any{"name": "Mine", "owner": meID, "employees": 10})
	d.mine2 = e.create(t, a, "Account", map[string]any{"name": "Mine too", "owner": meID, "employees": 20})
	d.hers = e.create(t, a, "Account", map[string]any{"name": "Hers", "owner": herID, "employees": 30})
	d.cMine = e.create(t, a, "Contact", map[string]any{"lastName": "My contact", "account": d.mine, "owner": meID, "email": "mine@x.example"})
	d.cOnHers = e.create(t, a, "Contact", map[string]any{"lastName": "My contact on hers", "account": d.hers, "owner": meID})
	d.cHers = e.create(t, a, "Contact", map[string]any{"lastName": "Her contact", "account": d.mine, "owner": herID, "email": "hers@x.example"})
	d.deal = e.create(t, a, "Deal", map[string]any{"name": "Deal on hers", "account": d.hers, "contact": d.cHers})
	return d
}

// The Records predicate applies on every read path.
func TestScopeRecordsReads(t *testing.T) {
	t.Parallel()
	d := newScopeData(t)
	e, me := d.e, d.me
	vars := map[string]any{"mine": d.mine, "hers": d.hers, "cOnHers": d.cOnHers, "cHers": d.cHers, "deal": d.deal}
	r := e.ok(t, me, `query($mine: ID!, $hers: ID!, $cOnHers: ID!, $cHers: ID!, $deal: ID!) {
		accounts(orderBy: [{name: ASC}]) { totalCount nodes { name contacts { totalCount nodes { lastName } } } }
		hers: account(id: $hers) { name }
		herContact: contact(id: $cHers) { lastName }
		node(id: $hers) { id }
		nodes(ids: [$mine, $hers, $cHers]) { id }
		onHers: contact(id: $cOnHers) { lastName account { name } }
		deal(id: $deal) { name account { name } contact { lastName } }
		deals { nodes { account { name contacts { totalCount } } } }
		accountsAggregate { count sum { employees } }
		contactsAggregate(groupBy: [account]) { key { account } count }
	}`, vars)
	same(t, "accounts", field(r, "name", "accounts", "nodes"), []string{"Mine", "Mine too"})
	if fmt.Sprint(get(r, "accounts", "totalCount")) != "2" {
		t.Errorf("totalCount: %v", get(r, "accounts"))
	}
	same(t, "Mine's contacts", field(r, "lastName", "accounts", "nodes", 0, "contacts", "nodes"), []string{"My contact"})
	if fmt.Sprint(get(r, "accounts", "nodes", 0, "contacts", "totalCount")) != "1" {
		t.Errorf("related totalCount: %v", get(r, "accounts", "nodes", 0))
	}
	for _, k := range []string{"hers", "herContact", "node"} {
		if get(r, k) != nil {
			t.Errorf("%s: %v", k, get(r, k))
		}
	}
	if fmt.Sprint(get(r, "nodes")) != fmt.Sprintf("[map[id:%s] <nil> <nil>]", d.mine) {
		t.Errorf("nodes: %v", get(r, "nodes"))
	}
	if get(r, "onHers", "lastName") != "My contact on hers" || get(r, "onHers", "account") != nil {
		t.Errorf("lookup to a hidden record: %v", get(r, "onHers"))
	}
	if get(r, "deal", "name") != "Deal on hers" || get(r, "deal", "account") != nil || get(r, "deal", "contact") != nil {
		t.Errorf("unrestricted record's lookups to hidden ones: %v", get(r, "deal"))
	}
	if fmt.Sprint(get(r, "deals", "nodes", 0, "account")) != "<nil>" {
		t.Errorf("nested lookup: %v", get(r, "deals"))
	}
	if fmt.Sprint(get(r, "accountsAggregate")) != "[map[count:2 sum:map[employees:30]]]" {
		t.Errorf("aggregate: %v", get(r, "accountsAggregate"))
	}
	if groups := get(r, "contactsAggregate").([]any); len(groups) != 2 {
		t.Errorf("contacts aggregate: %v", groups)
	}

	// Filters do not reach hidden records either: through a lookup, over a
	// related list, or by counting one.
	for _, tc := range []struct {
		root, display, where string
		want                 []string
	}{
		{"contacts", "lastName", `{account: {name: {eq: "Hers"}}}`, nil},
		{"contacts", "lastName", `{account: {name: {ne: "Mine"}}}`, []string{"My contact on hers"}},
		{"contacts", "lastName", `{account: {employees: {isNull: true}}}`, []string{"My contact on hers"}},
		{"contacts", "lastName", `{not: {account: {employees: {gte: 0}}}}`, []string{"My contact on hers"}},
		{"deals", "name", `{account: {name: {eq: "Hers"}}}`, nil},
		{"deals", "name", `{contact: {account: {name: {eq: "Mine"}}}}`, nil},
		{"deals", "name", `{account: {id: {isNull: true}}}`, []string{"Deal on hers"}},
		{"accounts", "name", `{contacts: {some: {lastName: {eq: "Her contact"}}}}`, nil},
		{"accounts", "name", `{contacts: {count: {gte: 2}}}`, nil},
		{"accounts", "name", `{contacts: {none: {}}}`, []string{"Mine too"}},
		{"accounts", "name", `{contacts: {every: {lastName: {eq: "My contact"}}}}`, []string{"Mine", "Mine too"}},
	} {
		q := fmt.Sprintf(`{ r: %s(where: %s, orderBy: [{%s: ASC}]) { nodes { %s } } }`, tc.root, tc.where, tc.display, tc.display)
		got := field(e.ok(t, me, q, nil), tc.display, "r", "nodes")
		same(t, tc.root+"(where: "+tc.where+")", got, tc.want)
	}
}

// The Records predicate applies on every write path: a record outside it
// is NOT_FOUND by id and untouched by bulk writes.
func TestScopeRecordsWrites(t *testing.T) {
	t.Parallel()
	d := newScopeData(t)
	e, me := d.e, d.me
	e.tagGroup(t, d.admin, "segment", []string{"Account"}, "vip")
	for _, m := range []string{
		`updateAccount(id: $id, input: {name: "x"}) { id }`,
		`deleteAccount(id: $id) { id }`,
		`addAccountTags(id: $id, tags: ["segment/vip"]) { id }`,
		`removeAccountTags(id: $id, tags: ["segment/vip"]) { id }`,
	} {
		e.mustFail(t, me, CodeNotFound, `mutation($id: ID!) { `+m+` }`, map[string]any{"id": d.hers})
	}
	e.ok(t, d.admin, `mutation($id: ID!) { deleteAccount(id: $id) { id } }`, map[string]any{"id": d.mine2})
	e.ok(t, d.admin, `mutation($id: ID!) { updateDeal(id: $id, input: {account: null}) { id } }`, map[string]any{"id": d.deal})
	e.ok(t, d.admin, `mutation($id: ID!) { deleteAccount(id: $id) { id } }`, map[string]any{"id": d.hers})
	e.mustFail(t, me, CodeNotFound, `mutation($id: ID!) { restoreAccount(id: $id) { id } }`, map[string]any{"id": d.hers})
	e.ok(t, me, `mutation($id: ID!) { restoreAccount(id: $id) { id } }`, map[string]any{"id": d.mine2})
	e.ok(t, d.admin, `mutation($id: ID!) { restoreAccount(id: $id) { id } }`, map[string]any{"id": d.hers})

	u := e.ok(t, me, `mutation { updateAccounts(where: {}, set: {billingCity: "Berlin"}) { name } }`, nil)
	if n := len(get(u, "updateAccounts").([]any)); n != 2 {
		t.Errorf("updateMany changed %d accounts, want 2: %v", n, u)
	}
	a := e.ok(t, d.admin, `{ accounts(where: {billingCity: {eq: "Berlin"}}) { totalCount } }`, nil)
	if fmt.Sprint(get(a, "accounts", "totalCount")) != "2" {
		t.Errorf("updateMany reached hers: %v", a)
	}
	del := e.ok(t, me, `mutation { deleteContacts(where: {lastName: {contains: "contact"}}) { count ids } }`, nil)
	if fmt.Sprint(get(del, "deleteContacts", "count")) != "2" {
		t.Errorf("deleteMany: %v", del)
	}
	left := e.ok(t, d.admin, `{ contacts { nodes { lastName } } }`, nil)
	same(t, "contacts left", field(left, "lastName", "contacts", "nodes"), []string{"Her contact"})

	// An upsert cannot reach a hidden record through its unique value.
	r := e.do(t, me, `mutation { upsertContacts(on: email, inputs: [{lastName: "Taken over", email: "HERS@x.example", owner: "`+meID+`"}]) { lastName } }`, nil)
	if r.code() != CodeConflict || r.argPath() != "[inputs 0 email]" {
		t.Errorf("upsert onto a hidden record: %v %v", r.Errors, r.Data)
	}
	h := e.ok(t, d.admin, `query($id: ID!) { contact(id: $id) { lastName owner } }`, map[string]any{"id": d.cHers})
	if get(h, "contact", "lastName") != "Her contact" || get(h, "contact", "owner") != herID {
		t.Errorf("upsert changed a hidden record: %v", h)
	}

	// Writing a record outside the scope is an error, not a null.
	r = e.do(t, me, `mutation { upsertContacts(on: email, inputs: [{lastName: "Hers now", email: "new@x.example", owner: "`+herID+`"}]) { lastName } }`, nil)
	if r.code() != CodeForbidden {
		t.Errorf("upsert creating outside the scope: %v %v", r.Errors, r.Data)
	}
	r = e.do(t, me, `mutation { createAccount(input: {name: "Given away", owner: "`+herID+`"}) { id } }`, nil)
	if r.code() != CodeForbidden || !strings.Contains(r.message(), "outside") {
		t.Errorf("create outside the scope: %v %v", r.Errors, r.Data)
	}
	r = e.do(t, me, `mutation($id: ID!) { updateAccount(id: $id, input: {owner: "`+herID+`"}) { id } }`, map[string]any{"id": d.mine})
	if r.code() != CodeForbidden {
		t.Errorf("update out of the scope: %v %v", r.Errors, r.Data)
	}
}

// The planner uses the caller's record predicate even when a schema for
// the same scope key is cached from a caller without one.
func TestScopeRecordsNotCachedAcrossCallers(t *testing.T) {
	t.Parallel()
	d := newScopeData(t)
	open := d.admin
	open.Scope = &Scope{Key: "k"}
	restricted := d.admin
	restricted.Scope = ownerScope("k", meID)
	d.e.ok(t, open, `{ accounts { totalCount } }`, nil)
	r := d.e.ok(t, restricted, `{ accounts { totalCount } }`, nil)
	if fmt.Sprint(get(r, "accounts", "totalCount")) != "2" {
		t.Errorf("restricted caller sees %v accounts, want 2", get(r, "accounts", "totalCount"))
	}
}

// A lookup filter into an object whose record predicate cannot be tested
// through a lookup (it tests tags or related lists) is refused rather than
// reaching hidden records.
func TestScopeUntranslatablePredicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	admin := e.tenant(t, "tagscope")
	e.tagGroup(t, admin, "segment", []string{"Account"}, "vip")
	vip := e.create(t, admin, "Account", map[string]any{"name": "Vip"})
	plain := e.create(t, admin, "Account", map[string]any{"name": "Plain"})
	e.ok(t, admin, `mutation($id: ID!) { addAccountTags(id: $id, tags: ["segment/vip"]) { id } }`, map[string]any{"id": vip})
	e.create(t, admin, "Contact", map[string]any{"lastName": "At plain", "account": plain})
	c := admin
	c.Scope = &Scope{Key: "vip", Records: func(o *model.Object) json.RawMessage {
		if o.APIName == "Account" {
			return json.RawMessage(`{"tags": "hasAny", "value": ["segment/vip"]}`)
		}
		return nil
	}}
	d := e.ok(t, c, `{ accounts { nodes { name } } contacts { nodes { lastName account { name } } } }`, nil)
	same(t, "accounts", field(d, "name", "accounts", "nodes"), []string{"Vip"})
	if get(d, "contacts", "nodes", 0, "account") != nil {
		t.Errorf("lookup to a hidden account: %v", get(d, "contacts"))
	}
	r := e.do(t, c, `{ contacts(where: {account: {name: {eq: "Plain"}}}) { totalCount } }`, nil)
	if r.code() != CodeForbidden || r.argPath() != "[where account]" {
		t.Errorf("lookup filter through a tag predicate: %v %v", r.Errors, r.Data)
	}
	// Related lists of it can be filtered: the predicate is on their own records.
	d = e.ok(t, c, `{ contacts(where: {deals: {none: {}}}) { totalCount } }`, nil)
	if fmt.Sprint(get(d, "contacts", "totalCount")) != "1" {
		t.Errorf("related filter: %v", d)
	}
}
