package access_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/dbtest"
)

// benchRules is a realistic tenant: five roles (admin, manager, sales rep,
// read-only and a custom one) with object and field rules, field denies,
// a three-level hierarchy, and 50 users. 39 p rules, 54 g rules.
func benchRules(tenant string) access.RuleChange {
	var ch access.RuleChange
	p := func(sub, obj, act, eft string) {
		ch.AddPolicies = append(ch.AddPolicies, []string{sub, tenant, obj, act, eft})
	}
	p("role:admin", "*", "*", access.Allow)
	for _, act := range []string{"read", "create", "update", "delete", "export"} {
		p("role:manager", "record:*", act, access.Allow)
	}
	p("role:manager", "field:*", "*", access.Allow)
	for _, obj := range []string{"Lead", "Contact", "Account", "Deal"} {
		for _, act := range []string{"create", "update"} {
			p("role:salesRep", "record:"+obj, act, access.Allow)
		}
		p("role:salesRep", "field:"+obj+".*", "edit", access.Allow)
	}
	p("role:salesRep", "field:Lead.salary", "read", access.Deny)
	p("role:salesRep", "field:Deal.margin", "read", access.Deny)
	p("role:salesRep", "field:Lead.salary", "edit", access.Deny)
	p("role:salesRep", "field:Deal.margin", "edit", access.Deny)
	for _, obj := range []string{"Lead", "Contact", "Account", "Deal", "Case", "Campaign", "Product", "Quote"} {
		p("role:readOnly", "record:"+obj, "read", access.Allow)
		p("role:readOnly", "field:"+obj+".*", "read", access.Allow)
	}
	p("role:partnerDesk", "record:Partner", "read", access.Allow)
	p("role:partnerDesk", "record:Partner", "update", access.Allow)
	p("role:partnerDesk", "field:Partner.*", "*", access.Allow)
	g := func(m, r string) { ch.AddGroupings = append(ch.AddGroupings, []string{m, r, tenant}) }
	g("role:manager", "role:salesRep")
	g("role:salesRep", "role:readOnly")
	g("role:partnerDesk", "role:readOnly")
	roles := []string{"role:salesRep", "role:salesRep", "role:salesRep", "role:manager", "role:readOnly", "role:partnerDesk", "role:admin"}
	for i := range 50 {
		g(fmt.Sprintf("user:u%02d", i), roles[i%len(roles)])
	}
	g("user:u00", "role:partnerDesk")
	return ch
}

// benchRequests are the questions a sales rep's requests ask.
var benchRequests = [][3]string{
	{"user:u00", "record:Lead", "read"}, {"user:u00", "record:Lead", "update"},
	{"user:u00", "field:Lead.email", "read"}, {"user:u00", "field:Lead.salary", "read"},
	{"user:u00", "field:Lead.email", "edit"}, {"user:u00", "record:Deal", "delete"},
	{"user:u00", "field:Deal.margin", "read"}, {"user:u00", "record:Partner", "update"},
	{"user:u01", "record:Account", "read"}, {"user:u01", "field:Account.name", "read"},
	{"user:u03", "record:Quote", "export"}, {"user:u03", "field:Deal.margin", "read"},
	{"user:u04", "record:Lead", "update"}, {"user:u04", "field:Case.subject", "read"},
	{"user:u06", "plugin:erp", "manage"}, {"user:u49", "record:Lead", "read"},
}

func benchService(b *testing.B) (*access.Service, string) {
	b.Helper()
	db := dbtest.New(b)
	tenant := newTenant(b, db, "acme")
	s := access.New(db.App, access.Options{})
	mustChange(b, s, tenant, benchRules(tenant))
	return s, tenant
}

