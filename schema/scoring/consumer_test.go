package scoring_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/scoring"
)

// TestConsumerKeepsScoresCurrent drives the scoring consumer through the
// changes that move a lead's score: its own values, its activities
// (created, moved to another lead, deleted), the account its lookup
// points at, its tags, deletion and restoring, and checks that it does
// not react to its own record.scored events.
func TestConsumerKeepsScoresCurrent(t *testing.T) {
	e := newEnv(t, scoring.Options{})
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.apply(t, tenant, "Lead", leadRules)
	e.runJobs(t, tenant)
	c, err := e.svc.Consumer(outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name() != "scoring" {
		t.Fatalf("consumer name %q", c.Name())
	}
	expect := func(what, id, score, grade string) {
		t.Helper()
		drain(t, c)
		if s, g := e.scoreOf(t, id); s != score || g != grade {
			t.Fatalf("%s: score %s grade %s, want %s %s", what, s, g, score, grade)
		}
	}
	lead := e.create(t, tenant, "Lead", `{"lastName": "New", "status": "new"}`)
	expect("created", lead, "0", "D")
	e.update(t, tenant, "Lead", lead, `{"status": "qualified", "source": "referral"}`)
	expect("updated", lead, "50", "B")

	act := e.activity(t, tenant, lead, "meeting", t0.Add(-day))
	expect("activity created", lead, "60", "A")
	other := e.create(t, tenant, "Lead", `{"lastName": "Other"}`)
	expect("other created", other, "0", "D")
	e.update(t, tenant, "Activity", act, `{"lead": "`+other+`"}`)
	expect("activity moved away", lead, "50", "B")
	expect("activity moved here", other, "10", "D")
	if err := e.store.Delete(ctx, tenant, actor, "Activity", act, nil); err != nil {
		t.Fatal(err)
	}
	expect("activity deleted", other, "0", "D")

	// Through a lookup: the account's industry decides techAccount.
	acct := e.create(t, tenant, "Account", `{"name": "Acme", "industry": "retail"}`)
	e.update(t, tenant, "Lead", lead, `{"convertedAccount": "`+acct+`"}`)
	expect("retail account", lead, "50", "B")
	e.update(t, tenant, "Account", acct, `{"industry": "technology"}`)
	expect("technology account", lead, "65", "A")

	// Tags: a record.tagged event, as schema/tags appends it.
	m, err := e.cat.Model(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	err = database.InTenantTx(ctx, e.db.App, tenant, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE records SET tags = '{tier/vip}', version = version + 1 WHERE tenant_id = $1 AND id = $2`, tenant, lead); err != nil {
			return err
		}
		_, err := outbox.Append(ctx, tx, tenant, "record.tagged", map[string]any{
			"object": "Lead", "objectId": m.Object("Lead").Key, "id": lead, "added": []string{"tier/vip"}, "source": "manual"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	expect("tagged", lead, "90", "A")

	// No feedback loop: nothing left to do, and no more record.scored
	// events however often the consumer runs.
	n := len(scoredEvents(t, e, tenant))
	drain(t, c)
	if m := len(scoredEvents(t, e, tenant)); m != n {
		t.Fatalf("record.scored events went from %d to %d with nothing changing", n, m)
	}
	for _, ev := range scoredEvents(t, e, tenant) {
		if ev["reason"] != "record" {
			t.Fatalf("consumer event: %v", ev)
		}
	}

	// Deleting keeps the last score; restoring rescores.
	if err := e.store.Delete(ctx, tenant, actor, "Lead", lead, nil); err != nil {
		t.Fatal(err)
	}
	drain(t, c)
	if _, err := e.db.Owner.Exec(context.Background(), `UPDATE records SET tags = '{}' WHERE id = $1`, lead); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Restore(ctx, tenant, actor, "Lead", lead); err != nil {
		t.Fatal(err)
	}
	expect("restored without tags", lead, "65", "A")

	// Score rescores named records on demand, like the consumer.
	if _, err := e.db.Owner.Exec(context.Background(), `UPDATE records SET tags = '{tier/vip}' WHERE id = $1`, other); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.Score(ctx, tenant, "Lead", []string{other}); err != nil {
		t.Fatal(err)
	}
	if s, g := e.scoreOf(t, other); s != "25" || g != "C" {
		t.Fatalf("Score: %s %s", s, g)
	}
}
