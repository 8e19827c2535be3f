package dataapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/latticecrm/lattice/graphql/introspection"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/tags"
)

// Options configure an API. Zero values take defaults.
type Options struct {
	Limits Limits
	// Schemas is how many generated schemas (tenant x schema version x
	// scope) are kept. Default 1,000.
	Schemas int
	// Documents is how many parsed and validated documents are kept.
	// Default 10,000.
	Documents int
	// Plans is how many compiled query plans are kept (see plan).
	// Default 10,000.
	Plans  int
	Logger *slog.Logger
}

// API executes GraphQL operations against tenants' records. It is safe for
// concurrent use; one serves every tenant.
type API struct {
	pool    *pgxpool.Pool
	catalog *catalog.Catalog
	store   *records.Store
	tags    *tags.Service
	limits  Limits
	log     *slog.Logger
	schemas *lru.Cache[schemaKey, *Schema]
	docs    *lru.Cache[docKey, *document]
	plans   *lru.Cache[planKey, *plan]
	rules   *rules.Rules // every validation rule of the spec, built once
}

type schemaKey struct {
	tenant  string
	version int
	scope   string
}

type docKey struct {
	schema string // the schema's digest
	hash   [32]byte
}

// New returns an API over the tenants' records.
func New(pool *pgxpool.Pool, cat *catalog.Catalog, store *records.Store, tagSvc *tags.Service, opts Options) *API {
	if opts.Schemas <= 0 {
		opts.Schemas = 1000
	}
	if opts.Documents <= 0 {
		opts.Documents = 10000
	}
	if opts.Plans <= 0 {
		opts.Plans = 10000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	schemas, _ := lru.New[schemaKey, *Schema](opts.Schemas) // fails only for a size <= 0
	docs, _ := lru.New[docKey, *document](opts.Documents)
	plans, _ := lru.New[planKey, *plan](opts.Plans)
	return &API{pool: pool, catalog: cat, store: store, tags: tagSvc, limits: opts.Limits.withDefaults(),
		log: opts.Logger, schemas: schemas, docs: docs, plans: plans, rules: rules.NewDefaultRules()}
}

// Caller is who runs an operation: the tenant, the actor recorded on
// writes, and what the caller may see and do.
type Caller struct {
	TenantID string
	Actor    records.Actor
	Scope    *Scope
}

// Request is a GraphQL request (GraphQL over HTTP's parameters).
type Request struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName,omitempty"`
	Variables     map[string]any `json:"variables,omitempty"`
	Extensions    map[string]any `json:"extensions,omitempty"`
}

// Response is a GraphQL response. Data holds the raw JSON PostgreSQL built
// (nil: no data entry, e.g. after a validation error).
type Response struct {
	Data   json.RawMessage `json:"data,omitempty"`
	Errors gqlerror.List   `json:"errors,omitempty"`
	// RequestError marks errors that happened before execution (parse,
	// validation, variables): GraphQL over HTTP answers them with 400.
	RequestError bool `json:"-"`
}

// Schema returns the schema the caller sees of the tenant's current model.
func (api *API) Schema(ctx context.Context, caller Caller) (*Schema, error) {
	m, err := api.catalog.Model(ctx, caller.TenantID)
	if err != nil {
		return nil, err
	}
	scope := caller.Scope
	if scope == nil {
		scope = &Scope{}
	}
	key := schemaKey{tenant: caller.TenantID, version: m.Version, scope: scope.Key}
	if s, ok := api.schemas.Get(key); ok && s.Model == m {
		return s, nil
	}
	s, err := BuildSchema(m, scope)
	if err != nil {
		return nil, fmt.Errorf("build GraphQL schema of tenant %s: %w", caller.TenantID, err)
	}
	api.schemas.Add(key, s)
	return s, nil
}

