package dataapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// filterData is a small CRM with every kind of value, missing values, lookup
// chains, related lists, tags and scores, for the filter tests.
type filterData struct {
	e                      *env
	c                      Caller
	acme, beta, low, delta string // accounts: Acme, Beta (parent Acme), "acme lower" (parent Beta), Delta
	ann, bob, cid, dunn    string // contacts of Acme, Beta, acme lower, none
	big, small, lost       string // deals
	apollo, borealis       string // projects
	ceres                  string
	owner                  string
}

func newFilterData(t *testing.T) *filterData {
	t.Helper()
	e := newEnv(t, Options{})
	c := e.tenant(t, "filters")
	e.withProjects(t, c)
	d := &filterData{e: e, c: c, owner: "6f1c1a7e-0000-4000-8000-000000000001"}
	d.acme = e.create(t, c, "Account", map[string]any{"name": "Acme", "industry": "technology", "employees": 500,
		"annualRevenue": map[string]any{"amount": json.Number("1000000.50"), "currency": "USD"}, "billingCity": "Berlin", "owner": d.owner})
	d.beta = e.create(t, c, "Account", map[string]any{"name": "Beta", "industry": "finance", "employees": 50, "parent": d.acme,
		"annualRevenue": map[string]any{"amount": 2000, "currency": "EUR"}, "billingCity": "Paris"})
	d.low = e.create(t, c, "Account", map[string]any{"name": "acme lower", "industry": "retail", "parent": d.beta})
	d.delta = e.create(t, c, "Account", map[string]any{"name": "Delta", "employees": 0, "annualRevenue": map[string]any{"amount": 0, "currency": "USD"}})

	d.ann = e.create(t, c, "Contact", map[string]any{"firstName": "Ann", "lastName": "Able", "email": "ann@acme.example", "account": d.acme,
		"jobLevel": "executive", "birthday": "1980-05-01"})
	d.bob = e.create(t, c, "Contact", map[string]any{"firstName": "Bob", "lastName": "Baker", "account": d.beta, "jobLevel": "manager", "birthday": "1990-01-15"})
	d.cid = e.create(t, c, "Contact", map[string]any{"lastName": "Carter", "account": d.low, "jobLevel": "staff"})
	d.dunn = e.create(t, c, "Contact", map[string]any{"lastName": "Dunn"})

	d.big = e.create(t, c, "Deal", map[string]any{"name": "Big", "account": d.acme, "contact": d.ann, "stage": "negotiation",
		"amount": map[string]any{"amount": 5000, "currency": "USD"}, "closeDate": "2026-03-01", "probability": json.Number("75.5")})
	d.small = e.create(t, c, "Deal", map[string]any{"name": "Small", "account": d.acme, "stage": "prospecting",
		"amount": map[string]any{"amount": 100, "currency": "EUR"}, "closeDate": "2025-12-31", "probability": 10})
	d.lost = e.create(t, c, "Deal", map[string]any{"name": "Lost", "account": d.beta, "stage": "closedLost",
		"amount": map[string]any{"amount": json.Number("999.99"), "currency": "USD"}})

	now := time.Now().UTC()
	e.create(t, c, "Activity", map[string]any{"type": "call", "subject": "Intro call", "occurredAt": now.Add(-time.Hour).Format(time.RFC3339),
		"account": d.acme, "contact": d.ann, "durationMinutes": 30})
	e.create(t, c, "Activity", map[string]any{"type": "pageView", "subject": "Pricing", "occurredAt": now.Add(-30 * 24 * time.Hour).Format(time.RFC3339),
		"contact": d.bob, "url": "https://example.com/pricing"})
	e.create(t, c, "Activity", map[string]any{"type": "email", "subject": "Follow up", "occurredAt": "2020-01-01T00:00:00Z", "account": d.beta})

	d.apollo = e.create(t, c, "Project", map[string]any{"name": "Apollo", "code": "AP", "active": true, "billable": false, "budget": json.Number("1000.25"),
		"priority": "p_1", "labels": []any{"red", "green"}, "startsOn": "2026-01-10", "kickoff": "2026-01-10T09:00:00Z",
		"meta": map[string]any{"x": 1}, "account": d.acme})
	d.borealis = e.create(t, c, "Project", map[string]any{"name": "Borealis", "active": false, "budget": 20, "priority": "_3rd",
		"labels": []any{"blue_ish"}, "startsOn": now.Format(time.DateOnly), "kickoff": now.Add(-2 * time.Hour).Format(time.RFC3339)})
	d.ceres = e.create(t, c, "Project", map[string]any{"name": "Ceres", "account": d.low})

	e.tagGroup(t, c, "segment", []string{"Account", "Contact"}, "vip", "churnRisk", "partner")
	e.ok(t, c, `mutation($a: ID!, $b: ID!, $l: ID!) {
		a: addAccountTags(id: $a, tags: ["segment/vip", "segment/partner"]) { id }
		b: addAccountTags(id: $b, tags: ["segment/vip"]) { id }
		l: addAccountTags(id: $l, tags: ["segment/churnRisk"]) { id } }`, map[string]any{"a": d.acme, "b": d.beta, "l": d.low})
	e.setScore(t, d.acme, "80", "A")
	e.setScore(t, d.beta, "55.5", "B")
	return d
}

