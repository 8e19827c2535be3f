package audit_test

import (
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/audit"
)

func TestRetentionPurgesOnlyOldEntriesOfEachTenant(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a, b := e.tenant(t, "tenant-a"), e.tenant(t, "tenant-b")
	day := 24 * time.Hour
	now := time.Now()
	for _, tenant := range []string{a, b} {
		e.append(t, tenant,
			audit.Entry{Action: "record.created", Actor: "old", At: now.Add(-400 * day)},
			audit.Entry{Action: "record.updated", Actor: "middle", At: now.Add(-100 * day)},
			audit.Entry{Action: "record.deleted", Actor: "recent", At: now.Add(-1 * day)},
		)
	}

	// Settings: the default, bounds, and the change recorded.
	if d, err := e.log.Retention(ctx, a); err != nil || d != audit.DefaultRetention {
		t.Fatalf("default retention = %v, %v; want %v", d, err, audit.DefaultRetention)
	}
	for _, bad := range []time.Duration{0, time.Hour, -day, audit.MaxRetention + time.Second, 36*time.Hour + time.Millisecond} {
		wantInvalid(t, e.log.SetRetention(ctx, a, bad), "retention", "invalid_retention")
	}
	if err := e.log.SetRetention(ctx, a, 30*day); err != nil {
		t.Fatal(err)
	}
	if d, err := e.log.Retention(ctx, a); err != nil || d != 30*day {
		t.Fatalf("retention = %v, %v; want 720h", d, err)
	}
	if d, err := e.log.Retention(ctx, b); err != nil || d != audit.DefaultRetention {
		t.Fatalf("tenant B's retention = %v, %v; want the default", d, err)
	}
	changed := e.all(t, a, audit.Query{Action: audit.ActionRetentionChanged})
	if len(changed) != 1 {
		t.Fatalf("%d retention changes recorded, want 1", len(changed))
	}
	if d := decode(t, changed[0].Details); d["old"] != "8760h0m0s" || d["new"] != "720h0m0s" {
		t.Errorf("retention change details = %v", d)
	}

	// Purging A deletes A's entries older than 30 days, nothing of B's.
	n, err := e.log.Purge(ctx, a)
	if err != nil || n != 2 {
		t.Fatalf("Purge(A) = %d, %v; want 2", n, err)
	}
	if got := actors(e.all(t, a, audit.Query{Action: "record.*"})); got != "recent" {
		t.Errorf("tenant A keeps %q, want recent", got)
	}
	if got := actors(e.all(t, b, audit.Query{})); got != "recent,middle,old" {
		t.Errorf("tenant B keeps %q, want all three", got)
	}

	// RunRetention applies each tenant's own retention: B's default year.
	n, err = e.log.RunRetention(ctx)
	if err != nil || n != 1 {
		t.Fatalf("RunRetention = %d, %v; want 1 (B's old entry)", n, err)
	}
	if got := actors(e.all(t, b, audit.Query{Action: "record.*"})); got != "recent,middle" {
		t.Errorf("tenant B keeps %q, want recent,middle", got)
	}
	if got := actors(e.all(t, a, audit.Query{Action: "record.*"})); got != "recent" {
		t.Errorf("tenant A keeps %q after RunRetention", got)
	}
	// Each purge is itself recorded.
	for tenant, want := range map[string]float64{a: 2, b: 1} {
		p := e.all(t, tenant, audit.Query{Action: audit.ActionPurged})
		if len(p) != 1 || decode(t, p[0].Details)["deleted"] != want || p[0].Actor != "system" {
			t.Errorf("tenant %s audit.purged entries = %+v, want one deleting %v", tenant, p, want)
		}
	}
	// Nothing left to purge.
	if n, err := e.log.RunRetention(ctx); err != nil || n != 0 {
		t.Errorf("second RunRetention = %d, %v; want 0", n, err)
	}
}

func actors(es []audit.Entry) string {
	s := ""
	for i, e := range es {
		if i > 0 {
			s += ","
		}
		s += e.Actor
	}
	return s
}
