package tags

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// Rule is a tag rule: while its condition holds for a live record of its
// object, the record carries its tag; with RemoveWhenFalse, while it does
// not, the record does not.
type Rule struct {
	ID string `json:"id"`
	// Tag is the stored value of the rule's tag, "group/name".
	Tag       string `json:"tag"`
	Object    string `json:"object"`
	ObjectKey string `json:"objectKey"`
	// Condition is schema/condition's JSON form, on records of Object.
	Condition       json.RawMessage `json:"condition"`
	RemoveWhenFalse bool            `json:"removeWhenFalse"`
	Enabled         bool            `json:"enabled"`
	// Version counts the rule's changes, from 1.
	Version   int       `json:"version"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
	CreatedBy string    `json:"createdBy"`
	UpdatedBy string    `json:"updatedBy"`
	// Error says why the condition no longer compiles against the current
	// schema (a field it names was removed, say); such a rule is skipped
	// until it is fixed.
	Error string `json:"error,omitempty"`

	group string
	multi bool
}

// RuleInput defines a new rule.
type RuleInput struct {
	// Tag is the stored value of an existing tag, "group/name". Required.
	Tag string `json:"tag"`
	// Object is the API name of an object the tag's group applies to. Required.
	Object string `json:"object"`
	// Condition is schema/condition's JSON form. Required.
	Condition       json.RawMessage `json:"condition"`
	RemoveWhenFalse bool            `json:"removeWhenFalse"`
	// Disabled creates the rule switched off.
	Disabled bool `json:"disabled,omitempty"`
}

// RulePatch changes a rule; nil fields are left as they are. A rule's tag
// and object never change: create another rule instead.
type RulePatch struct {
	Condition       json.RawMessage `json:"condition,omitempty"`
	RemoveWhenFalse *bool           `json:"removeWhenFalse,omitempty"`
	Enabled         *bool           `json:"enabled,omitempty"`
}

// RuleResult is a rule after a change and what its bulk re-evaluation did.
type RuleResult struct {
	Rule *Rule `json:"rule"`
	// Added is how many records got the tag, Removed how many lost it
	// (removeWhenFalse, or another tag of a single-valued group).
	Added   int `json:"added"`
	Removed int `json:"removed"`
}

const ruleColumns = `r.id::text, r.group_name || '/' || r.tag_name, r.object_id::text, r.condition, r.remove_when_false, r.enabled,
	r.version, r.created_at, r.updated_at, r.created_by, r.updated_by, r.group_name, g.multi_valued`

const ruleFrom = ` FROM tag_rules r JOIN tag_groups g ON g.tenant_id = r.tenant_id AND g.name = r.group_name `

// ruleFromChanged reads the row an INSERT or UPDATE in the CTE "changed"
// returns (the table would not show it within the same statement).
const ruleFromChanged = ` FROM changed r JOIN tag_groups g ON g.tenant_id = r.tenant_id AND g.name = r.group_name`

func scanRule(m *model.Model, row pgx.Row) (*Rule, error) {
	r := &Rule{}
	var cond []byte
	if err := row.Scan(&r.ID, &r.Tag, &r.ObjectKey, &cond, &r.RemoveWhenFalse, &r.Enabled, &r.Version,
		&r.CreatedAt, &r.UpdatedAt, &r.CreatedBy, &r.UpdatedBy, &r.group, &r.multi); err != nil {
		return nil, err
	}
	r.Condition = cond
	r.Object = objectName(m, r.ObjectKey)
	return r, nil
}

func errRuleNotFound(id string) error {
	return &apierror.Error{Kind: apierror.NotFound, Code: "rule_not_found", Field: "id", Message: fmt.Sprintf("no tag rule %s", id)}
}

// compiled returns the rule's condition compiled against m, cached by
// tenant, rule version and model version, or nil and why it does not
// compile.
func (s *Service) compiled(tenantID string, m *model.Model, r *Rule) (*condition.Condition, error) {
	key := tenantID + "/" + r.ID + "/" + strconv.Itoa(r.Version) + "/" + strconv.Itoa(m.Version)
	if c, ok := s.conds.Get(key); ok {
		return c, nil
	}
	o := m.ObjectByKey(r.ObjectKey)
	if o == nil {
		return nil, fmt.Errorf("object %s is no longer in the schema", r.ObjectKey)
	}
	c, err := condition.Compile(m, o, r.Condition)
	if err != nil {
		return nil, err
	}
	s.conds.Add(key, c)
	return c, nil
}

// CreateRule creates a tag rule and, if it is enabled, applies it to the
// object's existing records in bulk (see Reevaluate). The rule is
// committed before the bulk work starts; if that fails, Reevaluate
// finishes it.
func (s *Service) CreateRule(ctx context.Context, tenantID string, actor records.Actor, in RuleInput) (*RuleResult, error) {
	group, name, ok := ParseValue(in.Tag)
	if !ok {
		return nil, apierror.Invalidf("tag", "invalid_tag", "%q is not a tag: want group/tag, both camelCase API names", in.Tag)
	}
	m, o, err := s.object(ctx, tenantID, in.Object)
	if err != nil {
		return nil, err
	}
	if _, err := compileCondition(m, o, "condition", in.Condition); err != nil {
		return nil, err
	}
	var r *Rule
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, lockTagsSQL, tenantID, []string{in.Tag})
		if err != nil {
			return err
		}
		infos, err := scanTagInfos(rows)
		if err != nil {
			return err
		}
		if _, err := checkTags(infos, o.Key, o.APIName, []string{in.Tag}, nil); err != nil {
			if e, ok := apierror.As(err); ok {
				e.Field = "tag"
			}
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM tag_rules WHERE tenant_id = $1 AND object_id = $2", tenantID, o.Key).Scan(&n); err != nil {
			return err
		}
		if n >= MaxRulesPerObject {
			return apierror.New(apierror.Conflict, "limit_reached", "an object may have at most %d tag rules", MaxRulesPerObject)
		}
		r, err = scanRule(m, tx.QueryRow(ctx, `WITH changed AS (
				INSERT INTO tag_rules (tenant_id, group_name, tag_name, object_id, condition, remove_when_false, enabled, created_by, updated_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *)
			SELECT `+ruleColumns+ruleFromChanged,
			tenantID, group, name, o.Key, json.RawMessage(in.Condition), in.RemoveWhenFalse, !in.Disabled, string(actor)))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.reevaluate(ctx, tenantID, actor, m, r)
}

// UpdateRule changes a rule's condition, removeWhenFalse or enabled flag
// and, if the rule is enabled afterwards, re-evaluates it in bulk.
// Disabling a rule leaves the tags it applied where they are.
func (s *Service) UpdateRule(ctx context.Context, tenantID string, actor records.Actor, id string, p RulePatch) (*RuleResult, error) {
	if !model.IsUUID(id) {
		return nil, errRuleNotFound(id)
	}
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var r *Rule
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		cur, err := scanRule(m, tx.QueryRow(ctx, "SELECT "+ruleColumns+ruleFrom+"WHERE r.tenant_id = $1 AND r.id = $2 FOR UPDATE OF r", tenantID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errRuleNotFound(id)
		}
		if err != nil {
			return err
		}
		cond := cur.Condition
		if p.Condition != nil {
			o := m.ObjectByKey(cur.ObjectKey)
			if o == nil {
				return apierror.Invalidf("condition", "unknown_object", "the rule's object is no longer in the schema")
			}
			if _, err := compileCondition(m, o, "condition", p.Condition); err != nil {
				return err
			}
			cond = p.Condition
		}
		rwf, enabled := cur.RemoveWhenFalse, cur.Enabled
		if p.RemoveWhenFalse != nil {
			rwf = *p.RemoveWhenFalse
		}
		if p.Enabled != nil {
			enabled = *p.Enabled
		}
		r, err = scanRule(m, tx.QueryRow(ctx, `WITH changed AS (
				UPDATE tag_rules SET condition = $3, remove_when_false = $4, enabled = $5, version = version + 1,
					updated_at = now(), updated_by = $6
				WHERE tenant_id = $1 AND id = $2 RETURNING *)
			SELECT `+ruleColumns+ruleFromChanged,
			tenantID, id, json.RawMessage(cond), rwf, enabled, string(actor)))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.reevaluate(ctx, tenantID, actor, m, r)
}

// DeleteRule deletes a rule. The tags it applied stay.
func (s *Service) DeleteRule(ctx context.Context, tenantID, id string) error {
	if !model.IsUUID(id) {
		return errRuleNotFound(id)
	}
	return database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM tag_rules WHERE tenant_id = $1 AND id = $2", tenantID, id)
		if err == nil && tag.RowsAffected() == 0 {
			return errRuleNotFound(id)
		}
		return err
	})
}

// Rules lists the tenant's rules (of one object, if objectName is not
// ""), oldest first: the order in which they take precedence.
func (s *Service) Rules(ctx context.Context, tenantID, objectName string) ([]*Rule, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	objectKey := ""
	if objectName != "" {
		_, o, err := s.object(ctx, tenantID, objectName)
		if err != nil {
			return nil, err
		}
		objectKey = o.Key
	}
	var out []*Rule
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT "+ruleColumns+ruleFrom+"WHERE r.tenant_id = $1 AND ($2 = '' OR r.object_id::text = $2) ORDER BY r.created_at, r.id",
			tenantID, objectKey)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Rule, error) { return scanRule(m, row) })
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range out {
		if _, err := s.compiled(tenantID, m, r); err != nil {
			r.Error = err.Error()
		}
	}
	return out, nil
}

// Rule returns one rule.
func (s *Service) Rule(ctx context.Context, tenantID, id string) (*Rule, error) {
	if !model.IsUUID(id) {
		return nil, errRuleNotFound(id)
	}
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var r *Rule
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var err error
		r, err = scanRule(m, tx.QueryRow(ctx, "SELECT "+ruleColumns+ruleFrom+"WHERE r.tenant_id = $1 AND r.id = $2", tenantID, id))
		if errors.Is(err, pgx.ErrNoRows) {
			return errRuleNotFound(id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.compiled(tenantID, m, r); err != nil {
		r.Error = err.Error()
	}
	return r, nil
}

// Reevaluate applies an enabled rule to every live record of its object
// in bulk, as set-based SQL in batches (see BulkApply): records that meet
// the condition get the tag, unless an older enabled rule of the same
// single-valued group also holds for them (it takes precedence, as on
// writes); with removeWhenFalse, records that meet neither this
// condition nor that of another enabled rule with the same tag lose it.
// A disabled rule changes nothing.
func (s *Service) Reevaluate(ctx context.Context, tenantID string, actor records.Actor, id string) (*RuleResult, error) {
	r, err := s.Rule(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return s.reevaluate(ctx, tenantID, actor, m, r)
}

func (s *Service) reevaluate(ctx context.Context, tenantID string, actor records.Actor, m *model.Model, r *Rule) (*RuleResult, error) {
	res := &RuleResult{Rule: r}
	if !r.Enabled {
		return res, nil
	}
	c, err := s.compiled(tenantID, m, r)
	if err != nil {
		return nil, apierror.Invalidf("condition", "invalid_condition", "the rule's condition does not compile against the current schema: %v", err)
	}
	o := c.Object()
	others, err := s.Rules(ctx, tenantID, o.APIName)
	if err != nil {
		return nil, err
	}
	now := s.opts.Now()
	var older, sameTag []sqlPred
	for _, x := range others {
		if x.ID == r.ID || !x.Enabled || x.Error != "" {
			continue
		}
		xc, err := s.compiled(tenantID, m, x)
		if err != nil {
			continue
		}
		if !r.multi && x.group == r.group && ruleBefore(x, r) {
			older = append(older, condSQL(xc, now))
		}
		if x.Tag == r.Tag {
			sameTag = append(sameTag, condSQL(xc, now))
		}
	}
	added, err := s.runBulk(ctx, tenantID, actor, bulkSpec{
		object: o, add: []string{r.Tag}, check: true, source: SourceRule, rule: r.ID,
		where: and(condSQL(c, now), notAny(older)),
	})
	res.Added = added.Changed
	if err != nil {
		return res, err
	}
	if r.RemoveWhenFalse {
		removed, err := s.runBulk(ctx, tenantID, actor, bulkSpec{
			object: o, remove: []string{r.Tag}, check: true, source: SourceRule, rule: r.ID,
			where: and(notAny([]sqlPred{condSQL(c, now)}), notAny(sameTag)),
		})
		res.Removed = removed.Changed
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// ruleBefore reports whether rule a takes precedence over b: it is older
// (ties broken by id).
func ruleBefore(a, b *Rule) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}
