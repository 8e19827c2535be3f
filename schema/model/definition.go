package model

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// BundleFormat is the value of a bundle's "lattice" keyword.
const BundleFormat = "bundle/v1"

// JSONSchemaDialect is the $schema of every object definition.
const JSONSchemaDialect = "https://json-schema.org/draft/2020-12/schema"

// Bundle is a tenant's whole schema, or part of one to import.
type Bundle struct {
	Format      string       `json:"lattice"`
	Name        string       `json:"name,omitempty"`
	Description string       `json:"description,omitempty"`
	Objects     []*ObjectDef `json:"objects"`
	// RemovedObjects are kept, with their records, until purged.
	RemovedObjects []*ObjectDef `json:"removedObjects,omitempty"`
}

// ObjectDef is one object definition: a JSON Schema document for its records.
type ObjectDef struct {
	Schema      string     `json:"$schema,omitempty"`
	ID          string     `json:"$id,omitempty"`
	Title       string     `json:"title,omitempty"`
	Description string     `json:"description,omitempty"`
	Type        string     `json:"type,omitempty"`
	Meta        ObjectMeta `json:"x-lattice-object"`
	Properties  Properties `json:"properties"`
	Required    []string   `json:"required,omitempty"`
	// AdditionalProperties is always false once prepared: records may hold
	// only defined fields.
	AdditionalProperties *bool `json:"additionalProperties,omitempty"`
}

// ObjectMeta is the x-lattice-object keyword.
type ObjectMeta struct {
	APIName       string     `json:"apiName"`
	PluralAPIName string     `json:"pluralApiName,omitempty"`
	Key           string     `json:"key,omitempty"`
	Label         Text       `json:"label,omitempty"`
	PluralLabel   Text       `json:"pluralLabel,omitempty"`
	Description   Text       `json:"description,omitempty"`
	DisplayField  string     `json:"displayField,omitempty"`
	RemovedFields []Property `json:"removedFields,omitempty"`
	RemovedAt     *time.Time `json:"removedAt,omitempty"`
}

// Text is text by language tag ("en", "zh-CN", ...).
type Text map[string]string

// Default is the text to show where one language must be chosen (tables,
// GraphQL descriptions): English if there is any, else the first
// non-empty text by language tag, else "".
func (t Text) Default() string {
	if s := t["en"]; s != "" {
		return s
	}
	for _, l := range sortedKeys(t) {
		if t[l] != "" {
			return t[l]
		}
	}
	return ""
}

// Property is one named field of an object.
type Property struct {
	Name   string    `json:"name"`
	Schema *FieldDef `json:"schema"`
}

// FieldDef is one field's JSON Schema: Lattice's x-lattice-field plus the
// standard keywords (type, maxLength, minimum, pattern, default, ...), kept
// as given so that nothing a tenant wrote is lost.
type FieldDef struct {
	Meta     FieldMeta
	Keywords map[string]json.RawMessage
}

// FieldMeta is the x-lattice-field keyword.
type FieldMeta struct {
	Kind        Kind            `json:"kind"`
	Key         string          `json:"key,omitempty"`
	Label       Text            `json:"label,omitempty"`
	HelpText    Text            `json:"helpText,omitempty"`
	Unique      bool            `json:"unique,omitempty"`
	Indexed     bool            `json:"indexed,omitempty"`
	Values      []PicklistValue `json:"values,omitempty"`
	Target      string          `json:"target,omitempty"`
	InverseName string          `json:"inverseName,omitempty"`
	OnDelete    string          `json:"onDelete,omitempty"`
	Currencies  []string        `json:"currencies,omitempty"`
	Scale       *int            `json:"scale,omitempty"`
	Format      string          `json:"format,omitempty"`
	Slot        string          `json:"slot,omitempty"`
	UniqueSlot  string          `json:"uniqueSlot,omitempty"`
	RemovedAt   *time.Time      `json:"removedAt,omitempty"`
}

// PicklistValue is one choice of a picklist.
type PicklistValue struct {
	Value string `json:"value"`
	Label Text   `json:"label,omitempty"`
	Color string `json:"color,omitempty"`
}

// On-delete behaviours of a lookup.
const (
	OnDeleteRestrict = "restrict"
	OnDeleteSetNull  = "setNull"
	OnDeleteCascade  = "cascade"
)

// MarshalJSON writes the field as one JSON Schema object, x-lattice-field first.
func (f *FieldDef) MarshalJSON() ([]byte, error) {
	meta, err := json.Marshal(f.Meta)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(`{"x-lattice-field":`)
	b.Write(meta)
	for _, k := range sortedKeys(f.Keywords) {
		kj, _ := json.Marshal(k)
		b.WriteByte(',')
		b.Write(kj)
		b.WriteByte(':')
		b.Write(f.Keywords[k])
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a field's JSON Schema.
func (f *FieldDef) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	f.Keywords = map[string]json.RawMessage{}
	for k, v := range raw {
		if k == "x-lattice-field" {
			if err := json.Unmarshal(v, &f.Meta); err != nil {
				return fmt.Errorf("x-lattice-field: %w", err)
			}
			continue
		}
		f.Keywords[k] = v
	}
	return nil
}

// Properties is an object's fields in the order they were defined (JSON
// object key order, which Go maps would lose).
type Properties []Property

// MarshalJSON writes the properties as a JSON object in order.
func (ps Properties) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(p.Name)
		b.Write(kj)
		b.WriteByte(':')
		v, err := json.Marshal(p.Schema)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads a JSON object of field schemas, keeping key order.
func (ps *Properties) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("properties must be an object")
	}
	*ps = (*ps)[:0]
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, _ := tok.(string)
		var f FieldDef
		if err := dec.Decode(&f); err != nil {
			return fmt.Errorf("properties/%s: %w", name, err)
		}
		*ps = append(*ps, Property{Name: name, Schema: &f})
	}
	_, err = dec.Token()
	return err
}

// Property returns the named property, or nil.
func (o *ObjectDef) Property(name string) *Property {
	for i := range o.Properties {
		if o.Properties[i].Name == name {
			return &o.Properties[i]
		}
	}
	return nil
}

// Object returns the live object with the given API name, or nil.
func (b *Bundle) Object(apiName string) *ObjectDef {
	for _, o := range b.Objects {
		if o.Meta.APIName == apiName {
			return o
		}
	}
	return nil
}

// Clone returns a deep copy of b.
func (b *Bundle) Clone() (*Bundle, error) {
	data, err := json.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("copy bundle: %w", err)
	}
	var out Bundle
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("copy bundle: %w", err)
	}
	return &out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
