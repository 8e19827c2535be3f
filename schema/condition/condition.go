package condition

import (
	"encoding/json"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// Condition is a compiled condition on the records of one object. It is
// immutable and safe for concurrent use; compile it once per model version
// and keep it.
type Condition struct {
	obj  *model.Object
	root node
	raw  json.RawMessage
	src  bool // needs a Source (lookup hops or related lists)
	time bool // has a withinLast window, which ends at the time of use
}

// Object returns the object the condition is about.
func (c *Condition) Object() *model.Object { return c.obj }

// UsesSource reports whether evaluating the condition looks at other
// records (lookup hops or related lists), i.e. needs a Source.
func (c *Condition) UsesSource() bool { return c.src }

// UsesTime reports whether the condition's meaning depends on when it is
// used (a withinLast window), so its SQL, which binds the window's ends,
// must not be reused at a later time.
func (c *Condition) UsesTime() bool { return c.time }

// MarshalJSON returns the condition's JSON form as it was compiled.
func (c *Condition) MarshalJSON() ([]byte, error) { return c.raw, nil }

// String returns the condition's JSON form.
func (c *Condition) String() string { return string(c.raw) }

// Record is what the evaluator reads of a record: its field values by
// field key (normalized as schema/model stores them: json.Number numbers,
// "YYYY-MM-DD" dates, RFC 3339 UTC datetimes, lowercase lookup ids, ...)
// and the system fields conditions can test.
type Record struct {
	ID     string
	Values model.Values
	Tags   []string
	// Score is nil when the record has no score.
	Score *json.Number
	// Grade is nil when the record has no grade.
	Grade     *string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Owner is the owner's user id, "" for none.
	Owner   string
	Version int
}

// Source gives the evaluator the other records a condition can reach. It
// returns live records only: never soft-deleted ones. A Source that cannot
// answer (a failed query, say) should answer nil and report its error to
// its caller by its own means; the evaluator then sees no record.
type Source interface {
	// Record returns the live record of object o with the given id, or nil.
	Record(o *model.Object, id string) *Record
	// Related returns the live records of inv.From whose lookup inv.Field
	// holds id (the related list inv.Name of the record id).
	Related(inv *model.Inverse, id string) []*Record
}

// Eval reports whether r, a live record of the condition's object, meets
// the condition at time now (for withinLast). src resolves lookups and
// related lists; with a nil src, lookup hops find no record and related
// lists are empty. Eval never fails: missing values follow the null rule
// of docs/conditions.md, exactly as SQL does.
func (c *Condition) Eval(r *Record, src Source, now time.Time) bool {
	return c.root.eval(r, evalCtx{src: src, now: now})
}

// SQL renders the condition as one parameterised boolean predicate over
// a row of the records table aliased alias (a plain identifier), whose
// object is the condition's object. Parameters are numbered from
// firstParam; args are their values, in order. now is the time withinLast
// windows end at; it is bound as parameters, like every value, object id
// and field key. The predicate is never NULL. Subqueries use the aliases
// alias_1, alias_2, ...
//
// The caller scopes the statement: tenant_id, object_id and deleted_at IS
// NULL for the row itself (subqueries scope their own rows). SQL panics if
// alias is not an identifier or firstParam < 1: both are programming errors.
func (c *Condition) SQL(alias string, firstParam int, now time.Time) (string, []any) {
	if !isIdent(alias) {
		panic("condition: SQL alias " + alias + " is not a plain identifier")
	}
	if firstParam < 1 {
		panic("condition: SQL parameters are numbered from 1")
	}
	b := newSQLBuilder(alias, firstParam, now)
	c.root.sql(b, alias)
	return b.buf.String(), b.args
}

func isIdent(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
