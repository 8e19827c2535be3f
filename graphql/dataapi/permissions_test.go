package dataapi

// The permission suite of issue 9 ("Done when"): real users, roles and
// grants (tenants, schema/permissions over platform/access and casbin),
// callers built exactly as cmd/lattice builds them (principal, then
// perms.View, then ScopeOf), and a table of (caller, access path, expected
// outcome) over every path of the data API, asserting exact record sets.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/tags"
	"github.com/latticecrm/lattice/schema/templates"
	"github.com/latticecrm/lattice/tenants"
)

// permEnv is one tenant with the CRM template as the server sees it: users
// and memberships (tenants.Service), the built-in roles and custom ones
// (permissions.Service over access.Service), and the data API.
type permEnv struct {
	*env
	ts     *tenants.Service
	acc    *access.Service
	perms  *permissions.Service
	tenant tenants.Tenant
	users  map[string]tenants.Principal // by short name: admin, rep1, ...
	ids    map[string]string            // record ids by record name
}

// newPermEnv creates the tenant, applies the CRM template and adds a
// tenant admin called "admin".
func newPermEnv(t testing.TB, slug string) *permEnv {
	t.Helper()
	ctx := context.Background()
	e := newEnv(t, Options{})
	ts, err := tenants.New(e.pool, tenants.Options{})
	if err != nil {
		t.Fatal(err)
	}
	acc := access.New(e.pool, access.Options{})
	p := &permEnv{env: e, ts: ts, acc: acc, perms: permissions.New(acc, e.cat, ts, permissions.Options{}),
		users: map[string]tenants.Principal{}, ids: map[string]string{}}
	if p.tenant, err = ts.CreateTenant(ctx, slug, slug); err != nil {
		t.Fatal(err)
	}
	b, err := e.cat.Validator().ParseBundle(templates.CRM())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Apply(ctx, p.tenant.ID, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	p.member(t, "admin", tenants.RoleAdmin)
	return p
}

// member creates a user, makes them a member of the tenant and assigns
// them roles (as an operator).
func (p *permEnv) member(t testing.TB, name, membership string, roles ...string) tenants.Principal {
	t.Helper()
	ctx := context.Background()
	email := name + "@" + p.tenant.Slug + ".example"
	u, err := p.ts.CreateUser(ctx, email, name, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.ts.AddMember(ctx, p.tenant.ID, u.ID, membership); err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if err := p.perms.Assign(ctx, p.tenant.ID, "", permissions.UserSubject(u.ID), r); err != nil {
			t.Fatal(err)
		}
	}
	pr := tenants.Principal{TenantID: p.tenant.ID, TenantSlug: p.tenant.Slug, UserID: u.ID, Email: email, Role: membership}
	p.users[name] = pr
	return pr
}

// callerOf builds a request's caller exactly as the server does
// (cmd/lattice/dataapi.go): the principal's permissions view, then its
// scope.
func callerOf(ctx context.Context, perms *permissions.Service, pr tenants.Principal) (Caller, error) {
	v, err := perms.View(ctx, pr)
	if err != nil {
		return Caller{}, err
	}
	return Caller{TenantID: pr.TenantID, Actor: records.Actor(pr.UserID), Scope: ScopeOf(v)}, nil
}

// caller is the caller of the named user, built afresh as for a request.
func (p *permEnv) caller(t testing.TB, who string) Caller {
	t.Helper()
	pr, ok := p.users[who]
	if !ok {
		t.Fatalf("no user %q", who)
	}
	c, err := callerOf(context.Background(), p.perms, pr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (p *permEnv) grant(t testing.TB, role, object, action, effect string) {
	t.Helper()
	if err := p.perms.Grant(context.Background(), p.tenant.ID, "", permissions.Grant{Role: role, Object: object, Action: action, Effect: effect}); err != nil {
		t.Fatal(err)
	}
}

// nameField is the field a record of object is named by in these tests.
func nameField(object string) string {
	if object == "Lead" || object == "Contact" {
		return "lastName"
	}
	return "name"
}

// add creates a record through the API as who (so the owner default
// applies when input names none) and remembers its id under its name.
func (p *permEnv) add(t testing.TB, who, object, name string, input map[string]any) string {
	t.Helper()
	in := map[string]any{nameField(object): name}
	for k, v := range input {
		in[k] = p.expand(v)
	}
	id := p.create(t, p.caller(t, who), object, in)
	p.ids[name] = id
	return id
}

var placeholder = regexp.MustCompile(`\{\{(@?)([^}]+)\}\}`)

// expand replaces {{Record name}} with the record's id and {{@user}} with
// the user's id, in a string (or a string inside a slice).
func (p *permEnv) expand(v any) any {
	switch x := v.(type) {
	case string:
		return p.expandString(x, nil)
	case []any:
		out := make([]any, len(x))
		for i, el := range x {
			out[i] = p.expand(el)
		}
		return out
	}
	return v
}

func (p *permEnv) expandString(s string, local map[string]string) string {
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		if sub[1] == "@" {
			if u, ok := p.users[sub[2]]; ok {
				return u.UserID
			}
		} else if id, ok := local[sub[2]]; ok {
			return id
		} else if id, ok := p.ids[sub[2]]; ok {
			return id
		}
		panic("unknown placeholder " + m)
	})
}

// pluck extracts values from decoded JSON by a path: "a.b.0.c" is one
// value; "a.x,y.z" is the sub-paths x and y.z of a, joined by "/";
// "a.nodes[].x,y.z" is one such value per element of the list a.nodes.
// null (or absent) renders as "null".
func pluck(v any, path string) []string {
	head, rest, list := strings.Cut(path, "[]")
	if !list {
		// "a.b,c.d": the sub-paths b and c.d of a.
		first, _, several := strings.Cut(path, ",")
		if !several {
			return []string{render(get(v, segments(path)...))}
		}
		i := strings.LastIndex(first, ".")
		base := get(v, segments(path[:max(i, 0)])...)
		if base == nil {
			return []string{"null"}
		}
		var parts []string
		for _, sub := range strings.Split(path[i+1:], ",") {
			parts = append(parts, render(get(base, segments(sub)...)))
		}
		return []string{strings.Join(parts, "/")}
	}
	l, _ := get(v, segments(head)...).([]any)
	out := []string{}
	rest = strings.TrimPrefix(rest, ".")
	for _, el := range l {
		if rest == "" {
			out = append(out, render(el))
			continue
		}
		var parts []string
		for _, sub := range strings.Split(rest, ",") {
			parts = append(parts, render(get(el, segments(sub)...)))
		}
		out = append(out, strings.Join(parts, "/"))
	}
	return out
}

func segments(path string) []any {
	var out []any
	for _, s := range strings.Split(path, ".") {
		if s == "" {
			continue
		}
		if i, err := strconv.Atoi(s); err == nil {
			out = append(out, i)
		} else {
			out = append(out, s)
		}
	}
	return out
}

func render(v any) string {
	if v == nil {
		return "null"
	}
	return fmt.Sprint(v)
}

// sameSet fails unless got and want hold the same values, in any order.
func sameSet(t testing.TB, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Errorf("%s = %q, want %q", what, g, w)
	}
}

// permCase is one (caller, access path, expected outcome).
type permCase struct {
	name  string
	who   string
	query string
	// code is the error code expected ("" for none). A validation failure
	// must come with no data at all; other errors with null data.
	code string
	// want are values at paths (pluck), compared as sets after expanding
	// placeholders; has and lacks are values that must be present in or
	// absent from them.
	want, has, lacks map[string][]string
	// seed are records the case writes to, created as admin with the owner
	// given; after are reads as admin once the operation ran: what it
	// changed and what it left alone.
	seed  []permSeed
	after []permCheck
}

type permSeed struct {
	object, name, owner string
	fields              map[string]any
	tags                []string
	deleted             bool
}

type permCheck struct {
	query string
	want  map[string][]string
}

