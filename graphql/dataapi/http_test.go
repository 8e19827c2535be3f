package dataapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// httpEnv is the real handler behind a test server; the caller is the
// tenant named by the X-Test-Tenant header.
type httpEnv struct {
	*env
	srv     *httptest.Server
	callers map[string]Caller
}

func newHTTPEnv(t *testing.T) (*httpEnv, Caller) {
	t.Helper()
	e := newEnv(t, Options{})
	c := e.tenant(t, "web")
	h := &httpEnv{env: e, callers: map[string]Caller{"web": c}}
	caller := func(r *http.Request) (Caller, bool) {
		c, ok := h.callers[r.Header.Get("X-Test-Tenant")]
		return c, ok
	}
	mux := http.NewServeMux()
	handler := Explorer(e.api.Handler(caller))
	mux.Handle("/graphql", handler)
	mux.Handle("/graphql/schema.graphql", handler)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	return h, c
}

// send makes a request as the "web" tenant (header nil: anonymous).
func (h *httpEnv) send(t *testing.T, method, path string, header map[string]string, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if header != nil {
		req.Header.Set("X-Test-Tenant", "web")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, b
}

// post sends a JSON GraphQL request body.
func (h *httpEnv) post(t *testing.T, header map[string]string, req map[string]any) (*http.Response, []byte) {
	t.Helper()
	body, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	if header == nil {
		header = map[string]string{}
	}
	if header["Content-Type"] == "" {
		header["Content-Type"] = "application/json"
	}
	return h.send(t, http.MethodPost, "/graphql", header, string(body))
}

// decode decodes a response body, numbers exact.
func decode(t *testing.T, b []byte) result {
	t.Helper()
	var r result
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return r
}

func status(t *testing.T, what string, res *http.Response, body []byte, want int) {
	t.Helper()
	if res.StatusCode != want {
		t.Errorf("%s: status %d, want %d: %s", what, res.StatusCode, want, body)
	}
}

// GraphQL over HTTP: methods, media types, bodies.
func TestHTTP(t *testing.T) {
	t.Parallel()
	h, c := newHTTPEnv(t)
	none := map[string]string{}

	// POST with variables; exact numbers both ways.
	res, body := h.post(t, none, map[string]any{"query": `mutation($n: BigInt, $a: Decimal!) { createAccount(input: {name: "Acme", employees: $n,
		annualRevenue: {amount: $a, currency: "USD"}}) { id employees annualRevenue { amount } } }`,
		"variables": json.RawMessage(`{"n": 9007199254740993, "a": 1000000.50}`)})
	status(t, "POST mutation", res, body, http.StatusOK)
	// Without Accept the spec asks for application/json (legacy clients).
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q without Accept, want application/json", ct)
	}
	if !bytes.Contains(body, []byte(`"employees":9007199254740993`)) || !bytes.Contains(body, []byte(`"amount":1000000.50`)) {
		t.Errorf("numbers are not exact: %s", body)
	}
	id := fmt.Sprint(get(decode(t, body).Data, "createAccount", "id"))

	// POST a query with an Int variable and an operation name.
	res, body = h.post(t, none, map[string]any{"query": `query A($n: Int) { accounts(first: $n) { nodes { name } } } query B { x: __typename }`,
		"operationName": "A", "variables": map[string]any{"n": 1}})
	status(t, "POST query", res, body, http.StatusOK)
	if r := decode(t, body); get(r.Data, "accounts", "nodes", 0, "name") != "Acme" || len(r.Errors) > 0 {
		t.Errorf("POST query: %s", body)
	}
	// GET with variables.
	q := url.Values{"query": {`query($id: ID!) { account(id: $id) { name } }`}, "variables": {`{"id": "` + id + `"}`}}
	res, body = h.send(t, http.MethodGet, "/graphql?"+q.Encode(), none, "")
	status(t, "GET query", res, body, http.StatusOK)
	if get(decode(t, body).Data, "account", "name") != "Acme" {
		t.Errorf("GET: %s", body)
	}
	res, body = h.send(t, http.MethodGet, "/graphql?"+url.Values{"query": {"{ accounts { totalCount } }"}, "variables": {"[1]"}}.Encode(), none, "")
	status(t, "GET with variables not an object", res, body, http.StatusBadRequest)

	// GET never writes, however the mutation is dressed.
	for _, tc := range []struct{ query, op string }{
		{`mutation { createAccount(input: {name: "via GET"}) { id } }`, ""},
		{"# a comment\nmutation { createAccount(input: {name: \"via GET\"}) { id } }", ""},
		{`fragment F on Account { id } mutation { createAccount(input: {name: "via GET"}) { ...F } }`, ""},
		{` query Q { __typename } mutation M { createAccount(input: {name: "via GET"}) { id } }`, "M"},
		{`query mutation { __typename } mutation M { createAccount(input: {name: "via GET"}) { id } }`, "M"},
		{`{ __typename } mutation M { createAccount(input: {name: "via GET"}) { id } }`, "M"},
	} {
		v := url.Values{"query": {tc.query}}
		if tc.op != "" {
			v.Set("operationName", tc.op)
		}
		res, body = h.send(t, http.MethodGet, "/graphql?"+v.Encode(), none, "")
		status(t, "GET "+tc.query, res, body, http.StatusMethodNotAllowed)
		if res.StatusCode == http.StatusMethodNotAllowed && res.Header.Get("Allow") != "POST" {
			t.Errorf("GET mutation: Allow %q", res.Header.Get("Allow"))
		}
	}
	if n := h.count(t, c, "accounts", `{name: {eq: "via GET"}}`); n != "0" {
		t.Fatalf("GET wrote %s accounts", n)
	}
	// A query named like a keyword still runs over GET.
	v := url.Values{"query": {`query mutation { __typename } mutation M { createAccount(input: {name: "x"}) { id } }`}, "operationName": {"mutation"}}
	res, body = h.send(t, http.MethodGet, "/graphql?"+v.Encode(), none, "")
	status(t, "GET query named mutation", res, body, http.StatusOK)

	// Content negotiation: request errors are 400 under
	// graphql-response+json, 200 under application/json.
	bad := map[string]any{"query": `{ accounts { nope } }`}
	res, body = h.post(t, map[string]string{"Accept": "application/graphql-response+json"}, bad)
	status(t, "validation error, graphql-response+json", res, body, http.StatusBadRequest)
	if decode(t, body).code() != CodeValidationFailed {
		t.Errorf("validation error: %s", body)
	}
	res, body = h.post(t, map[string]string{"Accept": "application/json"}, bad)
	status(t, "validation error, application/json", res, body, http.StatusOK)
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q under Accept: application/json", ct)
	}
	res, body = h.post(t, map[string]string{"Accept": "application/json;q=0.5, application/graphql-response+json"}, bad)
	status(t, "preferred graphql-response+json", res, body, http.StatusBadRequest)
	res, body = h.post(t, map[string]string{"Accept": "text/plain"}, bad)
	status(t, "unacceptable", res, body, http.StatusNotAcceptable)
	// A field error is not a request error: 200 with data null.
	res, body = h.post(t, map[string]string{"Accept": "application/graphql-response+json"}, map[string]any{"query": `{ accounts(first: -1) { totalCount } }`})
	status(t, "field error", res, body, http.StatusOK)
	if r := decode(t, body); r.code() != CodeBadUserInput || !bytes.Contains(body, []byte(`"data":null`)) {
		t.Errorf("field error: %s", body)
	}

	// Not GraphQL requests.
	res, body = h.send(t, http.MethodPost, "/graphql", map[string]string{"Content-Type": "text/plain"}, `{"query": "{ __typename }"}`)
	status(t, "text/plain body", res, body, http.StatusUnsupportedMediaType)
	res, body = h.send(t, http.MethodPost, "/graphql", map[string]string{"Content-Type": "application/json"}, `{"query": `)
	status(t, "malformed JSON", res, body, http.StatusBadRequest)
	res, body = h.send(t, http.MethodPost, "/graphql", map[string]string{"Content-Type": "application/json"}, `{"query": "{ __typename }"} {}`)
	status(t, "two JSON values", res, body, http.StatusBadRequest)
	res, body = h.send(t, http.MethodPost, "/graphql", map[string]string{"Content-Type": "application/json"}, `{"variables": {}}`)
	status(t, "no query", res, body, http.StatusBadRequest)
	res, body = h.send(t, http.MethodPost, "/graphql", map[string]string{"Content-Type": "application/json"}, `{"query": "{ __typename }", "variables": [1]}`)
	status(t, "variables not an object", res, body, http.StatusBadRequest)
	res, body = h.send(t, http.MethodPut, "/graphql", none, "")
	status(t, "PUT", res, body, http.StatusMethodNotAllowed)
	res, body = h.send(t, http.MethodPost, "/graphql", nil, `{"query": "{ __typename }"}`)
	status(t, "anonymous", res, body, http.StatusUnauthorized)
	big := `{"query": "{ __typename }", "variables": {"x": "` + strings.Repeat("x", maxBodyBytes) + `"}}`
	res, body = h.send(t, http.MethodPost, "/graphql", map[string]string{"Content-Type": "application/json"}, big)
	status(t, "huge body", res, body, http.StatusRequestEntityTooLarge)
	res, body = h.send(t, http.MethodGet, "/graphql?"+url.Values{"query": {"{ __typename " + strings.Repeat(" ", maxQueryBytes) + "}"}}.Encode(), none, "")
	status(t, "huge GET query", res, body, http.StatusRequestURITooLong)
}

