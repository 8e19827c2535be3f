package access

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
)

// Adapter is a casbin adapter for one tenant's rules in the access_rules
// table. It implements persist.Adapter and persist.BatchAdapter (and their
// context variants): LoadPolicy loads only its tenant's rules, in one round
// trip scoped by row-level security, and every write goes through at once
// in its own tenant-scoped transaction.
//
// Every rule must be for the adapter's tenant: its domain (field 1 of a
// "p" rule, field 2 of a "g" rule) must be the tenant id, or the write is
// refused with ErrInvalidRule. A write that changes any rule also bumps the
// tenant's version and announces the change on NotifyChannel, like
// Service.Change (but without a veto check), so every Service's cache
// follows it. Service uses an adapter per tenant internally; use one
// directly only for tools that drive a casbin.Enforcer of their own.
type Adapter struct {
	pool    *pgxpool.Pool
	tenant  string
	version atomic.Int64
	audit   *audit.Log
}

var (
	_ persist.Adapter             = (*Adapter)(nil)
	_ persist.BatchAdapter        = (*Adapter)(nil)
	_ persist.ContextAdapter      = (*Adapter)(nil)
	_ persist.ContextBatchAdapter = (*Adapter)(nil)
)

// NewAdapter returns an adapter for the tenant's rules on pool (the
// lattice_app role). tenantID must be a UUID.
func NewAdapter(pool *pgxpool.Pool, tenantID string) (*Adapter, error) {
	id, err := canonical(tenantID)
	if err != nil {
		return nil, err
	}
	return &Adapter{pool: pool, tenant: id, audit: audit.New(pool, nil)}, nil
}

// TenantID returns the adapter's tenant, the domain of all its rules, in
// canonical form (lowercase, hyphenated).
func (a *Adapter) TenantID() string { return a.tenant }

// LoadedVersion returns the tenant's version as of the last LoadPolicy
// (0 before it, and for a tenant whose rules never changed).
func (a *Adapter) LoadedVersion() int64 { return a.version.Load() }

// LoadPolicy loads the tenant's rules into m.
func (a *Adapter) LoadPolicy(m model.Model) error {
	return a.LoadPolicyCtx(context.Background(), m)
}

// LoadPolicyCtx loads the tenant's rules into m.
func (a *Adapter) LoadPolicyCtx(ctx context.Context, m model.Model) error {
	version, rows, err := loadPool(ctx, a.pool, a.tenant)
	if err != nil {
		return fmt.Errorf("load access rules of tenant %s: %w", a.tenant, err)
	}
	if err := addRows(m, rows); err != nil {
		return err
	}
	a.version.Store(version)
	return nil
}

// addRows adds stored rules to a casbin model, skipping duplicates as
// casbin's own adapters do.
func addRows(m model.Model, rows []row) error {
	for _, r := range rows {
		n, _, _ := shape(r.ptype)
		line := make([]string, 1+n)
		line[0] = r.ptype
		copy(line[1:], r.v[:n])
		if err := persist.LoadPolicyArray(line, m); err != nil {
			return fmt.Errorf("load %s rule %q: %w", r.ptype, line[1:], err)
		}
	}
	return nil
}

// SavePolicy replaces all of the tenant's stored rules with m's.
func (a *Adapter) SavePolicy(m model.Model) error {
	return a.SavePolicyCtx(context.Background(), m)
}

// SavePolicyCtx replaces all of the tenant's stored rules with m's, in one
// transaction.
func (a *Adapter) SavePolicyCtx(ctx context.Context, m model.Model) error {
	var rows []row
	for _, sec := range []string{"p", "g"} {
		for ptype, ast := range m[sec] {
			rs, err := checkRules(a.tenant, ptype, ptype+" rules", ast.Policy)
			if err != nil {
				return err
			}
			rows = append(rows, rs...)
		}
	}
	return a.write(ctx, change{removeAll: true, add: rows})
}

// AddPolicy stores one rule; storing one already there changes nothing.
func (a *Adapter) AddPolicy(sec, ptype string, rule []string) error {
	return a.AddPolicyCtx(context.Background(), sec, ptype, rule)
}

// AddPolicyCtx stores one rule; storing one already there changes nothing.
func (a *Adapter) AddPolicyCtx(ctx context.Context, sec, ptype string, rule []string) error {
	return a.AddPoliciesCtx(ctx, sec, ptype, [][]string{rule})
}

// AddPolicies stores rules in one transaction.
func (a *Adapter) AddPolicies(sec, ptype string, rules [][]string) error {
	return a.AddPoliciesCtx(context.Background(), sec, ptype, rules)
}

// AddPoliciesCtx stores rules in one transaction.
func (a *Adapter) AddPoliciesCtx(ctx context.Context, sec, ptype string, rules [][]string) error {
	rows, err := a.check(sec, ptype, rules)
	if err != nil {
		return err
	}
	return a.write(ctx, change{add: rows})
}

