package scoring

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// Format is the value of a rule set's optional "lattice" member.
const Format = "scoring/v1"

// Limits on one rule set.
const (
	// MaxSize is the largest rule set document accepted, in bytes.
	MaxSize = 1 << 20
	// MaxRules is how many rules one rule set may hold.
	MaxRules = 200
	// MaxDecimals is how many decimal places points, caps, weights and
	// thresholds may have.
	MaxDecimals = 4
	// maxExponent bounds the decay exponent (age / half-life): 0.5^1000 is
	// about 1e-301, nothing, and PostgreSQL's power() fails on underflow.
	maxExponent = 1000
)

// Kinds of rules.
const (
	KindFit        = "fit"
	KindEngagement = "engagement"
)

// Document is a rule set in its JSON form (ruleset.schema.json,
// docs/scoring.md).
type Document struct {
	Lattice     string   `json:"lattice,omitempty"`
	Object      string   `json:"object,omitempty"`
	Description string   `json:"description,omitempty"`
	Scale       int      `json:"scale,omitempty"`
	Weights     *Weights `json:"weights,omitempty"`
	Grades      []Grade  `json:"grades,omitempty"`
	Rules       []Rule   `json:"rules"`
}

// Weights combine fit and engagement into the score; each defaults to 1.
type Weights struct {
	Fit        *json.Number `json:"fit,omitempty"`
	Engagement *json.Number `json:"engagement,omitempty"`
}

// Grade is one grade threshold; Min nil is the grade of every record
// below the other thresholds (only last).
type Grade struct {
	Grade string       `json:"grade"`
	Min   *json.Number `json:"min,omitempty"`
}

// Rule is one scoring rule: either When and Points, or Related and
// PointsEach (with Where, At, Within, HalfLife).
type Rule struct {
	Name        string          `json:"name"`
	Label       string          `json:"label,omitempty"`
	Description string          `json:"description,omitempty"`
	Kind        string          `json:"kind"`
	When        json.RawMessage `json:"when,omitempty"`
	Points      *json.Number    `json:"points,omitempty"`
	Related     string          `json:"related,omitempty"`
	Where       json.RawMessage `json:"where,omitempty"`
	PointsEach  *json.Number    `json:"pointsEach,omitempty"`
	At          string          `json:"at,omitempty"`
	Within      string          `json:"within,omitempty"`
	HalfLife    string          `json:"halfLife,omitempty"`
	Cap         *json.Number    `json:"cap,omitempty"`
}

// RuleSet is a compiled rule set for one object of one model version. It
// is immutable and safe for concurrent use.
type RuleSet struct {
	// Object is the scored object.
	Object *model.Object
	// Version is the stored version, 0 for a draft.
	Version int
	// Doc is the document it was compiled from.
	Doc Document
	// Raw is the document as submitted, compacted.
	Raw json.RawMessage
	// Scale is the number of decimal places of fit, engagement and score.
	Scale int
	// FitWeight and EngagementWeight combine the two scores.
	FitWeight, EngagementWeight *big.Rat
	// Rules in document order.
	Rules []*CompiledRule
	// TimeDependent is true when scores change with time alone: a rule
	// with within or halfLife, or a condition with withinLast.
	TimeDependent bool

	grades   []grade
	modelVer int
	paths    []depPath
}

type grade struct {
	name string
	min  *big.Rat // nil: every other record
}

// CompiledRule is one compiled rule.
type CompiledRule struct {
	Name, Label, Kind string
	// Index is the rule's position, also in stored contributions.
	Index int

	when   *condition.Condition
	points *big.Rat // when rules: the points, already capped

	inv      *model.Inverse
	where    *condition.Condition
	each     *big.Rat
	eachF    float64
	cap      *big.Rat // nil: no cap
	at       *atField
	within   time.Duration
	halfLife time.Duration
}

// Related reports whether the rule gives points per related record.
func (r *CompiledRule) Related() bool { return r.inv != nil }

// atField is the time of a related record: a date or datetime field, or
// createdAt/updatedAt.
type atField struct {
	name string
	sys  string       // "createdAt" or "updatedAt", or ""
	f    *model.Field // a date or datetime field
}

