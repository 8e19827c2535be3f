package model

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// SystemFields are present on every record and cannot be defined by tenants.
var SystemFields = []string{"id", "createdAt", "updatedAt", "createdBy", "updatedBy", "owner", "version", "tags", "score", "grade", "deletedAt"}

// IsSystemField reports whether name is a system field.
func IsSystemField(name string) bool {
	for _, s := range SystemFields {
		if s == name {
			return true
		}
	}
	return false
}

// Model is a tenant's compiled schema at one version: what record
// validation, the record store and the GraphQL layer work from. It is
// immutable and safe for concurrent use.
type Model struct {
	Version int
	Bundle  *Bundle
	Objects []*Object
	byName  map[string]*Object
	byKey   map[string]*Object
}

// Object is a compiled object.
type Object struct {
	Key, APIName, PluralAPIName string
	Label, PluralLabel          Text
	Description                 Text
	Fields                      []*Field
	DisplayField                *Field
	// Inverses are the one-to-many relations other objects' lookups create
	// on this one (Account.contacts from Contact.account).
	Inverses []*Inverse
	// Removed lists removed fields still recoverable (their slots are taken).
	Removed []*Field
	byName  map[string]*Field
	byKey   map[string]*Field
}

// Inverse is the one-to-many side of a lookup.
type Inverse struct {
	Name  string  // e.g. "contacts"
	From  *Object // the object holding the lookup (Contact)
	Field *Field  // the lookup field (Contact.account)
}

// Field is a compiled field.
type Field struct {
	Key, APIName string
	Kind         Kind
	Label        Text
	HelpText     Text
	Required     bool
	Unique       bool
	Indexed      bool
	// Default is the normalized default value, or nil.
	Default any
	// Slot and UniqueSlot name the records-table columns serving the field
	// ("n3", "u1"), or "".
	Slot, UniqueSlot string
	// Lookup options.
	Target      *Object
	InverseName string
	OnDelete    string
	// Picklist values in order.
	Values   []PicklistValue
	valueSet map[string]bool
	// Currency options.
	Currencies map[string]bool
	// Scale is the number of decimals allowed for decimal, currency, percent.
	Scale int
	// Constraints from the field's JSON Schema keywords.
	MinLength, MaxLength *int
	Minimum, Maximum     *big.Rat
	Pattern              *regexp.Regexp
	MaxItems             *int
	// AutoNumber format parts: Prefix + zero-padded number of Width + Suffix.
	Prefix, Suffix string
	Width          int
	jsonSchema     *jsonschema.Schema
}

// Object returns the object with the given API name, or nil.
func (m *Model) Object(apiName string) *Object { return m.byName[apiName] }

// ObjectByKey returns the object with the given key (its id in storage), or nil.
func (m *Model) ObjectByKey(key string) *Object { return m.byKey[key] }

// Field returns the live field with the given API name, or nil.
func (o *Object) Field(apiName string) *Field { return o.byName[apiName] }

// FieldByKey returns the live field with the given key, or nil.
func (o *Object) FieldByKey(key string) *Field { return o.byKey[key] }

// Compile builds the Model of a prepared bundle (see Prepare). It fails only
// on a bundle Prepare would have refused.
func Compile(b *Bundle, version int) (*Model, error) {
	m := &Model{Version: version, Bundle: b, byName: map[string]*Object{}, byKey: map[string]*Object{}}
	for _, od := range b.Objects {
		o := &Object{
			Key: od.Meta.Key, APIName: od.Meta.APIName, PluralAPIName: od.Meta.PluralAPIName,
			Label: od.Meta.Label, PluralLabel: od.Meta.PluralLabel, Description: od.Meta.Description,
			byName: map[string]*Field{}, byKey: map[string]*Field{},
		}
		if o.PluralAPIName == "" {
			o.PluralAPIName = DefaultPlural(o.APIName)
		}
		m.Objects = append(m.Objects, o)
		m.byName[o.APIName] = o
		m.byKey[o.Key] = o
	}
	for i, od := range b.Objects {
		o := m.Objects[i]
		required := map[string]bool{}
		for _, r := range od.Required {
			required[r] = true
		}
		for _, p := range od.Properties {
			f, err := compileField(m, p.Name, p.Schema, required[p.Name])
			if err != nil {
				return nil, fmt.Errorf("compile %s.%s: %w", o.APIName, p.Name, err)
			}
			o.Fields = append(o.Fields, f)
			o.byName[f.APIName] = f
			o.byKey[f.Key] = f
		}
		for _, rp := range od.Meta.RemovedFields {
			f, err := compileField(m, rp.Name, rp.Schema, false)
			if err != nil {
				return nil, fmt.Errorf("compile removed %s.%s: %w", o.APIName, rp.Name, err)
			}
			o.Removed = append(o.Removed, f)
		}
		if od.Meta.DisplayField != "" {
			o.DisplayField = o.byName[od.Meta.DisplayField]
		}
	}
	for _, o := range m.Objects {
		for _, f := range o.Fields {
			if f.Kind == KindLookup && f.Target != nil && f.InverseName != "" {
				f.Target.Inverses = append(f.Target.Inverses, &Inverse{Name: f.InverseName, From: o, Field: f})
			}
		}
	}
	return m, nil
}

