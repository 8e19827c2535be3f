package database

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// SetTenantSQL scopes the current transaction to one tenant. is_local=true
// makes the setting vanish at commit or rollback, so a pooled connection
// never carries one request's tenant into the next.
const SetTenantSQL = "SELECT set_config('lattice.tenant_id', $1, true)"

// ErrNoTenant is returned when tenant-scoped work is asked for without a tenant.
var ErrNoTenant = errors.New("no tenant given for tenant-scoped work")

// InTenantTx runs fn in a transaction scoped to tenantID and commits if fn
// returns nil; otherwise it rolls back and returns fn's error.
func InTenantTx(ctx context.Context, pool *pgxpool.Pool, tenantID string, fn func(pgx.Tx) error) error {
	if tenantID == "" {
		return ErrNoTenant
	}
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, SetTenantSQL, tenantID); err != nil {
			return fmt.Errorf("set tenant %s: %w", tenantID, err)
		}
		return fn(tx)
	})
}

// SendTenantBatchTimeout is SendTenantBatch that also bounds each of b's
// statements by timeout, set in the same statement as the tenant: a read
// still costs one round trip and one extra statement, not two.
func SendTenantBatchTimeout(ctx context.Context, pool *pgxpool.Pool, tenantID string, timeout time.Duration, b *pgx.Batch) (pgx.BatchResults, error) {
	if tenantID == "" {
		return nil, ErrNoTenant
	}
	// At least 1ms: "0ms" would mean no timeout at all.
	ms := fmt.Sprintf("%dms", max(timeout.Milliseconds(), 1))
	full := &pgx.Batch{}
	full.Queue("SELECT set_config('lattice.tenant_id', $1, true), set_config('statement_timeout', $2, true)", tenantID, ms)
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	br := pool.SendBatch(ctx, full)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, fmt.Errorf("set tenant %s: %w", tenantID, err)
	}
	return br, nil
}

// SendTenantBatch sends set_config for tenantID followed by b's statements
// as one batch: one round trip and one implicit transaction, so the tenant
// setting applies to all of them and is gone afterwards. The caller reads
// the results of b's statements in order and must Close the result.
func SendTenantBatch(ctx context.Context, pool *pgxpool.Pool, tenantID string, b *pgx.Batch) (pgx.BatchResults, error) {
	if tenantID == "" {
		return nil, ErrNoTenant
	}
	full := &pgx.Batch{}
	full.Queue(SetTenantSQL, tenantID)
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	br := pool.SendBatch(ctx, full)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, fmt.Errorf("set tenant %s: %w", tenantID, err)
	}
	return br, nil
}