// RemovePolicy deletes one rule; deleting one not there changes nothing.
func (a *Adapter) RemovePolicy(sec, ptype string, rule []string) error {
	return a.RemovePolicyCtx(context.Background(), sec, ptype, rule)
}

// RemovePolicyCtx deletes one rule; deleting one not there changes nothing.
func (a *Adapter) RemovePolicyCtx(ctx context.Context, sec, ptype string, rule []string) error {
	return a.RemovePoliciesCtx(ctx, sec, ptype, [][]string{rule})
}

// RemovePolicies deletes rules in one transaction.
func (a *Adapter) RemovePolicies(sec, ptype string, rules [][]string) error {
	return a.RemovePoliciesCtx(context.Background(), sec, ptype, rules)
}

// RemovePoliciesCtx deletes rules in one transaction.
func (a *Adapter) RemovePoliciesCtx(ctx context.Context, sec, ptype string, rules [][]string) error {
	rows, err := a.check(sec, ptype, rules)
	if err != nil {
		return err
	}
	return a.write(ctx, change{remove: rows})
}

// RemoveFilteredPolicy deletes the tenant's rules of ptype whose fields,
// from fieldIndex on, equal fieldValues; an empty value matches anything.
func (a *Adapter) RemoveFilteredPolicy(sec, ptype string, fieldIndex int, fieldValues ...string) error {
	return a.RemoveFilteredPolicyCtx(context.Background(), sec, ptype, fieldIndex, fieldValues...)
}

// RemoveFilteredPolicyCtx deletes the tenant's rules of ptype whose
// fields, from fieldIndex on, equal fieldValues; an empty value matches
// anything. A filter on the domain field must name the adapter's tenant.
func (a *Adapter) RemoveFilteredPolicyCtx(ctx context.Context, sec, ptype string, fieldIndex int, fieldValues ...string) error {
	if err := checkSection(sec, ptype); err != nil {
		return err
	}
	n, dom, _ := shape(ptype)
	if fieldIndex < 0 || fieldIndex+len(fieldValues) > n {
		return fmt.Errorf("%w: filter on fields %d to %d of a %s rule, which has %d", ErrInvalidRule, fieldIndex, fieldIndex+len(fieldValues)-1, ptype, n)
	}
	var where strings.Builder
	where.WriteString("DELETE FROM access_rules WHERE tenant_id = $1 AND ptype = $2")
	args := []any{a.tenant, ptype}
	for i, v := range fieldValues {
		if v == "" {
			continue
		}
		field := fieldIndex + i
		if field == dom && v != a.tenant {
			return fmt.Errorf("%w: filter names domain %q, not tenant %s", ErrInvalidRule, v, a.tenant)
		}
		args = append(args, v)
		fmt.Fprintf(&where, " AND v%d = $%d", field, len(args))
	}
	return a.write(ctx, change{filter: where.String(), filterArg: args})
}

func checkSection(sec, ptype string) error {
	if _, _, ok := shape(ptype); !ok {
		return fmt.Errorf("%w: unknown rule type %q (the model has %q and %q)", ErrInvalidRule, ptype, PolicyType, GroupingType)
	}
	if sec != ptype {
		return fmt.Errorf("%w: rule type %q is not in section %q", ErrInvalidRule, ptype, sec)
	}
	return nil
}

func (a *Adapter) check(sec, ptype string, rules [][]string) ([]row, error) {
	if err := checkSection(sec, ptype); err != nil {
		return nil, err
	}
	return checkRules(a.tenant, ptype, ptype+" rules", rules)
}

// write applies ch in a transaction of its own, recording it in the audit
// log (permission.changed, by the actor of ctx's audit.Request).
func (a *Adapter) write(ctx context.Context, ch change) error {
	err := database.InTenantTx(ctx, a.pool, a.tenant, func(tx pgx.Tx) error {
		res, err := apply(ctx, tx, a.tenant, ch)
		if err != nil {
			return err
		}
		return record(ctx, a.audit, tx, a.tenant, "", res)
	})
	if errors.Is(err, errNoChange) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("write access rules of tenant %s: %w", a.tenant, err)
	}
	return nil
}

// rowsAdapter feeds rules already read to a new enforcer. It stores
// nothing: enforcers built on it have auto-save off.
type rowsAdapter struct{ rows []row }

func (r rowsAdapter) LoadPolicy(m model.Model) error { return addRows(m, r.rows) }
func (rowsAdapter) SavePolicy(model.Model) error     { return errReadOnly }
func (rowsAdapter) AddPolicy(string, string, []string) error {
	return errReadOnly
}
func (rowsAdapter) RemovePolicy(string, string, []string) error { return errReadOnly }
func (rowsAdapter) RemoveFilteredPolicy(string, string, int, ...string) error {
	return errReadOnly
}

var errReadOnly = errors.New("access: this enforcer is a snapshot; change rules with Service.Change")
