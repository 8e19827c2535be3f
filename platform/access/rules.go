package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
)

// ErrInvalidRule is wrapped by every error about a malformed rule or
// filter: a wrong number of fields, an empty subject, object, action,
// member or role, an effect other than "allow" or "deny", a domain other
// than the tenant's, or values too long to store.
var ErrInvalidRule = errors.New("invalid access rule")

// Rule shapes of Model. The domain is field 1 of a policy and field 2 of a
// grouping, and must be the tenant id.
const (
	// PolicyType is the ptype of policy rules: [sub, dom, obj, act, eft].
	PolicyType = "p"
	// GroupingType is the ptype of grouping rules: [member, role, dom].
	GroupingType = "g"

	policyFields   = 5
	groupingFields = 3
	policyDomain   = 1
	groupingDomain = 2

	// storedFields is the number of value columns, v0 to v5.
	storedFields = 6
	// MaxRuleBytes bounds the total length of a rule's values: they form
	// the table's primary key, and a B-tree entry must fit in a third of a
	// page.
	MaxRuleBytes = 2000
)

// NotifyChannel is the PostgreSQL channel on which every change to a
// tenant's rules is announced, with the tenant id as payload.
const NotifyChannel = "lattice_access"

// shape returns the number of fields and the domain's index of a ptype.
func shape(ptype string) (fields, domain int, ok bool) {
	switch ptype {
	case PolicyType:
		return policyFields, policyDomain, true
	case GroupingType:
		return groupingFields, groupingDomain, true
	}
	return 0, 0, false
}

// row is one stored rule: its ptype and v0..v5, unused values empty.
type row struct {
	ptype string
	v     [storedFields]string
}

// rule returns the rule's fields as casbin sees them (without the ptype).
func (r row) rule() []string {
	n, _, _ := shape(r.ptype)
	out := make([]string, n)
	copy(out, r.v[:n])
	return out
}

// checkRule validates one rule of ptype for tenant (canonical) and
// returns it as a row.
func checkRule(tenant, ptype string, rule []string) (row, error) {
	n, dom, ok := shape(ptype)
	if !ok {
		return row{}, fmt.Errorf("%w: unknown rule type %q (the model has %q and %q)", ErrInvalidRule, ptype, PolicyType, GroupingType)
	}
	if len(rule) != n {
		return row{}, fmt.Errorf("%w: %s rule %q has %d fields, want %d", ErrInvalidRule, ptype, rule, len(rule), n)
	}
	if rule[dom] != tenant {
		return row{}, fmt.Errorf("%w: %s rule %q is for domain %q, not tenant %s", ErrInvalidRule, ptype, rule, rule[dom], tenant)
	}
	total := 0
	for i, v := range rule {
		if v == "" {
			return row{}, fmt.Errorf("%w: %s rule %q has an empty %s", ErrInvalidRule, ptype, rule, fieldName(ptype, i))
		}
		total += len(v)
	}
	if total > MaxRuleBytes {
		return row{}, fmt.Errorf("%w: %s rule %.80q... is %d bytes long, more than %d", ErrInvalidRule, ptype, strings.Join(rule, ", "), total, MaxRuleBytes)
	}
	if ptype == PolicyType && rule[4] != Allow && rule[4] != Deny {
		return row{}, fmt.Errorf("%w: p rule %q has effect %q, want %q or %q", ErrInvalidRule, rule, rule[4], Allow, Deny)
	}
	r := row{ptype: ptype}
	copy(r.v[:], rule)
	return r, nil
}

func fieldName(ptype string, i int) string {
	names := []string{"subject", "domain", "object", "action", "effect"}
	if ptype == GroupingType {
		names = []string{"member", "role", "domain"}
	}
	if i < len(names) {
		return names[i]
	}
	return fmt.Sprintf("field %d", i)
}

