package platformapi

import (
	"net/http"
	"strings"
	"testing"
)

// The HTTP surface: POST with a JSON body; anything else is refused with a
// GraphQL-shaped error and a status.
func TestHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.newTenant(t, "acme", "none")
	send := func(method, contentType, body string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(method, e.srv.URL+"/platform/graphql", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+ten.adminToken)
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := res.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return res.StatusCode, b.String()
	}
	for _, tc := range []struct {
		method, contentType, body string
		status                    int
		code                      string
	}{
		{http.MethodGet, "", "", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
		{http.MethodPost, "text/plain", `{"query": "{ me { role } }"}`, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
		{http.MethodPost, "application/json", `{"query": `, http.StatusBadRequest, "BAD_REQUEST"},
		{http.MethodPost, "application/json", `{"query": ""}`, http.StatusBadRequest, "BAD_REQUEST"},
		{http.MethodPost, "application/json", `{"query": "` + strings.Repeat(" ", 1<<20) + `{ me { role } }"}`, http.StatusRequestEntityTooLarge, "body_too_large"}, // the server's limit
		{http.MethodPost, "application/json; charset=utf-8", `{"query": "{ me { role } }"}`, http.StatusOK, ""},
		{http.MethodPost, "application/json", `{"query": "{ me { role }"}`, http.StatusOK, "GRAPHQL_VALIDATION_FAILED"},
	} {
		status, body := send(tc.method, tc.contentType, tc.body)
		if status != tc.status || (tc.code != "" && !strings.Contains(body, `"code":"`+tc.code+`"`)) || (tc.code == "" && strings.Contains(body, `"errors"`)) {
			t.Errorf("%s %s %.40q: %d %s, want %d %s", tc.method, tc.contentType, tc.body, status, body, tc.status, tc.code)
		}
	}
}

// The standard introspection query (GraphiQL's) is answered: the depth
// limit leaves room for it.
func TestIntrospection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.newTenant(t, "acme", "none")
	q := `query IntrospectionQuery { __schema { queryType { name } mutationType { name } types { ...FullType } directives { name locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason } inputFields { ...InputValue } interfaces { ...TypeRef } enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`
	d := e.ok(t, ten.adminToken, q, nil)
	if str(d, "__schema", "mutationType", "name") != "Mutation" || len(list(d, "__schema", "types")) < 50 {
		t.Errorf("introspection: %v", d)
	}
}

// check explains a decision: which rule decided, or that none allowed it.
func TestCheckExplainsDecisions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ten := e.newTenant(t, "acme", "crm")
	member, memberID := e.memberToken(t, ten, "rep@acme.example")
	e.ok(t, ten.adminToken, `mutation { createRole(name: "intern", inherits: ["readOnly"]) { name } }`, nil)
	e.ok(t, ten.adminToken, `mutation { grant(input: {role: "intern", object: "field:Lead.email", action: "read", effect: "deny"}) { name } }`, nil)
	e.ok(t, ten.adminToken, `mutation { assignRole(subject: "user:rep@acme.example", role: "intern") { name } }`, nil)

	d := e.ok(t, ten.adminToken, `{ a: check(subject: "user:rep@acme.example", object: "field:Lead.email", action: "read") { subject allowed explanation rules { subject object action effect } }
		b: check(subject: "role:intern", object: "record:Lead", action: "read") { allowed rules { subject effect } }
		c: check(subject: "role:intern", object: "record:Lead", action: "delete") { allowed explanation rules { effect } } }`, nil)
	if str(d, "a", "subject") != "user:"+memberID || str(d, "a", "allowed") != "false" || str(d, "a", "rules", 0, "effect") != "deny" ||
		str(d, "a", "rules", 0, "subject") != "role:intern" || !contains(str(d, "a", "explanation"), "denied by the rule deny read field:Lead.email of role:intern") {
		t.Errorf("denied by a rule: %v", d)
	}
	if str(d, "b", "allowed") != "true" || str(d, "b", "rules", 0, "subject") != "role:readOnly" {
		t.Errorf("allowed by an inherited rule: %v", d)
	}
	if str(d, "c", "allowed") != "false" || len(list(d, "c", "rules")) != 0 || !contains(str(d, "c", "explanation"), "no rule allows") {
		t.Errorf("denied by default: %v", d)
	}
	// A member checks themselves without any permission.
	d = e.ok(t, member, `{ check(object: "field:Lead.email", action: "read") { subject allowed } }`, nil)
	if str(d, "check", "subject") != "user:"+memberID || str(d, "check", "allowed") != "false" {
		t.Errorf("self check: %v", d)
	}
	e.fails(t, ten.adminToken, CodeNotFound, `{ check(subject: "user:nobody@acme.example", object: "record:Lead", action: "read") { allowed } }`, nil)
}
