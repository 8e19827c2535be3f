package records

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// Set-based writes of many records of one object in one transaction, all
// or nothing: what the data API's createMany, updateMany and deleteMany
// need. Each validates with the rules of the single-record write, locks
// what it changes with one statement, computes the new values in Go and
// writes them with one statement per object over arrays (unnest), with one
// event per changed record appended in the same round trip
// (outbox.QueueMany). docs/record-storage.md, "Bulk writes", describes
// the behaviour.

// MaxMany is the most records one CreateMany, UpdateMany or DeleteMany
// may write (DeleteMany: may match; records its cascades reach are not
// counted).
const MaxMany = 10000

// CreateMany validates every input (reporting every violation of every
// input at once, pointers prefixed with the input's index, e.g. "/3/email"),
// and creates all of them in one transaction or none.
//
// Inputs are values by API name, as Create takes them ("owner" sets the
// owner); at most MaxMany. No inputs create nothing and return no records.
// The records are returned in input order. Errors: invalid_record (Invalid)
// with every violation, lookups to missing records included; if every
// violation is a unique clash (with another input of the call or a stored
// record), unique_violation (Conflict) instead. Auto-numbers are reserved
// once the values are valid, before the transaction, like Create's: a call
// that then fails on a lookup or a unique clash leaves a gap.
func (s *Store) CreateMany(ctx context.Context, tenantID string, actor Actor, objectName string, inputs []map[string]any) ([]*Record, error) {
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	if len(inputs) > MaxMany {
		return nil, apierror.Invalidf("inputs", "too_many_records", "at most %d records can be created at once, got %d", MaxMany, len(inputs))
	}
	if len(inputs) == 0 {
		return []*Record{}, nil
	}
	// Values are checked before any number is taken, so that a bad batch
	// takes none; lookups are checked too then, to report every violation.
	plans, vs := prepareCreates(o, inputs)
	if len(vs) > 0 {
		err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
			if err := customPlans(ctx, tx); err != nil {
				return err
			}
			vs = append(vs, lookupViolations(ctx, tx, tenantID, o, plans)...)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return nil, manyError(vs)
	}
	numbers, err := s.numbers(ctx, tenantID, o, len(inputs))
	if err != nil {
		return nil, err
	}
	var out []*Record
	err = s.write(ctx, tenantID, objectName, func(tx pgx.Tx, m2 *model.Model, o *model.Object) error {
		if err := customPlans(ctx, tx); err != nil {
			return err
		}
		plans := plans
		if m2.Version != m.Version {
			// The schema changed since the values were checked.
			var vs model.Violations
			if plans, vs = prepareCreates(o, inputs); len(vs) > 0 {
				return manyError(append(vs, lookupViolations(ctx, tx, tenantID, o, plans)...))
			}
		}
		if vs := lookupViolations(ctx, tx, tenantID, o, plans); len(vs) > 0 {
			return manyError(vs)
		}
		for key, ns := range numbers {
			if o.FieldByKey(key) != nil {
				for i, p := range plans {
					p.vals[key] = ns[i]
				}
			}
		}
		var err error
		out, err = s.insertMany(ctx, tx, tenantID, actor, o, plans)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// createPlan is one input of CreateMany on its way to the database.
type createPlan struct {
	id    string
	vals  model.Values
	owner string
}

// prepareCreates validates every input as Create does and checks that no
// two inputs share a unique value; violations are pointed by input index.
func prepareCreates(o *model.Object, inputs []map[string]any) ([]*createPlan, model.Violations) {
	var all model.Violations
	plans := make([]*createPlan, len(inputs))
	seen := map[string]map[string]int{} // field key -> unique text -> first input
	for i, values := range inputs {
		if values == nil {
			values = map[string]any{}
		}
		vals, vs := o.ValidateCreate(values)
		owner, ovs := ownerValue(values)
		vs = append(vs, ovs...)
		if len(vs) == 0 {
			for _, f := range o.Fields {
				if !f.Unique || f.UniqueSlot == "" {
					continue
				}
				u, ok := f.UniqueValue(vals[f.Key]).(string)
				if !ok {
					continue
				}
				if seen[f.Key] == nil {
					seen[f.Key] = map[string]int{}
				}
				if first, dup := seen[f.Key][u]; dup {
					v := vals[f.Key]
					vs = append(vs, model.Violation{Path: "/" + f.APIName, Field: f.APIName, Rule: "unique", Value: v,
						Message: fmt.Sprintf("input %d has %s %v too (%s is unique)", first, f.APIName, v, f.APIName)})
				} else {
					seen[f.Key][u] = i
				}
			}
		}
		all = append(all, atIndex(i, vs)...)
		plans[i] = &createPlan{id: uuid.NewString(), vals: vals, owner: owner}
	}
	return plans, all
}

// lookupViolations checks every plan's lookups with one query.
func lookupViolations(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, plans []*createPlan) model.Violations {
	vals := make([]model.Values, len(plans))
	for i, p := range plans {
		vals[i] = p.vals
	}
	var out model.Violations
	for i, vs := range checkLookupsMany(ctx, tx, tenantID, o, vals) {
		out = append(out, atIndex(i, vs)...)
	}
	return out
}

// atIndex points violations of the i-th input under "/i".
func atIndex(i int, vs model.Violations) model.Violations {
	prefix := "/" + strconv.Itoa(i)
	for j := range vs {
		vs[j].Path = prefix + vs[j].Path
	}
	return vs
}

// manyError reports violations of many inputs: unique_violation if each
// is a unique clash, invalid_record otherwise. They are sorted by input.
func manyError(vs model.Violations) error {
	slices.SortStableFunc(vs, func(a, b model.Violation) int { return inputIndex(a.Path) - inputIndex(b.Path) })
	for _, v := range vs {
		if v.Rule != "unique" {
			return vs.APIError()
		}
	}
	return &apierror.Error{Kind: apierror.Conflict, Code: "unique_violation", Message: vs.Error(), Details: vs, Err: vs}
}

// inputIndex is the index a violation's path starts with ("/3/email": 3).
func inputIndex(path string) int {
	tok, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	n, _ := strconv.Atoi(tok)
	return n
}

// insertMany inserts the plans with one statement and their events in the
// same round trip. A unique index refusing a row (ON CONFLICT DO NOTHING)
// fails the call with every clash.
func (s *Store) insertMany(ctx context.Context, tx pgx.Tx, tenantID string, actor Actor, o *model.Object, plans []*createPlan) ([]*Record, error) {
	cols, _ := slotValues(o, nil)
	c := newColumns(len(cols))
	topics := make([]string, len(plans))
	payloads := make([]json.RawMessage, len(plans))
	for i, p := range plans {
		data, err := encodeData(p.vals)
		if err != nil {
			return nil, err
		}
		c.ids, c.data, c.owners = append(c.ids, p.id), append(c.data, string(data)), append(c.owners, p.owner)
		_, slotArgs := slotValues(o, p.vals)
		for j, a := range slotArgs {
			c.slots[j] = append(c.slots[j], slotText(a))
		}
		topics[i] = TopicCreated
		if payloads[i], err = json.Marshal(EventPayload{Object: o.APIName, ObjectID: o.Key, ID: p.id, Version: 1, Actor: actor,
			Values: apiValues(o, p.vals)}); err != nil {
			return nil, err
		}
	}
	byID := make(map[string]*Record, len(plans))
	b := &pgx.Batch{}
	b.Queue(bulkInsertSQL(cols, recordColumns), c.args(tenantID, o.Key, string(actor))...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			r, err := scanRecord(rows, o)
			if err != nil {
				return err
			}
			byID[r.ID] = r
		}
		return rows.Err()
	})
	if err := outbox.QueueMany(b, tenantID, topics, payloads); err != nil {
		return nil, err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("create %d %s records: %w", len(plans), o.APIName, err)
	}
	out := make([]*Record, len(plans))
	var skipped []int
	for i, p := range plans {
		if out[i] = byID[p.id]; out[i] == nil {
			skipped = append(skipped, i)
		}
	}
	if len(skipped) > 0 {
		return nil, takenError(ctx, tx, tenantID, o, plans, skipped)
	}
	return out, nil
}

// takenError says which unique values of the skipped inputs stored
// records hold, with one query per unique field.
func takenError(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, plans []*createPlan, skipped []int) error {
	var fields []*model.Field
	for _, f := range o.Fields {
		if f.Unique && f.UniqueSlot != "" {
			fields = append(fields, f)
		}
	}
	taken := make([]map[string]bool, len(fields))
	b := &pgx.Batch{}
	for j, f := range fields {
		var vals []string
		for _, i := range skipped {
			if u, ok := f.UniqueValue(plans[i].vals[f.Key]).(string); ok {
				vals = append(vals, u)
			}
		}
		taken[j] = map[string]bool{}
		if len(vals) == 0 {
			continue
		}
		b.Queue("SELECT "+f.UniqueSlot+" FROM records WHERE tenant_id = $1 AND object_id = $2 AND "+f.UniqueSlot+" = ANY($3::text[]) AND "+
			f.UniqueSlot+" IS NOT NULL AND deleted_at IS NULL", tenantID, o.Key, vals).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var u string
				if err := rows.Scan(&u); err != nil {
					return err
				}
				taken[j][u] = true
			}
			return rows.Err()
		})
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return fmt.Errorf("create %s records: find unique clashes: %w", o.APIName, err)
		}
	}
	var vs model.Violations
	for _, i := range skipped {
		var rvs model.Violations
		for j, f := range fields {
			v := plans[i].vals[f.Key]
			if u, ok := f.UniqueValue(v).(string); ok && taken[j][u] {
				rvs = append(rvs, model.Violation{Path: "/" + f.APIName, Field: f.APIName, Rule: "unique", Value: v,
					Message: fmt.Sprintf("another %s record already has %s %v", o.APIName, f.APIName, v)})
			}
		}
		if len(rvs) == 0 {
			rvs = model.Violations{{Rule: "unique", Message: fmt.Sprintf("another %s record already has one of this record's unique values", o.APIName)}}
		}
		vs = append(vs, atIndex(i, rvs)...)
	}
	return manyError(vs)
}

