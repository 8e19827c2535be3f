package scoring

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// The Go evaluator of a rule set, for explanations. It follows the SQL
// form's arithmetic step by step (see sql.go), so the two agree.

// ruleResult is what one rule gave a record.
type ruleResult struct {
	rule     *CompiledRule
	points   *big.Rat // the contribution, capped
	uncapped *big.Rat
	hits     []relatedHit // related rules: the related records that counted
}

type relatedHit struct {
	rec    *condition.Record
	at     *time.Time
	weight float64 // 1 without halfLife
}

// scored is a record's score under a rule set.
type scored struct {
	results                []ruleResult
	fit, engagement, score *big.Rat
	grade                  *string
}

// evaluate scores r, a live record of the rule set's object, at now.
func (rs *RuleSet) evaluate(r *condition.Record, src condition.Source, now time.Time) scored {
	out := scored{fit: new(big.Rat), engagement: new(big.Rat)}
	for _, rule := range rs.Rules {
		res := ruleResult{rule: rule, points: new(big.Rat)}
		if rule.inv == nil {
			if rule.when.Eval(r, src, now) {
				res.points.Set(rule.points)
			}
		} else {
			res.points, res.hits = rule.related(r, src, now)
		}
		res.uncapped = res.points
		if rule.cap != nil && rule.inv != nil {
			if res.points.Sign() > 0 && res.points.Cmp(rule.cap) > 0 {
				res.points = new(big.Rat).Set(rule.cap)
			}
			if neg := new(big.Rat).Neg(rule.cap); res.points.Sign() < 0 && res.points.Cmp(neg) < 0 {
				res.points = neg
			}
		}
		if rule.Kind == KindFit {
			out.fit.Add(out.fit, res.points)
		} else {
			out.engagement.Add(out.engagement, res.points)
		}
		out.results = append(out.results, res)
	}
	out.fit = roundRat(out.fit, rs.Scale)
	out.engagement = roundRat(out.engagement, rs.Scale)
	total := new(big.Rat).Mul(rs.FitWeight, out.fit)
	total.Add(total, new(big.Rat).Mul(rs.EngagementWeight, out.engagement))
	out.score = roundRat(total, rs.Scale)
	out.grade = rs.gradeOf(out.score)
	return out
}

// related computes a related rule's uncapped contribution.
func (rule *CompiledRule) related(r *condition.Record, src condition.Source, now time.Time) (*big.Rat, []relatedHit) {
	var list []*condition.Record
	if src != nil {
		list = append(list, src.Related(rule.inv, r.ID)...)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID }) // the SQL sums in id order
	timed := rule.at != nil && (rule.within > 0 || rule.halfLife > 0)
	var hits []relatedHit
	sum := 0.0
	for _, x := range list {
		if rule.where != nil && !rule.where.Eval(x, src, now) {
			continue
		}
		h := relatedHit{rec: x, weight: 1}
		if timed {
			t := rule.at.value(x)
			if t == nil || t.After(now) || rule.within > 0 && t.Before(now.Add(-rule.within)) {
				continue
			}
			h.at = t
			if rule.halfLife > 0 {
				e := math.Min(float64(now.UnixMicro()-t.UnixMicro())/float64(rule.halfLife.Microseconds()), maxExponent)
				h.weight = math.Pow(0.5, e)
				sum += rule.eachF * h.weight
			}
		}
		hits = append(hits, h)
	}
	if rule.halfLife > 0 {
		if len(hits) == 0 {
			return new(big.Rat), nil
		}
		// PostgreSQL casts float8 to numeric with 15 significant digits.
		v, _ := new(big.Rat).SetString(strconv.FormatFloat(sum, 'g', 15, 64))
		return roundRat(v, 4), hits
	}
	return new(big.Rat).Mul(rule.each, big.NewRat(int64(len(hits)), 1)), hits
}

