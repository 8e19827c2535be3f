package tags_test

import (
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/latticecrm/lattice/schema/tags"
)

// TestConcurrentApply proves that concurrent changes of one record's tags
// are serialised by its row lock: none is lost, each has its own version
// and event, and a single-valued group ends with exactly one tag.
func TestConcurrentApply(t *testing.T) {
	e := newEnv(t, tagsOptions())
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.setup(t, tenant)
	id := e.contact(t, tenant, "ann@example.com", "")
	interests := []string{"interest/pricing", "interest/api", "interest/security"}
	industries := []string{"industry/software", "industry/retail", "industry/finance"}
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 3 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, []string{interests[i]}, nil)
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, []string{industries[i]}, nil)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r := e.record(t, tenant, "Contact", id)
	if got := filter(r.Tags, "interest/"); len(got) != 3 {
		t.Fatalf("interests: %v, want all three", r.Tags)
	}
	if got := filter(r.Tags, "industry/"); len(got) != 1 {
		t.Fatalf("industries: %v, want exactly one", r.Tags)
	}
	evs := tagged(t, e, tenant)
	if r.Version != 7 || len(evs) != 6 {
		t.Fatalf("version %d with %d events, want 7 and 6", r.Version, len(evs))
	}
	var versions []int
	for _, ev := range evs {
		versions = append(versions, ev.Version)
	}
	if !slices.Equal(versions, []int{2, 3, 4, 5, 6, 7}) {
		t.Fatalf("event versions %v", versions)
	}
}

// TestDeleteWaitsForApply proves a tag cannot be applied while it is being
// deleted and a deletion does not miss a concurrent application: after
// both, no record carries the tag.
func TestDeleteWaitsForApply(t *testing.T) {
	e := newEnv(t, tags.Options{BatchSize: 5})
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.setup(t, tenant)
	var ids []string
	for i := range 20 {
		ids = append(ids, e.contact(t, tenant, "c"+strings.Repeat("x", i)+"@example.com", ""))
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, []string{"interest/api"}, nil)
			if err != nil && code(err) != "tag_not_found" {
				t.Error(err)
			}
		}()
	}
	if _, err := e.tags.DeleteTag(ctx, tenant, actor, "interest/api"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var n int
	if err := e.db.Owner.QueryRow(ctx, "SELECT count(*) FROM records WHERE 'interest/api' = ANY(tags)").Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d records carry the deleted tag (%v)", n, err)
	}
}
