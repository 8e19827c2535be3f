package dataapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"
)

// sortSpec is one orderBy key for the Go model of the expected order.
type sortSpec struct {
	name string
	desc bool
	kind string // text, number, bool, picklist
}

// pageRecord is one record's sort values, by API name.
type pageRecord map[string]any

// cmpValues compares two non-missing values of a kind.
func cmpValues(kind string, a, b any, picklist []string) int {
	switch kind {
	case "number":
		x, _ := new(big.Rat).SetString(fmt.Sprint(a))
		y, _ := new(big.Rat).SetString(fmt.Sprint(b))
		return x.Cmp(y)
	case "bool":
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0
		case !x:
			return -1
		}
		return 1
	case "picklist":
		return slices.Index(picklist, a.(string)) - slices.Index(picklist, b.(string))
	}
	return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
}

// expectedOrder sorts records as the API documents: keys in turn, missing
// values last ascending and first descending, ties broken by id in the
// direction of the last key.
func expectedOrder(recs []pageRecord, keys []sortSpec, picklist []string) []string {
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, func(a, b pageRecord) int {
		for _, k := range keys {
			x, y := a[k.name], b[k.name]
			var c int
			switch {
			case x == nil && y == nil:
				c = 0
			case x == nil:
				c = 1 // missing sorts last ascending
			case y == nil:
				c = -1
			default:
				c = cmpValues(k.kind, x, y, picklist)
			}
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		c := strings.Compare(a["id"].(string), b["id"].(string))
		if len(keys) > 0 && keys[len(keys)-1].desc {
			c = -c
		}
		return c
	})
	ids := make([]string, len(sorted))
	for i, r := range sorted {
		ids[i] = r["id"].(string)
	}
	return ids
}

