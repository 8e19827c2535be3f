package permissions_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/schema/templates"
	"github.com/latticecrm/lattice/tenants"
)

type env struct {
	tenants *tenants.Service
	cat     *catalog.Catalog
	perms   *permissions.Service
	tenant  tenants.Tenant
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := dbtest.New(t)
	ts, err := tenants.New(db.App, tenants.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.New(db.App, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{tenants: ts, cat: cat, perms: permissions.New(access.New(db.App, access.Options{}), cat, ts, permissions.Options{})}
	if e.tenant, err = ts.CreateTenant(t.Context(), "acme", "Acme"); err != nil {
		t.Fatal(err)
	}
	b, err := cat.Validator().ParseBundle(templates.CRM())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Apply(t.Context(), e.tenant.ID, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// member creates a user in the tenant with a membership role and casbin
// roles, and returns their principal.
func (e *env) member(t *testing.T, email, membership string, roles ...string) tenants.Principal {
	t.Helper()
	u, err := e.tenants.CreateUser(t.Context(), email, email, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.tenants.AddMember(t.Context(), e.tenant.ID, u.ID, membership); err != nil {
		t.Fatal(err)
	}
	for _, r := range roles {
		if err := e.perms.Assign(t.Context(), e.tenant.ID, "", permissions.UserSubject(u.ID), r); err != nil {
			t.Fatal(err)
		}
	}
	return tenants.Principal{TenantID: e.tenant.ID, UserID: u.ID, Email: email, Role: membership}
}

func (e *env) view(t *testing.T, p tenants.Principal) *permissions.View {
	t.Helper()
	v, err := e.perms.View(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func code(err error) string {
	if ae, ok := apierror.As(err); ok {
		return ae.Code
	}
	if err != nil {
		return "untyped: " + err.Error()
	}
	return ""
}

func TestBuiltInRoles(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	rs, err := e.perms.Roles(ctx, e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
		if !r.BuiltIn {
			t.Errorf("%s is not marked built-in", r.Name)
		}
	}
	if strings.Join(names, ",") != "admin,manager,readOnly,salesRep" {
		t.Fatalf("roles %v", names)
	}

	m, err := e.cat.Model(ctx, e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	lead, email := m.Object("Lead"), m.Object("Lead").Field("email")
	admin := e.member(t, "admin@acme.example", tenants.RoleAdmin)
	rep := e.member(t, "rep@acme.example", tenants.RoleMember, permissions.RoleSalesRep)
	ro := e.member(t, "ro@acme.example", tenants.RoleMember, permissions.RoleReadOnly)
	unassigned := e.member(t, "new@acme.example", tenants.RoleMember)

	for _, c := range []struct {
		who          tenants.Principal
		read, delete bool
		edit         bool
		records      string
	}{
		{admin, true, true, true, ""},
		{rep, true, false, true, `{"field":"owner","op":"eq","value":"` + rep.UserID + `"}`},
		{ro, true, false, false, ""},
		{unassigned, true, false, true, `{"field":"owner","op":"eq","value":"` + unassigned.UserID + `"}`}, // the default member role
	} {
		v := e.view(t, c.who)
		if v.Can(lead, "read") != c.read || v.Can(lead, "delete") != c.delete || v.CanField(lead, email, "edit") != c.edit {
			t.Errorf("%s: read %v delete %v edit %v", c.who.Email, v.Can(lead, "read"), v.Can(lead, "delete"), v.CanField(lead, email, "edit"))
		}
		if got := string(v.Records(lead)); got != c.records {
			t.Errorf("%s: records %s, want %s", c.who.Email, got, c.records)
		}
	}
	if e.view(t, rep).Key == e.view(t, ro).Key {
		t.Error("a sales rep and a read-only user share a schema key though one can edit and the other cannot")
	}
	if e.view(t, rep).Key != e.view(t, unassigned).Key {
		t.Error("two users with the same permissions should share a schema key")
	}
}

func TestCustomRoleHidesFieldsAndDenyWins(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.perms.CreateRole(ctx, e.tenant.ID, "", "intern", []string{permissions.RoleSalesRep}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []permissions.Grant{
		{Role: "intern", Object: "field:Lead.email", Action: "read", Effect: permissions.Deny},
		{Role: "intern", Object: "record:Deal", Action: "*", Effect: permissions.Deny},
	} {
		if err := e.perms.Grant(ctx, e.tenant.ID, "", g); err != nil {
			t.Fatal(err)
		}
	}
	in := e.member(t, "intern@acme.example", tenants.RoleMember, "intern")
	v := e.view(t, in)
	m, _ := e.cat.Model(ctx, e.tenant.ID)
	lead := m.Object("Lead")
	if v.CanField(lead, lead.Field("email"), "read") || v.CanField(lead, lead.Field("email"), "edit") {
		t.Error("the denied field is readable")
	}
	if !v.CanField(lead, lead.Field("company"), "read") {
		t.Error("an inherited field grant is lost")
	}
	if v.Can(m.Object("Deal"), "read") {
		t.Error("deny on record:Deal does not override the inherited allow")
	}
	d, err := e.perms.Check(ctx, e.tenant.ID, permissions.UserSubject(in.UserID), "record:Deal", "read")
	if err != nil {
		t.Fatal(err)
	}
	if d.Allowed || len(d.Rules) == 0 || d.Rules[0][4] != "deny" {
		t.Errorf("check explains %+v, want a deny rule", d)
	}
}

func TestBadGrantsAreRefusedWithTheirPath(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if err := e.perms.CreateRole(ctx, e.tenant.ID, "", "east", nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		g           permissions.Grant
		code, field string
	}{
		{permissions.Grant{Role: "east", Object: "record:Nope", Action: "read", Effect: "allow"}, "unknown_object", "/object"},
		{permissions.Grant{Role: "east", Object: "field:Lead.nope", Action: "read", Effect: "allow"}, "unknown_field", "/object"},
		{permissions.Grant{Role: "east", Object: "record:Lead", Action: "fly", Effect: "allow"}, "invalid_action", "/action"},
		{permissions.Grant{Role: "east", Object: "table:Lead", Action: "read", Effect: "allow"}, "invalid_object", "/object"},
		{permissions.Grant{Role: "east", Object: "record:Lead", Action: "read", Effect: "maybe"}, "invalid_effect", "/effect"},
		{permissions.Grant{Role: "ghost", Object: "record:Lead", Action: "read", Effect: "allow"}, "role_not_found", ""},
		{permissions.Grant{Role: "admin", Object: "record:Lead", Action: "read", Effect: "deny"}, "built_in_role", ""},
	} {
		err := e.perms.Grant(ctx, e.tenant.ID, "", c.g)
		ae, _ := apierror.As(err)
		if code(err) != c.code || (c.field != "" && ae.Field != c.field) {
			t.Errorf("%+v: got %v, want %s at %s", c.g, err, c.code, c.field)
		}
	}
}

func TestNoEscalationAndLastAdmin(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	rep := e.member(t, "rep@acme.example", tenants.RoleMember, permissions.RoleSalesRep)
	repSub := permissions.UserSubject(rep.UserID)
	if err := e.perms.CreateRole(ctx, e.tenant.ID, "", "helper", nil); err != nil {
		t.Fatal(err)
	}
	err := e.perms.Grant(ctx, e.tenant.ID, repSub, permissions.Grant{Role: "helper", Object: "record:Lead", Action: "delete", Effect: "allow"})
	if code(err) != "escalation" {
		t.Fatalf("a rep granting delete: %v, want escalation", err)
	}
	if err := e.perms.Grant(ctx, e.tenant.ID, repSub, permissions.Grant{Role: "helper", Object: "record:Lead", Action: "read", Effect: "allow"}); err != nil {
		t.Fatalf("a rep granting what they hold: %v", err)
	}
	if err := e.perms.Assign(ctx, e.tenant.ID, repSub, repSub, permissions.RoleAdmin); code(err) != "escalation" {
		t.Fatalf("a rep making themselves admin: %v, want escalation", err)
	}

	// A manager's team level covers the sales rep's own level, so the
	// manager may hand out the narrower one.
	mgrSub := permissions.UserSubject(e.member(t, "chief@acme.example", tenants.RoleMember, permissions.RoleManager).UserID)
	if err := e.perms.CreateRole(ctx, e.tenant.ID, mgrSub, "junior", []string{permissions.RoleSalesRep}); err != nil {
		t.Fatalf("a manager creating a role inheriting salesRep: %v", err)
	}
	if err := e.perms.Assign(ctx, e.tenant.ID, mgrSub, repSub, "junior"); err != nil {
		t.Fatalf("a manager assigning it: %v", err)
	}

	// A tenant whose only admin is a casbin admin cannot lose them.
	boss := e.member(t, "boss@acme.example", tenants.RoleMember, permissions.RoleAdmin)
	err = e.perms.Unassign(ctx, e.tenant.ID, "", permissions.UserSubject(boss.UserID), permissions.RoleAdmin)
	if code(err) != "last_admin" {
		t.Fatalf("removing the last admin: %v, want last_admin", err)
	}
	if !e.view(t, boss).Can(mustObject(t, e, "Deal"), "delete") {
		t.Fatal("the refused change was applied")
	}
	e.member(t, "owner@acme.example", tenants.RoleAdmin)
	if err := e.perms.Unassign(ctx, e.tenant.ID, "", permissions.UserSubject(boss.UserID), permissions.RoleAdmin); err != nil {
		t.Fatalf("with a tenant admin left: %v", err)
	}

	// An admin holds scope:* all, which covers the own level salesRep
	// grants, so an admin may create a role inheriting salesRep.
	chiefSub := permissions.UserSubject(e.member(t, "admin2@acme.example", tenants.RoleMember, permissions.RoleAdmin).UserID)
	if err := e.perms.CreateRole(ctx, e.tenant.ID, chiefSub, "junior2", []string{permissions.RoleSalesRep}); err != nil {
		t.Fatalf("an admin creating a role inheriting salesRep: %v", err)
	}
}

func mustObject(t *testing.T, e *env, name string) *model.Object {
	t.Helper()
	m, err := e.cat.Model(t.Context(), e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	return m.Object(name)
}

func TestTeamAndSharing(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	mgr := e.member(t, "mgr@acme.example", tenants.RoleMember, permissions.RoleManager)
	peer := e.member(t, "peer@acme.example", tenants.RoleMember, permissions.RoleManager)
	rep := e.member(t, "rep@acme.example", tenants.RoleMember, permissions.RoleSalesRep)
	fresh := e.member(t, "fresh@acme.example", tenants.RoleMember)
	acc := mustObject(t, e, "Account")
	var c struct {
		Field string   `json:"field"`
		Op    string   `json:"op"`
		Value []string `json:"value"`
	}
	if err := json.Unmarshal(e.view(t, mgr).Records(acc), &c); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(c.Value, ",")
	for _, want := range []string{mgr.UserID, rep.UserID, fresh.UserID} {
		if !strings.Contains(got, want) {
			t.Errorf("the manager's team %v lacks %s", c.Value, want)
		}
	}
	if strings.Contains(got, peer.UserID) {
		t.Errorf("the manager's team %v holds a peer manager", c.Value)
	}

	if err := e.perms.CreateRole(ctx, e.tenant.ID, "", "east", []string{permissions.RoleSalesRep}); err != nil {
		t.Fatal(err)
	}
	bad := permissions.Share{Role: "east", Object: "Account", Condition: json.RawMessage(`{"field":"nope","op":"eq","value":"x"}`)}
	if err := e.perms.AddShare(ctx, e.tenant.ID, "", bad); code(err) != "invalid_condition" || !strings.Contains(err.Error(), "/condition/field") {
		t.Fatalf("bad sharing rule: %v", err)
	}
	share := permissions.Share{Role: "east", Object: "Account", Condition: json.RawMessage(`{"field":"billingCity","op":"eq","value":"Boston"}`)}
	if err := e.perms.AddShare(ctx, e.tenant.ID, "", share); err != nil {
		t.Fatal(err)
	}
	easty := e.member(t, "east@acme.example", tenants.RoleMember, "east")
	rec := string(e.view(t, easty).Records(acc))
	if !strings.Contains(rec, `"or"`) || !strings.Contains(rec, "Boston") || !strings.Contains(rec, easty.UserID) {
		t.Fatalf("records of an east rep: %s", rec)
	}
	if strings.Contains(string(e.view(t, easty).Records(mustObject(t, e, "Lead"))), "Boston") {
		t.Fatal("the Account sharing rule leaked into Lead")
	}
}
