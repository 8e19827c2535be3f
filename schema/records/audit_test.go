package records_test

import (
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/records"
)

// Writes through the record store reach the audit log through the outbox:
// each record's history holds its changes, field by field, newest first,
// and a redelivered event adds nothing.
func TestRecordChangesReachTheAuditLog(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tenant, other := e.tenant(t, "acme"), e.tenant(t, "globex")
	log := audit.New(e.db.App, slog.New(slog.DiscardHandler))
	user := records.Actor("5b0c8f3e-aaaa-4bbb-8ccc-000000000001")

	acct, err := e.store.Create(ctx, tenant, user, "Account", vals(t, `{"name":"Acme","revenue":{"amount":10,"currency":"USD"}}`))
	if err != nil {
		t.Fatal(err)
	}
	contact, err := e.store.Create(ctx, tenant, "integration:erp", "Contact", vals(t, `{"email":"ada@acme.example","account":"`+acct.ID+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Update(ctx, tenant, user, "Account", acct.ID, vals(t, `{"name":"Acme Corp","website":"https://acme.example"}`), nil); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Delete(ctx, tenant, "cli", "Account", acct.ID, nil); err != nil { // cascades to the contact
		t.Fatal(err)
	}
	if _, err := e.store.Restore(ctx, tenant, "cli", "Account", acct.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Create(ctx, other, "cli", "Account", vals(t, `{"name":"Globex"}`)); err != nil {
		t.Fatal(err)
	}

	c, err := log.Consumer(outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	delivered := 0
	for {
		n, err := c.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		delivered += n
	}
	if delivered != 7 {
		t.Fatalf("the consumer took %d events, want 7", delivered)
	}

	check := func() {
		t.Helper()
		hist, next, err := log.History(ctx, tenant, acct.ID, "", 0)
		if err != nil || next != "" {
			t.Fatalf("history: next %q, %v", next, err)
		}
		type want struct{ action, actor string }
		wants := []want{{"record.restored", "cli"}, {"record.deleted", "cli"}, {"record.updated", "user:" + string(user)}, {"record.created", "user:" + string(user)}}
		if len(hist) != len(wants) {
			t.Fatalf("account history has %d entries, want %d: %+v", len(hist), len(wants), hist)
		}
		for i, w := range wants {
			if hist[i].Action != w.action || hist[i].Actor != w.actor || hist[i].Object != "Account" || hist[i].RecordID != acct.ID {
				t.Errorf("history[%d] = %+v, want %s by %s", i, hist[i], w.action, w.actor)
			}
		}
		var created, updated map[string]records.Change
		if err := json.Unmarshal(hist[3].Changes, &created); err != nil {
			t.Fatal(err)
		}
		if created["name"].Old != nil || created["name"].New != "Acme" || created["revenue"].New == nil || len(created) != 2 {
			t.Errorf("created changes = %+v", created)
		}
		if err := json.Unmarshal(hist[2].Changes, &updated); err != nil {
			t.Fatal(err)
		}
		if updated["name"].Old != "Acme" || updated["name"].New != "Acme Corp" || updated["website"].Old != nil ||
			updated["website"].New != "https://acme.example" || len(updated) != 2 {
			t.Errorf("updated changes = %+v", updated)
		}
		// The cascade: the contact's deletion names its cause.
		ch, _, err := log.History(ctx, tenant, contact.ID, "", 0)
		if err != nil || len(ch) != 2 || ch[0].Action != "record.deleted" || ch[1].Action != "record.created" || ch[1].Actor != "integration:erp" {
			t.Fatalf("contact history = %+v, %v", ch, err)
		}
		var d map[string]any
		if err := json.Unmarshal(ch[0].Details, &d); err != nil || d["cause"] != "Account/"+acct.ID {
			t.Errorf("contact deletion details = %s", ch[0].Details)
		}
		// The whole log: schema change, then the seven record events; the
		// other tenant's writes are not in it.
		all, _, err := log.List(ctx, tenant, audit.Query{Action: "record.*"})
		if err != nil || len(all) != 6 {
			t.Fatalf("tenant's record entries: %d, %v; want 6", len(all), err)
		}
		if s, _, err := log.List(ctx, tenant, audit.Query{Action: audit.ActionSchemaChanged}); err != nil || len(s) != 1 || s[0].Actor != "test" {
			t.Errorf("schema entries = %+v, %v", s, err)
		}
		if o, _, err := log.List(ctx, other, audit.Query{Action: "record.*"}); err != nil || len(o) != 1 || o[0].Actor != "cli" {
			t.Errorf("other tenant's record entries = %+v, %v", o, err)
		}
	}
	check()

	// Redelivery after a crash that lost the cursor: nothing is added.
	if _, err := e.db.Owner.Exec(ctx, "UPDATE outbox_cursors SET last_seq = 0 WHERE consumer = 'audit'"); err != nil {
		t.Fatal(err)
	}
	again := 0
	for {
		n, err := c.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		again += n
	}
	if again != 7 {
		t.Fatalf("redelivered %d events, want 7", again)
	}
	check()
}
