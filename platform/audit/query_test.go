package audit_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/audit"
)

// dataset appends n entries to tenant with actors, actions, objects,
// records and times in rotation, and returns them as stored, newest first.
func dataset(t *testing.T, e *env, tenant string, n int, base time.Time) []audit.Entry {
	t.Helper()
	actors := []string{"user:alice", "user:bob", "integration:erp", "cli"}
	actions := []string{"record.created", "record.updated", "record.deleted", "auth.login", "schema.changed", "record.tagged"}
	objects := []string{"Lead", "Account", ""}
	records := []string{"7d1f4c2e-1111-4a4a-8888-000000000001", "7d1f4c2e-1111-4a4a-8888-000000000002", "7d1f4c2e-1111-4a4a-8888-000000000003", ""}
	entries := make([]audit.Entry, n)
	for i := range entries {
		entries[i] = audit.Entry{
			Actor:    actors[i%len(actors)],
			Action:   actions[i%len(actions)],
			Object:   objects[i%len(objects)],
			RecordID: records[i%len(records)],
			// Times go back and forth a little, so time order is not id order.
			At:      base.Add(time.Duration(i)*time.Minute + time.Duration(i%3)*7*time.Minute),
			Details: raw(fmt.Sprintf(`{"i":%d}`, i)),
		}
	}
	e.append(t, tenant, entries...)
	return e.all(t, tenant, audit.Query{Limit: audit.MaxLimit})
}

// filter is what a Query selects, computed in Go.
func filter(all []audit.Entry, q audit.Query) []audit.Entry {
	var out []audit.Entry
	for _, en := range all {
		switch {
		case q.RecordID != "" && en.RecordID != q.RecordID,
			q.Actor != "" && en.Actor != q.Actor,
			q.Object != "" && en.Object != q.Object,
			!q.From.IsZero() && en.At.Before(q.From),
			!q.To.IsZero() && !en.At.Before(q.To):
			continue
		}
		if q.Action != "" {
			if p, ok := strings.CutSuffix(q.Action, "*"); ok {
				if !strings.HasPrefix(en.Action, p) {
					continue
				}
			} else if en.Action != q.Action {
				continue
			}
		}
		out = append(out, en)
	}
	return out
}

