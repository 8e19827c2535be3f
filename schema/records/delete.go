package records

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

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
		d := newDeletion(s, tx, tenantID, actor)
		return d.run(ctx, o, []*Record{cur})
	})
}

// deletion carries the delete of a set of locked records (one for Delete,
// many for DeleteMany) through its cascade, level by level: for each
// lookup pointing at the records of one level, one query finds and locks
// the live records pointing at any of them; cascade makes those the next
// level. The number of statements grows with the depth of the cascade and
// the number of lookups, not with the number of records. Nothing is
// written until the whole cascade is known, and then in one round trip:
// the setNull clears, the deletions (one statement per object) and every
// event.
//
// Being a set, the outcome does not depend on the order records are
// visited: a record deleted by the same deletion (given, or reached by a
// cascade) never blocks a restrict, and is not cleared by a setNull (it
// keeps its values, as every deleted record does).
type deletion struct {
	s        *Store
	tx       pgx.Tx
	tenantID string
	actor    Actor

	doomed    map[string]*doomed // by "object key/id"
	order     []*doomed          // as found: the given records, then level by level
	levels    [][]*doomed        // order, by level
	clears    map[string]*clearing
	clearList []*clearing
	restricts []restriction
}

// doomed is a record the deletion deletes.
type doomed struct {
	o       *model.Object
	id      string
	version int    // before the delete
	cause   string // "Object/id" of the record whose deletion cascaded to it
}

// clearing is a record whose lookups to deleted records are set to null.
type clearing struct {
	o       *model.Object
	id      string
	version int
	owner   string
	stored  model.Values
	changes map[string]Change
}

// restriction is a live record pointing at a doomed one through a
// restrict lookup.
type restriction struct {
	parent *doomed
	inv    *model.Inverse
	child  string
}

func newDeletion(s *Store, tx pgx.Tx, tenantID string, actor Actor) *deletion {
	return &deletion{s: s, tx: tx, tenantID: tenantID, actor: actor,
		doomed: map[string]*doomed{}, clears: map[string]*clearing{}}
}

func recordKey(o *model.Object, id string) string { return o.Key + "/" + id }

// add dooms a record unless it already is; it reports whether it was new.
func (d *deletion) add(dm *doomed) bool {
	k := recordKey(dm.o, dm.id)
	if d.doomed[k] != nil {
		return false
	}
	d.doomed[k] = dm
	d.order = append(d.order, dm)
	return true
}

// run deletes roots, live records of o locked FOR UPDATE, and everything
// their deletion reaches, or nothing if a restrict refuses.
func (d *deletion) run(ctx context.Context, o *model.Object, roots []*Record) error {
	var level []*doomed
	for _, r := range roots {
		if dm := (&doomed{o: o, id: r.ID, version: r.Version}); d.add(dm) {
			level = append(level, dm)
		}
	}
	for len(level) > 0 {
		d.levels = append(d.levels, level)
		var err error
		if level, err = d.next(ctx, level); err != nil {
			return err
		}
	}
	if err := d.restricted(); err != nil {
		return err
	}
	return d.write(ctx)
}

// childRow is a live record pointing at a doomed one.
type childRow struct {
	id, parent string
	version    int
	data       []byte
	owner      string
}

// next finds and locks the live records pointing at level's records,
// sorts them by their lookup's onDelete and returns the next level: the
// records cascades reach for the first time.
func (d *deletion) next(ctx context.Context, level []*doomed) ([]*doomed, error) {
	// The level's records by object, objects in the order first met.
	var objs []*model.Object
	ids := map[*model.Object][]string{}
	for _, dm := range level {
		if ids[dm.o] == nil {
			objs = append(objs, dm.o)
		}
		ids[dm.o] = append(ids[dm.o], dm.id)
	}
	type query struct {
		parent *model.Object
		inv    *model.Inverse
		rows   []childRow
	}
	var qs []*query
	b := &pgx.Batch{}
	b.Queue(customPlansSQL)
	for _, o := range objs {
		for _, inv := range o.Inverses {
			if !slotName(inv.Field.Slot) {
				return nil, fmt.Errorf("lookup %s.%s has no reference slot", inv.From.APIName, inv.Field.APIName)
			}
			q := &query{parent: o, inv: inv}
			qs = append(qs, q)
			setNull := inv.Field.OnDelete == model.OnDeleteSetNull
			sel := "NULL::jsonb, ''"
			if setNull {
				sel = "r.data, coalesce(r.owner_id, '')"
			}
			// Through the lookup's reference slot and its index.
			b.Queue("SELECT r.id::text, r.version, r."+inv.Field.Slot+"::text, "+sel+" FROM records r WHERE r.tenant_id = $1 AND r.object_id = $2 AND r."+
				inv.Field.Slot+" = ANY($3::uuid[]) AND r.deleted_at IS NULL ORDER BY r.id FOR UPDATE",
				d.tenantID, inv.From.Key, ids[o]).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var c childRow
					if err := rows.Scan(&c.id, &c.version, &c.parent, &c.data, &c.owner); err != nil {
						return err
					}
					q.rows = append(q.rows, c)
				}
				return rows.Err()
			})
		}
	}
	if len(qs) == 0 {
		return nil, nil
	}
	if err := d.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("find records pointing at deleted ones: %w", err)
	}
	var next []*doomed
	for _, q := range qs {
		inv := q.inv
		for _, c := range q.rows {
			parent := d.doomed[recordKey(q.parent, c.parent)]
			switch inv.Field.OnDelete {
			case model.OnDeleteCascade:
				if dm := (&doomed{o: inv.From, id: c.id, version: c.version, cause: q.parent.APIName + "/" + c.parent}); d.add(dm) {
					next = append(next, dm)
				}
			case model.OnDeleteSetNull:
				k := recordKey(inv.From, c.id)
				cl := d.clears[k]
				if cl == nil {
					stored, err := decodeData(c.data)
					if err != nil {
						return nil, fmt.Errorf("read %s %s: %w", inv.From.APIName, c.id, err)
					}
					cl = &clearing{o: inv.From, id: c.id, version: c.version, owner: c.owner, stored: stored, changes: map[string]Change{}}
					d.clears[k] = cl
					d.clearList = append(d.clearList, cl)
				}
				delete(cl.stored, inv.Field.Key)
				cl.changes[inv.Field.APIName] = Change{Old: c.parent, New: nil}
			default:
				d.restricts = append(d.restricts, restriction{parent: parent, inv: inv, child: c.id})
			}
		}
	}
	return next, nil
}

