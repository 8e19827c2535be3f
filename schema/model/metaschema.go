package model

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v5"
)

//go:embed metaschema/*.json
var metaFiles embed.FS

// MetaSchemas returns the published meta-schemas by file name
// (object.schema.json, bundle.schema.json).
func MetaSchemas() map[string][]byte {
	out := map[string][]byte{}
	entries, _ := fs.ReadDir(metaFiles, "metaschema")
	for _, e := range entries {
		b, _ := fs.ReadFile(metaFiles, "metaschema/"+e.Name())
		out[e.Name()] = b
	}
	return out
}

const metaBase = "https://lattice.dev/schemas/"

// Validator checks documents against the meta-schemas. It is safe for
// concurrent use; build one with NewValidator and keep it.
type Validator struct {
	bundle, object *jsonschema.Schema
}

// NewValidator compiles the embedded meta-schemas.
func NewValidator() (*Validator, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	for name, b := range MetaSchemas() {
		if err := c.AddResource(metaBase+name, bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("load meta-schema %s: %w", name, err)
		}
	}
	v := &Validator{}
	var err error
	if v.bundle, err = c.Compile(metaBase + "bundle.schema.json"); err != nil {
		return nil, fmt.Errorf("compile bundle meta-schema: %w", err)
	}
	if v.object, err = c.Compile(metaBase + "object.schema.json"); err != nil {
		return nil, fmt.Errorf("compile object meta-schema: %w", err)
	}
	return v, nil
}

// ParseBundle decodes a bundle and checks it against the bundle
// meta-schema and, each object, against JSON Schema 2020-12 itself.
func (v *Validator) ParseBundle(data []byte) (*Bundle, error) {
	doc, err := decodeDocument(data)
	if err != nil {
		return nil, err
	}
	if ps := metaProblems(v.bundle.Validate(doc), ""); len(ps) > 0 {
		return nil, ps
	}
	var b Bundle
	if err := json.Unmarshal(data, &b); err != nil {
		return nil, Problems{{Pointer: "", Code: "invalid_json", Message: err.Error()}}
	}
	var ps Problems
	for i, o := range b.Objects {
		ps = append(ps, checkIsJSONSchema(o, ptr("", "objects", i))...)
	}
	if len(ps) > 0 {
		return nil, ps
	}
	return &b, nil
}

// ParseObject decodes one object definition and checks it against the
// object meta-schema and JSON Schema 2020-12.
func (v *Validator) ParseObject(data []byte) (*ObjectDef, error) {
	doc, err := decodeDocument(data)
	if err != nil {
		return nil, err
	}
	if ps := metaProblems(v.object.Validate(doc), ""); len(ps) > 0 {
		return nil, ps
	}
	var o ObjectDef
	if err := json.Unmarshal(data, &o); err != nil {
		return nil, Problems{{Pointer: "", Code: "invalid_json", Message: err.Error()}}
	}
	if ps := checkIsJSONSchema(&o, ""); len(ps) > 0 {
		return nil, ps
	}
	return &o, nil
}

func decodeDocument(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			line, col := lineCol(data, syn.Offset)
			return nil, Problems{{Pointer: "", Code: "invalid_json", Message: fmt.Sprintf("line %d, column %d: %v", line, col, err)}}
		}
		return nil, Problems{{Pointer: "", Code: "invalid_json", Message: err.Error()}}
	}
	if dec.More() {
		return nil, Problems{{Pointer: "", Code: "invalid_json", Message: "data after the JSON document"}}
	}
	return doc, nil
}

func lineCol(data []byte, offset int64) (int, int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// metaProblems flattens a jsonschema validation error into its leaf
// causes, each with the JSON pointer of the offending value.
func metaProblems(err error, base string) Problems {
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return Problems{{Pointer: base, Code: "invalid_definition", Message: err.Error()}}
	}
	var ps Problems
	seen := map[string]bool{}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			p := Problem{Pointer: base + e.InstanceLocation, Code: "meta_schema", Message: e.Message + " (rule " + keyword(e.KeywordLocation) + ")"}
			if !seen[p.String()] {
				seen[p.String()] = true
				ps = append(ps, p)
			}
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Pointer < ps[j].Pointer })
	return ps
}

// keyword returns the last meaningful token of a keyword location.
func keyword(loc string) string {
	parts := strings.Split(loc, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if p := parts[i]; p != "" && p != "$ref" && !isDigits(p) {
			return p
		}
	}
	return loc
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// checkIsJSONSchema compiles the definition as a JSON Schema 2020-12
// document, which catches what the meta-schema cannot (a malformed keyword
// in a json field's nested schema, say).
func checkIsJSONSchema(o *ObjectDef, base string) Problems {
	data, err := json.Marshal(o)
	if err != nil {
		return Problems{{Pointer: base, Code: "invalid_definition", Message: err.Error()}}
	}
	if _, err := compileSchema(data); err != nil {
		var se *jsonschema.SchemaError
		if errors.As(err, &se) && se.Err != nil {
			if ps := metaProblems(se.Err, base); len(ps) > 0 {
				return ps
			}
		}
		return Problems{{Pointer: base, Code: "invalid_json_schema", Message: err.Error()}}
	}
	return nil
}

// compileSchema compiles a standalone JSON Schema 2020-12 document. Lattice's
// x-lattice-* keywords are unknown to the compiler and ignored by it.
func compileSchema(data []byte) (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	const url = "mem://definition.json"
	if err := c.AddResource(url, bytes.NewReader(data)); err != nil {
		return nil, err
	}
	return c.Compile(url)
}
