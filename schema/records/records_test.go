package records_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

type env struct {
	db    *dbtest.DB
	cat   *catalog.Catalog
	store *records.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db := dbtest.New(t)
	cat, err := catalog.New(db.App, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &env{db: db, cat: cat, store: records.New(db.App, cat, nil)}
}

// tenant creates a tenant with the small test schema applied.
func (e *env) tenant(t *testing.T, slug string) string {
	t.Helper()
	var id string
	if err := e.db.Owner.QueryRow(t.Context(), "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile("../model/testdata/small.json")
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.cat.Validator().ParseBundle(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Apply(t.Context(), id, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return id
}

func vals(t *testing.T, s string) map[string]any {
	t.Helper()
	v, err := model.DecodeJSON([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return v.(map[string]any)
}

func code(err error) string {
	if e, ok := apierror.As(err); ok {
		return e.Code
	}
	if err != nil {
		return "untyped: " + err.Error()
	}
	return ""
}

func events(t *testing.T, e *env, tenant string) []outbox.Event {
	t.Helper()
	evs, err := outbox.Events(t.Context(), e.db.App, tenant, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestRecordLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	acct, err := e.store.Create(ctx, tn, "u1", "Account", vals(t, `{"name":"Acme","revenue":{"amount":1000.5,"currency":"USD"},"website":"https://acme.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	if acct.Version != 1 || acct.Values["name"] != "Acme" || acct.CreatedBy != "u1" {
		t.Fatalf("created %+v", acct)
	}
	c1, err := e.store.Create(ctx, tn, "u1", "Contact", vals(t, `{"email":"Ann@Acme.example","account":"`+acct.ID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c1.Values["number"] != "C-0001" || c1.Values["level"] != "junior" {
		t.Fatalf("autoNumber/default: %+v", c1.Values)
	}
	// Unique e-mail ignores case.
	_, err = e.store.Create(ctx, tn, "u1", "Contact", vals(t, `{"email":"ann@acme.example"}`))
	if code(err) != "unique_violation" {
		t.Fatalf("duplicate e-mail: %v", err)
	}
	// Every violation at once, nothing written.
	_, err = e.store.Create(ctx, tn, "u1", "Contact", vals(t, `{"email":"nope","level":"boss","born":"2026-02-30","bogus":1}`))
	ae, _ := apierror.As(err)
	if ae == nil || ae.Code != "invalid_record" || len(ae.Details.(model.Violations)) != 4 {
		t.Fatalf("violations: %v", err)
	}
	// Update with a stale version is a conflict naming the current one.
	one := 1
	got, err := e.store.Update(ctx, tn, "u2", "Account", acct.ID, vals(t, `{"name":"Acme Inc"}`), &one)
	if err != nil || got.Version != 2 || got.UpdatedBy != "u2" {
		t.Fatalf("update: %+v %v", got, err)
	}
	_, err = e.store.Update(ctx, tn, "u2", "Account", acct.ID, vals(t, `{"name":"Stale"}`), &one)
	if code(err) != "version_conflict" || !strings.Contains(err.Error(), "version 2") {
		t.Fatalf("stale update: %v", err)
	}
	// Deleting the account cascades to its contact.
	if err := e.store.Delete(ctx, tn, "u2", "Account", acct.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Get(ctx, tn, "Contact", c1.ID, false); code(err) != "record_not_found" {
		t.Fatalf("cascaded contact still live: %v", err)
	}
	// The contact cannot come back before its account.
	if _, err := e.store.Restore(ctx, tn, "u2", "Contact", c1.ID); code(err) != "invalid_record" {
		t.Fatalf("restore child first: %v", err)
	}
	if _, err := e.store.Restore(ctx, tn, "u2", "Account", acct.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Restore(ctx, tn, "u2", "Contact", c1.ID); err != nil {
		t.Fatal(err)
	}
	topics := []string{}
	for _, ev := range events(t, e, tn) {
		topics = append(topics, ev.Topic)
	}
	want := "record.created record.created record.updated record.deleted record.deleted record.restored record.restored"
	if strings.Join(topics, " ") != want {
		t.Fatalf("events:\n got %s\nwant %s", strings.Join(topics, " "), want)
	}
}

func TestLookupsAcrossTenantsLookMissing(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	acctB, err := e.store.Create(ctx, b, "u", "Account", vals(t, `{"name":"B corp"}`))
	if err != nil {
		t.Fatal(err)
	}
	_, errOther := e.store.Create(ctx, a, "u", "Contact", vals(t, `{"email":"x@a.example","account":"`+acctB.ID+`"}`))
	_, errMissing := e.store.Create(ctx, a, "u", "Contact", vals(t, `{"email":"x@a.example","account":"00000000-0000-4000-8000-000000000000"}`))
	if code(errOther) != "invalid_record" || code(errMissing) != "invalid_record" {
		t.Fatalf("other: %v; missing: %v", errOther, errMissing)
	}
	norm := func(err error) string {
		return strings.ReplaceAll(err.Error(), acctB.ID, "ID")
	}
	if norm(errOther) != strings.ReplaceAll(errMissing.Error(), "00000000-0000-4000-8000-000000000000", "ID") {
		t.Fatalf("another tenant's record is distinguishable from a missing one:\n%v\n%v", errOther, errMissing)
	}
	if _, err := e.store.Get(ctx, a, "Account", acctB.ID, true); code(err) != "record_not_found" {
		t.Fatalf("tenant A read B's record: %v", err)
	}
}

func TestSetNullAndSelfRelation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	parent, _ := e.store.Create(ctx, tn, "u", "Account", vals(t, `{"name":"Parent"}`))
	child, err := e.store.Create(ctx, tn, "u", "Account", vals(t, `{"name":"Child","parent":"`+parent.ID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Delete(ctx, tn, "u", "Account", parent.ID, nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.Get(ctx, tn, "Account", child.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, still := got.Values["parent"]; still || got.Version != 2 {
		t.Fatalf("set null: %+v", got)
	}
}

func TestRemovedFieldKeepsValues(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	c, err := e.store.Create(ctx, tn, "u", "Contact", vals(t, `{"email":"a@b.example","born":"1990-01-02"}`))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := e.cat.Export(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	contact := exp.Object("Contact")
	var born model.Property
	for i, p := range contact.Properties {
		if p.Name == "born" {
			born = p
			contact.Properties = append(contact.Properties[:i], contact.Properties[i+1:]...)
			break
		}
	}
	if _, err := e.cat.Apply(ctx, tn, catalog.ApplyRequest{Bundle: exp, Mode: catalog.Replace}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.store.Get(ctx, tn, "Contact", c.ID, false)
	if _, shown := got.Values["born"]; shown {
		t.Fatal("removed field still shown")
	}
	// An update must not lose the removed field's stored value.
	if _, err := e.store.Update(ctx, tn, "u", "Contact", c.ID, vals(t, `{"email":"new@b.example"}`), nil); err != nil {
		t.Fatal(err)
	}
	contact.Properties = append(contact.Properties, born)
	if _, err := e.cat.Apply(ctx, tn, catalog.ApplyRequest{Bundle: exp, Mode: catalog.Replace}); err != nil {
		t.Fatal(err)
	}
	got, _ = e.store.Get(ctx, tn, "Contact", c.ID, false)
	if got.Values["born"] != "1990-01-02" {
		raw, _ := json.Marshal(got)
		t.Fatalf("restored field lost its value: %s", raw)
	}
}

func TestListWhere(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	for _, n := range []string{"Alpha", "Beta", "Alpine"} {
		if _, err := e.store.Create(ctx, tn, "u", "Account", vals(t, `{"name":"`+n+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := e.store.List(ctx, tn, "Account", records.ListOptions{Where: []byte(`{"field":"name","op":"startsWith","value":"Alp"}`)})
	if err != nil {
		t.Fatal(err)
	}
	names := map[any]bool{}
	for _, r := range got {
		names[r.Values["name"]] = true
	}
	if len(got) != 2 || !names["Alpha"] || !names["Alpine"] {
		t.Fatalf("where startsWith Alp: %v", names)
	}
	_, _, err = e.store.List(ctx, tn, "Account", records.ListOptions{Where: []byte(`{"field":"nme","op":"eq","value":"x"}`)})
	ae, ok := apierror.As(err)
	if !ok || ae.Code != "invalid_condition" || ae.Details.(model.Problems)[0].Pointer != "/where/field" {
		t.Fatalf("bad condition: %v", err)
	}
}

// TestConcurrentCreatesWithAutoNumbers: many concurrent creates of an
// object with an autoNumber field finish (none waits for a second pooled
// connection while holding one) and get distinct numbers.
func TestConcurrentCreatesWithAutoNumbers(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	const n = 24 // several times the pool size
	errs := make(chan error, n)
	numbers := make(chan any, n)
	for i := range n {
		go func() {
			r, err := e.store.Create(ctx, tn, "u", "Contact", vals(t, `{"email":"c`+strings.Repeat("x", i)+`@example.com"}`))
			if err == nil {
				numbers <- r.Values["number"]
			}
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(numbers)
	seen := map[any]bool{}
	for num := range numbers {
		if seen[num] {
			t.Fatalf("number %v given twice", num)
		}
		seen[num] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct numbers, want %d", len(seen), n)
	}
}
