package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
)

// VersionInfo describes one schema version.
type VersionInfo struct {
	Version   int            `json:"version"`
	Message   string         `json:"message,omitempty"`
	CreatedBy string         `json:"createdBy,omitempty"`
	CreatedAt time.Time      `json:"createdAt"`
	Changes   []model.Change `json:"changes"`
}

// History lists the tenant's schema versions, newest first.
func (c *Catalog) History(ctx context.Context, tenantID string) ([]VersionInfo, error) {
	var out []VersionInfo
	err := database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT version, message, created_by, created_at, changes
			FROM schema_versions WHERE tenant_id = $1 ORDER BY version DESC`, tenantID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (VersionInfo, error) {
			var v VersionInfo
			var ch []byte
			if err := r.Scan(&v.Version, &v.Message, &v.CreatedBy, &v.CreatedAt, &ch); err != nil {
				return v, err
			}
			return v, json.Unmarshal(ch, &v.Changes)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read schema history of %s: %w", tenantID, err)
	}
	return out, nil
}

// Bundle returns the tenant's schema at version (0: the empty schema).
func (c *Catalog) Bundle(ctx context.Context, tenantID string, version int) (*model.Bundle, error) {
	if version == 0 {
		return &model.Bundle{Format: model.BundleFormat}, nil
	}
	var b model.Bundle
	err := database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		var raw []byte
		err := tx.QueryRow(ctx, "SELECT bundle FROM schema_versions WHERE tenant_id = $1 AND version = $2", tenantID, version).Scan(&raw)
		if err != nil {
			return err
		}
		return json.Unmarshal(raw, &b)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apierror.New(apierror.NotFound, "version_not_found", "schema version %d does not exist", version)
	}
	if err != nil {
		return nil, fmt.Errorf("read schema version %d: %w", version, err)
	}
	return &b, nil
}

// DiffVersions lists the changes from version a to version b.
func (c *Catalog) DiffVersions(ctx context.Context, tenantID string, a, b int) ([]model.Change, error) {
	if a < 0 || b < 0 {
		return nil, apierror.Invalidf("version", "invalid_version", "versions must not be negative")
	}
	ba, err := c.Bundle(ctx, tenantID, a)
	if err != nil {
		return nil, err
	}
	bb, err := c.Bundle(ctx, tenantID, b)
	if err != nil {
		return nil, err
	}
	return model.Diff(ba, bb), nil
}

// Export returns the tenant's current schema as a bundle to import
// elsewhere: live objects with their keys, without removed ones and without
// storage slots, which belong to this tenant's data.
func (c *Catalog) Export(ctx context.Context, tenantID string) (*model.Bundle, error) {
	m, err := c.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	b, err := m.Bundle.Clone()
	if err != nil {
		return nil, err
	}
	b.RemovedObjects = nil
	for _, o := range b.Objects {
		o.Meta.RemovedFields = nil
		for _, p := range o.Properties {
			p.Schema.Meta.Slot, p.Schema.Meta.UniqueSlot = "", ""
		}
	}
	return b, nil
}