// orderArg renders keys as an orderBy argument.
func orderArg(keys []sortSpec) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		d := "ASC"
		if k.desc {
			d = "DESC"
		}
		parts[i] = fmt.Sprintf("{%s: %s}", k.name, d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// walk pages through root in order with pages of size n, forwards with
// first/after or backwards with last/before, and returns the ids in list
// order. It checks pageInfo and edge cursors on the way.
func walk(t *testing.T, e *env, c Caller, root, order string, n int, backward bool) []string {
	t.Helper()
	var ids []string
	cursor := any(nil)
	for page := 0; page < 100; page++ {
		q := fmt.Sprintf(`query($cur: String) { r: %s(orderBy: %s, first: %d, after: $cur) {
			edges { cursor node { id } } nodes { id } pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }`, root, order, n)
		if backward {
			q = strings.Replace(strings.Replace(q, "first:", "last:", 1), "after:", "before:", 1)
		}
		d := e.ok(t, c, q, map[string]any{"cur": cursor})
		edges, _ := get(d, "r", "edges").([]any)
		var pageIDs []string
		for i, edge := range edges {
			id := get(edge, "node", "id").(string)
			if get(d, "r", "nodes", i, "id") != id {
				t.Fatalf("%s %s: nodes and edges differ: %v", root, order, d)
			}
			pageIDs = append(pageIDs, id)
		}
		info := get(d, "r", "pageInfo")
		if len(edges) > 0 {
			if get(info, "startCursor") != get(edges[0], "cursor") || get(info, "endCursor") != get(edges[len(edges)-1], "cursor") {
				t.Fatalf("%s %s: start/end cursors are not the first and last edges' cursors: %v", root, order, d)
			}
		} else if get(info, "startCursor") != nil || get(info, "endCursor") != nil {
			t.Fatalf("%s %s: an empty page has cursors: %v", root, order, info)
		}
		more := get(info, "hasNextPage")
		cursor = get(info, "endCursor")
		if backward {
			more = get(info, "hasPreviousPage")
			cursor = get(info, "startCursor")
			ids = append(pageIDs, ids...)
		} else {
			ids = append(ids, pageIDs...)
		}
		if len(pageIDs) > n {
			t.Fatalf("%s %s: page of %d records, asked for %d", root, order, len(pageIDs), n)
		}
		if more != true {
			return ids
		}
		if len(pageIDs) != n {
			t.Fatalf("%s %s: a page of %d records before the end, want %d", root, order, len(pageIDs), n)
		}
	}
	t.Fatalf("%s %s: more than 100 pages", root, order)
	return nil
}

// Keyset pagination walks every record exactly once and in order, both
// ways, under every sort direction and with sort keys that have missing
// values and ties, through slot columns and through JSONB alike.
func TestPaginationWalks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "pages")
	e.withProjects(t, c)
	names := []string{"Alpha", "beta", "Gamma", "Alpha", "Delta", "gamma", "Beta", "Alpha", "Omega", "Zeta", "alpha", "Mu", "Nu", "Xi"}
	priorities := []string{"p_1", "p_2", "_3rd"}
	for i, name := range names {
		in := map[string]any{"name": name}
		if i%3 != 0 {
			in["active"] = i%2 == 0
		}
		if i%4 != 1 {
			in["billable"] = i%3 == 1
		}
		if i%5 != 2 {
			in["budget"] = json.Number([]string{"10", "2.5", "10.00", "-3", "100"}[i%5])
		}
		if i%4 != 3 {
			in["priority"] = priorities[i%3]
		}
		if i%3 != 2 {
			in["startsOn"] = fmt.Sprintf("2026-0%d-1%d", 1+i%3, i%2)
		}
		if i%6 != 5 {
			in["kickoff"] = time.Date(2026, 1, 1+i%4, 9, 0, 0, (i%2)*1000, time.UTC).Format(time.RFC3339Nano)
		}
		if i%7 == 0 {
			in["code"] = fmt.Sprintf("C%02d", i)
		}
		id := e.create(t, c, "Project", in)
		if i%3 != 1 {
			e.setScore(t, id, []string{"10", "55.5", "10"}[i%3], []string{"A", "B", "A"}[i%3])
		}
	}
	d := e.ok(t, c, `{ projects(first: 100) { nodes { id name active billable budget priority startsOn kickoff score grade createdAt version } } }`, nil)
	var recs []pageRecord
	for _, n := range get(d, "projects", "nodes").([]any) {
		recs = append(recs, pageRecord(n.(map[string]any)))
	}
	if len(recs) != len(names) {
		t.Fatalf("%d projects, want %d", len(recs), len(names))
	}
	orders := [][]sortSpec{
		nil,
		{{"id", true, "text"}},
		{{"name", false, "text"}}, {{"name", true, "text"}},
		{{"active", false, "bool"}}, {{"active", true, "bool"}},
		{{"billable", false, "bool"}}, {{"billable", true, "bool"}},
		{{"budget", false, "number"}}, {{"budget", true, "number"}},
		{{"priority", false, "picklist"}}, {{"priority", true, "picklist"}},
		{{"startsOn", false, "text"}}, {{"startsOn", true, "text"}},
		{{"kickoff", false, "text"}}, {{"kickoff", true, "text"}},
		{{"score", false, "number"}}, {{"score", true, "number"}},
		{{"grade", true, "text"}},
		{{"active", false, "bool"}, {"budget", true, "number"}},
		{{"priority", true, "picklist"}, {"name", false, "text"}, {"startsOn", true, "text"}},
		{{"grade", false, "text"}, {"score", true, "number"}, {"id", false, "text"}},
		{{"version", false, "number"}, {"createdAt", true, "text"}},
	}
	for i, keys := range orders {
		want := expectedOrder(recs, keys, []string{"p_1", "p_2", "_3rd"})
		order := orderArg(keys)
		sizes := []int{4}
		if i%4 == 0 {
			sizes = append(sizes, 1) // one record a page: every boundary is a cursor
		}
		for _, n := range sizes {
			for _, backward := range []bool{false, true} {
				got := walk(t, e, c, "projects", order, n, backward)
				if strings.Join(got, ",") != strings.Join(want, ",") {
					t.Errorf("projects(orderBy: %s) in pages of %d (backward %v):\n got %v\nwant %v", order, n, backward, got, want)
				}
			}
		}
	}
}

