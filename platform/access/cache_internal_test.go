package access

import (
	"fmt"
	"testing"
)

func TestDecisionCacheIsBounded(t *testing.T) {
	tn := &tenant{cur: map[decisionKey]bool{}}
	const limit = 3
	key := func(i int) decisionKey { return decisionKey{fmt.Sprint("user:", i), "record:Lead", "read"} }
	for i := range 10 {
		tn.remember(key(i), i%2 == 0, limit)
		if len(tn.cur) > limit || len(tn.prev) > limit {
			t.Fatalf("after %d decisions the cache holds %d + %d, limit %d per generation", i+1, len(tn.cur), len(tn.prev), limit)
		}
	}
	// The latest decisions are kept, with their answers; the oldest are gone.
	for i := 6; i < 10; i++ {
		allowed, hit, _ := tn.lookup(key(i))
		if !hit || allowed != (i%2 == 0) {
			t.Errorf("decision %d: hit %v allowed %v", i, hit, allowed)
		}
	}
	if _, hit, _ := tn.lookup(key(0)); hit {
		t.Error("the oldest decision is still cached")
	}
	// A hit in the older generation says so, for Enforce to promote it.
	if _, hit, old := tn.lookup(key(6)); !hit || !old {
		t.Errorf("decision 6: hit %v old %v, want a hit in the older generation", hit, old)
	}
}

func TestCanonicalTenantIDs(t *testing.T) {
	const id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	for _, in := range []string{id, "0A1B2C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D", "{" + id + "}", "urn:uuid:" + id, "0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c4d"} {
		got, err := canonical(in)
		if err != nil || got != id {
			t.Errorf("canonical(%q) = %q, %v; want %q", in, got, err, id)
		}
	}
	for _, in := range []string{"", "acme", id + "x", "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4g"} {
		if got, err := canonical(in); err == nil {
			t.Errorf("canonical(%q) = %q, want an error", in, got)
		}
	}
}