// value returns when a related record happened, at microsecond precision,
// or nil.
func (f *atField) value(x *condition.Record) *time.Time {
	var t time.Time
	switch {
	case f.sys == "createdAt":
		t = x.CreatedAt
	case f.sys == "updatedAt":
		t = x.UpdatedAt
	default:
		s, ok := x.Values[f.f.Key].(string)
		if !ok || len(s) < 4 || s[:4] == "0000" {
			return nil
		}
		var err error
		if f.f.Kind == model.KindDate {
			t, err = time.Parse(time.DateOnly, s)
		} else {
			t, err = time.Parse(time.RFC3339Nano, s)
		}
		if err != nil {
			return nil
		}
	}
	t = t.UTC().Truncate(time.Microsecond)
	return &t
}

// roundRat rounds r to scale decimal places, half away from zero (as
// PostgreSQL rounds numeric).
func roundRat(r *big.Rat, scale int) *big.Rat {
	pow := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	x := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow))
	num, den := new(big.Int).Set(x.Num()), x.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	return new(big.Rat).SetFrac(q, pow)
}

// decimalText formats r with exactly scale decimal places, as PostgreSQL
// prints a numeric rounded to scale.
func decimalText(r *big.Rat, scale int) string {
	return roundRat(r, scale).FloatString(scale)
}

// minimalText formats r without trailing zeros (r has at most 4 decimals
// wherever it is used).
func minimalText(r *big.Rat) string {
	s := r.FloatString(MaxDecimals)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// dbSource is a condition.Source over the records table, read in one
// tenant transaction and cached. The first error is kept in err; after
// it, everything reads as missing.
type dbSource struct {
	ctx      context.Context
	tx       pgx.Tx
	tenantID string
	err      error
	byID     map[string]*condition.Record
	related  map[string][]*condition.Record
}

func newDBSource(ctx context.Context, tx pgx.Tx, tenantID string) *dbSource {
	return &dbSource{ctx: ctx, tx: tx, tenantID: tenantID, byID: map[string]*condition.Record{}, related: map[string][]*condition.Record{}}
}

const sourceColumns = `id::text, data, tags, score::text, grade, created_at, updated_at, coalesce(owner_id, ''), version`

func scanSource(row pgx.Row) (*condition.Record, error) {
	r := &condition.Record{}
	var data []byte
	var score *string
	if err := row.Scan(&r.ID, &data, &r.Tags, &score, &r.Grade, &r.CreatedAt, &r.UpdatedAt, &r.Owner, &r.Version); err != nil {
		return nil, err
	}
	if score != nil {
		n := json.Number(*score)
		r.Score = &n
	}
	v, err := model.DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	r.Values = model.Values(m)
	r.Owner = strings.ToLower(r.Owner)
	return r, nil
}

// Record implements condition.Source.
func (s *dbSource) Record(o *model.Object, id string) *condition.Record {
	k := o.Key + "/" + id
	if r, ok := s.byID[k]; ok || s.err != nil {
		return r
	}
	r, err := scanSource(s.tx.QueryRow(s.ctx, `SELECT `+sourceColumns+` FROM records
		WHERE tenant_id = $1 AND object_id = $2 AND id = $3 AND deleted_at IS NULL`, s.tenantID, o.Key, id))
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		s.err = err
	}
	s.byID[k] = r
	return r
}

// Related implements condition.Source.
func (s *dbSource) Related(inv *model.Inverse, id string) []*condition.Record {
	k := inv.From.Key + "/" + inv.Field.Key + "/" + id
	if rs, ok := s.related[k]; ok || s.err != nil {
		return rs
	}
	if err := checkSlot(inv.Field); err != nil {
		s.err = err
		return nil
	}
	rows, err := s.tx.Query(s.ctx, `SELECT `+sourceColumns+` FROM records
		WHERE tenant_id = $1 AND object_id = $2 AND `+inv.Field.Slot+` = $3 AND deleted_at IS NULL ORDER BY id`, s.tenantID, inv.From.Key, id)
	if err != nil {
		s.err = err
		return nil
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*condition.Record, error) { return scanSource(r) })
	if err != nil {
		s.err = err
		return nil
	}
	s.related[k] = list
	for _, r := range list {
		s.byID[inv.From.Key+"/"+r.ID] = r
	}
	return list
}
