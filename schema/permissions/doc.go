// Package permissions is what Lattice's roles mean for a tenant's data: the
// default roles every tenant gets, custom roles and their grants checked
// against the tenant's model, role assignments, sharing rules, and the View
// of one caller — which objects, fields and records they may read and
// change — that the data API turns into its caller scope.
//
// Policies are casbin rules kept by platform/access (RBAC with domains: the
// domain is the tenant, roles inherit roles, a deny overrides an allow).
// This package names the objects and actions:
//
//	record:<Object>         read, create, update, delete, export
//	field:<Object>.<field>  read, edit
//	scope:<Object>          own, team, all (which records: the widest allowed wins)
//	platform:<area>         manage (schema, users, roles, plugins, tokens), read (audit)
//
// Objects may end in * (record:*, field:Lead.*). Subjects are role:<name>,
// user:<id> and integration:<name>.
//
//	v, err := perms.View(ctx, principal)        // cached per tenant, subject, rule and schema version
//	v.Can(o, "update"); v.CanField(o, f, "read")
//	v.Records(o, false)                           // the condition records must meet to be read
//
// docs/permissions.md describes the model and the rules for tenants.
package permissions
