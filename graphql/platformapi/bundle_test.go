package platformapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/latticecrm/lattice/schema/records"
)

// Export a bundle, import it elsewhere with a dry-run diff first; long
// operations (slot fills, rescoring) are jobs to poll; objects are removed
// and restored; purging drops what was removed.
func TestBundlesJobsRemovalsAndPurge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	crm := e.newTenant(t, "acme", "crm")
	other := e.newTenant(t, "globex", "none")

	d := e.ok(t, crm.adminToken, `{ exportBundle }`, nil)
	exported, err := json.Marshal(get(d, "exportBundle"))
	if err != nil || !contains(string(exported), `"apiName":"Activity"`) || contains(string(exported), `"slot"`) {
		t.Fatalf("export: %s %v", exported, err)
	}
	d = e.ok(t, other.adminToken, `mutation($b: JSON!) { importBundle(bundle: $b, dryRun: true) `+schemaResult+` }`, map[string]any{"b": string(exported)})
	if str(d, "importBundle", "applied") != "false" || str(d, "importBundle", "dryRun") != "true" ||
		len(list(d, "importBundle", "changes")) != 5 || str(d, "importBundle", "changes", 0, "op") != "object.added" {
		t.Fatalf("dry run: %v", d)
	}
	if v := e.schemaVersion(t, other.id); v != 0 {
		t.Fatalf("a dry run applied: version %d", v)
	}
	d = e.ok(t, other.adminToken, `mutation($b: JSON!) { importBundle(bundle: $b, message: "from acme") `+schemaResult+` }`, map[string]any{"b": string(exported)})
	if str(d, "importBundle", "applied") != "true" || str(d, "importBundle", "version") != "1" {
		t.Fatalf("import: %v", d)
	}
	d = e.ok(t, other.adminToken, `{ objects { apiName } schemaHistory { message } }`, nil)
	if len(list(d, "objects")) != 5 || str(d, "schemaHistory", 0, "message") != "from acme" {
		t.Fatalf("after import: %v", d)
	}

	// Indexing a field with values queues a slot job, polled to its end.
	for i := range 3 {
		if _, err := e.records.Create(t.Context(), crm.id, records.Actor("test"), "Account",
			map[string]any{"name": fmt.Sprintf("Account %d", i), "employees": json.Number(fmt.Sprint(10 * i))}); err != nil {
			t.Fatal(err)
		}
	}
	d = e.ok(t, crm.adminToken, `{ object(name: "Account") { fields { name definition } } }`, nil)
	var def map[string]any
	for _, f := range list(d, "object", "fields") {
		if str(f, "name") == "employees" {
			def = get(f, "definition").(map[string]any)
		}
	}
	def["x-lattice-field"].(map[string]any)["indexed"] = true
	d = e.ok(t, crm.adminToken, `mutation($d: JSON!) { changeField(object: "Account", field: "employees", definition: $d) {
		jobCount jobs { id object field action } changes { op detail } } }`, map[string]any{"d": def})
	if str(d, "changeField", "jobCount") != "1" || str(d, "changeField", "jobs", 0, "field") != "employees" ||
		str(d, "changeField", "jobs", 0, "action") != "fill" {
		t.Fatalf("index: %v", d)
	}
	jobID := str(d, "changeField", "jobs", 0, "id")
	waitFor(t, "the slot job", func() bool {
		d = e.ok(t, crm.adminToken, `{ schemaJobs { id finished doneRows error } }`, nil)
		for _, j := range list(d, "schemaJobs") {
			if str(j, "id") == jobID {
				return str(j, "finished") == "true"
			}
		}
		t.Fatalf("job %s not listed: %v", jobID, d)
		return false
	})

	// Rescoring is a job too: started, returned at once, polled.
	e.ok(t, crm.adminToken, `mutation { applyRuleSet(object: "Account", ruleSet: "{\"rules\": [{\"name\": \"big\", \"kind\": \"fit\", \"points\": 5, \"when\": {\"field\": \"employees\", \"op\": \"gte\", \"value\": 10}}]}") { version } }`, nil)
	d = e.ok(t, crm.adminToken, `mutation { rescore(object: "Account") { id reason totalRows } }`, nil)
	rescoreID := str(d, "rescore", "id")
	if rescoreID == "" || str(d, "rescore", "totalRows") != "3" {
		t.Fatalf("rescore: %v", d)
	}
	waitFor(t, "the rescore job", func() bool {
		d = e.ok(t, crm.adminToken, `query($id: ID!) { rescoreJob(id: $id) { finished doneRows } }`, map[string]any{"id": rescoreID})
		return str(d, "rescoreJob", "finished") == "true"
	})
	d = e.ok(t, crm.adminToken, `{ previewRuleSet(object: "Account", ruleSet: "{\"rules\": [{\"name\": \"any\", \"kind\": \"fit\", \"points\": 1, \"when\": {\"and\": []}}]}") { scored changed records } }`, nil)
	if str(d, "previewRuleSet", "scored") != "3" || len(list(d, "previewRuleSet", "records")) != 3 {
		t.Fatalf("preview: %v", d)
	}
	e.fails(t, crm.adminToken, CodeNotFound, `mutation { rescore(object: "Lead") { id } }`, nil)

	// Remove an object others refer to: the problem is in the other object.
	err = func() error {
		r := e.post(t, crm.adminToken, `mutation { removeObject(name: "Deal", dryRun: true) { version } }`, nil)
		if len(r.Errors) != 1 || problems(t, gqlError(r.Errors[0]))["Activity:/properties/deal/x-lattice-field/target"] != "unknown_object" {
			return fmt.Errorf("%s", r.raw)
		}
		return nil
	}()
	if err != nil {
		t.Errorf("removing a lookup's target: %v", err)
	}

	// Remove and restore an object, with its records.
	e.ok(t, other.adminToken, `mutation { createObject(definition: "{\"x-lattice-object\": {\"apiName\": \"Note\"}, \"properties\": {\"body\": {\"x-lattice-field\": {\"kind\": \"longText\"}}}}") { version } }`, nil)
	note, err := e.records.Create(t.Context(), other.id, records.Actor("test"), "Note", map[string]any{"body": "keep me"})
	if err != nil {
		t.Fatal(err)
	}
	d = e.ok(t, other.adminToken, `mutation { removeObject(name: "Note") `+schemaResult+` }`, nil)
	if !slices.Contains(ops(d, "removeObject", "changes"), "object.removed Note.") {
		t.Fatalf("removeObject: %v", d)
	}
	d = e.ok(t, other.adminToken, `{ object(name: "Note") { key } objects(includeRemoved: true) { apiName removedAt } }`, nil)
	if get(d, "object") != nil || str(list(d, "objects")[5], "apiName") != "Note" || str(list(d, "objects")[5], "removedAt") == "" {
		t.Fatalf("after removal: %v", d)
	}
	d = e.ok(t, other.adminToken, `mutation { restoreObject(object: "Note") `+schemaResult+` }`, nil)
	if !slices.Contains(ops(d, "restoreObject", "changes"), "object.restored Note.") {
		t.Fatalf("restoreObject: %v", d)
	}
	if r, err := e.records.Get(t.Context(), other.id, "Note", note.ID, false); err != nil || r.Values["body"] != "keep me" {
		t.Fatalf("restored record: %v %v", r, err)
	}

	// Purge: a removed field's values are deleted and it can no longer be
	// restored.
	e.ok(t, other.adminToken, `mutation { removeField(object: "Note", field: "body") { version } }`, nil)
	d = e.ok(t, other.adminToken, `mutation { purgeSchema(olderThan: "0s") { op object field } }`, nil)
	if !slices.Equal(ops(d, "purgeSchema"), []string{"field.purged Note.body"}) {
		t.Fatalf("purge: %v", d)
	}
	e.fails(t, other.adminToken, CodeNotFound, `mutation { restoreField(object: "Note", field: "body") { version } }`, nil)
	if err := e.fails(t, other.adminToken, CodeBadUserInput, `mutation { purgeSchema(olderThan: "a while") { op } }`, nil); problems(t, err)["/olderThan"] != "invalid_duration" {
		t.Errorf("bad duration: %+v", err)
	}
}