// Automatic persisted queries: a hash alone runs a stored query.
func TestHTTPPersistedQueries(t *testing.T) {
	t.Parallel()
	h, _ := newHTTPEnv(t)
	query := `{ accounts { totalCount } }`
	sum := sha256.Sum256([]byte(query))
	hash := hex.EncodeToString(sum[:])
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
	none := map[string]string{"Accept": "application/graphql-response+json"}

	res, body := h.post(t, none, map[string]any{"extensions": ext})
	status(t, "unknown hash", res, body, http.StatusOK)
	if decode(t, body).code() != CodePersistedNotFound {
		t.Errorf("unknown hash: %s", body)
	}
	res, body = h.post(t, none, map[string]any{"query": query, "extensions": map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": strings.Repeat("0", 64)}}})
	status(t, "wrong hash", res, body, http.StatusBadRequest)
	if decode(t, body).code() != CodePersistedHashError {
		t.Errorf("wrong hash: %s", body)
	}
	res, body = h.post(t, none, map[string]any{"query": query, "extensions": ext})
	status(t, "hash and query", res, body, http.StatusOK)
	res, body = h.post(t, none, map[string]any{"extensions": ext})
	status(t, "hash alone", res, body, http.StatusOK)
	if r := decode(t, body); len(r.Errors) > 0 || fmt.Sprint(get(r.Data, "accounts", "totalCount")) != "0" {
		t.Errorf("persisted query: %s", body)
	}
	// Over GET too, as Apollo's clients send them.
	v := url.Values{"extensions": {`{"persistedQuery": {"version": 1, "sha256Hash": "` + strings.ToUpper(hash) + `"}}`}}
	res, body = h.send(t, http.MethodGet, "/graphql?"+v.Encode(), none, "")
	status(t, "GET hash alone", res, body, http.StatusOK)
	if len(decode(t, body).Errors) > 0 {
		t.Errorf("GET persisted query: %s", body)
	}
	// Another tenant does not share the store.
	other := h.tenant(t, "other")
	h.callers["other"] = other
	res, body = h.post(t, map[string]string{"X-Test-Tenant": "other"}, map[string]any{"extensions": ext})
	status(t, "other tenant", res, body, http.StatusOK)
	if decode(t, body).code() != CodePersistedNotFound {
		t.Errorf("another tenant ran the persisted query: %s", body)
	}
}

// The SDL download, the explorer page, and standard introspection.
func TestHTTPSchemaExplorerIntrospection(t *testing.T) {
	t.Parallel()
	h, c := newHTTPEnv(t)
	none := map[string]string{}
	s, err := h.api.Schema(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	res, body := h.send(t, http.MethodGet, "/graphql/schema.graphql", none, "")
	status(t, "SDL", res, body, http.StatusOK)
	if string(body) != s.SDL || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/graphql") || res.Header.Get("ETag") != `"`+s.Digest+`"` {
		t.Errorf("SDL download: %s %v", res.Header.Get("Content-Type"), res.Header)
	}
	res, body = h.send(t, http.MethodGet, "/graphql/schema.graphql", map[string]string{"If-None-Match": `"` + s.Digest + `"`}, "")
	status(t, "SDL, unchanged", res, body, http.StatusNotModified)
	res, body = h.send(t, http.MethodGet, "/graphql/schema.graphql", nil, "")
	status(t, "SDL, anonymous", res, body, http.StatusUnauthorized)
	res, body = h.send(t, http.MethodPost, "/graphql/schema.graphql", none, "")
	status(t, "SDL, POST", res, body, http.StatusMethodNotAllowed)

	res, body = h.send(t, http.MethodGet, "/graphql", map[string]string{"Accept": "text/html,application/xhtml+xml"}, "")
	status(t, "explorer", res, body, http.StatusOK)
	if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !bytes.Contains(bytes.ToLower(body), []byte("graphiql")) {
		t.Errorf("explorer page: %s", res.Header.Get("Content-Type"))
	}
	res, _ = h.send(t, http.MethodGet, "/graphql?query=%7B__typename%7D", map[string]string{"Accept": "application/json, text/html"}, "")
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Errorf("a GET with a query got the explorer")
	}

	res, body = h.post(t, none, map[string]any{"query": introspectionQuery, "operationName": "IntrospectionQuery"})
	status(t, "introspection", res, body, http.StatusOK)
	r := decode(t, body)
	if len(r.Errors) > 0 {
		t.Fatalf("introspection: %v", r.Errors)
	}
	types := map[string]any{}
	for _, ty := range get(r.Data, "__schema", "types").([]any) {
		types[fmt.Sprint(get(ty, "name"))] = ty
	}
	for _, name := range []string{"Account", "AccountConnection", "AccountFilter", "Node", "Query", "Mutation", "DealStage", "DateTime", "__Schema"} {
		if types[name] == nil {
			t.Errorf("introspection lacks %s", name)
		}
	}
	if get(r.Data, "__schema", "queryType", "name") != "Query" || get(r.Data, "__schema", "mutationType", "name") != "Mutation" {
		t.Errorf("root types: %v", get(r.Data, "__schema", "queryType"))
	}
	if fmt.Sprint(get(types["Account"], "interfaces")) != "[map[kind:INTERFACE name:Node ofType:<nil>]]" {
		t.Errorf("Account's interfaces: %v", get(types["Account"], "interfaces"))
	}
	if get(types["DateTime"], "specifiedByURL") == nil {
		t.Errorf("DateTime has no specifiedByURL")
	}
	var stages []string
	for _, v := range get(types["DealStage"], "enumValues").([]any) {
		stages = append(stages, fmt.Sprint(get(v, "name")))
	}
	same(t, "DealStage values", stages, []string{"prospecting", "qualification", "proposal", "negotiation", "closedWon", "closedLost"})
	// __type and __typename beside data in one request.
	res, body = h.post(t, none, map[string]any{"query": `{ __typename t: __type(name: "Contact") { fields { name } } contacts { totalCount } }`})
	status(t, "__type beside data", res, body, http.StatusOK)
	if r := decode(t, body); len(r.Errors) > 0 || get(r.Data, "__typename") != "Query" || get(r.Data, "t", "fields") == nil {
		t.Errorf("__type: %s", body)
	}
}

// introspectionQuery is graphql-js's getIntrospectionQuery with every
// option on, what GraphiQL and codegen tools send.
const introspectionQuery = `query IntrospectionQuery {
  __schema {
    description
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  isOneOf
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes { ...TypeRef }
}

fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}

fragment TypeRef on __Type {
  kind
  name
  ofType {
    kind
    name
    ofType {
      kind
      name
      ofType {
        kind
        name
        ofType {
          kind
          name
          ofType {
            kind
            name
            ofType {
              kind
              name
              ofType {
                kind
                name
                ofType { kind name }
              }
            }
          }
        }
      }
    }
  }
}`