// run runs the case: seeds, the operation as the caller, the checks.
func (p *permEnv) run(t *testing.T, c permCase) {
	t.Helper()
	local := map[string]string{}
	admin := p.caller(t, "admin")
	for _, s := range c.seed {
		in := map[string]any{nameField(s.object): s.name, "owner": p.users[s.owner].UserID}
		for k, v := range s.fields {
			in[k] = p.expand(v)
		}
		id := p.create(t, admin, s.object, in)
		local[s.name] = id
		if len(s.tags) > 0 {
			p.ok(t, admin, fmt.Sprintf(`mutation($id: ID!, $t: [String!]!) { add%sTags(id: $id, tags: $t) { id } }`, s.object), map[string]any{"id": id, "t": s.tags})
		}
		if s.deleted {
			p.ok(t, admin, fmt.Sprintf(`mutation($id: ID!) { delete%s(id: $id) { id } }`, s.object), map[string]any{"id": id})
		}
	}
	query := p.expandString(c.query, local)
	if c.code == CodeValidationFailed {
		// The query itself is sound: it validates against the admin's
		// schema, so what refuses it is the caller's permissions.
		s, err := p.api.Schema(context.Background(), admin)
		if err != nil {
			t.Fatal(err)
		}
		if _, errs := p.api.document(s, query); len(errs) > 0 {
			t.Fatalf("the query does not validate for admin either: %v", errs)
		}
	}
	r := p.do(t, p.caller(t, c.who), query, nil)
	switch {
	case c.code == "" && len(r.Errors) > 0:
		t.Fatalf("%s: errors %v", c.who, r.Errors)
	case c.code != "" && r.code() != c.code:
		t.Fatalf("%s: got %q (%v, data %v), want %s", c.who, r.code(), r.Errors, r.Data, c.code)
	case c.code == CodeValidationFailed && r.Data != nil:
		t.Fatalf("%s: a validation failure with data %v", c.who, r.Data)
	case c.code != "" && c.code != CodeValidationFailed && len(r.Data) > 0:
		t.Fatalf("%s: %s with data %v", c.who, c.code, r.Data)
	}
	if c.code == CodeNotFound && strings.Contains(strings.ToLower(r.message()), "forbidden") {
		t.Errorf("NOT_FOUND says forbidden: %s", r.message())
	}
	expandAll := func(vals []string) []string {
		out := make([]string, len(vals))
		for i, v := range vals {
			out[i] = p.expandString(v, local)
		}
		return out
	}
	for path, want := range c.want {
		sameSet(t, c.who+" "+path, pluck(r.Data, path), expandAll(want))
	}
	for path, vals := range c.has {
		got := pluck(r.Data, path)
		for _, v := range expandAll(vals) {
			if !slices.Contains(got, v) {
				t.Errorf("%s %s = %q lacks %q", c.who, path, got, v)
			}
		}
	}
	for path, vals := range c.lacks {
		got := pluck(r.Data, path)
		if len(got) == 0 || len(got) == 1 && got[0] == "null" {
			t.Errorf("%s %s is empty: nothing to check the absence of %q in", c.who, path, vals)
		}
		for _, v := range expandAll(vals) {
			if slices.Contains(got, v) {
				t.Errorf("%s %s = %q has %q", c.who, path, got, v)
			}
		}
	}
	for _, a := range c.after {
		d := p.ok(t, admin, p.expandString(a.query, local), nil)
		for path, want := range a.want {
			sameSet(t, "afterwards, admin's "+path, pluck(d, path), expandAll(want))
		}
	}
}

// newPermFixture: the tenant of the suite.
//
// Users: admin (tenant admin), rep1 and rep2 (salesRep), mgr (manager,
// which inherits salesRep: the reps, the intern and east are their team),
// ro (readOnly), intern (custom role inheriting salesRep, denied reading
// Lead.email and Contact.phone, editing Lead.source, and everything on
// Deal) and east (custom
// role inheriting salesRep, with a sharing rule: accounts in Boston).
//
// Records, owned by different users; those made through the API by their
// owner take the owner default:
//
//	Accounts: Rep1 Boston (rep1, Boston, 10 employees), Rep2 Chicago (rep2, 20),
//	          Admin Boston (admin, 40), Intern Denver (intern, 80),
//	          Manager Austin (mgr, 160), East Seattle (east, 320)
//	Contacts: Rep1 Contact (rep1, at Rep1 Boston), Rep2 Contact at Rep1 (rep2),
//	          Rep1 Contact at Rep2 (rep1, at Rep2 Chicago),
//	          Intern Contact (intern, at Intern Denver), Admin Contact (admin)
//	Leads:    Rep1 Lead A, Rep1 Lead B (rep1), Rep2 Lead (rep2), Intern Lead,
//	          Admin Lead, Manager Lead
//	Deals:    Rep1 Deal (100), Rep2 Deal (200), Admin Deal (400), Intern Deal (800)
func newPermFixture(t testing.TB) *permEnv {
	t.Helper()
	ctx := context.Background()
	p := newPermEnv(t, "perms")
	tid := p.tenant.ID
	if err := p.perms.CreateRole(ctx, tid, "", "intern", []string{permissions.RoleSalesRep}); err != nil {
		t.Fatal(err)
	}
	p.grant(t, "intern", "field:Lead.email", "read", permissions.Deny)
	p.grant(t, "intern", "field:Contact.phone", "read", permissions.Deny)
	p.grant(t, "intern", "field:Lead.source", "edit", permissions.Deny)
	p.grant(t, "intern", "record:Deal", "*", permissions.Deny)
	if err := p.perms.CreateRole(ctx, tid, "", "east", []string{permissions.RoleSalesRep}); err != nil {
		t.Fatal(err)
	}
	if err := p.perms.AddShare(ctx, tid, "", permissions.Share{Role: "east", Object: "Account",
		Condition: json.RawMessage(`{"field":"billingCity","op":"eq","value":"Boston"}`)}); err != nil {
		t.Fatal(err)
	}
	p.member(t, "rep1", tenants.RoleMember, permissions.RoleSalesRep)
	p.member(t, "rep2", tenants.RoleMember, permissions.RoleSalesRep)
	p.member(t, "mgr", tenants.RoleMember, permissions.RoleManager)
	p.member(t, "ro", tenants.RoleMember, permissions.RoleReadOnly)
	p.member(t, "intern", tenants.RoleMember, "intern")
	p.member(t, "east", tenants.RoleMember, "east")
	p.tagGroup(t, p.caller(t, "admin"), "segment", []string{"Lead", "Account"}, "vip", "cold")

	p.add(t, "rep1", "Account", "Rep1 Boston", map[string]any{"billingCity": "Boston", "employees": 10})
	p.add(t, "rep2", "Account", "Rep2 Chicago", map[string]any{"billingCity": "Chicago", "employees": 20})
	p.add(t, "admin", "Account", "Admin Boston", map[string]any{"billingCity": "Boston", "employees": 40})
	p.add(t, "intern", "Account", "Intern Denver", map[string]any{"billingCity": "Denver", "employees": 80})
	p.add(t, "mgr", "Account", "Manager Austin", map[string]any{"billingCity": "Austin", "employees": 160})
	p.add(t, "east", "Account", "East Seattle", map[string]any{"billingCity": "Seattle", "employees": 320})

	p.add(t, "rep1", "Contact", "Rep1 Contact", map[string]any{"account": "{{Rep1 Boston}}", "email": "rep1@contacts.example", "phone": "+1 555 0101"})
	p.add(t, "admin", "Contact", "Rep2 Contact at Rep1", map[string]any{"account": "{{Rep1 Boston}}", "owner": "{{@rep2}}", "email": "rep2@contacts.example"})
	p.add(t, "admin", "Contact", "Rep1 Contact at Rep2", map[string]any{"account": "{{Rep2 Chicago}}", "owner": "{{@rep1}}"})
	p.add(t, "admin", "Contact", "Intern Contact", map[string]any{"account": "{{Intern Denver}}", "owner": "{{@intern}}", "phone": "+1 555 0104"})
	p.add(t, "admin", "Contact", "Admin Contact", map[string]any{"account": "{{Admin Boston}}"})

	p.add(t, "rep1", "Lead", "Rep1 Lead A", map[string]any{"company": "Acme", "email": "a@leads.example"})
	p.add(t, "rep1", "Lead", "Rep1 Lead B", map[string]any{"company": "Beta", "email": "b@leads.example"})
	p.add(t, "rep2", "Lead", "Rep2 Lead", map[string]any{"company": "Acme", "email": "c@leads.example"})
	p.add(t, "admin", "Lead", "Intern Lead", map[string]any{"company": "Gamma", "email": "d@leads.example", "owner": "{{@intern}}"})
	p.add(t, "admin", "Lead", "Admin Lead", map[string]any{"company": "Acme", "email": "e@leads.example"})
	p.add(t, "mgr", "Lead", "Manager Lead", map[string]any{"company": "Delta", "email": "f@leads.example"})

	for _, d := range []struct {
		name, owner, account string
		amount               int
	}{{"Rep1 Deal", "rep1", "Rep1 Boston", 100}, {"Rep2 Deal", "rep2", "Rep2 Chicago", 200},
		{"Admin Deal", "admin", "Admin Boston", 400}, {"Intern Deal", "intern", "Intern Denver", 800}} {
		p.add(t, "admin", "Deal", d.name, map[string]any{"owner": "{{@" + d.owner + "}}", "account": "{{" + d.account + "}}",
			"amount": map[string]any{"amount": d.amount, "currency": "USD"}})
	}
	return p
}

var (
	permAllAccounts = []string{"Rep1 Boston", "Rep2 Chicago", "Admin Boston", "Intern Denver", "Manager Austin", "East Seattle"}
	permAllLeads    = []string{"Rep1 Lead A", "Rep1 Lead B", "Rep2 Lead", "Intern Lead", "Admin Lead", "Manager Lead"}
	// leadTypeFields are the fields of type Lead an unrestricted caller sees.
	leadTypeFields = []string{"id", "leadNumber", "firstName", "lastName", "company", "email", "phone", "status", "source", "convertedAccount",
		"createdAt", "updatedAt", "createdBy", "updatedBy", "owner", "version", "tags", "score", "grade", "deletedAt", "activities"}
)

func without(list []string, drop ...string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(drop, s) {
			out = append(out, s)
		}
	}
	return out
}

