package records

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/model"
)

// Create validates and stores a new record. values are by API name; an
// "owner" entry sets the owner. Every violation is reported at once and
// nothing is written.
func (s *Store) Create(ctx context.Context, tenantID string, actor Actor, objectName string, values map[string]any) (*Record, error) {
	// Auto-numbers are taken before the write's transaction opens, so a
	// create never holds one pooled connection while waiting for another.
	_, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	numbers, err := s.number(ctx, tenantID, o)
	if err != nil {
		return nil, err
	}
	var rec *Record
	err = s.write(ctx, tenantID, objectName, func(tx pgx.Tx, m *model.Model, o *model.Object) error {
		vals, vs := o.ValidateCreate(values)
		owner, err := ownerOf(values)
		if err != nil {
			return err
		}
		// Lookups are checked even when other values are bad, so that
		// every violation is reported at once.
		vs = append(vs, checkLookups(ctx, tx, tenantID, o, vals)...)
		if len(vs) > 0 {
			return vs.APIError()
		}
		for key, n := range numbers {
			if f := o.FieldByKey(key); f != nil {
				vals[key] = n
			}
		}
		data, err := encodeData(vals)
		if err != nil {
			return err
		}
		id := uuid.NewString()
		cols, slotArgs := slotValues(o, vals)
		args := append([]any{tenantID, o.Key, id, data, string(actor), owner}, slotArgs...)
		// The insert and its event go in one round trip.
		b := &pgx.Batch{}
		b.Queue(insertSQL(cols), args...).QueryRow(func(row pgx.Row) error {
			rec, err = scanRecord(row, o)
			return err
		})
		if err := outbox.Queue(b, tenantID, TopicCreated, EventPayload{
			Object: o.APIName, ObjectID: o.Key, ID: id, Version: 1, Actor: actor, Values: apiValues(o, vals),
		}); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return uniqueError(o, vals, err, "create "+o.APIName)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// Update changes some values of a live record (values by API name; null
// clears a field). With expectedVersion set, a record at another version
// is a conflict naming the current version. An update that changes nothing
// returns the record unchanged, without a new version or event.
func (s *Store) Update(ctx context.Context, tenantID string, actor Actor, objectName, id string, values map[string]any, expectedVersion *int) (*Record, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var rec *Record
	err := s.write(ctx, tenantID, objectName, func(tx pgx.Tx, m *model.Model, o *model.Object) error {
		patch, vs := o.ValidatePatch(values)
		vs = append(vs, checkLookups(ctx, tx, tenantID, o, patch)...)
		if len(vs) > 0 {
			return vs.APIError()
		}
		cur, stored, err := lockRecord(ctx, tx, tenantID, o, id, false)
		if err != nil {
			return err
		}
		if expectedVersion != nil && *expectedVersion != cur.Version {
			return &apierror.Error{Kind: apierror.Conflict, Code: "version_conflict", Field: "version",
				Message: fmt.Sprintf("%s %s is at version %d, not %d; reload it and retry", o.APIName, id, cur.Version, *expectedVersion)}
		}
		owner := cur.Owner
		if _, ok := values["owner"]; ok {
			if owner, err = ownerOf(values); err != nil {
				return err
			}
		}
		changes := map[string]Change{}
		next := make(model.Values, len(stored)+len(patch))
		for k, v := range stored {
			next[k] = v
		}
		for _, f := range o.Fields {
			nv, ok := patch[f.Key]
			if !ok {
				continue
			}
			old := stored[f.Key]
			if sameValue(old, nv) {
				continue
			}
			changes[f.APIName] = Change{Old: old, New: nv}
			if nv == nil {
				delete(next, f.Key)
			} else {
				next[f.Key] = nv
			}
		}
		if owner != cur.Owner {
			changes["owner"] = Change{Old: nilIfEmpty(cur.Owner), New: nilIfEmpty(owner)}
		}
		if len(changes) == 0 {
			rec = cur
			return nil
		}
		rec, err = s.rewrite(ctx, tx, tenantID, o, id, next, actor, owner)
		if err != nil {
			return uniqueError(o, next, err, "update "+o.APIName)
		}
		_, err = outbox.Append(ctx, tx, tenantID, TopicUpdated, EventPayload{
			Object: o.APIName, ObjectID: o.Key, ID: id, Version: rec.Version, Actor: actor, Changes: changes,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// rewrite stores a record's full new values and slots, bumping its version.
func (s *Store) rewrite(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, id string, vals model.Values, actor Actor, owner string) (*Record, error) {
	data, err := encodeData(vals)
	if err != nil {
		return nil, err
	}
	cols, slotArgs := slotValues(o, vals)
	args := append([]any{tenantID, o.Key, id, data, string(actor), owner}, slotArgs...)
	return scanRecord(tx.QueryRow(ctx, updateSQL(cols), args...), o)
}

// lockRecord reads a record FOR UPDATE: live ones, or deleted ones if asked.
func lockRecord(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, id string, deleted bool) (*Record, model.Values, error) {
	cond := "deleted_at IS NULL"
	if deleted {
		cond = "deleted_at IS NOT NULL"
	}
	row := tx.QueryRow(ctx, "SELECT "+recordColumns+" FROM records WHERE tenant_id = $1 AND object_id = $2 AND id = $3 AND "+cond+" FOR UPDATE",
		tenantID, o.Key, id)
	rec, stored, err := scanRecordData(row, o)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, errNotFound(o, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("lock %s %s: %w", o.APIName, id, err)
	}
	return rec, stored, nil
}

// checkLookups verifies that every lookup value names a live record of its
// target in this tenant, share-locking the targets so they cannot be
// deleted before this transaction commits. A record of another tenant is
// invisible here, so it is reported exactly like a missing one.
func checkLookups(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, vals model.Values) model.Violations {
	var objs, ids []string
	var fields []*model.Field
	for _, f := range o.Fields {
		if f.Kind != model.KindLookup || f.Target == nil {
			continue
		}
		if v, ok := vals[f.Key].(string); ok {
			objs, ids, fields = append(objs, f.Target.Key), append(ids, v), append(fields, f)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT object_id::text || '/' || id::text FROM records
		WHERE tenant_id = $1 AND deleted_at IS NULL AND (object_id, id) IN (SELECT * FROM unnest($2::uuid[], $3::uuid[]))
		FOR SHARE`, tenantID, objs, ids)
	if err != nil {
		return model.Violations{{Path: "", Rule: "lookup", Message: "checking lookups failed: " + err.Error()}}
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return model.Violations{{Path: "", Rule: "lookup", Message: "checking lookups failed: " + err.Error()}}
	}
	have := map[string]bool{}
	for _, k := range found {
		have[k] = true
	}
	var vs model.Violations
	for i, f := range fields {
		if !have[objs[i]+"/"+ids[i]] {
			vs = append(vs, model.Violation{Path: "/" + f.APIName, Field: f.APIName, Rule: "lookup", Value: ids[i],
				Message: fmt.Sprintf("no %s record %s", f.Target.APIName, ids[i])})
		}
	}
	return vs
}

// number takes the next number of each autoNumber field of o, by field
// key. Numbers are taken in short transactions of their own, so creates of
// one object never queue behind each other; a create that then fails
// leaves a gap.
func (s *Store) number(ctx context.Context, tenantID string, o *model.Object) (map[string]string, error) {
	var out map[string]string
	for _, f := range o.Fields {
		if f.Kind != model.KindAutoNumber {
			continue
		}
		var n int64
		err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO autonumber_counters AS c (tenant_id, object_id, field_key, last_value) VALUES ($1, $2, $3, 1)
				ON CONFLICT (tenant_id, object_id, field_key) DO UPDATE SET last_value = c.last_value + 1 RETURNING last_value`,
				tenantID, o.Key, f.Key).Scan(&n)
		})
		if err != nil {
			return nil, fmt.Errorf("number %s.%s: %w", o.APIName, f.APIName, err)
		}
		if out == nil {
			out = map[string]string{}
		}
		out[f.Key] = f.FormatAutoNumber(n)
	}
	return out, nil
}

// uniqueError turns a unique-slot violation into a conflict naming the
// field and value; other errors are wrapped.
func uniqueError(o *model.Object, vals model.Values, err error, what string) error {
	if database.IsCode(err, database.UniqueViolation) {
		if f := fieldForConstraint(o, database.ConstraintViolated(err)); f != nil {
			v := vals[f.Key]
			vs := model.Violations{{Path: "/" + f.APIName, Field: f.APIName, Rule: "unique", Value: v,
				Message: fmt.Sprintf("another %s record already has %s %v", o.APIName, f.APIName, v)}}
			return &apierror.Error{Kind: apierror.Conflict, Code: "unique_violation", Message: vs.Error(), Details: vs, Err: err}
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func ownerOf(values map[string]any) (string, error) {
	v, ok := values["owner"]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok || !model.IsUUID(s) {
		vs := model.Violations{{Path: "/owner", Field: "owner", Rule: "format", Value: v, Message: "owner must be a user id (a UUID)"}}
		return "", vs.APIError()
	}
	return s, nil
}

// sameValue compares two normalized values as decoded from JSON.
func sameValue(a, b any) bool { return reflect.DeepEqual(a, b) }