// list returns the display values of the records of a root list meeting
// where, in display order (id breaks ties).
func (d *filterData) list(t *testing.T, root, display, where string, vars map[string]any) []string {
	t.Helper()
	decl := ""
	if len(vars) > 0 {
		var parts []string
		for k := range vars {
			parts = append(parts, "$"+k+": ID!")
		}
		decl = "(" + strings.Join(parts, ", ") + ")"
	}
	q := fmt.Sprintf(`query%s { r: %s(where: %s, orderBy: [{%s: ASC}]) { totalCount nodes { %s } } }`, decl, root, where, display, display)
	r := d.e.do(t, d.c, q, vars)
	if len(r.Errors) > 0 {
		t.Fatalf("%s(where: %s): %v", root, where, r.Errors)
	}
	got := field(r.Data, display, "r", "nodes")
	if n := fmt.Sprint(get(r.Data, "r", "totalCount")); n != fmt.Sprint(len(got)) {
		t.Errorf("%s(where: %s): totalCount %s, but %d nodes", root, where, n, len(got))
	}
	return got
}

// Every filter kind of the CRM template (and of a custom object with the
// kinds it lacks) returns exactly the records it should.
func TestFilters(t *testing.T) {
	t.Parallel()
	d := newFilterData(t)
	ids := map[string]any{"acme": d.acme, "low": d.low, "owner": d.owner}
	cases := []struct {
		root, display, where string
		want                 []string
	}{
		// Text: case-sensitive, code point order.
		{"accounts", "name", `{name: {eq: "Acme"}}`, []string{"Acme"}},
		{"accounts", "name", `{name: {ne: "Acme"}}`, []string{"Beta", "Delta", "acme lower"}},
		{"accounts", "name", `{name: {contains: "cme"}}`, []string{"Acme", "acme lower"}},
		{"accounts", "name", `{name: {startsWith: "A"}}`, []string{"Acme"}},
		{"accounts", "name", `{name: {lt: "B"}}`, []string{"Acme"}},
		{"accounts", "name", `{name: {gte: "a"}}`, []string{"acme lower"}},
		{"accounts", "name", `{name: {lte: "Beta", gt: "Acme"}}`, []string{"Beta"}},
		{"accounts", "name", `{name: {in: ["Beta", "Delta", "nope"]}}`, []string{"Beta", "Delta"}},
		{"accounts", "name", `{name: {notIn: ["Acme", "Beta"]}}`, []string{"Delta", "acme lower"}},
		{"accounts", "name", `{billingCity: {isNull: true}}`, []string{"Delta", "acme lower"}},
		{"accounts", "name", `{billingCity: {isNull: false}}`, []string{"Acme", "Beta"}},
		{"contacts", "lastName", `{email: {contains: "@acme."}}`, []string{"Able"}},
		// Integer.
		{"accounts", "name", `{employees: {gt: 49}}`, []string{"Acme", "Beta"}},
		{"accounts", "name", `{employees: {lte: 50}}`, []string{"Beta", "Delta"}},
		{"accounts", "name", `{employees: {in: [0, 500]}}`, []string{"Acme", "Delta"}},
		{"accounts", "name", `{employees: {ne: 50}}`, []string{"Acme", "Delta", "acme lower"}},
		{"accounts", "name", `{employees: {isNull: true}}`, []string{"acme lower"}},
		{"accounts", "name", `{not: {employees: {gte: 100}}}`, []string{"Beta", "Delta", "acme lower"}},
		// Decimal and percent: exact, whatever the notation.
		{"deals", "name", `{probability: {eq: 75.50}}`, []string{"Big"}},
		{"deals", "name", `{probability: {gt: 10}}`, []string{"Big"}},
		{"deals", "name", `{probability: {lte: 10}}`, []string{"Small"}},
		{"deals", "name", `{probability: {isNull: true}}`, []string{"Lost"}},
		{"projects", "name", `{budget: {gte: 20.00}}`, []string{"Apollo", "Borealis"}},
		{"projects", "name", `{budget: {eq: 1000.25}}`, []string{"Apollo"}},
		{"projects", "name", `{budget: {lt: 1000.25}}`, []string{"Borealis"}},
		// Currency: the amount, the currency, both.
		{"accounts", "name", `{annualRevenue: {amount: {gte: 2000}}}`, []string{"Acme", "Beta"}},
		{"accounts", "name", `{annualRevenue: {currency: {eq: "USD"}}}`, []string{"Acme", "Delta"}},
		{"accounts", "name", `{annualRevenue: {amount: {gt: 0}, currency: {eq: "USD"}}}`, []string{"Acme"}},
		{"accounts", "name", `{annualRevenue: {isNull: true}}`, []string{"acme lower"}},
		{"deals", "name", `{amount: {amount: {lt: 1000}}}`, []string{"Lost", "Small"}},
		{"deals", "name", `{amount: {amount: {eq: 999.99}, currency: {in: ["USD"]}}}`, []string{"Lost"}},
		// Boolean, with a slot (active) and without (billable).
		{"projects", "name", `{active: {eq: true}}`, []string{"Apollo"}},
		{"projects", "name", `{active: {eq: false}}`, []string{"Borealis"}},
		{"projects", "name", `{active: {ne: true}}`, []string{"Borealis", "Ceres"}},
		{"projects", "name", `{active: {isNull: true}}`, []string{"Ceres"}},
		{"projects", "name", `{billable: {eq: false}}`, []string{"Apollo"}},
		{"projects", "name", `{billable: {isNull: false}}`, []string{"Apollo"}},
		// Date, with a slot (closeDate) and without (birthday, startsOn).
		{"contacts", "lastName", `{birthday: {lt: "1985-01-01"}}`, []string{"Able"}},
		{"contacts", "lastName", `{birthday: {gte: "1985-01-01"}}`, []string{"Baker"}},
		{"contacts", "lastName", `{birthday: {isNull: true}}`, []string{"Carter", "Dunn"}},
		{"contacts", "lastName", `{birthday: {in: ["1990-01-15", "2000-01-01"]}}`, []string{"Baker"}},
		{"deals", "name", `{closeDate: {gt: "2026-01-01"}}`, []string{"Big"}},
		{"deals", "name", `{closeDate: {eq: "2025-12-31"}}`, []string{"Small"}},
		{"deals", "name", `{closeDate: {ne: "2025-12-31"}}`, []string{"Big", "Lost"}},
		{"projects", "name", `{startsOn: {withinLast: "2d"}}`, []string{"Borealis"}},
		// Datetime, with a slot (occurredAt) and without (kickoff).
		{"activities", "subject", `{occurredAt: {withinLast: "1d"}}`, []string{"Intro call"}},
		{"activities", "subject", `{occurredAt: {withinLast: "5w"}}`, []string{"Intro call", "Pricing"}},
		{"activities", "subject", `{occurredAt: {gt: "2021-01-01T00:00:00Z"}}`, []string{"Intro call", "Pricing"}},
		{"activities", "subject", `{occurredAt: {lte: "2020-01-01T08:00:00+08:00"}}`, []string{"Follow up"}},
		{"projects", "name", `{kickoff: {withinLast: "1d"}}`, []string{"Borealis"}},
		{"projects", "name", `{kickoff: {eq: "2026-01-10T10:00:00+01:00"}}`, []string{"Apollo"}},
		{"projects", "name", `{kickoff: {isNull: true}}`, []string{"Ceres"}},
		{"accounts", "name", `{createdAt: {withinLast: "1h"}, updatedAt: {lte: "2999-01-01T00:00:00Z"}}`, []string{"Acme", "Beta", "Delta", "acme lower"}},
		// Picklists, in the picklist's order for lt/gt.
		{"accounts", "name", `{industry: {eq: technology}}`, []string{"Acme"}},
		{"accounts", "name", `{industry: {in: [finance, retail]}}`, []string{"Beta", "acme lower"}},
		{"accounts", "name", `{industry: {gt: finance}}`, []string{"acme lower"}},
		{"accounts", "name", `{industry: {lt: finance}}`, []string{"Acme"}},
		{"accounts", "name", `{industry: {lte: finance}}`, []string{"Acme", "Beta"}},
		{"accounts", "name", `{industry: {ne: technology}}`, []string{"Beta", "Delta", "acme lower"}},
		{"accounts", "name", `{industry: {notIn: [technology, finance]}}`, []string{"Delta", "acme lower"}},
		{"accounts", "name", `{industry: {isNull: true}}`, []string{"Delta"}},
		{"deals", "name", `{stage: {gte: proposal}}`, []string{"Big", "Lost"}},
		{"deals", "name", `{stage: {lt: qualification}}`, []string{"Small"}},
		{"projects", "name", `{priority: {eq: p_1}}`, []string{"Apollo"}},
		{"projects", "name", `{priority: {gt: p_1}}`, []string{"Borealis"}},
		{"projects", "name", `{priority: {in: [p_2, _3rd]}}`, []string{"Borealis"}},
		{"projects", "name", `{priority: {ne: _3rd}}`, []string{"Apollo", "Ceres"}},
		// MultiPicklist.
		{"projects", "name", `{labels: {contains: [red]}}`, []string{"Apollo"}},
		{"projects", "name", `{labels: {contains: [red, blue_ish]}}`, nil},
		{"projects", "name", `{labels: {in: [green, blue_ish]}}`, []string{"Apollo", "Borealis"}},
		{"projects", "name", `{labels: {eq: [green, red]}}`, []string{"Apollo"}},
		{"projects", "name", `{labels: {ne: [green, red]}}`, []string{"Borealis", "Ceres"}},
		{"projects", "name", `{labels: {notIn: [red]}}`, []string{"Borealis", "Ceres"}},
		{"projects", "name", `{labels: {isNull: true}}`, []string{"Ceres"}},
		// JSON fields cannot be filtered, but the record has them.
		// Lookups, one and two hops deep.
		{"contacts", "lastName", `{account: {name: {eq: "Acme"}}}`, []string{"Able"}},
		{"contacts", "lastName", `{account: {id: {eq: $acme}}}`, []string{"Able"}},
		{"contacts", "lastName", `{account: {name: {ne: "Acme"}}}`, []string{"Baker", "Carter", "Dunn"}},
		{"contacts", "lastName", `{account: {id: {isNull: true}}}`, []string{"Dunn"}},
		{"contacts", "lastName", `{account: {parent: {name: {eq: "Acme"}}}}`, []string{"Baker"}},
		{"contacts", "lastName", `{account: {parent: {industry: {eq: finance}}}}`, []string{"Carter"}},
		{"deals", "name", `{contact: {account: {industry: {eq: technology}}}}`, []string{"Big"}},
		{"deals", "name", `{account: {name: {eq: "Acme"}}, stage: {ne: prospecting}}`, []string{"Big"}},
		{"projects", "name", `{account: {parent: {parent: {name: {eq: "Acme"}}}}}`, []string{"Ceres"}},
		{"activities", "subject", `{contact: {account: {annualRevenue: {currency: {eq: "EUR"}}}}}`, []string{"Pricing"}},
		// Related lists.
		{"accounts", "name", `{contacts: {some: {jobLevel: {eq: executive}}}}`, []string{"Acme"}},
		{"accounts", "name", `{contacts: {none: {}}}`, []string{"Delta"}},
		{"accounts", "name", `{contacts: {some: {}}}`, []string{"Acme", "Beta", "acme lower"}},
		{"accounts", "name", `{deals: {every: {stage: {ne: closedLost}}}}`, []string{"Acme", "Delta", "acme lower"}},
		{"accounts", "name", `{deals: {count: {gte: 2}}}`, []string{"Acme"}},
		{"accounts", "name", `{deals: {count: {eq: 0}}}`, []string{"Delta", "acme lower"}},
		{"accounts", "name", `{deals: {count: {where: {stage: {eq: closedLost}}, eq: 1}}}`, []string{"Beta"}},
		{"accounts", "name", `{deals: {count: {where: {amount: {currency: {eq: "USD"}}}, gt: 0, lt: 2}}}`, []string{"Acme", "Beta"}},
		{"accounts", "name", `{children: {some: {}}}`, []string{"Acme", "Beta"}},
		{"accounts", "name", `{children: {some: {children: {some: {}}}}}`, []string{"Acme"}},
		{"accounts", "name", `{activities: {some: {occurredAt: {withinLast: "1d"}}}}`, []string{"Acme"}},
		{"accounts", "name", `{projects: {some: {labels: {contains: [green]}}}}`, []string{"Acme"}},
		{"contacts", "lastName", `{deals: {some: {stage: {eq: negotiation}}}, activities: {count: {gte: 1}}}`, []string{"Able"}},
		// Tags.
		{"accounts", "name", `{tags: {hasAny: ["segment/vip"]}}`, []string{"Acme", "Beta"}},
		{"accounts", "name", `{tags: {hasAll: ["segment/vip", "segment/partner"]}}`, []string{"Acme"}},
		{"accounts", "name", `{tags: {hasNone: ["segment/vip"]}}`, []string{"Delta", "acme lower"}},
		{"accounts", "name", `{tags: {hasAny: ["segment/vip", "segment/churnRisk"], hasNone: ["segment/partner"]}}`, []string{"Beta", "acme lower"}},
		// Score and grade.
		{"accounts", "name", `{score: {gte: 55.5}}`, []string{"Acme", "Beta"}},
		{"accounts", "name", `{score: {gt: 55.5}}`, []string{"Acme"}},
		{"accounts", "name", `{score: {isNull: true}}`, []string{"Delta", "acme lower"}},
		{"accounts", "name", `{grade: {in: ["A"]}}`, []string{"Acme"}},
		{"accounts", "name", `{grade: {ne: "A"}}`, []string{"Beta", "Delta", "acme lower"}},
		// Ids, owner, version.
		{"accounts", "name", `{id: {in: [$acme, $low]}}`, []string{"Acme", "acme lower"}},
		{"accounts", "name", `{id: {notIn: [$acme]}}`, []string{"Beta", "Delta", "acme lower"}},
		{"accounts", "name", `{id: {ne: $acme}, parent: {id: {eq: $acme}}}`, []string{"Beta"}},
		{"accounts", "name", `{owner: {eq: $owner}}`, []string{"Acme"}},
		{"accounts", "name", `{owner: {isNull: true}}`, []string{"Beta", "Delta", "acme lower"}},
		{"accounts", "name", `{version: {gt: 1}}`, []string{"Acme", "Beta", "acme lower"}}, // tagged
		// and, or, not.
		{"accounts", "name", `{or: [{name: {eq: "Acme"}}, {industry: {eq: finance}}]}`, []string{"Acme", "Beta"}},
		{"accounts", "name", `{not: {industry: {isNull: true}}}`, []string{"Acme", "Beta", "acme lower"}},
		{"accounts", "name", `{and: [{employees: {gte: 0}}, {not: {name: {startsWith: "B"}}}]}`, []string{"Acme", "Delta"}},
		{"accounts", "name", `{or: [{and: [{name: {contains: "a"}}, {industry: {eq: finance}}]}, {not: {or: [{employees: {isNull: true}}, {employees: {gt: 0}}]}}]}`, []string{"Beta", "Delta"}},
		{"accounts", "name", `{or: []}`, nil},
		{"accounts", "name", `{and: []}`, []string{"Acme", "Beta", "Delta", "acme lower"}},
		{"accounts", "name", `{or: {name: {eq: "Beta"}}}`, []string{"Beta"}}, // a single filter is a list of one
		// Explicit nulls filter nothing.
		{"accounts", "name", `null`, []string{"Acme", "Beta", "Delta", "acme lower"}},
		{"accounts", "name", `{name: null, industry: {eq: null}, and: null, tags: null, contacts: null}`, []string{"Acme", "Beta", "Delta", "acme lower"}},
		{"accounts", "name", `{annualRevenue: {amount: null, currency: {eq: "EUR"}}}`, []string{"Beta"}},
	}
	for _, tc := range cases {
		vars := map[string]any{}
		for k, v := range ids {
			if strings.Contains(tc.where, "$"+k) {
				vars[k] = v
			}
		}
		got := d.list(t, tc.root, tc.display, tc.where, vars)
		same(t, tc.root+"(where: "+tc.where+")", got, tc.want)
	}
}

