package permissions

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/hashicorp/golang-lru/v2/expirable"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/tenants"
)

// Options configure a Service. Zero values take defaults.
type Options struct {
	// Views bounds how many callers' views are kept. Default 50,000.
	Views int
	// ViewTTL is how long a view is kept. Rule and schema changes are seen
	// at once (they are part of the key); the TTL bounds how long a new
	// member without roles takes to join a manager's team. Default 1 minute.
	ViewTTL time.Duration
	// DefaultMemberRole is the role of a member with no role assigned.
	// Default RoleSalesRep.
	DefaultMemberRole string
	Logger            *slog.Logger
}

// Service manages roles, grants and assignments, and builds callers' views.
// It is safe for concurrent use.
type Service struct {
	access  *access.Service
	catalog *catalog.Catalog
	tenants *tenants.Service
	opts    Options
	views   *expirable.LRU[viewKey, *View]
}

type viewKey struct {
	tenant, subject, user string
	rules                 int64
	schema                int
}

// New returns a Service.
func New(acc *access.Service, cat *catalog.Catalog, svc *tenants.Service, opts Options) *Service {
	if opts.Views <= 0 {
		opts.Views = 50000
	}
	if opts.ViewTTL <= 0 {
		opts.ViewTTL = time.Minute
	}
	if opts.DefaultMemberRole == "" {
		opts.DefaultMemberRole = RoleSalesRep
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Service{access: acc, catalog: cat, tenants: svc, opts: opts,
		views: expirable.NewLRU[viewKey, *View](opts.Views, nil, opts.ViewTTL)}
}

// Bootstrap gives a tenant without rules the built-in roles. It is
// idempotent: a tenant with any rule is left alone.
func (s *Service) Bootstrap(ctx context.Context, tenantID string) error {
	// Every change bumps the version, so a tenant at version 0 has no
	// rules; checking it first keeps the per-request path from copying
	// every rule of the tenant.
	if v, err := s.access.Version(ctx, tenantID); err != nil {
		return err
	} else if v > 0 {
		return nil
	}
	ps, err := s.access.Policies(ctx, tenantID)
	if err != nil {
		return err
	}
	gs, err := s.access.Groupings(ctx, tenantID)
	if err != nil {
		return err
	}
	if len(ps)+len(gs) > 0 {
		return nil
	}
	var ch access.RuleChange
	for _, g := range defaultGrants() {
		ch.AddPolicies = append(ch.AddPolicies, g.rule(tenantID))
	}
	for _, in := range defaultInherits {
		ch.AddGroupings = append(ch.AddGroupings, []string{roleSubject(in[0]), roleSubject(in[1]), tenantID})
	}
	if err := s.access.Change(ctx, tenantID, ch, nil); err != nil {
		return fmt.Errorf("bootstrap roles of tenant %s: %w", tenantID, err)
	}
	return nil
}

// Role is a role with its rules.
type Role struct {
	Name     string   `json:"name"`
	BuiltIn  bool     `json:"builtIn"`
	Inherits []string `json:"inherits"`
	Grants   []Grant  `json:"grants"`
	// Members are the users and integrations assigned the role directly.
	Members []string `json:"members"`
}

// existsObject marks a role that exists without any grant yet.
const existsObject = "meta:role"

// Roles lists the tenant's roles, by name.
func (s *Service) Roles(ctx context.Context, tenantID string) ([]*Role, error) {
	if err := s.Bootstrap(ctx, tenantID); err != nil {
		return nil, err
	}
	ps, err := s.access.Policies(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	gs, err := s.access.Groupings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	byName := map[string]*Role{}
	role := func(subject string) *Role {
		name, ok := strings.CutPrefix(subject, "role:")
		if !ok {
			return nil
		}
		r := byName[name]
		if r == nil {
			r = &Role{Name: name, BuiltIn: builtIn(name), Inherits: []string{}, Grants: []Grant{}, Members: []string{}}
			byName[name] = r
		}
		return r
	}
	for _, p := range ps {
		if r := role(p[0]); r != nil && p[2] != existsObject {
			r.Grants = append(r.Grants, grantOf(p))
		}
	}
	for _, g := range gs {
		target := role(g[1])
		if target == nil {
			continue
		}
		if from := role(g[0]); from != nil {
			from.Inherits = append(from.Inherits, target.Name)
		} else {
			target.Members = append(target.Members, g[0])
		}
	}
	out := make([]*Role, 0, len(byName))
	for _, r := range byName {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Service) role(ctx context.Context, tenantID, name string) (*Role, error) {
	rs, err := s.Roles(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.Name == name {
			return r, nil
		}
	}
	return nil, errRole(name)
}

// CreateRole creates a custom role that inherits the given roles' grants.
// by is the subject creating it ("" for an operator): they must hold every
// permission of the roles it inherits.
func (s *Service) CreateRole(ctx context.Context, tenantID, by, name string, inherits []string) error {
	if err := checkRoleName(name, "/name"); err != nil {
		return err
	}
	if _, err := s.role(ctx, tenantID, name); err == nil {
		return errf(apierror.Conflict, "role_exists", "role %q already exists", name)
	}
	ch := access.RuleChange{AddPolicies: [][]string{{roleSubject(name), tenantID, existsObject, "exists", Allow}}}
	for i, in := range inherits {
		if _, err := s.role(ctx, tenantID, in); err != nil {
			return apierror.Invalidf(fmt.Sprintf("/inherits/%d", i), "role_not_found", "no role %q to inherit", in)
		}
		if err := s.holdsRole(ctx, tenantID, by, in); err != nil {
			return err
		}
		ch.AddGroupings = append(ch.AddGroupings, []string{roleSubject(name), roleSubject(in), tenantID})
	}
	return s.access.Change(ctx, tenantID, ch, nil)
}

// DeleteRole deletes a custom role: its grants, its inheritance and its
// assignments. Built-in roles cannot be deleted.
func (s *Service) DeleteRole(ctx context.Context, tenantID, name string) error {
	r, err := s.role(ctx, tenantID, name)
	if err != nil {
		return err
	}
	if r.BuiltIn {
		return errf(apierror.Invalid, "built_in_role", "%s is a built-in role and cannot be deleted", name)
	}
	var ch access.RuleChange
	ps, err := s.access.Policies(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p[0] == roleSubject(name) {
			ch.RemovePolicies = append(ch.RemovePolicies, p)
		}
	}
	gs, err := s.access.Groupings(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if g[0] == roleSubject(name) || g[1] == roleSubject(name) {
			ch.RemoveGroupings = append(ch.RemoveGroupings, g)
		}
	}
	return s.access.Change(ctx, tenantID, ch, s.keepAdmin(ctx, tenantID))
}

// Grant adds a rule to a custom role. by must hold the permission itself.
func (s *Service) Grant(ctx context.Context, tenantID, by string, g Grant) error {
	if err := s.checkChange(ctx, tenantID, by, g); err != nil {
		return err
	}
	return s.access.Change(ctx, tenantID, access.RuleChange{AddPolicies: [][]string{g.rule(tenantID)}}, nil)
}

// Revoke removes a rule from a custom role. by must hold the permission.
func (s *Service) Revoke(ctx context.Context, tenantID, by string, g Grant) error {
	if err := s.checkChange(ctx, tenantID, by, g); err != nil {
		return err
	}
	r, _ := s.role(ctx, tenantID, g.Role)
	if !slices.Contains(r.Grants, g) {
		return errf(apierror.NotFound, "grant_not_found", "role %s has no grant %s %s %s", g.Role, g.Effect, g.Action, g.Object)
	}
	return s.access.Change(ctx, tenantID, access.RuleChange{RemovePolicies: [][]string{g.rule(tenantID)}}, nil)
}

// checkChange validates a grant, refuses changes to built-in roles, and
// refuses a granter who does not hold the permission.
func (s *Service) checkChange(ctx context.Context, tenantID, by string, g Grant) error {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return err
	}
	if err := checkGrant(m, g); err != nil {
		return err
	}
	r, err := s.role(ctx, tenantID, g.Role)
	if err != nil {
		return err
	}
	if r.BuiltIn {
		return errf(apierror.Invalid, "built_in_role", "%s is a built-in role: create a custom role to change grants", g.Role)
	}
	if by == "" {
		return nil
	}
	ok, err := s.holds(ctx, tenantID, by, g.Object, g.Action)
	if err != nil {
		return err
	}
	if !ok {
		return errf(apierror.Forbidden, "escalation", "%s does not hold %s on %s, so cannot grant or revoke it", by, g.Action, g.Object)
	}
	return nil
}

// holdsRole checks that by holds every allow grant of role (and what it
// inherits), so assigning or inheriting it is no escalation.
func (s *Service) holdsRole(ctx context.Context, tenantID, by, role string) error {
	if by == "" {
		return nil
	}
	roles, err := s.access.RolesOf(ctx, tenantID, roleSubject(role))
	if err != nil {
		return err
	}
	roles = append(roles, roleSubject(role))
	ps, err := s.access.Policies(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if !slices.Contains(roles, p[0]) || p[4] != Allow || p[2] == existsObject {
			continue
		}
		ok, err := s.holds(ctx, tenantID, by, p[2], p[3])
		if err != nil {
			return err
		}
		if !ok {
			return errf(apierror.Forbidden, "escalation", "role %s grants %s on %s, which %s does not hold", role, p[3], p[2], by)
		}
	}
	return nil
}

// Assign gives subject (user:<id> or integration:<name>) a role.
func (s *Service) Assign(ctx context.Context, tenantID, by, subject, role string) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	if _, err := s.role(ctx, tenantID, role); err != nil {
		return err
	}
	if err := s.holdsRole(ctx, tenantID, by, role); err != nil {
		return err
	}
	return s.access.Change(ctx, tenantID, access.RuleChange{AddGroupings: [][]string{{subject, roleSubject(role), tenantID}}}, nil)
}

// Unassign takes a role from subject; the tenant must keep an admin.
func (s *Service) Unassign(ctx context.Context, tenantID, by, subject, role string) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	if err := s.holdsRole(ctx, tenantID, by, role); err != nil {
		return err
	}
	return s.access.Change(ctx, tenantID, access.RuleChange{RemoveGroupings: [][]string{{subject, roleSubject(role), tenantID}}}, s.keepAdmin(ctx, tenantID))
}