// restricted refuses the deletion if a live record that the deletion does
// not delete points at a doomed one through a restrict lookup.
func (d *deletion) restricted() error {
	for _, r := range d.restricts {
		if d.doomed[recordKey(r.inv.From, r.child)] != nil {
			continue // deleted too (a record pointing at itself, say)
		}
		n := 0
		for _, x := range d.restricts {
			if x.parent == r.parent && x.inv == r.inv && d.doomed[recordKey(x.inv.From, x.child)] == nil {
				n++
			}
		}
		return &apierror.Error{Kind: apierror.Conflict, Code: "delete_restricted",
			Message: fmt.Sprintf("%s %s cannot be deleted: %d live %s record(s) point at it through %s.%s (onDelete restrict), e.g. %s",
				r.parent.o.APIName, r.parent.id, n, r.inv.From.APIName, r.inv.From.APIName, r.inv.Field.APIName, r.child)}
	}
	return nil
}

// write clears the setNull lookups of the records that stay, deletes the
// doomed records and appends the events (clears first, then deletions,
// those a cascade reached before the records that caused them), in one
// round trip.
func (d *deletion) write(ctx context.Context) error {
	b := &pgx.Batch{}
	b.Queue(customPlansSQL)
	var topics []string
	var payloads []json.RawMessage
	event := func(topic string, p EventPayload) error {
		raw, err := json.Marshal(p)
		topics, payloads = append(topics, topic), append(payloads, raw)
		return err
	}
	// setNull clears, one statement per object.
	var clearObjs []*model.Object
	clearByObj := map[*model.Object][]*recordUpdate{}
	for _, cl := range d.clearList {
		if d.doomed[recordKey(cl.o, cl.id)] != nil {
			continue // deleted with its parent: keeps its values
		}
		if clearByObj[cl.o] == nil {
			clearObjs = append(clearObjs, cl.o)
		}
		clearByObj[cl.o] = append(clearByObj[cl.o], &recordUpdate{id: cl.id, vals: cl.stored, owner: cl.owner})
		if err := event(TopicUpdated, EventPayload{Object: cl.o.APIName, ObjectID: cl.o.Key, ID: cl.id,
			Version: cl.version + 1, Actor: d.actor, Changes: cl.changes}); err != nil {
			return err
		}
	}
	for _, o := range clearObjs {
		if err := queueUpdates(b, d.tenantID, o, d.actor, clearByObj[o], nil); err != nil {
			return err
		}
	}
	// Deletions, one statement per object.
	var delObjs []*model.Object
	delIDs := map[*model.Object][]string{}
	for _, dm := range d.order {
		if delIDs[dm.o] == nil {
			delObjs = append(delObjs, dm.o)
		}
		delIDs[dm.o] = append(delIDs[dm.o], dm.id)
	}
	for _, o := range delObjs {
		ids := delIDs[o]
		b.Queue(`UPDATE records SET deleted_at = now(), version = version + 1, updated_at = now(), updated_by = $3
			WHERE tenant_id = $1 AND object_id = $2 AND id = ANY($4::uuid[]) AND deleted_at IS NULL`,
			d.tenantID, o.Key, string(d.actor), ids).Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() != int64(len(ids)) {
				return fmt.Errorf("delete %d %s record(s): %d were still live", len(ids), o.APIName, ct.RowsAffected())
			}
			return nil
		})
	}
	for i := len(d.levels) - 1; i >= 0; i-- {
		for _, dm := range d.levels[i] {
			if err := event(TopicDeleted, EventPayload{Object: dm.o.APIName, ObjectID: dm.o.Key, ID: dm.id,
				Version: dm.version + 1, Actor: d.actor, Cause: dm.cause}); err != nil {
				return err
			}
		}
	}
	if err := outbox.QueueMany(b, d.tenantID, topics, payloads); err != nil {
		return err
	}
	if err := d.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	return nil
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