// A filter that is the same inside a nested connection and at the root
// selects the same records; nested filters and orders apply per parent.
func TestNestedFilters(t *testing.T) {
	t.Parallel()
	d := newFilterData(t)
	r := d.e.ok(t, d.c, `{ accounts(where: {name: {in: ["Acme", "Beta"]}}, orderBy: [{name: DESC}]) { nodes { name
		deals(where: {amount: {currency: {eq: "USD"}}}, orderBy: [{amount: DESC}]) { totalCount nodes { name } }
		children(first: 5, where: {industry: {isNull: false}}) { nodes { name contacts(where: {jobLevel: {gte: manager}}) { nodes { lastName } } } } } } }`, nil)
	same(t, "accounts", field(r, "name", "accounts", "nodes"), []string{"Beta", "Acme"})
	same(t, "Beta's deals", field(r, "name", "accounts", "nodes", 0, "deals", "nodes"), []string{"Lost"})
	same(t, "Acme's deals", field(r, "name", "accounts", "nodes", 1, "deals", "nodes"), []string{"Big"})
	same(t, "Acme's children", field(r, "name", "accounts", "nodes", 1, "children", "nodes"), []string{"Beta"})
	same(t, "Beta's children's contacts", field(r, "lastName", "accounts", "nodes", 0, "children", "nodes", 0, "contacts", "nodes"), []string{"Carter"})
	same(t, "Acme's children's contacts", field(r, "lastName", "accounts", "nodes", 1, "children", "nodes", 0, "contacts", "nodes"), []string{"Baker"})
}

