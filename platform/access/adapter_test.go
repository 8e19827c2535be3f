package access_test

import (
	"context"
	"testing"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
)

// These follow the pattern of casbin's adapter tests: drive a real
// casbin.Enforcer with auto-save on the adapter, and after each step
// compare what is stored with what the enforcer holds.

func adapterEnforcer(t *testing.T, db *dbtest.DB, tenant string) (*casbin.Enforcer, *access.Adapter) {
	t.Helper()
	a, err := access.NewAdapter(db.App, tenant)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.NewModelFromString(access.Model)
	if err != nil {
		t.Fatal(err)
	}
	e, err := casbin.NewEnforcer(m, a)
	if err != nil {
		t.Fatal(err)
	}
	return e, a
}

// inStep checks that what is stored is what e holds.
func inStep(t *testing.T, db *dbtest.DB, tenant string, e *casbin.Enforcer, step string) {
	t.Helper()
	p, err := e.GetPolicy()
	if err != nil {
		t.Fatal(err)
	}
	g, err := e.GetGroupingPolicy()
	if err != nil {
		t.Fatal(err)
	}
	want := append(withType("p", p...), withType("g", g...)...)
	if got := storedRules(t, db, tenant); !equalRules(got, want) {
		t.Fatalf("%s: stored %q, enforcer holds %q", step, got, want)
	}
}

func TestAdapterRoundTrip(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	tenant := newTenant(t, db, "acme")
	e, _ := adapterEnforcer(t, db, tenant)
	if p, _ := e.GetPolicy(); len(p) != 0 {
		t.Fatalf("a new tenant has rules: %q", p)
	}
	step := func(name string, ok bool, err error) {
		t.Helper()
		if err != nil || !ok {
			t.Fatalf("%s = %v, %v", name, ok, err)
		}
		inStep(t, db, tenant, e, name)
	}
	ok, err := e.AddPolicy("role:rep", tenant, "record:Lead", "read", access.Allow)
	step("AddPolicy", ok, err)
	ok, err = e.AddPolicies([][]string{
		allow("role:rep", tenant, "record:Deal", "read"),
		allow("role:rep", tenant, "record:Deal", "update"),
		deny("role:rep", tenant, "field:Deal.margin", "read"),
		allow("role:mgr", tenant, "record:*", "*"),
	})
	step("AddPolicies", ok, err)
	ok, err = e.AddGroupingPolicies([][]string{member("user:ann", "role:rep", tenant), member("role:mgr", "role:rep", tenant)})
	step("AddGroupingPolicies", ok, err)
	ok, err = e.AddGroupingPolicy("user:bo", "role:mgr", tenant)
	step("AddGroupingPolicy", ok, err)
	ok, err = e.RemovePolicy("role:rep", tenant, "record:Lead", "read", access.Allow)
	step("RemovePolicy", ok, err)
	ok, err = e.RemovePolicies([][]string{allow("role:rep", tenant, "record:Deal", "update"), allow("role:mgr", tenant, "record:*", "*")})
	step("RemovePolicies", ok, err)
	ok, err = e.RemoveGroupingPolicy("user:bo", "role:mgr", tenant)
	step("RemoveGroupingPolicy", ok, err)
	want := [][]string{
		{"g", "role:mgr", "role:rep", tenant},
		{"g", "user:ann", "role:rep", tenant},
		{"p", "role:rep", tenant, "field:Deal.margin", "read", access.Deny},
		{"p", "role:rep", tenant, "record:Deal", "read", access.Allow},
	}
	if got := storedRules(t, db, tenant); !equalRules(got, want) {
		t.Fatalf("stored %q, want %q", got, want)
	}

	// A new enforcer on a new adapter loads exactly that.
	e2, a2 := adapterEnforcer(t, db, tenant)
	inStep(t, db, tenant, e2, "reload")
	if ok, _ := e2.Enforce("user:ann", tenant, "record:Deal", "read"); !ok {
		t.Error("the reloaded enforcer does not let user:ann read deals")
	}
	if a2.LoadedVersion() != storedVersion(t, db, tenant) || a2.LoadedVersion() == 0 {
		t.Errorf("LoadedVersion = %d, stored version %d", a2.LoadedVersion(), storedVersion(t, db, tenant))
	}

	// Filtered removal: an empty value matches anything.
	if _, err := e.AddPolicies([][]string{allow("role:x", tenant, "record:A", "read"), allow("role:x", tenant, "record:B", "read"), allow("role:y", tenant, "record:A", "read")}); err != nil {
		t.Fatal(err)
	}
	ok, err = e.RemoveFilteredPolicy(0, "role:x", "", "record:A")
	step("RemoveFilteredPolicy(0, role:x, , record:A)", ok, err)
	ok, err = e.RemoveFilteredPolicy(2, "record:A")
	step("RemoveFilteredPolicy(2, record:A)", ok, err)
	ok, err = e.RemoveFilteredGroupingPolicy(1, "role:rep")
	step("RemoveFilteredGroupingPolicy(1, role:rep)", ok, err)
	if g, _ := e.GetGroupingPolicy(); len(g) != 0 {
		t.Fatalf("groupings left: %q", g)
	}

	// SavePolicy replaces everything stored with the enforcer's rules.
	e.ClearPolicy()
	if err := e.GetModel().AddPolicies("p", "p", [][]string{allow("role:only", tenant, "record:*", "read")}); err != nil {
		t.Fatal(err)
	}
	if err := e.SavePolicy(); err != nil {
		t.Fatal(err)
	}
	if got, want := storedRules(t, db, tenant), withType("p", allow("role:only", tenant, "record:*", "read")); !equalRules(got, want) {
		t.Fatalf("after SavePolicy stored %q, want %q", got, want)
	}
	if err := e.LoadPolicy(); err != nil {
		t.Fatal(err)
	}
	inStep(t, db, tenant, e, "LoadPolicy after SavePolicy")
}