// Compile checks a rule set document for object o of model m and compiles
// it. Every problem is reported at once as model.Problems, each with the
// JSON pointer of the offending part of raw; problems of a rule's
// condition are those of condition.Compile, pointed under the rule
// ("/rules/2/when/field").
func Compile(m *model.Model, o *model.Object, raw []byte) (*RuleSet, error) {
	if m == nil || o == nil || m.Object(o.APIName) != o {
		return nil, errors.New("scoring: Compile needs a model and one of its objects")
	}
	if len(raw) > MaxSize {
		return nil, model.Problems{{Pointer: "", Code: "too_large", Message: fmt.Sprintf("a rule set may be at most %d bytes, got %d", MaxSize, len(raw))}}
	}
	doc, err := model.DecodeJSON(raw)
	if err != nil {
		return nil, model.Problems{{Pointer: "", Code: "invalid_json", Message: err.Error()}}
	}
	c := &compiler{m: m, o: o}
	c.ps = metaProblems(doc)
	// Conditions are compiled even when the rest is malformed, so that
	// every problem is reported at once.
	top, _ := doc.(map[string]any)
	rules, _ := top["rules"].([]any)
	conds := make([]ruleConds, len(rules))
	for i, r := range rules {
		rm, ok := r.(map[string]any)
		if !ok {
			continue
		}
		conds[i] = c.conditions(i, rm)
	}
	if len(c.ps) > 0 {
		sort.SliceStable(c.ps, func(i, j int) bool { return c.ps[i].Pointer < c.ps[j].Pointer })
		return nil, c.ps
	}
	var d Document
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, model.Problems{{Pointer: "", Code: "invalid_json", Message: err.Error()}}
	}
	rs := c.ruleSet(d, conds)
	if len(c.ps) > 0 {
		return nil, c.ps
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		return nil, model.Problems{{Pointer: "", Code: "invalid_json", Message: err.Error()}}
	}
	rs.Raw = compact.Bytes()
	rs.modelVer = m.Version
	rs.paths = dependencies(rs)
	return rs, nil
}

type compiler struct {
	m  *model.Model
	o  *model.Object
	ps model.Problems
}

func (c *compiler) problem(pointer, code, format string, args ...any) {
	c.ps = append(c.ps, model.Problem{Pointer: pointer, Code: code, Message: fmt.Sprintf(format, args...)})
}

// ruleConds are a rule's compiled conditions and related list.
type ruleConds struct {
	when, where *condition.Condition
	inv         *model.Inverse
	timeDep     bool
}

// conditions compiles rule i's when, or its related list and where,
// re-pointing their problems under the rule.
func (c *compiler) conditions(i int, rm map[string]any) ruleConds {
	var out ruleConds
	at := ptr("", "rules", i)
	compile := func(o *model.Object, v any, key string) *condition.Condition {
		raw, err := json.Marshal(v)
		if err != nil {
			c.problem(ptr(at, key), "invalid_json", "%v", err)
			return nil
		}
		if usesWithinLast(v) {
			out.timeDep = true
		}
		cond, err := condition.Compile(c.m, o, raw)
		if err != nil {
			var ps model.Problems
			if !errors.As(err, &ps) {
				c.problem(ptr(at, key), "invalid_condition", "%v", err)
				return nil
			}
			for _, p := range ps {
				p.Pointer = ptr(at, key) + p.Pointer
				c.ps = append(c.ps, p)
			}
			return nil
		}
		return cond
	}
	if w, ok := rm["when"]; ok {
		out.when = compile(c.o, w, "when")
	}
	name, isName := rm["related"].(string)
	if !isName {
		return out
	}
	for _, inv := range c.o.Inverses {
		if inv.Name == name {
			out.inv = inv
		}
	}
	if out.inv == nil {
		names := make([]string, len(c.o.Inverses))
		for j, inv := range c.o.Inverses {
			names[j] = inv.Name
		}
		list := "it has none"
		if len(names) > 0 {
			list = "it has " + strings.Join(names, ", ")
		}
		c.problem(ptr(at, "related"), "unknown_relation", "%s has no related list %q (%s)", c.o.APIName, name, list)
		return out
	}
	if w, ok := rm["where"]; ok {
		out.where = compile(out.inv.From, w, "where")
	}
	return out
}

// usesWithinLast reports whether a condition's JSON form uses withinLast,
// which makes its result change with time.
func usesWithinLast(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if x["op"] == "withinLast" {
			return true
		}
		for _, e := range x {
			if usesWithinLast(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if usesWithinLast(e) {
				return true
			}
		}
	}
	return false
}

