package tags

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// ConsumerName is the outbox consumer name of the tag-rules consumer.
const ConsumerName = "tag-rules"

// RulesActor is recorded as updatedBy and the event's actor when the
// tag-rules consumer changes a record's tags.
const RulesActor records.Actor = "system:tag-rules"

// maxPasses bounds how often the rules of one record are evaluated again
// after their own changes (a rule whose condition tests a tag another rule
// applies). A rule set that keeps changing its mind stops there.
const maxPasses = 4

// RuleConsumer returns the outbox consumer that evaluates tag rules on
// every write. cfg.Name defaults to ConsumerName; run it with Run (every
// server should) or RunOnce.
func (s *Service) RuleConsumer(cfg outbox.Config) (*outbox.Consumer, error) {
	if cfg.Name == "" {
		cfg.Name = ConsumerName
	}
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	return outbox.NewConsumer(s.pool, cfg, s.HandleEvent)
}

// HandleEvent is the tag-rules consumer's handler. On record.created,
// record.updated, record.restored and record.tagged it evaluates the
// record's object's enabled rules for the record (EvaluateRecord). It
// ignores record.tagged events it caused itself (source "rules"), which
// would otherwise feed it its own output forever, and every other topic.
// Events it cannot read are logged and skipped rather than retried.
func (s *Service) HandleEvent(ctx context.Context, e outbox.Event) error {
	switch e.Topic {
	case records.TopicCreated, records.TopicUpdated, records.TopicRestored, TopicTagged:
	default:
		return nil
	}
	var p struct {
		ObjectID string `json:"objectId"`
		ID       string `json:"id"`
		Source   string `json:"source"`
	}
	if err := json.Unmarshal(e.Payload, &p); err != nil || !model.IsUUID(p.ObjectID) || !model.IsUUID(p.ID) {
		s.log.Warn("tag rules: event without a record", "tenant", e.TenantID, "seq", e.Seq, "topic", e.Topic)
		return nil
	}
	if e.Topic == TopicTagged && p.Source == SourceRules {
		return nil
	}
	_, err := s.EvaluateRecord(ctx, e.TenantID, p.ObjectID, p.ID)
	return err
}

// EvaluateRecord evaluates the enabled rules of a record's object for one
// live record and changes its tags to match, in one transaction, with a
// record.tagged event (source "rules") if they change. It returns nil when
// there is nothing to evaluate (no rules, no such object or live record).
//
// Rules are taken oldest first. A rule whose condition holds adds its tag;
// in a single-valued group only the oldest holding rule does. A rule with
// removeWhenFalse whose condition does not hold removes its tag, unless a
// holding rule adds it. Rules whose conditions test tags see the tags the
// others set: evaluation repeats on the changed tags, up to 4 passes.
// Conditions that read other records (lookup paths, related lists) are
// evaluated by SQL on the locked row, the rest by the Go evaluator.
func (s *Service) EvaluateRecord(ctx context.Context, tenantID, objectKey, id string) (*Result, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	o := m.ObjectByKey(objectKey)
	if o == nil {
		return nil, nil
	}
	var res *Result
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The tenant setting and the rules, their tags locked, in one
		// round trip; the record is locked only if there are rules.
		b := &pgx.Batch{}
		b.Queue(database.SetTenantSQL, tenantID)
		b.Queue(`SELECT `+ruleColumns+ruleFrom+`JOIN tags t ON t.tenant_id = r.tenant_id AND t.group_name = r.group_name AND t.name = r.tag_name
			WHERE r.tenant_id = $1 AND r.object_id = $2 AND r.enabled AND t.deleting_at IS NULL AND g.deleting_at IS NULL
			AND r.object_id = ANY(g.objects)
			ORDER BY r.created_at, r.id FOR SHARE OF t, g`, tenantID, o.Key)
		br := tx.SendBatch(ctx, b)
		var rules []*Rule
		_, err := br.Exec()
		if err == nil {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				rules, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Rule, error) { return scanRule(m, row) })
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("load tag rules: %w", err)
		}
		var live []liveRule
		for _, r := range rules {
			c, err := s.compiled(tenantID, m, r)
			if err != nil {
				s.log.Warn("tag rule skipped: its condition does not compile", "tenant", tenantID, "rule", r.ID, "err", err)
				continue
			}
			live = append(live, liveRule{Rule: r, c: c})
		}
		if len(live) == 0 {
			return nil
		}
		rec, err := loadRecord(ctx, tx, tenantID, o, id)
		if err != nil || rec == nil {
			return err
		}
		orig := slices.Clone(rec.Tags)
		stored := orig // what the row holds now, within this transaction
		now := s.opts.Now()
		for pass := 0; ; pass++ {
			truth := make([]bool, len(live))
			var viaSQL []int
			for i, lr := range live {
				if lr.c.UsesSource() {
					viaSQL = append(viaSQL, i)
				} else {
					truth[i] = lr.c.Eval(rec, nil, now)
				}
			}
			if len(viaSQL) > 0 {
				if !slices.Equal(stored, rec.Tags) {
					// SQL reads the row: let it see this pass's tags.
					if _, err := tx.Exec(ctx, "UPDATE records SET tags = $4 WHERE tenant_id = $1 AND object_id = $2 AND id = $3",
						tenantID, o.Key, id, rec.Tags); err != nil {
						return err
					}
					stored = slices.Clone(rec.Tags)
				}
				if err := evalSQL(ctx, tx, tenantID, o, id, live, viaSQL, truth, now); err != nil {
					return err
				}
			}
			next := decide(live, truth, rec.Tags)
			if slices.Equal(next, rec.Tags) {
				break
			}
			rec.Tags = next
			if pass == maxPasses-1 {
				s.log.Warn("tag rules did not settle; keeping the last pass", "tenant", tenantID, "object", o.APIName, "id", id)
				break
			}
		}
		if slices.Equal(rec.Tags, orig) {
			if !slices.Equal(stored, orig) {
				return errUnchanged // undo the passes' intermediate writes
			}
			res = &Result{Object: o.APIName, ID: id, Version: rec.Version, Tags: orig, Added: []string{}, Removed: []string{}}
			return nil
		}
		res, err = s.write(ctx, tx, tenantID, RulesActor, o, id, orig, rec.Version, rec.Tags, SourceRules, "")
		return err
	})
	if errors.Is(err, errUnchanged) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("evaluate tag rules for %s %s: %w", o.APIName, id, err)
	}
	return res, nil
}

