package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
)

// Mode says how an applied bundle relates to the current schema.
type Mode int

const (
	// Merge adds the bundle's objects and replaces those it names (by key
	// or API name); other objects are left alone. Templates and partner
	// apps are merged.
	Merge Mode = iota
	// Replace makes the bundle the whole schema: objects it lacks are removed.
	Replace
)

// ApplyRequest is a schema change.
type ApplyRequest struct {
	Bundle *model.Bundle
	Mode   Mode
	// DryRun computes and checks the change, then rolls it back.
	DryRun bool
	// Message describes the change in the history.
	Message string
	// Actor is who makes the change (a user id, "user:ID",
	// "integration:NAME" or "cli"), recorded in the history and the audit
	// log. Empty means the actor of ctx's audit.Request, else "system".
	Actor string
}

// Result is the outcome of Apply.
type Result struct {
	// Version is the schema version after the change (unchanged for a dry
	// run or a change that changes nothing).
	Version int `json:"version"`
	// Changes lists what changed; empty when nothing did.
	Changes []model.Change `json:"changes"`
	// Applied is false for a dry run and for a change that changes nothing.
	Applied bool `json:"applied"`
	// Jobs is how many background slot jobs the change queued.
	Jobs int `json:"jobs"`
}

var errDryRun = errors.New("dry run")

// Apply validates and applies a schema change in one transaction, creating
// a new version. Invalid definitions fail with every problem and change
// nothing; concurrent changes to one tenant's schema are serialised. An
// applied change is recorded in the tenant's audit log in the same
// transaction: one schema.changed entry by req.Actor with details
// {"version", "message", "changes"} (the readable diff).
func (c *Catalog) Apply(ctx context.Context, tenantID string, req ApplyRequest) (Result, error) {
	if req.Bundle == nil {
		return Result{}, apierror.Invalidf("bundle", "bundle_required", "a bundle or object definition is required")
	}
	var res Result
	err := database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		version, prev, prevModel, err := c.lockCurrent(ctx, tx, tenantID)
		if err != nil {
			return err
		}
		res.Version = version
		next, err := compose(prev, req.Bundle, req.Mode)
		if err != nil {
			return err
		}
		prepared, err := model.Prepare(prev, next, time.Now())
		if err != nil {
			return asAPIError(err)
		}
		res.Changes = model.Diff(prev, prepared)
		if len(res.Changes) == 0 {
			return nil
		}
		nextModel, err := model.Compile(prepared, version+1)
		if err != nil {
			return fmt.Errorf("compile prepared schema: %w", err)
		}
		if err := checkData(ctx, tx, tenantID, prevModel, nextModel, req.Bundle); err != nil {
			return err
		}
		jobs := slotJobs(prevModel, nextModel)
		res.Jobs = len(jobs)
		if req.DryRun {
			return errDryRun
		}
		if err := c.save(ctx, tx, tenantID, version+1, prepared, res.Changes, req); err != nil {
			return err
		}
		for _, j := range jobs {
			if _, err := tx.Exec(ctx, `INSERT INTO slot_jobs (tenant_id, object_id, field_key, slot, action) VALUES ($1, $2, $3, $4, $5)`,
				tenantID, j.object, j.field, j.slot, j.action); err != nil {
				return fmt.Errorf("queue slot job: %w", err)
			}
		}
		res.Version, res.Applied = version+1, true
		return nil
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return Result{}, err
	}
	if res.Applied {
		c.Invalidate(tenantID, res.Version)
		c.log.InfoContext(ctx, "schema changed", "tenant", tenantID, "version", res.Version, "changes", len(res.Changes), "jobs", res.Jobs)
	}
	return res, nil
}

func asAPIError(err error) error {
	var ps model.Problems
	if errors.As(err, &ps) {
		return ps.APIError()
	}
	return err
}

// lockCurrent locks the tenant's schema row and returns the current
// version, bundle and compiled model, taking the last two from the cache
// when it holds that version: decoding a large schema is the slow part.
func (c *Catalog) lockCurrent(ctx context.Context, tx pgx.Tx, tenantID string) (int, *model.Bundle, *model.Model, error) {
	var version int
	err := tx.QueryRow(ctx, "SELECT version FROM tenant_schemas WHERE tenant_id = $1 FOR UPDATE", tenantID).Scan(&version)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil, fmt.Errorf("lock schema: %w", err)
	}
	if m, ok := c.cache.Peek(tenantID); ok && m.Version == version {
		return version, m.Bundle, m, nil
	}
	version, prev, err := current(ctx, tx, tenantID, false)
	if err != nil {
		return 0, nil, nil, err
	}
	m, err := model.Compile(prev, version)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("compile current schema: %w", err)
	}
	return version, prev, m, nil
}

