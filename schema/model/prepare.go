package model

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Prepare makes next a complete, consistent successor of prev (nil or empty
// for a new tenant) and returns it as a new bundle; next is not modified.
//
//   - Objects and fields keep their identity through stable keys: a key
//     given in next names an existing object or field (so a changed name is
//     a rename); without one, the API name is matched; anything else is new
//     and gets a fresh key.
//   - Objects and fields of prev missing from next are removed: kept, with
//     their removal time, their data and their slots, until purged.
//     Giving a removed one's key again restores it.
//   - The JSON Schema keywords each kind implies (type, format, enum,
//     items) are filled in; contradicting ones are problems.
//   - Lookups and indexed and unique fields get storage slots.
//   - Everything is checked; every problem is reported with its JSON pointer.
func Prepare(prev, next *Bundle, now time.Time) (*Bundle, error) {
	if prev == nil {
		prev = &Bundle{Format: BundleFormat}
	}
	out, err := next.Clone()
	if err != nil {
		return nil, err
	}
	out.Format = BundleFormat
	now = now.UTC().Truncate(time.Second)
	var ps Problems
	prevByKey := map[string]*ObjectDef{}
	prevByName := map[string]*ObjectDef{}
	for _, o := range prev.Objects {
		prevByKey[o.Meta.Key] = o
		prevByName[o.Meta.APIName] = o
	}
	for _, o := range prev.RemovedObjects {
		prevByKey[o.Meta.Key] = o
	}
	seen := map[string]bool{}
	for i, o := range out.Objects {
		base := ptr("", "objects", i)
		var old *ObjectDef
		switch {
		case o.Meta.Key != "":
			old = prevByKey[o.Meta.Key] // nil: a key from another tenant's bundle, kept for the new object
		case prevByName[o.Meta.APIName] != nil:
			old = prevByName[o.Meta.APIName]
			o.Meta.Key = old.Meta.Key
		default:
			o.Meta.Key = uuid.NewString()
		}
		if seen[o.Meta.Key] {
			ps.add(ptr(base, "x-lattice-object", "key"), "duplicate_key", "object key %s is used twice", o.Meta.Key)
		}
		seen[o.Meta.Key] = true
		o.Meta.RemovedAt = nil
		prepareObject(old, o, base, now, &ps)
	}
	out.RemovedObjects = nil
	for _, o := range append(slices.Clone(prev.Objects), prev.RemovedObjects...) {
		if seen[o.Meta.Key] {
			continue
		}
		removed, err := cloneObject(o)
		if err != nil {
			return nil, err
		}
		if removed.Meta.RemovedAt == nil {
			removed.Meta.RemovedAt = &now
		}
		out.RemovedObjects = append(out.RemovedObjects, removed)
	}
	checkBundle(out, &ps)
	if len(ps) > 0 {
		return nil, ps
	}
	return out, nil
}

func prepareObject(old, o *ObjectDef, base string, now time.Time, ps *Problems) {
	o.Schema = JSONSchemaDialect
	o.Type = "object"
	no := false
	o.AdditionalProperties = &no
	if o.Title == "" {
		o.Title = labelOr(o.Meta.Label, o.Meta.APIName)
	}
	oldLive, oldRemoved := map[string]*Property{}, map[string]*Property{}
	oldByName := map[string]*Property{}
	if old != nil {
		for i := range old.Properties {
			p := &old.Properties[i]
			oldLive[p.Schema.Meta.Key] = p
			oldByName[p.Name] = p
		}
		for i := range old.Meta.RemovedFields {
			p := &old.Meta.RemovedFields[i]
			oldRemoved[p.Schema.Meta.Key] = p
		}
	}
	used := map[string]bool{}
	matched := map[string]bool{}
	for i := range o.Properties {
		p := &o.Properties[i]
		fbase := ptr(base, "properties", p.Name)
		meta := &p.Schema.Meta
		var prevField *Property
		switch {
		case meta.Key != "":
			prevField = oldLive[meta.Key]
			if prevField == nil {
				prevField = oldRemoved[meta.Key]
			}
		case oldByName[p.Name] != nil:
			prevField = oldByName[p.Name]
			meta.Key = prevField.Schema.Meta.Key
		default:
			meta.Key = newFieldKey()
		}
		if matched[meta.Key] {
			ps.add(ptr(fbase, "x-lattice-field", "key"), "duplicate_key", "field key %s is used twice in %s", meta.Key, o.Meta.APIName)
		}
		matched[meta.Key] = true
		meta.RemovedAt = nil
		meta.Slot, meta.UniqueSlot = "", ""
		if prevField != nil {
			pm := prevField.Schema.Meta
			meta.Slot, meta.UniqueSlot = pm.Slot, pm.UniqueSlot
			if pm.Kind != meta.Kind && !pm.Kind.CanChangeTo(meta.Kind) {
				ps.add(ptr(fbase, "x-lattice-field", "kind"), "kind_change",
					"%s cannot change from %s to %s: their values are stored differently", p.Name, pm.Kind, meta.Kind)
			}
			if pm.Kind == KindLookup && meta.Kind == KindLookup && pm.Target != meta.Target {
				ps.add(ptr(fbase, "x-lattice-field", "target"), "target_change",
					"%s cannot change its target from %s to %s; add a new lookup instead", p.Name, pm.Target, meta.Target)
			}
		}
		markUsed(used, meta)
		normalizeKeywords(p, fbase, ps)
	}
	// Fields of the old object not in the new one are removed; earlier
	// removals not restored now stay removed.
	o.Meta.RemovedFields = nil
	if old != nil {
		for _, list := range [][]Property{old.Properties, old.Meta.RemovedFields} {
			for _, p := range list {
				if matched[p.Schema.Meta.Key] {
					continue
				}
				rp := Property{Name: p.Name, Schema: cloneField(p.Schema)}
				if rp.Schema.Meta.RemovedAt == nil {
					rp.Schema.Meta.RemovedAt = &now
				}
				markUsed(used, &rp.Schema.Meta)
				o.Meta.RemovedFields = append(o.Meta.RemovedFields, rp)
			}
		}
	}
	for i := range o.Properties {
		p := &o.Properties[i]
		assignSlots(p, used, ptr(base, "properties", p.Name), o.Meta.APIName, ps)
	}
}

func markUsed(used map[string]bool, m *FieldMeta) {
	if m.Slot != "" {
		used[m.Slot] = true
	}
	if m.UniqueSlot != "" {
		used[m.UniqueSlot] = true
	}
}

// assignSlots gives a field the slots it needs and does not have yet. A
// slot stays with its field until the field is purged, even if the field
// stops being indexed, because its column still holds the field's values.
func assignSlots(p *Property, used map[string]bool, base, object string, ps *Problems) {
	m := &p.Schema.Meta
	info := kinds[m.Kind]
	needIndex := m.Kind == KindLookup || (m.Indexed && info.slot != 0)
	needUnique := (m.Unique && info.uniqueable) || m.Kind == KindAutoNumber
	if needIndex && m.Slot == "" {
		m.Slot = freeSlot(used, info.slot)
		if m.Slot == "" {
			ps.add(ptr(base, "x-lattice-field", "indexed"), "slots_exhausted",
				"%s already has %d indexed fields of this storage class (%c); un-index or remove one first (see docs/record-storage.md)",
				object, SlotCounts[info.slot], info.slot)
		}
	}
	if needUnique && m.UniqueSlot == "" {
		m.UniqueSlot = freeSlot(used, SlotUnique)
		if m.UniqueSlot == "" {
			ps.add(ptr(base, "x-lattice-field", "unique"), "slots_exhausted",
				"%s already has %d unique fields; remove one first (see docs/record-storage.md)", object, SlotCounts[SlotUnique])
		}
	}
}

func freeSlot(used map[string]bool, class byte) string {
	for i := 1; i <= SlotCounts[class]; i++ {
		s := fmt.Sprintf("%c%d", class, i)
		if !used[s] {
			used[s] = true
			return s
		}
	}
	return ""
}

// normalizeKeywords fills in the JSON Schema keywords a kind implies and
// reports contradicting ones.
func normalizeKeywords(p *Property, base string, ps *Problems) {
	f := p.Schema
	info, ok := kinds[f.Meta.Kind]
	if !ok {
		ps.add(ptr(base, "x-lattice-field", "kind"), "unknown_kind", "unknown kind %q", f.Meta.Kind)
		return
	}
	if f.Keywords == nil {
		f.Keywords = map[string]json.RawMessage{}
	}
	set := func(kw string, want any) {
		wantJSON, _ := json.Marshal(want)
		if got, ok := f.Keywords[kw]; ok && f.Meta.Kind != KindJSON {
			var g, w any
			_ = json.Unmarshal(got, &g)
			_ = json.Unmarshal(wantJSON, &w)
			if fmt.Sprint(g) != fmt.Sprint(w) {
				ps.add(ptr(base, kw), "keyword_conflict", "%s of a %s field must be %s, got %s", kw, f.Meta.Kind, wantJSON, got)
				return
			}
		}
		f.Keywords[kw] = wantJSON
	}
	if info.jsonType != "" {
		set("type", info.jsonType)
	}
	if info.format != "" {
		set("format", info.format)
	}
	switch f.Meta.Kind {
	case KindPicklist:
		set("enum", valueNames(f.Meta.Values))
	case KindMultiPicklist:
		set("items", map[string]any{"enum": valueNames(f.Meta.Values)})
		set("uniqueItems", true)
	case KindCurrency:
		set("required", []string{"amount", "currency"})
		set("properties", map[string]any{
			"amount":   map[string]any{"type": "number"},
			"currency": map[string]any{"type": "string", "pattern": "^[A-Z]{3}$"},
		})
		set("additionalProperties", false)
	case KindAutoNumber:
		set("readOnly", true)
	}
	if l := labelOr(f.Meta.Label, ""); l != "" {
		f.Keywords["title"], _ = json.Marshal(l)
	}
	if h := labelOr(f.Meta.HelpText, ""); h != "" {
		f.Keywords["description"], _ = json.Marshal(h)
	}
	allowed := map[Kind][]string{
		KindText: {"minLength", "maxLength", "pattern"}, KindLongText: {"minLength", "maxLength"},
		KindEmail: {"maxLength"}, KindPhone: {"maxLength"}, KindURL: {"maxLength"},
		KindInteger: {"minimum", "maximum"}, KindDecimal: {"minimum", "maximum"}, KindPercent: {"minimum", "maximum"},
		KindCurrency: {"minimum", "maximum"}, KindMultiPicklist: {"maxItems"},
		KindPicklist: {"enum"}, // checked against the values above; other kinds do not enforce enum
	}
	common := []string{"type", "format", "title", "description", "default", "examples", "items", "uniqueItems",
		"required", "properties", "additionalProperties", "readOnly", "deprecated", "$comment"}
	if f.Meta.Kind == KindJSON {
		return // any JSON Schema keyword describes the nested value
	}
	for kw := range f.Keywords {
		if !slices.Contains(common, kw) && !slices.Contains(allowed[f.Meta.Kind], kw) {
			ps.add(ptr(base, kw), "keyword_not_allowed", "%s does not apply to a %s field", kw, f.Meta.Kind)
		}
	}
}

func valueNames(vs []PicklistValue) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Value
	}
	return out
}

