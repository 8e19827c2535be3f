package dataapi

import (
	"fmt"
	"strings"
	"testing"
)

// groups renders an aggregate's groups as "key:count" strings, the key
// being the listed key fields joined with "/".
func groups(d map[string]any, root string, keys ...string) []string {
	var out []string
	l, _ := d[root].([]any)
	for _, g := range l {
		var k []string
		for _, name := range keys {
			k = append(k, fmt.Sprint(get(g, "key", name)))
		}
		out = append(out, strings.Join(k, "/")+":"+fmt.Sprint(get(g, "count")))
	}
	return out
}

// Aggregates compute exact sums, averages and extremes of every kind, and
// group by every groupable kind in key order (picklists in their own
// order, as lists sort), missing keys last.
func TestAggregates(t *testing.T) {
	t.Parallel()
	d := newFilterData(t)
	e, c := d.e, d.c
	r := e.ok(t, c, `{
		all: accountsAggregate { count sum { employees annualRevenue score } avg { employees score } min { name employees annualRevenue createdAt }
			max { name website annualRevenue score } key { industry } }
		none: accountsAggregate(where: {name: {eq: "nobody"}}) { count sum { employees } min { name } }
		noGroups: accountsAggregate(where: {name: {eq: "nobody"}}, groupBy: [industry]) { count }
		industry: accountsAggregate(groupBy: [industry]) { key { industry } count }
		owner: accountsAggregate(groupBy: [owner]) { key { owner } count }
		grade: accountsAggregate(groupBy: [grade]) { key { grade } count max { score } }
		two: accountsAggregate(groupBy: [industry, billingCity], where: {employees: {isNull: false}}) { key { industry billingCity name } count }
		priority: projectsAggregate(groupBy: [priority]) { key { priority } count }
		parent: accountsAggregate(groupBy: [parent]) { key { parent } count }
		deals: dealsAggregate { sum { amount probability } avg { probability } min { closeDate amount name } max { closeDate probability } }
		closeDate: dealsAggregate(groupBy: [closeDate]) { key { closeDate } count sum { amount } }
		stage: dealsAggregate(groupBy: [stage]) { key { stage } count }
		birthday: contactsAggregate(groupBy: [birthday]) { key { birthday } count min { birthday } }
		contacts: contactsAggregate { min { birthday lastName } max { birthday email } }
		active: projectsAggregate(groupBy: [active]) { key { active } count avg { budget } }
		startsOn: projectsAggregate(groupBy: [startsOn], where: {startsOn: {eq: "2026-01-10"}}) { key { startsOn } count }
		activities: activitiesAggregate { min { occurredAt durationMinutes } max { durationMinutes } sum { durationMinutes } }
		typed: activitiesAggregate(groupBy: [type]) { __typename key { __typename type } count }
	}`, nil)
	check := func(what string, got any, want string) {
		t.Helper()
		if s := fmt.Sprint(got); s != want {
			t.Errorf("%s = %s, want %s", what, s, want)
		}
	}
	all := get(r, "all", 0)
	check("count", get(all, "count"), "4")
	check("sum", get(all, "sum"), "map[annualRevenue:1002000.50 employees:550 score:135.5]")
	if avg := fmt.Sprint(get(all, "avg", "employees")); !strings.HasPrefix(avg, "183.333333") {
		t.Errorf("avg employees = %s", avg)
	}
	check("avg score", get(all, "avg", "score"), "67.7500000000000000")
	check("min name (code point order)", get(all, "min", "name"), "Acme")
	check("max name (code point order)", get(all, "max", "name"), "acme lower")
	check("min employees", get(all, "min", "employees"), "0")
	check("min annualRevenue", get(all, "min", "annualRevenue"), "0")
	check("max annualRevenue", get(all, "max", "annualRevenue"), "1000000.50")
	check("max website (none)", get(all, "max", "website"), "<nil>")
	check("max score", get(all, "max", "score"), "80")
	check("key of an ungrouped field", get(all, "key", "industry"), "<nil>")
	if s, _ := get(all, "min", "createdAt").(string); !strings.HasSuffix(s, "Z") || len(s) != len("2026-01-01T00:00:00.000000Z") {
		t.Errorf("min createdAt = %q", s)
	}
	check("empty", get(r, "none"), "[map[count:0 min:map[name:<nil>] sum:map[employees:<nil>]]]")
	check("empty, grouped", get(r, "noGroups"), "[]")
	same(t, "by industry", groups(r, "industry", "industry"), []string{"technology:1", "finance:1", "retail:1", "<nil>:1"})
	same(t, "by owner", groups(r, "owner", "owner"), []string{d.owner + ":1", "<nil>:3"})
	same(t, "by grade", groups(r, "grade", "grade"), []string{"A:1", "B:1", "<nil>:2"})
	same(t, "by priority (enum names, picklist order)", groups(r, "priority", "priority"), []string{"p_1:1", "_3rd:1", "<nil>:1"})
	same(t, "by two keys", groups(r, "two", "industry", "billingCity", "name"), []string{"technology/Berlin/<nil>:1", "finance/Paris/<nil>:1", "<nil>/<nil>/<nil>:1"})
	var parents []string
	for _, g := range get(r, "parent").([]any) {
		parents = append(parents, fmt.Sprint(get(g, "key", "parent"), ":", get(g, "count")))
	}
	if len(parents) != 3 || parents[2] != "<nil>:2" || !strings.Contains(strings.Join(parents, " "), d.acme+":1") {
		t.Errorf("by parent: %v", parents)
	}

	deals := get(r, "deals", 0)
	check("deal sums", get(deals, "sum"), "map[amount:6099.99 probability:85.5]")
	check("avg probability", get(deals, "avg", "probability"), "42.7500000000000000")
	check("deal min", get(deals, "min"), "map[amount:100 closeDate:2025-12-31 name:Big]")
	check("deal max", get(deals, "max"), "map[closeDate:2026-03-01 probability:75.5]")
	same(t, "by closeDate", groups(r, "closeDate", "closeDate"), []string{"2025-12-31:1", "2026-03-01:1", "<nil>:1"})
	same(t, "by stage", groups(r, "stage", "stage"), []string{"prospecting:1", "negotiation:1", "closedLost:1"})
	same(t, "by birthday", groups(r, "birthday", "birthday"), []string{"1980-05-01:1", "1990-01-15:1", "<nil>:2"})
	check("contact extremes", get(r, "contacts", 0), "map[max:map[birthday:1990-01-15 email:ann@acme.example] min:map[birthday:1980-05-01 lastName:Able]]")
	same(t, "by active", groups(r, "active", "active"), []string{"false:1", "true:1", "<nil>:1"})
	check("avg budget of active", get(r, "active", 1, "avg", "budget"), "1000.2500000000000000")
	same(t, "by startsOn", groups(r, "startsOn", "startsOn"), []string{"2026-01-10:1"})
	acts := get(r, "activities", 0)
	check("activity extremes", fmt.Sprint(get(acts, "min", "occurredAt"), " ", get(acts, "min", "durationMinutes"), " ", get(acts, "max", "durationMinutes"), " ", get(acts, "sum", "durationMinutes")),
		"2020-01-01T00:00:00.000000Z 30 30 30")
	if get(r, "typed", 0, "__typename") != "ActivityAggregate" || get(r, "typed", 0, "key", "__typename") != "ActivityGroupKey" {
		t.Errorf("__typename in aggregates: %v", get(r, "typed", 0))
	}
}
