package records_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// manyBundle has every onDelete: Company.parent restrict (a self-relation),
// Invoice.company restrict, Person.company cascade, Person.mentor setNull
// (a self-relation).
const manyBundle = `{"lattice":"bundle/v1","objects":[
	{"x-lattice-object":{"apiName":"Company","displayField":"name"},
	 "properties":{
		"name":{"x-lattice-field":{"kind":"text","indexed":true}},
		"website":{"x-lattice-field":{"kind":"url","unique":true}},
		"parent":{"x-lattice-field":{"kind":"lookup","target":"Company","inverseName":"subsidiaries","onDelete":"restrict"}}
	 },
	 "required":["name"]},
	{"x-lattice-object":{"apiName":"Person","displayField":"email"},
	 "properties":{
		"email":{"x-lattice-field":{"kind":"email","unique":true}},
		"company":{"x-lattice-field":{"kind":"lookup","target":"Company","inverseName":"people","onDelete":"cascade"}},
		"mentor":{"x-lattice-field":{"kind":"lookup","target":"Person","inverseName":"mentees","onDelete":"setNull"}}
	 },
	 "required":["email"]},
	{"x-lattice-object":{"apiName":"Invoice","displayField":"number"},
	 "properties":{
		"number":{"x-lattice-field":{"kind":"autoNumber","format":"INV-{000}"}},
		"company":{"x-lattice-field":{"kind":"lookup","target":"Company","inverseName":"invoices","onDelete":"restrict"}}
	 }}]}`

