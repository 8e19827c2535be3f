// Package access keeps every tenant's access rules and decides with them,
// using casbin (github.com/casbin/casbin/v2). It knows nothing of the CRM:
// subjects, objects and actions are opaque strings to it; the permissions
// layer above gives them meaning ("user:<id>", "role:salesRep",
// "record:Lead", "field:Lead.email", "read").
//
// The model. Model (model.conf) is RBAC with domains, the domain being the
// tenant id. A policy rule [sub, dom, obj, act, eft] allows or denies; a
// grouping rule [member, role, dom] gives a subject a role, and roles
// inherit roles. A request is allowed when an allow rule matches and no
// deny rule does. Objects in rules may end in a "*" wildcard ("record:*",
// "field:Lead.*"), and a rule's action may be "*".
//
// Deciding. One Service per process; Listen keeps its cache in step with
// the changes other servers make:
//
//	svc := access.New(pool, access.Options{})
//	go svc.Listen(ctx, appURL)
//	ok, err := svc.Enforce(ctx, tenantID, "user:"+userID, "record:Lead", "read")
//
// Enforce answers from the tenant's cached enforcer and decision cache
// (about 0.1 µs warm); Explain also names the rule that decided.
//
// Changing. Change applies additions and removals in one transaction, all
// or nothing; a check function sees the changed rules before commit and
// can veto them:
//
//	err := svc.Change(ctx, tenantID, access.RuleChange{
//		AddPolicies:  [][]string{{"role:salesRep", tenantID, "record:Lead", "read", access.Allow}},
//		AddGroupings: [][]string{{"user:" + userID, "role:salesRep", tenantID}},
//	}, func(e casbin.IEnforcer) error {
//		return nil // or an error, which rolls the change back
//	})
//
// Every rule's domain must be the tenant's id (ErrInvalidRule otherwise).
// A change bumps the tenant's Version and is announced on NotifyChannel in
// its own transaction, so every server drops the tenant's cached enforcer
// when it commits. ChangeTx does the same inside a caller's transaction.
//
// Reading. Policies, Groupings, RolesOf, SubjectsOf and PermissionsOf read
// the cached rules. Adapter is the casbin adapter underneath (one per
// tenant, on the access_rules table), for tools that drive a
// casbin.Enforcer of their own.
//
// docs/permissions.md explains the model, the storage and the caches, with
// measured figures.
package access
