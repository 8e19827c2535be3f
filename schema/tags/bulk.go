package tags

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// BulkResult reports a bulk change.
type BulkResult struct {
	// Changed is how many records' tags changed (one event each).
	Changed int `json:"changed"`
	// Batches is how many transactions the change took.
	Batches int `json:"batches"`
}

// BulkApply adds and removes tags on every live record of an object that
// meets a condition (schema/condition's JSON form; {"and": []} for every
// record), with the same rules as Apply. It runs as set-based SQL in
// batches of Options.BatchSize records in id order, each batch one
// transaction that changes the records and appends one record.tagged
// event per changed record. Records that would not change are not
// touched. A failure stops at a batch boundary; running the same change
// again finishes it, since a record already changed is left alone.
func (s *Service) BulkApply(ctx context.Context, tenantID string, actor records.Actor, objectName string, where []byte, add, remove []string) (BulkResult, error) {
	add, remove, err := checkOps(add, remove)
	if err != nil {
		return BulkResult{}, err
	}
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return BulkResult{}, err
	}
	c, err := compileCondition(m, o, "where", where)
	if err != nil {
		return BulkResult{}, err
	}
	now := s.opts.Now()
	return s.runBulk(ctx, tenantID, actor, bulkSpec{
		object: o, add: add, remove: remove, check: true, source: SourceBulk,
		where: condSQL(c, now),
	})
}

// compileCondition compiles a condition given as field, reporting its
// problems as invalid_condition with their JSON pointers.
func compileCondition(m *model.Model, o *model.Object, field string, raw []byte) (*condition.Condition, error) {
	if len(strings.TrimSpace(string(raw))) == 0 {
		return nil, apierror.Invalidf(field, "condition_required", "a condition is required; {\"and\": []} selects every record")
	}
	c, err := condition.Compile(m, o, raw)
	if ps, ok := err.(model.Problems); ok {
		e := ps.APIErrorAbout("invalid_condition", "invalid condition")
		e.Field = field
		return nil, e
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// sqlPred renders a predicate over the records row aliased r with
// parameters numbered from first.
type sqlPred func(first int) (string, []any)

func condSQL(c *condition.Condition, now time.Time) sqlPred {
	return func(first int) (string, []any) { return c.SQL("r", first, now) }
}

// notAny is NOT (p1 OR p2 ...), true for no predicates.
func notAny(ps []sqlPred) sqlPred {
	return func(first int) (string, []any) {
		if len(ps) == 0 {
			return "true", nil
		}
		var parts []string
		var args []any
		for _, p := range ps {
			s, a := p(first + len(args))
			parts = append(parts, "("+s+")")
			args = append(args, a...)
		}
		return "NOT (" + strings.Join(parts, " OR ") + ")", args
	}
}

// and is p1 AND p2 ...
func and(ps ...sqlPred) sqlPred {
	return func(first int) (string, []any) {
		var parts []string
		var args []any
		for _, p := range ps {
			s, a := p(first + len(args))
			parts = append(parts, "("+s+")")
			args = append(args, a...)
		}
		return strings.Join(parts, " AND "), args
	}
}

// bulkSpec is one bulk change.
type bulkSpec struct {
	// object limits the change to one object's records; nil means every
	// object (tag deletion).
	object *model.Object
	// includeDeleted changes soft-deleted records too (tag deletion).
	includeDeleted bool
	// where selects the records; nil selects all.
	where       sqlPred
	add, remove []string
	// check re-checks the tags in every batch, share-locking them (not for
	// tags being deleted, which cannot be applied meanwhile anyway).
	check  bool
	source string
	rule   string
}

const zeroUUID = "00000000-0000-0000-0000-000000000000"

// runBulk applies spec in batches in (object_id, id) order until a batch
// comes back short.
func (s *Service) runBulk(ctx context.Context, tenantID string, actor records.Actor, spec bulkSpec) (BulkResult, error) {
	var res BulkResult
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return res, err
	}
	afterObject, afterID := zeroUUID, zeroUUID
	for {
		var n, changed int
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			n, changed, afterObject, afterID, err = s.bulkBatch(ctx, tx, tenantID, actor, m, spec, afterObject, afterID)
			return err
		})
		if err != nil {
			return res, err
		}
		res.Batches++
		res.Changed += changed
		if n < s.opts.BatchSize {
			return res, nil
		}
	}
}

