package scoring

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// The SQL form of a rule set: one statement scores a set of records of the
// object, all rules at once, set-based. Fit rules are condition.SQL
// predicates (score = sum(CASE WHEN pred THEN points END)); a related rule
// is a correlated aggregate over the related records through the lookup's
// reference slot and its index. Every value is a parameter.
//
// The arithmetic is the Go evaluator's (eval.go), step by step, so both
// give the same numbers:
//
//   - a when rule contributes its points (capped) when the predicate holds;
//   - a related rule without halfLife contributes count x pointsEach; with
//     halfLife, the float8 sum, in id order, of pointsEach x
//     0.5^min(age/halfLife, 1000), age and half-life in microseconds,
//     converted to numeric (15 significant digits, as PostgreSQL casts
//     float8) and rounded to 4 decimal places; then capped;
//   - fit and engagement are the sums of their rules' contributions,
//     rounded to the scale; score = round(fitWeight x fit + engagementWeight
//     x engagement, scale); the grade is the first threshold the score
//     reaches. Rounding is half away from zero (PostgreSQL's numeric round).

// Fixed parameters of the scoring statements: $1 tenant, $2 object, $3 the
// selection (an id to start after, or a list of ids), $4 the most records
// to score, $5 the last id that may be scored (maxID for no bound). Rule
// parameters follow.
const firstRuleParam = 6

// maxID is the highest UUID.
const maxID = "ffffffff-ffff-ffff-ffff-ffffffffffff"

// selection is which records a statement scores.
type selection int

const (
	// selAfter scores up to $4 live records with $3 < id <= $5, in id
	// order.
	selAfter selection = iota
	// selIDs scores the live records whose id is in $3 (at most $4).
	selIDs
)

var slotColumn = regexp.MustCompile(`^[nstru][0-9]{1,2}$`)

type sqlBuilder struct {
	args []any
	now  time.Time
}

// param binds v and returns its placeholder with a cast.
func (b *sqlBuilder) param(v any, cast string) string {
	b.args = append(b.args, v)
	return "$" + strconv.Itoa(firstRuleParam+len(b.args)-1) + "::" + cast
}

func ratText(r *big.Rat) string { return r.FloatString(MaxDecimals) }

// scoredSQL returns the CTEs c, t, s and g that score the selected records:
// g has id, old_score, old_grade, [display,] c0..cN (each rule's
// contribution), fit, eng, score, grade and cs (the contributions as
// numeric[]). now is when time windows end and decay is measured.
func (rs *RuleSet) scoredSQL(sel selection, now time.Time, display bool) (string, []any, error) {
	b := &sqlBuilder{now: now}
	var cols strings.Builder
	cols.WriteString("r.id, r.score AS old_score, r.grade AS old_grade")
	if display {
		if f := rs.Object.DisplayField; f != nil {
			cols.WriteString(", (r.data->>" + b.param(f.Key, "text") + ") AS display")
		} else {
			cols.WriteString(", NULL::text AS display")
		}
	}
	var fit, eng, cs []string
	for i, r := range rs.Rules {
		expr, err := rs.ruleSQL(b, i, r)
		if err != nil {
			return "", nil, err
		}
		name := "c" + strconv.Itoa(i)
		fmt.Fprintf(&cols, ",\n\t\t%s AS %s", expr, name)
		cs = append(cs, name)
		if r.Kind == KindFit {
			fit = append(fit, name)
		} else {
			eng = append(eng, name)
		}
	}
	sum := func(names []string) string {
		if len(names) == 0 {
			return "0::numeric"
		}
		return "(" + strings.Join(names, " + ") + ")"
	}
	where := "r.id > $3::uuid AND r.id <= $5::uuid"
	if sel == selIDs {
		where = "r.id = ANY($3::text[]::uuid[]) AND r.id <= $5::uuid"
	}
	scale := strconv.Itoa(rs.Scale)
	grade := "NULL::text"
	if len(rs.grades) > 0 {
		var g strings.Builder
		g.WriteString("CASE")
		var other string
		for _, gr := range rs.grades {
			if gr.min == nil {
				other = b.param(gr.name, "text")
				continue
			}
			fmt.Fprintf(&g, " WHEN s.score >= %s THEN %s", b.param(ratText(gr.min), "numeric"), b.param(gr.name, "text"))
		}
		if other == "" {
			other = "NULL::text"
		}
		g.WriteString(" ELSE " + other + " END")
		grade = g.String()
	}
	array := "'{}'::numeric[]"
	if len(cs) > 0 {
		array = "ARRAY[" + strings.Join(cs, ", ") + "]::numeric[]"
	}
	sql := `WITH c AS MATERIALIZED (
	SELECT ` + cols.String() + `
	FROM records r
	WHERE r.tenant_id = $1::uuid AND r.object_id = $2::uuid AND r.deleted_at IS NULL AND ` + where + `
	ORDER BY r.id LIMIT $4::int
), t AS (
	SELECT c.*, round(` + sum(fit) + `, ` + scale + `) AS fit, round(` + sum(eng) + `, ` + scale + `) AS eng FROM c
), s AS (
	SELECT t.*, round(` + b.param(ratText(rs.FitWeight), "numeric") + ` * t.fit + ` + b.param(ratText(rs.EngagementWeight), "numeric") + ` * t.eng, ` + scale + `) AS score FROM t
), g AS (
	SELECT s.*, ` + grade + ` AS grade, ` + array + ` AS cs FROM s
)`
	return sql, b.args, nil
}