// mutationsOf lists the mutations a caller has on objects, given the
// actions allowed: c create (and createMany), u update (updateMany, tags),
// d delete (restore, deleteMany); upsert needs c and u and a unique field
// (Contact's email).
func mutationsOf(objects map[string]string) []string {
	var out []string
	for obj, acts := range objects {
		plural := map[string]string{"Account": "Accounts", "Contact": "Contacts", "Lead": "Leads", "Deal": "Deals", "Activity": "Activities"}[obj]
		if strings.Contains(acts, "c") {
			out = append(out, "create"+obj, "create"+plural)
		}
		if strings.Contains(acts, "u") {
			out = append(out, "update"+obj, "update"+plural, "add"+obj+"Tags", "remove"+obj+"Tags")
		}
		if strings.Contains(acts, "c") && strings.Contains(acts, "u") && obj == "Contact" {
			out = append(out, "upsertContacts")
		}
		if strings.Contains(acts, "d") {
			out = append(out, "delete"+obj, "restore"+obj, "delete"+plural)
		}
	}
	return out
}

// permReadCases are the read paths. They run on the fixture's records and
// never change them.
func permReadCases() []permCase {
	nodesQ := `{ nodes(ids: ["{{Rep1 Boston}}", "{{Rep2 Chicago}}", "{{Rep1 Lead A}}", "{{Rep2 Lead}}", "{{Admin Boston}}", "{{Intern Deal}}"]) {
		... on Account { name } ... on Lead { lastName } ... on Deal { name } } }`
	nodesWant := func(names ...string) map[string][]string {
		w := map[string][]string{}
		for i, n := range names {
			w[fmt.Sprintf("nodes.%d", i)] = []string{"null"}
			if n != "" {
				key := "name"
				if strings.Contains(n, "Lead") {
					key = "lastName"
				}
				w[fmt.Sprintf("nodes.%d.%s", i, key)] = []string{n}
				delete(w, fmt.Sprintf("nodes.%d", i))
			}
		}
		return w
	}
	accounts := `{ accounts { totalCount nodes { name } } }`
	leads := `{ leads { totalCount nodes { lastName } } }`
	accWant := func(names ...string) map[string][]string {
		return map[string][]string{"accounts.nodes[].name": names, "accounts.totalCount": {strconv.Itoa(len(names))}}
	}
	leadWant := func(names ...string) map[string][]string {
		return map[string][]string{"leads.nodes[].lastName": names, "leads.totalCount": {strconv.Itoa(len(names))}}
	}
	dealsAgg := `{ dealsAggregate { count sum { amount } } }`
	cityAgg := `{ accountsAggregate(groupBy: [billingCity]) { key { billingCity } count sum { employees } } }`
	contactAccount := `{ contacts { nodes { lastName account { name } } } }`
	accContacts := `{ account(id: "{{Rep1 Boston}}") { name contacts { totalCount nodes { lastName } } } }`
	typeFields := `{ __type(name: "Lead") { fields { name } } }`
	mutationFields := `{ __schema { mutationType { fields { name } } } }`
	queryFields := `{ __schema { queryType { fields { name } } } }`
	intern := "intern"
	return []permCase{
		// Lists.
		{name: "list/accounts/admin", who: "admin", query: accounts, want: accWant(permAllAccounts...)},
		{name: "list/accounts/ro", who: "ro", query: accounts, want: accWant(permAllAccounts...)},
		{name: "list/accounts/rep1", who: "rep1", query: accounts, want: accWant("Rep1 Boston")},
		{name: "list/accounts/rep2", who: "rep2", query: accounts, want: accWant("Rep2 Chicago")},
		{name: "list/accounts/mgr", who: "mgr", query: accounts, want: accWant("Rep1 Boston", "Rep2 Chicago", "Intern Denver", "Manager Austin", "East Seattle")},
		{name: "list/accounts/intern", who: intern, query: accounts, want: accWant("Intern Denver")},
		{name: "list/accounts/east (own and shared)", who: "east", query: accounts, want: accWant("East Seattle", "Rep1 Boston", "Admin Boston")},
		{name: "list/leads/admin", who: "admin", query: leads, want: leadWant(permAllLeads...)},
		{name: "list/leads/ro", who: "ro", query: leads, want: leadWant(permAllLeads...)},
		{name: "list/leads/rep1", who: "rep1", query: leads, want: leadWant("Rep1 Lead A", "Rep1 Lead B")},
		{name: "list/leads/rep2", who: "rep2", query: leads, want: leadWant("Rep2 Lead")},
		{name: "list/leads/mgr", who: "mgr", query: leads, want: leadWant("Rep1 Lead A", "Rep1 Lead B", "Rep2 Lead", "Intern Lead", "Manager Lead")},
		{name: "list/leads/intern", who: intern, query: leads, want: leadWant("Intern Lead")},
		{name: "list/leads/east (the share is for accounts only)", who: "east", query: leads, want: leadWant()},
		{name: "list/contacts/rep1", who: "rep1", query: `{ contacts { nodes { lastName } } }`,
			want: map[string][]string{"contacts.nodes[].lastName": {"Rep1 Contact", "Rep1 Contact at Rep2"}}},
		{name: "list/deals/rep1", who: "rep1", query: `{ deals { nodes { name } } }`, want: map[string][]string{"deals.nodes[].name": {"Rep1 Deal"}}},
		{name: "list/deals/mgr", who: "mgr", query: `{ deals { nodes { name } } }`, want: map[string][]string{"deals.nodes[].name": {"Rep1 Deal", "Rep2 Deal", "Intern Deal"}}},
		{name: "list/deals/intern (object hidden)", who: intern, query: `{ deals { totalCount nodes { id } } }`, code: CodeValidationFailed},
		{name: "list/owners from the owner default", who: "admin", query: `{ leads { nodes { lastName owner } } accounts { nodes { name owner } } }`,
			want: map[string][]string{
				"leads.nodes[].lastName,owner": {"Rep1 Lead A/{{@rep1}}", "Rep1 Lead B/{{@rep1}}", "Rep2 Lead/{{@rep2}}", "Intern Lead/{{@intern}}",
					"Admin Lead/{{@admin}}", "Manager Lead/{{@mgr}}"},
				"accounts.nodes[].name,owner": {"Rep1 Boston/{{@rep1}}", "Rep2 Chicago/{{@rep2}}", "Admin Boston/{{@admin}}", "Intern Denver/{{@intern}}",
					"Manager Austin/{{@mgr}}", "East Seattle/{{@east}}"},
			}},

		// By id.
		{name: "byId/rep1", who: "rep1", query: `{ mine: account(id: "{{Rep1 Boston}}") { name } theirs: account(id: "{{Rep2 Chicago}}") { name }
			myLead: lead(id: "{{Rep1 Lead A}}") { lastName email } theirLead: lead(id: "{{Rep2 Lead}}") { lastName } }`,
			want: map[string][]string{"mine.name": {"Rep1 Boston"}, "theirs": {"null"}, "myLead.lastName,email": {"Rep1 Lead A/a@leads.example"}, "theirLead": {"null"}}},
		{name: "byId/mgr", who: "mgr", query: `{ team: account(id: "{{Intern Denver}}") { name } admins: account(id: "{{Admin Boston}}") { name }
			lead(id: "{{Rep2 Lead}}") { lastName } }`,
			want: map[string][]string{"team.name": {"Intern Denver"}, "admins": {"null"}, "lead.lastName": {"Rep2 Lead"}}},
		{name: "byId/east shared", who: "east", query: `{ shared: account(id: "{{Admin Boston}}") { name } other: account(id: "{{Rep2 Chicago}}") { name } }`,
			want: map[string][]string{"shared.name": {"Admin Boston"}, "other": {"null"}}},
		{name: "byId/ro", who: "ro", query: `{ lead(id: "{{Rep2 Lead}}") { lastName email } deal(id: "{{Admin Deal}}") { name } }`,
			want: map[string][]string{"lead.lastName,email": {"Rep2 Lead/c@leads.example"}, "deal.name": {"Admin Deal"}}},
		{name: "byId/intern own lead", who: intern, query: `{ mine: lead(id: "{{Intern Lead}}") { lastName company } theirs: lead(id: "{{Rep1 Lead A}}") { lastName } }`,
			want: map[string][]string{"mine.lastName,company": {"Intern Lead/Gamma"}, "theirs": {"null"}}},
		{name: "byId/intern deal (object hidden)", who: intern, query: `{ deal(id: "{{Intern Deal}}") { id } }`, code: CodeValidationFailed},

		// Nested relations: Account.contacts (a related list) and Contact.account (a lookup).
		{name: "nested/account.contacts/admin", who: "admin", query: accContacts,
			want: map[string][]string{"account.contacts.nodes[].lastName": {"Rep1 Contact", "Rep2 Contact at Rep1"}, "account.contacts.totalCount": {"2"}}},
		{name: "nested/account.contacts/rep1", who: "rep1", query: accContacts,
			want: map[string][]string{"account.contacts.nodes[].lastName": {"Rep1 Contact"}, "account.contacts.totalCount": {"1"}}},
		{name: "nested/account.contacts/mgr", who: "mgr", query: accContacts,
			want: map[string][]string{"account.contacts.nodes[].lastName": {"Rep1 Contact", "Rep2 Contact at Rep1"}, "account.contacts.totalCount": {"2"}}},
		{name: "nested/account.contacts/east (shared account, no contact of theirs)", who: "east", query: accContacts,
			want: map[string][]string{"account.name": {"Rep1 Boston"}, "account.contacts.nodes[].lastName": {}, "account.contacts.totalCount": {"0"}}},
		{name: "nested/accounts.contacts list/rep1", who: "rep1", query: `{ accounts { nodes { name contacts { nodes { lastName } } } } }`,
			want: map[string][]string{"accounts.nodes[].name": {"Rep1 Boston"}, "accounts.nodes.0.contacts.nodes[].lastName": {"Rep1 Contact"}}},
		{name: "nested/contact.account/rep1", who: "rep1", query: contactAccount,
			want: map[string][]string{"contacts.nodes[].lastName,account.name": {"Rep1 Contact/Rep1 Boston", "Rep1 Contact at Rep2/null"}}},
		{name: "nested/contact.account/rep2", who: "rep2", query: contactAccount,
			want: map[string][]string{"contacts.nodes[].lastName,account.name": {"Rep2 Contact at Rep1/null"}}},
		{name: "nested/contact.account/mgr", who: "mgr", query: contactAccount,
			want: map[string][]string{"contacts.nodes[].lastName,account.name": {"Rep1 Contact/Rep1 Boston", "Rep2 Contact at Rep1/Rep1 Boston",
				"Rep1 Contact at Rep2/Rep2 Chicago", "Intern Contact/Intern Denver"}}},
		{name: "nested/contact.account.contacts/rep2 (both ways)", who: "rep2", query: `{ contact(id: "{{Rep2 Contact at Rep1}}") { lastName account { name } } 
			account(id: "{{Rep1 Boston}}") { name } }`,
			want: map[string][]string{"contact.lastName,account.name": {"Rep2 Contact at Rep1/null"}, "account": {"null"}}},
		{name: "nested/deal.account/mgr", who: "mgr", query: `{ deals { nodes { name account { name contacts { nodes { lastName } } } } } }`,
			want: map[string][]string{"deals.nodes[].name,account.name": {"Rep1 Deal/Rep1 Boston", "Rep2 Deal/Rep2 Chicago", "Intern Deal/Intern Denver"}}},

		// node and nodes.
		{name: "node/rep1", who: "rep1", query: `{ a: node(id: "{{Rep1 Boston}}") { id ... on Account { name } } b: node(id: "{{Rep2 Chicago}}") { id }
			c: node(id: "{{Rep2 Lead}}") { id } d: node(id: "{{Rep1 Deal}}") { ... on Deal { name } } }`,
			want: map[string][]string{"a.name": {"Rep1 Boston"}, "b": {"null"}, "c": {"null"}, "d.name": {"Rep1 Deal"}}},
		{name: "nodes/admin", who: "admin", query: nodesQ, want: nodesWant("Rep1 Boston", "Rep2 Chicago", "Rep1 Lead A", "Rep2 Lead", "Admin Boston", "Intern Deal")},
		{name: "nodes/rep1", who: "rep1", query: nodesQ, want: nodesWant("Rep1 Boston", "", "Rep1 Lead A", "", "", "")},
		{name: "nodes/mgr", who: "mgr", query: nodesQ, want: nodesWant("Rep1 Boston", "Rep2 Chicago", "Rep1 Lead A", "Rep2 Lead", "", "Intern Deal")},
		{name: "nodes/east", who: "east", query: nodesQ, want: nodesWant("Rep1 Boston", "", "", "", "Admin Boston", "")},
		{name: "nodes/intern (own deal, object hidden)", who: intern, query: `{ node(id: "{{Intern Deal}}") { id } own: node(id: "{{Intern Lead}}") { ... on Lead { lastName } } }`,
			want: map[string][]string{"node": {"null"}, "own.lastName": {"Intern Lead"}}},

		// Aggregates, with and without groupBy.
		{name: "aggregate/admin", who: "admin", query: dealsAgg, want: map[string][]string{"dealsAggregate[].count,sum.amount": {"4/1500"}}},
		{name: "aggregate/ro", who: "ro", query: dealsAgg, want: map[string][]string{"dealsAggregate[].count,sum.amount": {"4/1500"}}},
		{name: "aggregate/rep1", who: "rep1", query: dealsAgg, want: map[string][]string{"dealsAggregate[].count,sum.amount": {"1/100"}}},
		{name: "aggregate/mgr", who: "mgr", query: dealsAgg, want: map[string][]string{"dealsAggregate[].count,sum.amount": {"3/1100"}}},
		{name: "aggregate/east (no deal of theirs)", who: "east", query: dealsAgg, want: map[string][]string{"dealsAggregate[].count,sum.amount": {"0/null"}}},
		{name: "aggregate/intern (object hidden)", who: intern, query: `{ dealsAggregate { count } }`, code: CodeValidationFailed},
		{name: "aggregate/groupBy/admin", who: "admin", query: cityAgg,
			want: map[string][]string{"accountsAggregate[].key.billingCity,count,sum.employees": {"Austin/1/160", "Boston/2/50", "Chicago/1/20", "Denver/1/80", "Seattle/1/320"}}},
		{name: "aggregate/groupBy/rep1", who: "rep1", query: cityAgg,
			want: map[string][]string{"accountsAggregate[].key.billingCity,count,sum.employees": {"Boston/1/10"}}},
		{name: "aggregate/groupBy/mgr", who: "mgr", query: cityAgg,
			want: map[string][]string{"accountsAggregate[].key.billingCity,count,sum.employees": {"Austin/1/160", "Boston/1/10", "Chicago/1/20", "Denver/1/80", "Seattle/1/320"}}},
		{name: "aggregate/groupBy/east", who: "east", query: cityAgg,
			want: map[string][]string{"accountsAggregate[].key.billingCity,count,sum.employees": {"Boston/2/50", "Seattle/1/320"}}},
		{name: "aggregate/groupBy owner/mgr", who: "mgr", query: `{ leadsAggregate(groupBy: [owner]) { key { owner } count } }`,
			want: map[string][]string{"leadsAggregate[].key.owner,count": {"{{@rep1}}/2", "{{@rep2}}/1", "{{@intern}}/1", "{{@mgr}}/1"}}},
		{name: "aggregate/groupBy company/rep2", who: "rep2", query: `{ leadsAggregate(groupBy: [company]) { key { company } count } }`,
			want: map[string][]string{"leadsAggregate[].key.company,count": {"Acme/1"}}},

		// Filters and sorts stay inside the caller's records.
		{name: "filter/value of another's record/rep1", who: "rep1", query: `{ accounts(where: {billingCity: {eq: "Chicago"}}) { nodes { name } } }`,
			want: map[string][]string{"accounts.nodes[].name": {}}},
		{name: "filter/through a lookup to a hidden record/rep1", who: "rep1", query: `{ contacts(where: {account: {name: {eq: "Rep2 Chicago"}}}) { nodes { lastName } } }`,
			want: map[string][]string{"contacts.nodes[].lastName": {}}},
		{name: "filter/through a lookup, as admin", who: "admin", query: `{ contacts(where: {account: {name: {eq: "Rep2 Chicago"}}}) { nodes { lastName } } }`,
			want: map[string][]string{"contacts.nodes[].lastName": {"Rep1 Contact at Rep2"}}},
		{name: "filter/over a related list/rep1", who: "rep1", query: `{ accounts(where: {contacts: {count: {gte: 2}}}) { nodes { name } } }`,
			want: map[string][]string{"accounts.nodes[].name": {}}},
		{name: "filter/over a related list, as admin", who: "admin", query: `{ accounts(where: {contacts: {count: {gte: 2}}}) { nodes { name } } }`,
			want: map[string][]string{"accounts.nodes[].name": {"Rep1 Boston"}}},
		{name: "filter/owner of another/rep1", who: "rep1", query: `{ leads(where: {owner: {eq: "{{@rep2}}"}}) { nodes { lastName } } }`,
			want: map[string][]string{"leads.nodes[].lastName": {}}},
		{name: "filter/visible field/rep1", who: "rep1", query: `{ leads(where: {email: {eq: "a@leads.example"}}) { nodes { lastName } } }`,
			want: map[string][]string{"leads.nodes[].lastName": {"Rep1 Lead A"}}},
		{name: "sort/visible field/rep1", who: "rep1", query: `{ leads(orderBy: [{email: DESC}]) { nodes { lastName } } }`,
			want: map[string][]string{"leads.nodes.0.lastName": {"Rep1 Lead B"}, "leads.nodes.1.lastName": {"Rep1 Lead A"}, "leads.nodes.2": {"null"}}},

		// Hidden fields (the intern's Lead.email and Contact.phone) cannot
		// be selected, filtered, sorted, grouped or aggregated on.
		{name: "hidden/select", who: intern, query: `{ leads { nodes { lastName email } } }`, code: CodeValidationFailed},
		{name: "hidden/select by id", who: intern, query: `{ lead(id: "{{Intern Lead}}") { email } }`, code: CodeValidationFailed},
		{name: "hidden/select through a lookup", who: intern, query: `{ activities { nodes { lead { email } } } }`, code: CodeValidationFailed},
		{name: "hidden/select in a related list", who: intern, query: `{ accounts { nodes { contacts { nodes { phone } } } } }`, code: CodeValidationFailed},
		{name: "hidden/select on node", who: intern, query: `{ node(id: "{{Intern Lead}}") { ... on Lead { email } } }`, code: CodeValidationFailed},
		{name: "hidden/filter", who: intern, query: `{ leads(where: {email: {eq: "d@leads.example"}}) { totalCount } }`, code: CodeValidationFailed},
		{name: "hidden/filter isNull", who: intern, query: `{ leads(where: {email: {isNull: false}}) { totalCount } }`, code: CodeValidationFailed},
		{name: "hidden/filter through a lookup", who: intern, query: `{ activities(where: {lead: {email: {isNull: false}}}) { totalCount } }`, code: CodeValidationFailed},
		{name: "hidden/filter over a related list", who: intern, query: `{ accounts(where: {contacts: {some: {phone: {eq: "+1 555 0104"}}}}) { totalCount } }`, code: CodeValidationFailed},
		{name: "hidden/filter in an aggregate", who: intern, query: `{ leadsAggregate(where: {email: {eq: "d@leads.example"}}) { count } }`, code: CodeValidationFailed},
		{name: "hidden/filter in a bulk update", who: intern, query: `mutation { updateLeads(where: {email: {eq: "d@leads.example"}}, set: {company: "x"}) { id } }`, code: CodeValidationFailed},
		{name: "hidden/sort", who: intern, query: `{ leads(orderBy: [{email: ASC}]) { totalCount } }`, code: CodeValidationFailed},
		{name: "hidden/sort a related list", who: intern, query: `{ accounts { nodes { contacts(orderBy: [{phone: ASC}]) { totalCount } } } }`, code: CodeValidationFailed},
		{name: "hidden/group by", who: intern, query: `{ contactsAggregate(groupBy: [phone]) { count } }`, code: CodeValidationFailed},
		{name: "hidden/group by key", who: intern, query: `{ leadsAggregate(groupBy: [company]) { key { email } count } }`, code: CodeValidationFailed},
		{name: "hidden/aggregate min", who: intern, query: `{ leadsAggregate { min { email } } }`, code: CodeValidationFailed},
		{name: "hidden/aggregate max", who: intern, query: `{ contactsAggregate { max { phone } } }`, code: CodeValidationFailed},
		{name: "hidden/object's lookup", who: intern, query: `{ activities { nodes { deal { id } } } }`, code: CodeValidationFailed},
		{name: "hidden/object's related list", who: intern, query: `{ accounts { nodes { deals { totalCount } } } }`, code: CodeValidationFailed},
		{name: "hidden/object's related list filter", who: intern, query: `{ accounts(where: {deals: {some: {}}}) { totalCount } }`, code: CodeValidationFailed},
		{name: "hidden/the same paths work with the field visible", who: "rep1",
			query: `{ leads(where: {email: {isNull: false}}, orderBy: [{email: ASC}]) { nodes { email } } contactsAggregate(groupBy: [phone]) { key { phone } count }
				leadsAggregate { min { email } } }`,
			want: map[string][]string{"leads.nodes[].email": {"a@leads.example", "b@leads.example"}, "contactsAggregate[].key.phone,count": {"+1 555 0101/1", "null/1"},
				"leadsAggregate[].min.email": {"a@leads.example"}}},
		{name: "read-only field/selected, filtered, sorted, grouped", who: intern,
			query: `{ leads(where: {source: {isNull: true}}, orderBy: [{source: ASC}]) { nodes { lastName source } } leadsAggregate(groupBy: [source]) { key { source } count } }`,
			want:  map[string][]string{"leads.nodes[].lastName,source": {"Intern Lead/null"}, "leadsAggregate[].key.source,count": {"null/1"}}},
		{name: "hidden/intern's other fields", who: intern, query: `{ leads { nodes { lastName company phone } } contacts { nodes { lastName email } } }`,
			want: map[string][]string{"leads.nodes[].lastName,company": {"Intern Lead/Gamma"}, "contacts.nodes[].lastName": {"Intern Contact"}}},

		// Introspection.
		{name: "introspection/Lead fields/intern", who: intern, query: typeFields, want: map[string][]string{"__type.fields[].name": without(leadTypeFields, "email")}},
		{name: "introspection/Lead fields/rep1", who: "rep1", query: typeFields, want: map[string][]string{"__type.fields[].name": leadTypeFields}},
		{name: "introspection/Contact fields/intern", who: intern, query: `{ __type(name: "Contact") { fields { name } } }`,
			has: map[string][]string{"__type.fields[].name": {"lastName", "email", "account"}}, lacks: map[string][]string{"__type.fields[].name": {"phone", "deals"}}},
		{name: "introspection/Account fields/intern", who: intern, query: `{ __type(name: "Account") { fields { name } } }`,
			has: map[string][]string{"__type.fields[].name": {"contacts", "convertedLeads"}}, lacks: map[string][]string{"__type.fields[].name": {"deals"}}},
		{name: "introspection/Deal type/intern", who: intern, query: `{ deal: __type(name: "Deal") { name } filter: __type(name: "DealFilter") { name } lead: __type(name: "Lead") { name } }`,
			want: map[string][]string{"deal": {"null"}, "filter": {"null"}, "lead.name": {"Lead"}}},
		{name: "introspection/inputs/intern", who: intern, query: `{ create: __type(name: "LeadCreateInput") { inputFields { name } }
			update: __type(name: "LeadUpdateInput") { inputFields { name } } filter: __type(name: "LeadFilter") { inputFields { name } }
			order: __type(name: "LeadOrder") { inputFields { name } } group: __type(name: "LeadGroupField") { enumValues { name } } }`,
			want: map[string][]string{
				"create.inputFields[].name": {"firstName", "lastName", "company", "phone", "status", "convertedAccount", "owner"},
				"update.inputFields[].name": {"firstName", "lastName", "company", "phone", "status", "convertedAccount", "owner"},
			},
			has: map[string][]string{"filter.inputFields[].name": {"company", "phone", "source"}, "order.inputFields[].name": {"company", "source"},
				"group.enumValues[].name": {"company", "source"}},
			lacks: map[string][]string{"filter.inputFields[].name": {"email"}, "order.inputFields[].name": {"email"}, "group.enumValues[].name": {"email"}}},
		{name: "introspection/inputs/rep1", who: "rep1", query: `{ create: __type(name: "LeadCreateInput") { inputFields { name } } }`,
			want: map[string][]string{"create.inputFields[].name": {"firstName", "lastName", "company", "email", "phone", "status", "source", "convertedAccount", "owner"}}},
		{name: "introspection/queries/intern", who: intern, query: queryFields, want: map[string][]string{"__schema.queryType.fields[].name": {"node", "nodes",
			"account", "accounts", "accountsAggregate", "contact", "contacts", "contactsAggregate", "lead", "leads", "leadsAggregate",
			"activity", "activities", "activitiesAggregate"}}},
		{name: "introspection/queries/rep1", who: "rep1", query: queryFields,
			has: map[string][]string{"__schema.queryType.fields[].name": {"deal", "deals", "dealsAggregate"}}},
		{name: "introspection/mutations/intern", who: intern, query: mutationFields, want: map[string][]string{"__schema.mutationType.fields[].name": mutationsOf(
			map[string]string{"Account": "cu", "Contact": "cu", "Lead": "cu", "Activity": "cu"})}},
		{name: "introspection/mutations/rep1", who: "rep1", query: mutationFields, want: map[string][]string{"__schema.mutationType.fields[].name": mutationsOf(
			map[string]string{"Account": "cu", "Contact": "cu", "Lead": "cu", "Deal": "cu", "Activity": "cu"})}},
		{name: "introspection/mutations/mgr", who: "mgr", query: mutationFields, want: map[string][]string{"__schema.mutationType.fields[].name": mutationsOf(
			map[string]string{"Account": "cud", "Contact": "cud", "Lead": "cud", "Deal": "cud", "Activity": "cud"})}},
		{name: "introspection/mutations/admin", who: "admin", query: mutationFields, want: map[string][]string{"__schema.mutationType.fields[].name": mutationsOf(
			map[string]string{"Account": "cud", "Contact": "cud", "Lead": "cud", "Deal": "cud", "Activity": "cud"})}},
		{name: "introspection/mutations/ro (none)", who: "ro", query: mutationFields, want: map[string][]string{"__schema.mutationType": {"null"}}},
	}
}

