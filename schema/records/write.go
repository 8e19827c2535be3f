package records

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"

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
		next, changes := applyPatch(o, stored, patch)
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

// applyPatch returns the stored values (by key) with a validated patch
// applied, null clearing a field, and the changes by API name. Values of
// fields the patch does not name, removed fields' included, are kept.
func applyPatch(o *model.Object, stored, patch model.Values) (model.Values, map[string]Change) {
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
	return next, changes
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
	row := tx.QueryRow(ctx, lockSQL("id = $3 AND "+cond, ""), tenantID, o.Key, id)
	rec, stored, err := scanRecordData(row, o)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, errNotFound(o, id)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("lock %s %s: %w", o.APIName, id, err)
	}
	return rec, stored, nil
}

// lockSQL reads records of tenant $1 and object $2 (aliased r) meeting
// cond FOR UPDATE, with recordColumns; tail goes before the lock clause
// (ORDER BY, LIMIT).
func lockSQL(cond, tail string) string {
	return "SELECT " + recordColumns + " FROM records r WHERE tenant_id = $1 AND object_id = $2 AND " + cond + tail + " FOR UPDATE OF r"
}

// checkLookups verifies that every lookup value names a live record of its
// target in this tenant, share-locking the targets so they cannot be
// deleted before this transaction commits. A record of another tenant is
// invisible here, so it is reported exactly like a missing one.
func checkLookups(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, vals model.Values) model.Violations {
	return checkLookupsMany(ctx, tx, tenantID, o, []model.Values{vals})[0]
}

// checkLookupsMany is checkLookups for many records' values with one
// query; the i-th violations are those of vals[i], pointed as for one
// record ("/account").
func checkLookupsMany(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, vals []model.Values) []model.Violations {
	out := make([]model.Violations, len(vals))
	type ref struct {
		i     int
		f     *model.Field
		id    string
		found string // "object key/id", as the query returns it
	}
	var refs []ref
	var objs, ids []string
	asked := map[string]bool{}
	for i, v := range vals {
		for _, f := range o.Fields {
			if f.Kind != model.KindLookup || f.Target == nil {
				continue
			}
			if id, ok := v[f.Key].(string); ok {
				k := f.Target.Key + "/" + id
				refs = append(refs, ref{i: i, f: f, id: id, found: k})
				if !asked[k] {
					asked[k] = true
					objs, ids = append(objs, f.Target.Key), append(ids, id)
				}
			}
		}
	}
	if len(refs) == 0 {
		return out
	}
	rows, err := tx.Query(ctx, `SELECT object_id::text || '/' || id::text FROM records
		WHERE tenant_id = $1 AND deleted_at IS NULL AND (object_id, id) IN (SELECT * FROM unnest($2::uuid[], $3::uuid[]))
		FOR SHARE`, tenantID, objs, ids)
	var found []string
	if err == nil {
		found, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil {
		out[refs[0].i] = model.Violations{{Path: "", Rule: "lookup", Message: "checking lookups failed: " + err.Error()}}
		return out
	}
	have := make(map[string]bool, len(found))
	for _, k := range found {
		have[k] = true
	}
	for _, r := range refs {
		if !have[r.found] {
			out[r.i] = append(out[r.i], model.Violation{Path: "/" + r.f.APIName, Field: r.f.APIName, Rule: "lookup", Value: r.id,
				Message: fmt.Sprintf("no %s record %s", r.f.Target.APIName, r.id)})
		}
	}
	return out
}

// number takes the next number of each autoNumber field of o, by field
// key. Numbers are taken in short transactions of their own, so creates of
// one object never queue behind each other; a create that then fails
// leaves a gap.
func (s *Store) number(ctx context.Context, tenantID string, o *model.Object) (map[string]string, error) {
	nums, err := s.numbers(ctx, tenantID, o, 1)
	if err != nil || nums == nil {
		return nil, err
	}
	out := make(map[string]string, len(nums))
	for k, ns := range nums {
		out[k] = ns[0]
	}
	return out, nil
}

// numbers is number for n new records at once: n consecutive numbers of
// each autoNumber field, reserved with one statement per field.
func (s *Store) numbers(ctx context.Context, tenantID string, o *model.Object, n int) (map[string][]string, error) {
	var out map[string][]string
	for _, f := range o.Fields {
		if f.Kind != model.KindAutoNumber {
			continue
		}
		var last int64
		err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
			return tx.QueryRow(ctx, `INSERT INTO autonumber_counters AS c (tenant_id, object_id, field_key, last_value) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, object_id, field_key) DO UPDATE SET last_value = c.last_value + $4 RETURNING last_value`,
				tenantID, o.Key, f.Key, int64(n)).Scan(&last)
		})
		if err != nil {
			return nil, fmt.Errorf("number %s.%s: %w", o.APIName, f.APIName, err)
		}
		if out == nil {
			out = map[string][]string{}
		}
		ns := make([]string, n)
		for i := range ns {
			ns[i] = f.FormatAutoNumber(last - int64(n) + 1 + int64(i))
		}
		out[f.Key] = ns
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
	owner, vs := ownerValue(values)
	if len(vs) > 0 {
		return "", vs.APIError()
	}
	return owner, nil
}

// ownerValue is the owner values give ("" for none), or its violation.
func ownerValue(values map[string]any) (string, model.Violations) {
	v, ok := values["owner"]
	if !ok || v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok || !model.IsUUID(s) {
		return "", model.Violations{{Path: "/owner", Field: "owner", Rule: "format", Value: v, Message: "owner must be a user id (a UUID)"}}
	}
	// Lower case, so conditions on owner compare the bare column and the
	// owner index serves record scopes ("own records").
	return strings.ToLower(s), nil
}

// sameValue compares two normalized values as decoded from JSON.
func sameValue(a, b any) bool { return reflect.DeepEqual(a, b) }
