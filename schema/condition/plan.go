package condition

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/model"
)

// A compiled condition is a tree of nodes. Each node evaluates itself in Go
// (eval) and renders itself as SQL (sql); both follow the same rule for
// missing values, so they always agree. Nothing in the tree knows the
// records table except through storage.go.
type node interface {
	eval(r *Record, e evalCtx) bool
	sql(b *sqlBuilder, alias string)
}

// leaf is a positive test on one value of a record: false whenever the
// value is missing. Negated operators (ne, notIn, isNull true) are a leaf
// under a cmpNode with neg set.
type leaf interface {
	test(r *Record, e evalCtx) bool
	sql(b *sqlBuilder, alias string)
}

// evalCtx is what one evaluation carries down the tree: passed by value,
// so evaluating allocates nothing.
type evalCtx struct {
	src Source
	now time.Time // where withinLast windows end
}

// op is an operator.
type op uint8

const (
	opEq op = iota + 1
	opNe
	opIn
	opNotIn
	opLt
	opLte
	opGt
	opGte
	opContains
	opStartsWith
	opIsNull
	opWithinLast
	opPresent // internal: isNull false
)

var opNames = []string{opEq: "eq", opNe: "ne", opIn: "in", opNotIn: "notIn", opLt: "lt", opLte: "lte", opGt: "gt", opGte: "gte",
	opContains: "contains", opStartsWith: "startsWith", opIsNull: "isNull", opWithinLast: "withinLast", opPresent: "present"}

func (o op) String() string { return opNames[o] }

func parseOp(s string) (op, bool) {
	for i, n := range opNames {
		if n == s && op(i) != opPresent && i > 0 {
			return op(i), true
		}
	}
	return 0, false
}

// sqlCmp is the SQL operator of an ordering or equality op.
func (o op) sqlCmp() string {
	switch o {
	case opEq:
		return "="
	case opNe:
		return "<>"
	case opLt:
		return "<"
	case opLte:
		return "<="
	case opGt:
		return ">"
	case opGte:
		return ">="
	}
	panic("condition: no SQL comparison for " + o.String())
}

// cmpResult applies an ordering or equality op to a comparison result c
// (-1, 0, +1).
func (o op) cmpResult(c int) bool {
	switch o {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLte:
		return c <= 0
	case opGt:
		return c > 0
	case opGte:
		return c >= 0
	}
	return false
}

func cmpString(a, b string) int { return strings.Compare(a, b) }

// class groups what values compare alike; it decides the operators a
// field allows and how its values are read and rendered.
type class uint8

const (
	clsText     class = iota + 1 // strings in byte order
	clsPicklist                  // a string of a picklist; ordering follows the picklist's order
	clsMulti                     // a set of picklist strings
	clsNumber                    // exact decimal numbers
	clsBool                      // true or false
	clsDate                      // "YYYY-MM-DD"
	clsDatetime                  // RFC 3339 text in UTC (a datetime field)
	clsInstant                   // a timestamp column (createdAt, updatedAt)
	clsID                        // a record id (lookup values, id)
	clsOwner                     // a user id (owner)
	clsJSON                      // any JSON
)

var classNames = []string{clsText: "text", clsPicklist: "picklist", clsMulti: "multiPicklist", clsNumber: "number", clsBool: "boolean",
	clsDate: "date", clsDatetime: "datetime", clsInstant: "datetime", clsID: "id", clsOwner: "user id", clsJSON: "json"}

func (c class) String() string { return classNames[c] }

// classOps lists the operators each class allows: the table of
// docs/conditions.md (a test checks they agree).
var classOps = map[class][]op{
	clsText:     {opEq, opNe, opIn, opNotIn, opLt, opLte, opGt, opGte, opContains, opStartsWith, opIsNull},
	clsPicklist: {opEq, opNe, opIn, opNotIn, opLt, opLte, opGt, opGte, opContains, opStartsWith, opIsNull},
	clsMulti:    {opEq, opNe, opIn, opNotIn, opContains, opIsNull},
	clsNumber:   {opEq, opNe, opIn, opNotIn, opLt, opLte, opGt, opGte, opIsNull},
	clsBool:     {opEq, opNe, opIn, opNotIn, opIsNull},
	clsDate:     {opEq, opNe, opIn, opNotIn, opLt, opLte, opGt, opGte, opIsNull, opWithinLast},
	clsDatetime: {opEq, opNe, opIn, opNotIn, opLt, opLte, opGt, opGte, opIsNull, opWithinLast},
	clsInstant:  {opEq, opNe, opIn, opNotIn, opLt, opLte, opGt, opGte, opIsNull, opWithinLast},
	clsID:       {opEq, opNe, opIn, opNotIn, opIsNull},
	clsOwner:    {opEq, opNe, opIn, opNotIn, opIsNull},
	clsJSON:     {opIsNull},
}