// permWriteCases are the mutations, for allowed and forbidden callers.
// Each writes only records it seeds (named after it), so they run in
// parallel; after reads them as admin.
func permWriteCases() []permCase {
	lead := func(name, owner string, fields map[string]any) permSeed {
		return permSeed{object: "Lead", name: name, owner: owner, fields: fields}
	}
	byCompany := func(company string) string {
		return `{ leads(where: {company: {eq: "` + company + `"}}, includeDeleted: true) { nodes { lastName owner firstName deletedAt } } }`
	}
	// leadState reads one lead as admin: name/firstName/company/deleted.
	leadState := func(name string) string {
		return `{ s: lead(id: "{{` + name + `}}") { lastName firstName company tags } d: leads(where: {id: {eq: "{{` + name + `}}"}}, includeDeleted: true) { nodes { deletedAt } } }`
	}
	unchanged := func(name, company string) permCheck {
		return permCheck{query: leadState(name), want: map[string][]string{"s.lastName,firstName,company,tags": {name + "/null/" + company + "/[]"}, "d.nodes[].deletedAt": {"null"}}}
	}
	live := func(name string, deleted bool) permCheck {
		want := map[string][]string{"s.lastName": {name}, "d.nodes[].deletedAt": {"null"}}
		if deleted {
			want = map[string][]string{"s": {"null"}}
		}
		return permCheck{query: leadState(name), want: want}
	}
	isDeleted := func(name string) permCheck {
		return permCheck{query: `{ leads(where: {id: {eq: "{{` + name + `}}"}}, includeDeleted: true) { nodes { lastName } } lead(id: "{{` + name + `}}") { id } }`,
			want: map[string][]string{"leads.nodes[].lastName": {name}, "lead": {"null"}}}
	}
	return []permCase{
		// create
		{name: "create/rep1 (owner default)", who: "rep1", query: `mutation { createLead(input: {lastName: "W create", company: "w-create"}) { lastName owner } }`,
			want:  map[string][]string{"createLead.lastName,owner": {"W create/{{@rep1}}"}},
			after: []permCheck{{byCompany("w-create"), map[string][]string{"leads.nodes[].lastName,owner": {"W create/{{@rep1}}"}}}}},
		{name: "create/intern without the hidden field", who: "intern", query: `mutation { createLead(input: {lastName: "W intern", company: "w-intern"}) { lastName owner } }`,
			want: map[string][]string{"createLead.lastName,owner": {"W intern/{{@intern}}"}}},
		{name: "create/ro (absent)", who: "ro", query: `mutation { createLead(input: {lastName: "W ro", company: "w-ro"}) { id } }`, code: CodeValidationFailed,
			after: []permCheck{{byCompany("w-ro"), map[string][]string{"leads.nodes[].lastName": {}}}}},
		{name: "create/intern with a hidden field", who: "intern", query: `mutation { createLead(input: {lastName: "W hidden", company: "w-hidden", email: "x@y.example"}) { id } }`,
			code: CodeValidationFailed, after: []permCheck{{byCompany("w-hidden"), map[string][]string{"leads.nodes[].lastName": {}}}}},
		{name: "create/intern a read-only field", who: "intern", query: `mutation { createLead(input: {lastName: "W ro field", company: "w-ro-field", source: web}) { id } }`,
			code: CodeValidationFailed, after: []permCheck{{byCompany("w-ro-field"), map[string][]string{"leads.nodes[].lastName": {}}}}},
		{name: "create/intern a deal (object hidden)", who: "intern", query: `mutation { createDeal(input: {name: "W deal"}) { id } }`, code: CodeValidationFailed,
			after: []permCheck{{`{ deals(where: {name: {eq: "W deal"}}) { nodes { name } } }`, map[string][]string{"deals.nodes[].name": {}}}}},

		// update
		{name: "update/rep1 own", who: "rep1", seed: []permSeed{lead("W upd own", "rep1", map[string]any{"company": "w-upd-own"})},
			query: `mutation { updateLead(id: "{{W upd own}}", input: {firstName: "Changed"}) { lastName firstName } }`,
			want:  map[string][]string{"updateLead.lastName,firstName": {"W upd own/Changed"}},
			after: []permCheck{{leadState("W upd own"), map[string][]string{"s.firstName": {"Changed"}}}}},
		{name: "update/rep1 another's (NOT_FOUND)", who: "rep1", seed: []permSeed{lead("W upd theirs", "rep2", map[string]any{"company": "w-upd-theirs"})},
			query: `mutation { updateLead(id: "{{W upd theirs}}", input: {firstName: "Changed"}) { id } }`, code: CodeNotFound,
			after: []permCheck{unchanged("W upd theirs", "w-upd-theirs")}},
		{name: "update/mgr team's", who: "mgr", seed: []permSeed{lead("W upd team", "rep2", map[string]any{"company": "w-upd-team"})},
			query: `mutation { updateLead(id: "{{W upd team}}", input: {firstName: "Changed"}) { firstName owner } }`,
			want:  map[string][]string{"updateLead.firstName,owner": {"Changed/{{@rep2}}"}},
			after: []permCheck{{leadState("W upd team"), map[string][]string{"s.firstName": {"Changed"}}}}},
		{name: "update/mgr admin's (NOT_FOUND)", who: "mgr", seed: []permSeed{lead("W upd admins", "admin", map[string]any{"company": "w-upd-admins"})},
			query: `mutation { updateLead(id: "{{W upd admins}}", input: {firstName: "Changed"}) { id } }`, code: CodeNotFound,
			after: []permCheck{unchanged("W upd admins", "w-upd-admins")}},
		{name: "update/ro (absent)", who: "ro", seed: []permSeed{lead("W upd ro", "rep1", map[string]any{"company": "w-upd-ro"})},
			query: `mutation { updateLead(id: "{{W upd ro}}", input: {firstName: "Changed"}) { id } }`, code: CodeValidationFailed,
			after: []permCheck{unchanged("W upd ro", "w-upd-ro")}},
		{name: "update/intern a hidden field", who: "intern", seed: []permSeed{lead("W upd hidden", "intern", map[string]any{"company": "w-upd-hidden"})},
			query: `mutation { updateLead(id: "{{W upd hidden}}", input: {email: "x@y.example"}) { id } }`, code: CodeValidationFailed,
			after: []permCheck{unchanged("W upd hidden", "w-upd-hidden")}},

		{name: "update/intern a read-only field", who: "intern", seed: []permSeed{lead("W upd ro field", "intern", map[string]any{"company": "w-upd-ro-field"})},
			query: `mutation { updateLead(id: "{{W upd ro field}}", input: {source: web}) { id } }`, code: CodeValidationFailed,
			after: []permCheck{unchanged("W upd ro field", "w-upd-ro-field")}},
		{name: "update/intern own, editable fields", who: "intern", seed: []permSeed{lead("W upd intern", "intern", map[string]any{"company": "w-upd-intern"})},
			query: `mutation { updateLead(id: "{{W upd intern}}", input: {firstName: "Changed", phone: "+1 555 0111"}) { firstName phone source } }`,
			want:  map[string][]string{"updateLead.firstName,phone,source": {"Changed/+1 555 0111/null"}}},

		// delete
		{name: "delete/rep1 (absent: no delete)", who: "rep1", seed: []permSeed{lead("W del rep", "rep1", map[string]any{"company": "w-del-rep"})},
			query: `mutation { deleteLead(id: "{{W del rep}}") { id } }`, code: CodeValidationFailed, after: []permCheck{live("W del rep", false)}},
		{name: "delete/mgr team's", who: "mgr", seed: []permSeed{lead("W del team", "rep1", map[string]any{"company": "w-del-team"})},
			query: `mutation { deleteLead(id: "{{W del team}}") { lastName } }`, want: map[string][]string{"deleteLead.lastName": {"W del team"}},
			after: []permCheck{isDeleted("W del team")}},
		{name: "delete/mgr admin's (NOT_FOUND)", who: "mgr", seed: []permSeed{lead("W del admins", "admin", map[string]any{"company": "w-del-admins"})},
			query: `mutation { deleteLead(id: "{{W del admins}}") { id } }`, code: CodeNotFound, after: []permCheck{live("W del admins", false)}},
		{name: "delete/ro (absent)", who: "ro", seed: []permSeed{lead("W del ro", "ro", map[string]any{"company": "w-del-ro"})},
			query: `mutation { deleteLead(id: "{{W del ro}}") { id } }`, code: CodeValidationFailed, after: []permCheck{live("W del ro", false)}},

		// restore
		{name: "restore/mgr team's", who: "mgr", seed: []permSeed{{object: "Lead", name: "W res team", owner: "intern", fields: map[string]any{"company": "w-res-team"}, deleted: true}},
			query: `mutation { restoreLead(id: "{{W res team}}") { lastName deletedAt } }`, want: map[string][]string{"restoreLead.lastName,deletedAt": {"W res team/null"}},
			after: []permCheck{live("W res team", false)}},
		{name: "restore/mgr admin's (NOT_FOUND)", who: "mgr", seed: []permSeed{{object: "Lead", name: "W res admins", owner: "admin", fields: map[string]any{"company": "w-res-admins"}, deleted: true}},
			query: `mutation { restoreLead(id: "{{W res admins}}") { id } }`, code: CodeNotFound, after: []permCheck{isDeleted("W res admins")}},
		{name: "restore/rep1 (absent)", who: "rep1", seed: []permSeed{{object: "Lead", name: "W res rep", owner: "rep1", fields: map[string]any{"company": "w-res-rep"}, deleted: true}},
			query: `mutation { restoreLead(id: "{{W res rep}}") { id } }`, code: CodeValidationFailed, after: []permCheck{isDeleted("W res rep")}},

		// tags
		{name: "tags/rep1 add own", who: "rep1", seed: []permSeed{lead("W tag own", "rep1", map[string]any{"company": "w-tag-own"})},
			query: `mutation { addLeadTags(id: "{{W tag own}}", tags: ["segment/vip"]) { tags } }`, want: map[string][]string{"addLeadTags.tags[]": {"segment/vip"}},
			after: []permCheck{{leadState("W tag own"), map[string][]string{"s.tags[]": {"segment/vip"}}}}},
		{name: "tags/rep1 add another's (NOT_FOUND)", who: "rep1", seed: []permSeed{lead("W tag theirs", "rep2", map[string]any{"company": "w-tag-theirs"})},
			query: `mutation { addLeadTags(id: "{{W tag theirs}}", tags: ["segment/vip"]) { id } }`, code: CodeNotFound,
			after: []permCheck{unchanged("W tag theirs", "w-tag-theirs")}},
		{name: "tags/rep1 remove another's (NOT_FOUND)", who: "rep1", seed: []permSeed{{object: "Lead", name: "W untag theirs", owner: "mgr", tags: []string{"segment/cold"}}},
			query: `mutation { removeLeadTags(id: "{{W untag theirs}}", tags: ["segment/cold"]) { id } }`, code: CodeNotFound,
			after: []permCheck{{leadState("W untag theirs"), map[string][]string{"s.tags[]": {"segment/cold"}}}}},
		{name: "tags/ro (absent)", who: "ro", seed: []permSeed{lead("W tag ro", "ro", map[string]any{"company": "w-tag-ro"})},
			query: `mutation { addLeadTags(id: "{{W tag ro}}", tags: ["segment/vip"]) { id } }`, code: CodeValidationFailed,
			after: []permCheck{unchanged("W tag ro", "w-tag-ro")}},

		// createMany
		{name: "createMany/rep1", who: "rep1", query: `mutation { createLeads(inputs: [{lastName: "W many 1", company: "w-many"}, {lastName: "W many 2", company: "w-many"}]) { lastName owner } }`,
			want:  map[string][]string{"createLeads[].lastName,owner": {"W many 1/{{@rep1}}", "W many 2/{{@rep1}}"}},
			after: []permCheck{{byCompany("w-many"), map[string][]string{"leads.nodes[].lastName,owner": {"W many 1/{{@rep1}}", "W many 2/{{@rep1}}"}}}}},
		{name: "createMany/ro (absent)", who: "ro", query: `mutation { createLeads(inputs: [{lastName: "W many ro", company: "w-many-ro"}]) { id } }`, code: CodeValidationFailed,
			after: []permCheck{{byCompany("w-many-ro"), map[string][]string{"leads.nodes[].lastName": {}}}}},
		{name: "createMany/intern deals (absent)", who: "intern", query: `mutation { createDeals(inputs: [{name: "W many deal"}]) { id } }`, code: CodeValidationFailed},

		// updateMany: only the records in the caller's scope change.
		{name: "updateMany/rep1 partly in scope", who: "rep1",
			seed: []permSeed{lead("W um r1a", "rep1", map[string]any{"company": "w-um-rep"}), lead("W um r1b", "rep1", map[string]any{"company": "w-um-rep"}),
				lead("W um r2a", "rep2", map[string]any{"company": "w-um-rep"}), lead("W um r2b", "rep2", map[string]any{"company": "w-um-rep"}),
				lead("W um adm", "admin", map[string]any{"company": "w-um-rep"})},
			query: `mutation { updateLeads(where: {company: {eq: "w-um-rep"}}, set: {firstName: "Bulk"}) { lastName firstName } }`,
			want:  map[string][]string{"updateLeads[].lastName,firstName": {"W um r1a/Bulk", "W um r1b/Bulk"}},
			after: []permCheck{{byCompany("w-um-rep"), map[string][]string{"leads.nodes[].lastName,firstName,owner": {"W um r1a/Bulk/{{@rep1}}", "W um r1b/Bulk/{{@rep1}}",
				"W um r2a/null/{{@rep2}}", "W um r2b/null/{{@rep2}}", "W um adm/null/{{@admin}}"}}}}},
		{name: "updateMany/rep1 nothing in scope", who: "rep1",
			seed:  []permSeed{lead("W um none", "rep2", map[string]any{"company": "w-um-none"})},
			query: `mutation { updateLeads(where: {company: {eq: "w-um-none"}}, set: {firstName: "Bulk"}) { lastName } }`,
			want:  map[string][]string{"updateLeads[].lastName": {}},
			after: []permCheck{unchanged("W um none", "w-um-none")}},
		{name: "updateMany/mgr team and not", who: "mgr",
			seed: []permSeed{lead("W um team rep", "rep1", map[string]any{"company": "w-um-mgr"}), lead("W um team intern", "intern", map[string]any{"company": "w-um-mgr"}),
				lead("W um team adm", "admin", map[string]any{"company": "w-um-mgr"}), lead("W um team ro", "ro", map[string]any{"company": "w-um-mgr"})},
			query: `mutation { updateLeads(where: {company: {eq: "w-um-mgr"}}, set: {firstName: "Bulk"}) { lastName } }`,
			want:  map[string][]string{"updateLeads[].lastName": {"W um team rep", "W um team intern"}},
			after: []permCheck{{byCompany("w-um-mgr"), map[string][]string{"leads.nodes[].lastName,firstName": {"W um team rep/Bulk", "W um team intern/Bulk",
				"W um team adm/null", "W um team ro/null"}}}}},
		{name: "updateMany/ro (absent)", who: "ro", seed: []permSeed{lead("W um ro", "ro", map[string]any{"company": "w-um-ro"})},
			query: `mutation { updateLeads(where: {company: {eq: "w-um-ro"}}, set: {firstName: "Bulk"}) { id } }`, code: CodeValidationFailed,
			after: []permCheck{unchanged("W um ro", "w-um-ro")}},
		{name: "updateMany/intern a hidden field", who: "intern", seed: []permSeed{lead("W um hidden", "intern", map[string]any{"company": "w-um-hidden"})},
			query: `mutation { updateLeads(where: {company: {eq: "w-um-hidden"}}, set: {email: "x@y.example"}) { id } }`, code: CodeValidationFailed,
			after: []permCheck{unchanged("W um hidden", "w-um-hidden")}},

		{name: "updateMany/intern a read-only field", who: "intern", seed: []permSeed{lead("W um ro field", "intern", map[string]any{"company": "w-um-ro-field"})},
			query: `mutation { updateLeads(where: {company: {eq: "w-um-ro-field"}}, set: {source: web}) { id } }`, code: CodeValidationFailed,
			after: []permCheck{unchanged("W um ro field", "w-um-ro-field")}},

		// deleteMany
		{name: "deleteMany/mgr team and not", who: "mgr",
			seed:  []permSeed{lead("W dm team", "rep2", map[string]any{"company": "w-dm"}), lead("W dm adm", "admin", map[string]any{"company": "w-dm"})},
			query: `mutation { deleteLeads(where: {company: {eq: "w-dm"}}) { count ids } }`,
			want:  map[string][]string{"deleteLeads.count": {"1"}, "deleteLeads.ids[]": {"{{W dm team}}"}},
			after: []permCheck{isDeleted("W dm team"), live("W dm adm", false)}},
		{name: "deleteMany/rep1 (absent)", who: "rep1", seed: []permSeed{lead("W dm rep", "rep1", map[string]any{"company": "w-dm-rep"})},
			query: `mutation { deleteLeads(where: {company: {eq: "w-dm-rep"}}) { count } }`, code: CodeValidationFailed, after: []permCheck{live("W dm rep", false)}},
		{name: "deleteMany/ro (absent)", who: "ro", seed: []permSeed{lead("W dm ro", "ro", map[string]any{"company": "w-dm-ro"})},
			query: `mutation { deleteLeads(where: {company: {eq: "w-dm-ro"}}) { count } }`, code: CodeValidationFailed, after: []permCheck{live("W dm ro", false)}},

		// upsertMany (Contact, on its unique email)
		{name: "upsertMany/rep1 own and new", who: "rep1",
			seed: []permSeed{{object: "Contact", name: "W up own", owner: "rep1", fields: map[string]any{"email": "w-up-own@x.example"}}},
			query: `mutation { upsertContacts(on: email, inputs: [{lastName: "W up renamed", email: "W-UP-OWN@x.example"},
				{lastName: "W up new", email: "w-up-new@x.example", owner: "{{@rep1}}"}]) { lastName owner } }`,
			want: map[string][]string{"upsertContacts[].lastName,owner": {"W up renamed/{{@rep1}}", "W up new/{{@rep1}}"}},
			after: []permCheck{{`{ contacts(where: {lastName: {in: ["W up own", "W up renamed", "W up new"]}}) { nodes { lastName email owner } } }`, map[string][]string{
				"contacts.nodes[].lastName,email,owner": {"W up renamed/W-UP-OWN@x.example/{{@rep1}}", "W up new/w-up-new@x.example/{{@rep1}}"}}}}},
		{name: "upsertMany/rep1 onto another's record (CONFLICT, unchanged)", who: "rep1",
			seed:  []permSeed{{object: "Contact", name: "W up theirs", owner: "rep2", fields: map[string]any{"email": "w-up-theirs@x.example"}}},
			query: `mutation { upsertContacts(on: email, inputs: [{lastName: "W up taken", email: "w-up-theirs@x.example", owner: "{{@rep1}}"}]) { id } }`,
			code:  CodeConflict,
			after: []permCheck{{`{ contacts(where: {email: {eq: "w-up-theirs@x.example"}}) { nodes { lastName owner } } }`, map[string][]string{
				"contacts.nodes[].lastName,owner": {"W up theirs/{{@rep2}}"}}}}},
		{name: "upsertMany/ro (absent)", who: "ro", query: `mutation { upsertContacts(on: email, inputs: [{lastName: "W up ro", email: "w-up-ro@x.example"}]) { id } }`,
			code: CodeValidationFailed, after: []permCheck{{`{ contacts(where: {email: {eq: "w-up-ro@x.example"}}) { nodes { lastName } } }`, map[string][]string{"contacts.nodes[].lastName": {}}}}},
		{name: "upsertMany/intern a hidden field", who: "intern",
			query: `mutation { upsertContacts(on: email, inputs: [{lastName: "W up hidden", email: "w-up-hidden@x.example", phone: "+1 555 0199"}]) { id } }`,
			code:  CodeValidationFailed, after: []permCheck{{`{ contacts(where: {email: {eq: "w-up-hidden@x.example"}}) { nodes { lastName } } }`, map[string][]string{"contacts.nodes[].lastName": {}}}}},
	}
}

