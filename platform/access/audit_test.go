package access_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"github.com/casbin/casbin/v2"
	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
)

// permissionChanges returns the tenant's permission.changed entries,
// newest first, with their details decoded.
func permissionChanges(t *testing.T, db *dbtest.DB, tenant string) ([]audit.Entry, []map[string]any) {
	t.Helper()
	es, _, err := audit.New(db.App, slog.New(slog.DiscardHandler)).List(t.Context(), tenant, audit.Query{Action: audit.ActionPermissionChanged})
	if err != nil {
		t.Fatal(err)
	}
	ds := make([]map[string]any, len(es))
	for i, e := range es {
		if err := json.Unmarshal(e.Details, &ds[i]); err != nil {
			t.Fatalf("details %s: %v", e.Details, err)
		}
	}
	return es, ds
}

func rulesJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Every change of a tenant's rules is one permission.changed entry in
// the same transaction, with the rules really added and removed and who
// changed them; changes that roll back or change nothing leave none.
func TestChangesAreAudited(t *testing.T) {
	t.Parallel()
	db := dbtest.New(t)
	ctx := t.Context()
	a, b := newTenant(t, db, "acme"), newTenant(t, db, "globex")
	s := access.New(db.App, access.Options{Logger: slog.New(slog.DiscardHandler)})
	read := allow("role:rep", a, "record:Lead", "read")
	write := allow("role:rep", a, "record:Lead", "update")
	ann := member("user:ann", "role:rep", a)

	if err := s.Change(ctx, a, access.RuleChange{AddPolicies: [][]string{read, write}, AddGroupings: [][]string{ann}, Actor: "user:admin-1"}, nil); err != nil {
		t.Fatal(err)
	}
	// Removing one that is there and one that is not, adding one that is
	// there (and re-adding the removed one, which leaves it in place).
	err := s.Change(ctx, a, access.RuleChange{
		RemovePolicies: [][]string{write, allow("role:rep", a, "record:Deal", "read"), read},
		AddPolicies:    [][]string{read},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// From a request: the request's actor and id.
	rctx := audit.WithRequest(ctx, audit.Request{ID: "req-9", Address: "192.0.2.9", Actor: "integration:scim"})
	if err := s.Change(rctx, a, access.RuleChange{RemoveGroupings: [][]string{ann}}, nil); err != nil {
		t.Fatal(err)
	}
	// Neither a vetoed change, nor one that changes nothing, nor one in a
	// caller's transaction that rolls back is recorded.
	veto := errors.New("no")
	if err := s.Change(ctx, a, access.RuleChange{AddGroupings: [][]string{ann}}, func(casbin.IEnforcer) error { return veto }); err != veto {
		t.Fatalf("vetoed change: %v", err)
	}
	if err := s.Change(ctx, a, access.RuleChange{AddPolicies: [][]string{read}}, nil); err != nil {
		t.Fatal(err)
	}
	failed := errors.New("caller failed")
	err = database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		if err := s.ChangeTx(ctx, tx, a, access.RuleChange{AddGroupings: [][]string{ann}, Actor: "cli"}, nil); err != nil {
			return err
		}
		return failed
	})
	if err != failed {
		t.Fatal(err)
	}
	// ChangeTx that commits is recorded with its actor; a bare user id
	// is a user.
	err = database.InTenantTx(ctx, db.App, a, func(tx pgx.Tx) error {
		return s.ChangeTx(ctx, tx, a, access.RuleChange{AddGroupings: [][]string{ann}, Actor: "5b0c8f3e-aaaa-4bbb-8ccc-000000000001"}, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	// Writes through the casbin adapter are recorded too.
	e, _ := adapterEnforcer(t, db, a)
	if _, err := e.RemovePolicy(read); err != nil {
		t.Fatal(err)
	}

	es, ds := permissionChanges(t, db, a)
	if len(es) != 5 {
		t.Fatalf("%d permission.changed entries, want 5: %+v", len(es), es)
	}
	want := []struct {
		actor, added, removed string
		reqID                 string
	}{
		{"system", `[]`, rulesJSON([][]string{append([]string{"p"}, read...)}), ""},
		{"user:5b0c8f3e-aaaa-4bbb-8ccc-000000000001", rulesJSON([][]string{append([]string{"g"}, ann...)}), `[]`, ""},
		{"integration:scim", `[]`, rulesJSON([][]string{append([]string{"g"}, ann...)}), "req-9"},
		{"system", `[]`, rulesJSON([][]string{append([]string{"p"}, write...)}), ""},
		{"user:admin-1", rulesJSON([][]string{append([]string{"g"}, ann...), append([]string{"p"}, read...), append([]string{"p"}, write...)}), `[]`, ""},
	}
	var lastVersion float64
	for i, w := range want {
		got, d := es[i], ds[i]
		if got.Actor != w.actor || rulesJSON(d["added"]) != w.added || rulesJSON(d["removed"]) != w.removed || got.RequestID != w.reqID {
			t.Errorf("entry %d: actor %s added %s removed %s request %q; want %s %s %s %q",
				i, got.Actor, rulesJSON(d["added"]), rulesJSON(d["removed"]), got.RequestID, w.actor, w.added, w.removed, w.reqID)
		}
		v, _ := d["version"].(float64)
		if i > 0 && v >= lastVersion || v <= 0 {
			t.Errorf("entry %d: version %v after %v", i, d["version"], lastVersion)
		}
		lastVersion = v
	}
	if es[2].Address != "192.0.2.9" {
		t.Errorf("request address = %q", es[2].Address)
	}
	if es, _ := permissionChanges(t, db, b); len(es) != 0 {
		t.Errorf("the other tenant has %d entries", len(es))
	}
}
