package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/dbtest"
)

// TestSchemaAndRecordsFromTheCLI walks the schema engine's acceptance path
// through the CLI against a real PostgreSQL: the CRM template, a custom
// object with lookups both ways added by a bundle, a renamed and a removed
// field, records written, rejected with every violation, updated with a
// stale version, deleted and restored.
func TestSchemaAndRecordsFromTheCLI(t *testing.T) {
	url := dbtest.NewEmpty(t)
	ctx := t.Context()
	cli := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		return run(t, ctx, url, stdin, args...)
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := cli(stdin, args...)
		if code != 0 {
			t.Fatalf("lattice %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	jsonOf := func(s string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, s)
		}
		return m
	}
	must("", "migrate")
	must("", "tenant", "create", "acme")
	// The CRM template is installed on creation.
	exported := must("", "schema", "export", "--tenant", "acme")
	for _, obj := range []string{`"Account"`, `"Contact"`, `"Lead"`, `"Deal"`, `"Activity"`, `"zh-CN"`} {
		if !strings.Contains(exported, obj) {
			t.Fatalf("CRM template lacks %s", obj)
		}
	}
	// A custom object with lookups both ways (to Account, and to itself).
	out := must("y\n", "schema", "import", "--tenant", "acme", "testdata/project.json")
	if !strings.Contains(out, "object.added") || !strings.Contains(out, "schema version 2 (applied)") {
		t.Fatalf("import:\n%s", out)
	}
	acct := jsonOf(must(`{"name":"Acme HQ"}`, "records", "create", "--tenant", "acme", "Account"))
	acctID := acct["id"].(string)
	proj := jsonOf(must(`{"title":"Rollout","account":"`+acctID+`","budget":{"amount":1200.5,"currency":"USD"}}`,
		"records", "create", "--tenant", "acme", "Project"))
	projID := proj["id"].(string)
	if proj["status"] != "planned" || proj["version"].(float64) != 1 {
		t.Fatalf("project: %v", proj)
	}
	// Every violation at once, nothing written.
	_, errOut, code := cli(`{"title":"`+strings.Repeat("x", 81)+`","budget":{"amount":-1,"currency":"XYZ"},"status":"cancelled","colour":"red"}`,
		"records", "create", "--tenant", "acme", "Project")
	for _, want := range []string{"/title", "/budget/amount", "/budget/currency", "/status", "/colour", "/account"} {
		if code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("invalid record: exit %d, stderr lacks %s:\n%s", code, want, errOut)
		}
	}
	list := jsonOf(must("", "records", "list", "--tenant", "acme", "Project"))
	if n := len(list["records"].([]any)); n != 1 {
		t.Fatalf("%d projects after the rejected create, want 1", n)
	}
	// Rename title -> name and remove notes, using the exported keys.
	var bundle map[string]any
	_ = json.Unmarshal([]byte(must("", "schema", "export", "--tenant", "acme")), &bundle)
	var project map[string]any
	for _, o := range bundle["objects"].([]any) {
		if o.(map[string]any)["x-lattice-object"].(map[string]any)["apiName"] == "Project" {
			project = o.(map[string]any)
		}
	}
	props := project["properties"].(map[string]any)
	props["name"] = props["title"]
	delete(props, "title")
	delete(props, "notes")
	project["required"] = []string{"name", "account"}
	project["x-lattice-object"].(map[string]any)["displayField"] = "name"
	single, _ := json.Marshal(project)
	out = must(string(single), "schema", "apply", "--tenant", "acme", "-")
	if !strings.Contains(out, "field.renamed") || !strings.Contains(out, "field.removed") {
		t.Fatalf("rename/remove:\n%s", out)
	}
	got := jsonOf(must("", "records", "get", "--tenant", "acme", "Project", projID))
	if got["name"] != "Rollout" || got["title"] != nil {
		t.Fatalf("after rename: %v", got)
	}
	// Update with the right version, then with a stale one.
	must(`{"status":"active"}`, "records", "update", "--tenant", "acme", "Project", projID, "--expected-version", "1")
	_, errOut, code = cli(`{"status":"done"}`, "records", "update", "--tenant", "acme", "Project", projID, "--expected-version", "1")
	if code != 4 || !strings.Contains(errOut, "version_conflict") || !strings.Contains(errOut, "version 2") {
		t.Fatalf("stale update: exit %d %s", code, errOut)
	}
	// Deleting the account cascades to the project; restoring brings both back.
	must("", "records", "delete", "--tenant", "acme", "Account", acctID)
	if _, errOut, code := cli("", "records", "get", "--tenant", "acme", "Project", projID); code != 3 || !strings.Contains(errOut, "record_not_found") {
		t.Fatalf("cascade: exit %d %s", code, errOut)
	}
	must("", "records", "restore", "--tenant", "acme", "Account", acctID)
	restored := jsonOf(must("", "records", "restore", "--tenant", "acme", "Project", projID))
	if restored["status"] != "active" || restored["deletedAt"] != nil {
		t.Fatalf("restored: %v", restored)
	}
	// History and diff.
	if out := must("", "schema", "history", "--tenant", "acme"); !strings.Contains(out, "CRM template") {
		t.Fatalf("history:\n%s", out)
	}
	if out := must("", "schema", "diff", "--tenant", "acme", "1", "3"); !strings.Contains(out, "Project") {
		t.Fatalf("diff 1 3:\n%s", out)
	}
	// A bad definition names the pointer and changes nothing.
	_, errOut, code = cli(`{"x-lattice-object":{"apiName":"Bad"},"properties":{"n":{"x-lattice-field":{"kind":"number"}}}}`,
		"schema", "apply", "--tenant", "acme", "-")
	if code != 2 || !strings.Contains(errOut, "/properties/n/x-lattice-field/kind") {
		t.Fatalf("bad definition: exit %d\n%s", code, errOut)
	}
}