// checkRules validates rules of ptype; what names them in errors.
func checkRules(tenant, ptype, what string, rules [][]string) ([]row, error) {
	out := make([]row, 0, len(rules))
	for i, rule := range rules {
		r, err := checkRule(tenant, ptype, rule)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", what, i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// canonical returns tenantID in PostgreSQL's text form of a uuid
// (lowercase, hyphenated), which is what rules' domains must hold.
func canonical(tenantID string) (string, error) {
	if tenantID == "" {
		return "", database.ErrNoTenant
	}
	if isCanonical(tenantID) {
		return tenantID, nil
	}
	u, err := uuid.Parse(tenantID)
	if err != nil {
		return "", fmt.Errorf("tenant id %q is not a UUID", tenantID)
	}
	return u.String(), nil
}

func isCanonical(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// loadSQL reads a tenant's version and rules in one statement, so both come
// from one snapshot. A tenant without rules yields one row of NULL rule
// columns; one never changed has version 0.
const loadSQL = `SELECT v.version, r.ptype, r.v0, r.v1, r.v2, r.v3, r.v4, r.v5
FROM (SELECT coalesce(max(version), 0) AS version FROM access_versions WHERE tenant_id = $1) v
LEFT JOIN access_rules r ON r.tenant_id = $1
ORDER BY r.ptype, r.v0, r.v1, r.v2, r.v3, r.v4, r.v5`

// scanLoad reads loadSQL's result.
func scanLoad(rows pgx.Rows) (int64, []row, error) {
	defer rows.Close()
	var version int64
	var out []row
	for rows.Next() {
		var ptype *string
		var v [storedFields]*string
		if err := rows.Scan(&version, &ptype, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]); err != nil {
			return 0, nil, err
		}
		if ptype == nil {
			continue // no rules
		}
		r := row{ptype: *ptype}
		if _, _, ok := shape(r.ptype); !ok {
			return 0, nil, fmt.Errorf("stored rule has unknown type %q", r.ptype)
		}
		for i, p := range v {
			r.v[i] = *p
		}
		out = append(out, r)
	}
	return version, out, rows.Err()
}

// loadPool reads a tenant's version and rules in one round trip.
func loadPool(ctx context.Context, db *pgxpool.Pool, tenant string) (int64, []row, error) {
	b := &pgx.Batch{}
	b.Queue(loadSQL, tenant)
	br, err := database.SendTenantBatch(ctx, db, tenant, b)
	if err != nil {
		return 0, nil, err
	}
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return 0, nil, err
	}
	version, rs, err := scanLoad(rows)
	if err != nil {
		return 0, nil, err
	}
	return version, rs, br.Close()
}

// loadTx reads a tenant's version and rules inside tx.
func loadTx(ctx context.Context, tx pgx.Tx, tenant string) (int64, []row, error) {
	rows, err := tx.Query(ctx, loadSQL, tenant)
	if err != nil {
		return 0, nil, fmt.Errorf("read the changed rules: %w", err)
	}
	version, rs, err := scanLoad(rows)
	if err != nil {
		return 0, nil, fmt.Errorf("read the changed rules: %w", err)
	}
	return version, rs, nil
}

// columns returns rows as the parallel arrays the unnest statements take.
func columns(rs []row) [storedFields + 1][]string {
	var cols [storedFields + 1][]string
	for i := range cols {
		cols[i] = make([]string, len(rs))
	}
	for j, r := range rs {
		cols[0][j] = r.ptype
		for i := range storedFields {
			cols[i+1][j] = r.v[i]
		}
	}
	return cols
}

const (
	// bumpSQL is the first statement of every change: it takes the
	// tenant's version row lock, so changes of one tenant run one at a
	// time and a check sees every change committed before its own.
	bumpSQL = `INSERT INTO access_versions AS a (tenant_id, version) VALUES ($1, 1)
ON CONFLICT (tenant_id) DO UPDATE SET version = a.version + 1 RETURNING a.version`
	removeSQL = `DELETE FROM access_rules r
USING unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS d (ptype, v0, v1, v2, v3, v4, v5)
WHERE r.tenant_id = $1 AND r.ptype = d.ptype AND r.v0 = d.v0 AND r.v1 = d.v1
  AND r.v2 = d.v2 AND r.v3 = d.v3 AND r.v4 = d.v4 AND r.v5 = d.v5`
	addSQL = `INSERT INTO access_rules (tenant_id, ptype, v0, v1, v2, v3, v4, v5)
SELECT $1::uuid, d.* FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]) AS d
ON CONFLICT DO NOTHING`
	notifySQL = `SELECT pg_notify('` + NotifyChannel + `', $1)`
)

// errNoChange rolls back a change that changed no rule (and so must not
// bump the version or notify anyone).
var errNoChange = errors.New("no rule changed")

// change describes one write to a tenant's rules.
type change struct {
	removeAll bool   // delete every rule first (SavePolicy)
	filter    string // a DELETE with its own WHERE (RemoveFilteredPolicy)
	filterArg []any
	remove    []row
	add       []row
}

func (c change) empty() bool {
	return !c.removeAll && c.filter == "" && len(c.remove) == 0 && len(c.add) == 0
}

// returningSQL makes every write of apply return the rules it wrote;
// removeSQL's target is aliased r.
const (
	returningSQL  = " RETURNING ptype, v0, v1, v2, v3, v4, v5"
	returningRSQL = " RETURNING r.ptype, r.v0, r.v1, r.v2, r.v3, r.v4, r.v5"
)

// applied is what apply changed.
type applied struct {
	version        int64
	added, removed []row
}

// apply runs ch in tx, which is scoped to tenant: it bumps the version,
// removes, then adds, and queues the notification. It returns the rules
// it removed and added, or errNoChange when no rule was removed or added.
func apply(ctx context.Context, tx pgx.Tx, tenant string, ch change) (applied, error) {
	b := &pgx.Batch{}
	b.Queue(bumpSQL, tenant)
	var adds []bool // per write statement: does it add?
	if ch.removeAll {
		b.Queue("DELETE FROM access_rules WHERE tenant_id = $1"+returningSQL, tenant)
		adds = append(adds, false)
	}
	if ch.filter != "" {
		b.Queue(ch.filter+returningSQL, ch.filterArg...)
		adds = append(adds, false)
	}
	if len(ch.remove) > 0 {
		c := columns(ch.remove)
		b.Queue(removeSQL+returningRSQL, tenant, c[0], c[1], c[2], c[3], c[4], c[5], c[6])
		adds = append(adds, false)
	}
	if len(ch.add) > 0 {
		c := columns(ch.add)
		b.Queue(addSQL+returningSQL, tenant, c[0], c[1], c[2], c[3], c[4], c[5], c[6])
		adds = append(adds, true)
	}
	b.Queue(notifySQL, tenant)
	br := tx.SendBatch(ctx, b)
	defer br.Close()
	var a applied
	if err := br.QueryRow().Scan(&a.version); err != nil {
		return applied{}, fmt.Errorf("bump access version: %w", err)
	}
	for _, add := range adds {
		rows, err := br.Query()
		if err != nil {
			return applied{}, fmt.Errorf("write access rules: %w", err)
		}
		written, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
			var w row
			err := r.Scan(&w.ptype, &w.v[0], &w.v[1], &w.v[2], &w.v[3], &w.v[4], &w.v[5])
			return w, err
		})
		if err != nil {
			return applied{}, fmt.Errorf("write access rules: %w", err)
		}
		if add {
			a.added = append(a.added, written...)
		} else {
			a.removed = append(a.removed, written...)
		}
	}
	if _, err := br.Exec(); err != nil {
		return applied{}, fmt.Errorf("notify %s: %w", NotifyChannel, err)
	}
	if err := br.Close(); err != nil {
		return applied{}, fmt.Errorf("write access rules: %w", err)
	}
	if len(a.added) == 0 && len(a.removed) == 0 {
		return applied{}, errNoChange
	}
	return a, nil
}