// bulkBatch changes up to BatchSize records after (afterObject, afterID)
// and returns how many it looked at, how many it changed and the last one.
func (s *Service) bulkBatch(ctx context.Context, tx pgx.Tx, tenantID string, actor records.Actor, m *model.Model, spec bulkSpec,
	afterObject, afterID string) (int, int, string, string, error) {
	if _, err := tx.Exec(ctx, database.SetTenantSQL, tenantID); err != nil {
		return 0, 0, "", "", err
	}
	var single []string
	if spec.check {
		rows, err := tx.Query(ctx, lockTagsSQL, tenantID, append(slices.Clone(spec.add), spec.remove...))
		if err != nil {
			return 0, 0, "", "", err
		}
		infos, err := scanTagInfos(rows)
		if err != nil {
			return 0, 0, "", "", err
		}
		if single, err = checkTags(infos, spec.object.Key, spec.object.APIName, spec.add, spec.remove); err != nil {
			return 0, 0, "", "", err
		}
	}
	// drop is what the change takes off: the removed tags and the other
	// tags of single-valued groups tags are added to.
	add := append([]string{}, spec.add...) // never NULL in SQL
	drop := append([]string{}, spec.remove...)
	if len(single) > 0 {
		rows, err := tx.Query(ctx, "SELECT group_name || '/' || name FROM tags WHERE tenant_id = $1 AND group_name = ANY($2)", tenantID, single)
		if err != nil {
			return 0, 0, "", "", err
		}
		siblings, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return 0, 0, "", "", err
		}
		for _, v := range siblings {
			if !slices.Contains(add, v) && !slices.Contains(drop, v) {
				drop = append(drop, v)
			}
		}
	}
	if len(add) == 0 && len(drop) == 0 {
		return 0, 0, afterObject, afterID, nil
	}
	args := []any{tenantID, afterObject, afterID, s.opts.BatchSize, add, drop, string(actor)}
	var scope strings.Builder
	scope.WriteString("r.tenant_id = $1 AND (r.object_id, r.id) > ($2::uuid, $3::uuid)")
	if spec.object != nil {
		args = append(args, spec.object.Key)
		fmt.Fprintf(&scope, " AND r.object_id = $%d::uuid", len(args))
	}
	if !spec.includeDeleted {
		scope.WriteString(" AND r.deleted_at IS NULL")
	}
	// Only records the change would change: so that the GIN index on tags
	// serves removals, each branch is written only when it can be true.
	var would []string
	if len(drop) > 0 {
		would = append(would, "r.tags && $6::text[]")
	}
	if len(add) > 0 {
		would = append(would, "NOT (r.tags @> $5::text[])")
	}
	fmt.Fprintf(&scope, " AND (%s)", strings.Join(would, " OR "))
	if spec.where != nil {
		p, a := spec.where(len(args) + 1)
		args = append(args, a...)
		fmt.Fprintf(&scope, " AND (%s)", p)
	}
	q := `WITH cand AS (
		SELECT r.object_id, r.id, r.tags FROM records r WHERE ` + scope.String() + `
		ORDER BY r.object_id, r.id LIMIT $4
		FOR UPDATE OF r
	), calc AS (
		SELECT c.object_id, c.id, c.tags AS old,
			(SELECT coalesce(array_agg(x ORDER BY x COLLATE "C"), '{}') FROM (
				SELECT DISTINCT x FROM unnest(c.tags || $5::text[]) x WHERE x <> ALL($6::text[])) d) AS new
		FROM cand c
	), upd AS (
		UPDATE records r SET tags = calc.new, version = r.version + 1, updated_at = now(), updated_by = $7
		FROM calc WHERE r.tenant_id = $1 AND r.object_id = calc.object_id AND r.id = calc.id AND calc.new <> calc.old
		RETURNING r.object_id, r.id, r.version
	)
	SELECT calc.object_id::text, calc.id::text, calc.old, calc.new, upd.version
	FROM calc LEFT JOIN upd ON upd.object_id = calc.object_id AND upd.id = calc.id
	ORDER BY calc.object_id, calc.id`
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return 0, 0, "", "", fmt.Errorf("bulk tag batch: %w", err)
	}
	b := &pgx.Batch{}
	n := 0
	for rows.Next() {
		var obj, id string
		var old, next []string
		var version *int
		if err := rows.Scan(&obj, &id, &old, &next, &version); err != nil {
			rows.Close()
			return 0, 0, "", "", err
		}
		n++
		afterObject, afterID = obj, id
		if version == nil {
			continue
		}
		added, removed := diffTags(old, next)
		if err := outbox.Queue(b, tenantID, TopicTagged, EventPayload{
			Object: objectName(m, obj), ObjectID: obj, ID: id, Version: *version, Actor: actor,
			Added: added, Removed: removed, Source: spec.source, Rule: spec.rule,
		}); err != nil {
			rows.Close()
			return 0, 0, "", "", err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, "", "", fmt.Errorf("bulk tag batch: %w", err)
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return 0, 0, "", "", fmt.Errorf("bulk tag events: %w", err)
		}
	}
	return n, b.Len(), afterObject, afterID, nil
}
