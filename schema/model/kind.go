package model

// Kind is a field kind: what values a field holds and how they are stored.
type Kind string

// The field kinds.
const (
	KindText          Kind = "text"          // a line of text; maxLength defaults to 255
	KindLongText      Kind = "longText"      // multi-line text; maxLength defaults to 131072; not indexable
	KindInteger       Kind = "integer"       // a 64-bit integer
	KindDecimal       Kind = "decimal"       // a decimal number with at most scale (default 2) decimals
	KindCurrency      Kind = "currency"      // {"amount": decimal, "currency": ISO 4217 code}
	KindPercent       Kind = "percent"       // a decimal number of percent (12.5 means 12.5 %)
	KindBoolean       Kind = "boolean"       // true or false
	KindDate          Kind = "date"          // "2026-11-23"
	KindDateTime      Kind = "datetime"      // RFC 3339, stored in UTC
	KindEmail         Kind = "email"         // an e-mail address; unique comparison ignores case
	KindPhone         Kind = "phone"         // a phone number: digits, spaces, + ( ) - .
	KindURL           Kind = "url"           // an absolute http or https URL
	KindPicklist      Kind = "picklist"      // one of the defined values
	KindMultiPicklist Kind = "multiPicklist" // a set of the defined values; not indexable
	KindLookup        Kind = "lookup"        // the id of a record of the target object
	KindJSON          Kind = "json"          // any JSON, optionally checked by the field's own JSON Schema keywords
	KindAutoNumber    Kind = "autoNumber"    // generated on create from a format such as "LEAD-{0000}"; read-only
)

// Slot classes: the typed columns of the records table that serve indexed,
// unique and lookup fields (see docs/record-storage.md).
const (
	SlotNumeric   = 'n'
	SlotText      = 's'
	SlotTimestamp = 't'
	SlotReference = 'r'
	SlotUnique    = 'u'
)

// SlotCounts is how many slots of each class the records table has; an
// object can index at most this many fields of a class.
var SlotCounts = map[byte]int{SlotNumeric: 8, SlotText: 8, SlotTimestamp: 4, SlotReference: 8, SlotUnique: 4}

// kindInfo is what the rest of the package needs to know of a kind.
type kindInfo struct {
	jsonType   string // the JSON Schema type of its values
	format     string // the JSON Schema format, if any
	slot       byte   // slot class when indexed (0: not indexable)
	uniqueable bool   // may be unique (served by a unique text slot)
}

var kinds = map[Kind]kindInfo{
	KindText:          {jsonType: "string", slot: SlotText, uniqueable: true},
	KindLongText:      {jsonType: "string"},
	KindInteger:       {jsonType: "integer", slot: SlotNumeric, uniqueable: true},
	KindDecimal:       {jsonType: "number", slot: SlotNumeric},
	KindCurrency:      {jsonType: "object", slot: SlotNumeric},
	KindPercent:       {jsonType: "number", slot: SlotNumeric},
	KindBoolean:       {jsonType: "boolean", slot: SlotNumeric},
	KindDate:          {jsonType: "string", format: "date", slot: SlotTimestamp},
	KindDateTime:      {jsonType: "string", format: "date-time", slot: SlotTimestamp},
	KindEmail:         {jsonType: "string", format: "email", slot: SlotText, uniqueable: true},
	KindPhone:         {jsonType: "string", slot: SlotText, uniqueable: true},
	KindURL:           {jsonType: "string", format: "uri", slot: SlotText, uniqueable: true},
	KindPicklist:      {jsonType: "string", slot: SlotText},
	KindMultiPicklist: {jsonType: "array"},
	KindLookup:        {jsonType: "string", format: "uuid", slot: SlotReference},
	KindJSON:          {},
	KindAutoNumber:    {jsonType: "string", uniqueable: true},
}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { _, ok := kinds[k]; return ok }

// Indexable reports whether fields of kind k can be indexed.
func (k Kind) Indexable() bool { return kinds[k].slot != 0 }

// representation groups kinds whose stored JSON values look alike, so a
// field can change between them if every stored value passes the new kind's
// checks (e.g. text to picklist); changes across groups are refused.
func (k Kind) representation() string {
	switch k {
	case KindText, KindLongText, KindEmail, KindPhone, KindURL, KindPicklist:
		return "string"
	case KindInteger, KindDecimal, KindPercent:
		return "number"
	default:
		return string(k)
	}
}

// CanChangeTo reports whether a field of kind k may become kind to, provided
// every stored value passes to's checks.
func (k Kind) CanChangeTo(to Kind) bool { return k.representation() == to.representation() }

// SlotSQLType is the PostgreSQL type of a slot column ("n3" is numeric).
func SlotSQLType(slot string) string {
	if slot == "" {
		return "text"
	}
	switch slot[0] {
	case SlotNumeric:
		return "numeric"
	case SlotTimestamp:
		return "timestamptz"
	case SlotReference:
		return "uuid"
	default:
		return "text"
	}
}
