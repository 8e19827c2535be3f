package platformapi

import (
	"context"

	graphql "github.com/graph-gophers/graphql-go"
)

// Resolver is the root resolver of Query and Mutation. Every field's
// method authorizes the caller first, then calls a service.
type Resolver struct {
	api *API
}

type callerR struct {
	c       *caller
	subject string
}

func (x callerR) Operator() bool { return x.c.operator }
func (x callerR) TenantID() *graphql.ID {
	if x.c.operator {
		return nil
	}
	return idPtr(x.c.principal.TenantID)
}
func (x callerR) TenantSlug() *string { return x.tenantStr(x.c.principal.TenantSlug) }
func (x callerR) UserID() *graphql.ID {
	if x.c.operator {
		return nil
	}
	return idPtr(x.c.principal.UserID)
}
func (x callerR) Email() *string       { return x.tenantStr(x.c.principal.Email) }
func (x callerR) Integration() *string { return x.tenantStr(x.c.principal.Integration) }
func (x callerR) Role() *string        { return x.tenantStr(x.c.principal.Role) }
func (x callerR) Subject() *string     { return strPtr(x.subject) }

func (x callerR) tenantStr(s string) *string {
	if x.c.operator {
		return nil
	}
	return strPtr(s)
}

// Me is who the credential is.
func (r *Resolver) Me(ctx context.Context) (callerR, error) {
	c := callerFrom(ctx)
	if c == nil {
		return callerR{}, newError(CodeUnauthenticated, "authentication_required", "authentication required")
	}
	if c.operator {
		return callerR{c: c}, nil
	}
	sub, err := r.subjectOf(ctx, c)
	if err != nil {
		return callerR{}, r.fail(ctx, err, where{})
	}
	return callerR{c: c, subject: sub}, nil
}

// Ping does nothing.
func (r *Resolver) Ping() bool { return true }