// record appends one permission.changed entry for a to the tenant's audit
// log in tx: details {"version", "added", "removed"}, each rule as
// [ptype, fields...], sorted. A rule both removed and added (so there before and
// after) is in neither list. An empty actor is the request's (see
// audit.WithRequest), else "system".
func record(ctx context.Context, log *audit.Log, tx pgx.Tx, tenant, actor string, a applied) error {
	key := func(r row) string { return r.ptype + "\x00" + strings.Join(r.v[:], "\x00") }
	readd := map[string]bool{}
	for _, r := range a.added {
		readd[key(r)] = true
	}
	gone := map[string]bool{}
	for _, r := range a.removed {
		gone[key(r)] = true
	}
	rules := func(rs []row, skip map[string]bool) [][]string {
		out := [][]string{}
		for _, r := range rs {
			if !skip[key(r)] {
				out = append(out, append([]string{r.ptype}, r.rule()...))
			}
		}
		slices.SortFunc(out, slices.Compare)
		return out
	}
	details, err := json.Marshal(map[string]any{
		"version": a.version,
		"added":   rules(a.added, gone),
		"removed": rules(a.removed, readd),
	})
	if err != nil {
		return fmt.Errorf("record access change: %w", err)
	}
	if actor != "" {
		actor = audit.ActorOf(actor)
	}
	if err := log.Append(ctx, tx, tenant, audit.Entry{Actor: actor, Action: audit.ActionPermissionChanged, Details: details}); err != nil {
		return fmt.Errorf("record access change: %w", err)
	}
	return nil
}