func checkSubject(subject string) error {
	if strings.HasPrefix(subject, "user:") || strings.HasPrefix(subject, "integration:") {
		return nil
	}
	return apierror.Invalidf("/subject", "invalid_subject", "a role is assigned to user:<id> or integration:<name>, not %q", subject)
}

// keepAdmin vetoes a change after which the tenant has no admin: no admin
// member (tenant admins always act as the admin role) and no user assigned
// the admin role.
func (s *Service) keepAdmin(ctx context.Context, tenantID string) func(e casbin.IEnforcer) error {
	return func(e casbin.IEnforcer) error {
		if s.tenants != nil {
			ms, err := s.tenants.ListMembers(ctx, tenantID)
			if err != nil {
				return err
			}
			for _, m := range ms {
				if m.Role == tenants.RoleAdmin {
					return nil
				}
			}
		}
		gs, err := e.GetGroupingPolicy()
		if err != nil {
			return err
		}
		for u := range holders(gs, roleSubject(RoleAdmin)) {
			if strings.HasPrefix(u, "user:") {
				return nil
			}
		}
		return errf(apierror.Conflict, "last_admin", "the tenant would have no admin left")
	}
}

// Decision is the answer of Check.
type Decision struct {
	Allowed bool `json:"allowed"`
	// Rules are the rules that decided ([subject, tenant, object, action,
	// effect]); none when nothing allowed it (denied by default).
	Rules [][]string `json:"rules"`
}