// ruleSQL renders rule i's contribution for the record row r.
func (rs *RuleSet) ruleSQL(b *sqlBuilder, i int, r *CompiledRule) (string, error) {
	if r.inv == nil {
		pred, args := r.when.SQL("r", firstRuleParam+len(b.args), b.now)
		b.args = append(b.args, args...)
		return "CASE WHEN " + pred + " THEN " + b.param(ratText(r.points), "numeric") + " ELSE 0::numeric END", nil
	}
	slot := r.inv.Field.Slot
	if !slotColumn.MatchString(slot) || slot[0] != model.SlotReference {
		return "", fmt.Errorf("lookup %s.%s has no reference slot", r.inv.From.APIName, r.inv.Field.APIName)
	}
	a := "a" + strconv.Itoa(i)
	var cond strings.Builder
	fmt.Fprintf(&cond, "%[1]s.tenant_id = r.tenant_id AND %[1]s.object_id = %[2]s AND %[1]s.deleted_at IS NULL AND %[1]s.%[3]s = r.id",
		a, b.param(r.inv.From.Key, "uuid"), slot)
	if r.where != nil {
		pred, args := r.where.SQL(a, firstRuleParam+len(b.args), b.now)
		b.args = append(b.args, args...)
		cond.WriteString(" AND " + pred)
	}
	var at, now string
	if r.at != nil && (r.within > 0 || r.halfLife > 0) {
		var err error
		if at, err = r.at.sql(b, a); err != nil {
			return "", err
		}
		now = b.param(b.now, "timestamptz")
		cond.WriteString(" AND " + at + " <= " + now)
		if r.within > 0 {
			cond.WriteString(" AND " + at + " >= " + b.param(b.now.Add(-r.within), "timestamptz"))
		}
	}
	var agg string
	if r.halfLife > 0 {
		agg = fmt.Sprintf("round(sum(%s * power(0.5::float8, LEAST(((extract(epoch FROM %s) - extract(epoch FROM %s)) * 1000000)::float8 / %s, %d::float8)) ORDER BY %s.id)::numeric, 4)",
			b.param(r.eachF, "float8"), now, at, b.param(float64(r.halfLife.Microseconds()), "float8"), maxExponent, a)
	} else {
		agg = "count(*) * " + b.param(ratText(r.each), "numeric")
	}
	expr := "COALESCE((SELECT " + agg + " FROM records " + a + " WHERE " + cond.String() + "), 0::numeric)"
	if r.cap != nil {
		if r.each.Sign() < 0 {
			expr = "GREATEST(" + expr + ", " + b.param("-"+ratText(r.cap), "numeric") + ")"
		} else {
			expr = "LEAST(" + expr + ", " + b.param(ratText(r.cap), "numeric") + ")"
		}
	}
	return expr, nil
}