// Values of every kind come back as they were written: exact decimals,
// enum names for stored picklist values that are not GraphQL names, JSON,
// dates and datetimes in UTC.
func TestValuesRoundTrip(t *testing.T) {
	t.Parallel()
	d := newFilterData(t)
	r := d.e.ok(t, d.c, `query($id: ID!) { project(id: $id) { name code active billable budget priority labels startsOn kickoff meta account { name } } }`,
		map[string]any{"id": d.apollo})
	p := get(r, "project")
	for k, want := range map[string]string{"name": "Apollo", "code": "AP", "active": "true", "billable": "false", "budget": "1000.25",
		"priority": "p_1", "labels": "[red green]", "startsOn": "2026-01-10", "kickoff": "2026-01-10T09:00:00Z", "meta": "map[x:1]"} {
		if got := fmt.Sprint(get(p, k)); got != want {
			t.Errorf("project.%s = %s, want %s", k, got, want)
		}
	}
	if get(p, "account", "name") != "Acme" {
		t.Errorf("project.account = %v", get(p, "account"))
	}
	r = d.e.ok(t, d.c, `{ projects(orderBy: [{priority: ASC}]) { nodes { name priority labels } } }`, nil)
	same(t, "projects by priority", field(r, "name", "projects", "nodes"), []string{"Apollo", "Borealis", "Ceres"})
	same(t, "priorities", field(r, "priority", "projects", "nodes"), []string{"p_1", "_3rd", "<nil>"})
	same(t, "labels", field(r, "labels", "projects", "nodes"), []string{"[red green]", "[blue_ish]", "<nil>"})

	// Updating with enum names stores the picklist values.
	u := d.e.ok(t, d.c, `mutation($id: ID!) { updateProject(id: $id, input: {priority: p_2, labels: [blue_ish, red]}) { priority labels } }`,
		map[string]any{"id": d.ceres})
	if fmt.Sprint(get(u, "updateProject", "priority")) != "p_2" || fmt.Sprint(get(u, "updateProject", "labels")) != "[blue_ish red]" {
		t.Errorf("update enums: %v", u)
	}
	var stored string
	if err := d.e.db.Owner.QueryRow(t.Context(), "SELECT data::text FROM records WHERE id = $1", d.ceres).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, `"p.2"`) || !strings.Contains(stored, `"blue-ish"`) {
		t.Errorf("stored %s, want the picklist values p.2 and blue-ish", stored)
	}

	// Aggregates group by enum names too.
	a := d.e.ok(t, d.c, `{ projectsAggregate(groupBy: [priority]) { key { priority } count sum { budget } } }`, nil)
	var keys []string
	for _, g := range get(a, "projectsAggregate").([]any) {
		keys = append(keys, fmt.Sprintf("%v:%v:%v", get(g, "key", "priority"), get(g, "count"), get(g, "sum", "budget")))
	}
	same(t, "aggregate by priority", keys, []string{"p_1:1:1000.25", "p_2:1:<nil>", "_3rd:1:20"})
}