// Deals sort by slot columns (a currency's amount, a date's timestamp)
// and a percent without one; nested connections page the same way.
func TestPaginationSlotsAndNested(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "pages2")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme"})
	for i := range 11 {
		in := map[string]any{"name": fmt.Sprintf("Deal %02d", i), "account": acc}
		if i%4 != 0 {
			in["amount"] = map[string]any{"amount": json.Number([]string{"5", "10.5", "5.00"}[i%3]), "currency": "USD"}
		}
		if i%3 != 0 {
			in["closeDate"] = fmt.Sprintf("2026-02-0%d", 1+i%2)
		}
		if i%5 != 0 {
			in["probability"] = json.Number([]string{"1", "50", "99.5", "50.0"}[i%4])
		}
		e.create(t, c, "Deal", in)
	}
	d := e.ok(t, c, `{ deals(first: 100) { nodes { id amount { amount } closeDate probability } } }`, nil)
	var recs []pageRecord
	for _, n := range get(d, "deals", "nodes").([]any) {
		m := n.(map[string]any)
		r := pageRecord{"id": m["id"], "closeDate": m["closeDate"], "probability": m["probability"]}
		if a := get(m, "amount", "amount"); a != nil {
			r["amount"] = a
		}
		recs = append(recs, r)
	}
	orders := [][]sortSpec{
		{{"amount", false, "number"}}, {{"amount", true, "number"}},
		{{"closeDate", false, "text"}}, {{"closeDate", true, "text"}},
		{{"probability", true, "number"}},
		{{"closeDate", true, "text"}, {"amount", false, "number"}},
	}
	for _, keys := range orders {
		want := expectedOrder(recs, keys, nil)
		order := orderArg(keys)
		for _, backward := range []bool{false, true} {
			got := walk(t, e, c, "deals", order, 3, backward)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("deals(orderBy: %s) backward %v:\n got %v\nwant %v", order, backward, got, want)
			}
		}
	}

	// The same walk inside a related list.
	want := expectedOrder(recs, []sortSpec{{"amount", true, "number"}}, nil)
	var got []string
	cursor := any(nil)
	for range 20 {
		r := e.ok(t, c, `query($id: ID!, $cur: String) { account(id: $id) { deals(first: 4, after: $cur, orderBy: [{amount: DESC}]) {
			totalCount nodes { id } pageInfo { hasNextPage endCursor } } } }`, map[string]any{"id": acc, "cur": cursor})
		if fmt.Sprint(get(r, "account", "deals", "totalCount")) != "11" {
			t.Fatalf("nested totalCount: %v", r)
		}
		got = append(got, field(r, "id", "account", "deals", "nodes")...)
		if get(r, "account", "deals", "pageInfo", "hasNextPage") != true {
			break
		}
		cursor = get(r, "account", "deals", "pageInfo", "endCursor")
	}
	same(t, "nested walk", got, want)

	// A window between two cursors.
	all := e.ok(t, c, `{ deals(first: 100, orderBy: [{probability: ASC}]) { edges { cursor node { id } } } }`, nil)
	edges := get(all, "deals", "edges").([]any)
	win := e.ok(t, c, `query($a: String, $b: String) { deals(after: $a, before: $b, orderBy: [{probability: ASC}]) { nodes { id } } }`,
		map[string]any{"a": get(edges[2], "cursor"), "b": get(edges[7], "cursor")})
	var between []string
	for _, edge := range edges[3:7] {
		between = append(between, get(edge, "node", "id").(string))
	}
	same(t, "after/before window", field(win, "id", "deals", "nodes"), between)
	ids := func(es []any) []string {
		var out []string
		for _, edge := range es {
			out = append(out, get(edge, "node", "id").(string))
		}
		return out
	}
	win = e.ok(t, c, `query($b: String, $a: String) { fb: deals(first: 2, before: $b, orderBy: [{probability: ASC}]) { nodes { id } }
		la: deals(last: 2, after: $a, orderBy: [{probability: ASC}]) { nodes { id } } }`,
		map[string]any{"b": get(edges[7], "cursor"), "a": get(edges[2], "cursor")})
	same(t, "first 2 before the 8th", field(win, "id", "fb", "nodes"), ids(edges[:2]))
	same(t, "last 2 after the 3rd", field(win, "id", "la", "nodes"), ids(edges[len(edges)-2:]))
}

