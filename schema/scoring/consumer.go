package scoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/model"
)

// ConsumerName is the name of the scoring consumer's outbox cursors.
const ConsumerName = "scoring"

// The record events the consumer reacts to. record.scored, which it
// appends itself, is not among them: no feedback loop.
var consumedTopics = map[string]bool{
	"record.created":  true,
	"record.updated":  true,
	"record.deleted":  true,
	"record.restored": true,
	"record.tagged":   true,
}

// Consumer returns the outbox consumer that keeps scores current: on every
// record.created, updated, deleted, restored and tagged event it rescores
// the record (if its object has a rule set) and the scored records that
// depend on it through their rules' lookups and related lists (an
// Activity rescores the Lead its lookup points at, before and after the
// change). cfg.Name defaults to ConsumerName. Run it in every server:
//
//	c, err := svc.Consumer(outbox.Config{})
//	go c.Run(ctx, time.Second)
func (s *Service) Consumer(cfg outbox.Config) (*outbox.Consumer, error) {
	if cfg.Name == "" {
		cfg.Name = ConsumerName
	}
	if cfg.Logger == nil {
		cfg.Logger = s.log
	}
	return outbox.NewConsumer(s.pool, cfg, s.HandleEvent)
}

// eventPayload is what the consumer reads of a record event (the record
// store's and the tags' payloads share these members).
type eventPayload struct {
	ObjectID string `json:"objectId"`
	ID       string `json:"id"`
	Changes  map[string]struct {
		Old any `json:"old"`
	} `json:"changes"`
}