func ids(es []audit.Entry) []int64 {
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

// detailsIndex returns an entry's details.i, which dataset set.
func detailsIndex(t *testing.T, en audit.Entry) int {
	t.Helper()
	return int(decode(t, en.Details)["i"].(float64))
}

func TestListFiltersAndPages(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	all := dataset(t, e, a, 240, base)
	dataset(t, e, b, 30, base) // noise in another tenant
	if len(all) != 240 {
		t.Fatalf("tenant A lists %d entries, want 240", len(all))
	}
	for i := range all {
		if i > 0 && all[i-1].ID <= all[i].ID {
			t.Fatalf("not newest first at %d: %d then %d", i, all[i-1].ID, all[i].ID)
		}
		// Newest first is the reverse of append order.
		if got := detailsIndex(t, all[i]); got != 239-i {
			t.Fatalf("entry %d has details.i %d, want %d", i, got, 239-i)
		}
	}
	rec := "7d1f4c2e-1111-4a4a-8888-000000000002"
	from, to := base.Add(40*time.Minute), base.Add(130*time.Minute)
	queries := []audit.Query{
		{RecordID: rec},
		{Actor: "integration:erp"},
		{Action: "record.updated"},
		{Action: "record.*"},
		{Action: "rec*"},
		{Action: "*"},
		{Action: "auth.login_failed"},
		{Object: "Lead"},
		{From: from},
		{To: to},
		{From: from, To: to},
		{From: from, To: from},
		{RecordID: rec, Action: "record.*"},
		{Actor: "user:alice", Object: "Lead", From: from},
		{Actor: "cli", Action: "record.*", Object: "Account", From: from, To: to.Add(24 * time.Hour)},
		{RecordID: rec, Actor: "user:bob", Action: "record.updated", Object: "Account", From: base, To: base.Add(300 * time.Minute)},
		{Actor: "nobody"},
	}
	nonEmpty := 0
	for _, q := range queries {
		want := filter(all, q)
		if len(want) > 0 {
			nonEmpty++
		}
		for _, limit := range []int{0, 1, 7, 1000} {
			q := q
			q.Limit = limit
			var got []audit.Entry
			pages := 0
			for {
				page, next, err := e.log.List(t.Context(), a, q)
				if err != nil {
					t.Fatalf("List(%+v): %v", q, err)
				}
				pages++
				if lim := max(limit, 0); lim > 0 && len(page) > lim || limit == 0 && len(page) > audit.DefaultLimit {
					t.Fatalf("List(%+v) returned %d entries", q, len(page))
				}
				got = append(got, page...)
				if next == "" {
					break
				}
				if len(page) == 0 {
					t.Fatalf("List(%+v): an empty page with a next cursor", q)
				}
				q.After = next
			}
			if !slices.Equal(ids(got), ids(want)) {
				t.Errorf("query %+v (limit %d): got %d entries %v, want %d %v", q, limit, len(got), ids(got), len(want), ids(want))
			}
			if limit > 0 {
				wantPages := max(1, (len(want)+limit-1)/limit)
				if pages != wantPages {
					t.Errorf("query %+v: %d pages of %d, want %d", q, pages, limit, wantPages)
				}
			}
		}
	}
	if nonEmpty < len(queries)-3 {
		t.Fatalf("only %d of %d queries select anything: the dataset does not exercise the filters", nonEmpty, len(queries))
	}
	// Every filter narrows: the test would notice one being ignored.
	for _, q := range queries[:len(queries)-1] {
		if q.Action == "*" || q.Action == "" && q.RecordID == "" && q.Actor == "" && q.Object == "" && q.From.IsZero() && q.To.IsZero() {
			continue
		}
		if n := len(filter(all, q)); n == len(all) {
			t.Errorf("query %+v selects everything", q)
		}
	}
}

func TestListRejectsBadQueries(t *testing.T) {
	e := newEnv(t)
	a := e.tenant(t, "tenant-a")
	now := time.Now()
	for _, c := range []struct {
		q           audit.Query
		field, code string
	}{
		{audit.Query{Limit: -1}, "limit", "invalid_limit"},
		{audit.Query{Limit: audit.MaxLimit + 1}, "limit", "invalid_limit"},
		{audit.Query{After: "not a cursor"}, "after", "invalid_cursor"},
		{audit.Query{After: "YTE6LTU"}, "after", "invalid_cursor"}, // "a1:-5"
		{audit.Query{From: now, To: now.Add(-time.Second)}, "to", "invalid_range"},
		{audit.Query{RecordID: "42"}, "recordId", "invalid_id"},
		{audit.Query{Action: "record.*.x*"}, "action", "invalid_action"},
	} {
		_, _, err := e.log.List(t.Context(), a, c.q)
		wantInvalid(t, err, c.field, c.code)
	}
	_, _, err := e.log.History(t.Context(), a, "", "", 10)
	wantInvalid(t, err, "recordId", "record_required")
	_, _, err = e.log.History(t.Context(), a, "7d1f4c2e-1111-4a4a-8888-000000000002", "", 5000)
	wantInvalid(t, err, "limit", "invalid_limit")
	_, err = e.log.Export(t.Context(), a, audit.Query{From: now, To: now.Add(-time.Hour)}, io.Discard)
	wantInvalid(t, err, "to", "invalid_range")
	// Export ignores Limit and After.
	if _, err := e.log.Export(t.Context(), a, audit.Query{Limit: -5, After: "junk"}, io.Discard); err != nil {
		t.Errorf("Export with a bad Limit and After: %v", err)
	}
}

// A record's history is every entry about it, newest first, in one query.
func TestHistory(t *testing.T) {
	e := newEnv(t)
	a := e.tenant(t, "tenant-a")
	rec, other := "7d1f4c2e-1111-4a4a-8888-00000000000a", "7d1f4c2e-1111-4a4a-8888-00000000000b"
	e.append(t, a, audit.Entry{Action: "record.created", Object: "Lead", RecordID: rec, Changes: raw(`{"name":{"old":null,"new":"Ada"}}`)})
	e.append(t, a, audit.Entry{Action: "record.created", Object: "Lead", RecordID: other})
	e.append(t, a, audit.Entry{Action: "record.updated", Object: "Lead", RecordID: rec, Changes: raw(`{"name":{"old":"Ada","new":"Ada L."}}`)})
	e.append(t, a, audit.Entry{Action: "auth.login"})
	e.append(t, a, audit.Entry{Action: "record.deleted", Object: "Lead", RecordID: rec})

	l, c := e.countingLog(t)
	hist, next, err := l.History(t.Context(), a, rec, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.reads.Load(); got != 1 {
		t.Errorf("History read audit_log with %d statements, want 1", got)
	}
	var actions []string
	for _, h := range hist {
		actions = append(actions, h.Action)
		if h.RecordID != rec || h.Object != "Lead" {
			t.Errorf("history of %s holds %+v", rec, h)
		}
	}
	if strings.Join(actions, ",") != "record.deleted,record.updated,record.created" || next != "" {
		t.Fatalf("history = %v (next %q), want deleted, updated, created", actions, next)
	}
	if ch := decode(t, hist[1].Changes)["name"].(map[string]any); ch["old"] != "Ada" || ch["new"] != "Ada L." {
		t.Errorf("update changes = %v", ch)
	}
	// Paged.
	p1, next, err := l.History(t.Context(), a, rec, "", 2)
	if err != nil || len(p1) != 2 || next == "" {
		t.Fatalf("page 1: %d entries, next %q, %v", len(p1), next, err)
	}
	p2, next2, err := l.History(t.Context(), a, rec, next, 2)
	if err != nil || len(p2) != 1 || next2 != "" || p2[0].Action != "record.created" {
		t.Fatalf("page 2: %+v, next %q, %v", p2, next2, err)
	}
	// List also answers in one statement.
	before := c.reads.Load()
	if _, _, err := l.List(t.Context(), a, audit.Query{Actor: "system", Action: "record.*", From: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got := c.reads.Load() - before; got != 1 {
		t.Errorf("List read audit_log with %d statements, want 1", got)
	}
}

// pageWatcher is an export's destination: it notes how many audit_log
// reads had been made when the first bytes arrived.
type pageWatcher struct {
	c          *counter
	firstWrite int64
	buf        strings.Builder
}

func (w *pageWatcher) Write(p []byte) (int, error) {
	if w.firstWrite == 0 {
		w.firstWrite = w.c.reads.Load()
	}
	return w.buf.Write(p)
}

func TestExportStreamsNDJSONInPages(t *testing.T) {
	e := newEnv(t)
	a, b := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	const n = 2600
	entries := make([]audit.Entry, n)
	for i := range entries {
		entries[i] = audit.Entry{Actor: "user:alice", Action: []string{"record.created", "record.updated", "auth.login"}[i%3],
			Object: "Lead", Details: raw(fmt.Sprintf(`{"i":%d,"note":"%s"}`, i, strings.Repeat("x", 100)))}
	}
	e.append(t, a, entries...)
	e.append(t, b, audit.Entry{Action: "record.created", Actor: "user:bob"})

	l, c := e.countingLog(t)
	w := &pageWatcher{c: c}
	got, err := l.Export(t.Context(), a, audit.Query{}, w)
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Fatalf("Export wrote %d entries, want %d", got, n)
	}
	// Streamed in pages: output began after the first page's read, and
	// the whole export took one read per page of 1,000.
	if w.firstWrite != 1 {
		t.Errorf("the first bytes arrived after %d reads, want 1 (a page at a time)", w.firstWrite)
	}
	if reads := c.reads.Load(); reads != 3 {
		t.Errorf("Export of %d entries made %d reads, want 3 pages", n, reads)
	}
	sc := bufio.NewScanner(strings.NewReader(w.buf.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	lines := 0
	var prev int64
	for sc.Scan() {
		var en audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &en); err != nil {
			t.Fatalf("line %d is not an entry: %v: %s", lines+1, err, sc.Text())
		}
		if lines > 0 && en.ID >= prev {
			t.Fatalf("line %d: id %d after %d, want newest first", lines+1, en.ID, prev)
		}
		if want := n - 1 - lines; detailsIndex(t, en) != want || en.Actor != "user:alice" {
			t.Fatalf("line %d: %+v, want details.i %d", lines+1, en, want)
		}
		prev = en.ID
		lines++
	}
	if lines != n {
		t.Fatalf("%d lines, want %d", lines, n)
	}

	// Filters apply to the export.
	var buf strings.Builder
	got, err = e.log.Export(t.Context(), a, audit.Query{Action: "record.*", Limit: 1}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	wantN := 2 * n / 3
	if n%3 == 2 {
		wantN++
	}
	if got != wantN || strings.Count(buf.String(), "\n") != wantN || strings.Contains(buf.String(), `"auth.login"`) {
		t.Fatalf("filtered export wrote %d entries (%d lines), want %d record entries", got, strings.Count(buf.String(), "\n"), wantN)
	}
}