func TestAdapterRefusesRulesOfAnotherDomain(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	a := newTenant(t, db, "acme")
	b := newTenant(t, db, "globex")
	ea, ad := adapterEnforcer(t, db, a)
	if _, err := ea.AddPolicy("role:rep", a, "record:Lead", "read", access.Allow); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"AddPolicy":              ad.AddPolicy("p", "p", allow("role:rep", b, "record:Lead", "read")),
		"AddPolicies":            ad.AddPolicies("p", "p", [][]string{allow("role:rep", a, "record:X", "read"), allow("role:rep", b, "record:Lead", "read")}),
		"AddPolicy g":            ad.AddPolicy("g", "g", member("user:x", "role:rep", b)),
		"RemovePolicy":           ad.RemovePolicy("p", "p", allow("role:rep", b, "record:Lead", "read")),
		"RemoveFilteredPolicy":   ad.RemoveFilteredPolicy("p", "p", 1, b),
		"RemoveFilteredPolicy g": ad.RemoveFilteredPolicy("g", "g", 0, "", "", b),
		"wrong length":           ad.AddPolicy("p", "p", []string{"role:rep", a, "record:Lead", "read"}),
		"bad effect":             ad.AddPolicy("p", "p", []string{"role:rep", a, "record:Lead", "read", "maybe"}),
		"empty subject":          ad.AddPolicy("p", "p", allow("", a, "record:Lead", "read")),
		"unknown ptype":          ad.AddPolicy("p", "p2", allow("role:rep", a, "record:Lead", "read")),
		"section mismatch":       ad.AddPolicy("g", "p", allow("role:rep", a, "record:Lead", "read")),
	} {
		if !isInvalidRule(err) {
			t.Errorf("%s: err = %v, want ErrInvalidRule", name, err)
		}
	}
	// The enforcer refuses too, and keeps nothing in memory.
	if ok, err := ea.AddPolicy("role:rep", b, "record:Lead", "read", access.Allow); err == nil || ok {
		t.Errorf("enforcer AddPolicy for another domain = %v, %v; want an error", ok, err)
	}
	if has, _ := ea.HasPolicy("role:rep", b, "record:Lead", "read", access.Allow); has {
		t.Error("the refused rule is in the enforcer")
	}
	// SavePolicy with one foreign rule saves nothing.
	if err := ea.GetModel().AddPolicies("p", "p", [][]string{allow("role:rep", b, "record:Lead", "read")}); err != nil {
		t.Fatal(err)
	}
	if err := ea.SavePolicy(); !isInvalidRule(err) {
		t.Errorf("SavePolicy with a foreign rule: err = %v, want ErrInvalidRule", err)
	}
	if got, want := storedRules(t, db, a), withType("p", allow("role:rep", a, "record:Lead", "read")); !equalRules(got, want) {
		t.Fatalf("tenant A stores %q, want %q", got, want)
	}
	if got := storedRules(t, db, b); len(got) != 0 {
		t.Fatalf("tenant B stores %q", got)
	}
}