// TestPermissionPaths runs the permission cases over every access path.
func TestPermissionPaths(t *testing.T) {
	t.Parallel()
	p := newPermFixture(t)
	t.Run("reads", func(t *testing.T) {
		for _, c := range permReadCases() {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				p.run(t, c)
			})
		}
	})
	t.Run("writes", func(t *testing.T) {
		for _, c := range permWriteCases() {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				p.run(t, c)
			})
		}
	})
	t.Run("not found reads like a missing record", func(t *testing.T) {
		// A record outside the scope answers exactly as an id nobody has.
		missing := "00000000-0000-4000-8000-000000000999"
		for _, m := range []string{
			`updateLead(id: "%s", input: {firstName: "x"}) { id }`,
			`addLeadTags(id: "%s", tags: ["segment/vip"]) { id }`,
		} {
			hidden := p.do(t, p.caller(t, "rep1"), `mutation { `+fmt.Sprintf(m, p.ids["Rep2 Lead"])+` }`, nil)
			none := p.do(t, p.caller(t, "rep1"), `mutation { `+fmt.Sprintf(m, missing)+` }`, nil)
			if hidden.code() != CodeNotFound || none.code() != CodeNotFound ||
				strings.ReplaceAll(hidden.message(), p.ids["Rep2 Lead"], "ID") != strings.ReplaceAll(none.message(), missing, "ID") {
				t.Errorf("%s: hidden %s %q, missing %s %q", m, hidden.code(), hidden.message(), none.code(), none.message())
			}
		}
	})
}