func (c class) allows(o op) bool {
	for _, x := range classOps[c] {
		if x == o {
			return true
		}
	}
	return false
}

func (c class) opList() string {
	names := make([]string, len(classOps[c]))
	for i, o := range classOps[c] {
		names[i] = o.String()
	}
	return strings.Join(names, ", ")
}

// kindClass is the class of a field kind.
func kindClass(k model.Kind) class {
	switch k {
	case model.KindText, model.KindLongText, model.KindEmail, model.KindPhone, model.KindURL, model.KindAutoNumber:
		return clsText
	case model.KindPicklist:
		return clsPicklist
	case model.KindMultiPicklist:
		return clsMulti
	case model.KindInteger, model.KindDecimal, model.KindPercent, model.KindCurrency:
		return clsNumber
	case model.KindBoolean:
		return clsBool
	case model.KindDate:
		return clsDate
	case model.KindDateTime:
		return clsDatetime
	case model.KindLookup:
		return clsID
	default:
		return clsJSON
	}
}

// access says where an operand's value lives.
type access uint8

const (
	accData     access = iota + 1 // the field's value
	accAmount                     // the amount of a currency field
	accCurrency                   // the currency code of a currency field
	accID
	accOwner
	accVersion
	accScore
	accGrade
	accCreatedAt
	accUpdatedAt
)

// systemOperands are the system fields conditions can test.
var systemOperands = map[string]operand{
	"id":        {acc: accID, cls: clsID, name: "id"},
	"createdAt": {acc: accCreatedAt, cls: clsInstant, name: "createdAt"},
	"updatedAt": {acc: accUpdatedAt, cls: clsInstant, name: "updatedAt"},
	"owner":     {acc: accOwner, cls: clsOwner, name: "owner"},
	"version":   {acc: accVersion, cls: clsNumber, name: "version"},
	"score":     {acc: accScore, cls: clsNumber, name: "score"},
	"grade":     {acc: accGrade, cls: clsText, name: "grade"},
}

// operand is one value of a record that a leaf tests.
type operand struct {
	acc  access
	f    *model.Field // for accData, accAmount, accCurrency
	cls  class
	name string // for messages: the path's last part
}

// str reads a string value.
func (o *operand) str(r *Record) (string, bool) {
	switch o.acc {
	case accData:
		s, ok := r.Values[o.f.Key].(string)
		return s, ok
	case accCurrency:
		m, ok := r.Values[o.f.Key].(map[string]any)
		if !ok {
			return "", false
		}
		s, ok := m["currency"].(string)
		return s, ok
	case accGrade:
		if r.Grade == nil {
			return "", false
		}
		return *r.Grade, true
	case accID:
		return r.ID, true
	case accOwner:
		return r.Owner, r.Owner != ""
	}
	return "", false
}

// num reads a number.
func (o *operand) num(r *Record) (dec, bool) {
	switch o.acc {
	case accData:
		if n, ok := r.Values[o.f.Key].(json.Number); ok {
			return parseDec(string(n))
		}
	case accAmount:
		if m, ok := r.Values[o.f.Key].(map[string]any); ok {
			if n, ok := m["amount"].(json.Number); ok {
				return parseDec(string(n))
			}
		}
	case accScore:
		if r.Score != nil {
			return parseDec(string(*r.Score))
		}
	case accVersion:
		return decInt(int64(r.Version)), true
	}
	return dec{}, false
}

// present reports whether the operand has a value (the opposite of isNull).
func (o *operand) present(r *Record) bool {
	switch o.acc {
	case accData:
		v := r.Values[o.f.Key]
		if o.cls == clsMulti {
			a, ok := v.([]any)
			return ok && len(a) > 0
		}
		if o.cls == clsJSON {
			return v != nil
		}
		switch v.(type) {
		case string, json.Number, bool:
			return true
		}
		return false
	case accAmount:
		_, ok := o.num(r)
		return ok
	case accCurrency, accGrade, accOwner:
		_, ok := o.str(r)
		return ok
	case accScore:
		return r.Score != nil
	}
	return true // id, version, createdAt, updatedAt
}
