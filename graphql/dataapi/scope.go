package dataapi

import (
	"encoding/json"

	"github.com/latticecrm/lattice/schema/model"
)

// Scope is what one caller may see and do. The generated schema and every
// plan take it, so the permissions layer decides it once per caller and the
// planner never needs to know where it came from. The zero Scope allows
// everything.
type Scope struct {
	// Key identifies the scope in caches: two callers with equal keys must
	// have equal scopes. "" is the unrestricted scope.
	Key string
	// ReadObject reports whether the caller may read records of o; an
	// object it may not read is absent from the caller's schema. nil allows
	// every object.
	ReadObject func(o *model.Object) bool
	// Allow reports whether the caller may act on o's records: "create"
	// (create mutations), "update" (update and tag mutations), "delete"
	// (delete and restore mutations); an upsert needs create and update.
	// A mutation the caller may not run is absent from their schema. nil
	// allows every action on every readable object.
	Allow func(o *model.Object, action string) bool
	// ReadField reports whether the caller may read f of o; a field it may
	// not read is absent from the schema, so it can be neither selected,
	// filtered, sorted, grouped nor aggregated on. nil allows every field.
	ReadField func(o *model.Object, f *model.Field) bool
	// EditField reports whether the caller may set f of o; a field it may
	// not edit is absent from the input types. nil allows every readable
	// field.
	EditField func(o *model.Object, f *model.Field) bool
	// Records returns a condition (docs/conditions.md) every record of o
	// the caller reaches must meet, on every access path: lists, by id,
	// nodes, lookups, related lists, aggregates and bulk writes, and
	// filters (through a lookup, a record outside it counts as missing;
	// over a related list, only records meeting it count). A lookup
	// filter into an object whose condition tests tags or related lists
	// cannot say that and is refused (FORBIDDEN). A write whose result
	// falls outside it is reported as FORBIDDEN after the write. nil, or
	// a nil result, restricts nothing. It is taken from each caller, never
	// from a schema cached for another caller with the same Key.
	Records func(o *model.Object) json.RawMessage
	// RecordsKey identifies Records (and WriteRecords, if set): two scopes
	// with equal Key and equal RecordsKey give equal record predicates for
	// every object, so they share compiled query plans. "" with a non-nil
	// Records means unknown: that caller's plans are not kept.
	RecordsKey string
}

func (s *Scope) readObject(o *model.Object) bool {
	return o != nil && (s.ReadObject == nil || s.ReadObject(o))
}

// allow reports whether the caller may act on o's records.
func (s *Scope) allow(o *model.Object, action string) bool {
	return s.readObject(o) && (s.Allow == nil || s.Allow(o, action))
}

// readField reports whether f is visible: readable itself and, for a
// lookup, pointing at a readable object.
func (s *Scope) readField(o *model.Object, f *model.Field) bool {
	if s.ReadField != nil && !s.ReadField(o, f) {
		return false
	}
	if f.Kind == model.KindLookup {
		return s.readObject(f.Target)
	}
	return true
}

func (s *Scope) editField(o *model.Object, f *model.Field) bool {
	if f.Kind == model.KindAutoNumber || !s.readField(o, f) {
		return false
	}
	return s.EditField == nil || s.EditField(o, f)
}

// readInverse reports whether a related list is visible: its object and
// the lookup that makes it readable.
func (s *Scope) readInverse(inv *model.Inverse) bool {
	return s.readObject(inv.From) && s.readField(inv.From, inv.Field)
}