// The SDL download (GET /graphql/schema.graphql) is each caller's schema.
func TestPermissionSDL(t *testing.T) {
	t.Parallel()
	p := newPermFixture(t)
	h := p.api.Handler(func(r *http.Request) (Caller, bool) {
		pr, ok := p.users[r.Header.Get("X-Test-User")]
		if !ok {
			return Caller{}, false
		}
		c, err := callerOf(r.Context(), p.perms, pr)
		return c, err == nil
	})
	get := func(who string) (string, string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/graphql/schema.graphql", nil)
		req.Header.Set("X-Test-User", who)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", who, rec.Code, rec.Body)
		}
		return rec.Body.String(), rec.Header().Get("ETag")
	}
	for _, c := range []struct {
		who        string
		has, lacks []string
	}{
		{"admin", []string{"type Deal ", "email: Email", "deleteLead(", "createDeal(", "upsertContacts("}, nil},
		{"rep1", []string{"type Deal ", "createLead(", "updateLeads(", "addLeadTags(", "createDeal("}, []string{"deleteLead(", "restoreLead(", "deleteLeads("}},
		{"mgr", []string{"deleteLead(", "restoreLead(", "deleteLeads("}, nil},
		{"ro", []string{"type Lead ", "type Deal ", "leads("}, []string{"type Mutation", "createLead(", "LeadCreateInput"}},
		{"intern", []string{"type Lead ", "leads(", "createLead(", "source: LeadSource"}, []string{"type Deal ", "DealFilter", "deals(", "createDeal(", "deal: Deal"}},
	} {
		sdl, _ := get(c.who)
		for _, s := range c.has {
			if !strings.Contains(sdl, s) {
				t.Errorf("%s's SDL lacks %q", c.who, s)
			}
		}
		for _, s := range c.lacks {
			if strings.Contains(sdl, s) {
				t.Errorf("%s's SDL has %q", c.who, s)
			}
		}
	}
	intern, internTag := get("intern")
	rep1, rep1Tag := get("rep1")
	_, rep2Tag := get("rep2")
	for _, block := range []string{"type Lead implements Node", "input LeadFilter", "input LeadCreateInput", "input LeadUpdateInput", "input LeadOrder", "enum LeadGroupField"} {
		if b := sdlBlock(intern, block); b == "" || strings.Contains(b, "email") {
			t.Errorf("intern's %s: %q", block, b)
		}
		if b := sdlBlock(rep1, block); !strings.Contains(b, "email") {
			t.Errorf("rep1's %s lacks email: %q", block, b)
		}
	}
	for _, block := range []string{"input LeadCreateInput", "input LeadUpdateInput"} {
		if b := sdlBlock(intern, block); b == "" || strings.Contains(b, "source") {
			t.Errorf("intern's %s has the read-only source: %q", block, b)
		}
	}
	if b := sdlBlock(intern, "input LeadFilter"); !strings.Contains(b, "source") {
		t.Errorf("intern's LeadFilter lacks the readable source: %q", b)
	}
	if b := sdlBlock(intern, "type Contact implements Node"); b == "" || strings.Contains(b, "phone") {
		t.Errorf("intern's Contact: %q", b)
	}
	if rep1Tag == "" || rep1Tag != rep2Tag || rep1Tag == internTag {
		t.Errorf("ETags: rep1 %s, rep2 %s (same permissions: must be equal), intern %s (must differ)", rep1Tag, rep2Tag, internTag)
	}
	// Nobody without a caller gets a schema.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/graphql/schema.graphql", nil))
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("no caller: status %d", rec.Code)
	}
}

