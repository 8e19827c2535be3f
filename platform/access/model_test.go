package access

import (
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// These tests run the embedded model in plain casbin, with no database, to
// pin down its semantics; service_test.go checks the same through the
// stored rules.

const dom = "11111111-1111-4111-8111-111111111111"

func memEnforcer(t *testing.T, policies, groupings [][]string) *casbin.Enforcer {
	t.Helper()
	m, err := model.NewModelFromString(Model)
	if err != nil {
		t.Fatalf("model does not load: %v", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		t.Fatal(err)
	}
	if len(policies) > 0 {
		if _, err := e.AddPolicies(policies); err != nil {
			t.Fatal(err)
		}
	}
	if len(groupings) > 0 {
		if _, err := e.AddGroupingPolicies(groupings); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

type request struct {
	sub, dom, obj, act string
	want               bool
}

func checkRequests(t *testing.T, e *casbin.Enforcer, reqs []request) {
	t.Helper()
	for _, r := range reqs {
		got, err := e.Enforce(r.sub, r.dom, r.obj, r.act)
		if err != nil {
			t.Fatalf("Enforce(%s, %s, %s, %s): %v", r.sub, r.dom, r.obj, r.act, err)
		}
		if got != r.want {
			t.Errorf("Enforce(%s, %s, %s, %s) = %v, want %v", r.sub, r.dom, r.obj, r.act, got, r.want)
		}
	}
}

func TestModelSemantics(t *testing.T) {
	const other = "22222222-2222-4222-8222-222222222222"
	e := memEnforcer(t,
		[][]string{
			{"role:reader", dom, "record:*", "read", Allow},
			{"role:editor", dom, "record:Lead", "update", Allow},
			{"role:admin", dom, "*", "*", Allow},
			{"role:reader", dom, "field:Lead.*", "read", Allow},
			{"role:reader", dom, "field:Lead.salary", "read", Deny},
			{"user:carol", dom, "record:Deal", "read", Deny},
			{"role:reader", other, "record:Secret", "read", Allow},
		},
		[][]string{
			{"role:editor", "role:reader", dom},
			{"user:alice", "role:editor", dom},
			{"user:bob", "role:reader", dom},
			{"user:carol", "role:editor", dom},
			{"user:root", "role:admin", dom},
			{"user:dave", "role:reader", other},
		})
	checkRequests(t, e, []request{
		// Direct and inherited roles; the subject's own rules.
		{"role:reader", dom, "record:Lead", "read", true},
		{"user:bob", dom, "record:Lead", "read", true},
		{"user:bob", dom, "record:Lead", "update", false},
		{"user:alice", dom, "record:Lead", "update", true},
		{"user:alice", dom, "record:Account", "read", true}, // editor inherits reader
		{"user:alice", dom, "record:Account", "update", false},
		// keyMatch: "*" matches the rest of the string, and only that.
		{"user:bob", dom, "record:", "read", true},
		{"user:bob", dom, "recordX", "read", false},
		{"user:bob", dom, "field:Lead.email", "read", true},
		{"user:bob", dom, "field:Account.email", "read", false},
		// Deny overrides allow, from the same role or another.
		{"user:bob", dom, "field:Lead.salary", "read", false},
		{"user:alice", dom, "field:Lead.salary", "read", false},
		{"user:carol", dom, "record:Deal", "read", false},
		{"user:carol", dom, "record:Lead", "read", true},
		// "*" action and object.
		{"user:root", dom, "anything", "delete", true},
		{"user:root", dom, "field:Lead.salary", "read", true},
		// Nothing matches: deny by default.
		{"user:nobody", dom, "record:Lead", "read", false},
		// Domains: a role in one domain gives nothing in another.
		{"user:dave", dom, "record:Lead", "read", false},
		{"user:dave", other, "record:Secret", "read", true},
		{"user:bob", other, "record:Secret", "read", false},
		{"user:dave", other, "record:Lead", "read", false},
	})
}

// A request whose action is "*" asks for that action, not for every one:
// only a rule's action is a wildcard.
func TestModelActionWildcardIsOnlyInRules(t *testing.T) {
	e := memEnforcer(t, [][]string{{"role:r", dom, "record:Lead", "read", Allow}}, nil)
	checkRequests(t, e, []request{
		{"role:r", dom, "record:Lead", "*", false},
		{"role:r", dom, "record:Lead", "read", true},
	})
}

func TestModelEffectIsCasbinsAllowAndDeny(t *testing.T) {
	// casbin recognises the effect expression (rather than evaluating it
	// generically), which is what makes EnforceEx name the deny rule.
	e := memEnforcer(t, [][]string{
		{"role:r", dom, "record:*", "read", Allow},
		{"role:r", dom, "record:Lead", "read", Deny},
	}, nil)
	ok, rule, err := e.EnforceEx("role:r", dom, "record:Lead", "read")
	if err != nil || ok {
		t.Fatalf("EnforceEx = %v, %v; want false", ok, err)
	}
	if len(rule) != 5 || rule[4] != Deny {
		t.Fatalf("EnforceEx named %q, want the deny rule", rule)
	}
	ok, rule, _ = e.EnforceEx("role:r", dom, "record:Deal", "read")
	if !ok || len(rule) != 5 || rule[2] != "record:*" {
		t.Fatalf("EnforceEx = %v, %q; want true and the record:* rule", ok, rule)
	}
}

func TestModelInheritanceDepth(t *testing.T) {
	// casbin follows role inheritance up to 10 levels; RolesOf mirrors it.
	var g [][]string
	for i := range 12 {
		g = append(g, []string{roleName(i), roleName(i + 1), dom})
	}
	e := memEnforcer(t, [][]string{
		{roleName(10), dom, "record:Ten", "read", Allow},
		{roleName(11), dom, "record:Eleven", "read", Allow},
	}, g)
	checkRequests(t, e, []request{
		{roleName(0), dom, "record:Ten", "read", true},
		{roleName(0), dom, "record:Eleven", "read", false},
	})
	edges := map[string][]string{}
	for _, r := range g {
		edges[r[0]] = append(edges[r[0]], r[1])
	}
	got := reach(edges, roleName(0))
	if len(got) != maxRoleDepth || contains(got, roleName(11)) || !contains(got, roleName(10)) {
		t.Fatalf("reach = %q, want role 10 and not role 11", got)
	}
}

func roleName(i int) string { return "role:r" + string(rune('a'+i)) }

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