// UpdateMany applies one patch to every live record of the object meeting
// where (a condition in the JSON form of schema/condition; nil means every
// record), in one transaction: all or none. It refuses (limit_exceeded,
// naming the limit) when more than limit records match.
//
// The patch is values by API name as Update takes them (null clears,
// "owner" sets the owner), checked once; its violations point into it
// ("/email"). limit is 1 to MaxMany (invalid_limit otherwise); more
// matches than limit is limit_exceeded (Invalid, Field "limit") and
// changes nothing. A unique value the patch sets can hold for at most one
// record: on two matched records, or on one while another record holds it,
// the call is a unique_violation naming the records. The matched records
// are returned in id order; those the patch does not change are returned
// as they were, without a new version or event, as Update does.
func (s *Store) UpdateMany(ctx context.Context, tenantID string, actor Actor, objectName string, where json.RawMessage, patch map[string]any, limit int) ([]*Record, error) {
	if err := checkManyLimit(limit); err != nil {
		return nil, err
	}
	var out []*Record
	err := s.write(ctx, tenantID, objectName, func(tx pgx.Tx, m *model.Model, o *model.Object) error {
		c, err := compileManyWhere(m, o, where)
		if err != nil {
			return err
		}
		if err := customPlans(ctx, tx); err != nil {
			return err
		}
		p, vs := o.ValidatePatch(patch)
		owner, ovs := ownerValue(patch)
		_, setOwner := patch["owner"]
		vs = append(vs, ovs...)
		vs = append(vs, checkLookups(ctx, tx, tenantID, o, p)...)
		if len(vs) > 0 {
			return vs.APIError()
		}
		recs, stored, err := lockMatching(ctx, tx, tenantID, o, c, limit)
		if err != nil {
			return err
		}
		out = recs
		var ups []*recordUpdate
		var topics []string
		var payloads []json.RawMessage
		for i, cur := range recs {
			next, changes := applyPatch(o, stored[i], p)
			newOwner := cur.Owner
			if setOwner && owner != cur.Owner {
				newOwner = owner
				changes["owner"] = Change{Old: nilIfEmpty(cur.Owner), New: nilIfEmpty(owner)}
			}
			if len(changes) == 0 {
				continue
			}
			ups = append(ups, &recordUpdate{id: cur.ID, vals: next, owner: newOwner, index: i})
			raw, err := json.Marshal(EventPayload{Object: o.APIName, ObjectID: o.Key, ID: cur.ID, Version: cur.Version + 1, Actor: actor, Changes: changes})
			if err != nil {
				return err
			}
			topics, payloads = append(topics, TopicUpdated), append(payloads, raw)
		}
		if len(ups) == 0 {
			return nil
		}
		if err := patchUniqueClash(ctx, tx, tenantID, o, p, recs, ups); err != nil {
			return err
		}
		at := make(map[string]int, len(ups))
		for _, u := range ups {
			at[u.id] = u.index
		}
		b := &pgx.Batch{}
		err = queueUpdates(b, tenantID, o, actor, ups, func(r *Record) error {
			i, ok := at[r.ID]
			if !ok {
				return fmt.Errorf("update %s: unexpected record %s", o.APIName, r.ID)
			}
			out[i] = r
			return nil
		})
		if err != nil {
			return err
		}
		if err := outbox.QueueMany(b, tenantID, topics, payloads); err != nil {
			return err
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return manyUniqueError(o, p, ups, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// patchUniqueClash refuses a patch that would give a unique value to two
// records: to two of the matched ones, or to one while another live record
// already holds it.
func patchUniqueClash(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, p model.Values, recs []*Record, ups []*recordUpdate) error {
	var fields []*model.Field
	for _, f := range o.Fields {
		if f.Unique && f.UniqueSlot != "" && p[f.Key] != nil {
			if _, ok := f.UniqueValue(p[f.Key]).(string); ok {
				fields = append(fields, f)
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	clash := func(f *model.Field, msg string, args ...any) error {
		v := p[f.Key]
		vs := model.Violations{{Path: "/" + f.APIName, Field: f.APIName, Rule: "unique", Value: v, Message: fmt.Sprintf(msg, args...)}}
		return &apierror.Error{Kind: apierror.Conflict, Code: "unique_violation", Message: vs.Error(), Details: vs, Err: vs}
	}
	if len(recs) > 1 {
		f := fields[0]
		return clash(f, "%s is unique: the patch would give %s %v to %d %s records (e.g. %s and %s)",
			f.APIName, f.APIName, p[f.Key], len(recs), o.APIName, recs[0].ID, recs[1].ID)
	}
	// One record is changed: does another hold one of the values?
	id := ups[0].id
	holders := make([]string, len(fields))
	b := &pgx.Batch{}
	for i, f := range fields {
		b.Queue("SELECT id::text FROM records WHERE tenant_id = $1 AND object_id = $2 AND "+f.UniqueSlot+" = $3 AND "+f.UniqueSlot+
			" IS NOT NULL AND deleted_at IS NULL AND id <> $4::uuid LIMIT 1", tenantID, o.Key, f.UniqueValue(p[f.Key]), id).
			Query(func(rows pgx.Rows) error {
				for rows.Next() {
					if err := rows.Scan(&holders[i]); err != nil {
						return err
					}
				}
				return rows.Err()
			})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("update %s: find unique clashes: %w", o.APIName, err)
	}
	for i, f := range fields {
		if holders[i] != "" {
			return clash(f, "another %s record (%s) already has %s %v; %s %s cannot have it too",
				o.APIName, holders[i], f.APIName, p[f.Key], o.APIName, id)
		}
	}
	return nil
}

// manyUniqueError reports a unique index refusing an update of many
// records (a value taken meanwhile by another writer): the field, and the
// value and record when they are known.
func manyUniqueError(o *model.Object, p model.Values, ups []*recordUpdate, err error) error {
	if !database.IsCode(err, database.UniqueViolation) {
		return fmt.Errorf("update %s: %w", o.APIName, err)
	}
	f := fieldForConstraint(o, database.ConstraintViolated(err))
	if f == nil {
		return fmt.Errorf("update %s: %w", o.APIName, err)
	}
	v, ok := p[f.Key]
	if !ok && len(ups) == 1 {
		v, ok = ups[0].vals[f.Key], true
	}
	msg := fmt.Sprintf("another %s record already has the %s of one of the updated records", o.APIName, f.APIName)
	if ok {
		msg = fmt.Sprintf("another %s record already has %s %v", o.APIName, f.APIName, v)
	}
	if len(ups) == 1 {
		msg += " (updating " + ups[0].id + ")"
	}
	vs := model.Violations{{Path: "/" + f.APIName, Field: f.APIName, Rule: "unique", Value: v, Message: msg}}
	return &apierror.Error{Kind: apierror.Conflict, Code: "unique_violation", Message: vs.Error(), Details: vs, Err: err}
}

// DeleteMany soft-deletes every live record meeting where, honouring each
// lookup's onDelete (restrict / setNull / cascade) exactly as Delete does,
// in one transaction; returns the ids deleted.
//
// The ids returned are those of the records that met where, in id order.
// Records a cascade reached are deleted too (one record.deleted event
// each, its cause naming the record that reached it) but neither returned
// nor counted against limit, even when they are of the same object. limit
// is 1 to MaxMany; more matches is limit_exceeded and deletes nothing. The
// matched records are deleted as one set, as Delete deletes one record and
// its cascade (see deletion): a restrict lookup blocks only while a record
// that stays live points at a deleted one, so a record and the records
// restricting it can be deleted in one call; and a restrict refusing fails
// the whole call.
func (s *Store) DeleteMany(ctx context.Context, tenantID string, actor Actor, objectName string, where json.RawMessage, limit int) ([]string, error) {
	if err := checkManyLimit(limit); err != nil {
		return nil, err
	}
	var ids []string
	err := s.write(ctx, tenantID, objectName, func(tx pgx.Tx, m *model.Model, o *model.Object) error {
		c, err := compileManyWhere(m, o, where)
		if err != nil {
			return err
		}
		if err := customPlans(ctx, tx); err != nil {
			return err
		}
		recs, _, err := lockMatching(ctx, tx, tenantID, o, c, limit)
		if err != nil {
			return err
		}
		ids = make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		if len(recs) == 0 {
			return nil
		}
		return newDeletion(s, tx, tenantID, actor).run(ctx, o, recs)
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

func checkManyLimit(limit int) error {
	if limit < 1 || limit > MaxMany {
		return apierror.Invalidf("limit", "invalid_limit", "limit must be between 1 and %d, got %d", MaxMany, limit)
	}
	return nil
}

// compileManyWhere compiles where; nil, empty or JSON null mean no
// condition (every record).
func compileManyWhere(m *model.Model, o *model.Object, where json.RawMessage) (*condition.Condition, error) {
	if t := bytes.TrimSpace(where); len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	return compileWhere(m, o, where)
}

// lockMatching reads and locks (FOR UPDATE, in id order) the live records
// of o meeting c (every one for nil), with one statement; more than limit
// is limit_exceeded.
func lockMatching(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, c *condition.Condition, limit int) ([]*Record, []model.Values, error) {
	cond := "deleted_at IS NULL"
	args := []any{tenantID, o.Key, limit + 1}
	if c != nil {
		pred, predArgs := c.SQL("r", len(args)+1, time.Now())
		cond += " AND (" + pred + ")"
		args = append(args, predArgs...)
	}
	// r.id: a bare "id" would be recordColumns' id::text, which no index
	// is sorted by.
	rows, err := tx.Query(ctx, lockSQL(cond, " ORDER BY r.id LIMIT $3"), args...)
	if err != nil {
		return nil, nil, fmt.Errorf("lock %s records: %w", o.APIName, err)
	}
	defer rows.Close()
	recs := []*Record{}
	var stored []model.Values
	for rows.Next() {
		r, st, err := scanRecordData(rows, o)
		if err != nil {
			return nil, nil, fmt.Errorf("lock %s records: %w", o.APIName, err)
		}
		recs, stored = append(recs, r), append(stored, st)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("lock %s records: %w", o.APIName, err)
	}
	if len(recs) > limit {
		return nil, nil, &apierror.Error{Kind: apierror.Invalid, Code: "limit_exceeded", Field: "limit",
			Message: fmt.Sprintf("more than %d %s records meet the condition, the limit given; narrow the condition or raise the limit (at most %d)",
				limit, o.APIName, MaxMany)}
	}
	return recs, stored, nil
}

// customPlansSQL plans the rest of the transaction's statements for their
// parameters, never with a cached generic plan. The statements over
// arrays (unnest, = ANY) are planned by the arrays' sizes; the generic
// plan PostgreSQL switches a prepared statement (pgx prepares and caches
// every one) to after five runs knows none of them: from the sixth call
// on, UpdateMany of 1,000 records of an object of 100,000 took 30 s
// instead of 0.2 s. Every many-write sends it first, and so does every
// batch of a deletion (Delete uses the same array statements).
const customPlansSQL = "SET LOCAL plan_cache_mode = force_custom_plan"

func customPlans(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, customPlansSQL); err != nil {
		return fmt.Errorf("set plan_cache_mode: %w", err)
	}
	return nil
}

// recordUpdate is a locked record's full new values.
type recordUpdate struct {
	id    string
	vals  model.Values // by key, removed fields' included
	owner string
	index int // the caller's
}

// queueUpdates queues one statement that writes ups' data, owners and
// slots over arrays, bumping each record's version and setting
// updated_at and updated_by. With got nil it checks that every record was
// written; otherwise got receives each written record.
func queueUpdates(b *pgx.Batch, tenantID string, o *model.Object, actor Actor, ups []*recordUpdate, got func(*Record) error) error {
	cols, _ := slotValues(o, nil)
	c := newColumns(len(cols))
	for _, u := range ups {
		data, err := encodeData(u.vals)
		if err != nil {
			return err
		}
		c.ids, c.data, c.owners = append(c.ids, u.id), append(c.data, string(data)), append(c.owners, u.owner)
		_, slotArgs := slotValues(o, u.vals)
		for j, a := range slotArgs {
			c.slots[j] = append(c.slots[j], slotText(a))
		}
	}
	n := int64(len(ups))
	q := b.Queue(bulkUpdateSQL(cols), c.args(tenantID, o.Key, string(actor))...)
	if got == nil {
		q.Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() != n {
				return fmt.Errorf("update %d %s records: %d were written", n, o.APIName, ct.RowsAffected())
			}
			return nil
		})
		return nil
	}
	q.Query(func(rows pgx.Rows) error {
		var written int64
		for rows.Next() {
			r, err := scanRecord(rows, o)
			if err != nil {
				return err
			}
			written++
			if err := got(r); err != nil {
				return err
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if written != n {
			return fmt.Errorf("update %d %s records: %d were written", n, o.APIName, written)
		}
		return nil
	})
	return nil
}

// bulkUpdateSQL is updateSQL for many records: one per element of the
// arrays $4 (ids), $5 (data), $6 (owners) and $7... (slot columns, as
// text), taking the columns of bulkInsertSQL. "id = ANY($4)" makes the
// records side one primary-key probe per id whatever the statistics say:
// joined with unnest alone, it was planned as a scan of the object's
// range of the primary key (a third of a second for 1,000 records of an
// object of 100,000).
func bulkUpdateSQL(cols []string) string {
	var set, params, alias strings.Builder
	for i, c := range cols {
		fmt.Fprintf(&set, ", %s = v.new_%s::%s", c, c, model.SlotSQLType(c))
		fmt.Fprintf(&params, ", $%d::text[]", 7+i)
		fmt.Fprintf(&alias, ", new_%s", c)
	}
	return "UPDATE records r SET data = v.new_data::jsonb, version = r.version + 1, updated_at = now(), updated_by = $3, owner_id = NULLIF(v.new_owner, '')" +
		set.String() +
		" FROM unnest($4::text[], $5::text[], $6::text[]" + params.String() + ") AS v(new_id, new_data, new_owner" + alias.String() + ")" +
		" WHERE r.tenant_id = $1 AND r.object_id = $2 AND r.id = ANY($4::uuid[]) AND r.id = v.new_id::uuid AND r.deleted_at IS NULL RETURNING " + recordColumns
}
