package audit_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/outbox"
)

// The consumer turns the outbox's events, as the record store, tags and
// scoring write them, into entries, once each however often delivered.
func TestConsumerRecordsEventsOnce(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	user := "5b0c8f3e-aaaa-4bbb-8ccc-000000000001"
	rec := "7d1f4c2e-1111-4a4a-8888-000000000001"
	rec2 := "7d1f4c2e-1111-4a4a-8888-000000000002"
	events := []struct {
		topic   string
		payload string
	}{
		{"record.created", `{"object":"Lead","objectId":"o1","id":"` + rec + `","version":1,"actor":"` + user + `","values":{"name":"Ada","score":3}}`},
		{"record.updated", `{"object":"Lead","objectId":"o1","id":"` + rec + `","version":2,"actor":"integration:erp","changes":{"name":{"old":"Ada","new":"Ada L."},"city":{"old":null,"new":"Oslo"}}}`},
		{"record.tagged", `{"object":"Lead","objectId":"o1","id":"` + rec + `","version":3,"actor":"system:tag-rules","added":["industry/software"],"removed":[],"source":"rules"}`},
		{"record.scored", `{"object":"Lead","objectId":"o1","rulesetVersion":2,"reason":"rules","records":[{"id":"` + rec + `","old":{"score":null,"grade":null},"new":{"score":42,"grade":"B"}},{"id":"` + rec2 + `","old":{"score":10,"grade":"D"},"new":{"score":12,"grade":"D"}}]}`},
		{"record.scored", `{"object":"Lead","objectId":"o1","rulesetVersion":2,"reason":"decay","records":[{"id":"` + rec + `","old":{"score":42,"grade":"B"},"new":{"score":41,"grade":"B"}}]}`},
		{"record.deleted", `{"object":"Lead","objectId":"o1","id":"` + rec + `","version":4,"actor":"cli","cause":"Account/x"}`},
		{"record.restored", `{"object":"Lead","objectId":"o1","id":"` + rec + `","version":5,"actor":"cli"}`},
		{"plugin.synced", `{"object":"Lead","id":"` + rec + `","actor":"plugin:erp","batch":7}`},
		{"odd.event", `[1,2,3]`},
	}
	for _, ev := range events {
		err := e.inTenant(t, a, func(tx pgx.Tx) error {
			_, err := outbox.Append(ctx, tx, a, ev.topic, json.RawMessage(ev.payload))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	err := e.inTenant(t, b, func(tx pgx.Tx) error {
		_, err := outbox.Append(ctx, tx, b, "record.created", json.RawMessage(`{"object":"Lead","id":"`+rec2+`","actor":"cli","values":{"name":"B"}}`))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	c, err := e.log.Consumer(outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != audit.ConsumerName {
		t.Errorf("consumer name %q, want %q", c.Name(), audit.ConsumerName)
	}
	n, err := c.RunOnce(ctx)
	if err != nil || n != len(events)+1 {
		t.Fatalf("RunOnce delivered %d events (%v), want %d", n, err, len(events)+1)
	}
	check := func() {
		t.Helper()
		got := e.all(t, a, audit.Query{})
		type row struct{ action, actor, record string }
		want := []row{
			{"odd.event", "system", ""},
			{"plugin.synced", "plugin:erp", rec},
			{"record.restored", "cli", rec},
			{"record.deleted", "cli", rec},
			{"record.scored", "system:scoring", ""}, // decay: one entry for the event, no record
			{"record.scored", "system:scoring", rec2},
			{"record.scored", "system:scoring", rec},
			{"record.tagged", "system:tag-rules", rec},
			{"record.updated", "integration:erp", rec},
			{"record.created", "user:" + user, rec},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
		}
		for i, w := range want {
			g := got[i]
			if g.Action != w.action || g.Actor != w.actor || g.RecordID != w.record {
				t.Errorf("entry %d = %s by %s on %q, want %s by %s on %q", i, g.Action, g.Actor, g.RecordID, w.action, w.actor, w.record)
			}
			if g.EventID == "" || time.Since(g.At) > time.Minute {
				t.Errorf("entry %d: event %q at %v", i, g.EventID, g.At)
			}
		}
		created := decode(t, got[9].Changes)
		if name := created["name"].(map[string]any); name["old"] != nil || name["new"] != "Ada" || len(created) != 2 {
			t.Errorf("created changes = %v", created)
		}
		updated := decode(t, got[8].Changes)
		if name := updated["name"].(map[string]any); name["old"] != "Ada" || name["new"] != "Ada L." || len(updated) != 2 {
			t.Errorf("updated changes = %v", updated)
		}
		if d := decode(t, got[8].Details); d["version"] != 2.0 || got[8].Object != "Lead" {
			t.Errorf("updated details = %v, object %q", d, got[8].Object)
		}
		if d := decode(t, got[7].Details); d["source"] != "rules" || len(d["added"].([]any)) != 1 {
			t.Errorf("tagged details = %v", d)
		}
		if s := decode(t, got[6].Changes)["score"].(map[string]any); s["old"] != nil || s["new"] != 42.0 {
			t.Errorf("scored changes = %v", s)
		}
		if d := decode(t, got[4].Details); d["reason"] != "decay" || d["records"] != 1.0 || got[4].Changes != nil {
			t.Errorf("decay entry = %+v", got[4])
		}
		if d := decode(t, got[3].Details); d["cause"] != "Account/x" || d["version"] != 4.0 {
			t.Errorf("deleted details = %v", d)
		}
		if d := decode(t, got[1].Details); d["batch"] != 7.0 {
			t.Errorf("generic details = %v", d)
		}
		if got[0].Details != nil {
			t.Errorf("a non-object payload became details %s", got[0].Details)
		}
		if bs := e.all(t, b, audit.Query{}); len(bs) != 1 || bs[0].Actor != "cli" {
			t.Errorf("tenant B: %+v", bs)
		}
	}
	check()

	// Redelivery (a crash before the cursor was saved): nothing is added.
	if _, err := e.db.Owner.Exec(ctx, "UPDATE outbox_cursors SET last_seq = 0 WHERE consumer = $1", audit.ConsumerName); err != nil {
		t.Fatal(err)
	}
	n, err = c.RunOnce(ctx)
	if err != nil || n != len(events)+1 {
		t.Fatalf("redelivery: RunOnce delivered %d events (%v), want %d", n, err, len(events)+1)
	}
	check()
	if got := e.count(t, "tenant_id = $1", a); got != 10 {
		t.Fatalf("after redelivery tenant A has %d rows, want 10", got)
	}
}
