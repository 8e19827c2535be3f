package access_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/dbtest"
)

// newTenant registers a tenant as the owner and returns its id.
func newTenant(t testing.TB, db *dbtest.DB, slug string) string {
	t.Helper()
	var id string
	if err := db.Owner.QueryRow(context.Background(), "INSERT INTO tenants (slug, name) VALUES ($1, $1) RETURNING id", slug).Scan(&id); err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return id
}

// allow and deny build p rules; member builds a g rule.
func allow(sub, tenant, obj, act string) []string {
	return []string{sub, tenant, obj, act, access.Allow}
}
func deny(sub, tenant, obj, act string) []string { return []string{sub, tenant, obj, act, access.Deny} }
func member(m, role, tenant string) []string     { return []string{m, role, tenant} }

// mustChange applies ch with no check.
func mustChange(t testing.TB, s *access.Service, tenant string, ch access.RuleChange) {
	t.Helper()
	if err := s.Change(context.Background(), tenant, ch, nil); err != nil {
		t.Fatalf("Change: %v", err)
	}
}

type decision struct {
	sub, obj, act string
	want          bool
}

func expectDecisions(t *testing.T, s *access.Service, tenant string, ds []decision) {
	t.Helper()
	for _, d := range ds {
		got, err := s.Enforce(t.Context(), tenant, d.sub, d.obj, d.act)
		if err != nil {
			t.Fatalf("Enforce(%s, %s, %s): %v", d.sub, d.obj, d.act, err)
		}
		if got != d.want {
			t.Errorf("Enforce(%s, %s, %s) = %v, want %v", d.sub, d.obj, d.act, got, d.want)
		}
	}
}

// storedRules reads the tenant's rules as the owner, bypassing every
// cache and row-level security: [ptype, values...] with trailing empty
// values dropped, sorted.
func storedRules(t testing.TB, db *dbtest.DB, tenant string) [][]string {
	t.Helper()
	rows, err := db.Owner.Query(context.Background(),
		"SELECT ptype, v0, v1, v2, v3, v4, v5 FROM access_rules WHERE tenant_id = $1", tenant)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		r := make([]string, 7)
		if err := rows.Scan(&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]); err != nil {
			t.Fatal(err)
		}
		for len(r) > 1 && r[len(r)-1] == "" {
			r = r[:len(r)-1]
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortRules(out)
	return out
}

// storedVersion reads the tenant's version as the owner (0 if none).
func storedVersion(t testing.TB, db *dbtest.DB, tenant string) int64 {
	t.Helper()
	var v int64
	err := db.Owner.QueryRow(context.Background(), "SELECT coalesce(max(version), 0) FROM access_versions WHERE tenant_id = $1", tenant).Scan(&v)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sortRules(rs [][]string) {
	slices.SortFunc(rs, func(a, b []string) int { return slices.Compare(a, b) })
}

// withType prefixes rules with their ptype, as storedRules returns them.
func withType(ptype string, rules ...[]string) [][]string {
	out := make([][]string, len(rules))
	for i, r := range rules {
		out[i] = append([]string{ptype}, r...)
	}
	return out
}

func equalRules(a, b [][]string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	sortRules(a)
	sortRules(b)
	return slices.EqualFunc(a, b, slices.Equal)
}

func isInvalidRule(err error) bool { return errors.Is(err, access.ErrInvalidRule) }
