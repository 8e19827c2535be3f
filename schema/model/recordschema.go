package model

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

// RecordSchema compiles the object's definition as a JSON Schema 2020-12
// document for its records, with Lattice's x-lattice-field keyword
// registered as a jsonschema extension. The standard keywords Lattice fills
// in from each kind check types, bounds, lengths and picklist values; the
// extension applies what JSON Schema cannot say (ISO 4217 codes, decimal
// places, real calendar dates, RFC 3339 times, lookup ids), using the same
// checks as the record store. So a standard validator holding this schema
// accepts the values the store accepts, except that the store also fills in
// defaults and auto-numbers and reads null as "no value".
//
// Writes use ValidateCreate and ValidatePatch, which are much faster; this
// is for tools and for cross-checking the two.
func (m *Model) RecordSchema(objectAPIName string) (*jsonschema.Schema, error) {
	o := m.Object(objectAPIName)
	if o == nil {
		return nil, fmt.Errorf("no object %q", objectAPIName)
	}
	var def *ObjectDef
	for _, od := range m.Bundle.Objects {
		if od.Meta.Key == o.Key {
			def = od
		}
	}
	data, err := json.Marshal(def)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", o.APIName, err)
	}
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	meta, err := fieldMetaSchema()
	if err != nil {
		return nil, err
	}
	c.RegisterExtension("x-lattice-field", meta, fieldExtension{o})
	url := "mem://records/" + o.APIName + ".json"
	if err := c.AddResource(url, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

// fieldMetaSchema compiles the meta-schema the extension checks every
// schema object with: its x-lattice-field keyword, if any, must match the
// published fieldMeta definition.
func fieldMetaSchema() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	for name, b := range MetaSchemas() {
		if err := c.AddResource(metaBase+name, bytes.NewReader(b)); err != nil {
			return nil, err
		}
	}
	const wrapper = `{"$schema": "https://json-schema.org/draft/2020-12/schema",
		"properties": {"x-lattice-field": {"$ref": "object.schema.json#/$defs/fieldMeta"}}}`
	if err := c.AddResource(metaBase+"field-keyword.json", bytes.NewReader([]byte(wrapper))); err != nil {
		return nil, err
	}
	s, err := c.Compile(metaBase + "field-keyword.json")
	if err != nil {
		return nil, fmt.Errorf("compile x-lattice-field meta-schema: %w", err)
	}
	return s, nil
}

// fieldExtension compiles x-lattice-field keywords of one object.
type fieldExtension struct{ o *Object }

func (e fieldExtension) Compile(_ jsonschema.CompilerContext, m map[string]any) (jsonschema.ExtSchema, error) {
	meta, ok := m["x-lattice-field"].(map[string]any)
	if !ok {
		return nil, nil
	}
	key, _ := meta["key"].(string)
	f := e.o.FieldByKey(key)
	if f == nil {
		return nil, nil // a removed field's keyword: nothing to check
	}
	return fieldCheck{f}, nil
}

// fieldCheck validates one value with the field's own checks.
type fieldCheck struct{ f *Field }

func (c fieldCheck) Validate(ctx jsonschema.ValidationContext, v any) error {
	if v == nil {
		return nil
	}
	var vs Violations
	c.f.check(v, "", &vs)
	if len(vs) == 0 {
		return nil
	}
	return ctx.Error("x-lattice-field", "%s (rule %s)", vs[0].Message, vs[0].Rule)
}
