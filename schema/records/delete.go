package records

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/model"
)

// Delete soft-deletes a live record. Records that point at it through a
// lookup are handled as the lookup says: restrict refuses the delete while
// any live one exists, setNull clears their lookup, cascade deletes them
// too (and so on down). All of it is one transaction with one event per
// touched record. With expectedVersion set, another version is a conflict.
func (s *Store) Delete(ctx context.Context, tenantID string, actor Actor, objectName, id string, expectedVersion *int) error {
	if err := checkID(id); err != nil {
		return err
	}
	return s.write(ctx, tenantID, objectName, func(tx pgx.Tx, m *model.Model, o *model.Object) error {
		cur, _, err := lockRecord(ctx, tx, tenantID, o, id, false)
		if err != nil {
			return err
		}
		if expectedVersion != nil && *expectedVersion != cur.Version {
			return &apierror.Error{Kind: apierror.Conflict, Code: "version_conflict", Field: "version",
				Message: fmt.Sprintf("%s %s is at version %d, not %d; reload it and retry", o.APIName, id, cur.Version, *expectedVersion)}
		}
		d := deletion{s: s, tx: tx, tenantID: tenantID, actor: actor, seen: map[string]bool{}}
		return d.remove(ctx, o, id, "")
	})
}

// deletion carries one delete through its cascade.
type deletion struct {
	s        *Store
	tx       pgx.Tx
	tenantID string
	actor    Actor
	seen     map[string]bool // records already deleted in this cascade (self-relations loop)
}

func (d *deletion) remove(ctx context.Context, o *model.Object, id, cause string) error {
	if d.seen[id] {
		return nil
	}
	d.seen[id] = true
	for _, inv := range o.Inverses {
		children, err := d.children(ctx, inv, id)
		if err != nil {
			return err
		}
		if len(children) == 0 {
			continue
		}
		switch inv.Field.OnDelete {
		case model.OnDeleteCascade:
			for _, c := range children {
				if err := d.remove(ctx, inv.From, c, o.APIName+"/"+id); err != nil {
					return err
				}
			}
		case model.OnDeleteSetNull:
			for _, c := range children {
				if err := d.clearLookup(ctx, inv, c, id); err != nil {
					return err
				}
			}
		default:
			if d.seen[children[0]] && len(children) == 1 {
				continue // a record pointing at itself does not block its own deletion
			}
			return &apierror.Error{Kind: apierror.Conflict, Code: "delete_restricted",
				Message: fmt.Sprintf("%s %s cannot be deleted: %d live %s record(s) point at it through %s.%s (onDelete restrict), e.g. %s",
					o.APIName, id, len(children), inv.From.APIName, inv.From.APIName, inv.Field.APIName, children[0])}
		}
	}
	var version int
	err := d.tx.QueryRow(ctx, `UPDATE records SET deleted_at = now(), version = version + 1, updated_at = now(), updated_by = $4
		WHERE tenant_id = $1 AND object_id = $2 AND id = $3 AND deleted_at IS NULL RETURNING version`,
		d.tenantID, o.Key, id, string(d.actor)).Scan(&version)
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", o.APIName, id, err)
	}
	_, err = outbox.Append(ctx, d.tx, d.tenantID, TopicDeleted, EventPayload{
		Object: o.APIName, ObjectID: o.Key, ID: id, Version: version, Actor: d.actor, Cause: cause,
	})
	return err
}

// children lists the live records whose lookup inv.Field points at id,
// through the lookup's reference slot and its index, locking them.
func (d *deletion) children(ctx context.Context, inv *model.Inverse, id string) ([]string, error) {
	if !slotName(inv.Field.Slot) {
		return nil, fmt.Errorf("lookup %s.%s has no reference slot", inv.From.APIName, inv.Field.APIName)
	}
	rows, err := d.tx.Query(ctx, "SELECT id::text FROM records WHERE tenant_id = $1 AND object_id = $2 AND "+inv.Field.Slot+
		" = $3 AND deleted_at IS NULL ORDER BY id FOR UPDATE", d.tenantID, inv.From.Key, id)
	if err != nil {
		return nil, fmt.Errorf("find %s records pointing at %s: %w", inv.From.APIName, id, err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func (d *deletion) clearLookup(ctx context.Context, inv *model.Inverse, childID, parentID string) error {
	cur, stored, err := lockRecord(ctx, d.tx, d.tenantID, inv.From, childID, false)
	if err != nil {
		return err
	}
	delete(stored, inv.Field.Key)
	rec, err := d.s.rewrite(ctx, d.tx, d.tenantID, inv.From, childID, stored, d.actor, cur.Owner)
	if err != nil {
		return fmt.Errorf("clear %s.%s of %s: %w", inv.From.APIName, inv.Field.APIName, childID, err)
	}
	_, err = outbox.Append(ctx, d.tx, d.tenantID, TopicUpdated, EventPayload{
		Object: inv.From.APIName, ObjectID: inv.From.Key, ID: childID, Version: rec.Version, Actor: d.actor,
		Changes: map[string]Change{inv.Field.APIName: {Old: parentID, New: nil}},
	})
	return err
}

// Restore brings back a soft-deleted record. Its lookups must point at live
// records, and its unique values must still be free.
func (s *Store) Restore(ctx context.Context, tenantID string, actor Actor, objectName, id string) (*Record, error) {
	if err := checkID(id); err != nil {
		return nil, err
	}
	var rec *Record
	err := s.write(ctx, tenantID, objectName, func(tx pgx.Tx, m *model.Model, o *model.Object) error {
		_, stored, err := lockRecord(ctx, tx, tenantID, o, id, true)
		if err != nil {
			return err
		}
		if vs := checkLookups(ctx, tx, tenantID, o, stored); len(vs) > 0 {
			for i := range vs {
				vs[i].Message += "; restore that record first"
			}
			return vs.APIError()
		}
		rec, err = scanRecord(tx.QueryRow(ctx, `UPDATE records SET deleted_at = NULL, version = version + 1, updated_at = now(), updated_by = $4
			WHERE tenant_id = $1 AND object_id = $2 AND id = $3 RETURNING `+recordColumns, tenantID, o.Key, id, string(actor)), o)
		if err != nil {
			return uniqueError(o, stored, err, "restore "+o.APIName)
		}
		_, err = outbox.Append(ctx, tx, tenantID, TopicRestored, EventPayload{
			Object: o.APIName, ObjectID: o.Key, ID: id, Version: rec.Version, Actor: actor,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// slotName reports whether s is a well-formed slot column name, before it
// is written into SQL.
func slotName(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	switch s[0] {
	case model.SlotNumeric, model.SlotText, model.SlotTimestamp, model.SlotReference, model.SlotUnique:
		return true
	}
	return false
}
