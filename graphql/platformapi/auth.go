package platformapi

import (
	"context"
	"net"
	"sync"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/tenants"
)

// caller is who a request acts as: a tenant principal, or the operator.
type caller struct {
	operator  bool
	principal tenants.Principal

	once    sync.Once
	subject string
	err     error
}

type callerKey struct{}

func withCaller(ctx context.Context, c *caller) context.Context {
	ctx = context.WithValue(ctx, callerKey{}, c)
	actor := "operator"
	if !c.operator {
		actor = audit.ActorOf(c.actor())
	}
	return audit.WithRequest(ctx, audit.Request{Actor: actor})
}

// withAddress records the client's address for the audit log.
func withAddress(ctx context.Context, remoteAddr string) context.Context {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	return audit.WithRequest(ctx, audit.Request{Address: host})
}

func callerFrom(ctx context.Context) *caller {
	c, _ := ctx.Value(callerKey{}).(*caller)
	return c
}

// actor is how services record who made a change: the user's id, or
// "integration:NAME".
func (c *caller) actor() string {
	if c.principal.Integration != "" {
		return permissions.IntegrationSubject(c.principal.Integration)
	}
	return c.principal.UserID
}

// isAdmin reports whether the caller is a tenant admin (membership role, or
// an admin integration token): they always act as the admin role.
func (c *caller) isAdmin() bool { return !c.operator && c.principal.Role == tenants.RoleAdmin }

// subjectOf is the casbin subject the caller acts as, decided by the
// permissions service (tenant admins act as role:admin, members as
// themselves or the default member role, integrations likewise).
func (r *Resolver) subjectOf(ctx context.Context, c *caller) (string, error) {
	c.once.Do(func() {
		v, err := r.api.svc.Permissions.View(ctx, c.principal)
		if err != nil {
			c.err = err
			return
		}
		c.subject = v.Subject
	})
	return c.subject, c.err
}

// member returns the caller, who must hold a tenant credential.
func (r *Resolver) member(ctx context.Context) (*caller, error) {
	c := callerFrom(ctx)
	switch {
	case c == nil:
		return nil, newError(CodeUnauthenticated, "authentication_required", "authentication required")
	case c.operator:
		return nil, newError(CodeForbidden, "tenant_credential_required",
			"the operator token manages tenants only; use a tenant's API or session token for this")
	}
	return c, nil
}

// allowed reports whether the caller holds permission action on
// platform:area, as their roles decide.
func (r *Resolver) allowed(ctx context.Context, c *caller, area, action string) (bool, error) {
	sub, err := r.subjectOf(ctx, c)
	if err != nil {
		return false, err
	}
	d, err := r.api.svc.Permissions.Check(ctx, c.principal.TenantID, sub, "platform:"+area, action)
	if err != nil {
		return false, err
	}
	return d.Allowed, nil
}

// require returns the caller if they hold action on platform:area, else a
// FORBIDDEN error naming the permission.
func (r *Resolver) require(ctx context.Context, area, action string) (*caller, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	ok, err := r.allowed(ctx, c, area, action)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	if !ok {
		return nil, forbidden("platform:" + area + " " + action)
	}
	return c, nil
}

// requireRead returns the caller if they hold read or manage on
// platform:area: whoever manages something may also see it.
func (r *Resolver) requireRead(ctx context.Context, area string) (*caller, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	for _, act := range []string{"read", "manage"} {
		ok, err := r.allowed(ctx, c, area, act)
		if err != nil {
			return nil, r.fail(ctx, err, where{})
		}
		if ok {
			return c, nil
		}
	}
	return nil, forbidden("platform:" + area + " read")
}

// operator checks that the caller is the server's operator.
func (r *Resolver) operator(ctx context.Context) error {
	c := callerFrom(ctx)
	if c == nil || !c.operator {
		e := newError(CodeForbidden, "operator_required", "forbidden: this needs the operator token")
		e.ext["permission"] = "operator"
		return e
	}
	return nil
}
