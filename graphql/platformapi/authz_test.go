package platformapi

import (
	"net/http"
	"slices"
	"testing"
)

// A member without platform permissions (the default salesRep role) gets
// FORBIDDEN naming the permission each change needs, and nothing changes.
func TestForbiddenNamesThePermissionAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.newTenant(t, "acme", "crm")
	member, memberID := e.memberToken(t, ten, "rep@acme.example")
	version := e.schemaVersion(t, ten.id)

	for _, tc := range []struct {
		permission, query string
		vars              map[string]any
	}{
		{"platform:schema manage", `mutation($d: JSON!) { createObject(definition: $d) { version } }`, map[string]any{"d": projectDefinition}},
		{"platform:schema manage", `mutation { removeField(object: "Lead", field: "email") { version } }`, nil},
		{"platform:schema manage", `mutation { changeField(object: "Lead", field: "email", definition: "{\"x-lattice-field\": {\"kind\": \"text\"}}") { version } }`, nil},
		{"platform:schema manage", `mutation { importBundle(bundle: "{\"lattice\": \"bundle/v1\", \"objects\": []}", replace: true) { version } }`, nil},
		{"platform:schema manage", `mutation { purgeSchema(olderThan: "0s") { op } }`, nil},
		{"platform:schema manage", `mutation { createTagGroup(input: {name: "tier", objects: ["Lead"]}) { name } }`, nil},
		{"platform:schema manage", `mutation { applyRuleSet(object: "Lead", ruleSet: "{\"rules\": []}") { version } }`, nil},
		{"platform:schema manage", `{ previewRuleSet(object: "Lead", ruleSet: "{\"rules\": []}") { scored } }`, nil},
		{"platform:roles manage", `mutation { createRole(name: "intern") { name } }`, nil},
		{"platform:roles manage", `mutation { assignRole(subject: "user:rep@acme.example", role: "admin") { name } }`, nil},
		{"platform:roles read", `{ roles { name } }`, nil},
		{"platform:roles read", `{ check(subject: "role:admin", object: "record:Lead", action: "read") { allowed } }`, nil},
		{"platform:users manage", `mutation { createUser(input: {email: "x@acme.example"}) { password } }`, nil},
		{"platform:users read", `{ members { email } }`, nil},
		{"platform:tokens manage", `mutation { createToken(input: {name: "erp", integration: "erp"}) { secret } }`, nil},
		{"platform:audit read", `{ auditLog { edges { node { id } } } }`, nil},
		{"operator", `{ tenants { slug } }`, nil},
		{"operator", `mutation { suspendTenant(ref: "acme") { status } }`, nil},
	} {
		err := e.fails(t, member, CodeForbidden, tc.query, tc.vars)
		if err.Extensions["permission"] != tc.permission || !contains(err.Message, tc.permission) {
			t.Errorf("%s: %+v, want the permission %s named", tc.query, err, tc.permission)
		}
	}
	if v := e.schemaVersion(t, ten.id); v != version {
		t.Errorf("schema version %d -> %d after forbidden changes", version, v)
	}
	d := e.ok(t, ten.adminToken, `{ tagGroups { name } roles { name } members { email } tokens { name } tenantsNone: schemaVersion }`, nil)
	if len(list(d, "tagGroups")) != 0 || len(list(d, "roles")) != 4 || len(list(d, "members")) != 2 || len(list(d, "tokens")) != 2 {
		t.Errorf("forbidden changes changed something: %v", d)
	}
	if st, _ := e.tenants.Tenant(t.Context(), "acme"); st.Status != "active" {
		t.Errorf("tenant %s", st.Status)
	}

	// Reads of the schema need only a tenant credential; checking oneself
	// needs nothing.
	d = e.ok(t, member, `{ objects { apiName } tagGroups { name } ruleSet(object: "Lead") { version } me { subject role }
		check(object: "record:Lead", action: "delete") { allowed explanation } }`, nil)
	if len(list(d, "objects")) != 5 || str(d, "me", "subject") != "role:salesRep" || str(d, "check", "allowed") != "false" {
		t.Errorf("member reads: %v", d)
	}

	// Holding platform:roles manage does not let one grant what one does
	// not hold: the service's escalation check applies to the caller.
	e.ok(t, ten.adminToken, `mutation { createRole(name: "roleAdmin", inherits: ["readOnly"]) { name } }`, nil)
	e.ok(t, ten.adminToken, `mutation { grant(input: {role: "roleAdmin", object: "platform:roles", action: "manage"}) { name } }`, nil)
	e.ok(t, ten.adminToken, `mutation($s: String!) { assignRole(subject: $s, role: "roleAdmin") { name } }`, map[string]any{"s": "user:" + memberID})
	e.ok(t, member, `mutation { createRole(name: "intern", inherits: ["readOnly"]) { name } }`, nil)
	err := e.fails(t, member, CodeForbidden, `mutation { grant(input: {role: "intern", object: "record:Lead", action: "delete"}) { name } }`, nil)
	if err.Extensions["reason"] != "escalation" {
		t.Errorf("escalation: %+v", err)
	}
	err = e.fails(t, member, CodeForbidden, `mutation($s: String!) { assignRole(subject: $s, role: "admin") { name } }`, map[string]any{"s": "user:" + memberID})
	if err.Extensions["reason"] != "escalation" {
		t.Errorf("self-promotion: %+v", err)
	}
	d = e.ok(t, ten.adminToken, `{ role(name: "intern") { grants { object } } admin: role(name: "admin") { members } }`, nil)
	if len(list(d, "role", "grants")) != 0 || len(list(d, "admin", "members")) != 0 {
		t.Errorf("an escalation went through: %v", d)
	}

	// The operator token manages tenants only.
	err = e.fails(t, testOperatorToken, CodeForbidden, `{ objects { apiName } }`, nil)
	if err.Extensions["reason"] != "tenant_credential_required" {
		t.Errorf("operator on tenant fields: %+v", err)
	}
	// Without a credential, or with a wrong one, the request is refused
	// before GraphQL runs.
	for _, tok := range []string{"", "op-test-token-0123456789abcdeX", "lat_bogus"} {
		if r := e.post(t, tok, `{ me { role } }`, nil); r.status != http.StatusUnauthorized {
			t.Errorf("token %q: status %d: %s", tok, r.status, r.raw)
		}
	}
}

