package dataapi

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/httpserver"
)

// Media types of GraphQL over HTTP.
const (
	mediaGraphQLResponse = "application/graphql-response+json"
	mediaJSON            = "application/json"
)

// CallerFunc identifies the caller of an HTTP request (after the server's
// authentication has run).
type CallerFunc func(r *http.Request) (Caller, bool)

// Handler serves the data API over HTTP, following the GraphQL over HTTP
// specification: POST with application/json, GET for queries, responses in
// application/graphql-response+json (or application/json when the client
// asks for it), and Apollo's automatic persisted queries by SHA-256 hash.
// GET /graphql/schema.graphql downloads the caller's SDL.
type Handler struct {
	api       *API
	caller    CallerFunc
	persisted *lru.Cache[persistedKey, string]
}

type persistedKey struct {
	tenant string
	hash   string
}

// Handler returns the HTTP handler of the data API; caller identifies each
// request's caller (it is called after authentication).
func (api *API) Handler(caller CallerFunc) *Handler {
	persisted, _ := lru.New[persistedKey, string](10000) // fails only for a size <= 0
	return &Handler{api: api, caller: caller, persisted: persisted}
}

// maxQueryBytes bounds a GET query string's document.
const maxQueryBytes = 64 << 10

// maxBodyBytes bounds a POST body, which is read whole before anything
// else happens: a bulk mutation of MaxBulk records of a few KiB each fits.
const maxBodyBytes = 16 << 20

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	caller, ok := h.caller(r)
	if !ok {
		h.reject(w, r, http.StatusUnauthorized, "authentication required")
		return
	}
	// The audit log names the request id and client address of what the
	// request writes (as authhttp.Require's context does).
	addr, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		addr = r.RemoteAddr
	}
	r = r.WithContext(audit.WithRequest(r.Context(), audit.Request{ID: httpserver.RequestID(r.Context()), Address: addr}))
	if strings.HasSuffix(r.URL.Path, "/schema.graphql") {
		h.sdl(w, r, caller)
		return
	}
	var req Request
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		req.Query = q.Get("query")
		req.OperationName = q.Get("operationName")
		for name, dst := range map[string]*map[string]any{"variables": &req.Variables, "extensions": &req.Extensions} {
			if s := q.Get(name); s != "" {
				if err := decodeJSON(strings.NewReader(s), dst); err != nil {
					h.reject(w, r, http.StatusBadRequest, name+" is not a JSON object: "+err.Error())
					return
				}
			}
		}
	case http.MethodPost:
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if ct != mediaJSON {
			h.reject(w, r, http.StatusUnsupportedMediaType, "send the request as application/json")
			return
		}
		if err := decodeJSON(http.MaxBytesReader(w, r.Body, maxBodyBytes), &req); err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				h.reject(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxBodyBytes))
				return
			}
			h.reject(w, r, http.StatusBadRequest, "the body is not a GraphQL request (a JSON object with query, variables, operationName): "+err.Error())
			return
		}
	default:
		w.Header().Set("Allow", "GET, POST")
		h.reject(w, r, http.StatusMethodNotAllowed, "use GET or POST")
		return
	}
	if msg, status := h.resolvePersisted(caller, &req); msg != "" {
		h.respond(w, r, status, &Response{Errors: gqlerror.List{{Message: msg, Extensions: map[string]any{"code": codeForPersisted(msg)}}}, RequestError: true})
		return
	}
	if req.Query == "" {
		h.reject(w, r, http.StatusBadRequest, "the request has no query")
		return
	}
	if r.Method == http.MethodGet && len(req.Query) > maxQueryBytes {
		h.reject(w, r, http.StatusRequestURITooLong, "the query is too long for GET: use POST")
		return
	}
	if r.Method == http.MethodGet && isMutation(req) {
		w.Header().Set("Allow", "POST")
		h.reject(w, r, http.StatusMethodNotAllowed, "mutations must be sent with POST")
		return
	}
	res := h.api.Execute(r.Context(), caller, req)
	status := http.StatusOK
	if res.RequestError {
		status = http.StatusBadRequest
	}
	h.respond(w, r, status, res)
}

