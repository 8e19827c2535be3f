package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
)

// DefaultRetention is how long removed fields and objects stay recoverable.
const DefaultRetention = 30 * 24 * time.Hour

// Purge permanently deletes the values of fields and the records of objects
// removed before cutoff, in batches that each hold their rows only a
// moment, then drops them from the schema in a new version. It returns what
// it purged.
func (c *Catalog) Purge(ctx context.Context, tenantID string, cutoff time.Time, actor string) ([]model.Change, error) {
	m, err := c.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var purged []model.Change
	for _, od := range m.Bundle.Objects {
		for _, p := range od.Meta.RemovedFields {
			fm := p.Schema.Meta
			if fm.RemovedAt == nil || !fm.RemovedAt.Before(cutoff) {
				continue
			}
			if err := c.clearField(ctx, tenantID, od.Meta.Key, fm); err != nil {
				return nil, err
			}
			purged = append(purged, model.Change{Op: "field.purged", Object: od.Meta.APIName, Field: p.Name,
				Detail: "values deleted; removed " + fm.RemovedAt.Format(time.RFC3339)})
		}
	}
	for _, od := range m.Bundle.RemovedObjects {
		if od.Meta.RemovedAt == nil || !od.Meta.RemovedAt.Before(cutoff) {
			continue
		}
		if err := c.deleteRecords(ctx, tenantID, od.Meta.Key); err != nil {
			return nil, err
		}
		purged = append(purged, model.Change{Op: "object.purged", Object: od.Meta.APIName,
			Detail: "records deleted; removed " + od.Meta.RemovedAt.Format(time.RFC3339)})
	}
	if len(purged) == 0 {
		return nil, nil
	}
	err = database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		version, b, err := current(ctx, tx, tenantID, true)
		if err != nil {
			return err
		}
		dropPurged(b, cutoff)
		return c.save(ctx, tx, tenantID, version+1, b, purged, ApplyRequest{Message: "purge", Actor: actor})
	})
	if err != nil {
		return nil, fmt.Errorf("drop purged definitions: %w", err)
	}
	c.Invalidate(tenantID, 0)
	return purged, nil
}

// dropPurged removes from b what Purge has cleared.
func dropPurged(b *model.Bundle, cutoff time.Time) {
	for _, od := range b.Objects {
		kept := od.Meta.RemovedFields[:0]
		for _, p := range od.Meta.RemovedFields {
			if ra := p.Schema.Meta.RemovedAt; ra == nil || !ra.Before(cutoff) {
				kept = append(kept, p)
			}
		}
		od.Meta.RemovedFields = kept
	}
	kept := b.RemovedObjects[:0]
	for _, od := range b.RemovedObjects {
		if ra := od.Meta.RemovedAt; ra == nil || !ra.Before(cutoff) {
			kept = append(kept, od)
		}
	}
	b.RemovedObjects = kept
}

// clearField deletes a removed field's values and slot contents, a batch
// per transaction.
func (c *Catalog) clearField(ctx context.Context, tenantID, objectID string, fm model.FieldMeta) error {
	set := "data = data - $3"
	for _, slot := range []string{fm.Slot, fm.UniqueSlot} {
		if slot == "" {
			continue
		}
		if !slotName.MatchString(slot) {
			return fmt.Errorf("field %s has bad slot %q", fm.Key, slot)
		}
		set += ", " + slot + " = NULL"
	}
	sql := `WITH batch AS (SELECT id FROM records WHERE tenant_id = $1 AND object_id = $2 AND data ? $3 LIMIT $4)
		UPDATE records r SET ` + set + ` FROM batch WHERE r.tenant_id = $1 AND r.object_id = $2 AND r.id = batch.id`
	return c.batches(ctx, tenantID, sql, tenantID, objectID, fm.Key, jobBatch)
}

func (c *Catalog) deleteRecords(ctx context.Context, tenantID, objectID string) error {
	sql := `DELETE FROM records WHERE tenant_id = $1 AND object_id = $2
		AND id IN (SELECT id FROM records WHERE tenant_id = $1 AND object_id = $2 LIMIT $3)`
	if err := c.batches(ctx, tenantID, sql, tenantID, objectID, jobBatch); err != nil {
		return err
	}
	return database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM autonumber_counters WHERE tenant_id = $1 AND object_id = $2", tenantID, objectID)
		return err
	})
}

// batches runs sql, one tenant transaction at a time, until it touches no row.
func (c *Catalog) batches(ctx context.Context, tenantID, sql string, args ...any) error {
	for {
		var n int64
		err := database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx, sql, args...)
			n = tag.RowsAffected()
			return err
		})
		if err != nil {
			return fmt.Errorf("purge batch: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
}