// Bad pagination arguments are refused with the argument's path.
func TestPaginationErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{Limits: Limits{MaxPageSize: 20}})
	c := e.tenant(t, "pageerr")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme", "employees": 5})
	e.create(t, c, "Account", map[string]any{"name": "Beta"})
	d := e.ok(t, c, `{ accounts(first: 1, orderBy: [{name: ASC}]) { pageInfo { endCursor } } }`, nil)
	byName := get(d, "accounts", "pageInfo", "endCursor").(string)

	cursor := func(vals ...any) string {
		b, _ := json.Marshal(vals)
		return base64.StdEncoding.EncodeToString(b)
	}
	cases := []struct {
		name, query string
		vars        map[string]any
		code, path  string
	}{
		{"cursor of another order", `query($c: String) { accounts(after: $c, orderBy: [{name: DESC}]) { totalCount } }`, map[string]any{"c": byName}, CodeBadUserInput, "[after]"},
		{"cursor of the default order", `query($c: String) { accounts(before: $c) { totalCount } }`, map[string]any{"c": byName}, CodeBadUserInput, "[before]"},
		{"garbage cursor", `{ accounts(after: "!!not a cursor!!") { totalCount } }`, nil, CodeBadUserInput, "[after]"},
		{"base64 of garbage", `query($c: String) { accounts(after: $c) { totalCount } }`, map[string]any{"c": base64.StdEncoding.EncodeToString([]byte("{]"))}, CodeBadUserInput, "[after]"},
		{"cursor with a bad id", `query($c: String) { accounts(after: $c) { totalCount } }`, map[string]any{"c": cursor("id:a", "not-a-uuid")}, CodeBadUserInput, "[after]"},
		{"cursor with a number for an id", `query($c: String) { accounts(after: $c) { totalCount } }`, map[string]any{"c": cursor("id:a", 12)}, CodeBadUserInput, "[after]"},
		{"cursor with text for a number", `query($c: String) { accounts(after: $c, orderBy: [{employees: ASC}]) { totalCount } }`,
			map[string]any{"c": cursor("employees:a,id:a", "many", acc)}, CodeBadUserInput, "[after]"},
		{"cursor with text for a time", `query($c: String) { accounts(after: $c, orderBy: [{createdAt: ASC}]) { totalCount } }`,
			map[string]any{"c": cursor("createdAt:a,id:a", "yesterday", acc)}, CodeBadUserInput, "[after]"},
		{"cursor with a null time", `query($c: String) { accounts(after: $c, orderBy: [{createdAt: ASC}]) { totalCount } }`,
			map[string]any{"c": cursor("createdAt:a,id:a", nil, acc)}, CodeBadUserInput, "[after]"},
		{"cursor with a number for a picklist", `query($c: String) { accounts(before: $c, orderBy: [{industry: ASC}]) { totalCount } }`,
			map[string]any{"c": cursor("industry:a,id:a", "first", acc)}, CodeBadUserInput, "[before]"},
		{"first and last", `{ accounts(first: 1, last: 1) { totalCount } }`, nil, CodeBadUserInput, "[last]"},
		{"negative first", `{ accounts(first: -1) { totalCount } }`, nil, CodeBadUserInput, "[first]"},
		{"negative last", `{ accounts(last: -5) { totalCount } }`, nil, CodeBadUserInput, "[last]"},
		{"page too large", `{ accounts(first: 21) { totalCount } }`, nil, CodeLimitExceeded, "[first]"},
		{"nested page too large", `{ accounts(first: 1) { nodes { contacts(last: 1000) { totalCount } } } }`, nil, CodeLimitExceeded, "[last]"},
		{"two sort fields in one item", `{ accounts(orderBy: [{name: ASC, employees: DESC}]) { totalCount } }`, nil, CodeBadUserInput, "[orderBy 0]"},
		{"empty sort item", `{ accounts(orderBy: [{}]) { totalCount } }`, nil, CodeBadUserInput, "[orderBy 0]"},
		{"a key after id", `{ accounts(orderBy: [{id: ASC}, {name: ASC}]) { totalCount } }`, nil, CodeBadUserInput, "[orderBy 1]"},
	}
	for _, tc := range cases {
		r := e.do(t, c, tc.query, tc.vars)
		if r.code() != tc.code || r.argPath() != tc.path {
			t.Errorf("%s: got %s at %s (%v), want %s at %s", tc.name, r.code(), r.argPath(), r.Errors, tc.code, tc.path)
		}
	}
	if r := e.do(t, c, `{ accounts(first: 21) { totalCount } }`, nil); !strings.Contains(r.message(), "MaxPageSize") {
		t.Errorf("page size error does not name the limit: %q", r.message())
	}

	// A cursor made under one orderBy works under the same orderBy
	// spelled with the same keys, and first: 0 returns an empty page.
	r := e.ok(t, c, `query($c: String) { accounts(after: $c, orderBy: [{name: ASC}]) { nodes { name } }
		none: accounts(first: 0) { nodes { id } pageInfo { hasNextPage startCursor endCursor } } }`, map[string]any{"c": byName})
	same(t, "after the first by name", field(r, "name", "accounts", "nodes"), []string{"Beta"})
	if fmt.Sprint(get(r, "none")) != "map[nodes:[] pageInfo:map[endCursor:<nil> hasNextPage:true startCursor:<nil>]]" {
		t.Errorf("first: 0 = %v", get(r, "none"))
	}
}

