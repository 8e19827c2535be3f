package dataapi

import (
	"encoding/json"
	"testing"

	"github.com/latticecrm/lattice/schema/model"
)

// TestPlansAreReusedWithEachRequestsValues runs the same documents with
// different variables: each answer must be that request's, and the plan
// cache must hold one plan where a variable is bound late (a by-id root
// field) and one per value where a variable shapes the statement.
func TestPlansAreReusedWithEachRequestsValues(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.tenant(t, "plans")
	ids := map[string]string{}
	for _, name := range []string{"Acme", "Globex", "Initech"} {
		ids[name] = e.create(t, c, "Account", map[string]any{"name": name})
	}

	const byID = `query($id: ID!) { account(id: $id) { name } }`
	before := e.api.plans.Len()
	for _, name := range []string{"Acme", "Globex", "Initech", "Acme"} {
		d := e.ok(t, c, byID, map[string]any{"id": ids[name]})
		if got := get(d, "account", "name"); got != name {
			t.Errorf("account(id: %s) = %v, want %s", ids[name], got, name)
		}
	}
	if n := e.api.plans.Len() - before; n != 1 {
		t.Errorf("by-id document: %d plans kept, want 1 (the id bound late)", n)
	}

	// A bad id on the reused plan fails as it does when compiling.
	fresh := newEnv(t, Options{})
	fc := fresh.tenant(t, "plans-fresh")
	want := fresh.do(t, fc, byID, map[string]any{"id": "nope"})
	got := e.do(t, c, byID, map[string]any{"id": "nope"})
	if got.code() != CodeBadUserInput || got.message() != want.message() || got.argPath() != want.argPath() {
		t.Errorf("bad id from a kept plan: %s %q at %s; compiled: %s %q at %s",
			got.code(), got.message(), got.argPath(), want.code(), want.message(), want.argPath())
	}

	// node(id:) binds late too.
	const node = `query($id: ID!) { node(id: $id) { ... on Account { name } } }`
	for _, name := range []string{"Globex", "Initech"} {
		if got := get(e.ok(t, c, node, map[string]any{"id": ids[name]}), "node", "name"); got != name {
			t.Errorf("node(id: %s) = %v, want %s", ids[name], got, name)
		}
	}

	// A variable that also filters is part of the key: the same id must
	// not be reused as a filter value of another request.
	const twice = `query($id: ID!) { account(id: $id) { name } accounts(where: {id: {eq: $id}}) { nodes { name } } }`
	before = e.api.plans.Len()
	for _, name := range []string{"Acme", "Globex"} {
		d := e.ok(t, c, twice, map[string]any{"id": ids[name]})
		if got := get(d, "account", "name"); got != name {
			t.Errorf("account = %v, want %s", got, name)
		}
		same(t, "accounts filtered by the same variable", field(d, "name", "accounts", "nodes"), []string{name})
	}
	if n := e.api.plans.Len() - before; n != 2 {
		t.Errorf("document using $id twice: %d plans kept, want 2 (one per value)", n)
	}

	// A filter value shapes the plan: one per value, each answer its own.
	const byName = `query($n: String!) { accounts(where: {name: {eq: $n}}) { nodes { name } } }`
	for _, name := range []string{"Acme", "Initech", "Acme"} {
		same(t, "accounts(name = "+name+")", field(e.ok(t, c, byName, map[string]any{"n": name}), "name", "accounts", "nodes"), []string{name})
	}
}

// TestPlansFollowTheCallersRecords checks that callers whose scopes share
// a Key but reach different records never share a plan, and that a scope
// whose records have no key is never kept.
func TestPlansFollowTheCallersRecords(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.tenant(t, "plan-scopes")
	e.create(t, c, "Account", map[string]any{"name": "Acme"})
	e.create(t, c, "Account", map[string]any{"name": "Globex"})
	only := func(name, recordsKey string) *Scope {
		return &Scope{Key: "same", RecordsKey: recordsKey, Records: func(o *model.Object) json.RawMessage {
			if o.APIName != "Account" {
				return nil
			}
			b, _ := json.Marshal(map[string]any{"field": "name", "op": "eq", "value": name})
			return b
		}}
	}
	const q = `{ accounts { nodes { name } } }`
	for _, tc := range []struct {
		name, recordsKey string
		kept             int
	}{
		{"Acme", "acme", 1}, {"Globex", "globex", 1}, {"Acme", "", 0}, {"Globex", "", 0},
	} {
		caller := c
		caller.Scope = only(tc.name, tc.recordsKey)
		before := e.api.plans.Len()
		same(t, "accounts of a caller who reaches "+tc.name, field(e.ok(t, caller, q, nil), "name", "accounts", "nodes"), []string{tc.name})
		if n := e.api.plans.Len() - before; n != tc.kept {
			t.Errorf("records key %q: %d plans kept, want %d", tc.recordsKey, n, tc.kept)
		}
	}
}

// TestPlansBoundToTheTimeAreNotKept: a withinLast window ends now, so its
// plan would go stale.
func TestPlansBoundToTheTimeAreNotKept(t *testing.T) {
	e := newEnv(t, Options{})
	c := e.tenant(t, "plan-time")
	e.create(t, c, "Account", map[string]any{"name": "Acme"})
	before := e.api.plans.Len()
	same(t, "accounts created within a day", field(e.ok(t, c, `{ accounts(where: {createdAt: {withinLast: "1d"}}) { nodes { name } } }`, nil), "name", "accounts", "nodes"), []string{"Acme"})
	if n := e.api.plans.Len() - before; n != 0 {
		t.Errorf("%d plans kept for a withinLast filter, want 0", n)
	}
	e.ok(t, c, `{ accounts { nodes { name } } }`, nil)
	if n := e.api.plans.Len() - before; n != 1 {
		t.Errorf("%d plans kept after a plain list, want 1", n)
	}
}