// tenantWith creates a tenant with bundle applied.
func (e *env) tenantWith(t *testing.T, slug, bundle string) string {
	t.Helper()
	var id string
	if err := e.db.Owner.QueryRow(t.Context(), "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatal(err)
	}
	b, err := e.cat.Validator().ParseBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.cat.Apply(t.Context(), id, catalog.ApplyRequest{Bundle: b, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) create(t *testing.T, tenant, object, values string) *records.Record {
	t.Helper()
	r, err := e.store.Create(t.Context(), tenant, "u", object, vals(t, values))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// state is every record of a tenant (deleted ones too) as id -> version
// and deleted, and the number of outbox events: what an all-or-nothing
// call must leave as it was.
type state struct {
	records map[string]string
	events  int
}

func (e *env) state(t *testing.T, tenant string) state {
	t.Helper()
	rows, err := e.db.Owner.Query(t.Context(), "SELECT id::text, version, deleted_at IS NOT NULL, data::text FROM records WHERE tenant_id = $1", tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	s := state{records: map[string]string{}}
	for rows.Next() {
		var id, data string
		var version int
		var deleted bool
		if err := rows.Scan(&id, &version, &deleted, &data); err != nil {
			t.Fatal(err)
		}
		s.records[id] = fmt.Sprintf("v%d deleted=%v %s", version, deleted, data)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	s.events = len(events(t, e, tenant))
	return s
}

func (e *env) unchanged(t *testing.T, tenant string, before state) {
	t.Helper()
	after := e.state(t, tenant)
	if after.events != before.events {
		t.Errorf("%d events appended by a refused call", after.events-before.events)
	}
	if len(after.records) != len(before.records) {
		t.Errorf("%d records before, %d after a refused call", len(before.records), len(after.records))
	}
	for id, was := range before.records {
		if after.records[id] != was {
			t.Errorf("record %s changed by a refused call:\n was %s\n now %s", id, was, after.records[id])
		}
	}
}

// payloads decodes the events after the first skip.
func payloads(t *testing.T, evs []outbox.Event, skip int) ([]string, []records.EventPayload) {
	t.Helper()
	var topics []string
	var ps []records.EventPayload
	for _, ev := range evs[skip:] {
		var p records.EventPayload
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			t.Fatal(err)
		}
		topics, ps = append(topics, ev.Topic), append(ps, p)
	}
	return topics, ps
}

func violations(t *testing.T, err error, wantCode string) model.Violations {
	t.Helper()
	ae, ok := apierror.As(err)
	if !ok || ae.Code != wantCode {
		t.Fatalf("want %s, got %v", wantCode, err)
	}
	vs, ok := ae.Details.(model.Violations)
	if !ok {
		t.Fatalf("%s without violations: %#v", wantCode, ae.Details)
	}
	return vs
}

func paths(vs model.Violations) string {
	var ps []string
	for _, v := range vs {
		ps = append(ps, v.Path+" "+v.Rule)
	}
	return strings.Join(ps, ", ")
}

func TestCreateMany(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	acct := e.create(t, tn, "Account", `{"name":"Acme"}`)
	skip := len(events(t, e, tn))
	owner := "7d7c1b7e-8a0e-4c55-9a55-2f4f3c1f0b11"
	got, err := e.store.CreateMany(ctx, tn, "u1", "Contact", []map[string]any{
		vals(t, `{"email":"ann@acme.example","account":"`+acct.ID+`"}`),
		vals(t, `{"email":"bob@acme.example","account":"`+acct.ID+`","level":"senior","owner":"`+owner+`"}`),
		vals(t, `{"email":"cy@other.example","born":"1990-01-02"}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d records", len(got))
	}
	wantEmails := []string{"ann@acme.example", "bob@acme.example", "cy@other.example"}
	for i, r := range got {
		if r.Values["email"] != wantEmails[i] || r.Version != 1 || r.CreatedBy != "u1" || r.UpdatedBy != "u1" {
			t.Errorf("record %d: %+v", i, r)
		}
		if want := fmt.Sprintf("C-%04d", i+1); r.Values["number"] != want {
			t.Errorf("record %d numbered %v, want %s", i, r.Values["number"], want)
		}
		stored, err := e.store.Get(ctx, tn, "Contact", r.ID, false)
		if err != nil || stored.Values["email"] != wantEmails[i] {
			t.Errorf("stored %d: %+v %v", i, stored, err)
		}
	}
	if got[1].Owner != owner || got[1].Values["level"] != "senior" || got[0].Values["level"] != "junior" {
		t.Errorf("owner/default: %+v %+v", got[0], got[1])
	}
	// The lookup's slot is filled: a condition on it finds both.
	list, _, err := e.store.List(ctx, tn, "Contact", records.ListOptions{Where: []byte(`{"field":"account","op":"eq","value":"` + acct.ID + `"}`)})
	if err != nil || len(list) != 2 {
		t.Fatalf("contacts of the account: %d %v", len(list), err)
	}
	// One record.created per record, in input order, as Create writes it.
	topics, ps := payloads(t, events(t, e, tn), skip)
	if strings.Join(topics, " ") != "record.created record.created record.created" {
		t.Fatalf("events: %v", topics)
	}
	for i, p := range ps {
		if p.ID != got[i].ID || p.Version != 1 || p.Actor != "u1" || p.Object != "Contact" ||
			p.Values["email"] != wantEmails[i] || p.Values["number"] != got[i].Values["number"] {
			t.Errorf("event %d: %+v", i, p)
		}
	}
	// No inputs: nothing to do.
	none, err := e.store.CreateMany(ctx, tn, "u1", "Contact", nil)
	if err != nil || len(none) != 0 {
		t.Fatalf("no inputs: %v %v", none, err)
	}
	if _, err := e.store.CreateMany(ctx, tn, "u1", "Nope", nil); code(err) != "object_not_found" {
		t.Fatalf("unknown object: %v", err)
	}
	if _, err := e.store.CreateMany(ctx, tn, "u1", "Contact", make([]map[string]any, records.MaxMany+1)); code(err) != "too_many_records" {
		t.Fatalf("too many: %v", err)
	}
}

// TestCreateManyAllOrNothing: one bad input in the middle fails the call
// with every violation of every input, pointed by index, and nothing is
// written, no number taken and no event appended.
func TestCreateManyAllOrNothing(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	gone := e.create(t, tn, "Account", `{"name":"Gone"}`)
	if err := e.store.Delete(ctx, tn, "u", "Account", gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	before := e.state(t, tn)
	_, err := e.store.CreateMany(ctx, tn, "u", "Contact", []map[string]any{
		vals(t, `{"email":"ok1@acme.example"}`),
		vals(t, `{"email":"nope","bogus":1}`),
		vals(t, `{"email":"ok2@acme.example"}`),
		vals(t, `{"email":"ok3@acme.example","account":"`+gone.ID+`"}`),
		vals(t, `{"level":"boss","owner":"me"}`),
	})
	vs := violations(t, err, "invalid_record")
	want := "/1/bogus unknown_field, /1/email format, /3/account lookup, /4/level enum, /4/email required, /4/owner format"
	if got := paths(vs); got != want {
		t.Fatalf("violations:\n got %s\nwant %s\n%v", got, want, err)
	}
	if !strings.Contains(err.Error(), gone.ID) {
		t.Errorf("the stale lookup's id is not named: %v", err)
	}
	e.unchanged(t, tn, before)

	// Only the stale lookup wrong: found in the write's own transaction.
	_, err = e.store.CreateMany(ctx, tn, "u", "Contact", []map[string]any{
		vals(t, `{"email":"ok1@acme.example"}`),
		vals(t, `{"email":"ok3@acme.example","account":"`+gone.ID+`"}`),
		vals(t, `{"email":"ok2@acme.example"}`),
	})
	if vs := violations(t, err, "invalid_record"); paths(vs) != "/1/account lookup" || vs[0].Value != gone.ID {
		t.Fatalf("stale lookup: %v", err)
	}
	e.unchanged(t, tn, before)
}

func TestCreateManyUnique(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	e.create(t, tn, "Contact", `{"email":"taken@acme.example"}`)
	before := e.state(t, tn)

	// Two inputs of the batch clash with each other (e-mails ignore case).
	_, err := e.store.CreateMany(ctx, tn, "u", "Contact", []map[string]any{
		vals(t, `{"email":"a@acme.example"}`),
		vals(t, `{"email":"b@acme.example"}`),
		vals(t, `{"email":"A@Acme.example"}`),
	})
	vs := violations(t, err, "unique_violation")
	if paths(vs) != "/2/email unique" || !strings.Contains(vs[0].Message, "input 0") || vs[0].Field != "email" {
		t.Fatalf("clash within the batch: %v", err)
	}
	if ae, _ := apierror.As(err); ae.Kind != apierror.Conflict {
		t.Errorf("kind %v", ae.Kind)
	}
	e.unchanged(t, tn, before)

	// One input clashes with a stored record: the index refuses it, the
	// call names the input, field and value.
	_, err = e.store.CreateMany(ctx, tn, "u", "Contact", []map[string]any{
		vals(t, `{"email":"new@acme.example"}`),
		vals(t, `{"email":"other@acme.example"}`),
		vals(t, `{"email":"Taken@acme.example"}`),
	})
	vs = violations(t, err, "unique_violation")
	if paths(vs) != "/2/email unique" || !strings.Contains(err.Error(), "Taken@acme.example") {
		t.Fatalf("clash with a stored record: %v", err)
	}
	e.unchanged(t, tn, before)

	// A bad value and a clash: invalid_record with both.
	_, err = e.store.CreateMany(ctx, tn, "u", "Contact", []map[string]any{
		vals(t, `{"email":"x@acme.example"}`),
		vals(t, `{"email":"x@acme.example","born":"yesterday"}`),
	})
	if vs := violations(t, err, "invalid_record"); paths(vs) != "/1/born format" {
		// A record with a bad value is not also checked for clashes.
		t.Fatalf("bad value: %v", err)
	}
	_, err = e.store.CreateMany(ctx, tn, "u", "Contact", []map[string]any{
		vals(t, `{"email":"y@acme.example","born":"yesterday"}`),
		vals(t, `{"email":"x@acme.example"}`),
		vals(t, `{"email":"x@acme.example"}`),
	})
	if vs := violations(t, err, "invalid_record"); paths(vs) != "/0/born format, /2/email unique" {
		t.Fatalf("bad value and clash: %v", err)
	}
	e.unchanged(t, tn, before)
}

func TestUpdateMany(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	var alp []*records.Record
	for _, n := range []string{"Alpha", "Beta", "Alpine", "Alps"} {
		r := e.create(t, tn, "Account", `{"name":"`+n+`"}`)
		if strings.HasPrefix(n, "Alp") {
			alp = append(alp, r)
		}
	}
	slices.SortFunc(alp, func(a, b *records.Record) int { return strings.Compare(a.ID, b.ID) })
	skip := len(events(t, e, tn))
	where := json.RawMessage(`{"field":"name","op":"startsWith","value":"Alp"}`)
	got, err := e.store.UpdateMany(ctx, tn, "u2", "Account", where, vals(t, `{"revenue":{"amount":10,"currency":"USD"},"website":null}`), 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d records updated", len(got))
	}
	for i, r := range got {
		if r.ID != alp[i].ID || r.Version != 2 || r.UpdatedBy != "u2" || r.CreatedBy != "u" || r.Values["name"] != alp[i].Values["name"] ||
			!r.UpdatedAt.After(alp[i].UpdatedAt) {
			t.Errorf("record %d: %+v (was %+v)", i, r, alp[i])
		}
		if rev, _ := r.Values["revenue"].(map[string]any); rev["currency"] != "USD" {
			t.Errorf("record %d revenue %v", i, r.Values["revenue"])
		}
	}
	topics, ps := payloads(t, events(t, e, tn), skip)
	if strings.Join(topics, " ") != "record.updated record.updated record.updated" {
		t.Fatalf("events: %v", topics)
	}
	for i, p := range ps {
		ch, ok := p.Changes["revenue"]
		if p.ID != got[i].ID || p.Version != 2 || p.Actor != "u2" || len(p.Changes) != 1 || !ok || ch.Old != nil || ch.New == nil {
			t.Errorf("event %d: %+v", i, p)
		}
	}
	beta, _, _ := e.store.List(ctx, tn, "Account", records.ListOptions{Where: []byte(`{"field":"name","op":"eq","value":"Beta"}`)})
	if len(beta) != 1 || beta[0].Version != 1 {
		t.Fatalf("Beta touched: %+v", beta)
	}

	// The same patch again changes nothing: records back as they are, no
	// version, no event.
	skip = len(events(t, e, tn))
	again, err := e.store.UpdateMany(ctx, tn, "u3", "Account", where, vals(t, `{"revenue":{"amount":10,"currency":"USD"}}`), 3)
	if err != nil || len(again) != 3 || again[0].Version != 2 || again[0].UpdatedBy != "u2" {
		t.Fatalf("no-op: %+v %v", again, err)
	}
	if n := len(events(t, e, tn)) - skip; n != 0 {
		t.Fatalf("no-op appended %d events", n)
	}

	// Clearing a field and setting the owner; nil where is every record.
	owner := "7d7c1b7e-8a0e-4c55-9a55-2f4f3c1f0b11"
	all, err := e.store.UpdateMany(ctx, tn, "u4", "Account", nil, vals(t, `{"revenue":null,"owner":"`+owner+`"}`), 4)
	if err != nil || len(all) != 4 {
		t.Fatalf("every record: %d %v", len(all), err)
	}
	_, ps = payloads(t, events(t, e, tn), skip)
	if len(ps) != 4 {
		t.Fatalf("%d events", len(ps))
	}
	for _, p := range ps {
		if p.Changes["owner"].New != owner {
			t.Errorf("owner change: %+v", p)
		}
		_, cleared := p.Changes["revenue"]
		if cleared != (p.Version == 3) { // the Alp* ones had a revenue to clear
			t.Errorf("revenue change: %+v", p)
		}
	}
	for _, r := range all {
		if _, has := r.Values["revenue"]; has || r.Owner != owner {
			t.Errorf("after clearing: %+v", r)
		}
	}

	// A where that matches nothing: nothing to do.
	skip = len(events(t, e, tn))
	none, err := e.store.UpdateMany(ctx, tn, "u", "Account", json.RawMessage(`{"field":"name","op":"eq","value":"Zeta"}`), vals(t, `{"name":"X"}`), 10)
	if err != nil || len(none) != 0 || len(events(t, e, tn)) != skip {
		t.Fatalf("no match: %v %v", none, err)
	}
}

func TestUpdateManyRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	a := e.create(t, tn, "Account", `{"name":"Alpha","website":"https://alpha.example"}`)
	b := e.create(t, tn, "Account", `{"name":"Alpine"}`)
	e.create(t, tn, "Account", `{"name":"Beta","website":"https://beta.example"}`)
	gone := e.create(t, tn, "Account", `{"name":"Gone"}`)
	if err := e.store.Delete(ctx, tn, "u", "Account", gone.ID, nil); err != nil {
		t.Fatal(err)
	}
	before := e.state(t, tn)
	alp := json.RawMessage(`{"field":"name","op":"startsWith","value":"Alp"}`)
	patch := vals(t, `{"revenue":{"amount":1,"currency":"USD"}}`)

	// More matches than the limit: refused, naming the limit.
	_, err := e.store.UpdateMany(ctx, tn, "u", "Account", nil, patch, 2)
	ae, _ := apierror.As(err)
	if ae == nil || ae.Code != "limit_exceeded" || ae.Field != "limit" || !strings.Contains(ae.Message, "more than 2 Account records") {
		t.Fatalf("limit exceeded: %v", err)
	}
	for _, limit := range []int{0, -1, records.MaxMany + 1} {
		if _, err := e.store.UpdateMany(ctx, tn, "u", "Account", nil, patch, limit); code(err) != "invalid_limit" {
			t.Fatalf("limit %d: %v", limit, err)
		}
	}
	// A bad condition is pointed under /where.
	_, err = e.store.UpdateMany(ctx, tn, "u", "Account", json.RawMessage(`{"field":"nme","op":"eq","value":"x"}`), patch, 10)
	ae, _ = apierror.As(err)
	if ae == nil || ae.Code != "invalid_condition" || ae.Details.(model.Problems)[0].Pointer != "/where/field" {
		t.Fatalf("bad condition: %v", err)
	}
	// Bad values: every violation, pointed into the patch.
	_, err = e.store.UpdateMany(ctx, tn, "u", "Account", alp, vals(t, `{"name":null,"bogus":1,"owner":"me"}`), 10)
	if vs := violations(t, err, "invalid_record"); paths(vs) != "/bogus unknown_field, /name required, /owner format" {
		t.Fatalf("bad patch: %v", err)
	}
	// A lookup to a deleted record.
	_, err = e.store.UpdateMany(ctx, tn, "u", "Account", alp, vals(t, `{"parent":"`+gone.ID+`"}`), 10)
	if vs := violations(t, err, "invalid_record"); paths(vs) != "/parent lookup" || vs[0].Value != gone.ID {
		t.Fatalf("stale lookup: %v", err)
	}
	// A unique value for two records.
	_, err = e.store.UpdateMany(ctx, tn, "u", "Account", alp, vals(t, `{"website":"https://alp.example"}`), 10)
	vs := violations(t, err, "unique_violation")
	if paths(vs) != "/website unique" || !strings.Contains(err.Error(), a.ID) || !strings.Contains(err.Error(), b.ID) ||
		!strings.Contains(err.Error(), "https://alp.example") {
		t.Fatalf("unique value for two: %v", err)
	}
	// A unique value another record holds.
	_, err = e.store.UpdateMany(ctx, tn, "u", "Account", json.RawMessage(`{"field":"name","op":"eq","value":"Alpine"}`),
		vals(t, `{"website":"https://beta.example"}`), 10)
	vs = violations(t, err, "unique_violation")
	if paths(vs) != "/website unique" || !strings.Contains(err.Error(), b.ID) || !strings.Contains(err.Error(), "https://beta.example") {
		t.Fatalf("unique value taken: %v", err)
	}
	e.unchanged(t, tn, before)

	// The record that holds the value may be given it again.
	got, err := e.store.UpdateMany(ctx, tn, "u", "Account", json.RawMessage(`{"field":"name","op":"eq","value":"Alpha"}`),
		vals(t, `{"website":"https://alpha.example","revenue":{"amount":1,"currency":"USD"}}`), 1)
	if err != nil || len(got) != 1 || got[0].Version != 2 {
		t.Fatalf("own unique value: %+v %v", got, err)
	}
}

func TestDeleteMany(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenantWith(t, "acme", manyBundle)
	acme := e.create(t, tn, "Company", `{"name":"Acme"}`)
	initech := e.create(t, tn, "Company", `{"name":"Initech","parent":"`+acme.ID+`"}`)
	globex := e.create(t, tn, "Company", `{"name":"Globex"}`)
	inv := e.create(t, tn, "Invoice", `{"company":"`+globex.ID+`"}`)
	p1 := e.create(t, tn, "Person", `{"email":"p1@acme.example","company":"`+acme.ID+`"}`)
	p2 := e.create(t, tn, "Person", `{"email":"p2@acme.example","company":"`+acme.ID+`","mentor":"`+p1.ID+`"}`)
	p3 := e.create(t, tn, "Person", `{"email":"p3@initech.example","company":"`+initech.ID+`"}`)
	p4 := e.create(t, tn, "Person", `{"email":"p4@free.example","mentor":"`+p1.ID+`"}`)
	before := e.state(t, tn)

	// Restrict: Globex's invoice refuses the whole call.
	_, err := e.store.DeleteMany(ctx, tn, "u", "Company", nil, 10)
	if code(err) != "delete_restricted" || !strings.Contains(err.Error(), globex.ID) || !strings.Contains(err.Error(), inv.ID) {
		t.Fatalf("restricted by an invoice: %v", err)
	}
	e.unchanged(t, tn, before)
	// Acme alone: Initech, which stays, points at it (restrict).
	acmeOnly := json.RawMessage(`{"field":"name","op":"eq","value":"Acme"}`)
	_, err = e.store.DeleteMany(ctx, tn, "u", "Company", acmeOnly, 10)
	if code(err) != "delete_restricted" || !strings.Contains(err.Error(), "Company.parent") || !strings.Contains(err.Error(), initech.ID) {
		t.Fatalf("restricted by a subsidiary: %v", err)
	}
	e.unchanged(t, tn, before)
	// The limit counts the matched records only.
	both := json.RawMessage(`{"field":"name","op":"in","value":["Acme","Initech"]}`)
	if _, err := e.store.DeleteMany(ctx, tn, "u", "Company", both, 1); code(err) != "limit_exceeded" {
		t.Fatalf("limit: %v", err)
	}
	e.unchanged(t, tn, before)

	// Acme and Initech together: the subsidiary goes too, so it does not
	// restrict. Their people go by cascade; p4's mentor (p1) is cleared;
	// p2, deleted with its mentor, keeps its values.
	ids, err := e.store.DeleteMany(ctx, tn, "u2", "Company", both, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{acme.ID, initech.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("ids %v, want the matched %v (not the cascaded)", ids, want)
	}
	for _, c := range []struct {
		object, id string
		live       bool
	}{{"Company", acme.ID, false}, {"Company", initech.ID, false}, {"Company", globex.ID, true},
		{"Person", p1.ID, false}, {"Person", p2.ID, false}, {"Person", p3.ID, false}, {"Person", p4.ID, true}, {"Invoice", inv.ID, true}} {
		r, err := e.store.Get(ctx, tn, c.object, c.id, true)
		if err != nil {
			t.Fatal(err)
		}
		if (r.DeletedAt == nil) != c.live || (!c.live && (r.Version != 2 || r.UpdatedBy != "u2")) {
			t.Errorf("%s %s: live=%v version %d by %s", c.object, c.id, r.DeletedAt == nil, r.Version, r.UpdatedBy)
		}
	}
	p2now, _ := e.store.Get(ctx, tn, "Person", p2.ID, true)
	if p2now.Values["mentor"] != p1.ID {
		t.Errorf("p2, deleted with its mentor, lost it: %+v", p2now.Values)
	}
	p4now, _ := e.store.Get(ctx, tn, "Person", p4.ID, false)
	if _, has := p4now.Values["mentor"]; has || p4now.Version != 2 || p4now.UpdatedBy != "u2" {
		t.Errorf("p4's mentor not cleared: %+v", p4now)
	}
	// One event per touched record: the clear, the cascaded deletions
	// (with their cause) before the deletions that caused them.
	topics, ps := payloads(t, events(t, e, tn), before.events)
	if strings.Join(topics, " ") != "record.updated record.deleted record.deleted record.deleted record.deleted record.deleted" {
		t.Fatalf("events: %v", topics)
	}
	if ps[0].ID != p4.ID || ps[0].Version != 2 || ps[0].Changes["mentor"].Old != p1.ID || ps[0].Changes["mentor"].New != nil {
		t.Errorf("clear event: %+v", ps[0])
	}
	causes := map[string]string{}
	for i, p := range ps[1:] {
		causes[p.ID] = p.Cause
		if p.Version != 2 || p.Actor != "u2" {
			t.Errorf("deleted event %d: %+v", i, p)
		}
		if i < 3 && p.Object != "Person" || i >= 3 && p.Object != "Company" {
			t.Errorf("deleted event %d out of order: %+v", i, p)
		}
	}
	wantCauses := map[string]string{p1.ID: "Company/" + acme.ID, p2.ID: "Company/" + acme.ID, p3.ID: "Company/" + initech.ID, acme.ID: "", initech.ID: ""}
	if fmt.Sprint(causes) != fmt.Sprint(wantCauses) {
		t.Errorf("causes:\n got %v\nwant %v", causes, wantCauses)
	}

	// Nothing matches: nothing to do.
	n := len(events(t, e, tn))
	ids, err = e.store.DeleteMany(ctx, tn, "u", "Company", acmeOnly, 10)
	if err != nil || len(ids) != 0 || len(events(t, e, tn)) != n {
		t.Fatalf("no match: %v %v", ids, err)
	}
	if _, err := e.store.DeleteMany(ctx, tn, "u", "Company", json.RawMessage(`{"field":"nope","op":"eq","value":1}`), 10); code(err) != "invalid_condition" {
		t.Fatalf("bad condition: %v", err)
	}
	if _, err := e.store.DeleteMany(ctx, tn, "u", "Company", nil, 0); code(err) != "invalid_limit" {
		t.Fatalf("bad limit: %v", err)
	}
	// A record pointing at itself through a restrict lookup does not
	// block its own deletion.
	self := e.create(t, tn, "Company", `{"name":"Ouroboros"}`)
	if _, err := e.store.Update(ctx, tn, "u", "Company", self.ID, vals(t, `{"parent":"`+self.ID+`"}`), nil); err != nil {
		t.Fatal(err)
	}
	ids, err = e.store.DeleteMany(ctx, tn, "u", "Company", json.RawMessage(`{"field":"name","op":"eq","value":"Ouroboros"}`), 1)
	if err != nil || len(ids) != 1 || ids[0] != self.ID {
		t.Fatalf("self-restricted: %v %v", ids, err)
	}
}

// TestManyTenantIsolation: another tenant's records are never matched,
// changed or usable as lookup targets.
func TestManyTenantIsolation(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	mine := map[string]bool{}
	var theirs *records.Record
	for range 3 {
		mine[e.create(t, a, "Account", `{"name":"Same"}`).ID] = true
		theirs = e.create(t, b, "Account", `{"name":"Same"}`)
	}
	beforeB := e.state(t, b)
	got, err := e.store.UpdateMany(ctx, a, "u", "Account", nil, vals(t, `{"name":"Changed"}`), 3)
	if err != nil || len(got) != 3 {
		t.Fatalf("update: %d %v", len(got), err)
	}
	for _, r := range got {
		if !mine[r.ID] {
			t.Fatalf("updated another tenant's record %s", r.ID)
		}
	}
	ids, err := e.store.DeleteMany(ctx, a, "u", "Account", json.RawMessage(`{"field":"name","op":"eq","value":"Changed"}`), 3)
	if err != nil || len(ids) != 3 {
		t.Fatalf("delete: %v %v", ids, err)
	}
	for _, id := range ids {
		if !mine[id] {
			t.Fatalf("deleted another tenant's record %s", id)
		}
	}
	_, err = e.store.CreateMany(ctx, a, "u", "Contact", []map[string]any{vals(t, `{"email":"x@a.example","account":"`+theirs.ID+`"}`)})
	if vs := violations(t, err, "invalid_record"); paths(vs) != "/0/account lookup" {
		t.Fatalf("lookup to another tenant: %v", err)
	}
	_, err = e.store.UpdateMany(ctx, a, "u", "Account", nil, vals(t, `{"name":"Again"}`), 3)
	if err != nil {
		t.Fatal(err)
	}
	e.unchanged(t, b, beforeB)
}

// BenchmarkUpdateMany1000 changes one field of 1,000 Leads (10 fields, 4
// indexed, 1 unique) with one UpdateMany per iteration, every record
// changing every time (1,000 record.updated events each).
func BenchmarkUpdateMany1000(b *testing.B) {
	ctx := context.Background()
	d := newBenchDB(b)
	tenantID := d.tenant(b, "bench", benchLeadBundle)
	inputs := make([]map[string]any, 1000)
	for i := range inputs {
		inputs[i] = benchLead("u", int64(i))
	}
	if _, err := d.store.CreateMany(ctx, tenantID, "bench", "Lead", inputs); err != nil {
		b.Fatal(err)
	}
	where := json.RawMessage(`{"field":"company","op":"eq","value":"Acme Trading Co."}`)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		got, err := d.store.UpdateMany(ctx, tenantID, "bench", "Lead", where, map[string]any{"revenue": json.Number(fmt.Sprintf("%d.50", i))}, 1000)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != 1000 || got[0].Version != i+1 {
			b.Fatalf("%d records, version %d", len(got), got[0].Version)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCreateMany1000 creates 1,000 Leads with one CreateMany per
// iteration.
func BenchmarkCreateMany1000(b *testing.B) {
	ctx := context.Background()
	d := newBenchDB(b)
	tenantID := d.tenant(b, "bench", benchLeadBundle)
	b.ReportAllocs()
	n := int64(0)
	for b.Loop() {
		inputs := make([]map[string]any, 1000)
		for i := range inputs {
			n++
			inputs[i] = benchLead("c", n)
		}
		if _, err := d.store.CreateMany(ctx, tenantID, "bench", "Lead", inputs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "records/s")
}