// Members manage their own API tokens; others' need platform:tokens manage.
func TestTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.newTenant(t, "acme", "none")
	member, _ := e.memberToken(t, ten, "rep@acme.example")

	d := e.ok(t, member, `mutation { createToken(input: {name: "mine", expiresIn: "1h"}) { secret token { id userEmail expiresAt } } }`, nil)
	own := str(d, "createToken", "token", "id")
	if str(d, "createToken", "token", "userEmail") != "rep@acme.example" || str(d, "createToken", "token", "expiresAt") == "" {
		t.Fatalf("own token: %v", d)
	}
	e.ok(t, str(d, "createToken", "secret"), `{ me { email } }`, nil)
	d = e.ok(t, member, `{ tokens { id name } }`, nil)
	var names []string
	for _, tok := range list(d, "tokens") {
		names = append(names, str(tok, "name"))
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"member", "mine"}) {
		t.Errorf("a member sees %v", names)
	}
	// The admin sees every token and may revoke any; a member only their own.
	d = e.ok(t, ten.adminToken, `{ tokens { id name userEmail } }`, nil)
	var adminTok string
	for _, tok := range list(d, "tokens") {
		if str(tok, "userEmail") == ten.adminEmail {
			adminTok = str(tok, "id")
		}
	}
	if len(list(d, "tokens")) != 3 || adminTok == "" {
		t.Fatalf("admin sees %v", d)
	}
	err := e.fails(t, member, CodeForbidden, `mutation($id: ID!) { revokeToken(id: $id) { revokedAt } }`, map[string]any{"id": adminTok})
	if err.Extensions["permission"] != "platform:tokens manage" {
		t.Errorf("revoke another's: %+v", err)
	}
	e.ok(t, ten.adminToken, `{ me { role } }`, nil) // still valid
	d = e.ok(t, member, `mutation($id: ID!) { revokeToken(id: $id) { revokedAt } }`, map[string]any{"id": own})
	if str(d, "revokeToken", "revokedAt") == "" {
		t.Errorf("revoke own: %v", d)
	}
	e.fails(t, member, CodeConflict, `mutation($id: ID!) { revokeToken(id: $id) { revokedAt } }`, map[string]any{"id": own})
	err = e.fails(t, member, CodeBadUserInput, `mutation { createToken(input: {name: "x", expiresIn: "soon"}) { secret } }`, nil)
	if problems(t, err)["/input/expiresIn"] != "invalid_duration" {
		t.Errorf("bad duration: %+v", err)
	}
	err = e.fails(t, member, CodeBadUserInput, `mutation { createToken(input: {name: ""}) { secret } }`, nil)
	if problems(t, err)["/input/name"] != "invalid_name" {
		t.Errorf("bad name: %+v", err)
	}
}