// Check decides whether subject may act on object, and explains why.
func (s *Service) Check(ctx context.Context, tenantID, subject, object, action string) (Decision, error) {
	if err := s.Bootstrap(ctx, tenantID); err != nil {
		return Decision{}, err
	}
	ok, rules, err := s.access.Explain(ctx, tenantID, subject, object, action)
	if err != nil {
		return Decision{}, err
	}
	if rules == nil {
		rules = [][]string{}
	}
	return Decision{Allowed: ok, Rules: rules}, nil
}

// holders returns every subject that has role, directly or through the
// roles it inherits, from grouping rules [member, role, tenant].
func holders(gs [][]string, role string) map[string]bool {
	out := map[string]bool{}
	todo := []string{role}
	for len(todo) > 0 {
		r := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		for _, g := range gs {
			if g[1] == r && !out[g[0]] {
				out[g[0]] = true
				todo = append(todo, g[0])
			}
		}
	}
	return out
}

// holds reports whether by holds act on obj. A record level is held by
// holding it or a wider one: who reads all records may grant "own".
func (s *Service) holds(ctx context.Context, tenantID, by, obj, act string) (bool, error) {
	acts := []string{act}
	if strings.HasPrefix(obj, "scope:") {
		switch act {
		case LevelOwn:
			acts = []string{LevelOwn, LevelTeam, LevelAll}
		case LevelTeam:
			acts = []string{LevelTeam, LevelAll}
		}
	}
	for _, a := range acts {
		ok, err := s.access.Enforce(ctx, tenantID, by, obj, a)
		if err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}
