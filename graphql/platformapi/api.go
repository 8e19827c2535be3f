package platformapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"

	"github.com/latticecrm/lattice/platform/httpserver"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/schema/scoring"
	"github.com/latticecrm/lattice/schema/tags"
	"github.com/latticecrm/lattice/tenants"
	"github.com/latticecrm/lattice/tenants/authhttp"
)

// SDL is the platform API's schema, schema.graphql.
//
//go:embed schema.graphql
var SDL string

// Services are the services the API exposes; the CLI uses the same ones.
type Services struct {
	Tenants     *tenants.Service
	Catalog     *catalog.Catalog
	Tags        *tags.Service
	Scoring     *scoring.Service
	Permissions *permissions.Service
	// Audit is the audit log; nil answers auditLog and recordHistory
	// with an error.
	Audit AuditLog
}

// Options configure the API. Zero values take the documented defaults.
type Options struct {
	// Logger receives internal errors (with the request id) and panics.
	// Default slog.Default().
	Logger *slog.Logger
	// OperatorToken, if not empty, is the bearer token that authenticates
	// the server's operator, who alone may list and manage tenants. It must
	// be at least MinOperatorTokenLen bytes. It is compared in constant
	// time and never logged.
	OperatorToken string
	// Context bounds the background work mutations start (running the slot
	// jobs a schema change queued, rescore jobs); cancel it to stop them on
	// shutdown. Default context.Background(). Interrupted jobs are resumed
	// by the server's background loop.
	Context context.Context
	// MaxBodyBytes bounds a request body. Default 8 MiB (a large bundle).
	MaxBodyBytes int64
}

// MinOperatorTokenLen is the shortest operator token accepted.
const MinOperatorTokenLen = 24

// API is the platform API. It is safe for concurrent use.
type API struct {
	svc      Services
	log      *slog.Logger
	schema   *graphql.Schema
	operator [32]byte // sha256 of the operator token
	hasOp    bool
	bg       context.Context
	wg       sync.WaitGroup
	maxBody  int64
}

// New parses the SDL against the resolvers (failing if they do not match)
// and returns the API.
func New(svc Services, opts Options) (*API, error) {
	if svc.Tenants == nil || svc.Catalog == nil || svc.Tags == nil || svc.Scoring == nil || svc.Permissions == nil {
		return nil, errors.New("platformapi: every service but Audit is required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	a := &API{svc: svc, log: opts.Logger, bg: opts.Context, maxBody: opts.MaxBodyBytes}
	if opts.OperatorToken != "" {
		if len(opts.OperatorToken) < MinOperatorTokenLen {
			return nil, fmt.Errorf("platformapi: the operator token must be at least %d bytes", MinOperatorTokenLen)
		}
		a.operator, a.hasOp = sha256.Sum256([]byte(opts.OperatorToken)), true
	}
	schema, err := ParseSchema(&Resolver{api: a},
		graphql.Logger(panicLogger{a.log}),
		graphql.PanicHandler(panicHandler{}))
	if err != nil {
		return nil, err
	}
	a.schema = schema
	return a, nil
}

// ParseSchema parses the SDL against r, as New does: it fails if a field
// has no resolver or one of the wrong type.
func ParseSchema(r *Resolver, opts ...graphql.SchemaOpt) (*graphql.Schema, error) {
	opts = append([]graphql.SchemaOpt{graphql.UseStringDescriptions(), graphql.MaxDepth(20)}, opts...)
	s, err := graphql.ParseSchema(SDL, r, opts...)
	if err != nil {
		return nil, fmt.Errorf("platformapi: schema.graphql does not match the resolvers: %w", err)
	}
	return s, nil
}

// Wait waits for the background work mutations started (slot and rescore
// jobs) to end.
func (a *API) Wait() { a.wg.Wait() }

// background runs fn in the background under the API's context.
func (a *API) background(what, tenantID string, fn func(ctx context.Context) error) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := fn(a.bg); err != nil && a.bg.Err() == nil {
			a.log.Warn("platform API background work", "what", what, "tenant", tenantID, "err", err)
		}
	}()
}

// Handler serves the API over HTTP (POST, JSON). A request carrying the
// operator token is the operator's; any other goes through require (the
// server's authentication middleware, authhttp.Handler.Require), which
// answers unauthenticated requests itself.
func (a *API) Handler(require func(http.Handler) http.Handler) http.Handler {
	tenant := require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := authhttp.PrincipalFrom(r.Context())
		if !ok {
			a.writeErrors(w, http.StatusUnauthorized, "UNAUTHENTICATED", "authentication required")
			return
		}
		a.serve(w, r, &caller{principal: p})
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.isOperator(r) {
			a.serve(w, r, &caller{operator: true})
			return
		}
		tenant.ServeHTTP(w, r)
	})
}

// isOperator reports whether r carries the operator token. Both sides are
// hashed first, so the comparison takes the same time whatever the length.
func (a *API) isOperator(r *http.Request) bool {
	if !a.hasOp {
		return false
	}
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(tok)))
	return subtle.ConstantTimeCompare(sum[:], a.operator[:]) == 1
}

// request is a GraphQL request body.
type request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
}

func (a *API) serve(w http.ResponseWriter, r *http.Request, c *caller) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		a.writeErrors(w, http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "send the GraphQL request as POST with a JSON body")
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		a.writeErrors(w, http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send Content-Type: application/json")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, a.maxBody+1))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) || int64(len(body)) > a.maxBody {
		a.writeErrors(w, http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "the request body is too large")
		return
	}
	if err != nil {
		a.writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", "read the request body: "+err.Error())
		return
	}
	var req request
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		a.writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", "the body is not a JSON object {query, operationName, variables}: "+err.Error())
		return
	}
	if strings.TrimSpace(req.Query) == "" {
		a.writeErrors(w, http.StatusBadRequest, "BAD_REQUEST", "the body has no query")
		return
	}
	ctx := withAddress(withCaller(r.Context(), c), r.RemoteAddr)
	started := time.Now()
	res := a.schema.Exec(ctx, req.Query, req.OperationName, req.Variables)
	for _, e := range res.Errors {
		if e.Extensions == nil || e.Extensions["code"] == nil {
			if e.Extensions == nil {
				e.Extensions = map[string]any{}
			}
			e.Extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
		}
	}
	a.log.DebugContext(ctx, "platform API request", "request_id", httpserver.RequestID(ctx), "operation", req.OperationName,
		"errors", len(res.Errors), "took", time.Since(started))
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(res)
}

// writeErrors answers a request that never reached GraphQL execution.
func (a *API) writeErrors(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]any{"code": code}}}})
}

// panicLogger logs resolver panics without the context (which may hold
// credentials).
type panicLogger struct{ log *slog.Logger }

func (l panicLogger) LogPanic(ctx context.Context, value any) {
	l.log.ErrorContext(ctx, "platform API resolver panicked", "request_id", httpserver.RequestID(ctx), "panic", fmt.Sprint(value))
}

// panicHandler reports a panic without its value.
type panicHandler struct{}

func (panicHandler) MakePanicError(ctx context.Context, _ any) *gqlerrors.QueryError {
	e := gqlerrors.Errorf("internal server error; the request id identifies it in the server log")
	e.Extensions = map[string]any{"code": CodeInternal, "requestId": httpserver.RequestID(ctx)}
	return e
}
