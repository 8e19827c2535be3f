package access_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
)

func TestEnforceModelThroughStoredRules(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	tenant := newTenant(t, db, "acme")
	s := access.New(db.App, access.Options{})
	mustChange(t, s, tenant, access.RuleChange{
		AddPolicies: [][]string{
			allow("role:readOnly", tenant, "record:*", "read"),
			allow("role:readOnly", tenant, "field:Lead.*", "read"),
			deny("role:readOnly", tenant, "field:Lead.salary", "read"),
			allow("role:salesRep", tenant, "record:Lead", "update"),
			allow("role:admin", tenant, "*", "*"),
			deny("user:eve", tenant, "record:Deal", "read"),
		},
		AddGroupings: [][]string{
			member("role:salesRep", "role:readOnly", tenant),
			member("role:manager", "role:salesRep", tenant),
			member("user:ann", "role:salesRep", tenant),
			member("user:max", "role:manager", tenant),
			member("user:eve", "role:readOnly", tenant),
			member("user:root", "role:admin", tenant),
		},
	})
	expectDecisions(t, s, tenant, []decision{
		// role inheritance, two levels deep
		{"user:ann", "record:Lead", "update", true},
		{"user:ann", "record:Account", "read", true},
		{"user:max", "record:Account", "read", true},
		{"user:max", "record:Lead", "update", true},
		{"user:max", "record:Lead", "delete", false},
		{"role:readOnly", "record:Lead", "update", false},
		// keyMatch wildcards
		{"user:eve", "field:Lead.email", "read", true},
		{"user:eve", "field:Account.email", "read", false},
		{"user:eve", "recordLead", "read", false},
		// deny overrides allow, inherited or the subject's own
		{"user:eve", "field:Lead.salary", "read", false},
		{"user:max", "field:Lead.salary", "read", false},
		{"user:eve", "record:Deal", "read", false},
		{"user:ann", "record:Deal", "read", true},
		// "*" object and action
		{"user:root", "plugin:erp", "manage", true},
		// no rule, no access
		{"user:nobody", "record:Lead", "read", false},
	})
	// Asking again answers the same from the decision cache.
	expectDecisions(t, s, tenant, []decision{
		{"user:eve", "field:Lead.salary", "read", false},
		{"user:ann", "record:Lead", "update", true},
	})
}

