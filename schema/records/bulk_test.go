package records_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// importRows writes rows in one Write of a fresh importer and closes it.
func importRows(t *testing.T, e *env, tenant string, opts records.ImportOptions, rows []records.ImportRow) ([]records.RowError, records.ImportStats, bool) {
	t.Helper()
	ctx := t.Context()
	im, err := e.store.BeginImport(ctx, tenant, opts)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := im.Write(ctx, rows)
	if err != nil {
		_, _ = im.Close(ctx)
		t.Fatal(err)
	}
	st := im.Stats()
	committed, err := im.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return bad, st, committed
}

func row(t *testing.T, n int64, values string) records.ImportRow {
	return records.ImportRow{Row: n, Values: vals(t, values)}
}

// problems renders row errors as "row field rule" lines, for comparison.
func problems(bad []records.RowError) string {
	var lines []string
	for _, b := range bad {
		for _, v := range b.Violations {
			lines = append(lines, fmt.Sprintf("%d %s %s", b.Row, v.Field, v.Rule))
		}
	}
	return strings.Join(lines, "\n")
}

func count(t *testing.T, e *env, tenant, object string) int {
	t.Helper()
	m, err := e.cat.Model(t.Context(), tenant)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	err = database.InTenantTx(t.Context(), e.db.App, tenant, func(tx pgx.Tx) error {
		return tx.QueryRow(t.Context(), "SELECT count(*) FROM records WHERE tenant_id = $1 AND object_id = $2 AND deleted_at IS NULL", tenant, m.Object(object).Key).Scan(&n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Skip-bad-rows: good rows are written with their events and auto-numbers,
// every bad row is reported with its row number, field and rule, and the
// checks are the single writes' (required, enum, format, unknown field,
// lookups in this tenant only, uniqueness against stored records and
// earlier rows).
func TestImportSkipsBadRowsAndReportsThem(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn, other := e.tenant(t, "acme"), e.tenant(t, "other")
	acct, err := e.store.Create(ctx, tn, "u", "Account", vals(t, `{"name":"Acme","website":"https://acme.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := e.store.Create(ctx, other, "u", "Account", vals(t, `{"name":"Other"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Create(ctx, tn, "u", "Contact", vals(t, `{"email":"taken@acme.example"}`)); err != nil {
		t.Fatal(err)
	}
	before := len(events(t, e, tn))
	rows := []records.ImportRow{
		row(t, 1, `{"email":"a@acme.example","account":"`+strings.ToUpper(acct.ID)+`","born":"1990-01-02"}`),
		row(t, 2, `{"email":"nope","level":"boss"}`),                       // format, enum
		row(t, 3, `{"level":"senior"}`),                                    // required
		row(t, 4, `{"email":"b@acme.example","colour":"red"}`),             // unknown field
		row(t, 5, `{"email":"c@acme.example","account":"`+foreign.ID+`"}`), // another tenant's record
		row(t, 6, `{"email":"d@acme.example","account":"00000000-0000-4000-8000-000000000000"}`),
		row(t, 7, `{"email":"TAKEN@acme.example"}`), // unique against stored
		row(t, 8, `{"email":"A@acme.example"}`),     // unique against row 1
		{Row: 9, Values: vals(t, `{"email":"e@acme.example"}`), Refs: map[string]records.Ref{"account": {By: "website", Value: "https://acme.example"}}},
		{Row: 10, Values: vals(t, `{"email":"f@acme.example"}`), Refs: map[string]records.Ref{"account": {By: "website", Value: "https://nowhere.example"}}},
		{Row: 11, Violations: model.Violations{{Field: "age", Rule: "type", Message: "not a number"}}},
		row(t, 12, `{"email":"g@acme.example","owner":"not-a-user"}`),
		{Row: 13, ID: "not-a-uuid", Values: vals(t, `{"email":"h@acme.example"}`)},
	}
	bad, st, committed := importRows(t, e, tn, records.ImportOptions{Object: "Contact", Actor: "importer"}, rows)
	want := strings.Join([]string{
		"2 email format", "2 level enum",
		"3 email required",
		"4  unknown_field",
		"5 account lookup",
		"6 account lookup",
		"7 email unique",
		"8 email unique",
		"10 account lookup",
		"11 age type", "11 email required",
		"12 owner format",
		"13 id format",
	}, "\n")
	if got := problems(bad); got != want {
		t.Fatalf("problems:\n%s\nwant:\n%s", got, want)
	}
	// Another tenant's record reads exactly like a missing one.
	msg := func(rowNo int64) string {
		for _, b := range bad {
			if b.Row == rowNo {
				return b.Violations[0].Message
			}
		}
		return ""
	}
	if strings.ReplaceAll(msg(5), foreign.ID, "X") != strings.ReplaceAll(msg(6), "00000000-0000-4000-8000-000000000000", "X") {
		t.Fatalf("foreign %q vs missing %q", msg(5), msg(6))
	}
	if !committed || st.Created != 2 || st.Bad != 11 {
		t.Fatalf("committed %v stats %+v", committed, st)
	}
	list, _, err := e.store.List(ctx, tn, "Contact", records.ListOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*records.Record{}
	for _, r := range list {
		got[r.Values["email"].(string)] = r
	}
	a, e9 := got["a@acme.example"], got["e@acme.example"]
	if a == nil || e9 == nil || len(got) != 3 {
		t.Fatalf("contacts: %v", got)
	}
	if a.Values["account"] != acct.ID || e9.Values["account"] != acct.ID || a.Values["level"] != "junior" || a.CreatedBy != "importer" {
		t.Fatalf("values: %v / %v", a.Values, e9.Values)
	}
	// Auto-numbers continue after the single create's, one per new record
	// planned; row 7, refused by the unique index on insert, left a gap.
	if a.Values["number"] != "C-0002" || e9.Values["number"] != "C-0004" {
		t.Fatalf("numbers %v %v", a.Values["number"], e9.Values["number"])
	}
	// One record.created per written record, with its values.
	evs := events(t, e, tn)[before:]
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	var p records.EventPayload
	if err := json.Unmarshal(evs[0].Payload, &p); err != nil {
		t.Fatal(err)
	}
	if evs[0].Topic != records.TopicCreated || p.ID != a.ID || p.Version != 1 || p.Actor != "importer" || p.Values["email"] != "a@acme.example" || p.Values["number"] != "C-0002" || p.Object != "Contact" {
		t.Fatalf("event %s %s", evs[0].Topic, evs[0].Payload)
	}
}

// All-or-nothing: one bad row among good ones leaves no record and no
// event, even though the good rows were written in the transaction.
func TestImportAllOrNothingWritesNothingOnABadRow(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	before := len(events(t, e, tn))
	im, err := e.store.BeginImport(ctx, tn, records.ImportOptions{Object: "Contact", AllOrNothing: true, Actor: "i"})
	if err != nil {
		t.Fatal(err)
	}
	for b := range 3 {
		var rows []records.ImportRow
		for i := range 100 {
			n := int64(b*100 + i + 1)
			v := fmt.Sprintf(`{"email":"c%d@acme.example"}`, n)
			if n == 250 {
				v = `{"email":"c250@acme.example","level":"boss"}`
			}
			rows = append(rows, row(t, n, v))
		}
		bad, err := im.Write(ctx, rows)
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int]string{2: "250 level enum"}[b]; problems(bad) != want {
			t.Fatalf("batch %d: %q", b, problems(bad))
		}
	}
	if st := im.Stats(); st.Created != 299 || st.Bad != 1 {
		t.Fatalf("stats %+v", st)
	}
	committed, err := im.Close(ctx)
	if err != nil || committed {
		t.Fatalf("close: %v %v", committed, err)
	}
	if n := count(t, e, tn, "Contact"); n != 0 {
		t.Fatalf("%d contacts after a rejected import", n)
	}
	if n := len(events(t, e, tn)); n != before {
		t.Fatalf("%d events after a rejected import, want %d", n, before)
	}
	// The same rows without the bad one commit, with every event.
	im, err = e.store.BeginImport(ctx, tn, records.ImportOptions{Object: "Contact", AllOrNothing: true, Actor: "i"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []records.ImportRow
	for n := range 300 {
		rows = append(rows, row(t, int64(n+1), fmt.Sprintf(`{"email":"c%d@acme.example"}`, n+1)))
	}
	if bad, err := im.Write(ctx, rows); err != nil || len(bad) != 0 {
		t.Fatal(bad, err)
	}
	if committed, err := im.Close(ctx); err != nil || !committed {
		t.Fatal(committed, err)
	}
	evs := events(t, e, tn)[before:]
	if count(t, e, tn, "Contact") != 300 || len(evs) != 300 {
		t.Fatalf("%d contacts, %d events", count(t, e, tn, "Contact"), len(evs))
	}
	for i, ev := range evs {
		if ev.Seq != int64(before+i+1) || ev.Topic != records.TopicCreated {
			t.Fatalf("event %d: seq %d topic %s", i, ev.Seq, ev.Topic)
		}
	}
}

// Upsert on a unique field updates the live record holding the value
// (version bumped, record.updated with the changes), creates the others,
// leaves unchanged ones alone, and handles a key repeated in one batch as
// if the rows came one at a time.
func TestImportUpsert(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	old, err := e.store.Create(ctx, tn, "u", "Contact", vals(t, `{"email":"ann@acme.example","born":"1980-01-01","level":"junior"}`))
	if err != nil {
		t.Fatal(err)
	}
	same, err := e.store.Create(ctx, tn, "u", "Contact", vals(t, `{"email":"bob@acme.example"}`))
	if err != nil {
		t.Fatal(err)
	}
	before := len(events(t, e, tn))
	rows := []records.ImportRow{
		row(t, 1, `{"email":"ANN@acme.example","level":"senior","born":null}`),
		row(t, 2, `{"email":"bob@acme.example","level":"junior"}`), // no change
		row(t, 3, `{"email":"new@acme.example","level":"senior"}`),
		row(t, 4, `{"email":"new@acme.example","born":"2000-02-02"}`), // updates row 3's record
		row(t, 5, `{"email":"ann@acme.example","number":"C-9999"}`),   // read-only, as in Update
	}
	bad, st, _ := importRows(t, e, tn, records.ImportOptions{Object: "Contact", UpsertOn: "email", Actor: "up"}, rows)
	if problems(bad) != "5 number read_only" {
		t.Fatalf("problems %q", problems(bad))
	}
	if st.Created != 1 || st.Updated != 2 || st.Unchanged != 1 {
		t.Fatalf("stats %+v", st)
	}
	ann, _ := e.store.Get(ctx, tn, "Contact", old.ID, false)
	if ann.Version != 2 || ann.Values["level"] != "senior" || ann.Values["born"] != nil || ann.UpdatedBy != "up" || ann.Values["number"] != old.Values["number"] {
		t.Fatalf("ann %+v", ann)
	}
	bob, _ := e.store.Get(ctx, tn, "Contact", same.ID, false)
	if bob.Version != 1 {
		t.Fatalf("unchanged row bumped the version: %+v", bob)
	}
	list, _, _ := e.store.List(ctx, tn, "Contact", records.ListOptions{Where: []byte(`{"field":"email","op":"eq","value":"new@acme.example"}`)})
	if len(list) != 1 || list[0].Version != 2 || list[0].Values["born"] != "2000-02-02" || list[0].Values["level"] != "senior" {
		t.Fatalf("new: %+v", list)
	}
	evs := events(t, e, tn)[before:]
	var topics []string
	for _, ev := range evs {
		topics = append(topics, ev.Topic)
	}
	if strings.Join(topics, " ") != "record.updated record.created record.updated" {
		t.Fatalf("topics %v", topics)
	}
	var p records.EventPayload
	_ = json.Unmarshal(evs[0].Payload, &p)
	if p.ID != old.ID || p.Version != 2 || len(p.Changes) != 3 || p.Changes["email"].New != "ANN@acme.example" || p.Changes["level"].Old != "junior" || p.Changes["level"].New != "senior" || p.Changes["born"].Old != "1980-01-01" {
		t.Fatalf("update event %s", evs[0].Payload)
	}
	// Upsert by id; an unknown id creates a record with that id.
	id := "0f0f0f0f-0000-4000-8000-000000000001"
	bad, st, _ = importRows(t, e, tn, records.ImportOptions{Object: "Contact", UpsertOn: "id"}, []records.ImportRow{
		{Row: 1, ID: old.ID, Values: vals(t, `{"level":"junior"}`)},
		{Row: 2, ID: id, Values: vals(t, `{"email":"byid@acme.example"}`)},
	})
	if len(bad) != 0 || st.Updated != 1 || st.Created != 1 {
		t.Fatalf("by id: %s %+v", problems(bad), st)
	}
	if r, err := e.store.Get(ctx, tn, "Contact", id, false); err != nil || r.Values["email"] != "byid@acme.example" {
		t.Fatalf("created with its id: %v %v", r, err)
	}
	// Without upsert, a taken id is a unique violation.
	bad, _, _ = importRows(t, e, tn, records.ImportOptions{Object: "Contact"}, []records.ImportRow{{Row: 1, ID: id, Values: vals(t, `{"email":"again@acme.example"}`)}})
	if problems(bad) != "1 id unique" {
		t.Fatalf("taken id: %q", problems(bad))
	}
	if _, err := e.store.BeginImport(ctx, tn, records.ImportOptions{Object: "Contact", UpsertOn: "level"}); code(err) != "invalid_upsert_field" {
		t.Fatalf("upsert on a non-unique field: %v", err)
	}
	if _, err := e.store.BeginImport(ctx, tn, records.ImportOptions{Object: "Contact", UpsertOn: "number"}); code(err) != "invalid_upsert_field" {
		t.Fatalf("upsert on an auto-number: %v", err)
	}
}

// A unique value that another transaction commits after the import's
// checks is refused by the database; the batch falls back to row-by-row
// writes and only the row at fault is bad.
func TestImportFallsBackWhenTheDatabaseRefusesARow(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	m, err := e.cat.Model(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	contact := m.Object("Contact")
	email := contact.Field("email")
	// Another writer inserts race@ but does not commit yet.
	tx, err := e.db.App.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, database.SetTenantSQL, tn); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "INSERT INTO records (tenant_id, object_id, id, data, "+email.UniqueSlot+") VALUES ($1, $2, gen_random_uuid(), '{}', 'race@acme.example')", tn, contact.Key); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	var bad []records.RowError
	var st records.ImportStats
	go func() {
		im, err := e.store.BeginImport(ctx, tn, records.ImportOptions{Object: "Contact"})
		if err != nil {
			done <- err
			return
		}
		bad, err = im.Write(ctx, []records.ImportRow{row(t, 1, `{"email":"ok1@acme.example"}`), row(t, 2, `{"email":"race@acme.example"}`), row(t, 3, `{"email":"ok2@acme.example"}`)})
		st = im.Stats()
		if _, cerr := im.Close(ctx); err == nil {
			err = cerr
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the import waits on the unique index
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if problems(bad) != "2 email unique" || st.Created != 2 {
		t.Fatalf("problems %q stats %+v", problems(bad), st)
	}
	if n := count(t, e, tn, "Contact"); n != 3 {
		t.Fatalf("%d contacts, want the racer and two imported", n)
	}
}

// Prepared rows and lookups given by id to records created by an earlier
// batch of the same import; a schema change between batches stops an
// import that commits batch by batch.
func TestImportAcrossBatches(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tn := e.tenant(t, "acme")
	im, err := e.store.BeginImport(ctx, tn, records.ImportOptions{Object: "Account"})
	if err != nil {
		t.Fatal(err)
	}
	id := "0f0f0f0f-0000-4000-8000-00000000000a"
	first := []records.ImportRow{{Row: 1, ID: id, Values: vals(t, `{"name":"Parent","website":"https://p.example"}`)}}
	im.Prepare(first)
	if bad, err := im.Write(ctx, first); err != nil || len(bad) != 0 {
		t.Fatal(bad, err)
	}
	second := []records.ImportRow{
		{Row: 2, Values: vals(t, `{"name":"Child","parent":"`+id+`"}`)},
		{Row: 3, Values: vals(t, `{"name":"Child 2"}`), Refs: map[string]records.Ref{"parent": {By: "website", Value: "https://p.example"}}},
		{Row: 4, Values: vals(t, `{"name":"Child 3"}`), Refs: map[string]records.Ref{"parent": {By: "name", Value: "Parent"}}},
	}
	bad, err := im.Write(ctx, second)
	if err != nil || problems(bad) != "4 parent lookup" {
		t.Fatalf("%q %v", problems(bad), err)
	}
	// Change the schema: the next batch is refused.
	exp, err := e.cat.Export(ctx, tn)
	if err != nil {
		t.Fatal(err)
	}
	acct := exp.Object("Account")
	acct.Meta.Label = model.Text{"en": "Company"}
	if _, err := e.cat.Apply(ctx, tn, catalogApply(exp)); err != nil {
		t.Fatal(err)
	}
	if _, err := im.Write(ctx, []records.ImportRow{row(t, 5, `{"name":"Late"}`)}); code(err) != "schema_changed" {
		t.Fatalf("after a schema change: %v", err)
	}
	_, _ = im.Close(ctx)
	if n := count(t, e, tn, "Account"); n != 3 {
		t.Fatalf("%d accounts", n)
	}
}

func catalogApply(b *model.Bundle) catalog.ApplyRequest {
	return catalog.ApplyRequest{Bundle: b, Mode: catalog.Replace, Actor: "test"}
}
