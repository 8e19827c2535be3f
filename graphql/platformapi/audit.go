package platformapi

import (
	"context"
	"strconv"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/latticecrm/lattice/platform/audit"
)

// AuditLog is what the API reads of the audit log (*audit.Log).
type AuditLog interface {
	List(ctx context.Context, tenantID string, q audit.Query) ([]audit.Entry, string, error)
	History(ctx context.Context, tenantID, recordID, after string, limit int) ([]audit.Entry, string, error)
}

// Reading the audit log needs platform:audit read.

type auditEntryR struct{ e audit.Entry }

func (x auditEntryR) ID() graphql.ID     { return graphql.ID(strconv.FormatInt(x.e.ID, 10)) }
func (x auditEntryR) At() graphql.Time   { return gqlTime(x.e.At) }
func (x auditEntryR) Actor() string      { return x.e.Actor }
func (x auditEntryR) Action() string     { return x.e.Action }
func (x auditEntryR) Object() string     { return x.e.Object }
func (x auditEntryR) RecordID() *string  { return strPtr(x.e.RecordID) }
func (x auditEntryR) Changes() *JSON     { return rawJSON(x.e.Changes) }
func (x auditEntryR) RequestID() *string { return strPtr(x.e.RequestID) }
func (x auditEntryR) Address() *string   { return strPtr(x.e.Address) }
func (x auditEntryR) Details() *JSON     { return rawJSON(x.e.Details) }

type auditEdgeR struct {
	e      audit.Entry
	cursor string
}

func (x auditEdgeR) Node() auditEntryR { return auditEntryR{x.e} }
func (x auditEdgeR) Cursor() *string   { return strPtr(x.cursor) }

type pageInfoR struct{ next string }

func (x pageInfoR) HasNextPage() bool  { return x.next != "" }
func (x pageInfoR) EndCursor() *string { return strPtr(x.next) }

type auditConnectionR struct {
	entries []audit.Entry
	next    string
}

func (x auditConnectionR) Edges() []auditEdgeR {
	out := make([]auditEdgeR, len(x.entries))
	for i, e := range x.entries {
		out[i] = auditEdgeR{e: e}
	}
	if n := len(out); n > 0 {
		out[n-1].cursor = x.next
	}
	return out
}

func (x auditConnectionR) PageInfo() pageInfoR { return pageInfoR{x.next} }

type auditFilter struct {
	RecordID *graphql.ID
	Actor    *string
	Action   *string
	Object   *string
	From     *graphql.Time
	To       *graphql.Time
}

// auditWhere places the audit log's input errors in the arguments.
var auditWhere = where{rename: map[string]string{
	"recordId": "/filter/recordId", "action": "/filter/action", "to": "/filter/to",
	"after": "/after", "limit": "/first",
}}

func (r *Resolver) auditReader(ctx context.Context, first int32) (*caller, error) {
	c, err := r.require(ctx, "audit", "read")
	if err != nil {
		return nil, err
	}
	if r.api.svc.Audit == nil {
		return nil, newError(CodeInternal, "audit_unavailable", "this server has no audit log configured")
	}
	if first < 1 || first > audit.MaxLimit {
		return nil, badInput("/first", "invalid_first", "first must be between 1 and %d, got %d", audit.MaxLimit, first)
	}
	return c, nil
}

// AuditLog pages through the audit log, newest first.
func (r *Resolver) AuditLog(ctx context.Context, args struct {
	Filter *auditFilter
	First  int32
	After  *string
}) (*auditConnectionR, error) {
	c, err := r.auditReader(ctx, args.First)
	if err != nil {
		return nil, err
	}
	q := audit.Query{Limit: int(args.First)}
	if args.After != nil {
		q.After = *args.After
	}
	if f := args.Filter; f != nil {
		if f.RecordID != nil {
			q.RecordID = string(*f.RecordID)
		}
		for dst, src := range map[*string]*string{&q.Actor: f.Actor, &q.Action: f.Action, &q.Object: f.Object} {
			if src != nil {
				*dst = *src
			}
		}
		if f.From != nil {
			q.From = f.From.Time
		}
		if f.To != nil {
			q.To = f.To.Time
		}
	}
	es, next, err := r.api.svc.Audit.List(ctx, c.principal.TenantID, q)
	if err != nil {
		return nil, r.fail(ctx, err, auditWhere)
	}
	return &auditConnectionR{entries: es, next: next}, nil
}

// RecordHistory is every change to one record, newest first.
func (r *Resolver) RecordHistory(ctx context.Context, args struct {
	RecordID graphql.ID
	First    int32
	After    *string
}) (*auditConnectionR, error) {
	c, err := r.auditReader(ctx, args.First)
	if err != nil {
		return nil, err
	}
	after := ""
	if args.After != nil {
		after = *args.After
	}
	es, next, err := r.api.svc.Audit.History(ctx, c.principal.TenantID, string(args.RecordID), after, int(args.First))
	if err != nil {
		return nil, r.fail(ctx, err, where{rename: map[string]string{"recordId": "/recordId", "after": "/after", "limit": "/first"}})
	}
	return &auditConnectionR{entries: es, next: next}, nil
}
