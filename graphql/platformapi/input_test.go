package platformapi

import (
	"encoding/json"
	"testing"

	"github.com/latticecrm/lattice/schema/records"
)

// Invalid input answers BAD_USER_INPUT with every problem's JSON pointer
// into the field's arguments, and nothing is applied.
func TestInvalidInputAnswersPointersAndAppliesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.newTenant(t, "acme", "none")
	admin := ten.adminToken
	e.ok(t, admin, `mutation($d: JSON!) { createObject(definition: $d) { version } }`, map[string]any{"d": projectDefinition})
	if _, err := e.records.Create(t.Context(), ten.id, records.Actor("test"), "Project",
		map[string]any{"name": "not an address", "headcount": json.Number("2")}); err != nil {
		t.Fatal(err)
	}
	version := e.schemaVersion(t, ten.id)

	expect := func(what string, err gqlError, want map[string]string) {
		t.Helper()
		got := problems(t, err)
		for ptr, code := range want {
			if got[ptr] != code {
				t.Errorf("%s: problem at %q = %q, want %q; all: %v", what, ptr, got[ptr], code, got)
			}
		}
	}

	// The object meta-schema: every problem, pointing into the definition.
	bad := decodeJSON(t, projectDefinition)
	bad["x-lattice-object"].(map[string]any)["apiName"] = "Task"
	props := bad["properties"].(map[string]any)
	props["due"] = map[string]any{"x-lattice-field": map[string]any{"kind": "dateish"}}
	props["Owner"] = map[string]any{"x-lattice-field": map[string]any{"kind": "text"}}
	err := e.fails(t, admin, CodeBadUserInput, `mutation($d: JSON!) { createObject(definition: $d) { version } }`, map[string]any{"d": bad})
	expect("meta-schema", err, map[string]string{"/definition/properties/due/x-lattice-field/kind": "meta_schema"})
	if err.Extensions["reason"] != "invalid_definition" {
		t.Errorf("reason: %+v", err)
	}

	// Lattice's own rules, found once the definition is prepared against
	// the schema, point into the definition too.
	bad = decodeJSON(t, projectDefinition)
	bad["x-lattice-object"].(map[string]any)["apiName"] = "Task"
	bad["x-lattice-object"].(map[string]any)["displayField"] = "title"
	props = bad["properties"].(map[string]any)
	props["parent"] = map[string]any{"x-lattice-field": map[string]any{"kind": "lookup", "target": "Nowhere"}}
	props["name"] = map[string]any{"x-lattice-field": map[string]any{"kind": "text"}, "minimum": 1}
	err = e.fails(t, admin, CodeBadUserInput, `mutation($d: JSON!) { createObject(definition: $d) { version } }`, map[string]any{"d": bad})
	expect("prepare", err, map[string]string{
		"/definition/x-lattice-object/displayField":            "unknown_field",
		"/definition/properties/parent/x-lattice-field/target": "unknown_object",
		"/definition/properties/name/minimum":                  "keyword_not_allowed",
	})

	// JSON that does not parse.
	err = e.fails(t, admin, CodeBadUserInput, `mutation { createObject(definition: "{\"x-lattice-object\": ") { version } }`, nil)
	expect("bad JSON", err, map[string]string{"/definition": "invalid_json"})

	// A live object's name is a conflict for createObject.
	err = e.fails(t, admin, CodeConflict, `mutation($d: JSON!) { createObject(definition: $d) { version } }`, map[string]any{"d": projectDefinition})
	expect("exists", err, map[string]string{"/definition/x-lattice-object/apiName": "object_exists"})

	// Field changes point at the field's definition, its name argument, or
	// (for what the change breaks elsewhere in the object) into the object.
	err = e.fails(t, admin, CodeBadUserInput, `mutation { changeField(object: "Project", field: "name", definition: "{\"x-lattice-field\": {\"kind\": \"integer\"}}") { version } }`, nil)
	expect("kind change", err, map[string]string{"/definition/x-lattice-field/kind": "kind_change"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { changeField(object: "Project", field: "name", definition: "{\"x-lattice-field\": {\"kind\": \"email\"}}") { version } }`, nil)
	expect("values", err, map[string]string{"/definition/x-lattice-field/kind": "values_do_not_convert"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { changeField(object: "Project", field: "stage", definition: "{\"x-lattice-field\": {\"kind\": \"picklist\", \"values\": [{\"value\": \"a b\"}]}}") { version } }`, nil)
	expect("field meta-schema", err, map[string]string{"/definition/x-lattice-field/values/0/value": "meta_schema"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { addField(object: "Project", name: "id", definition: "{\"x-lattice-field\": {\"kind\": \"text\"}}") { version } }`, nil)
	expect("system field", err, map[string]string{"/name": "system_field"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { removeField(object: "Project", field: "name") { version } }`, nil)
	expect("display field", err, map[string]string{"Project:/x-lattice-object/displayField": "unknown_field"})
	err = e.fails(t, admin, CodeNotFound, `mutation { removeField(object: "Project", field: "nope") { version } }`, nil)
	expect("unknown field", err, map[string]string{"/field": "field_not_found"})
	err = e.fails(t, admin, CodeNotFound, `mutation { restoreField(object: "Project", field: "nope") { version } }`, nil)
	expect("nothing to restore", err, map[string]string{"/field": "field_not_found"})

	// A bundle: problems point at the object's index in the bundle.
	bundle := map[string]any{"lattice": "bundle/v1", "objects": []any{
		decodeJSON(t, `{"x-lattice-object": {"apiName": "Team"}, "properties": {"name": {"x-lattice-field": {"kind": "text"}}}}`),
		decodeJSON(t, `{"x-lattice-object": {"apiName": "Member"}, "properties": {"team": {"x-lattice-field": {"kind": "lookup", "target": "Squad"}}}}`),
	}}
	err = e.fails(t, admin, CodeBadUserInput, `mutation($b: JSON!) { importBundle(bundle: $b) { version } }`, map[string]any{"b": bundle})
	expect("bundle", err, map[string]string{"/bundle/objects/1/properties/team/x-lattice-field/target": "unknown_object"})
	bundle["objects"].([]any)[1].(map[string]any)["properties"].(map[string]any)["team"] = map[string]any{"x-lattice-field": map[string]any{"kind": "text", "unique": "yes"}}
	err = e.fails(t, admin, CodeBadUserInput, `mutation($b: JSON!) { importBundle(bundle: $b, dryRun: true) { version } }`, map[string]any{"b": bundle})
	expect("bundle meta-schema", err, map[string]string{"/bundle/objects/1/properties/team/x-lattice-field/unique": "meta_schema"})

	if v := e.schemaVersion(t, ten.id); v != version {
		t.Fatalf("invalid schema changes applied: version %d -> %d", version, v)
	}

	// Tags, rules, rule sets, grants, users: the services' errors, placed
	// in the arguments.
	err = e.fails(t, admin, CodeBadUserInput, `mutation { createTagGroup(input: {name: "Bad Name", objects: ["Project"]}) { name } }`, nil)
	expect("group name", err, map[string]string{"/input/name": "invalid_name"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { createTagGroup(input: {name: "tier", objects: ["Nope"]}) { name } }`, nil)
	expect("group objects", err, map[string]string{"/input/objects": "unknown_object"})
	e.ok(t, admin, `mutation { createTagGroup(input: {name: "tier", objects: ["Project"]}) { name } }`, nil)
	e.ok(t, admin, `mutation { createTag(input: {group: "tier", name: "gold"}) { value } }`, nil)
	err = e.fails(t, admin, CodeBadUserInput, `mutation { createTag(input: {group: "tier", name: "silver", color: "red"}) { value } }`, nil)
	expect("color", err, map[string]string{"/input/color": "invalid_color"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation($c: JSON!) { createTagRule(input: {tag: "tier/gold", object: "Project", condition: $c}) { added } }`,
		map[string]any{"c": map[string]any{"field": "nope", "op": "eq", "value": 1}})
	expect("rule condition", err, map[string]string{"/input/condition/field": "unknown_field"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation($rs: JSON!) { applyRuleSet(object: "Project", ruleSet: $rs) { version } }`,
		map[string]any{"rs": `{"rules": [{"name": "a", "kind": "fit", "points": 1, "when": {"field": "nope", "op": "eq", "value": 1}}, {"name": "b", "kind": "profile", "points": 1, "when": {"and": []}}]}`})
	expect("rule set", err, map[string]string{"/ruleSet/rules/0/when/field": "unknown_field", "/ruleSet/rules/1/kind": "meta_schema"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { grant(input: {role: "admin", object: "record:Project", action: "fly"}) { name } }`, nil)
	expect("built-in", err, map[string]string{"/input/action": "invalid_action"})
	e.ok(t, admin, `mutation { createRole(name: "intern", inherits: ["readOnly"]) { name } }`, nil)
	err = e.fails(t, admin, CodeBadUserInput, `mutation { grant(input: {role: "intern", object: "record:Nope", action: "read"}) { name } }`, nil)
	expect("grant object", err, map[string]string{"/input/object": "unknown_object"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { createRole(name: "x", inherits: ["readOnly", "nope"]) { name } }`, nil)
	expect("inherits", err, map[string]string{"/inherits/1": "role_not_found"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation($c: JSON!) { addShare(input: {role: "intern", object: "Project", condition: $c}) { role } }`,
		map[string]any{"c": map[string]any{"field": "stage", "op": "eq", "value": "nope"}})
	expect("share condition", err, map[string]string{"/input/condition/value": "unknown_value"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { assignRole(subject: "someone", role: "intern") { name } }`, nil)
	expect("subject", err, map[string]string{"/subject": "invalid_subject"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { createUser(input: {email: "not an address"}) { password } }`, nil)
	expect("email", err, map[string]string{"/input/email": "invalid_email"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { createUser(input: {email: "new@acme.example", role: "owner"}) { password } }`, nil)
	expect("membership role", err, map[string]string{"/input/role": "invalid_role"})
	err = e.fails(t, admin, CodeBadUserInput, `mutation { createUser(input: {email: "new@acme.example", password: "short"}) { password } }`, nil)
	expect("password", err, map[string]string{"/input/password": "password_too_short"})
	if _, err := e.tenants.User(t.Context(), "new@acme.example"); err == nil {
		t.Error("a refused createUser created the user")
	}

	// Nothing of the refused changes is there.
	d := e.ok(t, admin, `{ schemaVersion tagGroups { name tags { name } } tagRules { id } ruleSet(object: "Project") { version }
		intern: role(name: "intern") { grants { object } } x: role(name: "x") { name } shares { role } }`, nil)
	if str(d, "schemaVersion") != "1" || len(list(d, "tagGroups")) != 1 || len(list(d, "tagGroups", 0, "tags")) != 1 ||
		len(list(d, "tagRules")) != 0 || get(d, "ruleSet") != nil || len(list(d, "intern", "grants")) != 0 || get(d, "x") != nil ||
		len(list(d, "shares")) != 0 {
		t.Errorf("half-applied: %v", d)
	}

	// GraphQL's own validation errors carry a code too.
	r := e.post(t, admin, `{ objects { nope } }`, nil)
	if len(r.Errors) != 1 || r.Errors[0].Extensions["code"] != "GRAPHQL_VALIDATION_FAILED" {
		t.Errorf("validation: %s", r.raw)
	}
}
