package permissions_test

// Benchmarks of what every request pays for its permissions (issue 9,
// "Speed": a warm authorization decision costs under 5 µs). The data API's
// handler calls perms.View(ctx, principal) once per request; warm, that is
// the tenant's rules, decisions, model and the caller's view all cached,
// it must cost no more than a few decisions. Figures are in
// docs/permissions.md, section "Speed".

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/schema/templates"
	"github.com/latticecrm/lattice/tenants"
)

// benchPrincipals sets up a tenant with the CRM template, the built-in
// roles, a custom role with two hidden fields and a sharing rule, and 23
// members: a tenant admin, 20 sales reps (a manager's team), the manager
// and a holder of the custom role. It returns the service and one
// principal per kind of caller.
func benchPrincipals(b *testing.B) (*permissions.Service, map[string]tenants.Principal) {
	b.Helper()
	ctx := context.Background()
	db := dbtest.New(b)
	ts, err := tenants.New(db.App, tenants.Options{})
	if err != nil {
		b.Fatal(err)
	}
	cat, err := catalog.New(db.App, catalog.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	perms := permissions.New(access.New(db.App, access.Options{}), cat, ts, permissions.Options{})
	tenant, err := ts.CreateTenant(ctx, "acme", "Acme")
	if err != nil {
		b.Fatal(err)
	}
	bundle, err := cat.Validator().ParseBundle(templates.CRM())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := cat.Apply(ctx, tenant.ID, catalog.ApplyRequest{Bundle: bundle, Actor: "bench"}); err != nil {
		b.Fatal(err)
	}
	if err := perms.CreateRole(ctx, tenant.ID, "", "repLite", []string{permissions.RoleSalesRep}); err != nil {
		b.Fatal(err)
	}
	for _, g := range []permissions.Grant{
		{Role: "repLite", Object: "field:Lead.email", Action: "read", Effect: permissions.Deny},
		{Role: "repLite", Object: "field:Lead.phone", Action: "read", Effect: permissions.Deny},
	} {
		if err := perms.Grant(ctx, tenant.ID, "", g); err != nil {
			b.Fatal(err)
		}
	}
	if err := perms.AddShare(ctx, tenant.ID, "", permissions.Share{Role: "repLite", Object: "Account",
		Condition: json.RawMessage(`{"field":"billingCity","op":"eq","value":"Boston"}`)}); err != nil {
		b.Fatal(err)
	}
	member := func(name, membership string, roles ...string) tenants.Principal {
		u, err := ts.CreateUser(ctx, name+"@acme.example", name, "correct horse battery staple")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ts.AddMember(ctx, tenant.ID, u.ID, membership); err != nil {
			b.Fatal(err)
		}
		for _, r := range roles {
			if err := perms.Assign(ctx, tenant.ID, "", permissions.UserSubject(u.ID), r); err != nil {
				b.Fatal(err)
			}
		}
		return tenants.Principal{TenantID: tenant.ID, UserID: u.ID, Email: u.Email, Role: membership}
	}
	out := map[string]tenants.Principal{"admin": member("admin", tenants.RoleAdmin)}
	for i := range 20 {
		p := member(fmt.Sprintf("rep%02d", i), tenants.RoleMember, permissions.RoleSalesRep)
		if i == 0 {
			out["salesRep"] = p
		}
	}
	out["manager"] = member("manager", tenants.RoleMember, permissions.RoleManager)
	out["custom"] = member("custom", tenants.RoleMember, "repLite")
	return perms, out
}

// BenchmarkViewWarm is perms.View for a caller whose view is cached: what
// the data API's handler pays on every request before it plans anything.
// Kinds: a tenant admin, a sales rep (own records), a manager (a team of
// 21) and a custom role (two hidden fields, a sharing rule).
func BenchmarkViewWarm(b *testing.B) {
	perms, ps := benchPrincipals(b)
	for _, kind := range []string{"admin", "salesRep", "manager", "custom"} {
		p := ps[kind]
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			if _, err := perms.View(ctx, p); err != nil { // build it once
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := perms.View(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/op")
		})
	}
}

// BenchmarkViewWarmParallel is BenchmarkViewWarm from every core at once,
// callers of every kind mixed, as concurrent requests are.
func BenchmarkViewWarmParallel(b *testing.B) {
	perms, ps := benchPrincipals(b)
	ctx := context.Background()
	all := []tenants.Principal{ps["admin"], ps["salesRep"], ps["manager"], ps["custom"]}
	for _, p := range all {
		if _, err := perms.View(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := perms.View(ctx, all[i%len(all)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "µs/op")
}