var errUnchanged = errors.New("tags unchanged")

type liveRule struct {
	*Rule
	c *condition.Condition
}

// decide applies the rules' verdicts to tags.
func decide(rules []liveRule, truth []bool, tags []string) []string {
	var add, remove, single []string
	for i, r := range rules {
		if !truth[i] {
			continue
		}
		if !r.multi {
			if slices.Contains(single, r.group) {
				continue // an older rule of this single-valued group holds
			}
			single = append(single, r.group)
		}
		if !slices.Contains(add, r.Tag) {
			add = append(add, r.Tag)
		}
	}
	for i, r := range rules {
		if !truth[i] && r.RemoveWhenFalse && !slices.Contains(add, r.Tag) && !slices.Contains(remove, r.Tag) {
			remove = append(remove, r.Tag)
		}
	}
	return nextTags(tags, add, remove, single)
}

// loadRecord reads and locks a live record for evaluation, or returns nil.
func loadRecord(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, id string) (*condition.Record, error) {
	r := &condition.Record{}
	var data []byte
	var score *string
	err := tx.QueryRow(ctx, `SELECT id::text, data, tags, score::text, grade, created_at, updated_at, coalesce(owner_id, ''), version
		FROM records WHERE tenant_id = $1 AND object_id = $2 AND id = $3 AND deleted_at IS NULL FOR UPDATE`,
		tenantID, o.Key, id).Scan(&r.ID, &data, &r.Tags, &score, &r.Grade, &r.CreatedAt, &r.UpdatedAt, &r.Owner, &r.Version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load record: %w", err)
	}
	if score != nil {
		n := json.Number(*score)
		r.Score = &n
	}
	v, err := model.DecodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	vals, _ := v.(map[string]any)
	r.Values = model.Values(vals)
	if r.Tags == nil {
		r.Tags = []string{}
	}
	return r, nil
}

// evalSQL evaluates the conditions of rules[i] for i in idx on the locked
// record by one SQL statement, writing the verdicts into truth.
func evalSQL(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, id string, rules []liveRule, idx []int, truth []bool, now time.Time) error {
	args := []any{tenantID, o.Key, id}
	cols := make([]string, len(idx))
	for j, i := range idx {
		p, a := rules[i].c.SQL("r", len(args)+1, now)
		cols[j] = "(" + p + ")"
		args = append(args, a...)
	}
	out := make([]bool, len(idx))
	dest := make([]any, len(idx))
	for j := range out {
		dest[j] = &out[j]
	}
	err := tx.QueryRow(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM records r WHERE r.tenant_id = $1 AND r.object_id = $2 AND r.id = $3",
		args...).Scan(dest...)
	if err != nil {
		return fmt.Errorf("evaluate tag rules by SQL: %w", err)
	}
	for j, i := range idx {
		truth[i] = out[j]
	}
	return nil
}