// compose builds the intended next bundle from the current one and the
// request. It copies only the object list: Prepare deep-copies what it
// changes and never modifies its inputs.
func compose(prev, in *model.Bundle, mode Mode) (*model.Bundle, error) {
	next := &model.Bundle{Format: model.BundleFormat, Name: prev.Name, Description: prev.Description, RemovedObjects: prev.RemovedObjects}
	if mode == Replace {
		next.Objects = slices.Clone(in.Objects)
		next.Name, next.Description = in.Name, in.Description
		return next, nil
	}
	next.Objects = slices.Clone(prev.Objects)
	for _, o := range in.Objects {
		replaced := false
		for i, old := range next.Objects {
			if (o.Meta.Key != "" && o.Meta.Key == old.Meta.Key) || (o.Meta.Key == "" && o.Meta.APIName == old.Meta.APIName) {
				next.Objects[i] = o
				replaced = true
				break
			}
		}
		if !replaced {
			next.Objects = append(next.Objects, o)
		}
	}
	return next, nil
}

// save stores a new schema version, announces it and records it in the
// audit log, in tx.
func (c *Catalog) save(ctx context.Context, tx pgx.Tx, tenantID string, version int, b *model.Bundle, changes []model.Change, req ApplyRequest) error {
	bundle, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("encode schema: %w", err)
	}
	ch, err := json.Marshal(changes)
	if err != nil {
		return fmt.Errorf("encode changes: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO schema_versions (tenant_id, version, bundle, changes, message, created_by)
		VALUES ($1, $2, $3, $4, $5, $6)`, tenantID, version, bundle, ch, req.Message, req.Actor); err != nil {
		return fmt.Errorf("record schema version %d: %w", version, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO tenant_schemas (tenant_id, version, bundle) VALUES ($1, $2, $3)
		ON CONFLICT (tenant_id) DO UPDATE SET version = excluded.version, bundle = excluded.bundle, updated_at = now()`,
		tenantID, version, bundle); err != nil {
		return fmt.Errorf("store schema version %d: %w", version, err)
	}
	// Other servers drop their cached model when this commits.
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", NotifyChannel, fmt.Sprintf("%s:%d", tenantID, version)); err != nil {
		return fmt.Errorf("notify schema change: %w", err)
	}
	return c.recordChange(ctx, tx, tenantID, version, changes, req)
}

// recordChange appends the schema.changed entry of a new version. Its
// Object is the object changed when the changes concern one object only.
func (c *Catalog) recordChange(ctx context.Context, tx pgx.Tx, tenantID string, version int, changes []model.Change, req ApplyRequest) error {
	details, err := json.Marshal(map[string]any{"version": version, "message": req.Message, "changes": changes})
	if err != nil {
		return fmt.Errorf("encode audit details: %w", err)
	}
	object := ""
	for i, ch := range changes {
		if i == 0 {
			object = ch.Object
		} else if ch.Object != object {
			object = ""
			break
		}
	}
	actor := req.Actor
	if actor != "" {
		actor = audit.ActorOf(actor)
	}
	if err := c.audit.Append(ctx, tx, tenantID, audit.Entry{Actor: actor, Action: audit.ActionSchemaChanged, Object: object, Details: details}); err != nil {
		return fmt.Errorf("record schema version %d in the audit log: %w", version, err)
	}
	return nil
}