// includeDeleted lists deleted records with the live ones, at the root only.
func TestIncludeDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "deleted")
	acc := e.create(t, c, "Account", map[string]any{"name": "Acme"})
	gone := e.create(t, c, "Contact", map[string]any{"lastName": "Gone", "account": acc})
	e.create(t, c, "Contact", map[string]any{"lastName": "Here", "account": acc})
	e.ok(t, c, `mutation($id: ID!) { deleteContact(id: $id) { id } }`, map[string]any{"id": gone})
	r := e.ok(t, c, `{ live: contacts(orderBy: [{lastName: ASC}]) { totalCount nodes { lastName } }
		all: contacts(includeDeleted: true, orderBy: [{lastName: ASC}]) { totalCount nodes { lastName deletedAt } }
		accounts { nodes { contacts { totalCount nodes { lastName } } } } }`, nil)
	same(t, "live", field(r, "lastName", "live", "nodes"), []string{"Here"})
	same(t, "all", field(r, "lastName", "all", "nodes"), []string{"Gone", "Here"})
	if fmt.Sprint(get(r, "all", "totalCount")) != "2" || get(r, "all", "nodes", 0, "deletedAt") == nil {
		t.Errorf("includeDeleted: %v", get(r, "all"))
	}
	same(t, "related list", field(r, "lastName", "accounts", "nodes", 0, "contacts", "nodes"), []string{"Here"})
}

// A connection renders only what is selected, with every argument: a
// cursor with only totalCount selected, a filter with only __typename,
// and edges and nodes selecting different fields under one response key.
func TestConnectionPartialSelections(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Options{})
	c := e.tenant(t, "partial")
	acme := e.create(t, c, "Account", map[string]any{"name": "Acme", "billingCity": "Berlin"})
	e.create(t, c, "Account", map[string]any{"name": "Beta", "billingCity": "Paris"})
	d := e.ok(t, c, `{ accounts(first: 1, orderBy: [{name: ASC}]) { pageInfo { endCursor } } }`, nil)
	cur := get(d, "accounts", "pageInfo", "endCursor")

	r := e.ok(t, c, `query($c: String, $id: ID!) {
		count: accounts(after: $c, orderBy: [{name: ASC}], where: {name: {ne: "x"}}) { totalCount }
		typename: accounts(before: $c, orderBy: [{name: ASC}], where: {name: {eq: "x"}}) { __typename }
		nested: account(id: $id) { contacts(after: "WyJpZDphIiwiMDAwMDAwMDAtMDAwMC00MDAwLTgwMDAtMDAwMDAwMDAwMDAwIl0=", where: {lastName: {eq: "x"}}) { totalCount } }
		mixed: accounts(orderBy: [{name: ASC}]) { edges { node { x: name } } nodes { x: billingCity } }
		twice: accounts(orderBy: [{name: DESC}]) { a: nodes { name } b: nodes { billingCity } e1: edges { cursor } e2: edges { node { id } } } }`,
		map[string]any{"c": cur, "id": acme})
	if fmt.Sprint(get(r, "count", "totalCount")) != "2" || get(r, "typename", "__typename") != "AccountConnection" ||
		fmt.Sprint(get(r, "nested", "contacts", "totalCount")) != "0" {
		t.Errorf("partial selections: %v", r)
	}
	var ex []string
	for _, edge := range get(r, "mixed", "edges").([]any) {
		ex = append(ex, fmt.Sprint(get(edge, "node", "x")))
	}
	same(t, "edges' x (name)", ex, []string{"Acme", "Beta"})
	same(t, "nodes' x (billingCity)", field(r, "x", "mixed", "nodes"), []string{"Berlin", "Paris"})
	if fmt.Sprint(get(r, "twice", "a")) != "[map[name:Beta] map[name:Acme]]" || fmt.Sprint(get(r, "twice", "b")) != "[map[billingCity:Paris] map[billingCity:Berlin]]" {
		t.Errorf("two nodes selections: %v", get(r, "twice"))
	}
	if e1 := get(r, "twice", "e1", 0); len(e1.(map[string]any)) != 1 || get(e1, "cursor") == nil {
		t.Errorf("edges with only a cursor: %v", get(r, "twice", "e1"))
	}
	if e2 := get(r, "twice", "e2", 0); len(e2.(map[string]any)) != 1 || get(e2, "node", "id") == nil {
		t.Errorf("edges with only a node: %v", get(r, "twice", "e2"))
	}
}
