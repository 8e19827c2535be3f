package permissions

import (
	"regexp"
	"strings"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/model"
)

// The built-in roles every tenant starts with.
const (
	RoleAdmin    = "admin"
	RoleManager  = "manager"
	RoleSalesRep = "salesRep"
	RoleReadOnly = "readOnly"
)

// Record levels of a scope:<Object> grant, narrowest first.
const (
	LevelOwn  = "own"
	LevelTeam = "team"
	LevelAll  = "all"
)

// Effects of a grant.
const (
	Allow = "allow"
	Deny  = "deny"
)

// objectActions are the actions of each kind of permission object.
var objectActions = map[string][]string{
	"record":   {"read", "create", "update", "delete", "export"},
	"field":    {"read", "edit"},
	"scope":    {LevelOwn, LevelTeam, LevelAll},
	"platform": {"manage", "read"},
}

// platformAreas are what platform permissions cover.
var platformAreas = []string{"schema", "users", "roles", "plugins", "tokens", "audit"}

// Grant is one permission rule of a role.
type Grant struct {
	Role   string `json:"role"`
	Object string `json:"object"` // record:Lead, field:Lead.email, scope:*, platform:schema
	Action string `json:"action"` // read, edit, own, manage, ... or *
	Effect string `json:"effect"` // allow or deny
}

func (g Grant) rule(tenantID string) []string {
	return []string{roleSubject(g.Role), tenantID, g.Object, g.Action, g.Effect}
}

func grantOf(rule []string) Grant {
	return Grant{Role: strings.TrimPrefix(rule[0], "role:"), Object: rule[2], Action: rule[3], Effect: rule[4]}
}

var roleName = regexp.MustCompile(`^[a-z][A-Za-z0-9]{0,62}$`)

func roleSubject(name string) string { return "role:" + name }

// UserSubject is the casbin subject of a user.
func UserSubject(userID string) string { return "user:" + userID }

// IntegrationSubject is the casbin subject of an integration.
func IntegrationSubject(name string) string { return "integration:" + name }

func checkRoleName(name, field string) error {
	if !roleName.MatchString(name) {
		return apierror.Invalidf(field, "invalid_role", "role name %q must be camelCase letters and digits, starting with a lower-case letter", name)
	}
	return nil
}

// checkGrant validates a grant against the tenant's model: the object kind,
// the object and field names, the action and the effect, each reported
// with its path.
func checkGrant(m *model.Model, g Grant) error {
	if err := checkRoleName(g.Role, "/role"); err != nil {
		return err
	}
	if g.Effect != Allow && g.Effect != Deny {
		return apierror.Invalidf("/effect", "invalid_effect", "effect must be allow or deny, got %q", g.Effect)
	}
	kind, name, ok := strings.Cut(g.Object, ":")
	actions, known := objectActions[kind]
	if !ok || !known {
		return apierror.Invalidf("/object", "invalid_object", "object %q must be record:<Object>, field:<Object>.<field>, scope:<Object> or platform:<area> (* allowed)", g.Object)
	}
	if g.Action != "*" && !contains(actions, g.Action) {
		return apierror.Invalidf("/action", "invalid_action", "%s objects take the actions %s or *, not %q", kind, strings.Join(actions, ", "), g.Action)
	}
	switch kind {
	case "record", "scope":
		if name != "*" && m.Object(name) == nil {
			return apierror.Invalidf("/object", "unknown_object", "the schema has no object %q", name)
		}
	case "field":
		obj, field, ok := strings.Cut(name, ".")
		if name == "*" {
			break
		}
		if !ok {
			return apierror.Invalidf("/object", "invalid_object", "a field object is field:<Object>.<field> or field:<Object>.*, got %q", g.Object)
		}
		o := m.Object(obj)
		if o == nil {
			return apierror.Invalidf("/object", "unknown_object", "the schema has no object %q", obj)
		}
		if field != "*" && o.Field(field) == nil {
			return apierror.Invalidf("/object", "unknown_field", "%s has no field %q", obj, field)
		}
	case "platform":
		if name != "*" && !contains(platformAreas, name) {
			return apierror.Invalidf("/object", "unknown_area", "platform permissions cover %s or *, not %q", strings.Join(platformAreas, ", "), name)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// defaultGrants are the built-in roles' rules. The manager role inherits
// the sales rep's (defaultInherits), which makes sales reps the team a
// manager's "team" level covers.
func defaultGrants() []Grant {
	var gs []Grant
	add := func(role, obj, act string) {
		gs = append(gs, Grant{Role: role, Object: obj, Action: act, Effect: Allow})
	}
	add(RoleAdmin, "record:*", "*")
	add(RoleAdmin, "field:*", "*")
	add(RoleAdmin, "scope:*", LevelAll)
	add(RoleAdmin, "platform:*", "*")
	for _, act := range []string{"read", "create", "update", "delete", "export"} {
		add(RoleManager, "record:*", act)
	}
	add(RoleManager, "field:*", "*")
	add(RoleManager, "scope:*", LevelTeam)
	add(RoleManager, "platform:audit", "read")
	for _, act := range []string{"read", "create", "update"} {
		add(RoleSalesRep, "record:*", act)
	}
	add(RoleSalesRep, "field:*", "*")
	add(RoleSalesRep, "scope:*", LevelOwn)
	add(RoleReadOnly, "record:*", "read")
	add(RoleReadOnly, "field:*", "read")
	add(RoleReadOnly, "scope:*", LevelAll)
	return gs
}

// defaultInherits are the built-in role hierarchy: [role, inherited role].
var defaultInherits = [][2]string{{RoleManager, RoleSalesRep}}

// builtIn reports whether name is a built-in role, whose grants cannot be
// changed (so a tenant always has a working admin role).
func builtIn(name string) bool {
	switch name {
	case RoleAdmin, RoleManager, RoleSalesRep, RoleReadOnly:
		return true
	}
	return false
}

func errRole(name string) error {
	return apierror.New(apierror.NotFound, "role_not_found", "no role %q in this tenant", name)
}

func errf(kind apierror.Kind, code, format string, args ...any) error {
	return apierror.New(kind, code, format, args...)
}
