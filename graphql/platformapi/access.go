package platformapi

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/latticecrm/lattice/schema/permissions"
)

// Roles, grants, sharing rules and assignments need platform:roles manage
// to change, and read or manage to see. Every change passes the caller's
// subject as `by`, so the permissions service refuses an escalation
// (granting, assigning or sharing what the caller does not hold).

type roleR struct{ r *permissions.Role }

func (x roleR) Name() string       { return x.r.Name }
func (x roleR) BuiltIn() bool      { return x.r.BuiltIn }
func (x roleR) Inherits() []string { return nonNil(x.r.Inherits) }
func (x roleR) Members() []string  { return nonNil(x.r.Members) }

func (x roleR) Grants() []grantR {
	out := make([]grantR, len(x.r.Grants))
	for i, g := range x.r.Grants {
		out[i] = grantR{g}
	}
	return out
}

type grantR struct{ g permissions.Grant }

func (x grantR) Role() string   { return x.g.Role }
func (x grantR) Object() string { return x.g.Object }
func (x grantR) Action() string { return x.g.Action }
func (x grantR) Effect() string { return x.g.Effect }

type shareR struct{ s permissions.Share }

func (x shareR) Role() string    { return x.s.Role }
func (x shareR) Object() string  { return x.s.Object }
func (x shareR) Condition() JSON { return JSON(x.s.Condition) }

// Roles lists the roles.
func (r *Resolver) Roles(ctx context.Context) ([]roleR, error) {
	c, err := r.requireRead(ctx, "roles")
	if err != nil {
		return nil, err
	}
	return r.roles(ctx, c.principal.TenantID)
}

func (r *Resolver) roles(ctx context.Context, tenantID string) ([]roleR, error) {
	rs, err := r.api.svc.Permissions.Roles(ctx, tenantID)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]roleR, len(rs))
	for i, x := range rs {
		out[i] = roleR{x}
	}
	return out, nil
}

// Role returns one role, or null.
func (r *Resolver) Role(ctx context.Context, args struct{ Name string }) (*roleR, error) {
	c, err := r.requireRead(ctx, "roles")
	if err != nil {
		return nil, err
	}
	return r.role(ctx, c.principal.TenantID, args.Name)
}

func (r *Resolver) role(ctx context.Context, tenantID, name string) (*roleR, error) {
	rs, err := r.roles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, x := range rs {
		if x.r.Name == name {
			return &x, nil
		}
	}
	return nil, nil
}

// changedRole returns the role after a change (it must exist).
func (r *Resolver) changedRole(ctx context.Context, tenantID, name string) (*roleR, error) {
	x, err := r.role(ctx, tenantID, name)
	if err == nil && x == nil {
		err = r.fail(ctx, fmt.Errorf("role %s missing after a change", name), where{})
	}
	return x, err
}

// Shares lists the sharing rules.
func (r *Resolver) Shares(ctx context.Context) ([]shareR, error) {
	c, err := r.requireRead(ctx, "roles")
	if err != nil {
		return nil, err
	}
	return r.shares(ctx, c.principal.TenantID)
}

func (r *Resolver) shares(ctx context.Context, tenantID string) ([]shareR, error) {
	ss, err := r.api.svc.Permissions.Shares(ctx, tenantID)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]shareR, len(ss))
	for i, s := range ss {
		out[i] = shareR{s}
	}
	return out, nil
}

// roleManager returns the caller with platform:roles manage and their
// subject, which every change passes as `by`.
func (r *Resolver) roleManager(ctx context.Context) (*caller, string, error) {
	c, err := r.require(ctx, "roles", "manage")
	if err != nil {
		return nil, "", err
	}
	by, err := r.subjectOf(ctx, c)
	if err != nil {
		return nil, "", r.fail(ctx, err, where{})
	}
	return c, by, nil
}

// CreateRole creates a custom role.
func (r *Resolver) CreateRole(ctx context.Context, args struct {
	Name     string
	Inherits []string
}) (*roleR, error) {
	c, by, err := r.roleManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.api.svc.Permissions.CreateRole(ctx, c.principal.TenantID, by, args.Name, args.Inherits); err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	return r.changedRole(ctx, c.principal.TenantID, args.Name)
}

// DeleteRole deletes a custom role.
func (r *Resolver) DeleteRole(ctx context.Context, args struct{ Name string }) (bool, error) {
	c, _, err := r.roleManager(ctx)
	if err != nil {
		return false, err
	}
	if err := r.api.svc.Permissions.DeleteRole(ctx, c.principal.TenantID, args.Name); err != nil {
		return false, r.fail(ctx, err, where{rename: map[string]string{"role": "/name"}})
	}
	return true, nil
}

type grantInput struct {
	Role, Object, Action, Effect string
}

func (g grantInput) grant() permissions.Grant {
	return permissions.Grant{Role: g.Role, Object: g.Object, Action: g.Action, Effect: g.Effect}
}

// Grant adds a grant to a custom role.
func (r *Resolver) Grant(ctx context.Context, args struct{ Input grantInput }) (*roleR, error) {
	c, by, err := r.roleManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.api.svc.Permissions.Grant(ctx, c.principal.TenantID, by, args.Input.grant()); err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	return r.changedRole(ctx, c.principal.TenantID, args.Input.Role)
}

// Revoke removes a grant from a custom role.
func (r *Resolver) Revoke(ctx context.Context, args struct{ Input grantInput }) (*roleR, error) {
	c, by, err := r.roleManager(ctx)
	if err != nil {
		return nil, err
	}
	if err := r.api.svc.Permissions.Revoke(ctx, c.principal.TenantID, by, args.Input.grant()); err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	return r.changedRole(ctx, c.principal.TenantID, args.Input.Role)
}

