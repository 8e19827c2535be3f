package access

import (
	_ "embed"
	"fmt"

	"github.com/casbin/casbin/v2/model"
)

// Model is the casbin model every tenant's enforcer uses (model.conf):
// RBAC with domains, where the domain is the tenant id. A request is
// (sub, dom, obj, act); a policy rule ("p") is [sub, dom, obj, act, eft]
// with eft "allow" or "deny"; a grouping rule ("g") is [member, role, dom].
// A request is allowed when at least one allow rule matches and no deny
// rule does. A rule matches when its subject is the requester or one of the
// requester's roles in that domain (roles inherit roles, transitively), its
// domain is the request's, its object matches with keyMatch (a "*" matches
// the rest of the string: "record:*", "field:Lead.*") and its action is the
// request's or "*". docs/permissions.md explains it in full.
//
//go:embed model.conf
var Model string

// Effects a policy rule may have (its last field, eft).
const (
	Allow = "allow"
	Deny  = "deny"
)

// baseModel is Model parsed once; every enforcer gets a copy.
var baseModel = mustParseModel()

func mustParseModel() model.Model {
	m, err := model.NewModelFromString(Model)
	if err != nil {
		panic(fmt.Sprintf("access: embedded casbin model does not parse: %v", err))
	}
	return m
}

// newModel returns a fresh copy of the parsed model with no rules.
func newModel() model.Model {
	m := baseModel.Copy()
	m.ClearPolicy()
	return m
}
