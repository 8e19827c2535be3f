package condition

import (
	"github.com/latticecrm/lattice/schema/model"
)

// This file is the only place that knows how records are stored (see
// docs/record-storage.md): which column or JSONB expression holds an
// operand, with which SQL type, and how a record reaches the records its
// lookups point at and the records pointing at it. The rest of the package
// speaks of operands and relations only.

// colType is the SQL type an operand's expression has, which decides how
// literals are bound and compared.
type colType uint8

const (
	ctText        colType = iota + 1 // text; ordering uses COLLATE "C"
	ctNumeric                        // numeric
	ctTimestamptz                    // a timestamp slot or column
	ctUUID                           // uuid
	ctBoolNumeric                    // a numeric slot holding 1 (true) or 0 (false)
	ctBoolText                       // 'true' or 'false', from JSONB
	ctJSONB                          // a JSONB value
)

// col is an operand as SQL.
type col struct {
	x       string
	typ     colType
	bare    bool // a plain column: predicates on it are written so an index can serve them
	notNull bool // never NULL
}

// column resolves an operand of the row aliased alias.
func (b *sqlBuilder) column(alias string, o *operand) col {
	switch o.acc {
	case accID:
		return col{x: alias + ".id", typ: ctUUID, bare: true, notNull: true}
	case accOwner:
		// The record store writes owners lower-cased and never empty
		// (migration 00007 normalised older rows), so the bare column
		// compares like the Go evaluator and the owner index serves it.
		return col{x: alias + ".owner_id", typ: ctText, bare: true}
	case accVersion:
		return col{x: alias + ".version", typ: ctNumeric, bare: true, notNull: true}
	case accScore:
		return col{x: alias + ".score", typ: ctNumeric, bare: true}
	case accGrade:
		return col{x: alias + ".grade", typ: ctText, bare: true}
	case accCreatedAt:
		return col{x: alias + ".created_at", typ: ctTimestamptz, bare: true, notNull: true}
	case accUpdatedAt:
		return col{x: alias + ".updated_at", typ: ctTimestamptz, bare: true, notNull: true}
	case accCurrency:
		return col{x: "(" + alias + ".data->" + b.key(o.f.Key) + "->>'currency')", typ: ctText}
	case accAmount:
		if slot, ok := slotOf(o.f, model.SlotNumeric); ok {
			return col{x: alias + "." + slot, typ: ctNumeric, bare: true}
		}
		return col{x: "((" + alias + ".data->" + b.key(o.f.Key) + "->>'amount')::numeric)", typ: ctNumeric}
	}
	f := o.f
	// text binds the key, so only when used: every bound parameter must
	// appear in the SQL, or PostgreSQL cannot type it.
	text := func() string { return "(" + alias + ".data->>" + b.key(f.Key) + ")" }
	switch o.cls {
	case clsText, clsPicklist:
		if slot, ok := slotOf(f, model.SlotText); ok {
			return col{x: alias + "." + slot, typ: ctText, bare: true}
		}
		return col{x: text(), typ: ctText}
	case clsNumber:
		if slot, ok := slotOf(f, model.SlotNumeric); ok {
			return col{x: alias + "." + slot, typ: ctNumeric, bare: true}
		}
		return col{x: "(" + text() + "::numeric)", typ: ctNumeric}
	case clsBool:
		if slot, ok := slotOf(f, model.SlotNumeric); ok {
			return col{x: alias + "." + slot, typ: ctBoolNumeric, bare: true}
		}
		return col{x: text(), typ: ctBoolText}
	case clsDate:
		if slot, ok := slotOf(f, model.SlotTimestamp); ok {
			return col{x: alias + "." + slot, typ: ctTimestamptz, bare: true}
		}
		return col{x: text(), typ: ctText} // "YYYY-MM-DD": text order is date order
	case clsDatetime:
		if slot, ok := slotOf(f, model.SlotTimestamp); ok {
			return col{x: alias + "." + slot, typ: ctTimestamptz, bare: true}
		}
		return col{x: dtKeySQL(text()), typ: ctText}
	case clsID:
		if slot, ok := slotOf(f, model.SlotReference); ok {
			return col{x: alias + "." + slot, typ: ctUUID, bare: true}
		}
		return col{x: "lower(" + text() + ` COLLATE "C")`, typ: ctText}
	}
	return col{x: "(" + alias + ".data->" + b.key(f.Key) + ")", typ: ctJSONB}
}

// uniqueSlot returns the unique slot serving equality on f: a unique
// text-like field without a text slot. It holds the value itself, or for
// e-mail addresses the value in lower case (model.Field.UniqueValue).
func uniqueSlot(f *model.Field) (string, bool) {
	if f == nil || !f.Unique || f.Slot != "" {
		return "", false
	}
	switch f.Kind {
	case model.KindText, model.KindEmail, model.KindPhone, model.KindURL, model.KindAutoNumber:
		return validSlot(f.UniqueSlot, model.SlotUnique)
	}
	return "", false
}

// slotOf returns f's slot column if it is a well-formed slot of the class.
func slotOf(f *model.Field, class byte) (string, bool) { return validSlot(f.Slot, class) }

// validSlot checks a slot column name of the class before it is written
// into SQL.
func validSlot(s string, class byte) (string, bool) {
	if len(s) < 2 || len(s) > 3 || s[0] != class {
		return "", false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return "", false
		}
	}
	return s, true
}

// lookupTarget renders the id a lookup of the row aliased alias points at.
func (b *sqlBuilder) lookupTarget(alias string, f *model.Field) string {
	if slot, ok := slotOf(f, model.SlotReference); ok {
		return alias + "." + slot
	}
	return "(" + alias + ".data->>" + b.key(f.Key) + ")::uuid"
}

// liveRecord renders the scope of a subquery row aliased x: a live record
// of object o in the tenant of the row aliased outer.
func (b *sqlBuilder) liveRecord(x, outer string, o *model.Object) string {
	return "FROM records " + x + " WHERE " + x + ".tenant_id = " + outer + ".tenant_id AND " + x + ".object_id = " +
		b.objectID(o.Key) + " AND " + x + ".deleted_at IS NULL"
}

// tagsColumn is the record's tags (text[], never NULL).
func tagsColumn(alias string) string { return alias + ".tags" }