// Execute runs one GraphQL request for the caller.
func (api *API) Execute(ctx context.Context, caller Caller, req Request) *Response {
	s, err := api.Schema(ctx, caller)
	if err != nil {
		api.log.ErrorContext(ctx, "graphql schema", "tenant", caller.TenantID, "err", err)
		return &Response{Errors: gqlerror.List{{Message: "the tenant's schema could not be built", Extensions: map[string]any{"code": CodeInternalError}}}}
	}
	s = s.forScope(caller.Scope)
	doc, errs := api.document(s, req.Query)
	if len(errs) > 0 {
		return &Response{Errors: errs, RequestError: true}
	}
	op, err := operation(doc.doc, req.OperationName)
	if err != nil {
		return &Response{Errors: gqlerror.List{{Message: err.Error(), Extensions: map[string]any{"code": CodeBadUserInput}}}, RequestError: true}
	}
	vars, err := validator.VariableValues(s.AST, op, req.Variables)
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) {
			ge = gqlerror.Wrap(err)
		}
		if ge.Extensions == nil {
			ge.Extensions = map[string]any{}
		}
		ge.Extensions["code"] = CodeBadUserInput
		return &Response{Errors: gqlerror.List{ge}, RequestError: true}
	}
	vars, ge := coerceVariables(s.AST, op, req.Variables, vars)
	if ge != nil {
		ge.Extensions = map[string]any{"code": CodeBadUserInput}
		return &Response{Errors: gqlerror.List{ge}, RequestError: true}
	}
	if op.Operation == ast.Mutation {
		return api.mutate(ctx, s, caller, op, vars)
	}
	if op.Operation != ast.Query {
		return &Response{Errors: gqlerror.List{{Message: "subscriptions are not supported", Extensions: map[string]any{"code": CodeBadUserInput}}}, RequestError: true}
	}
	return api.query(ctx, s, caller, doc, op, vars)
}

// document parses and validates query, from the cache when it can.
func (api *API) document(s *Schema, query string) (*document, gqlerror.List) {
	key := docKey{schema: s.Digest, hash: sha256.Sum256([]byte(query))}
	if d, ok := api.docs.Get(key); ok {
		return d, nil
	}
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) {
			ge = gqlerror.Wrap(err)
		}
		ge.Extensions = map[string]any{"code": CodeParseFailed}
		return nil, gqlerror.List{ge}
	}
	if errs := validator.ValidateWithRules(s.AST, doc, api.rules); len(errs) > 0 {
		for _, e := range errs {
			if e.Extensions == nil {
				e.Extensions = map[string]any{}
			}
			e.Extensions["code"] = CodeValidationFailed
		}
		return nil, errs
	}
	d := &document{doc: doc, hash: key.hash, late: map[*ast.OperationDefinition]map[string]bool{}}
	for _, op := range doc.Operations {
		d.late[op] = lateVariables(s, op)
	}
	api.docs.Add(key, d)
	return d, nil
}

// operation picks the operation to run.
func operation(doc *ast.QueryDocument, name string) (*ast.OperationDefinition, error) {
	if name == "" {
		if len(doc.Operations) != 1 {
			return nil, errors.New("the document has several operations: give operationName")
		}
		return doc.Operations[0], nil
	}
	op := doc.Operations.ForName(name)
	if op == nil {
		return nil, fmt.Errorf("no operation named %q in the document", name)
	}
	return op, nil
}

// rootEntry is one root field's part of the response.
type rootEntry struct {
	field *ast.Field
	sql   string
	args  []any
	value []byte // a constant (introspection, __typename) when sql is ""
	// onNull is the error a NULL from the statement means (a limit the
	// statement found), or nil.
	onNull error
}

// query compiles every root field, or takes the plan compiled for an
// earlier request, and runs the statements in one batch: one round trip,
// one snapshot.
func (api *API) query(ctx context.Context, s *Schema, caller Caller, doc *document, op *ast.OperationDefinition, vars map[string]any) *Response {
	key, cacheable := planKeyOf(s, caller, doc, op, vars)
	var entries []rootEntry
	var errs gqlerror.List
	if p, ok := api.plans.Get(key); cacheable && ok {
		entries, errs = p.instantiate(vars)
	} else {
		var p *plan
		var reusable bool
		p, reusable, errs = api.compile(ctx, s, caller, doc.late[op], op, vars)
		if len(errs) == 0 {
			entries = p.entries
			if cacheable && reusable {
				api.plans.Add(key, p)
			}
		}
	}
	if len(errs) > 0 {
		return &Response{Errors: errs, Data: json.RawMessage("null")}
	}
	b := &pgx.Batch{}
	for _, e := range entries {
		if e.sql != "" {
			b.Queue(e.sql, e.args...)
		}
	}
	values, err := api.run(ctx, caller.TenantID, b, entries)
	if err != nil {
		return &Response{Errors: gqlerror.List{api.dbError(ctx, op, err)}, Data: json.RawMessage("null")}
	}
	for i, e := range entries {
		if values[i] == nil && e.onNull != nil {
			errs = append(errs, api.fieldError(ctx, e.field, e.onNull))
		}
	}
	if len(errs) > 0 {
		return &Response{Errors: errs, Data: json.RawMessage("null")}
	}
	return &Response{Data: assemble(entries, values)}
}

