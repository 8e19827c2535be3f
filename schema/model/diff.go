package model

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Change is one difference between two versions of a schema.
type Change struct {
	// Op is object.added, object.removed, object.restored, object.renamed,
	// object.changed, field.added, field.removed, field.restored,
	// field.renamed, field.changed or field.kindChanged.
	Op string `json:"op"`
	// Object is the object's API name (its new name for a rename).
	Object string `json:"object"`
	// Field is the field's API name, for field changes.
	Field string `json:"field,omitempty"`
	// Detail says what changed, readable by people.
	Detail string `json:"detail"`
}

func (c Change) String() string {
	target := c.Object
	if c.Field != "" {
		target += "." + c.Field
	}
	return fmt.Sprintf("%-20s %-30s %s", c.Op, target, c.Detail)
}

// Diff lists what changed from a to b, matching objects and fields by key.
func Diff(a, b *Bundle) []Change {
	if a == nil {
		a = &Bundle{}
	}
	if b == nil {
		b = &Bundle{}
	}
	var out []Change
	aLive, aRemoved := objectsByKey(a.Objects), objectsByKey(a.RemovedObjects)
	bLive := objectsByKey(b.Objects)
	for _, bo := range b.Objects {
		name := bo.Meta.APIName
		ao, wasLive := aLive[bo.Meta.Key]
		if !wasLive {
			if _, was := aRemoved[bo.Meta.Key]; was {
				out = append(out, Change{Op: "object.restored", Object: name, Detail: "restored with its records"})
				ao = aRemoved[bo.Meta.Key]
			} else {
				out = append(out, Change{Op: "object.added", Object: name, Detail: fmt.Sprintf("%d fields", len(bo.Properties))})
				continue
			}
		}
		if ao.Meta.APIName != name {
			out = append(out, Change{Op: "object.renamed", Object: name, Detail: fmt.Sprintf("renamed from %s", ao.Meta.APIName)})
		}
		if d := metaChanges(ao, bo); d != "" {
			out = append(out, Change{Op: "object.changed", Object: name, Detail: d})
		}
		out = append(out, fieldChanges(ao, bo)...)
	}
	for _, ao := range a.Objects {
		if _, still := bLive[ao.Meta.Key]; !still {
			out = append(out, Change{Op: "object.removed", Object: ao.Meta.APIName, Detail: "removed; records kept until purged"})
		}
	}
	return out
}

func objectsByKey(os []*ObjectDef) map[string]*ObjectDef {
	m := make(map[string]*ObjectDef, len(os))
	for _, o := range os {
		m[o.Meta.Key] = o
	}
	return m
}

func metaChanges(a, b *ObjectDef) string {
	var parts []string
	if !jsonEqual(a.Meta.Label, b.Meta.Label) || !jsonEqual(a.Meta.PluralLabel, b.Meta.PluralLabel) {
		parts = append(parts, "labels")
	}
	if a.Meta.PluralAPIName != b.Meta.PluralAPIName {
		parts = append(parts, fmt.Sprintf("plural name %q -> %q", a.Meta.PluralAPIName, b.Meta.PluralAPIName))
	}
	if a.Meta.DisplayField != b.Meta.DisplayField {
		parts = append(parts, fmt.Sprintf("display field %q -> %q", a.Meta.DisplayField, b.Meta.DisplayField))
	}
	if !jsonEqual(a.Meta.Description, b.Meta.Description) || a.Description != b.Description {
		parts = append(parts, "description")
	}
	if !slices.Equal(sortedCopy(a.Required), sortedCopy(b.Required)) {
		parts = append(parts, fmt.Sprintf("required %v -> %v", a.Required, b.Required))
	}
	return join(parts)
}

func fieldChanges(a, b *ObjectDef) []Change {
	var out []Change
	obj := b.Meta.APIName
	aLive, aRemoved := map[string]Property{}, map[string]Property{}
	for _, p := range a.Properties {
		aLive[p.Schema.Meta.Key] = p
	}
	for _, p := range a.Meta.RemovedFields {
		aRemoved[p.Schema.Meta.Key] = p
	}
	bKeys := map[string]bool{}
	for _, bp := range b.Properties {
		bKeys[bp.Schema.Meta.Key] = true
		ap, was := aLive[bp.Schema.Meta.Key]
		if !was {
			if rp, removed := aRemoved[bp.Schema.Meta.Key]; removed {
				out = append(out, Change{Op: "field.restored", Object: obj, Field: bp.Name, Detail: "restored with its values"})
				ap = rp
			} else {
				out = append(out, Change{Op: "field.added", Object: obj, Field: bp.Name, Detail: string(bp.Schema.Meta.Kind)})
				continue
			}
		}
		if ap.Name != bp.Name {
			out = append(out, Change{Op: "field.renamed", Object: obj, Field: bp.Name, Detail: fmt.Sprintf("renamed from %s", ap.Name)})
		}
		am, bm := ap.Schema.Meta, bp.Schema.Meta
		if am.Kind != bm.Kind {
			out = append(out, Change{Op: "field.kindChanged", Object: obj, Field: bp.Name, Detail: fmt.Sprintf("%s -> %s", am.Kind, bm.Kind)})
		}
		var parts []string
		if !jsonEqual(am.Label, bm.Label) || !jsonEqual(am.HelpText, bm.HelpText) {
			parts = append(parts, "labels")
		}
		if am.Indexed != bm.Indexed {
			parts = append(parts, fmt.Sprintf("indexed %v -> %v", am.Indexed, bm.Indexed))
		}
		if am.Unique != bm.Unique {
			parts = append(parts, fmt.Sprintf("unique %v -> %v", am.Unique, bm.Unique))
		}
		if !jsonEqual(am.Values, bm.Values) {
			parts = append(parts, "picklist values")
		}
		if am.OnDelete != bm.OnDelete || am.InverseName != bm.InverseName {
			parts = append(parts, "lookup options")
		}
		if !jsonEqual(am.Currencies, bm.Currencies) || !jsonEqual(am.Scale, bm.Scale) || am.Format != bm.Format {
			parts = append(parts, "options")
		}
		for _, kw := range sortedKeys(union(ap.Schema.Keywords, bp.Schema.Keywords)) {
			if kw == "title" || kw == "description" || kw == "enum" || kw == "items" {
				continue
			}
			if string(ap.Schema.Keywords[kw]) != string(bp.Schema.Keywords[kw]) {
				parts = append(parts, fmt.Sprintf("%s %s -> %s", kw, orNone(ap.Schema.Keywords[kw]), orNone(bp.Schema.Keywords[kw])))
			}
		}
		if d := join(parts); d != "" {
			out = append(out, Change{Op: "field.changed", Object: obj, Field: bp.Name, Detail: d})
		}
	}
	for _, ap := range a.Properties {
		if !bKeys[ap.Schema.Meta.Key] {
			out = append(out, Change{Op: "field.removed", Object: obj, Field: ap.Name, Detail: "removed; values kept until purged"})
		}
	}
	return out
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func union(a, b map[string]json.RawMessage) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

func orNone(raw json.RawMessage) string {
	if raw == nil {
		return "(none)"
	}
	return string(raw)
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

func join(parts []string) string {
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += "; "
		}
		out += p
	}
	return out
}
