package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
)

// Retention bounds. The database refuses less than MinRetention too.
const (
	// DefaultRetention is how long a tenant that never set one keeps entries.
	DefaultRetention = 365 * 24 * time.Hour
	// MinRetention keeps one change of the setting from emptying the log.
	MinRetention = 24 * time.Hour
	// MaxRetention is a hundred years.
	MaxRetention = 100 * 365 * 24 * time.Hour
)

// SetRetention sets how long tenantID keeps entries: MinRetention to
// MaxRetention, in whole seconds (anything else is an Invalid error about
// "retention"). The change is recorded as an audit.retention_changed entry
// with details {"old", "new"} (Go durations), in the same transaction.
func (l *Log) SetRetention(ctx context.Context, tenantID string, d time.Duration) error {
	if d < MinRetention || d > MaxRetention || d%time.Second != 0 {
		return apierror.Invalidf("retention", "invalid_retention",
			"retention must be whole seconds between %s and %s, got %s", MinRetention, MaxRetention, d)
	}
	return database.InTenantTx(ctx, l.pool, tenantID, func(tx pgx.Tx) error {
		old, err := retentionIn(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_settings AS s (tenant_id, retention) VALUES ($1, $2::bigint * interval '1 second')
			ON CONFLICT (tenant_id) DO UPDATE SET retention = excluded.retention, updated_at = now()`,
			tenantID, int64(d/time.Second)); err != nil {
			return fmt.Errorf("set audit retention of tenant %s: %w", tenantID, err)
		}
		details, _ := json.Marshal(map[string]string{"old": old.String(), "new": d.String()})
		return l.Append(ctx, tx, tenantID, Entry{Action: ActionRetentionChanged, Details: details})
	})
}

// Retention returns how long tenantID keeps entries (DefaultRetention
// unless SetRetention changed it).
func (l *Log) Retention(ctx context.Context, tenantID string) (time.Duration, error) {
	var d time.Duration
	err := database.InTenantTx(ctx, l.pool, tenantID, func(tx pgx.Tx) error {
		var err error
		d, err = retentionIn(ctx, tx, tenantID)
		return err
	})
	return d, err
}

func retentionIn(ctx context.Context, tx pgx.Tx, tenantID string) (time.Duration, error) {
	var secs int64
	err := tx.QueryRow(ctx, `SELECT extract(epoch FROM retention)::bigint FROM audit_settings WHERE tenant_id = $1`, tenantID).Scan(&secs)
	if errors.Is(err, pgx.ErrNoRows) {
		return DefaultRetention, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read audit retention of tenant %s: %w", tenantID, err)
	}
	return time.Duration(secs) * time.Second, nil
}

// purgeSQL deletes the tenant's entries older than its retention through
// the SECURITY DEFINER function, the only way the server's role can
// delete audit rows.
const purgeSQL = `SELECT lattice_audit_purge($1::uuid, now() - coalesce(
	(SELECT retention FROM audit_settings WHERE tenant_id = $1::uuid), $2::bigint * interval '1 second'))`

// Purge deletes tenantID's entries older than its retention and returns
// how many it deleted (recorded as an audit.purged entry when any).
func (l *Log) Purge(ctx context.Context, tenantID string) (int64, error) {
	b := &pgx.Batch{}
	b.Queue(purgeSQL, tenantID, int64(DefaultRetention/time.Second))
	br, err := database.SendTenantBatch(ctx, l.pool, tenantID, b)
	if err != nil {
		return 0, fmt.Errorf("purge audit log of tenant %s: %w", tenantID, err)
	}
	var n int64
	err = br.QueryRow().Scan(&n)
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("purge audit log of tenant %s: %w", tenantID, err)
	}
	return n, nil
}

// RunRetention purges every tenant's entries older than that tenant's
// retention (Purge, one transaction per tenant) and returns how many it
// deleted in all. A tenant that fails does not stop the others; the
// errors are joined. The server calls it hourly.
func (l *Log) RunRetention(ctx context.Context) (int64, error) {
	rows, err := l.pool.Query(ctx, "SELECT id::text FROM tenants ORDER BY id")
	if err != nil {
		return 0, fmt.Errorf("audit retention: list tenants: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("audit retention: list tenants: %w", err)
	}
	var total int64
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		n, err := l.Purge(ctx, id)
		total += n
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if n > 0 {
			l.log.InfoContext(ctx, "audit entries past retention purged", "tenant", id, "deleted", n)
		}
	}
	return total, errors.Join(errs...)
}