func TestChangeReachesEnforceAtOnce(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	tenant := newTenant(t, db, "acme")
	s := access.New(db.App, access.Options{})
	rule := allow("role:rep", tenant, "record:Lead", "read")
	grant := member("user:ann", "role:rep", tenant)
	expectDecisions(t, s, tenant, []decision{{"user:ann", "record:Lead", "read", false}})
	mustChange(t, s, tenant, access.RuleChange{AddPolicies: [][]string{rule}, AddGroupings: [][]string{grant}})
	expectDecisions(t, s, tenant, []decision{{"user:ann", "record:Lead", "read", true}})
	mustChange(t, s, tenant, access.RuleChange{RemoveGroupings: [][]string{grant}})
	expectDecisions(t, s, tenant, []decision{{"user:ann", "record:Lead", "read", false}, {"role:rep", "record:Lead", "read", true}})
	// Removal first, then addition: a rule both removed and added stays.
	mustChange(t, s, tenant, access.RuleChange{RemovePolicies: [][]string{rule}, AddPolicies: [][]string{rule}})
	expectDecisions(t, s, tenant, []decision{{"role:rep", "record:Lead", "read", true}})
	if got, want := storedRules(t, db, tenant), withType("p", rule); !equalRules(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	a := newTenant(t, db, "acme")
	b := newTenant(t, db, "globex")
	s := access.New(db.App, access.Options{})
	mustChange(t, s, a, access.RuleChange{
		AddPolicies:  [][]string{allow("role:rep", a, "record:*", "*")},
		AddGroupings: [][]string{member("user:ann", "role:rep", a)},
	})
	// B has the same names but none of A's rules.
	expectDecisions(t, s, b, []decision{
		{"role:rep", "record:Lead", "read", false},
		{"user:ann", "record:Lead", "read", false},
	})
	expectDecisions(t, s, a, []decision{{"user:ann", "record:Lead", "read", true}})
	for _, f := range []func(context.Context, string) ([][]string, error){s.Policies, s.Groupings} {
		if rules, err := f(t.Context(), b); err != nil || len(rules) != 0 {
			t.Fatalf("tenant B's rules: %q, %v", rules, err)
		}
	}
	if roles, err := s.RolesOf(t.Context(), b, "user:ann"); err != nil || len(roles) != 0 {
		t.Fatalf("RolesOf(B, user:ann) = %q, %v", roles, err)
	}

	// A rule whose domain is another tenant is refused, and nothing of the
	// change is stored: neither in B nor in A.
	for name, ch := range map[string]access.RuleChange{
		"policy for A in B": {
			AddPolicies: [][]string{allow("role:rep", b, "record:Lead", "read"), allow("role:rep", a, "record:Lead", "read")},
		},
		"grouping for A in B": {
			AddPolicies:  [][]string{allow("role:rep", b, "record:Lead", "read")},
			AddGroupings: [][]string{member("user:ann", "role:rep", a)},
		},
		"removal of A's rule in B": {
			RemovePolicies: [][]string{allow("role:rep", a, "record:*", "*")},
		},
	} {
		err := s.Change(t.Context(), b, ch, nil)
		if !isInvalidRule(err) {
			t.Errorf("%s: err = %v, want ErrInvalidRule", name, err)
		}
	}
	if got := storedRules(t, db, b); len(got) != 0 {
		t.Fatalf("tenant B stores %q", got)
	}
	if got := storedRules(t, db, a); len(got) != 2 {
		t.Fatalf("tenant A stores %q, want its 2 rules", got)
	}
	if v := storedVersion(t, db, b); v != 0 {
		t.Fatalf("tenant B's version is %d after refused changes, want 0", v)
	}
}

func TestInvalidRulesAreRefusedWithTheirPath(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	tenant := newTenant(t, db, "acme")
	s := access.New(db.App, access.Options{})
	long := make([]byte, access.MaxRuleBytes)
	for i := range long {
		long[i] = 'x'
	}
	for _, c := range []struct {
		ch   access.RuleChange
		path string
	}{
		{access.RuleChange{AddPolicies: [][]string{allow("role:a", tenant, "o", "read"), {"role:a", tenant, "o", "read"}}}, "AddPolicies[1]"},
		{access.RuleChange{AddPolicies: [][]string{{"role:a", tenant, "o", "read", "perhaps"}}}, "AddPolicies[0]"},
		{access.RuleChange{AddPolicies: [][]string{allow("role:a", tenant, "", "read")}}, "AddPolicies[0]"},
		{access.RuleChange{AddPolicies: [][]string{allow("role:a", tenant, string(long), "read")}}, "AddPolicies[0]"},
		{access.RuleChange{RemovePolicies: [][]string{allow("role:a", "", "o", "read")}}, "RemovePolicies[0]"},
		{access.RuleChange{AddGroupings: [][]string{member("user:a", "", tenant)}}, "AddGroupings[0]"},
		{access.RuleChange{RemoveGroupings: [][]string{{"user:a", "role:b"}}}, "RemoveGroupings[0]"},
	} {
		err := s.Change(t.Context(), tenant, c.ch, nil)
		if !isInvalidRule(err) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%+v: err = %v, want ErrInvalidRule at %s", c.ch, err, c.path)
		}
	}
	if got := storedRules(t, db, tenant); len(got) != 0 {
		t.Fatalf("stored %q after refused changes", got)
	}
	// Tenant ids: anything but a UUID is refused; other spellings of the
	// same UUID are the same tenant.
	if _, err := s.Enforce(t.Context(), "", "a", "b", "c"); !errors.Is(err, database.ErrNoTenant) {
		t.Errorf("empty tenant: err = %v, want ErrNoTenant", err)
	}
	if _, err := s.Enforce(t.Context(), "acme", "a", "b", "c"); err == nil {
		t.Error("a slug as tenant id was accepted")
	}
	mustChange(t, s, tenant, access.RuleChange{AddPolicies: [][]string{allow("role:a", tenant, "o", "read")}})
	upper := []byte(tenant)
	for i, c := range upper {
		if c >= 'a' && c <= 'f' {
			upper[i] = c - 'a' + 'A'
		}
	}
	expectDecisions(t, s, string(upper), []decision{{"role:a", "o", "read", true}})
}