// isMutation reports whether the operation to run is a mutation, for the
// GET check. It parses the document: a prefix test would let a comment, a
// fragment or another operation in front of a mutation through, and GET
// must never write (a link or an image could make the request). A document
// that does not parse is left to the executor to report.
func isMutation(req Request) bool {
	doc, err := parser.ParseQuery(&ast.Source{Input: req.Query})
	if err != nil {
		return false
	}
	op, err := operation(doc, req.OperationName)
	return err == nil && op.Operation == ast.Mutation
}

// resolvePersisted applies Apollo's automatic persisted queries: a request
// with extensions.persistedQuery.sha256Hash and no query runs the query
// stored under that hash; one with both stores it after checking the hash.
func (h *Handler) resolvePersisted(caller Caller, req *Request) (string, int) {
	pq, _ := req.Extensions["persistedQuery"].(map[string]any)
	if pq == nil {
		return "", 0
	}
	hash, _ := pq["sha256Hash"].(string)
	if hash == "" {
		return "extensions.persistedQuery needs sha256Hash", http.StatusBadRequest
	}
	key := persistedKey{tenant: caller.TenantID, hash: strings.ToLower(hash)}
	if req.Query == "" {
		q, ok := h.persisted.Get(key)
		if !ok {
			return "PersistedQueryNotFound", http.StatusOK
		}
		req.Query = q
		return "", 0
	}
	sum := sha256.Sum256([]byte(req.Query))
	if hex.EncodeToString(sum[:]) != key.hash {
		return "provided sha256Hash does not match the query", http.StatusBadRequest
	}
	h.persisted.Add(key, req.Query)
	return "", 0
}

func codeForPersisted(msg string) string {
	if msg == "PersistedQueryNotFound" {
		return CodePersistedNotFound
	}
	if strings.Contains(msg, "does not match") {
		return CodePersistedHashError
	}
	return CodeBadUserInput
}

// respond writes a response in the media type the client accepts.
// Under application/json every response is 200, as the spec requires for
// legacy clients; under application/graphql-response+json request errors
// are 400.
func (h *Handler) respond(w http.ResponseWriter, r *http.Request, status int, res *Response) {
	media := negotiate(r.Header.Get("Accept"))
	if media == "" {
		h.reject(w, r, http.StatusNotAcceptable, "accept application/graphql-response+json or application/json")
		return
	}
	if media == mediaJSON {
		status = http.StatusOK
	}
	body, err := res.marshal()
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"errors":[{"message":"internal error"}]}`)
	}
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// negotiate picks the response media type from Accept ("" if none fits).
//
// A client that sends no Accept header, or accepts anything, gets
// application/json: the GraphQL over HTTP spec asks servers to assume so
// for legacy clients, which do not know the newer media type.
func negotiate(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON
	}
	best, bestQ := "", -1.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if _, err := json.Number(s).Float64(); err == nil {
				q, _ = json.Number(s).Float64()
			}
		}
		var m string
		switch mt {
		case mediaGraphQLResponse:
			m = mediaGraphQLResponse
		case mediaJSON, "*/*", "application/*":
			m = mediaJSON
		default:
			continue
		}
		if q > bestQ || q == bestQ && m == mediaGraphQLResponse {
			best, bestQ = m, q
		}
	}
	if bestQ <= 0 {
		return ""
	}
	return best
}

// reject answers a request that is not a GraphQL request.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, status int, msg string) {
	media := negotiate(r.Header.Get("Accept"))
	if media == "" {
		media = mediaJSON
	}
	body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": CodeBadUserInput}}}})
	w.Header().Set("Content-Type", media+"; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// sdl serves the caller's schema as SDL.
func (h *Handler) sdl(w http.ResponseWriter, r *http.Request, caller Caller) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.reject(w, r, http.StatusMethodNotAllowed, "use GET")
		return
	}
	s, err := h.api.Schema(r.Context(), caller)
	if err != nil {
		h.api.log.ErrorContext(r.Context(), "graphql schema", "err", err)
		h.reject(w, r, http.StatusInternalServerError, "the schema could not be built")
		return
	}
	w.Header().Set("Content-Type", "application/graphql; charset=utf-8")
	w.Header().Set("ETag", `"`+s.Digest+`"`)
	// ServeContent answers If-None-Match with the ETag (304), and HEAD.
	http.ServeContent(w, r, "schema.graphql", time.Time{}, strings.NewReader(s.SDL))
}

// decodeJSON decodes one JSON value, numbers as json.Number so decimals
// keep their digits.
func decodeJSON(r io.Reader, v any) error {
	d := json.NewDecoder(r)
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
