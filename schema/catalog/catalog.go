package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
)

// Options configures a Catalog. Zero fields take the documented defaults.
type Options struct {
	// CacheSize is how many tenants' compiled models are kept. Default 1000.
	CacheSize int
	// Logger receives schema changes and job progress. Default slog.Default().
	Logger *slog.Logger
}

// Catalog stores tenants' schemas and serves their compiled models. It is
// safe for concurrent use.
type Catalog struct {
	pool      *pgxpool.Pool
	validator *model.Validator
	cache     *lru.Cache[string, *model.Model]
	log       *slog.Logger
	audit     *audit.Log
}

// New returns a Catalog on pool (the lattice_app role).
func New(pool *pgxpool.Pool, opts Options) (*Catalog, error) {
	if opts.CacheSize <= 0 {
		opts.CacheSize = 1000
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	v, err := model.NewValidator()
	if err != nil {
		return nil, err
	}
	cache, err := lru.New[string, *model.Model](opts.CacheSize)
	if err != nil {
		return nil, fmt.Errorf("create schema cache: %w", err)
	}
	return &Catalog{pool: pool, validator: v, cache: cache, log: opts.Logger, audit: audit.New(pool, opts.Logger)}, nil
}

// Validator returns the meta-schema validator, for parsing definitions.
func (c *Catalog) Validator() *model.Validator { return c.validator }

// Model returns the tenant's compiled model at its current version, from
// the cache when it holds that tenant. A tenant without a schema has an
// empty model at version 0.
func (c *Catalog) Model(ctx context.Context, tenantID string) (*model.Model, error) {
	if m, ok := c.cache.Get(tenantID); ok {
		return m, nil
	}
	var m *model.Model
	err := database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		version, bundle, err := current(ctx, tx, tenantID, false)
		if err != nil {
			return err
		}
		m, err = model.Compile(bundle, version)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load schema of tenant %s: %w", tenantID, err)
	}
	c.cache.Add(tenantID, m)
	return m, nil
}

// Invalidate drops the tenant's cached model if it is older than version
// (any version when version is 0).
func (c *Catalog) Invalidate(tenantID string, version int) {
	if m, ok := c.cache.Peek(tenantID); ok && (version == 0 || m.Version < version) {
		c.cache.Remove(tenantID)
	}
}

// current reads the tenant's schema version and bundle, locking the row
// for update if asked. A tenant without one is at version 0, empty.
func current(ctx context.Context, tx pgx.Tx, tenantID string, forUpdate bool) (int, *model.Bundle, error) {
	q := "SELECT version, bundle FROM tenant_schemas WHERE tenant_id = $1"
	if forUpdate {
		q += " FOR UPDATE"
	}
	var version int
	var raw []byte
	err := tx.QueryRow(ctx, q, tenantID).Scan(&version, &raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, &model.Bundle{Format: model.BundleFormat}, nil
	}
	if err != nil {
		return 0, nil, fmt.Errorf("read schema: %w", err)
	}
	var b model.Bundle
	if err := json.Unmarshal(raw, &b); err != nil {
		return 0, nil, fmt.Errorf("decode schema version %d: %w", version, err)
	}
	return version, &b, nil
}