func labelOr(t Text, fallback string) string {
	if s := t["en"]; s != "" {
		return s
	}
	for _, k := range sortedKeys(t) {
		return t[k]
	}
	return fallback
}

// checkBundle checks what spans fields and objects.
func checkBundle(b *Bundle, ps *Problems) {
	names, plurals := map[string]bool{}, map[string]bool{}
	for i, o := range b.Objects {
		base := ptr("", "objects", i, "x-lattice-object")
		if names[o.Meta.APIName] {
			ps.add(ptr(base, "apiName"), "duplicate_name", "two objects are named %s", o.Meta.APIName)
		}
		names[o.Meta.APIName] = true
		plural := o.Meta.PluralAPIName
		if plural == "" {
			plural = DefaultPlural(o.Meta.APIName)
		}
		if plurals[plural] {
			ps.add(ptr(base, "pluralApiName"), "duplicate_name", "two objects have the plural name %s; set pluralApiName", plural)
		}
		plurals[plural] = true
	}
	for i, o := range b.Objects {
		checkObject(b, o, ptr("", "objects", i), ps)
	}
}

func checkObject(b *Bundle, o *ObjectDef, base string, ps *Problems) {
	fieldNames := map[string]bool{}
	for _, p := range o.Properties {
		fieldNames[p.Name] = true
	}
	if df := o.Meta.DisplayField; df != "" {
		p := o.Property(df)
		switch {
		case p == nil:
			ps.add(ptr(base, "x-lattice-object", "displayField"), "unknown_field", "display field %s is not a field of %s", df, o.Meta.APIName)
		case !slices.Contains([]Kind{KindText, KindEmail, KindPhone, KindAutoNumber, KindPicklist, KindURL}, p.Schema.Meta.Kind):
			ps.add(ptr(base, "x-lattice-object", "displayField"), "display_field_kind", "display field %s must be text-like, not %s", df, p.Schema.Meta.Kind)
		}
	}
	for i, r := range o.Required {
		if !fieldNames[r] {
			ps.add(ptr(base, "required", i), "unknown_field", "required field %s is not a field of %s", r, o.Meta.APIName)
		}
	}
	for _, p := range o.Properties {
		fbase := ptr(base, "properties", p.Name)
		m := p.Schema.Meta
		if IsSystemField(p.Name) {
			ps.add(fbase, "system_field", "%s is a system field of every record and cannot be defined", p.Name)
		}
		switch m.Kind {
		case KindLookup:
			t := b.Object(m.Target)
			if t == nil {
				ps.add(ptr(fbase, "x-lattice-field", "target"), "unknown_object", "lookup target %s is not an object of this schema", m.Target)
				break
			}
			if m.InverseName != "" {
				if t.Property(m.InverseName) != nil || IsSystemField(m.InverseName) {
					ps.add(ptr(fbase, "x-lattice-field", "inverseName"), "name_clash", "inverse name %s clashes with a field of %s", m.InverseName, t.Meta.APIName)
				}
				for _, other := range b.Objects {
					for _, op := range other.Properties {
						om := op.Schema.Meta
						if om.Kind == KindLookup && om.Target == m.Target && om.InverseName == m.InverseName && (other != o || op.Name != p.Name) {
							ps.add(ptr(fbase, "x-lattice-field", "inverseName"), "duplicate_name",
								"inverse name %s is also used by %s.%s on %s", m.InverseName, other.Meta.APIName, op.Name, m.Target)
						}
					}
				}
			}
			if m.OnDelete == OnDeleteSetNull && slices.Contains(o.Required, p.Name) {
				ps.add(ptr(fbase, "x-lattice-field", "onDelete"), "set_null_required", "%s is required, so it cannot be set to null when its target is deleted", p.Name)
			}
		case KindPicklist, KindMultiPicklist:
			seen := map[string]bool{}
			for j, v := range m.Values {
				if seen[v.Value] {
					ps.add(ptr(fbase, "x-lattice-field", "values", j, "value"), "duplicate_value", "picklist value %q appears twice", v.Value)
				}
				seen[v.Value] = true
			}
		case KindCurrency:
			for j, c := range m.Currencies {
				if !IsCurrency(c) {
					ps.add(ptr(fbase, "x-lattice-field", "currencies", j), "currency", "%s is not an ISO 4217 currency code", c)
				}
			}
		}
		if m.Kind == KindAutoNumber && slices.Contains(o.Required, p.Name) {
			ps.add(fbase, "required_auto", "%s is numbered automatically; do not list it as required", p.Name)
		}
		checkFieldCompiles(p, fbase, ps)
	}
}

