package scoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// Explanation says why a record has its score: every rule that
// contributed, with its points and the values that matched, computed now
// under the active rule set, next to what is stored.
type Explanation struct {
	Object         string    `json:"object"`
	ID             string    `json:"id"`
	Name           string    `json:"name,omitempty"`
	RulesetVersion int       `json:"rulesetVersion"`
	At             time.Time `json:"at"`
	Score          string    `json:"score"`
	Grade          *string   `json:"grade"`
	Fit            string    `json:"fit"`
	Engagement     string    `json:"engagement"`
	FitWeight      string    `json:"fitWeight"`
	EngWeight      string    `json:"engagementWeight"`
	// Rules are the rules that contributed (points not 0), in rule order.
	Rules []RuleExplanation `json:"rules"`
	// NotMatched names the rules that gave nothing.
	NotMatched []string `json:"notMatched"`
	// Stored is what the record holds (nil if it was never scored); it
	// differs from the above when something changed since (time, for
	// decay) and the consumer or the decay job has not caught up yet.
	Stored *StoredScore `json:"stored"`
}

// StoredScore is a record's stored score.
type StoredScore struct {
	RulesetVersion int               `json:"rulesetVersion"`
	Score          *string           `json:"score"`
	Grade          *string           `json:"grade"`
	Fit            string            `json:"fit"`
	Engagement     string            `json:"engagement"`
	Contributions  map[string]string `json:"contributions"`
	PreviousScore  *string           `json:"previousScore"`
	PreviousGrade  *string           `json:"previousGrade"`
	AsOf           time.Time         `json:"asOf"`
}

// RuleExplanation is one contributing rule.
type RuleExplanation struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	Kind  string `json:"kind"`
	// Points is the rule's contribution; Uncapped what it would be
	// without the rule's cap, when the cap applied.
	Points   string `json:"points"`
	Uncapped string `json:"uncapped,omitempty"`
	// Matched are the tests of the rule's condition (when rules), each
	// with the record's value and whether it held.
	Matched []Match `json:"matched,omitempty"`
	// Related are the related records that counted (related rules): up to
	// 100, in id order; RelatedCount is how many there were.
	Related      []RelatedMatch `json:"related,omitempty"`
	RelatedCount int            `json:"relatedCount,omitempty"`
}

// Match is one test of a rule's condition and the value the record has.
type Match struct {
	// Test is the test as written ({"field": ..., "op": ..., "value": ...},
	// {"tags": ...} or {"related": ...}).
	Test json.RawMessage `json:"test"`
	// Value is the record's value for a field test (through lookups), its
	// tags for a tags test, or the number of related records meeting the
	// test's where for a related test.
	Value any  `json:"value"`
	Holds bool `json:"holds"`
}

// RelatedMatch is one related record that counted.
type RelatedMatch struct {
	ID     string     `json:"id"`
	Name   string     `json:"name,omitempty"`
	At     *time.Time `json:"at,omitempty"`
	Weight float64    `json:"weight"`
	Points string     `json:"points"`
}

// maxRelatedShown bounds RuleExplanation.Related.
const maxRelatedShown = 100

// Explain scores a live record now under its object's active rule set and
// explains the result.
func (s *Service) Explain(ctx context.Context, tenantID, objectName, id string) (*Explanation, error) {
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	if !model.IsUUID(id) {
		return nil, apierror.Invalidf("id", "invalid_id", "record id %q is not a UUID", id)
	}
	id = strings.ToLower(id)
	rs, err := s.activeRuleSet(ctx, tenantID, m, o)
	if err != nil {
		return nil, err
	}
	if rs == nil {
		return nil, apierror.New(apierror.NotFound, "ruleset_not_found", "%s has no scoring rule set", o.APIName)
	}
	var ex *Explanation
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		src := newDBSource(ctx, tx, tenantID)
		rec := src.Record(o, id)
		if src.err != nil {
			return src.err
		}
		if rec == nil {
			return apierror.New(apierror.NotFound, "record_not_found", "no %s record %s", o.APIName, id)
		}
		now := s.now()
		sc := rs.evaluate(rec, src, now)
		ex = &Explanation{
			Object: o.APIName, ID: id, Name: displayName(o, rec), RulesetVersion: rs.Version, At: now,
			Score: decimalText(sc.score, rs.Scale), Grade: sc.grade,
			Fit: decimalText(sc.fit, rs.Scale), Engagement: decimalText(sc.engagement, rs.Scale),
			FitWeight: minimalText(rs.FitWeight), EngWeight: minimalText(rs.EngagementWeight),
			Rules: []RuleExplanation{}, NotMatched: []string{},
		}
		for _, res := range sc.results {
			if res.points.Sign() == 0 {
				ex.NotMatched = append(ex.NotMatched, res.rule.Name)
				continue
			}
			re := RuleExplanation{Name: res.rule.Name, Label: res.rule.Label, Kind: res.rule.Kind, Points: minimalText(res.points)}
			if res.uncapped.Cmp(res.points) != 0 {
				re.Uncapped = minimalText(res.uncapped)
			}
			if res.rule.inv == nil {
				re.Matched = s.matches(m, o, rs.Doc.Rules[res.rule.Index].When, rec, src, now)
			} else {
				re.RelatedCount = len(res.hits)
				for _, h := range res.hits[:min(len(res.hits), maxRelatedShown)] {
					p := new(big.Rat).Set(res.rule.each)
					if res.rule.halfLife > 0 {
						p = roundRat(p.Mul(p, floatRat(h.weight)), 4)
					}
					re.Related = append(re.Related, RelatedMatch{ID: h.rec.ID, Name: displayName(res.rule.inv.From, h.rec), At: h.at,
						Weight: h.weight, Points: minimalText(p)})
				}
			}
			ex.Rules = append(ex.Rules, re)
		}
		if src.err != nil {
			return src.err
		}
		ex.Stored, err = readStored(ctx, tx, tenantID, o, id)
		return err
	})
	if err != nil {
		if _, ok := apierror.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("explain %s %s: %w", o.APIName, id, err)
	}
	return ex, nil
}

