package platformapi

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/latticecrm/lattice/tenants"
)

// Members need platform:users manage to change (read or manage to list);
// making, unmaking or removing a tenant admin also needs the caller to be
// a tenant admin, since admins always act as the admin role. API tokens:
// every member manages their own; other tokens (an integration's, or
// another user's) need platform:tokens manage, and an admin integration
// token a tenant admin.

type memberR struct {
	m     tenants.Member
	roles []string
}

func (x memberR) ID() graphql.ID         { return graphql.ID(x.m.ID) }
func (x memberR) Email() string          { return x.m.Email }
func (x memberR) Name() string           { return x.m.Name }
func (x memberR) Role() string           { return x.m.Role }
func (x memberR) JoinedAt() graphql.Time { return gqlTime(x.m.JoinedAt) }
func (x memberR) Roles() []string        { return nonNil(x.roles) }

// rolesByUser maps user ids to the roles assigned to them directly.
func (r *Resolver) rolesByUser(ctx context.Context, tenantID string) (map[string][]string, error) {
	rs, err := r.api.svc.Permissions.Roles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, role := range rs {
		for _, m := range role.Members {
			if id, ok := strings.CutPrefix(m, "user:"); ok {
				out[id] = append(out[id], role.Name)
			}
		}
	}
	return out, nil
}

// Members lists the tenant's members.
func (r *Resolver) Members(ctx context.Context) ([]memberR, error) {
	c, err := r.requireRead(ctx, "users")
	if err != nil {
		return nil, err
	}
	tid := c.principal.TenantID
	ms, err := r.api.svc.Tenants.ListMembers(ctx, tid)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	roles, err := r.rolesByUser(ctx, tid)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]memberR, len(ms))
	for i, m := range ms {
		out[i] = memberR{m: m, roles: roles[m.ID]}
	}
	return out, nil
}

func adminRequired(what string) *Error {
	e := newError(CodeForbidden, "admin_required", "forbidden: only tenant admins "+what)
	e.ext["permission"] = "tenant admin"
	return e
}

func checkMembershipRole(role, pointer string) error {
	if role != tenants.RoleAdmin && role != tenants.RoleMember {
		return badInput(pointer, "invalid_role", "role must be %q or %q, got %q", tenants.RoleAdmin, tenants.RoleMember, role)
	}
	return nil
}

type createdUserR struct {
	m        memberR
	password string
}

func (x createdUserR) Member() memberR   { return x.m }
func (x createdUserR) Password() *string { return strPtr(x.password) }

// CreateUser creates a user and makes them a member.
func (r *Resolver) CreateUser(ctx context.Context, args struct {
	Input struct {
		Email    string
		Name     string
		Password *string
		Role     string
	}
}) (*createdUserR, error) {
	c, err := r.require(ctx, "users", "manage")
	if err != nil {
		return nil, err
	}
	in := args.Input
	// The role is checked first, so a bad one creates nothing.
	if err := checkMembershipRole(in.Role, "/input/role"); err != nil {
		return nil, err
	}
	if in.Role == tenants.RoleAdmin && !c.isAdmin() {
		return nil, adminRequired("make tenant admins")
	}
	pw, generated := "", ""
	if in.Password != nil {
		pw = *in.Password
	} else {
		pw = rand.Text() // 26 base32 characters, 130 bits, as the CLI generates
		generated = pw
	}
	u, err := r.api.svc.Tenants.CreateUser(ctx, in.Email, in.Name, pw)
	if err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	m, err := r.api.svc.Tenants.AddMember(ctx, c.principal.TenantID, u.ID, in.Role)
	if err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	return &createdUserR{m: memberR{m: m}, password: generated}, nil
}

// membership returns the membership of user (e-mail or id), if any, and every member.
func (r *Resolver) membership(ctx context.Context, tenantID, user string) (*tenants.Member, []tenants.Member, error) {
	u, err := r.api.svc.Tenants.User(ctx, user)
	if err != nil {
		return nil, nil, r.fail(ctx, err, at("/user"))
	}
	ms, err := r.api.svc.Tenants.ListMembers(ctx, tenantID)
	if err != nil {
		return nil, nil, r.fail(ctx, err, where{})
	}
	for i := range ms {
		if ms[i].ID == u.ID {
			return &ms[i], ms, nil
		}
	}
	return nil, ms, nil
}

// lastAdmin reports whether m is the tenant's only admin member.
func lastAdmin(m *tenants.Member, all []tenants.Member) bool {
	if m == nil || m.Role != tenants.RoleAdmin {
		return false
	}
	for _, o := range all {
		if o.ID != m.ID && o.Role == tenants.RoleAdmin {
			return false
		}
	}
	return true
}

// AddMember makes a user a member, or changes a member's role.
func (r *Resolver) AddMember(ctx context.Context, args struct{ User, Role string }) (*memberR, error) {
	c, err := r.require(ctx, "users", "manage")
	if err != nil {
		return nil, err
	}
	if err := checkMembershipRole(args.Role, "/role"); err != nil {
		return nil, err
	}
	tid := c.principal.TenantID
	cur, all, err := r.membership(ctx, tid, args.User)
	if err != nil {
		return nil, err
	}
	if (args.Role == tenants.RoleAdmin || cur != nil && cur.Role == tenants.RoleAdmin) && !c.isAdmin() {
		return nil, adminRequired("make or unmake tenant admins")
	}
	if args.Role != tenants.RoleAdmin && lastAdmin(cur, all) {
		return nil, badInputKind(CodeConflict, "/role", "last_admin", "%s is the tenant's only admin", cur.Email)
	}
	m, err := r.api.svc.Tenants.AddMember(ctx, tid, args.User, args.Role)
	if err != nil {
		return nil, r.fail(ctx, err, where{rename: map[string]string{"role": "/role", "email": "/user"}})
	}
	roles, err := r.rolesByUser(ctx, tid)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	return &memberR{m: m, roles: roles[m.ID]}, nil
}