// DefaultPlural is the plural API name used when none is given: the API
// name in lowerCamelCase with an English plural ending.
func DefaultPlural(apiName string) string {
	if apiName == "" {
		return ""
	}
	s := strings.ToLower(apiName[:1]) + apiName[1:]
	switch {
	case strings.HasSuffix(s, "y") && !strings.HasSuffix(s, "ay") && !strings.HasSuffix(s, "ey") && !strings.HasSuffix(s, "oy"):
		return s[:len(s)-1] + "ies"
	case strings.HasSuffix(s, "s"), strings.HasSuffix(s, "x"), strings.HasSuffix(s, "ch"), strings.HasSuffix(s, "sh"):
		return s + "es"
	default:
		return s + "s"
	}
}

func compileField(m *Model, name string, fd *FieldDef, required bool) (*Field, error) {
	meta := fd.Meta
	f := &Field{
		Key: meta.Key, APIName: name, Kind: meta.Kind, Label: meta.Label, HelpText: meta.HelpText,
		Required: required, Unique: meta.Unique, Indexed: meta.Indexed,
		Slot: meta.Slot, UniqueSlot: meta.UniqueSlot,
		InverseName: meta.InverseName, OnDelete: meta.OnDelete, Values: meta.Values,
	}
	if meta.Kind == KindLookup {
		f.Target = m.byName[meta.Target]
		if f.OnDelete == "" {
			f.OnDelete = OnDeleteRestrict
		}
	}
	if len(meta.Values) > 0 {
		f.valueSet = map[string]bool{}
		for _, v := range meta.Values {
			f.valueSet[v.Value] = true
		}
	}
	if len(meta.Currencies) > 0 {
		f.Currencies = map[string]bool{}
		for _, c := range meta.Currencies {
			f.Currencies[c] = true
		}
	}
	f.Scale = 2
	if meta.Scale != nil {
		f.Scale = *meta.Scale
	}
	var err error
	if f.MinLength, err = intKeyword(fd, "minLength"); err != nil {
		return nil, err
	}
	if f.MaxLength, err = intKeyword(fd, "maxLength"); err != nil {
		return nil, err
	}
	if f.MaxItems, err = intKeyword(fd, "maxItems"); err != nil {
		return nil, err
	}
	if f.Minimum, err = ratKeyword(fd, "minimum"); err != nil {
		return nil, err
	}
	if f.Maximum, err = ratKeyword(fd, "maximum"); err != nil {
		return nil, err
	}
	if raw, ok := fd.Keywords["pattern"]; ok {
		var p string
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("pattern: %w", err)
		}
		if f.Pattern, err = regexp.Compile(p); err != nil {
			return nil, fmt.Errorf("pattern %q: %w", p, err)
		}
	}
	switch f.Kind {
	case KindText:
		if f.MaxLength == nil {
			n := 255
			f.MaxLength = &n
		}
	case KindLongText:
		if f.MaxLength == nil {
			n := 131072
			f.MaxLength = &n
		}
	case KindAutoNumber:
		f.Unique = true // numbers are unique per object, served by a unique slot
		open, close := strings.IndexByte(meta.Format, '{'), strings.IndexByte(meta.Format, '}')
		if open < 0 || close < open {
			return nil, fmt.Errorf("autoNumber format %q lacks {000}", meta.Format)
		}
		f.Prefix, f.Suffix, f.Width = meta.Format[:open], meta.Format[close+1:], close-open-1
	case KindJSON:
		if len(fd.Keywords) > 0 {
			data, err := json.Marshal(fd.Keywords)
			if err != nil {
				return nil, err
			}
			if f.jsonSchema, err = compileSchema(data); err != nil {
				return nil, fmt.Errorf("nested schema: %w", err)
			}
		}
	}
	if raw, ok := fd.Keywords["default"]; ok {
		v, err := decodeValue(raw)
		if err != nil {
			return nil, fmt.Errorf("default: %w", err)
		}
		var vs Violations
		f.Default = f.check(v, "/default", &vs)
		if len(vs) > 0 {
			return nil, fmt.Errorf("default: %s", vs[0].Message)
		}
	}
	return f, nil
}

func intKeyword(fd *FieldDef, name string) (*int, error) {
	raw, ok := fd.Keywords[name]
	if !ok {
		return nil, nil
	}
	// JSON Schema counts 10.0 as an integer, so parse as a number.
	r, ok := new(big.Rat).SetString(strings.TrimSpace(string(raw)))
	if !ok || !r.IsInt() || !r.Num().IsInt64() || r.Num().Int64() < 0 || r.Num().Int64() > 1<<31 {
		return nil, fmt.Errorf("%s: %s is not a non-negative integer", name, raw)
	}
	n := int(r.Num().Int64())
	return &n, nil
}

func ratKeyword(fd *FieldDef, name string) (*big.Rat, error) {
	raw, ok := fd.Keywords[name]
	if !ok {
		return nil, nil
	}
	r, ok := new(big.Rat).SetString(strings.TrimSpace(string(raw)))
	if !ok {
		return nil, fmt.Errorf("%s: %s is not a number", name, raw)
	}
	return r, nil
}

// IsUUID reports whether s is a UUID in its 36-character text form.
func IsUUID(s string) bool { return uuidPattern.MatchString(s) }