func TestAdapterTenantIsolation(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	a := newTenant(t, db, "acme")
	b := newTenant(t, db, "globex")
	ea, _ := adapterEnforcer(t, db, a)
	if _, err := ea.AddPolicy("role:rep", a, "record:Lead", "read", access.Allow); err != nil {
		t.Fatal(err)
	}
	if _, err := ea.AddGroupingPolicy("user:ann", "role:rep", a); err != nil {
		t.Fatal(err)
	}
	eb, _ := adapterEnforcer(t, db, b)
	if p, _ := eb.GetPolicy(); len(p) != 0 {
		t.Fatalf("tenant B's enforcer loaded %q", p)
	}
	if g, _ := eb.GetGroupingPolicy(); len(g) != 0 {
		t.Fatalf("tenant B's enforcer loaded %q", g)
	}
	// Removing by subject in B leaves A's rule of the same subject alone.
	if _, err := eb.AddPolicy("role:rep", b, "record:Lead", "read", access.Allow); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.RemoveFilteredPolicy(0, "role:rep"); err != nil {
		t.Fatal(err)
	}
	if got := storedRules(t, db, a); len(got) != 2 {
		t.Fatalf("tenant A's rules after B's removal: %q", got)
	}
	if got := storedRules(t, db, b); len(got) != 0 {
		t.Fatalf("tenant B's rules after its removal: %q", got)
	}

	// Below the adapter: row-level security hides A's rules from a
	// transaction scoped to B and refuses writing one for A there, and the
	// table refuses a rule whose domain is not its tenant, even from the
	// owner.
	err := database.InTenantTx(ctx, db.App, b, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM access_rules").Scan(&n); err != nil {
			return err
		}
		if n != 0 {
			t.Errorf("a transaction scoped to B sees %d rules", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = database.InTenantTx(ctx, db.App, b, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "INSERT INTO access_rules (tenant_id, ptype, v0, v1, v2, v3, v4) VALUES ($1, 'p', 'role:x', $2, 'record:*', '*', 'allow')", a, a)
		return err
	})
	if !database.IsCode(err, "42501") {
		t.Errorf("inserting a rule of A in B's transaction: err = %v, want a row-level security violation", err)
	}
	_, err = db.Owner.Exec(ctx, "INSERT INTO access_rules (tenant_id, ptype, v0, v1, v2, v3, v4) VALUES ($1, 'p', 'role:x', $2, 'record:*', '*', 'allow')", a, b)
	if !database.IsCode(err, "23514") {
		t.Errorf("storing a rule of A for domain B: err = %v, want a check violation", err)
	}
	var n int
	if err := db.App.QueryRow(ctx, "SELECT count(*) FROM access_rules").Scan(&n); err != nil || n != 0 {
		t.Errorf("with no tenant set the app sees %d rules (err %v), want 0", n, err)
	}
}

func TestAdapterWritesBumpVersionAndNotify(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	tenant := newTenant(t, db, "acme")
	conn, err := pgx.Connect(ctx, db.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+access.NotifyChannel); err != nil {
		t.Fatal(err)
	}
	a, err := access.NewAdapter(db.App, tenant)
	if err != nil {
		t.Fatal(err)
	}
	rule := allow("role:rep", tenant, "record:Lead", "read")
	if err := a.AddPolicy("p", "p", rule); err != nil {
		t.Fatal(err)
	}
	if v := storedVersion(t, db, tenant); v != 1 {
		t.Fatalf("version after one write = %d, want 1", v)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := conn.WaitForNotification(wctx)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	if n.Channel != access.NotifyChannel || n.Payload != tenant {
		t.Fatalf("notification %s %q, want %s %q", n.Channel, n.Payload, access.NotifyChannel, tenant)
	}
	// Writes that change nothing neither bump nor notify.
	if err := a.AddPolicy("p", "p", rule); err != nil {
		t.Fatal(err)
	}
	if err := a.RemovePolicy("p", "p", allow("role:none", tenant, "record:Lead", "read")); err != nil {
		t.Fatal(err)
	}
	if v := storedVersion(t, db, tenant); v != 1 {
		t.Fatalf("version after writes that changed nothing = %d, want 1", v)
	}
	if err := a.RemovePolicy("p", "p", rule); err != nil {
		t.Fatal(err)
	}
	if v := storedVersion(t, db, tenant); v != 2 {
		t.Fatalf("version after a removal = %d, want 2", v)
	}
	n, err = conn.WaitForNotification(wctx)
	if err != nil || n.Payload != tenant {
		t.Fatalf("second notification %v, %v; want one for the removal", n, err)
	}
	// Exactly two notifications: none was sent for the no-op writes.
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	if n, err := conn.WaitForNotification(short); err == nil {
		t.Fatalf("unexpected notification %q", n.Payload)
	}
}