// compile compiles every root field of op. The plan must not be reused
// (reusable is false) if a statement binds the time: a withinLast window.
func (api *API) compile(ctx context.Context, s *Schema, caller Caller, late map[string]bool, op *ast.OperationDefinition, vars map[string]any) (_ *plan, reusable bool, _ gqlerror.List) {
	now := time.Now()
	p := &plan{}
	reusable = true
	var errs gqlerror.List
	for _, f := range collect(op.SelectionSet, "Query", nil, vars) {
		e := rootEntry{field: f}
		switch f.Name {
		case "__typename":
			e.value = []byte(`"Query"`)
		case "__schema", "__type":
			v, err := introspection.Resolve(s.AST, f, vars)
			if err != nil {
				errs = append(errs, api.fieldError(ctx, f, err))
				continue
			}
			e.value = v
		default:
			c := newCompiler(s, caller.TenantID, vars, api.limits, now)
			c.late = late
			sql, err := c.query(s.queries[f.Name], f)
			if err != nil {
				errs = append(errs, api.fieldError(ctx, f, err))
				continue
			}
			e.sql, e.args, e.onNull = sql, c.args, c.onNull
			for _, h := range c.holes {
				h.entry = len(p.entries)
				p.holes = append(p.holes, h)
			}
			reusable = reusable && !c.usesTime
		}
		p.entries = append(p.entries, e)
	}
	if len(errs) > 0 {
		return nil, false, errs
	}
	return p, reusable, nil
}

// send sends b in the tenant with the statement timeout (one round trip;
// the batch is one transaction, so the settings end with it).
func (api *API) send(ctx context.Context, tenantID string, b *pgx.Batch) (pgx.BatchResults, error) {
	return database.SendTenantBatchTimeout(ctx, api.pool, tenantID, api.limits.StatementTimeout, b)
}

// run sends the batch and reads one JSON value per statement.
func (api *API) run(ctx context.Context, tenantID string, b *pgx.Batch, entries []rootEntry) ([][]byte, error) {
	br, err := api.send(ctx, tenantID, b)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	values := make([][]byte, len(entries))
	for i, e := range entries {
		if e.sql == "" {
			values[i] = e.value
			continue
		}
		var v []byte
		if err := br.QueryRow().Scan(&v); err != nil {
			return nil, fmt.Errorf("root field %s: %w", e.field.Alias, err)
		}
		values[i] = v
	}
	return values, br.Close()
}

// assemble writes the data object: each root field's raw JSON under its
// response key, never decoded.
func assemble(entries []rootEntry, values [][]byte) json.RawMessage {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, e := range entries {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(e.field.Alias)
		buf.Write(k)
		buf.WriteByte(':')
		if values[i] == nil {
			buf.WriteString("null")
		} else {
			buf.Write(values[i])
		}
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// fieldError is fieldError, logging an internal error: its message says
// only "internal error", so the log is the only trace of the cause.
func (api *API) fieldError(ctx context.Context, f *ast.Field, err error) *gqlerror.Error {
	g := fieldError(f, err)
	if g.Extensions["code"] == CodeInternalError {
		api.log.ErrorContext(ctx, "graphql field", "field", f.Name, "err", err)
	}
	return g
}

// dbError turns a database failure into a GraphQL error, naming a timeout.
func (api *API) dbError(ctx context.Context, op *ast.OperationDefinition, err error) *gqlerror.Error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "57014" {
		return &gqlerror.Error{Message: fmt.Sprintf("the query took longer than the statement timeout (%s)", api.limits.StatementTimeout),
			Extensions: map[string]any{"code": CodeTimeout}}
	}
	if ctx.Err() != nil {
		return &gqlerror.Error{Message: "the request was cancelled", Extensions: map[string]any{"code": CodeTimeout}}
	}
	api.log.ErrorContext(ctx, "graphql execution", "operation", op.Name, "err", err)
	return &gqlerror.Error{Message: "internal error", Extensions: map[string]any{"code": CodeInternalError}}
}
