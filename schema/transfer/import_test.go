package transfer_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/transfer"
)

func errCode(err error) string {
	if e, ok := apierror.As(err); ok {
		return e.Code
	}
	if err != nil {
		return "untyped: " + err.Error()
	}
	return ""
}

func importString(t *testing.T, e *env, tenant, object, data string, opts transfer.ImportOptions) (*transfer.Summary, string) {
	t.Helper()
	var report bytes.Buffer
	opts.Report = &report
	if opts.Actor == "" {
		opts.Actor = "test"
	}
	sum, err := transfer.Import(context.Background(), e.store, tenant, object, strings.NewReader(data), opts)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return sum, report.String()
}

// all lists an object's live records by a field's value.
func all(t *testing.T, e *env, tenant, object, key string) map[string]*records.Record {
	t.Helper()
	out := map[string]*records.Record{}
	after := ""
	for {
		page, next, err := e.store.List(context.Background(), tenant, object, records.ListOptions{Limit: 1000, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			k := r.ID
			if key != "id" {
				k = fmt.Sprint(r.Values[key])
			}
			out[k] = r
		}
		if next == "" {
			return out
		}
		after = next
	}
}

func eventsOf(t *testing.T, e *env, tenant string) []outbox.Event {
	t.Helper()
	var out []outbox.Event
	var after int64
	for {
		evs, err := outbox.Events(context.Background(), e.db.App, tenant, after, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
		after = evs[len(evs)-1].Seq
	}
}

// accounts imports two accounts into tenant and returns their ids by name.
func accounts(t *testing.T, e *env, tenant string) map[string]string {
	t.Helper()
	sum, report := importString(t, e, tenant, "Account", "name,website,code\nAcme,https://acme.example,7\nGlobex,https://globex.example,8\n", transfer.ImportOptions{})
	if sum.Created != 2 || !sum.Committed {
		t.Fatalf("accounts: %+v\n%s", sum, report)
	}
	ids := map[string]string{}
	for name, r := range all(t, e, tenant, "Account", "name") {
		ids[name] = r.ID
	}
	return ids
}

// Every kind converts from CSV text as documented, and each written record
// has its record.created event.
func TestImportCSVConvertsEveryKind(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant(t, "acme", crmBundle)
	acct := accounts(t, e, tn)
	before := len(eventsOf(t, e, tn))
	data := "\ufeffemail,name,notes,phone,homepage,age,rating,share,budget,vip,born,lastSeen,level,topics,extra,account.website,number,createdAt\n" +
		`ann@acme.example,Ann,"line one` + "\n" + `line ""two""",+1 (555) 010-0100,https://ann.example/x?a=1, 42 ,4.5,12.5,12.50 usd,TRUE,1990-01-02,2026-11-23T18:00:00+01:00,senior, crm ; bi ,"{""a"":[1,2]}",https://acme.example,C-9999,2020-01-01T00:00:00Z` + "\n" +
		"bob@acme.example,,,,,,,,,false,,,,,,,,\n"
	sum, report := importString(t, e, tn, "Contact", data, transfer.ImportOptions{})
	if sum.Created != 2 || sum.Bad != 0 || !sum.Committed || sum.Rows != 2 {
		t.Fatalf("summary %+v\n%s", sum, report)
	}
	if !reflect.DeepEqual(sum.IgnoredColumns, []string{"createdAt", "number"}) {
		t.Fatalf("ignored %v", sum.IgnoredColumns)
	}
	got := all(t, e, tn, "Contact", "email")
	ann, bob := got["ann@acme.example"], got["bob@acme.example"]
	want := map[string]any{
		"email": "ann@acme.example", "name": "Ann", "notes": "line one\nline \"two\"", "phone": "+1 (555) 010-0100",
		"homepage": "https://ann.example/x?a=1", "age": json.Number("42"), "rating": json.Number("4.5"), "share": json.Number("12.5"),
		"budget": map[string]any{"amount": json.Number("12.50"), "currency": "USD"}, "vip": true, "born": "1990-01-02",
		"lastSeen": "2026-11-23T17:00:00Z", "level": "senior", "topics": []any{"crm", "bi"}, "extra": map[string]any{"a": []any{json.Number("1"), json.Number("2")}},
		"account": acct["Acme"], "number": "C-0001",
	}
	if !reflect.DeepEqual(ann.Values, want) {
		t.Fatalf("ann:\n got %#v\nwant %#v", ann.Values, want)
	}
	// Empty cells give no value: defaults apply.
	if !reflect.DeepEqual(bob.Values, map[string]any{"email": "bob@acme.example", "vip": false, "level": "junior", "number": "C-0002"}) {
		t.Fatalf("bob: %#v", bob.Values)
	}
	evs := eventsOf(t, e, tn)[before:]
	if len(evs) != 2 || evs[0].Topic != "record.created" || evs[1].Topic != "record.created" {
		t.Fatalf("events %v", evs)
	}
	var p records.EventPayload
	if err := json.Unmarshal(evs[0].Payload, &p); err != nil || p.ID != ann.ID || p.Values["number"] != "C-0001" || p.Values["account"] != acct["Acme"] {
		t.Fatalf("event %s", evs[0].Payload)
	}
}

// Bad rows are reported with row, line, field, rule and the offending
// value; in skip-bad-rows mode the good rows are written.
func TestImportCSVReportsBadRows(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant(t, "acme", crmBundle)
	accounts(t, e, tn)
	data := "email,age,budget,vip,born,level,topics,account.website\n" +
		"ok1@acme.example,30,1 EUR,true,2000-01-01,junior,crm,https://acme.example\n" + // row 1, line 2
		"bad1@acme.example,abc,12.50,yes,2026-02-30,boss,crm;xx,https://nowhere.example\n" + // row 2
		"bad2@acme.example,200,,,,,,\n" + // row 3
		"ok1@acme.example,,,,,,,\n" + // row 4: unique against row 1
		"too,few\n" + // row 5: field count
		"ok2@acme.example,\"31\",\"-5 USD\",,,,,\n" + // row 6: minimum on the amount
		"ok3@acme.example,,,,,,,https://globex.example\n" // row 7
	sum, report := importString(t, e, tn, "Contact", data, transfer.ImportOptions{Mode: transfer.SkipBadRows, BatchSize: 3})
	if sum.Created != 2 || sum.Bad != 5 || !sum.Committed || sum.Rows != 7 {
		t.Fatalf("summary %+v\n%s", sum, report)
	}
	lines, err := csv.NewReader(strings.NewReader(report)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(lines[0], transfer.ReportHeader) {
		t.Fatalf("header %v", lines[0])
	}
	var got []string
	for _, l := range lines[1:] {
		got = append(got, strings.Join(l[:5], "|"))
	}
	want := []string{
		"2|3|age|type|abc", "2|3|budget|type|12.50", "2|3|vip|type|yes", "2|3|account|lookup|https://nowhere.example",
		"2|3|born|format|2026-02-30", "2|3|level|enum|boss", "2|3|topics|enum|xx",
		"3|4|age|maximum|200",
		"4|5|email|unique|ok1@acme.example",
		"5|6||csv|",
		"6|7|budget|minimum|-5",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("report:\n%s\nwant:\n%s\n\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), report)
	}
	for _, l := range lines[1:] {
		if l[5] == "" {
			t.Fatalf("a problem without a message: %v", l)
		}
	}
	if sum.Problems != int64(len(want)) || len(sum.FirstProblems) != 10 || sum.FirstProblems[0].Field != "age" {
		t.Fatalf("problems %d first %v", sum.Problems, sum.FirstProblems)
	}
	got2 := all(t, e, tn, "Contact", "email")
	if len(got2) != 2 || got2["ok1@acme.example"] == nil || got2["ok3@acme.example"] == nil {
		t.Fatalf("written: %v", got2)
	}
}

// All-or-nothing: one bad row anywhere leaves zero records and zero events.
func TestImportAllOrNothingLeavesNothing(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant(t, "acme", leadBundle)
	before := len(eventsOf(t, e, tn))
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(newLeadCSV("x", 2500, 2000)); err != nil {
		t.Fatal(err)
	}
	sum, report := importString(t, e, tn, "Lead", buf.String(), transfer.ImportOptions{Mode: transfer.AllOrNothing, BatchSize: 500})
	if sum.Committed || sum.Bad != 1 || sum.Rows != 2500 || sum.Created != 2499 {
		t.Fatalf("summary %+v", sum)
	}
	if !strings.Contains(report, "2000,2001,rating,maximum,1000,") {
		t.Fatalf("report:\n%s", report)
	}
	if n := len(all(t, e, tn, "Lead", "id")); n != 0 {
		t.Fatalf("%d leads after a rejected import", n)
	}
	if n := len(eventsOf(t, e, tn)); n != before {
		t.Fatalf("%d events after a rejected import, want %d", n, before)
	}
	// Fixed, it commits with every event.
	sum, report = importString(t, e, tn, "Lead", strings.Replace(buf.String(), ",1000,", ",10,", 1), transfer.ImportOptions{BatchSize: 500})
	if !sum.Committed || sum.Created != 2500 {
		t.Fatalf("summary %+v\n%s", sum, report)
	}
	if n := len(eventsOf(t, e, tn)); n != before+2500 {
		t.Fatalf("%d events, want %d", n, before+2500)
	}
}

// NDJSON: values as the API takes them, blank lines skipped, bad lines
// reported, keys mapped like CSV columns, null clears on update.
func TestImportNDJSON(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant(t, "acme", crmBundle)
	acct := accounts(t, e, tn)
	data := `{"email":"ann@acme.example","age":41,"budget":{"amount":9.5,"currency":"EUR"},"topics":["erp"],"account":"` + acct["Acme"] + `","version":3}` + "\n" +
		"\n" +
		`{"email":"bob@acme.example","account.website":"https://globex.example","extra":{"deep":{"x":null}}}` + "\n" +
		`{"email":"bad@acme.example","colour":"red"}` + "\n" +
		`not json` + "\n" +
		`[1,2]` + "\n" +
		`{"mail":"cy@acme.example","vip":"yes"}` // no newline at the end
	sum, report := importString(t, e, tn, "Contact", data, transfer.ImportOptions{Format: transfer.NDJSON, Mode: transfer.SkipBadRows, Map: map[string]string{"mail": "email"}})
	if sum.Rows != 6 || sum.Created != 2 || sum.Bad != 4 {
		t.Fatalf("summary %+v\n%s", sum, report)
	}
	for _, want := range []string{"3,4,colour,unknown_field,", "4,5,,json,", "5,6,,json,", "6,7,vip,type,yes,"} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	got := all(t, e, tn, "Contact", "email")
	if got["ann@acme.example"].Values["account"] != acct["Acme"] || got["bob@acme.example"].Values["account"] != acct["Globex"] {
		t.Fatalf("lookups: %v %v", got["ann@acme.example"].Values, got["bob@acme.example"].Values)
	}
	// Upsert: null clears, absent keeps.
	sum, report = importString(t, e, tn, "Contact", `{"email":"ann@acme.example","age":null,"level":"senior"}`+"\n",
		transfer.ImportOptions{Format: transfer.NDJSON, UpsertOn: "email"})
	if sum.Updated != 1 {
		t.Fatalf("upsert %+v\n%s", sum, report)
	}
	ann := all(t, e, tn, "Contact", "email")["ann@acme.example"]
	if _, has := ann.Values["age"]; has || ann.Values["level"] != "senior" || ann.Values["topics"] == nil || ann.Version != 2 {
		t.Fatalf("after upsert: %+v", ann)
	}
}

// CSV upsert on a unique field: existing records are updated with a new
// version and a record.updated event naming the changes; others created.
func TestImportCSVUpsert(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant(t, "acme", crmBundle)
	importString(t, e, tn, "Contact", "email,age,level\nann@acme.example,30,junior\nbob@acme.example,40,junior\n", transfer.ImportOptions{})
	before := len(eventsOf(t, e, tn))
	sum, report := importString(t, e, tn, "Contact", "email,age,level\nANN@acme.example,31,\nbob@acme.example,40,junior\ncy@acme.example,50,\n",
		transfer.ImportOptions{UpsertOn: "email"})
	if sum.Updated != 1 || sum.Unchanged != 1 || sum.Created != 1 || !sum.Committed {
		t.Fatalf("summary %+v\n%s", sum, report)
	}
	got := all(t, e, tn, "Contact", "email")
	ann := got["ANN@acme.example"]
	if ann == nil || ann.Version != 2 || ann.Values["age"] != json.Number("31") || ann.Values["level"] != "junior" {
		t.Fatalf("ann %+v (empty cells leave values unchanged)", got)
	}
	evs := eventsOf(t, e, tn)[before:]
	if len(evs) != 2 || evs[0].Topic != "record.updated" || evs[1].Topic != "record.created" {
		t.Fatalf("events %v", evs)
	}
	var p records.EventPayload
	_ = json.Unmarshal(evs[0].Payload, &p)
	if p.Version != 2 || p.Changes["age"].Old != float64(30) || p.Changes["age"].New != float64(31) {
		t.Fatalf("changes %s", evs[0].Payload)
	}
}

// A lookup naming another tenant's record, by id or by unique field, is
// reported exactly like a missing one.
func TestImportLookupInAnotherTenantLooksMissing(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(t, "tenant-a", crmBundle), e.tenant(t, "tenant-b", crmBundle)
	accounts(t, e, a)
	bAccts := accounts(t, e, b)
	importString(t, e, a, "Account", "name,website\nOnly in A,https://only-a.example\n", transfer.ImportOptions{})
	data := "email,account,account.website\n" // two columns for one field: refused
	if _, err := transfer.Import(context.Background(), e.store, a, "Contact", strings.NewReader(data), transfer.ImportOptions{}); errCode(err) != "invalid_header" {
		t.Fatalf("two columns for account: %v", err)
	}
	missing := "00000000-0000-4000-8000-000000000000"
	sum, report := importString(t, e, a, "Contact", "email,account\nx@a.example,"+bAccts["Acme"]+"\ny@a.example,"+missing+"\n", transfer.ImportOptions{Mode: transfer.SkipBadRows})
	lines, _ := csv.NewReader(strings.NewReader(report)).ReadAll()
	if sum.Bad != 2 || len(lines) != 3 {
		t.Fatalf("%+v\n%s", sum, report)
	}
	if strings.ReplaceAll(lines[1][5], bAccts["Acme"], "ID") != strings.ReplaceAll(lines[2][5], missing, "ID") || lines[1][3] != "lookup" {
		t.Fatalf("another tenant's account is told apart from a missing one:\n%s", report)
	}
	sum, report = importString(t, e, b, "Contact", "email,account.website\nz@b.example,https://only-a.example\n", transfer.ImportOptions{Mode: transfer.SkipBadRows})
	if sum.Bad != 1 || !strings.Contains(report, "lookup,https://only-a.example,no Account record with website https://only-a.example") {
		t.Fatalf("%+v\n%s", sum, report)
	}
}

// The header must map: unknown columns are refused unless ignored, --map
// renames and skips, read-only targets and non-unique lookup paths are
// refused.
func TestImportMapping(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant(t, "acme", crmBundle)
	accounts(t, e, tn)
	ctx := context.Background()
	for _, c := range []struct {
		data string
		opts transfer.ImportOptions
		code string
	}{
		{"email,colour\n", transfer.ImportOptions{}, "invalid_header"},
		{"email,account.name\n", transfer.ImportOptions{}, "invalid_header"},
		{"", transfer.ImportOptions{}, "invalid_header"},
		{"Mail\n", transfer.ImportOptions{Map: map[string]string{"Mail": "number"}}, "invalid_map"},
		{"Mail\n", transfer.ImportOptions{Map: map[string]string{"Mail": "nothing"}}, "invalid_map"},
		{"email\n", transfer.ImportOptions{UpsertOn: "name"}, "invalid_upsert_field"},
		{"email\n", transfer.ImportOptions{BatchSize: -1}, "invalid_batch"},
		{"email\n", transfer.ImportOptions{Mode: "some"}, "invalid_mode"},
		{"email\n", transfer.ImportOptions{Format: "xml"}, "invalid_format"},
	} {
		if _, err := transfer.Import(ctx, e.store, tn, "Contact", strings.NewReader(c.data), c.opts); errCode(err) != c.code {
			t.Errorf("%q %+v: %v, want %s", c.data, c.opts, err, c.code)
		}
	}
	if _, err := transfer.Import(ctx, e.store, tn, "Nope", strings.NewReader("a\n"), transfer.ImportOptions{}); errCode(err) != "object_not_found" {
		t.Errorf("unknown object: %v", err)
	}
	m, err := transfer.ParseMap([]string{"E-Mail=email,Site=account.website", "Junk="})
	if err != nil || !reflect.DeepEqual(m, map[string]string{"E-Mail": "email", "Site": "account.website", "Junk": ""}) {
		t.Fatalf("ParseMap: %v %v", m, err)
	}
	if _, err := transfer.ParseMap([]string{"nocolumn"}); errCode(err) != "invalid_map" {
		t.Fatalf("bad map entry: %v", err)
	}
	sum, report := importString(t, e, tn, "Contact", "E-Mail,Site,Junk,colour\nann@acme.example,https://acme.example,x,red\n",
		transfer.ImportOptions{Map: m, IgnoreUnknown: true})
	if sum.Created != 1 || !reflect.DeepEqual(sum.IgnoredColumns, []string{"colour"}) {
		t.Fatalf("%+v\n%s", sum, report)
	}
}

// Memory stays flat: the live heap's peak while importing 100,000 rows is
// not much above its peak for 10,000 (rows are generated by an io.Reader,
// so the file itself takes no memory).
func TestImportMemoryIsFlat(t *testing.T) {
	e := newEnv(t)
	peak := func(rows int) uint64 {
		tn := e.tenant(t, fmt.Sprintf("mem-%d", rows), leadBundle)
		runtime.GC()
		var max uint64
		// The live heap: what the import holds, not garbage awaiting the
		// collector (whose amount depends on GC pacing, not on the file).
		sample := func() {
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > max {
				max = ms.HeapAlloc
			}
		}
		n := 0
		sum, err := transfer.Import(context.Background(), e.store, tn, "Lead", newLeadCSV("m", rows, 997), transfer.ImportOptions{
			Mode: transfer.SkipBadRows, Report: discard{}, Actor: "mem",
			Progress: func(transfer.Progress) {
				if n++; n%3 == 0 {
					sample()
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rows != int64(rows) || sum.Bad != int64(rows/997) {
			t.Fatalf("summary %+v", sum)
		}
		sample()
		return max
	}
	small, large := peak(10_000), peak(100_000)
	t.Logf("peak heap: %d KiB for 10,000 rows, %d KiB for 100,000", small/1024, large/1024)
	if large > small*2+16<<20 {
		t.Fatalf("the heap grows with the file: %d KiB for 10,000 rows, %d KiB for 100,000", small/1024, large/1024)
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
