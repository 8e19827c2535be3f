package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/outbox"
)

// AppendMany numbers a batch of events after the tenant's earlier ones,
// without gaps, in array order; a rollback takes the whole batch back; and
// AppendSelect does the same for staged events, touching nothing for none.
func TestAppendManyAndSelect(t *testing.T) {
	db := dbtest.New(t)
	ctx := context.Background()
	a, b := newTenant(t, db, "tenant-a"), newTenant(t, db, "tenant-b")
	payloads := func(from, n int) []json.RawMessage {
		out := make([]json.RawMessage, n)
		for i := range out {
			out[i] = json.RawMessage(fmt.Sprintf(`{"n":%d}`, from+i))
		}
		return out
	}
	topics := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "bulk.created"
		}
		return out
	}
	// One single event first, then a batch of 3 (the head exists), then a
	// batch of 2 for a tenant without a head yet.
	err := database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		if _, err := outbox.Append(ctx, tx, a, "single", map[string]int{"n": 0}); err != nil {
			return err
		}
		return outbox.AppendMany(ctx, tx, a, topics(3), payloads(1, 3))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := database.InTenantTx(ctx, db.App, b, func(tx pgx.Tx) error {
		return outbox.AppendMany(ctx, tx, b, topics(2), payloads(1, 2))
	}); err != nil {
		t.Fatal(err)
	}
	// A rolled-back batch leaves no event and no gap.
	errBack := errors.New("back")
	if err := database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		if err := outbox.AppendMany(ctx, tx, a, topics(5), payloads(100, 5)); err != nil {
			return err
		}
		return errBack
	}); !errors.Is(err, errBack) {
		t.Fatal(err)
	}
	// Staged events, in ord order whatever the insertion order; none staged
	// appends nothing.
	err = database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE staged (ord bigint, topic text, payload jsonb) ON COMMIT DROP`); err != nil {
			return err
		}
		n, err := outbox.AppendSelect(ctx, tx, a, `SELECT ord, topic, payload FROM staged`)
		if err != nil || n != 0 {
			return fmt.Errorf("empty: %d %v", n, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO staged VALUES (2, 'staged', '{"n":5}'), (1, 'staged', '{"n":4}')`); err != nil {
			return err
		}
		n, err = outbox.AppendSelect(ctx, tx, a, `SELECT ord, topic, payload FROM staged WHERE topic = $2`, "staged")
		if err != nil || n != 2 {
			return fmt.Errorf("staged: %d %v", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(tenant string, want []string) {
		t.Helper()
		evs, err := outbox.Events(ctx, db.App, tenant, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, e := range evs {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
			got = append(got, e.Topic+string(e.Payload))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("events of %s:\n got %v\nwant %v", tenant, got, want)
		}
	}
	check(a, []string{`single{"n": 0}`, `bulk.created{"n": 1}`, `bulk.created{"n": 2}`, `bulk.created{"n": 3}`, `staged{"n": 4}`, `staged{"n": 5}`})
	check(b, []string{`bulk.created{"n": 1}`, `bulk.created{"n": 2}`})

	// Bad input is refused before anything is sent.
	bt := &pgx.Batch{}
	if err := outbox.QueueMany(bt, a, []string{"x"}, nil); err == nil {
		t.Error("mismatched lengths accepted")
	}
	if err := outbox.QueueMany(bt, a, []string{""}, []json.RawMessage{json.RawMessage(`{}`)}); err == nil {
		t.Error("empty topic accepted")
	}
	if err := outbox.QueueMany(bt, a, []string{"x"}, []json.RawMessage{json.RawMessage(`{`)}); err == nil {
		t.Error("bad JSON accepted")
	}
	if err := outbox.QueueMany(bt, "", []string{"x"}, []json.RawMessage{json.RawMessage(`{}`)}); !errors.Is(err, database.ErrNoTenant) {
		t.Errorf("no tenant: %v", err)
	}
	if bt.Len() != 0 {
		t.Errorf("%d statements queued for bad input", bt.Len())
	}
}