// checkData refuses changes existing records cannot survive: a kind change
// some stored value fails, or a new unique constraint with duplicates. The
// problems point into the submitted bundle where possible.
func checkData(ctx context.Context, tx pgx.Tx, tenantID string, prev, next *model.Model, submitted *model.Bundle) error {
	var ps model.Problems
	for _, o := range next.Objects {
		po := prev.ObjectByKey(o.Key)
		if po == nil {
			continue
		}
		for _, f := range o.Fields {
			pf := po.FieldByKey(f.Key)
			if pf == nil {
				continue
			}
			pointer := submittedPointer(submitted, o, f)
			if pf.Kind != f.Kind {
				n, examples, err := failingValues(ctx, tx, tenantID, o, f)
				if err != nil {
					return err
				}
				if n > 0 {
					ps = append(ps, model.Problem{Pointer: pointer + "/x-lattice-field/kind", Code: "values_do_not_convert",
						Message: fmt.Sprintf("%d record(s) hold %s values that are not valid %s values, e.g. %s",
							n, f.APIName, f.Kind, strings.Join(examples, "; "))})
				}
			}
			if f.Unique && !pf.Unique {
				dups, err := duplicates(ctx, tx, tenantID, o, f)
				if err != nil {
					return err
				}
				if len(dups) > 0 {
					ps = append(ps, model.Problem{Pointer: pointer + "/x-lattice-field/unique", Code: "duplicate_values",
						Message: fmt.Sprintf("%s cannot be unique: these values occur more than once: %s", f.APIName, strings.Join(dups, ", "))})
				}
			}
		}
	}
	if len(ps) > 0 {
		return ps.APIError()
	}
	return nil
}

// submittedPointer finds the field in the submitted bundle, by key or name.
func submittedPointer(b *model.Bundle, o *model.Object, f *model.Field) string {
	for i, so := range b.Objects {
		if so.Meta.Key == o.Key || so.Meta.APIName == o.APIName {
			for _, p := range so.Properties {
				if p.Schema.Meta.Key == f.Key || p.Name == f.APIName {
					return fmt.Sprintf("/objects/%d/properties/%s", i, p.Name)
				}
			}
		}
	}
	return "/" + o.APIName + "/" + f.APIName
}

// failingValues counts stored values of f (deleted records included: they
// may be restored) that f's new kind rejects, with up to five examples.
func failingValues(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, f *model.Field) (int, []string, error) {
	rows, err := tx.Query(ctx, `SELECT id::text, data -> $3 FROM records
		WHERE tenant_id = $1 AND object_id = $2 AND data ? $3 AND data ->> $3 IS NOT NULL`, tenantID, o.Key, f.Key)
	if err != nil {
		return 0, nil, fmt.Errorf("read %s values: %w", f.APIName, err)
	}
	defer rows.Close()
	n := 0
	var examples []string
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return 0, nil, err
		}
		v, err := model.DecodeJSON(raw)
		if err != nil {
			return 0, nil, err
		}
		if vs, _ := f.Validate(v); len(vs) > 0 {
			n++
			if len(examples) < 5 {
				examples = append(examples, fmt.Sprintf("record %s: %s", id, vs[0].Message))
			}
		}
	}
	return n, examples, rows.Err()
}

func duplicates(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, f *model.Field) ([]string, error) {
	expr := "data ->> $3"
	if f.Kind == model.KindEmail {
		expr = "lower(data ->> $3)"
	}
	rows, err := tx.Query(ctx, `SELECT `+expr+` FROM records
		WHERE tenant_id = $1 AND object_id = $2 AND deleted_at IS NULL AND data ->> $3 IS NOT NULL
		GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 5`, tenantID, o.Key, f.Key)
	if err != nil {
		return nil, fmt.Errorf("look for duplicate %s values: %w", f.APIName, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

type slotJob struct {
	object, field, slot, action string
}

// slotJobs lists the slot columns to fill (an existing field got a slot)
// or clear (a field stopped being unique) after the change commits. New
// fields hold no values yet, so they need none.
func slotJobs(prev, next *model.Model) []slotJob {
	var jobs []slotJob
	for _, o := range next.Objects {
		po := prev.ObjectByKey(o.Key)
		if po == nil {
			continue
		}
		prevFields := map[string]*model.Field{}
		for _, f := range append(po.Fields, po.Removed...) {
			prevFields[f.Key] = f
		}
		for _, f := range o.Fields {
			pf := prevFields[f.Key]
			if pf == nil {
				continue
			}
			if f.Slot != "" && pf.Slot == "" {
				jobs = append(jobs, slotJob{o.Key, f.Key, f.Slot, "fill"})
			}
			switch {
			case f.UniqueSlot != "" && f.Unique && (pf.UniqueSlot == "" || !pf.Unique):
				jobs = append(jobs, slotJob{o.Key, f.Key, f.UniqueSlot, "fill"})
			case f.UniqueSlot != "" && !f.Unique && pf.Unique:
				jobs = append(jobs, slotJob{o.Key, f.Key, f.UniqueSlot, "clear"})
			}
		}
	}
	return jobs
}
