package condition

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/latticecrm/lattice/schema/model"
)

//go:embed condition.schema.json
var metaSchemaJSON []byte

// MetaSchemaURL is the $id of the published meta-schema.
const MetaSchemaURL = "https://lattice.dev/schemas/condition.schema.json"

// MetaSchema returns the published meta-schema of the JSON form
// (condition.schema.json, JSON Schema 2020-12).
func MetaSchema() []byte { return bytes.Clone(metaSchemaJSON) }

var metaSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	if err := c.AddResource(MetaSchemaURL, bytes.NewReader(metaSchemaJSON)); err != nil {
		return nil, err
	}
	return c.Compile(MetaSchemaURL)
})

// metaProblems checks doc against the meta-schema and returns every leaf
// failure with the JSON pointer of the offending value.
func metaProblems(doc any) model.Problems {
	s, err := metaSchema()
	if err != nil {
		return model.Problems{{Pointer: "", Code: "meta_schema", Message: "the condition meta-schema does not compile: " + err.Error()}}
	}
	err = s.Validate(doc)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return model.Problems{{Pointer: "", Code: "meta_schema", Message: err.Error()}}
	}
	var ps model.Problems
	seen := map[string]bool{}
	add := func(p model.Problem) {
		if k := p.Pointer + "\x00" + p.Message; !seen[k] {
			seen[k] = true
			ps = append(ps, p)
		}
	}
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		// A node that is none of the six forms: one message, not six.
		if strings.HasSuffix(e.KeywordLocation, "/anyOf") {
			add(model.Problem{Pointer: e.InstanceLocation, Code: "meta_schema",
				Message: "a condition needs exactly one of and, or, not, field, related, tags"})
			return
		}
		if strings.HasSuffix(e.KeywordLocation, "/oneOf") {
			add(model.Problem{Pointer: e.InstanceLocation, Code: "meta_schema",
				Message: "a related condition needs exactly one of quantifier and count"})
			return
		}
		// A key that does not belong with the condition's form.
		if strings.Contains(e.KeywordLocation, "/propertyNames/") {
			name := e.InstanceLocation[strings.LastIndexByte(e.InstanceLocation, '/')+1:]
			add(model.Problem{Pointer: e.InstanceLocation, Code: "meta_schema",
				Message: fmt.Sprintf("%q does not belong here: a condition is one of {and}, {or}, {not}, {field, op, value}, {related, quantifier or count, where}, {tags, value}", name)})
			return
		}
		if len(e.Causes) == 0 {
			add(model.Problem{Pointer: e.InstanceLocation, Code: "meta_schema", Message: e.Message + " (rule " + keyword(e.KeywordLocation) + ")"})
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
		p := parts[i]
		if p != "" && p != "$ref" && p != "then" && p != "allOf" && strings.Trim(p, "0123456789") != "" {
			return p
		}
	}
	return loc
}