// checkFieldCompiles compiles the field alone, which checks its pattern,
// bounds and default the way records will be checked.
func checkFieldCompiles(p Property, base string, ps *Problems) {
	m := &Model{byName: map[string]*Object{}}
	f, err := compileField(m, p.Name, p.Schema, false)
	if err != nil {
		code := "invalid_keyword"
		switch msg := err.Error(); {
		case strings.HasPrefix(msg, "default"):
			base, code = ptr(base, "default"), "invalid_default"
		default:
			for _, kw := range []string{"pattern", "minLength", "maxLength", "maxItems", "minimum", "maximum"} {
				if strings.HasPrefix(msg, kw) {
					base = ptr(base, kw)
					break
				}
			}
		}
		ps.add(base, code, "%v", err)
		return
	}
	if f.MinLength != nil && f.MaxLength != nil && *f.MinLength > *f.MaxLength {
		ps.add(ptr(base, "minLength"), "invalid_bounds", "minLength %d is greater than maxLength %d", *f.MinLength, *f.MaxLength)
	}
	if f.Minimum != nil && f.Maximum != nil && f.Minimum.Cmp(f.Maximum) > 0 {
		ps.add(ptr(base, "minimum"), "invalid_bounds", "minimum %s is greater than maximum %s", f.Minimum.RatString(), f.Maximum.RatString())
	}
}

func cloneField(f *FieldDef) *FieldDef {
	data, _ := json.Marshal(f)
	var out FieldDef
	_ = json.Unmarshal(data, &out)
	return &out
}

func cloneObject(o *ObjectDef) (*ObjectDef, error) {
	data, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("copy object %s: %w", o.Meta.APIName, err)
	}
	var out ObjectDef
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("copy object %s: %w", o.Meta.APIName, err)
	}
	return &out, nil
}

// newFieldKey returns a short random key such as "f_k3x9q2m7ab".
func newFieldKey() string {
	return "f_" + strings.ToLower(rand.Text()[:10])
}
