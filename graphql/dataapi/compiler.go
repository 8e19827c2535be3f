package dataapi

import (
	"time"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// Limits protect the database from expensive operations. The zero value
// of a field takes its default.
type Limits struct {
	// MaxDepth is how deeply records may nest (lookups and related lists).
	// Default 8.
	MaxDepth int
	// MaxPageSize is the largest first or last. Default 500.
	MaxPageSize int
	// DefaultPageSize applies when neither first nor last is given.
	// Default 50.
	DefaultPageSize int
	// MaxCost is the most records one root field may return, estimated as
	// each connection's page size times the page sizes of the connections
	// it is nested in. Default 50,000.
	MaxCost int
	// MaxBulk is the most records one bulk mutation may write. Default
	// 1,000; at most records.MaxMany.
	MaxBulk int
	// StatementTimeout bounds each statement. Default 10s.
	StatementTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 8
	}
	if l.MaxPageSize <= 0 {
		l.MaxPageSize = 500
	}
	if l.DefaultPageSize <= 0 {
		l.DefaultPageSize = 50
	}
	if l.DefaultPageSize > l.MaxPageSize {
		l.DefaultPageSize = l.MaxPageSize
	}
	if l.MaxCost <= 0 {
		l.MaxCost = 50000
	}
	if l.MaxBulk <= 0 {
		l.MaxBulk = 1000
	}
	if l.MaxBulk > records.MaxMany {
		l.MaxBulk = records.MaxMany // the record store refuses more
	}
	if l.StatementTimeout <= 0 {
		l.StatementTimeout = 10 * time.Second
	}
	return l
}

// compiler turns one root field into one SQL statement. Every user error
// is found while compiling, before anything runs; parameters are always
// bound ($1 is the tenant), and only names Lattice generated or validated
// (object ids, field keys, response keys) appear in the SQL text, so the
// same operation always renders the same text and pgx's statement cache
// serves it.
type compiler struct {
	s      *Schema
	vars   map[string]any
	args   []any
	now    time.Time
	limits Limits
	cost   int
	alias  int
	scopes map[*objectType]*condition.Condition
	// onNull is the error the statement returning NULL means: a limit
	// only the database can check (the number of groups of an aggregate).
	onNull error
	// late are the variables bound at run time (see plan); holes are the
	// parameters they became, and usesTime reports a condition bound to
	// now: both decide whether and how the statement may be reused.
	late     map[string]bool
	holes    []hole
	usesTime bool
}

func newCompiler(s *Schema, tenantID string, vars map[string]any, limits Limits, now time.Time) *compiler {
	return &compiler{s: s, vars: vars, args: []any{tenantID}, now: now, limits: limits, scopes: map[*objectType]*condition.Condition{}}
}

// arg binds v and returns its placeholder.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + itoa(len(c.args))
}

// newAlias returns a fresh table alias: t1, t2, ... in rendering order, so
// the text is deterministic.
func (c *compiler) newAlias() string {
	c.alias++
	return "t" + itoa(c.alias)
}

// hole binds the value bind reads from the variables as a parameter the
// plan binds again for each request, and returns its placeholder.
func (c *compiler) hole(bind binder) (string, error) {
	v, err := bind(c.vars)
	if err != nil {
		return "", err
	}
	p := c.arg(v)
	c.holes = append(c.holes, hole{arg: len(c.args) - 1, bind: bind})
	return p, nil
}

// idParam binds f's record id argument: a hole if it is a late variable.
func (c *compiler) idParam(f *ast.Field, args map[string]any) (string, error) {
	if name, ok := lateID(c.s, f); ok && c.late[name] {
		return c.hole(bindID(name))
	}
	id, err := idArg(args, "id")
	if err != nil {
		return "", err
	}
	return c.arg(id), nil
}

// cond renders a compiled condition on the row aliased a.
func (c *compiler) cond(cd *condition.Condition, a string) string {
	if cd.UsesTime() {
		c.usesTime = true
	}
	pred, args := cd.SQL(a, len(c.args)+1, c.now)
	c.args = append(c.args, args...)
	return "(" + pred + ")"
}

// scope returns the caller's record predicate on t, compiled once per
// statement, or nil.
func (c *compiler) scope(t *objectType) (*condition.Condition, error) {
	if cd, ok := c.scopes[t]; ok {
		return cd, nil
	}
	var cd *condition.Condition
	if c.s.Scope.Records != nil {
		if raw := c.s.Scope.Records(t.obj); len(raw) > 0 {
			key := t.obj.Key + "\x00" + string(raw)
			var ok bool
			if cd, ok = c.s.conds.Get(key); !ok {
				var err error
				if cd, err = condition.Compile(c.s.Model, t.obj, raw); err != nil {
					return nil, err // the permission layer gave a bad rule: not the caller's fault
				}
				c.s.conds.Add(key, cd)
			}
		}
	}
	c.scopes[t] = cd
	return cd, nil
}

// live renders the predicate every reachable record of t meets: the
// tenant, the object, not deleted (unless deleted), and the caller's scope.
func (c *compiler) live(t *objectType, a string, deleted bool) (string, error) {
	sql := a + ".tenant_id = $1 AND " + a + ".object_id = " + quoteLiteral(t.obj.Key) + "::uuid"
	if !deleted {
		sql += " AND " + a + ".deleted_at IS NULL"
	}
	sc, err := c.scope(t)
	if err != nil {
		return "", err
	}
	if sc != nil {
		sql += " AND " + c.cond(sc, a)
	}
	return sql, nil
}

// implementsNode is the type-condition test for fragments on Node.
func implementsNode(name string) bool { return name == "Node" }

// jsonObject renders a JSON object from response keys and expressions,
// keys in selection order (json, not jsonb, keeps the order).
// json_build_object takes at most 100 arguments, so larger selections go
// through row_to_json of a one-row subquery.
func jsonObject(keys, exprs []string) string {
	if len(keys) <= 50 {
		b := make([]byte, 0, 64*len(keys))
		b = append(b, "json_build_object("...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = append(b, quoteLiteral(k)...)
			b = append(b, ", "...)
			b = append(b, exprs[i]...)
		}
		return string(append(b, ')'))
	}
	b := make([]byte, 0, 64*len(keys))
	b = append(b, "(SELECT row_to_json(x) FROM (SELECT "...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, exprs[i]...)
		b = append(b, ` AS "`...)
		b = append(b, k...) // a GraphQL name: letters, digits, _
		b = append(b, '"')
	}
	return string(append(b, ") x)"...))
}

// timestampJSON renders a timestamptz as RFC 3339 in UTC.
func timestampJSON(x string) string {
	return "to_char(" + x + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`
}

// dataKey renders the JSONB value of f in the row aliased a.
func dataKey(a string, f *model.Field) string { return a + ".data->" + quoteLiteral(f.Key) }

// checkKey refuses a response key PostgreSQL would truncate.
func checkKey(f *ast.Field, path []any) error {
	if len(f.Alias) > 63 {
		return fieldAt(badInput(nil, "alias %q is longer than 63 characters", f.Alias), path)
	}
	return nil
}