// BenchmarkEnforceWarm is a decision with the tenant's enforcer cached and
// the question asked before: the path of nearly every request.
func BenchmarkEnforceWarm(b *testing.B) {
	s, tenant := benchService(b)
	ctx := context.Background()
	for _, r := range benchRequests {
		if _, err := s.Enforce(ctx, tenant, r[0], r[1], r[2]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := benchRequests[i%len(benchRequests)]
		if _, err := s.Enforce(ctx, tenant, r[0], r[1], r[2]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnforceWarmParallel is the same from GOMAXPROCS goroutines.
func BenchmarkEnforceWarmParallel(b *testing.B) {
	s, tenant := benchService(b)
	ctx := context.Background()
	for _, r := range benchRequests {
		if _, err := s.Enforce(ctx, tenant, r[0], r[1], r[2]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			r := benchRequests[i%len(benchRequests)]
			if _, err := s.Enforce(ctx, tenant, r[0], r[1], r[2]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkExplain decides without the decision cache: what casbin itself
// costs on the cached enforcer (plus naming the rule).
func BenchmarkExplain(b *testing.B) {
	s, tenant := benchService(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := benchRequests[i%len(benchRequests)]
		if _, _, err := s.Explain(ctx, tenant, r[0], r[1], r[2]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEnforceCold loads the tenant's rules from PostgreSQL and builds
// its enforcer on every decision: the first request after a change.
func BenchmarkEnforceCold(b *testing.B) {
	s, tenant := benchService(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		s.Invalidate(tenant)
		r := benchRequests[i%len(benchRequests)]
		if _, err := s.Enforce(ctx, tenant, r[0], r[1], r[2]); err != nil {
			b.Fatal(err)
		}
	}
}

// memEnforcers builds in-memory enforcers of the same rules, for comparing
// with casbin's own decision cache.
func benchCasbin[E interface {
	Enforce(...any) (bool, error)
	AddPolicies([][]string) (bool, error)
	AddGroupingPolicies([][]string) (bool, error)
}](b *testing.B, e E) {
	const tenant = "11111111-1111-4111-8111-111111111111"
	ch := benchRules(tenant)
	if _, err := e.AddPolicies(ch.AddPolicies); err != nil {
		b.Fatal(err)
	}
	if _, err := e.AddGroupingPolicies(ch.AddGroupings); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := benchRequests[i%len(benchRequests)]
		if _, err := e.Enforce(r[0], tenant, r[1], r[2]); err != nil {
			b.Fatal(err)
		}
	}
}

func mustModel(b *testing.B) model.Model {
	m, err := model.NewModelFromString(access.Model)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkCasbinEnforce is casbin's plain Enforcer on the same rules.
func BenchmarkCasbinEnforce(b *testing.B) {
	e, err := casbin.NewEnforcer(mustModel(b))
	if err != nil {
		b.Fatal(err)
	}
	benchCasbin(b, e)
}

// BenchmarkCasbinSyncedCachedEnforcer is casbin's SyncedCachedEnforcer,
// the alternative to Service's own decision cache.
func BenchmarkCasbinSyncedCachedEnforcer(b *testing.B) {
	e, err := casbin.NewSyncedCachedEnforcer(mustModel(b))
	if err != nil {
		b.Fatal(err)
	}
	benchCasbin(b, e)
}

// BenchmarkTenantMemory reports the heap a cached tenant of benchRules
// costs (its enforcer, rule snapshot and 16 cached decisions), measured
// over 200 tenants.
func BenchmarkTenantMemory(b *testing.B) {
	db := dbtest.New(b)
	ctx := context.Background()
	const n = 200
	writer := access.New(db.App, access.Options{})
	tenants := make([]string, n)
	for i := range tenants {
		tenants[i] = newTenant(b, db, fmt.Sprintf("t-%03d", i))
		mustChange(b, writer, tenants[i], benchRules(tenants[i]))
	}
	b.ResetTimer()
	var perTenant float64
	for b.Loop() {
		s := access.New(db.App, access.Options{})
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, tn := range tenants {
			for _, r := range benchRequests {
				if _, err := s.Enforce(ctx, tn, r[0], r[1], r[2]); err != nil {
					b.Fatal(err)
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perTenant = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(s)
	}
	b.ReportMetric(perTenant, "heap-B/tenant")
}