// RemoveMember removes a member with their tokens and sessions here.
func (r *Resolver) RemoveMember(ctx context.Context, args struct{ User string }) (bool, error) {
	c, err := r.require(ctx, "users", "manage")
	if err != nil {
		return false, err
	}
	tid := c.principal.TenantID
	cur, all, err := r.membership(ctx, tid, args.User)
	if err != nil {
		return false, err
	}
	if cur != nil && cur.Role == tenants.RoleAdmin && !c.isAdmin() {
		return false, adminRequired("remove tenant admins")
	}
	if lastAdmin(cur, all) {
		return false, badInputKind(CodeConflict, "/user", "last_admin", "%s is the tenant's only admin", cur.Email)
	}
	if err := r.api.svc.Tenants.RemoveMember(ctx, tid, args.User); err != nil {
		return false, r.fail(ctx, err, at("/user"))
	}
	return true, nil
}

type tokenR struct{ t tenants.Token }

func (x tokenR) ID() graphql.ID            { return graphql.ID(x.t.ID) }
func (x tokenR) Name() string              { return x.t.Name }
func (x tokenR) UserID() *graphql.ID       { return idPtr(x.t.UserID) }
func (x tokenR) UserEmail() *string        { return strPtr(x.t.UserEmail) }
func (x tokenR) Integration() *string      { return strPtr(x.t.Integration) }
func (x tokenR) Role() string              { return x.t.Role }
func (x tokenR) Hint() string              { return x.t.Hint }
func (x tokenR) CreatedAt() graphql.Time   { return gqlTime(x.t.CreatedAt) }
func (x tokenR) ExpiresAt() *graphql.Time  { return gqlTimePtr(x.t.ExpiresAt) }
func (x tokenR) LastUsedAt() *graphql.Time { return gqlTimePtr(x.t.LastUsedAt) }
func (x tokenR) RevokedAt() *graphql.Time  { return gqlTimePtr(x.t.RevokedAt) }

func idPtr(s string) *graphql.ID {
	if s == "" {
		return nil
	}
	id := graphql.ID(s)
	return &id
}

// own reports whether the caller owns t.
func (c *caller) own(t tenants.Token) bool {
	return c.principal.UserID != "" && t.UserID == c.principal.UserID
}

// Tokens lists all tokens (with platform:tokens read or manage) or the
// caller's own.
func (r *Resolver) Tokens(ctx context.Context) ([]tokenR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	all := true
	if _, err := r.requireRead(ctx, "tokens"); err != nil {
		if e, ok := err.(*Error); !ok || e.ext["code"] != CodeForbidden {
			return nil, err
		}
		all = false
	}
	ts, err := r.api.svc.Tenants.ListTokens(ctx, c.principal.TenantID)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := []tokenR{}
	for _, t := range ts {
		if all || c.own(t) {
			out = append(out, tokenR{t})
		}
	}
	return out, nil
}

type createdTokenR struct {
	secret string
	t      tenants.Token
}

func (x createdTokenR) Secret() string { return x.secret }
func (x createdTokenR) Token() tokenR  { return tokenR{x.t} }

// CreateToken creates the caller's own token or an integration's.
func (r *Resolver) CreateToken(ctx context.Context, args struct {
	Input struct {
		Name        string
		ExpiresIn   *string
		Integration *string
		Role        *string
	}
}) (*createdTokenR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	in := args.Input
	req := tenants.TokenRequest{Tenant: c.principal.TenantID, Name: in.Name}
	if in.ExpiresIn != nil && *in.ExpiresIn != "" {
		d, err := time.ParseDuration(*in.ExpiresIn)
		if err != nil {
			return nil, badInput("/input/expiresIn", "invalid_duration", "expiresIn %q is not a duration such as \"720h\"", *in.ExpiresIn)
		}
		req.TTL = d
	}
	if in.Role != nil {
		req.Role = *in.Role
	}
	if in.Integration != nil && *in.Integration != "" {
		if _, err := r.require(ctx, "tokens", "manage"); err != nil {
			return nil, err
		}
		if req.Role == tenants.RoleAdmin && !c.isAdmin() {
			return nil, adminRequired("create admin integration tokens")
		}
		req.Integration = *in.Integration
	} else {
		if c.principal.UserID == "" {
			return nil, badInput("/input/integration", "integration_required",
				"an integration's token creates tokens for an integration; name one")
		}
		req.User = c.principal.UserID
	}
	secret, t, err := r.api.svc.Tenants.CreateToken(ctx, req)
	if err != nil {
		return nil, r.fail(ctx, err, where{base: "/input", rename: map[string]string{"ttl": "/input/expiresIn", "user": "/input/integration"}})
	}
	return &createdTokenR{secret: secret, t: t}, nil
}

// RevokeToken revokes the caller's own token, or (with platform:tokens
// manage) any token of the tenant.
func (r *Resolver) RevokeToken(ctx context.Context, args struct{ ID graphql.ID }) (*tokenR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	tid := c.principal.TenantID
	t, err := r.api.svc.Tenants.GetToken(ctx, tid, string(args.ID))
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	if !c.own(t) {
		if _, err := r.require(ctx, "tokens", "manage"); err != nil {
			return nil, err
		}
	}
	t, err = r.api.svc.Tenants.RevokeToken(ctx, tid, string(args.ID))
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	return &tokenR{t}, nil
}
