package platformapi

import (
	"context"
	"crypto/rand"
	"fmt"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/templates"
	"github.com/latticecrm/lattice/tenants"
)

// Tenants are the operator's: these fields need the server's operator
// token (Options.OperatorToken). Quotas do not exist yet, so there are no
// quota fields.

type tenantR struct{ t tenants.Tenant }

func (x tenantR) ID() graphql.ID           { return graphql.ID(x.t.ID) }
func (x tenantR) Slug() string             { return x.t.Slug }
func (x tenantR) Name() string             { return x.t.Name }
func (x tenantR) Status() string           { return x.t.Status }
func (x tenantR) SuspendedReason() *string { return strPtr(x.t.SuspendedReason) }
func (x tenantR) CreatedAt() graphql.Time  { return gqlTime(x.t.CreatedAt) }
func (x tenantR) UpdatedAt() graphql.Time  { return gqlTime(x.t.UpdatedAt) }
func (x tenantR) DeletedAt() *graphql.Time { return gqlTimePtr(x.t.DeletedAt) }

// Tenants lists tenants.
func (r *Resolver) Tenants(ctx context.Context, args struct{ IncludeDeleted bool }) ([]tenantR, error) {
	if err := r.operator(ctx); err != nil {
		return nil, err
	}
	ts, err := r.api.svc.Tenants.ListTenants(ctx, args.IncludeDeleted)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]tenantR, len(ts))
	for i, t := range ts {
		out[i] = tenantR{t}
	}
	return out, nil
}

// Tenant returns one tenant by slug or id, or null.
func (r *Resolver) Tenant(ctx context.Context, args struct{ Ref string }) (*tenantR, error) {
	if err := r.operator(ctx); err != nil {
		return nil, err
	}
	t, err := r.api.svc.Tenants.Tenant(ctx, args.Ref)
	if isCode(err, "tenant_not_found") {
		return nil, nil
	}
	if err != nil {
		return nil, r.fail(ctx, err, where{rename: map[string]string{"tenant": "/ref"}})
	}
	return &tenantR{t}, nil
}

type createdTenantR struct {
	t        tenants.Tenant
	admin    *memberR
	password string
}

func (x createdTenantR) Tenant() tenantR        { return tenantR{x.t} }
func (x createdTenantR) Admin() *memberR        { return x.admin }
func (x createdTenantR) AdminPassword() *string { return strPtr(x.password) }

// CreateTenant creates a tenant, installs its template and its first admin.
func (r *Resolver) CreateTenant(ctx context.Context, args struct {
	Input struct {
		Slug     string
		Name     *string
		Template string
		Admin    *string
	}
}) (*createdTenantR, error) {
	if err := r.operator(ctx); err != nil {
		return nil, err
	}
	in := args.Input
	name := in.Slug
	if in.Name != nil && *in.Name != "" {
		name = *in.Name
	}
	// Inputs that can be checked are checked before anything is created.
	if in.Template != "crm" && in.Template != "none" {
		return nil, badInput("/input/template", "invalid_template", "template must be \"crm\" or \"none\", got %q", in.Template)
	}
	admin := ""
	if in.Admin != nil {
		email, err := tenants.NormalizeEmail(*in.Admin)
		if err != nil {
			return nil, r.fail(ctx, err, where{rename: map[string]string{"email": "/input/admin"}})
		}
		admin = email
	}
	svc := r.api.svc.Tenants
	t, err := svc.CreateTenant(ctx, in.Slug, name)
	if err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	out := &createdTenantR{t: t}
	if in.Template == "crm" {
		if err := r.installCRM(ctx, t.ID); err != nil {
			return nil, r.fail(ctx, err, where{})
		}
	}
	if err := r.api.svc.Permissions.Bootstrap(ctx, t.ID); err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	if admin != "" {
		u, err := svc.User(ctx, admin)
		if isCode(err, "user_not_found") {
			out.password = rand.Text()
			u, err = svc.CreateUser(ctx, admin, "", out.password)
		}
		if err != nil {
			return nil, r.fail(ctx, err, where{rename: map[string]string{"email": "/input/admin"}})
		}
		m, err := svc.AddMember(ctx, t.ID, u.ID, tenants.RoleAdmin)
		if err != nil {
			return nil, r.fail(ctx, err, where{})
		}
		out.admin = &memberR{m: m}
	}
	return out, nil
}

// installCRM applies the CRM template, as `lattice tenant create` does.
func (r *Resolver) installCRM(ctx context.Context, tenantID string) error {
	cat := r.api.svc.Catalog
	b, err := cat.Validator().ParseBundle(templates.CRM())
	if err != nil {
		return fmt.Errorf("CRM template: %w", err)
	}
	if _, err := cat.Apply(ctx, tenantID, catalog.ApplyRequest{Bundle: b, Message: "CRM template", Actor: "operator"}); err != nil {
		return fmt.Errorf("install CRM template: %w", err)
	}
	return nil
}

type tenantRef struct{ Ref string }

func (r *Resolver) tenantOp(ctx context.Context, op func() (tenants.Tenant, error)) (*tenantR, error) {
	if err := r.operator(ctx); err != nil {
		return nil, err
	}
	t, err := op()
	if err != nil {
		return nil, r.fail(ctx, err, where{rename: map[string]string{"tenant": "/ref", "reason": "/reason"}})
	}
	return &tenantR{t}, nil
}

// SuspendTenant suspends a tenant: its requests get 403 until resumed.
func (r *Resolver) SuspendTenant(ctx context.Context, args struct {
	Ref    string
	Reason *string
}) (*tenantR, error) {
	reason := ""
	if args.Reason != nil {
		reason = *args.Reason
	}
	return r.tenantOp(ctx, func() (tenants.Tenant, error) { return r.api.svc.Tenants.SuspendTenant(ctx, args.Ref, reason) })
}

// ResumeTenant resumes a suspended tenant.
func (r *Resolver) ResumeTenant(ctx context.Context, args tenantRef) (*tenantR, error) {
	return r.tenantOp(ctx, func() (tenants.Tenant, error) { return r.api.svc.Tenants.ResumeTenant(ctx, args.Ref) })
}

// DeleteTenant soft-deletes a tenant.
func (r *Resolver) DeleteTenant(ctx context.Context, args tenantRef) (*tenantR, error) {
	return r.tenantOp(ctx, func() (tenants.Tenant, error) { return r.api.svc.Tenants.DeleteTenant(ctx, args.Ref) })
}

// RestoreTenant undoes a soft deletion.
func (r *Resolver) RestoreTenant(ctx context.Context, args tenantRef) (*tenantR, error) {
	return r.tenantOp(ctx, func() (tenants.Tenant, error) { return r.api.svc.Tenants.RestoreTenant(ctx, args.Ref) })
}