// sql renders when a related record (row alias) happened, as timestamptz
// (NULL when it has no time). Values from data are cast only when they are
// in PostgreSQL's range, with digits past microseconds dropped, as Go
// parses them.
func (f *atField) sql(b *sqlBuilder, alias string) (string, error) {
	switch f.sys {
	case "createdAt":
		return alias + ".created_at", nil
	case "updatedAt":
		return alias + ".updated_at", nil
	}
	if slot := f.f.Slot; slot != "" {
		if !slotColumn.MatchString(slot) || slot[0] != model.SlotTimestamp {
			return "", fmt.Errorf("field %s has a bad slot %q", f.f.APIName, slot)
		}
		return alias + "." + slot, nil
	}
	v := "(" + alias + ".data->>" + b.param(f.f.Key, "text") + ")"
	if f.f.Kind == model.KindDate {
		return "(CASE WHEN left(" + v + ", 4) > '0000' THEN (" + v + " || 'T00:00:00Z')::timestamptz END)", nil
	}
	return "(CASE WHEN left(" + v + ", 4) > '0000' THEN regexp_replace(" + v + `, '(\.[0-9]{6})[0-9]+', '\1')::timestamptz END)`, nil
}

// writeSQL is the statement that scores the selected records and stores
// the results: record_scores (only over a row computed under an older
// version, or under the same version from older data: as_of), then
// records.score and records.grade where they change. With skipSame, a
// record_scores row whose values are unchanged is not rewritten (bulk
// jobs: no write for nothing). It returns the batch's size and last id and
// the records whose score or grade changed, with their old and new values.
func (rs *RuleSet) writeSQL(sel selection, now time.Time, skipSame bool) (string, []any, error) {
	cte, args, err := rs.scoredSQL(sel, now, false)
	if err != nil {
		return "", nil, err
	}
	version := "$" + strconv.Itoa(firstRuleParam+len(args)) + "::int"
	args = append(args, rs.Version)
	same := ""
	if skipSame {
		same = `
		AND (rs.ruleset_version, rs.fit, rs.engagement, rs.score, rs.grade, rs.contributions)
		    IS DISTINCT FROM (EXCLUDED.ruleset_version, EXCLUDED.fit, EXCLUDED.engagement, EXCLUDED.score, EXCLUDED.grade, EXCLUDED.contributions)`
	}
	sql := cte + `, up AS (
	INSERT INTO record_scores AS rs (tenant_id, object_id, record_id, ruleset_version, fit, engagement, score, grade, contributions, previous_score, previous_grade, as_of)
	SELECT $1::uuid, $2::uuid, g.id, ` + version + `, g.fit, g.eng, g.score, g.grade, g.cs, g.old_score, g.old_grade, statement_timestamp() FROM g
	ON CONFLICT (tenant_id, object_id, record_id) DO UPDATE SET
		ruleset_version = EXCLUDED.ruleset_version, fit = EXCLUDED.fit, engagement = EXCLUDED.engagement,
		score = EXCLUDED.score, grade = EXCLUDED.grade, contributions = EXCLUDED.contributions,
		previous_score = rs.score, previous_grade = rs.grade, as_of = EXCLUDED.as_of
	WHERE (rs.ruleset_version < EXCLUDED.ruleset_version OR (rs.ruleset_version = EXCLUDED.ruleset_version AND rs.as_of < EXCLUDED.as_of))` + same + `
	RETURNING record_id, previous_score, previous_grade, score, grade
), ru AS (
	UPDATE records r SET score = up.score, grade = up.grade FROM up
	WHERE r.tenant_id = $1::uuid AND r.object_id = $2::uuid AND r.id = up.record_id
		AND (r.score IS DISTINCT FROM up.score OR r.grade IS DISTINCT FROM up.grade)
	RETURNING r.id, up.previous_score, up.previous_grade, up.score, up.grade
), n AS (
	SELECT count(*) AS n, max(id::text) AS last FROM c
)
SELECT n.n, n.last, ru.id::text, ru.previous_score::text, ru.previous_grade, ru.score::text, ru.grade
FROM n LEFT JOIN ru ON true`
	return sql, args, nil
}

// previewSQL scores the selected records without writing anything.
func (rs *RuleSet) previewSQL(sel selection, now time.Time) (string, []any, error) {
	cte, args, err := rs.scoredSQL(sel, now, true)
	if err != nil {
		return "", nil, err
	}
	return cte + `
SELECT id::text, old_score::text, old_grade, display, fit::text, eng::text, score::text, grade, cs::text[] FROM g ORDER BY id`, args, nil
}