// A policy change made on one server applies on a second server at once:
// two servers (two pools, each with its own access, permissions and data
// API), the second listening; a grant and a revoke on the first reach the
// second's next request. A third server that does not listen keeps its
// cached rules, which shows the second learned of the change by its
// notification.
func TestPermissionChangeReachesSecondServer(t *testing.T) {
	t.Parallel()
	p := newPermEnv(t, "servers")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := p.perms.CreateRole(ctx, p.tenant.ID, "", "intern", []string{permissions.RoleSalesRep}); err != nil {
		t.Fatal(err)
	}
	intern := p.member(t, "intern", tenants.RoleMember, "intern")
	p.add(t, "intern", "Lead", "Intern Lead", nil)
	p.add(t, "admin", "Lead", "Admin Lead", nil)

	// A server: its own pool, catalog, tenants, access, permissions and
	// data API, as cmd/lattice builds them.
	type server struct {
		acc   *access.Service
		perms *permissions.Service
		api   *API
	}
	newServer := func() server {
		pool, err := pgxpool.New(ctx, p.db.AppURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		cat, err := catalog.New(pool, catalog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ts, err := tenants.New(pool, tenants.Options{})
		if err != nil {
			t.Fatal(err)
		}
		acc := access.New(pool, access.Options{})
		return server{acc: acc, perms: permissions.New(acc, cat, ts, permissions.Options{}),
			api: New(pool, cat, records.New(pool, cat, nil), tags.New(pool, cat, tags.Options{}), Options{})}
	}
	// Server two listens; server three does not.
	two, three := newServer(), newServer()
	listening := make(chan error, 1)
	go func() { listening <- two.acc.Listen(ctx, p.db.AppURL) }()
	waitForAccessListener(t, p.db)

	query := `{ leads { nodes { lastName } } }`
	ask := func(s server) result {
		t.Helper()
		c, err := callerOf(ctx, s.perms, intern)
		if err != nil {
			t.Fatal(err)
		}
		res := s.api.Execute(ctx, c, Request{Query: query})
		raw, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		var out result
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	sees := func(r result) string {
		if len(r.Errors) > 0 {
			return r.code()
		}
		names := pluck(r.Data, "leads.nodes[].lastName")
		slices.Sort(names)
		return strings.Join(names, ",")
	}
	// Both servers have the intern's permissions cached.
	for _, s := range []server{two, three} {
		if got := sees(ask(s)); got != "Intern Lead" {
			t.Fatalf("before the change: %s", got)
		}
	}
	waitFor := func(what, want string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got := sees(ask(two))
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: server two still answers %q after 5 s, want %q", what, got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Deny: the intern's schema loses Lead on server one at once, on server two as soon as it hears.
	p.grant(t, "intern", "record:Lead", "read", permissions.Deny)
	if got := sees(p.do(t, p.caller(t, "intern"), query, nil)); got != CodeValidationFailed {
		t.Fatalf("server one after the deny: %s", got)
	}
	waitFor("deny", CodeValidationFailed)
	if got := sees(ask(three)); got != "Intern Lead" {
		t.Fatalf("server three, not listening, answers %q: the change reached it some other way than the notification", got)
	}

	// Revoke the deny: Lead comes back on server two.
	if err := p.perms.Revoke(ctx, p.tenant.ID, "", permissions.Grant{Role: "intern", Object: "record:Lead", Action: "read", Effect: permissions.Deny}); err != nil {
		t.Fatal(err)
	}
	waitFor("revoke", "Intern Lead")

	// A role assignment reaches it too: as readOnly, the intern reads every lead.
	if err := p.perms.Assign(ctx, p.tenant.ID, "", permissions.UserSubject(intern.UserID), permissions.RoleReadOnly); err != nil {
		t.Fatal(err)
	}
	waitFor("assign", "Admin Lead,Intern Lead")

	cancel()
	select {
	case err := <-listening:
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}

// waitForAccessListener waits until a session of the test database listens
// on the access channel.
func waitForAccessListener(t testing.TB, db *dbtest.DB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		err := db.Owner.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query ILIKE 'listen %' AND query ILIKE '%`+access.NotifyChannel+`%'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not start listening within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