// HandleEvent is the consumer's handler: it rescores the records an event
// affects. It is idempotent. Events it does not consume, or about objects
// no rule set depends on, cost one lookup of the active rule sets.
func (s *Service) HandleEvent(ctx context.Context, e outbox.Event) error {
	if !consumedTopics[e.Topic] {
		return nil
	}
	var p eventPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil || !model.IsUUID(p.ObjectID) || !model.IsUUID(p.ID) {
		s.log.WarnContext(ctx, "scoring: event without object and record id", "tenant", e.TenantID, "seq", e.Seq, "topic", e.Topic)
		return nil
	}
	m, err := s.catalog.Model(ctx, e.TenantID)
	if err != nil {
		return err
	}
	o := m.ObjectByKey(p.ObjectID)
	if o == nil {
		return nil // an object removed since
	}
	var rss []*RuleSet
	work := map[*RuleSet][]string{}
	err = database.InTenantTx(ctx, s.pool, e.TenantID, func(tx pgx.Tx) error {
		var err error
		if rss, err = s.loadActive(ctx, tx, e.TenantID, m); err != nil {
			return err
		}
		for _, rs := range rss {
			var ids []string
			if rs.Object == o && e.Topic != "record.deleted" {
				ids = append(ids, p.ID)
			}
			for _, path := range rs.paths {
				if path.end(rs.Object) != o {
					continue
				}
				more, err := backtrack(ctx, tx, e.TenantID, rs.Object, path, p)
				if err != nil {
					return err
				}
				ids = append(ids, more...)
			}
			if len(ids) > 0 {
				slices.Sort(ids)
				work[rs] = slices.Compact(ids)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scoring: find records affected by %s %s/%s: %w", e.Topic, o.APIName, p.ID, err)
	}
	for _, rs := range rss {
		if ids := work[rs]; len(ids) > 0 {
			if err := s.scoreIDs(ctx, e.TenantID, rs, ids, ReasonRecord); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadActive loads every active rule set of the tenant. One that no longer
// fits the schema is skipped with a warning: the stream goes on, and the
// object's scores stay as they are until a corrected rule set is applied.
func (s *Service) loadActive(ctx context.Context, tx pgx.Tx, tenantID string, m *model.Model) ([]*RuleSet, error) {
	rows, err := tx.Query(ctx, `SELECT DISTINCT ON (object_id) object_id::text, version FROM scoring_rulesets
		WHERE tenant_id = $1 ORDER BY object_id, version DESC`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("read rule sets: %w", err)
	}
	sts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stored, error) {
		var st stored
		return st, r.Scan(&st.objectID, &st.version)
	})
	if err != nil {
		return nil, fmt.Errorf("read rule sets: %w", err)
	}
	var out []*RuleSet
	for _, st := range sts {
		list, err := s.load(ctx, tx, tenantID, m, st.objectID, st.version)
		var ae *apierror.Error
		if errors.As(err, &ae) && ae.Kind == apierror.Conflict {
			s.log.WarnContext(ctx, "scoring: rule set skipped", "tenant", tenantID, "object", st.objectID, "version", st.version, "err", err)
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, list...)
	}
	return out, nil
}

// backtrack walks path backwards from the changed record p.ID (a record of
// the path's end) to the scored records that reach it. Through a related
// list it takes the lookup's value, including the value before the change
// (so the record the lookup pointed at loses the points); through a lookup
// it takes the live records pointing at the current ones.
func backtrack(ctx context.Context, tx pgx.Tx, tenantID string, scored *model.Object, path depPath, p eventPayload) ([]string, error) {
	objs := []*model.Object{scored}
	for _, st := range path {
		objs = append(objs, st.to())
	}
	cur := []string{p.ID}
	for i := len(path) - 1; i >= 0 && len(cur) > 0; i-- {
		st := path[i]
		var f *model.Field
		var q string
		if st.inv != nil {
			// cur are records of inv.From: the next are what their lookup holds.
			f = st.inv.Field
			q = "SELECT DISTINCT " + f.Slot + "::text FROM records WHERE tenant_id = $1 AND object_id = $2 AND id = ANY($3::text[]::uuid[]) AND " + f.Slot + " IS NOT NULL"
			if err := checkSlot(f); err != nil {
				return nil, err
			}
			next, err := collect(ctx, tx, q, tenantID, st.inv.From.Key, cur)
			if err != nil {
				return nil, err
			}
			if i == len(path)-1 {
				if old, ok := p.Changes[f.APIName].Old.(string); ok && model.IsUUID(old) {
					next = append(next, old)
				}
			}
			cur = next
			continue
		}
		// cur are targets of the lookup hop of objs[i]: the next are the
		// live records of objs[i] pointing at them.
		f = st.hop
		if err := checkSlot(f); err != nil {
			return nil, err
		}
		q = "SELECT id::text FROM records WHERE tenant_id = $1 AND object_id = $2 AND " + f.Slot + " = ANY($3::text[]::uuid[]) AND deleted_at IS NULL"
		next, err := collect(ctx, tx, q, tenantID, objs[i].Key, cur)
		if err != nil {
			return nil, err
		}
		cur = next
	}
	return cur, nil
}

func checkSlot(f *model.Field) error {
	if !slotColumn.MatchString(f.Slot) || f.Slot[0] != model.SlotReference {
		return fmt.Errorf("lookup %s has no reference slot", f.APIName)
	}
	return nil
}

func collect(ctx context.Context, tx pgx.Tx, q, tenantID, objectID string, ids []string) ([]string, error) {
	rows, err := tx.Query(ctx, q, tenantID, objectID, ids)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// scoreIDs scores the given live records of rs's object now and stores
// the results, appending record.scored events for changed scores and
// grades; BatchSize records per transaction.
func (s *Service) scoreIDs(ctx context.Context, tenantID string, rs *RuleSet, ids []string, reason string) error {
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), s.opts.BatchSize)]
		ids = ids[len(chunk):]
		sql, args, err := rs.writeSQL(selIDs, s.now(), false)
		if err != nil {
			return err
		}
		for attempt := 0; ; attempt++ {
			err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
				_, _, changes, err := runScoring(ctx, tx, sql, append([]any{tenantID, rs.Object.Key, chunk, len(chunk), maxID}, args...))
				if err != nil {
					return fmt.Errorf("score %s records: %w", rs.Object.APIName, err)
				}
				return appendScored(ctx, tx, tenantID, rs, reason, changes)
			})
			if err != nil && attempt < 3 && (database.IsCode(err, "40P01") || database.IsCode(err, "40001")) {
				continue
			}
			break
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Score rescores the named records of the object now under its active rule
// set, as the consumer does (for tools and tests). Deleted and unknown ids
// are ignored.
func (s *Service) Score(ctx context.Context, tenantID, objectName string, ids []string) error {
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if !model.IsUUID(id) {
			return apierror.Invalidf("ids", "invalid_id", "record id %q is not a UUID", id)
		}
	}
	rs, err := s.activeRuleSet(ctx, tenantID, m, o)
	if err != nil {
		return err
	}
	if rs == nil {
		return apierror.New(apierror.NotFound, "ruleset_not_found", "%s has no scoring rule set", o.APIName)
	}
	return s.scoreIDs(ctx, tenantID, rs, ids, ReasonRecord)
}