func readStored(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, id string) (*StoredScore, error) {
	st := &StoredScore{Contributions: map[string]string{}}
	var contributions []string
	var names []string
	err := tx.QueryRow(ctx, `SELECT s.ruleset_version, r.score::text, r.grade, s.fit::text, s.engagement::text, s.contributions::text[],
			s.previous_score::text, s.previous_grade, s.as_of, coalesce(v.rule_names, '{}')
		FROM record_scores s
		JOIN records r ON r.tenant_id = s.tenant_id AND r.object_id = s.object_id AND r.id = s.record_id
		LEFT JOIN scoring_rulesets v ON v.tenant_id = s.tenant_id AND v.object_id = s.object_id AND v.version = s.ruleset_version
		WHERE s.tenant_id = $1 AND s.object_id = $2 AND s.record_id = $3`, tenantID, o.Key, id).
		Scan(&st.RulesetVersion, &st.Score, &st.Grade, &st.Fit, &st.Engagement, &contributions, &st.PreviousScore, &st.PreviousGrade, &st.AsOf, &names)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read stored score: %w", err)
	}
	for i, c := range contributions {
		if i < len(names) {
			if r, ok := new(big.Rat).SetString(c); !ok || r.Sign() != 0 {
				st.Contributions[names[i]] = c
			}
		}
	}
	return st, nil
}

func floatRat(f float64) *big.Rat {
	r, _ := new(big.Rat).SetString(strconv.FormatFloat(f, 'g', 15, 64))
	return r
}

func displayName(o *model.Object, r *condition.Record) string {
	if o.DisplayField == nil || r == nil {
		return ""
	}
	switch v := r.Values[o.DisplayField.Key].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// matches lists the tests of a when condition (not those inside a related
// list's where) with the record's values.
func (s *Service) matches(m *model.Model, o *model.Object, raw json.RawMessage, rec *condition.Record, src condition.Source, now time.Time) []Match {
	var out []Match
	var walk func(v any)
	walk = func(v any) {
		n, _ := v.(map[string]any)
		switch {
		case n["and"] != nil || n["or"] != nil:
			list, _ := n["and"].([]any)
			if list == nil {
				list, _ = n["or"].([]any)
			}
			for _, c := range list {
				walk(c)
			}
		case n["not"] != nil:
			walk(n["not"])
		case n != nil:
			test, err := json.Marshal(n)
			if err != nil {
				return
			}
			c, err := condition.Compile(m, o, test)
			if err != nil {
				return
			}
			mt := Match{Test: test, Holds: c.Eval(rec, src, now)}
			switch {
			case n["field"] != nil:
				path, _ := n["field"].(string)
				mt.Value = pathValue(o, rec, path, src)
			case n["tags"] != nil:
				mt.Value = rec.Tags
			case n["related"] != nil:
				mt.Value = relatedCount(m, o, n, rec, src, now)
			}
			out = append(out, mt)
		}
	}
	walk(decode(raw))
	return out
}

// pathValue reads a condition path's value on rec, following lookups.
func pathValue(o *model.Object, rec *condition.Record, path string, src condition.Source) any {
	segs := strings.Split(path, ".")
	cur := o
	for i, seg := range segs {
		last := i == len(segs)-1
		f := cur.Field(seg)
		if f == nil {
			if !last {
				return nil
			}
			switch seg {
			case "id":
				return rec.ID
			case "createdAt":
				return rec.CreatedAt.UTC()
			case "updatedAt":
				return rec.UpdatedAt.UTC()
			case "owner":
				if rec.Owner == "" {
					return nil
				}
				return rec.Owner
			case "version":
				return rec.Version
			case "score":
				return rec.Score
			case "grade":
				return rec.Grade
			}
			return nil
		}
		v := rec.Values[f.Key]
		if last {
			return v
		}
		if f.Kind == model.KindCurrency {
			cv, _ := v.(map[string]any)
			return cv[segs[i+1]]
		}
		id, ok := v.(string)
		if !ok || f.Target == nil || src == nil {
			return nil
		}
		if rec = src.Record(f.Target, id); rec == nil {
			return nil
		}
		cur = f.Target
	}
	return nil
}

// relatedCount counts the live related records meeting a related test's
// where.
func relatedCount(m *model.Model, o *model.Object, n map[string]any, rec *condition.Record, src condition.Source, now time.Time) int {
	name, _ := n["related"].(string)
	for _, inv := range o.Inverses {
		if inv.Name != name {
			continue
		}
		var where *condition.Condition
		if w, ok := n["where"]; ok {
			raw, _ := json.Marshal(w)
			var err error
			if where, err = condition.Compile(m, inv.From, raw); err != nil {
				return 0
			}
		}
		count := 0
		for _, x := range src.Related(inv, rec.ID) {
			if where == nil || where.Eval(x, src, now) {
				count++
			}
		}
		return count
	}
	return 0
}
