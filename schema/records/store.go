package records

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// Store reads and writes records. It is safe for concurrent use.
type Store struct {
	pool    *pgxpool.Pool
	catalog *catalog.Catalog
	log     *slog.Logger
}

// New returns a Store on pool (the lattice_app role) using cat for schemas.
func New(pool *pgxpool.Pool, cat *catalog.Catalog, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.Default()
	}
	return &Store{pool: pool, catalog: cat, log: logger}
}

// Actor is who makes a change, recorded in createdBy/updatedBy and events:
// a user id, "integration:NAME" or "cli".
type Actor string

// Event topics the store appends to the outbox.
const (
	TopicCreated  = "record.created"
	TopicUpdated  = "record.updated"
	TopicDeleted  = "record.deleted"
	TopicRestored = "record.restored"
)

// Change is one field's old and new value in a record.updated event.
type Change struct {
	Old any `json:"old"`
	New any `json:"new"`
}

// EventPayload is the payload of every record event.
type EventPayload struct {
	Object   string `json:"object"`
	ObjectID string `json:"objectId"`
	ID       string `json:"id"`
	Version  int    `json:"version"`
	Actor    Actor  `json:"actor"`
	// Values are the new record's values (record.created).
	Values map[string]any `json:"values,omitempty"`
	// Changes are the changed fields (record.updated).
	Changes map[string]Change `json:"changes,omitempty"`
	// Cause names the record whose deletion cascaded to this one.
	Cause string `json:"cause,omitempty"`
}

// object returns the model and the named object, or object_not_found.
func (s *Store) object(ctx context.Context, tenantID, name string) (*model.Model, *model.Object, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	o := m.Object(name)
	if o == nil {
		return nil, nil, apierror.New(apierror.NotFound, "object_not_found", "no object %q in this tenant's schema", name)
	}
	return m, o, nil
}

// errStaleSchema means the schema changed under a write; it is retried.
var errStaleSchema = errors.New("schema changed during the write")

// write runs fn in a tenant transaction holding a share lock on the
// tenant's schema row, with the model of the version that lock protects.
// If the schema changed since the model was cached, it retries once with
// the new model.
func (s *Store) write(ctx context.Context, tenantID, objectName string, fn func(tx pgx.Tx, m *model.Model, o *model.Object) error) error {
	for attempt := 0; ; attempt++ {
		m, o, err := s.object(ctx, tenantID, objectName)
		if err != nil {
			return err
		}
		// Not database.InTenantTx: the tenant setting and the schema lock go
		// to the server together, one round trip instead of two.
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			b := &pgx.Batch{}
			b.Queue(database.SetTenantSQL, tenantID)
			b.Queue("SELECT version FROM tenant_schemas WHERE tenant_id = $1 FOR SHARE", tenantID)
			br := tx.SendBatch(ctx, b)
			var version int
			_, err := br.Exec()
			if err == nil {
				err = br.QueryRow().Scan(&version)
			}
			if cerr := br.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return fmt.Errorf("lock schema: %w", err)
			}
			if version != m.Version {
				s.catalog.Invalidate(tenantID, version)
				return errStaleSchema
			}
			return fn(tx, m, o)
		})
		if errors.Is(err, errStaleSchema) && attempt < 2 {
			continue
		}
		return err
	}
}

// Get returns a live record (or a deleted one with includeDeleted).
// A record of another tenant is reported exactly like a missing one.
func (s *Store) Get(ctx context.Context, tenantID, objectName, id string, includeDeleted bool) (*Record, error) {
	_, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	if err := checkID(id); err != nil {
		return nil, err
	}
	b := &pgx.Batch{}
	b.Queue("SELECT "+recordColumns+" FROM records WHERE tenant_id = $1 AND object_id = $2 AND id = $3 AND ($4 OR deleted_at IS NULL)",
		tenantID, o.Key, id, includeDeleted)
	br, err := database.SendTenantBatch(ctx, s.pool, tenantID, b)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	r, err := scanRecord(br.QueryRow(), o)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNotFound(o, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", o.APIName, id, err)
	}
	return r, nil
}

// ListOptions pages through records in id order.
type ListOptions struct {
	// Limit is the page size, 1 to 1000. Default 100.
	Limit int
	// After is the id of the last record of the previous page.
	After string
	// IncludeDeleted lists soft-deleted records too.
	IncludeDeleted bool
	// Where, if set, is a condition (docs/conditions.md) records must meet.
	Where json.RawMessage
}

// List returns one page of an object's records in id order and the id to
// pass as After for the next page ("" at the end).
func (s *Store) List(ctx context.Context, tenantID, objectName string, opts ListOptions) ([]*Record, string, error) {
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, "", err
	}
	if opts.Limit == 0 {
		opts.Limit = 100
	}
	if opts.Limit < 1 || opts.Limit > 1000 {
		return nil, "", apierror.Invalidf("limit", "invalid_limit", "limit must be between 1 and 1000, got %d", opts.Limit)
	}
	after := "00000000-0000-0000-0000-000000000000"
	if opts.After != "" {
		if err := checkID(opts.After); err != nil {
			return nil, "", err
		}
		after = opts.After
	}
	query := "SELECT " + recordColumns + " FROM records r WHERE tenant_id = $1 AND object_id = $2 AND id > $3 AND ($4 OR deleted_at IS NULL)"
	args := []any{tenantID, o.Key, after, opts.IncludeDeleted, opts.Limit + 1}
	if len(opts.Where) > 0 {
		c, err := compileWhere(m, o, opts.Where)
		if err != nil {
			return nil, "", err
		}
		pred, predArgs := c.SQL("r", len(args)+1, time.Now())
		query += " AND (" + pred + ")"
		args = append(args, predArgs...)
	}
	b := &pgx.Batch{}
	b.Queue(query+" ORDER BY r.id LIMIT $5", args...)
	br, err := database.SendTenantBatch(ctx, s.pool, tenantID, b)
	if err != nil {
		return nil, "", err
	}
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", o.APIName, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Record, error) { return scanRecord(r, o) })
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", o.APIName, err)
	}
	next := ""
	if len(out) > opts.Limit {
		out = out[:opts.Limit]
		next = out[len(out)-1].ID
	}
	return out, next, nil
}

// compileWhere compiles a condition given as where, its problems pointed
// under "/where" and reported as invalid_condition.
func compileWhere(m *model.Model, o *model.Object, where json.RawMessage) (*condition.Condition, error) {
	c, err := condition.Compile(m, o, where)
	if err != nil {
		var ps model.Problems
		if errors.As(err, &ps) {
			for i := range ps {
				ps[i].Pointer = "/where" + ps[i].Pointer
			}
			return nil, ps.APIErrorAbout("invalid_condition", "invalid condition")
		}
		return nil, err
	}
	return c, nil
}

func checkID(id string) error {
	if !model.IsUUID(id) {
		return apierror.Invalidf("id", "invalid_id", "record id %q is not a UUID", id)
	}
	return nil
}

func errNotFound(o *model.Object, id string) error {
	return apierror.New(apierror.NotFound, "record_not_found", "no %s record %s", o.APIName, id)
}

// apiValues maps stored values by key to API names.
func apiValues(o *model.Object, vals model.Values) map[string]any {
	out := make(map[string]any, len(vals))
	for _, f := range o.Fields {
		if v, ok := vals[f.Key]; ok && v != nil {
			out[f.APIName] = v
		}
	}
	return out
}

func encodeData(vals model.Values) ([]byte, error) {
	clean := make(map[string]any, len(vals))
	for k, v := range vals {
		if v != nil {
			clean[k] = v
		}
	}
	return json.Marshal(clean)
}
