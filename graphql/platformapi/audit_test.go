package platformapi

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/records"
)

// deliverAudit runs the audit log's outbox consumer until it has delivered
// every event: record changes reach the log that way, as on a server.
func (e *env) deliverAudit(t *testing.T) {
	t.Helper()
	c, err := audit.New(e.db.App, quietLogger()).Consumer(outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		n, err := c.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

const auditPage = `{ edges { cursor node { id at actor action object recordId requestId address details changes } } pageInfo { hasNextPage endCursor } }`

// auditActions lists the actions of the tenant's whole audit log, oldest
// first, with the entries.
func auditLog(t *testing.T, e *env, token string) []any {
	t.Helper()
	d := e.ok(t, token, `{ auditLog(first: 1000) `+auditPage+` }`, nil)
	if str(d, "auditLog", "pageInfo", "hasNextPage") != "false" {
		t.Fatalf("more than 1000 entries: %v", d)
	}
	entries := list(d, "auditLog", "edges")
	slices.Reverse(entries)
	return entries
}

// checkAudit reads the scenario's changes back from the audit log: who
// made each, from which request and address. (Definitions of tags, tag
// rules and rule sets, and users, are not recorded by the services yet:
// docs/audit.md; their effects on records are, as record.tagged and
// record.scored.)
func checkAudit(t *testing.T, e *env, ten tenant, admin string) {
	t.Helper()
	e.deliverAudit(t)
	adminActor := "user:" + str(e.ok(t, admin, `{ me { userId } }`, nil), "me", "userId")
	count := map[string]int{}
	var schemaOps []string
	for _, edge := range auditLog(t, e, admin) {
		n := get(edge, "node")
		action := str(n, "action")
		count[action]++
		// Record changes come through the outbox, which carries no request.
		if str(n, "actor") == adminActor && !contains(action, "record.") && (str(n, "requestId") == "" || str(n, "address") != "127.0.0.1") {
			t.Errorf("an admin entry without its request id or address: %v", n)
		}
		switch action {
		case "schema.changed":
			if str(n, "actor") != adminActor || str(n, "object") != "Project" {
				t.Errorf("schema change: %v", n)
			}
			for _, c := range list(n, "details", "changes") {
				if str(c, "object") == "Project" {
					schemaOps = append(schemaOps, str(c, "op")+" "+str(c, "field"))
				}
			}
		case "record.tagged":
			if str(n, "details", "added", 0) != "priority/high" || str(n, "details", "source") != "rule" || str(n, "actor") != adminActor {
				t.Errorf("tagging: %v", n)
			}
		case "record.scored":
			if str(n, "details", "rulesetVersion") != "1" {
				t.Errorf("scoring: %v", n)
			}
		}
	}
	for action, want := range map[string]int{
		"schema.changed":     6, // create, 3 field changes, removal, restore
		"permission.changed": 4, // the built-in roles, the analyst role, its grant, Ana's assignment
		"token.created":      3, // the admin's (by the test), the integration's, Ana's own
		"auth.login":         1,
		"record.created":     1,
		"record.tagged":      1, // the tag rule tagged the record
		"record.scored":      1, // the rule set scored it
	} {
		if count[action] != want {
			t.Errorf("%d %s entries, want %d; all: %v", count[action], action, want, count)
		}
	}
	for _, op := range []string{"object.added ", "field.renamed startDate", "field.changed stage", "field.kindChanged headcount",
		"field.removed contact", "field.restored contact"} {
		if !slices.Contains(schemaOps, op) {
			t.Errorf("the audit log has no %s: %v", op, schemaOps)
		}
	}
}

// The audit log pages newest first with keyset cursors and filters; a
// record's history is one query.
func TestAuditLogPagesAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.newTenant(t, "acme", "crm")
	admin := ten.adminToken
	start := time.Now().Add(-time.Second)
	for _, role := range []string{"east", "west", "north"} {
		e.ok(t, admin, `mutation($n: String!) { createRole(name: $n, inherits: ["readOnly"]) { name } }`, map[string]any{"n": role})
	}
	rec, err := e.records.Create(t.Context(), ten.id, records.Actor("test"), "Account", map[string]any{"name": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.records.Update(t.Context(), ten.id, records.Actor("test"), "Account", rec.ID, map[string]any{"name": "Acme Corp"}, nil); err != nil {
		t.Fatal(err)
	}
	e.deliverAudit(t)

	// Pages of two permission changes, newest first, until the last.
	var got []string
	after := any(nil)
	for page := 0; ; page++ {
		d := e.ok(t, admin, `query($after: String) { auditLog(first: 2, after: $after, filter: {action: "permission.changed"}) `+auditPage+` }`,
			map[string]any{"after": after})
		edges := list(d, "auditLog", "edges")
		for _, edge := range edges {
			got = append(got, str(edge, "node", "details"))
		}
		if len(edges) == 0 || len(edges) > 2 || page > 5 {
			t.Fatalf("page %d: %v", page, d)
		}
		if str(d, "auditLog", "pageInfo", "hasNextPage") == "false" {
			break
		}
		end := str(d, "auditLog", "pageInfo", "endCursor")
		if str(edges[len(edges)-1], "cursor") != end || get(edges[0], "cursor") != nil {
			t.Fatalf("cursors: %v", d)
		}
		after = end
	}
	// The bootstrap of the built-in roles and the three new roles.
	if len(got) != 4 || !contains(got[0], "role:north") || !contains(got[2], "role:east") {
		t.Fatalf("permission changes, newest first: %v", got)
	}

	// Filters: actor, object, time range.
	adminActor := "user:" + str(e.ok(t, admin, `{ me { userId } }`, nil), "me", "userId")
	d := e.ok(t, admin, `query($a: String!, $from: Time!) { byActor: auditLog(filter: {actor: $a, action: "permission.changed", from: $from}) { edges { node { actor } } }
		records: auditLog(filter: {action: "record.*", object: "Account"}) { edges { node { action recordId } } }
		future: auditLog(filter: {from: "2999-01-01T00:00:00Z"}) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
		map[string]any{"a": adminActor, "from": start.UTC().Format(time.RFC3339Nano)})
	if len(list(d, "byActor", "edges")) != 3 || len(list(d, "records", "edges")) != 2 ||
		len(list(d, "future", "edges")) != 0 || get(d, "future", "pageInfo", "endCursor") != nil {
		t.Fatalf("filters: %v", d)
	}

	// A record's history: every change, newest first, with field changes.
	d = e.ok(t, admin, `query($id: ID!) { recordHistory(recordId: $id) { edges { node { action recordId changes } } } }`, map[string]any{"id": rec.ID})
	edges := list(d, "recordHistory", "edges")
	if len(edges) != 2 || str(edges[0], "node", "action") != "record.updated" || str(edges[1], "node", "action") != "record.created" ||
		str(edges[0], "node", "recordId") != rec.ID {
		t.Fatalf("history: %v", d)
	}
	changes, _ := json.Marshal(get(edges[0], "node", "changes"))
	if !contains(string(changes), "Acme Corp") {
		t.Errorf("the update's changes: %s", changes)
	}

	// Bad arguments point at themselves.
	for q, ptr := range map[string]string{
		`{ auditLog(after: "nope") { edges { cursor } } }`:                                                      "/after",
		`{ auditLog(first: 0) { edges { cursor } } }`:                                                           "/first",
		`{ auditLog(filter: {recordId: "nope"}) { edges { cursor } } }`:                                         "/filter/recordId",
		`{ auditLog(filter: {action: "a*b"}) { edges { cursor } } }`:                                            "/filter/action",
		`{ auditLog(filter: {from: "2026-01-02T00:00:00Z", to: "2026-01-01T00:00:00Z"}) { edges { cursor } } }`: "/filter/to",
		`{ recordHistory(recordId: "nope") { edges { cursor } } }`:                                              "/recordId",
	} {
		err := e.fails(t, admin, CodeBadUserInput, q, nil)
		if _, ok := problems(t, err)[ptr]; !ok {
			t.Errorf("%s: %+v, want a problem at %s", q, err, ptr)
		}
	}
}