func TestChangeIsAtomicAndCheckCanVeto(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	tenant := newTenant(t, db, "acme")
	s := access.New(db.App, access.Options{})
	keep := allow("role:admin", tenant, "*", "*")
	admin := member("user:root", "role:admin", tenant)
	mustChange(t, s, tenant, access.RuleChange{AddPolicies: [][]string{keep}, AddGroupings: [][]string{admin}})
	before := storedRules(t, db, tenant)
	version, err := s.Version(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+access.NotifyChannel); err != nil {
		t.Fatal(err)
	}

	// The check sees the changed rules, and its veto undoes all of them.
	veto := errors.New("no: that would leave the tenant without an admin")
	var sawRemoval, sawAddition bool
	err = s.Change(ctx, tenant, access.RuleChange{
		AddPolicies:     [][]string{allow("role:rep", tenant, "record:Lead", "read")},
		AddGroupings:    [][]string{member("user:ann", "role:rep", tenant)},
		RemoveGroupings: [][]string{admin},
	}, func(e casbin.IEnforcer) error {
		root, err := e.Enforce("user:root", tenant, "anything", "delete")
		if err != nil {
			return err
		}
		ann, err := e.Enforce("user:ann", tenant, "record:Lead", "read")
		if err != nil {
			return err
		}
		sawRemoval, sawAddition = !root, ann
		return veto
	})
	if err != veto {
		t.Fatalf("Change returned %v, want the check's error as it is", err)
	}
	if !sawRemoval || !sawAddition {
		t.Fatalf("the check's enforcer did not hold the changed rules (removal seen %v, addition seen %v)", sawRemoval, sawAddition)
	}
	if got := storedRules(t, db, tenant); !equalRules(got, before) {
		t.Fatalf("after a veto stored %q, want %q", got, before)
	}
	if v := storedVersion(t, db, tenant); v != version {
		t.Fatalf("a vetoed change moved the version from %d to %d", version, v)
	}
	expectDecisions(t, s, tenant, []decision{{"user:root", "record:Lead", "delete", true}, {"user:ann", "record:Lead", "read", false}})
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if n, err := conn.WaitForNotification(short); err == nil {
		t.Fatalf("a vetoed change notified %q", n.Payload)
	}

	// The same change with a check that agrees commits all of it.
	err = s.Change(ctx, tenant, access.RuleChange{
		AddPolicies:  [][]string{allow("role:rep", tenant, "record:Lead", "read")},
		AddGroupings: [][]string{member("user:ann", "role:rep", tenant)},
	}, func(casbin.IEnforcer) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if got := storedRules(t, db, tenant); len(got) != 4 {
		t.Fatalf("stored %q, want 4 rules", got)
	}
	expectDecisions(t, s, tenant, []decision{{"user:ann", "record:Lead", "read", true}})

	// Changing the check's enforcer changes nothing stored.
	err = s.Change(ctx, tenant, access.RuleChange{AddPolicies: [][]string{allow("role:x", tenant, "o", "read")}}, func(e casbin.IEnforcer) error {
		_, _ = e.AddPolicy("role:sneaky", tenant, "*", "*", access.Allow)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range storedRules(t, db, tenant) {
		if r[1] == "role:sneaky" {
			t.Fatalf("a rule the check added to its enforcer was stored: %q", r)
		}
	}
}

// Changes of one tenant run one at a time, so a check sees every change
// committed before it: two admins removed at once by two changes whose
// checks each require an admin to remain cannot both succeed.
func TestChecksSeeConcurrentChanges(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	tenant := newTenant(t, db, "acme")
	s := access.New(db.App, access.Options{})
	mustChange(t, s, tenant, access.RuleChange{
		AddPolicies:  [][]string{allow("role:admin", tenant, "*", "*")},
		AddGroupings: [][]string{member("user:a", "role:admin", tenant), member("user:b", "role:admin", tenant)},
	})
	errLast := errors.New("the last admin stays")
	inside := make(chan struct{})
	keepsAdmin := func(first bool) func(casbin.IEnforcer) error {
		return func(e casbin.IEnforcer) error {
			admins, err := e.GetFilteredGroupingPolicy(1, "role:admin")
			if err != nil {
				return err
			}
			if first {
				close(inside)
				time.Sleep(300 * time.Millisecond) // the other change starts meanwhile
			}
			if len(admins) == 0 {
				return errLast
			}
			return nil
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		errs[0] = s.Change(ctx, tenant, access.RuleChange{RemoveGroupings: [][]string{member("user:a", "role:admin", tenant)}}, keepsAdmin(true))
	}()
	go func() {
		defer wg.Done()
		<-inside
		errs[1] = s.Change(ctx, tenant, access.RuleChange{RemoveGroupings: [][]string{member("user:b", "role:admin", tenant)}}, keepsAdmin(false))
	}()
	wg.Wait()
	if errs[0] != nil || errs[1] != errLast {
		t.Fatalf("Change errors %v, %v; want nil, then the second vetoed", errs[0], errs[1])
	}
	subjects, err := s.SubjectsOf(ctx, tenant, "role:admin")
	if err != nil || !slices.Equal(subjects, []string{"user:b"}) {
		t.Fatalf("admins = %q, %v; want user:b", subjects, err)
	}
}

func TestExplainNamesTheRule(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	tenant := newTenant(t, db, "acme")
	s := access.New(db.App, access.Options{})
	readLeads := allow("role:salesRep", tenant, "record:Lead", "read")
	noSalary := deny("role:salesRep", tenant, "field:Lead.salary", "*")
	mustChange(t, s, tenant, access.RuleChange{
		AddPolicies:  [][]string{readLeads, allow("role:salesRep", tenant, "field:Lead.*", "read"), noSalary},
		AddGroupings: [][]string{member("user:ann", "role:salesRep", tenant)},
	})
	for _, c := range []struct {
		obj, act string
		want     bool
		rules    [][]string
	}{
		{"record:Lead", "read", true, [][]string{readLeads}},
		{"field:Lead.salary", "read", false, [][]string{noSalary}},
		{"record:Deal", "read", false, nil},
	} {
		ok, rules, err := s.Explain(t.Context(), tenant, "user:ann", c.obj, c.act)
		if err != nil {
			t.Fatal(err)
		}
		if ok != c.want || !slices.EqualFunc(rules, c.rules, slices.Equal) {
			t.Errorf("Explain(user:ann, %s, %s) = %v, %q; want %v, %q", c.obj, c.act, ok, rules, c.want, c.rules)
		}
	}
}

func TestRolesSubjectsAndRules(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	tenant := newTenant(t, db, "acme")
	s := access.New(db.App, access.Options{})
	policies := [][]string{
		allow("role:readOnly", tenant, "record:*", "read"),
		allow("role:salesRep", tenant, "record:Lead", "update"),
		allow("role:manager", tenant, "record:*", "export"),
		allow("role:admin", tenant, "*", "*"),
	}
	groupings := [][]string{
		member("role:salesRep", "role:readOnly", tenant),
		member("role:manager", "role:salesRep", tenant),
		member("user:ann", "role:salesRep", tenant),
		member("user:max", "role:manager", tenant),
		member("user:max", "role:auditor", tenant),
		member("user:root", "role:admin", tenant),
	}
	mustChange(t, s, tenant, access.RuleChange{AddPolicies: policies, AddGroupings: groupings})
	got, err := s.Policies(ctx, tenant)
	if err != nil || !equalRules(got, policies) {
		t.Fatalf("Policies = %q, %v; want %q", got, err, policies)
	}
	got[0][0] = "changed by the caller"
	if again, _ := s.Policies(ctx, tenant); !equalRules(again, policies) {
		t.Fatal("changing Policies' result changed the cache")
	}
	if got, err := s.Groupings(ctx, tenant); err != nil || !equalRules(got, groupings) {
		t.Fatalf("Groupings = %q, %v; want %q", got, err, groupings)
	}
	for _, c := range []struct {
		f    func(context.Context, string, string) ([]string, error)
		name string
		arg  string
		want []string
	}{
		{s.RolesOf, "RolesOf", "user:max", []string{"role:auditor", "role:manager", "role:readOnly", "role:salesRep"}},
		{s.RolesOf, "RolesOf", "user:ann", []string{"role:readOnly", "role:salesRep"}},
		{s.RolesOf, "RolesOf", "role:readOnly", nil},
		{s.RolesOf, "RolesOf", "user:nobody", nil},
		{s.SubjectsOf, "SubjectsOf", "role:readOnly", []string{"role:manager", "role:salesRep", "user:ann", "user:max"}},
		{s.SubjectsOf, "SubjectsOf", "role:admin", []string{"user:root"}},
		{s.SubjectsOf, "SubjectsOf", "role:none", nil},
	} {
		got, err := c.f(ctx, tenant, c.arg)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s(%s) = %q, %v; want %q", c.name, c.arg, got, err, c.want)
		}
	}
	perms, err := s.PermissionsOf(ctx, tenant, "user:ann")
	if want := [][]string{policies[0], policies[1]}; err != nil || !equalRules(perms, want) {
		t.Errorf("PermissionsOf(user:ann) = %q, %v; want %q", perms, err, want)
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	tenant := newTenant(t, db, "acme")
	s := access.New(db.App, access.Options{})
	version := func() int64 {
		t.Helper()
		v, err := s.Version(ctx, tenant)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := version(); v != 0 {
		t.Fatalf("a new tenant's version is %d, want 0", v)
	}
	rule := allow("role:a", tenant, "o", "read")
	mustChange(t, s, tenant, access.RuleChange{AddPolicies: [][]string{rule}})
	if v := version(); v != 1 {
		t.Fatalf("version after one change = %d, want 1", v)
	}
	mustChange(t, s, tenant, access.RuleChange{AddPolicies: [][]string{rule}}) // already there
	mustChange(t, s, tenant, access.RuleChange{})
	if v := version(); v != 1 {
		t.Fatalf("version after changes that changed nothing = %d, want 1", v)
	}
	mustChange(t, s, tenant, access.RuleChange{RemovePolicies: [][]string{rule}})
	if v := version(); v != 2 {
		t.Fatalf("version after a removal = %d, want 2", v)
	}
	// The version is cached with the enforcer: a change behind the
	// service's back shows only once the tenant is invalidated.
	if _, err := db.Owner.Exec(ctx, "UPDATE access_versions SET version = 40 WHERE tenant_id = $1", tenant); err != nil {
		t.Fatal(err)
	}
	if v := version(); v != 2 {
		t.Fatalf("version = %d, want the cached 2", v)
	}
	s.Invalidate(tenant)
	if v := version(); v != 40 {
		t.Fatalf("version after Invalidate = %d, want 40", v)
	}
}

// Enforcers are kept for at most Options.Enforcers tenants: a tenant
// pushed out is loaded afresh.
func TestEnforcerCacheIsBounded(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	tenants := []string{newTenant(t, db, "t-one"), newTenant(t, db, "t-two"), newTenant(t, db, "t-three")}
	s := access.New(db.App, access.Options{Enforcers: 2})
	expectDecisions(t, s, tenants[0], []decision{{"role:a", "o", "read", false}})
	// Behind the service's back: it does not know, and keeps its answer.
	if _, err := db.Owner.Exec(ctx, "INSERT INTO access_rules (tenant_id, ptype, v0, v1, v2, v3, v4) VALUES ($1, 'p', 'role:a', $2, 'o', 'read', 'allow')", tenants[0], tenants[0]); err != nil {
		t.Fatal(err)
	}
	expectDecisions(t, s, tenants[0], []decision{{"role:a", "o", "read", false}})
	expectDecisions(t, s, tenants[1], []decision{{"role:a", "o", "read", false}})
	expectDecisions(t, s, tenants[2], []decision{{"role:a", "o", "read", false}})
	// Two others were used since: tenant one was evicted and is reloaded.
	expectDecisions(t, s, tenants[0], []decision{{"role:a", "o", "read", true}})
}

// Two servers: a change made on one applies on the other once its
// listener hears of it.
func TestChangeReachesOtherServers(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tenant := newTenant(t, db, "acme")
	pool2, err := database.Open(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool2.Close()
	one := access.New(db.App, access.Options{})
	two := access.New(pool2, access.Options{})
	listening := make(chan error, 1)
	go func() { listening <- two.Listen(ctx, db.AppURL) }()
	waitForListener(t, db)

	expectDecisions(t, two, tenant, []decision{{"user:ann", "record:Lead", "read", false}})
	// A rule stored behind both services' backs, without a notification,
	// does not reach server two: it answers from its cache.
	if _, err := db.Owner.Exec(ctx, "INSERT INTO access_rules (tenant_id, ptype, v0, v1, v2) VALUES ($1, 'g', 'user:ann', 'role:rep', $2)", tenant, tenant); err != nil {
		t.Fatal(err)
	}
	expectDecisions(t, two, tenant, []decision{{"user:ann", "record:Lead", "read", false}})

	mustChange(t, one, tenant, access.RuleChange{AddPolicies: [][]string{allow("role:rep", tenant, "record:Lead", "read")}})
	want, err := one.Version(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := two.Enforce(ctx, tenant, "user:ann", "record:Lead", "read")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server two did not apply server one's change within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got, err := two.Version(ctx, tenant); err != nil || got != want {
		t.Fatalf("server two's version = %d, %v; want server one's %d", got, err, want)
	}
	cancel()
	select {
	case err := <-listening:
		if err != nil {
			t.Fatalf("Listen returned %v after its context ended, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Listen did not return after its context ended")
	}
}

// waitForListener waits until a session of the test database is listening
// on the access channel (pgxlisten's LISTEN is its last statement).
func waitForListener(t *testing.T, db *dbtest.DB) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		err := db.Owner.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query ILIKE 'listen %' AND query ILIKE '%`+access.NotifyChannel+`%'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the listener did not start listening within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Decisions, reads and changes from many goroutines at once (run with
// -race): every answer is one of the two states, and the last state wins.
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	tenants := []string{newTenant(t, db, "t-one"), newTenant(t, db, "t-two")}
	s := access.New(db.App, access.Options{Decisions: 4})
	for _, tn := range tenants {
		mustChange(t, s, tn, access.RuleChange{AddPolicies: [][]string{allow("role:rep", tn, "record:*", "read")}})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var failures sync.Map
	for g := range 8 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				tn := tenants[(g+i)%2]
				obj := []string{"record:Lead", "record:Deal", "record:Account", "record:Contact", "record:Case"}[i%5]
				if ok, err := s.Enforce(ctx, tn, "role:rep", obj, "read"); err != nil || !ok {
					failures.Store("role:rep reads "+obj, err)
				}
				if _, err := s.Enforce(ctx, tn, "user:ann", obj, "read"); err != nil {
					failures.Store("user:ann", err)
				}
				if _, err := s.RolesOf(ctx, tn, "user:ann"); err != nil {
					failures.Store("RolesOf", err)
				}
				if _, _, err := s.Explain(ctx, tn, "user:ann", obj, "read"); err != nil {
					failures.Store("Explain", err)
				}
			}
		}()
	}
	grant := func(tn string) [][]string { return [][]string{member("user:ann", "role:rep", tn)} }
	for i := range 20 {
		for _, tn := range tenants {
			ch := access.RuleChange{AddGroupings: grant(tn)}
			if i%2 == 1 {
				ch = access.RuleChange{RemoveGroupings: grant(tn)}
			}
			mustChange(t, s, tn, ch)
		}
	}
	close(stop)
	readers.Wait()
	failures.Range(func(k, v any) bool {
		t.Errorf("%v: %v", k, v)
		return true
	})
	// The last change removed the grant.
	for _, tn := range tenants {
		expectDecisions(t, s, tn, []decision{{"user:ann", "record:Lead", "read", false}, {"role:rep", "record:Lead", "read", true}})
	}
}

func TestChangeTxJoinsTheCallersTransaction(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	a := newTenant(t, db, "acme")
	b := newTenant(t, db, "globex")
	s := access.New(db.App, access.Options{})
	rule := allow("role:rep", a, "record:Lead", "read")
	grant := member("user:ann", "role:rep", a)
	expectDecisions(t, s, a, []decision{{"user:ann", "record:Lead", "read", false}})

	// The caller rolls back: nothing of the change stays.
	failed := errors.New("the rest of the caller's work failed")
	err := database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		if err := s.ChangeTx(ctx, tx, a, access.RuleChange{AddPolicies: [][]string{rule}}, nil); err != nil {
			return err
		}
		return failed
	})
	if err != failed {
		t.Fatal(err)
	}
	if got := storedRules(t, db, a); len(got) != 0 {
		t.Fatalf("stored %q after the caller rolled back", got)
	}

	// A veto rolls back the change alone; the caller's transaction goes on
	// and commits the rest.
	veto := errors.New("vetoed")
	err = database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		if err := s.ChangeTx(ctx, tx, a, access.RuleChange{AddGroupings: [][]string{grant}}, func(casbin.IEnforcer) error { return veto }); err != veto {
			t.Errorf("ChangeTx = %v, want the veto", err)
		}
		return s.ChangeTx(ctx, tx, a, access.RuleChange{AddPolicies: [][]string{rule}}, func(e casbin.IEnforcer) error {
			if ok, _ := e.Enforce("role:rep", a, "record:Lead", "read"); !ok {
				return errors.New("the check does not see the change")
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := storedRules(t, db, a), withType("p", rule); !equalRules(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}
	if v := storedVersion(t, db, a); v != 1 {
		t.Fatalf("version = %d, want 1 (the vetoed change must not count)", v)
	}
	s.Invalidate(a)
	expectDecisions(t, s, a, []decision{{"role:rep", "record:Lead", "read", true}, {"user:ann", "record:Lead", "read", false}})

	// A transaction scoped to another tenant cannot change this one's rules.
	err = database.InTenantTx(ctx, db.App, b, func(tx pgx.Tx) error {
		return s.ChangeTx(ctx, tx, a, access.RuleChange{AddGroupings: [][]string{grant}}, nil)
	})
	if !database.IsCode(err, "42501") {
		t.Fatalf("ChangeTx in another tenant's transaction: err = %v, want a row-level security violation", err)
	}
	if got := storedRules(t, db, a); len(got) != 1 {
		t.Fatalf("stored %q", got)
	}
}