// Filter mistakes are BAD_USER_INPUT at the argument that holds them.
func TestFilterErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "ferr")
	cases := []struct{ query, path, msg string }{
		{`{ accounts(where: {id: {eq: "nope"}}) { totalCount } }`, "[where id eq]", "UUID"},
		{`{ accounts(where: {createdAt: {withinLast: "a week"}}) { totalCount } }`, "[where createdAt withinLast]", "withinLast"},
		{`{ accounts(where: {and: [{name: {eq: "x"}}, {createdAt: {gt: "yesterday"}}]}) { totalCount } }`, "[where and 1 createdAt gt]", "RFC 3339"},
		{`{ contacts(where: {account: {parent: {owner: {eq: "me"}}}}) { totalCount } }`, "[where account parent owner eq]", "UUID"},
		{`{ accounts(where: {deals: {some: {closeDate: {eq: "2026-13-01"}}}}) { totalCount } }`, "[where deals some closeDate eq]", "date"},
		{`{ accounts(where: {not: {contacts: {count: {where: {birthday: {lt: "x"}}, gt: 1}}}}) { totalCount } }`, "[where not contacts count where birthday lt]", "date"},
		{`{ accounts(where: {contacts: {count: {gt: -1}}}) { totalCount } }`, "[where contacts count gt]", ""},
		{`{ accounts { nodes { contacts(where: {birthday: {gt: "nope"}}) { totalCount } } } }`, "[where birthday gt]", "date"},
		{`{ accountsAggregate(where: {name: {eq: "\u0000"}}) { count } }`, "[where name eq]", "NUL"},
	}
	for _, tc := range cases {
		r := e.do(t, c, tc.query, nil)
		if r.code() != CodeBadUserInput || r.argPath() != tc.path || !strings.Contains(r.message(), tc.msg) {
			t.Errorf("%s:\n got %s at %s: %q\nwant %s at %s, a message with %q", tc.query, r.code(), r.argPath(), r.message(), CodeBadUserInput, tc.path, tc.msg)
		}
	}
	// A nested list's argument error carries the nested field's path.
	r := e.do(t, c, `{ accounts { nodes { contacts(where: {birthday: {gt: "nope"}}) { totalCount } } } }`, nil)
	if p := fmt.Sprint(r.Errors[0]["path"]); p != "[accounts nodes contacts]" {
		t.Errorf("nested error path = %s", p)
	}
}

// A number out of the condition language's range, in a variable (a literal
// is refused by validation), is BAD_USER_INPUT at its argument.
func TestFilterNumberRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "frange")
	r := e.do(t, c, `mutation($n: BigInt) { deleteAccounts(where: {employees: {lt: $n}}) { count } }`, map[string]any{"n": json.Number("1e5000")})
	if r.code() != CodeBadUserInput || r.argPath() != "[where employees lt]" || !strings.Contains(r.message(), "range") {
		t.Errorf("got %v", r.Errors)
	}
}