type shareInput struct {
	Role, Object string
	Condition    JSON
}

func (s shareInput) share() permissions.Share {
	return permissions.Share{Role: s.Role, Object: s.Object, Condition: json.RawMessage(s.Condition)}
}

// AddShare adds a sharing rule.
func (r *Resolver) AddShare(ctx context.Context, args struct{ Input shareInput }) ([]shareR, error) {
	c, by, err := r.roleManager(ctx)
	if err != nil {
		return nil, err
	}
	if !json.Valid(args.Input.Condition) {
		return nil, badInput("/input/condition", "invalid_json", "the condition is not JSON")
	}
	if err := r.api.svc.Permissions.AddShare(ctx, c.principal.TenantID, by, args.Input.share()); err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	return r.shares(ctx, c.principal.TenantID)
}

// RemoveShare removes a sharing rule.
func (r *Resolver) RemoveShare(ctx context.Context, args struct{ Input shareInput }) ([]shareR, error) {
	c, by, err := r.roleManager(ctx)
	if err != nil {
		return nil, err
	}
	if !json.Valid(args.Input.Condition) {
		return nil, badInput("/input/condition", "invalid_json", "the condition is not JSON")
	}
	if err := r.api.svc.Permissions.RemoveShare(ctx, c.principal.TenantID, by, args.Input.share()); err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	return r.shares(ctx, c.principal.TenantID)
}

// subjectArg resolves a subject argument: user:<e-mail> becomes
// user:<id>; user:<id>, integration:<name> and (with roles) role:<name>
// stay as they are.
func (r *Resolver) subjectArg(ctx context.Context, subject, pointer string, roles bool) (string, error) {
	kind, name, ok := strings.Cut(subject, ":")
	switch {
	case ok && kind == "user" && name != "":
		u, err := r.api.svc.Tenants.User(ctx, name)
		if err != nil {
			return "", r.fail(ctx, err, at(pointer))
		}
		return permissions.UserSubject(u.ID), nil
	case ok && kind == "integration" && name != "", ok && kind == "role" && name != "" && roles:
		return subject, nil
	}
	want := "user:<id or e-mail> or integration:<name>"
	if roles {
		want = "role:<name>, " + want
	}
	return "", badInput(pointer, "invalid_subject", "a subject is %s, not %q", want, subject)
}

// AssignRole gives a user or integration a role.
func (r *Resolver) AssignRole(ctx context.Context, args struct{ Subject, Role string }) (*roleR, error) {
	return r.assign(ctx, args.Subject, args.Role, true)
}

// UnassignRole takes a role from a user or integration.
func (r *Resolver) UnassignRole(ctx context.Context, args struct{ Subject, Role string }) (*roleR, error) {
	return r.assign(ctx, args.Subject, args.Role, false)
}

func (r *Resolver) assign(ctx context.Context, subject, role string, add bool) (*roleR, error) {
	c, by, err := r.roleManager(ctx)
	if err != nil {
		return nil, err
	}
	sub, err := r.subjectArg(ctx, subject, "/subject", false)
	if err != nil {
		return nil, err
	}
	tid := c.principal.TenantID
	if add {
		err = r.api.svc.Permissions.Assign(ctx, tid, by, sub, role)
	} else {
		err = r.api.svc.Permissions.Unassign(ctx, tid, by, sub, role)
	}
	if err != nil {
		return nil, r.fail(ctx, err, where{rename: map[string]string{"role": "/role"}})
	}
	return r.changedRole(ctx, tid, role)
}

type decisionR struct {
	subject, object, action string
	d                       permissions.Decision
}

type policyRuleR struct{ rule []string }

func (x policyRuleR) part(i int) string {
	if i < len(x.rule) {
		return x.rule[i]
	}
	return ""
}
func (x policyRuleR) Subject() string { return x.part(0) }
func (x policyRuleR) Object() string  { return x.part(2) }
func (x policyRuleR) Action() string  { return x.part(3) }
func (x policyRuleR) Effect() string  { return x.part(4) }

func (x decisionR) Subject() string { return x.subject }
func (x decisionR) Object() string  { return x.object }
func (x decisionR) Action() string  { return x.action }
func (x decisionR) Allowed() bool   { return x.d.Allowed }

func (x decisionR) Rules() []policyRuleR {
	out := make([]policyRuleR, len(x.d.Rules))
	for i, rule := range x.d.Rules {
		out[i] = policyRuleR{rule}
	}
	return out
}

func (x decisionR) Explanation() string {
	verdict := "denied"
	if x.d.Allowed {
		verdict = "allowed"
	}
	if len(x.d.Rules) == 0 {
		return fmt.Sprintf("%s: no rule allows %s %s %s", verdict, x.subject, x.action, x.object)
	}
	p := policyRuleR{x.d.Rules[0]}
	return fmt.Sprintf("%s by the rule %s %s %s of %s", verdict, p.Effect(), p.Action(), p.Object(), p.Subject())
}

// Check decides and explains whether a subject may act on an object.
// Checking oneself needs no permission; anyone else, platform:roles read.
func (r *Resolver) Check(ctx context.Context, args struct {
	Subject *string
	Object  string
	Action  string
}) (*decisionR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	self, err := r.subjectOf(ctx, c)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	sub := self
	if args.Subject != nil {
		if sub, err = r.subjectArg(ctx, *args.Subject, "/subject", true); err != nil {
			return nil, err
		}
	}
	if sub != self {
		if _, err := r.requireRead(ctx, "roles"); err != nil {
			return nil, err
		}
	}
	d, err := r.api.svc.Permissions.Check(ctx, c.principal.TenantID, sub, args.Object, args.Action)
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	return &decisionR{subject: sub, object: args.Object, action: args.Action, d: d}, nil
}
