package platformapi

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/latticecrm/lattice/schema/records"
)

// projectDefinition is an object with fields of several kinds.
const projectDefinition = `{
  "x-lattice-object": {"apiName": "Project", "label": {"en": "Project", "zh-CN": "项目"}, "displayField": "name"},
  "properties": {
    "name":      {"x-lattice-field": {"kind": "text", "label": {"en": "Name"}}, "maxLength": 120},
    "budget":    {"x-lattice-field": {"kind": "currency", "currencies": ["USD", "EUR"]}, "minimum": 0},
    "stage":     {"x-lattice-field": {"kind": "picklist", "values": [{"value": "planned"}, {"value": "active"}]}},
    "startsOn":  {"x-lattice-field": {"kind": "date"}},
    "contact":   {"x-lattice-field": {"kind": "email", "indexed": true}},
    "headcount": {"x-lattice-field": {"kind": "integer"}}
  },
  "required": ["name"]
}`

func decodeJSON(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// field returns the named field of the object in d.
func field(d any, name string) any {
	for _, f := range list(d, "object", "fields") {
		if str(f, "name") == name {
			return f
		}
	}
	return nil
}

const schemaResult = `{ version applied dryRun jobCount changes { op object field detail } }`

func ops(d any, path ...any) []string {
	var out []string
	for _, c := range list(d, path...) {
		out = append(out, str(c, "op")+" "+str(c, "object")+"."+str(c, "field"))
	}
	return out
}

// The "Done when": a tenant admin, using only /platform/graphql,
// creates an object with fields of several kinds, changes, removes and
// restores a field, sets tags and a scoring rule set, creates a role and a
// user with a token, and reads those changes back from the audit log.
func TestTenantAdminManagesTenantThroughPlatformAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.newTenant(t, "acme", "none")
	admin := ten.adminToken

	// An object with fields of several kinds; the definition as JSON text.
	d := e.ok(t, admin, `mutation($def: JSON!) { createObject(definition: $def, message: "projects") `+schemaResult+` }`,
		map[string]any{"def": projectDefinition})
	if str(d, "createObject", "version") != "1" || str(d, "createObject", "applied") != "true" ||
		!slices.Equal(ops(d, "createObject", "changes"), []string{"object.added Project."}) {
		t.Fatalf("createObject: %v", d)
	}
	d = e.ok(t, admin, `{ object(name: "Project") { key apiName pluralApiName label displayField
		fields { key name kind required unique indexed label values { value } currencies definition } } }`, nil)
	var kinds []string
	keys := map[string]string{}
	for _, f := range list(d, "object", "fields") {
		kinds = append(kinds, str(f, "name")+":"+str(f, "kind"))
		keys[str(f, "name")] = str(f, "key")
	}
	// (In key length order: the catalog stores bundles as jsonb, which does
	// not keep the order of an object's keys.)
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"budget:currency", "contact:email", "headcount:integer", "name:text", "stage:picklist", "startsOn:date"}) {
		t.Fatalf("fields: %v", kinds)
	}
	if str(d, "object", "label", "zh-CN") != "项目" || str(d, "object", "pluralApiName") != "projects" ||
		str(field(d, "name"), "required") != "true" || str(field(d, "contact"), "indexed") != "true" ||
		str(field(d, "budget"), "currencies", 1) != "EUR" || str(field(d, "stage"), "values", 1, "value") != "active" {
		t.Fatalf("object: %v", d)
	}

	// A record, so that changes can be seen to keep values.
	rec, err := e.records.Create(t.Context(), ten.id, records.Actor("test"), "Project",
		map[string]any{"name": "Big launch", "contact": "pm@acme.example", "headcount": json.Number("3"), "startsOn": "2026-11-23"})
	if err != nil {
		t.Fatal(err)
	}

	// Change fields: rename one (values stay, under its key), add a
	// picklist value, change a kind between kinds stored alike.
	d = e.ok(t, admin, `mutation { changeField(object: "Project", field: "startsOn", newName: "startDate",
		definition: "{\"x-lattice-field\": {\"kind\": \"date\", \"label\": {\"en\": \"Start date\"}}}") `+schemaResult+` }`, nil)
	if got := ops(d, "changeField", "changes"); !slices.Contains(got, "field.renamed Project.startDate") {
		t.Fatalf("rename: %v", got)
	}
	stage := map[string]any{"x-lattice-field": map[string]any{"kind": "picklist",
		"values": []any{map[string]any{"value": "planned"}, map[string]any{"value": "active"}, map[string]any{"value": "done"}}}}
	d = e.ok(t, admin, `mutation($def: JSON!) { changeField(object: "Project", field: "stage", definition: $def) `+schemaResult+` }`,
		map[string]any{"def": stage})
	if got := ops(d, "changeField", "changes"); !slices.Contains(got, "field.changed Project.stage") {
		t.Fatalf("stage: %v %v", got, d)
	}
	d = e.ok(t, admin, `mutation { changeField(object: "Project", field: "headcount", required: true,
		definition: "{\"x-lattice-field\": {\"kind\": \"decimal\"}}") `+schemaResult+` }`, nil)
	if got := ops(d, "changeField", "changes"); !slices.Contains(got, "field.kindChanged Project.headcount") {
		t.Fatalf("kind change: %v", got)
	}

	// Remove a field: gone from the object, kept as recoverable.
	d = e.ok(t, admin, `mutation { removeField(object: "Project", field: "contact") `+schemaResult+` }`, nil)
	if got := ops(d, "removeField", "changes"); !slices.Contains(got, "field.removed Project.contact") {
		t.Fatalf("remove: %v", got)
	}
	d = e.ok(t, admin, `{ object(name: "Project") { fields { name } removedFields { name key removedAt } } }`, nil)
	if len(list(d, "object", "fields")) != 5 || str(d, "object", "removedFields", 0, "name") != "contact" ||
		str(d, "object", "removedFields", 0, "key") != keys["contact"] || str(d, "object", "removedFields", 0, "removedAt") == "" {
		t.Fatalf("after removal: %v", d)
	}
	got, err := e.records.Get(t.Context(), ten.id, "Project", rec.ID, false)
	if err != nil || got.Values["contact"] != nil {
		t.Fatalf("a removed field's value is visible: %v %v", got, err)
	}

	// Restore it: same key, the value is back.
	d = e.ok(t, admin, `mutation { restoreField(object: "Project", field: "contact") `+schemaResult+` }`, nil)
	if got := ops(d, "restoreField", "changes"); !slices.Contains(got, "field.restored Project.contact") {
		t.Fatalf("restore: %v", got)
	}
	d = e.ok(t, admin, `{ object(name: "Project") { fields { name key kind required } removedFields { name } } }`, nil)
	var restored any
	for _, f := range list(d, "object", "fields") {
		if str(f, "name") == "contact" {
			restored = f
		}
		if str(f, "name") == "headcount" && (str(f, "kind") != "decimal" || str(f, "required") != "true") {
			t.Errorf("headcount: %v", f)
		}
	}
	if str(restored, "key") != keys["contact"] || len(list(d, "object", "removedFields")) != 0 {
		t.Fatalf("after restore: %v", d)
	}
	got, err = e.records.Get(t.Context(), ten.id, "Project", rec.ID, false)
	if err != nil || got.Values["contact"] != "pm@acme.example" || got.Values["startDate"] != "2026-11-23" {
		t.Fatalf("values after rename, removal and restore: %v %v", got, err)
	}

	// History and diff between any two versions.
	d = e.ok(t, admin, `{ schemaVersion schemaHistory { version createdBy changes { op } } schemaDiff(from: 1, to: 4) { op field } }`, nil)
	if str(d, "schemaVersion") != "6" || len(list(d, "schemaHistory")) != 6 || str(d, "schemaHistory", 5, "version") != "1" {
		t.Fatalf("history: %v", d)
	}
	if got := ops(d, "schemaDiff"); !slices.Contains(got, "field.renamed .startDate") || !slices.Contains(got, "field.kindChanged .headcount") {
		t.Fatalf("diff 1..4: %v", got)
	}

	// Tags: a group, a tag, and a rule that tags the existing record.
	d = e.ok(t, admin, `mutation { createTagGroup(input: {name: "priority", label: {en: "Priority"}, objects: ["Project"]}) { name label objects multiValued } }`, nil)
	if str(d, "createTagGroup", "label", "en") != "Priority" || str(d, "createTagGroup", "objects", 0) != "Project" {
		t.Fatalf("createTagGroup: %v", d)
	}
	d = e.ok(t, admin, `mutation { createTag(input: {group: "priority", name: "high", color: "#ff0000", label: {en: "High"}}) { value color } }`, nil)
	if str(d, "createTag", "value") != "priority/high" {
		t.Fatalf("createTag: %v", d)
	}
	d = e.ok(t, admin, `mutation($c: JSON!) { createTagRule(input: {tag: "priority/high", object: "Project", condition: $c}) { added rule { id tag enabled condition } } }`,
		map[string]any{"c": map[string]any{"field": "headcount", "op": "gte", "value": 3}})
	if str(d, "createTagRule", "added") != "1" || str(d, "createTagRule", "rule", "enabled") != "true" {
		t.Fatalf("createTagRule: %v", d)
	}
	d = e.ok(t, admin, `{ tagGroups { name tags { value } } tagRules(object: "Project") { tag } }`, nil)
	if str(d, "tagGroups", 0, "tags", 0, "value") != "priority/high" || str(d, "tagRules", 0, "tag") != "priority/high" {
		t.Fatalf("tags: %v", d)
	}
	if got, _ := e.records.Get(t.Context(), ten.id, "Project", rec.ID, false); got == nil || !slices.Equal(got.Tags, []string{"priority/high"}) {
		t.Fatalf("the rule did not tag the record: %v", got)
	}

	// A scoring rule set: applied, its rescore job polled to the end.
	ruleSet := `{"rules": [{"name": "big", "kind": "fit", "points": 50, "when": {"field": "headcount", "op": "gte", "value": 2}}],
		"grades": [{"grade": "A", "min": 40}, {"grade": "B"}]}`
	d = e.ok(t, admin, `mutation($rs: JSON!) { applyRuleSet(object: "Project", ruleSet: $rs, message: "v1") { version changed job { id totalRows } } }`,
		map[string]any{"rs": ruleSet})
	jobID := str(d, "applyRuleSet", "job", "id")
	if str(d, "applyRuleSet", "version") != "1" || jobID == "" || str(d, "applyRuleSet", "job", "totalRows") != "1" {
		t.Fatalf("applyRuleSet: %v", d)
	}
	waitFor(t, "the rescore job", func() bool {
		d = e.ok(t, admin, `query($id: ID!) { rescoreJob(id: $id) { finished progress doneRows changedRows error } }`, map[string]any{"id": jobID})
		return str(d, "rescoreJob", "finished") == "true"
	})
	if str(d, "rescoreJob", "progress") != "1" || str(d, "rescoreJob", "doneRows") != "1" || str(d, "rescoreJob", "error") != "" {
		t.Fatalf("job: %v", d)
	}
	if got, _ := e.records.Get(t.Context(), ten.id, "Project", rec.ID, false); got == nil || got.Grade == nil || *got.Grade != "A" {
		t.Fatalf("not scored: %+v", got)
	}
	d = e.ok(t, admin, `{ ruleSet(object: "Project") { version ruleNames message ruleSet } rescoreJobs(object: "Project") { id } }`, nil)
	if str(d, "ruleSet", "ruleNames", 0) != "big" || str(d, "ruleSet", "message") != "v1" || str(d, "rescoreJobs", 0, "id") != jobID {
		t.Fatalf("ruleSet: %v", d)
	}

	// A role that may read the audit log, and a user who holds it.
	d = e.ok(t, admin, `mutation { createRole(name: "analyst", inherits: ["readOnly"]) { name inherits builtIn } }`, nil)
	if str(d, "createRole", "inherits", 0) != "readOnly" {
		t.Fatalf("createRole: %v", d)
	}
	d = e.ok(t, admin, `mutation { grant(input: {role: "analyst", object: "platform:audit", action: "read"}) { grants { object action effect } } }`, nil)
	if str(d, "grant", "grants", 0, "object") != "platform:audit" || str(d, "grant", "grants", 0, "effect") != "allow" {
		t.Fatalf("grant: %v", d)
	}
	d = e.ok(t, admin, `mutation { createUser(input: {email: "ana@acme.example", name: "Ana"}) { member { id email role } password } }`, nil)
	anaID, anaPassword := str(d, "createUser", "member", "id"), str(d, "createUser", "password")
	if anaPassword == "" || str(d, "createUser", "member", "role") != "member" {
		t.Fatalf("createUser: %v", d)
	}
	d = e.ok(t, admin, `mutation { assignRole(subject: "user:ana@acme.example", role: "analyst") { members } }`, nil)
	if !slices.Contains(list(d, "assignRole", "members"), any("user:"+anaID)) {
		t.Fatalf("assignRole: %v", d)
	}
	d = e.ok(t, admin, `{ members { email roles } }`, nil)
	if str(d, "members", 1, "email") != "ana@acme.example" || str(d, "members", 1, "roles", 0) != "analyst" {
		t.Fatalf("members: %v", d)
	}
	// An integration token, made by the admin.
	d = e.ok(t, admin, `mutation { createToken(input: {name: "erp", integration: "erp-sync", expiresIn: "720h"}) { secret token { id integration role expiresAt } } }`, nil)
	if !contains(str(d, "createToken", "secret"), "lat_") || str(d, "createToken", "token", "integration") != "erp-sync" {
		t.Fatalf("integration token: %v", d)
	}
	// Ana signs in with the generated password and makes her own token.
	session := e.login(t, ten.slug, "ana@acme.example", anaPassword)
	d = e.ok(t, session, `mutation { createToken(input: {name: "ana-cli"}) { secret token { userEmail hint } } }`, nil)
	anaToken := str(d, "createToken", "secret")
	if str(d, "createToken", "token", "userEmail") != "ana@acme.example" {
		t.Fatalf("own token: %v", d)
	}
	d = e.ok(t, anaToken, `{ me { email subject role } tokens { name } }`, nil)
	if str(d, "me", "subject") != "user:"+anaID || len(list(d, "tokens")) != 1 {
		t.Fatalf("ana: %v", d)
	}
	// She holds platform:audit read through the role, not schema manage.
	e.fails(t, anaToken, CodeForbidden, `mutation { removeField(object: "Project", field: "budget") { version } }`, nil)
	e.ok(t, anaToken, `{ auditLog(first: 1) { edges { node { id } } } }`, nil)

	checkAudit(t, e, ten, admin)
}
