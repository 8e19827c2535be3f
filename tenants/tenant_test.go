package tenants_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/tenants"
)

func slugs(ts []tenants.Tenant) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Slug
	}
	return out
}

func TestCreateTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()

	before := time.Now()
	acme, err := e.svc.CreateTenant(ctx, "acme", "Acme Inc.")
	if err != nil {
		t.Fatal(err)
	}
	if acme.ID == "" || acme.Slug != "acme" || acme.Name != "Acme Inc." || acme.Status != tenants.StatusActive ||
		acme.SuspendedReason != "" || acme.DeletedAt != nil {
		t.Fatalf("created tenant = %+v", acme)
	}
	if !near(acme.CreatedAt, before, time.Minute) || !acme.UpdatedAt.Equal(acme.CreatedAt) {
		t.Errorf("created %s, updated %s; want both about now", acme.CreatedAt, acme.UpdatedAt)
	}

	t.Run("duplicate slug", func(t *testing.T) {
		n := e.count(t, "SELECT count(*) FROM tenants")
		_, err := e.svc.CreateTenant(ctx, "acme", "Another Acme")
		if ae := wantErr(t, err, apierror.Conflict, "slug_taken"); ae.Field != "slug" {
			t.Errorf("field %q, want slug", ae.Field)
		}
		if got := e.count(t, "SELECT count(*) FROM tenants"); got != n {
			t.Errorf("tenants: %d rows, want %d", got, n)
		}
		if got := e.count(t, "SELECT count(*) FROM tenants WHERE name = 'Another Acme'"); got != 0 {
			t.Errorf("the duplicate was stored")
		}
	})

	t.Run("invalid input", func(t *testing.T) {
		n := e.count(t, "SELECT count(*) FROM tenants")
		cases := []struct {
			name, slug, tname, field, code string
		}{
			{"bad slug", "Bad Slug", "Bad", "slug", "invalid_slug"},
			{"short slug", "ab", "Ab", "slug", "invalid_slug"},
			{"reserved slug", "admin", "Admin", "slug", "reserved_slug"},
			{"empty name", "empty-name", "", "name", "invalid_name"},
			{"blank name", "blank-name", " \t ", "name", "invalid_name"},
			{"long name", "long-name", strings.Repeat("n", 201), "name", "invalid_name"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := e.svc.CreateTenant(ctx, c.slug, c.tname)
				wantInvalid(t, err, c.field, c.code)
			})
		}
		if got := e.count(t, "SELECT count(*) FROM tenants"); got != n {
			t.Errorf("tenants: %d rows, want %d", got, n)
		}
	})

	t.Run("longest name", func(t *testing.T) {
		name := strings.Repeat("n", 200)
		tn, err := e.svc.CreateTenant(ctx, "long-ok", name)
		if err != nil || tn.Name != name {
			t.Fatalf("CreateTenant(200-byte name) = %+v, %v", tn, err)
		}
	})
}

func TestTenantLookup(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	acme := e.tenant(t, "acme")
	e.tenant(t, "globex")

	for _, ref := range []string{"acme", acme.ID, strings.ToUpper(acme.ID)} {
		got, err := e.svc.Tenant(ctx, ref)
		if err != nil {
			t.Fatalf("Tenant(%q): %v", ref, err)
		}
		if got.ID != acme.ID || got.Slug != "acme" || got.Name != acme.Name || !got.CreatedAt.Equal(acme.CreatedAt) {
			t.Errorf("Tenant(%q) = %+v, want %+v", ref, got, acme)
		}
	}
	for _, ref := range []string{"initech", "00000000-0000-0000-0000-000000000000", "not a slug", acme.ID[:35]} {
		_, err := e.svc.Tenant(ctx, ref)
		wantErr(t, err, apierror.NotFound, "tenant_not_found")
	}
	_, err := e.svc.Tenant(ctx, "")
	wantInvalid(t, err, "tenant", "tenant_required")

	list, err := e.svc.ListTenants(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(list); !slices.Equal(got, []string{"acme", "globex"}) {
		t.Errorf("ListTenants = %v, want [acme globex]", got)
	}
}

func TestRenameTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	acme := e.tenant(t, "acme")
	e.tenant(t, "globex")

	got, err := e.svc.RenameTenant(ctx, "acme", "Acme Corporation", "")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != acme.ID || got.Name != "Acme Corporation" || got.Slug != "acme" {
		t.Fatalf("rename name only = %+v", got)
	}
	if !got.UpdatedAt.After(acme.UpdatedAt) {
		t.Errorf("updated_at %s not after %s", got.UpdatedAt, acme.UpdatedAt)
	}

	got, err = e.svc.RenameTenant(ctx, acme.ID, "", "acme-corp")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != acme.ID || got.Name != "Acme Corporation" || got.Slug != "acme-corp" {
		t.Fatalf("rename slug only = %+v", got)
	}
	if _, err := e.svc.Tenant(ctx, "acme"); err == nil {
		t.Error("old slug still resolves")
	}
	if back, err := e.svc.Tenant(ctx, "acme-corp"); err != nil || back.ID != acme.ID {
		t.Errorf("Tenant(new slug) = %+v, %v", back, err)
	}

	t.Run("slug collision", func(t *testing.T) {
		_, err := e.svc.RenameTenant(ctx, "acme-corp", "", "globex")
		wantErr(t, err, apierror.Conflict, "slug_taken")
		if got := e.count(t, "SELECT count(*) FROM tenants WHERE id = $1 AND slug = 'acme-corp'", acme.ID); got != 1 {
			t.Error("slug changed despite the collision")
		}
	})
	t.Run("invalid slug", func(t *testing.T) {
		_, err := e.svc.RenameTenant(ctx, "acme-corp", "", "Acme")
		wantInvalid(t, err, "slug", "invalid_slug")
	})
	t.Run("invalid name", func(t *testing.T) {
		_, err := e.svc.RenameTenant(ctx, "acme-corp", strings.Repeat("x", 201), "")
		wantInvalid(t, err, "name", "invalid_name")
	})
	t.Run("unknown tenant", func(t *testing.T) {
		_, err := e.svc.RenameTenant(ctx, "initech", "Initech", "")
		wantErr(t, err, apierror.NotFound, "tenant_not_found")
	})
}

func TestSuspendResumeTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	e.tenant(t, "acme")

	got, err := e.svc.SuspendTenant(ctx, "acme", "invoice 42 unpaid")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tenants.StatusSuspended || got.SuspendedReason != "invoice 42 unpaid" {
		t.Fatalf("suspended tenant = %+v", got)
	}
	if again, err := e.svc.Tenant(ctx, "acme"); err != nil || again.Status != tenants.StatusSuspended {
		t.Fatalf("Tenant after suspend = %+v, %v", again, err)
	}

	_, err = e.svc.SuspendTenant(ctx, "acme", strings.Repeat("r", 501))
	wantInvalid(t, err, "reason", "invalid_reason")
	_, err = e.svc.SuspendTenant(ctx, "initech", "")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")

	got, err = e.svc.ResumeTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tenants.StatusActive || got.SuspendedReason != "" {
		t.Fatalf("resumed tenant = %+v", got)
	}
	_, err = e.svc.ResumeTenant(ctx, "initech")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
}

func TestDeleteRestoreTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	acme := e.tenant(t, "acme")
	e.tenant(t, "globex")

	del, err := e.svc.DeleteTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if del.DeletedAt == nil || !near(*del.DeletedAt, time.Now(), time.Minute) {
		t.Fatalf("deleted tenant has DeletedAt %v", del.DeletedAt)
	}
	if e.count(t, "SELECT count(*) FROM tenants WHERE id = $1", acme.ID) != 1 {
		t.Fatal("soft delete removed the row")
	}

	list, err := e.svc.ListTenants(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(list); !slices.Equal(got, []string{"globex"}) {
		t.Errorf("ListTenants(false) = %v, want [globex]", got)
	}
	list, err = e.svc.ListTenants(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(list); !slices.Equal(got, []string{"acme", "globex"}) {
		t.Errorf("ListTenants(true) = %v, want [acme globex]", got)
	}

	// Tenant still finds it, flagged; operations on live tenants do not.
	if got, err := e.svc.Tenant(ctx, "acme"); err != nil || got.DeletedAt == nil {
		t.Errorf("Tenant(deleted) = %+v, %v; want it with DeletedAt", got, err)
	}
	_, err = e.svc.DeleteTenant(ctx, "acme")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
	_, err = e.svc.ListMembers(ctx, "acme")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
	_, err = e.svc.RenameTenant(ctx, "acme", "New", "")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
	_, err = e.svc.SuspendTenant(ctx, "acme", "x")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
	// A deleted tenant keeps its slug.
	_, err = e.svc.CreateTenant(ctx, "acme", "Acme Again")
	wantErr(t, err, apierror.Conflict, "slug_taken")

	res, err := e.svc.RestoreTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if res.DeletedAt != nil || res.ID != acme.ID {
		t.Fatalf("restored tenant = %+v", res)
	}
	list, err = e.svc.ListTenants(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(list); !slices.Equal(got, []string{"acme", "globex"}) {
		t.Errorf("ListTenants after restore = %v", got)
	}
	_, err = e.svc.RestoreTenant(ctx, "acme")
	wantErr(t, err, apierror.Conflict, "tenant_not_deleted")
	_, err = e.svc.RestoreTenant(ctx, "initech")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
}

func TestPurgeTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	acme := e.tenant(t, "acme")
	globex := e.tenant(t, "globex")
	u := e.user(t, "alice@example.com")
	for _, tn := range []string{"acme", "globex"} {
		e.member(t, tn, u.Email, tenants.RoleAdmin)
		e.token(t, tenants.TokenRequest{Tenant: tn, Name: "ci", User: u.Email})
		e.token(t, tenants.TokenRequest{Tenant: tn, Name: "erp", Integration: "erp"})
		e.login(t, tn, u.Email, testPassword)
	}
	owned := func(tenantID string) [3]int {
		return [3]int{
			e.count(t, "SELECT count(*) FROM tenant_members WHERE tenant_id = $1", tenantID),
			e.count(t, "SELECT count(*) FROM api_tokens WHERE tenant_id = $1", tenantID),
			e.count(t, "SELECT count(*) FROM sessions WHERE tenant_id = $1", tenantID),
		}
	}
	if got := owned(acme.ID); got != [3]int{1, 2, 1} {
		t.Fatalf("acme members/tokens/sessions = %v, want [1 2 1]", got)
	}

	err := e.svc.PurgeTenant(ctx, "acme")
	wantErr(t, err, apierror.Conflict, "tenant_not_deleted")
	if got := owned(acme.ID); got != [3]int{1, 2, 1} || e.count(t, "SELECT count(*) FROM tenants WHERE id = $1", acme.ID) != 1 {
		t.Fatalf("refused purge changed data: %v", got)
	}
	wantErr(t, e.svc.PurgeTenant(ctx, "initech"), apierror.NotFound, "tenant_not_found")

	if _, err := e.svc.DeleteTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.PurgeTenant(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "SELECT count(*) FROM tenants WHERE id = $1", acme.ID); n != 0 {
		t.Error("purged tenant row remains")
	}
	if got := owned(acme.ID); got != [3]int{} {
		t.Errorf("purged tenant's members/tokens/sessions = %v, want none", got)
	}
	if got := owned(globex.ID); got != [3]int{1, 2, 1} {
		t.Errorf("other tenant's members/tokens/sessions = %v, want [1 2 1]", got)
	}
	if n := e.count(t, "SELECT count(*) FROM users WHERE id = $1", u.ID); n != 1 {
		t.Error("purge removed the user, who is global")
	}
	_, err = e.svc.Tenant(ctx, "acme")
	wantErr(t, err, apierror.NotFound, "tenant_not_found")
	// The slug is free again.
	if _, err := e.svc.CreateTenant(ctx, "acme", "Acme Reborn"); err != nil {
		t.Errorf("reuse purged slug: %v", err)
	}
}

func TestPurgeDeletedTenants(t *testing.T) {
	t.Parallel()
	e := newEnv(t, tenants.Options{})
	ctx := t.Context()
	for _, s := range []string{"old-one", "old-two", "recent", "live"} {
		e.tenant(t, s)
	}
	for _, s := range []string{"old-one", "old-two", "recent"} {
		if _, err := e.svc.DeleteTenant(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	e.exec(t, "UPDATE tenants SET deleted_at = now() - interval '40 days' WHERE slug IN ('old-one', 'old-two')")

	purged, err := e.svc.PurgeDeletedTenants(ctx, time.Now().Add(-30*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(purged)
	if !slices.Equal(purged, []string{"old-one", "old-two"}) {
		t.Errorf("purged %v, want [old-one old-two]", purged)
	}
	list, err := e.svc.ListTenants(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if got := slugs(list); !slices.Equal(got, []string{"live", "recent"}) {
		t.Errorf("tenants after purge = %v, want [live recent]", got)
	}

	purged, err = e.svc.PurgeDeletedTenants(ctx, time.Now().Add(-30*24*time.Hour))
	if err != nil || len(purged) != 0 {
		t.Errorf("second purge = %v, %v; want nothing", purged, err)
	}
	purged, err = e.svc.PurgeDeletedTenants(ctx, time.Now().Add(time.Minute))
	if err != nil || !slices.Equal(purged, []string{"recent"}) {
		t.Errorf("purge up to now = %v, %v; want [recent]", purged, err)
	}
	if n := e.count(t, "SELECT count(*) FROM tenants"); n != 1 {
		t.Errorf("%d tenants left, want 1 (live)", n)
	}
}