// ruleSet checks what the meta-schema cannot and builds the RuleSet.
func (c *compiler) ruleSet(d Document, conds []ruleConds) *RuleSet {
	rs := &RuleSet{Object: c.o, Doc: d, Scale: d.Scale, FitWeight: big.NewRat(1, 1), EngagementWeight: big.NewRat(1, 1)}
	if d.Object != "" && d.Object != c.o.APIName {
		c.problem("/object", "object_mismatch", "the rule set is for %s, not %s", d.Object, c.o.APIName)
	}
	if d.Weights != nil {
		if d.Weights.Fit != nil {
			rs.FitWeight = c.decimal(*d.Weights.Fit, "/weights/fit")
		}
		if d.Weights.Engagement != nil {
			rs.EngagementWeight = c.decimal(*d.Weights.Engagement, "/weights/engagement")
		}
	}
	seenGrade := map[string]bool{}
	var prev *big.Rat
	for i, g := range d.Grades {
		at := ptr("", "grades", i)
		if seenGrade[g.Grade] {
			c.problem(ptr(at, "grade"), "duplicate_grade", "grade %q is listed twice", g.Grade)
		}
		seenGrade[g.Grade] = true
		if g.Min == nil {
			if i != len(d.Grades)-1 {
				c.problem(at, "grade_without_min", "only the last grade may omit min (it is the grade of every record below the others)")
			}
			rs.grades = append(rs.grades, grade{name: g.Grade})
			continue
		}
		min := c.decimal(*g.Min, ptr(at, "min"))
		if min != nil && prev != nil && min.Cmp(prev) >= 0 {
			c.problem(ptr(at, "min"), "grades_not_descending", "grades go from the highest min down: %s is not below %s", min.FloatString(MaxDecimals), prev.FloatString(MaxDecimals))
		}
		if min != nil {
			prev = min
		}
		rs.grades = append(rs.grades, grade{name: g.Grade, min: min})
	}
	names := map[string]int{}
	for i, r := range d.Rules {
		at := ptr("", "rules", i)
		if j, dup := names[r.Name]; dup {
			c.problem(ptr(at, "name"), "duplicate_rule", "rule %q is also rule %d; rule names must be unique", r.Name, j)
		}
		names[r.Name] = i
		cr := &CompiledRule{Name: r.Name, Label: r.Label, Kind: r.Kind, Index: i, when: conds[i].when, where: conds[i].where, inv: conds[i].inv}
		if conds[i].timeDep {
			rs.TimeDependent = true
		}
		if r.Cap != nil {
			cr.cap = c.decimal(*r.Cap, ptr(at, "cap"))
		}
		if r.Points != nil {
			cr.points = c.decimal(*r.Points, ptr(at, "points"))
			if cr.points != nil && cr.cap != nil && new(big.Rat).Abs(cr.points).Cmp(cr.cap) > 0 {
				capped := new(big.Rat).Set(cr.cap)
				if cr.points.Sign() < 0 {
					capped.Neg(capped)
				}
				cr.points = capped
			}
		}
		if r.PointsEach != nil {
			cr.each = c.decimal(*r.PointsEach, ptr(at, "pointsEach"))
			if cr.each != nil {
				cr.eachF, _ = cr.each.Float64()
			}
		}
		if r.Within != "" {
			cr.within = parseDuration(r.Within)
			rs.TimeDependent = true
		}
		if r.HalfLife != "" {
			cr.halfLife = parseDuration(r.HalfLife)
			rs.TimeDependent = true
		}
		if r.At != "" && cr.inv != nil {
			cr.at = c.atField(cr.inv.From, r.At, ptr(at, "at"))
		}
		rs.Rules = append(rs.Rules, cr)
	}
	return rs
}

// decimal parses a number with at most MaxDecimals decimal places.
func (c *compiler) decimal(n json.Number, at string) *big.Rat {
	r, ok := new(big.Rat).SetString(n.String())
	if !ok {
		c.problem(at, "invalid_number", "%s is not a number", n)
		return nil
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt64(10000))
	if !scaled.IsInt() {
		c.problem(at, "too_many_decimals", "%s has more than %d decimal places", n, MaxDecimals)
		return nil
	}
	return r
}

func (c *compiler) atField(o *model.Object, name, at string) *atField {
	switch name {
	case "createdAt", "updatedAt":
		return &atField{name: name, sys: name}
	}
	f := o.Field(name)
	if f == nil || (f.Kind != model.KindDate && f.Kind != model.KindDateTime) {
		var opts []string
		for _, f := range o.Fields {
			if f.Kind == model.KindDate || f.Kind == model.KindDateTime {
				opts = append(opts, f.APIName)
			}
		}
		opts = append(opts, "createdAt", "updatedAt")
		what := "has no field " + strconv.Quote(name)
		if f != nil {
			what = name + " is a " + string(f.Kind) + " field"
		}
		c.problem(at, "invalid_time_field", "%s %s: at must be a date or datetime field of %s, or createdAt or updatedAt (%s)",
			o.APIName, what, o.APIName, strings.Join(opts, ", "))
		return nil
	}
	return &atField{name: name, f: f}
}

// parseDuration parses a duration the meta-schema has checked: a whole
// number of minutes, hours, days or weeks.
func parseDuration(s string) time.Duration {
	n, _ := strconv.ParseInt(s[:len(s)-1], 10, 64)
	switch s[len(s)-1] {
	case 'm':
		return time.Duration(n) * time.Minute
	case 'h':
		return time.Duration(n) * time.Hour
	case 'd':
		return time.Duration(n) * 24 * time.Hour
	}
	return time.Duration(n) * 7 * 24 * time.Hour
}

// RuleNames returns the rules' names in order, the order of stored
// contributions.
func (rs *RuleSet) RuleNames() []string {
	out := make([]string, len(rs.Rules))
	for i, r := range rs.Rules {
		out[i] = r.Name
	}
	return out
}

// Grades returns the grade names from the highest down.
func (rs *RuleSet) Grades() []string {
	out := make([]string, len(rs.grades))
	for i, g := range rs.grades {
		out[i] = g.name
	}
	return out
}

// gradeOf returns the grade of a score, or nil.
func (rs *RuleSet) gradeOf(score *big.Rat) *string {
	for _, g := range rs.grades {
		if g.min == nil || score.Cmp(g.min) >= 0 {
			name := g.name
			return &name
		}
	}
	return nil
}
