package scoring

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

//go:embed ruleset.schema.json
var metaSchemaJSON []byte

// MetaSchemaURL is the $id of the published rule set meta-schema.
const MetaSchemaURL = "https://lattice.dev/schemas/scoring-ruleset.schema.json"

// MetaSchema returns the published meta-schema of rule sets
// (ruleset.schema.json, JSON Schema 2020-12). Its when and where refer to
// the condition meta-schema (condition.MetaSchemaURL).
func MetaSchema() []byte { return bytes.Clone(metaSchemaJSON) }

var metaSchema = sync.OnceValues(func() (*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	c.AssertFormat = true
	if err := c.AddResource(condition.MetaSchemaURL, bytes.NewReader(condition.MetaSchema())); err != nil {
		return nil, err
	}
	if err := c.AddResource(MetaSchemaURL, bytes.NewReader(metaSchemaJSON)); err != nil {
		return nil, err
	}
	return c.Compile(MetaSchemaURL)
})

// conditionPointer matches the pointer of a rule's condition (or anything
// inside it): condition.Compile reports those, with better messages.
var conditionPointer = regexp.MustCompile(`^/rules/[0-9]+/(when|where)(/|$)`)

// metaProblems checks doc against the meta-schema and returns every leaf
// failure with the JSON pointer of the offending value, except those
// inside conditions.
func metaProblems(doc any) model.Problems {
	s, err := metaSchema()
	if err != nil {
		return model.Problems{{Pointer: "", Code: "meta_schema", Message: "the rule set meta-schema does not compile: " + err.Error()}}
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
		if conditionPointer.MatchString(e.InstanceLocation) {
			return
		}
		// A rule that is neither form: one message, not the branches'.
		if strings.HasSuffix(e.KeywordLocation, "/oneOf") {
			add(model.Problem{Pointer: e.InstanceLocation, Code: "meta_schema",
				Message: "a rule has either when and points (points when a condition holds) or related and pointsEach (points for each related record), not both"})
			return
		}
		// An unknown member: point at it, not at its object.
		if strings.HasSuffix(e.KeywordLocation, "/additionalProperties") {
			if names := quoted.FindAllStringSubmatch(e.Message, -1); len(names) > 0 {
				for _, n := range names {
					add(model.Problem{Pointer: ptr(e.InstanceLocation, n[1]), Code: "meta_schema",
						Message: fmt.Sprintf("%q is not a member of %s (rule additionalProperties)", n[1], what(e.InstanceLocation))})
				}
				return
			}
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

// quoted matches the names jsonschema quotes in its messages.
var quoted = regexp.MustCompile(`'((?:[^'\\]|\\.)*)'`)

// what names the object at a pointer, for messages.
func what(pointer string) string {
	switch {
	case pointer == "":
		return "a rule set"
	case regexp.MustCompile(`^/rules/[0-9]+$`).MatchString(pointer):
		return "a rule"
	case regexp.MustCompile(`^/grades/[0-9]+$`).MatchString(pointer):
		return "a grade"
	}
	return pointer
}

// keyword returns the last meaningful token of a keyword location.
func keyword(loc string) string {
	parts := strings.Split(loc, "/")
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		if p != "" && p != "$ref" && strings.Trim(p, "0123456789") != "" {
			return p
		}
	}
	return loc
}

// ptr appends JSON pointer tokens, escaping ~ and /.
func ptr(base string, tokens ...any) string {
	var b strings.Builder
	b.WriteString(base)
	for _, t := range tokens {
		s := fmt.Sprint(t)
		s = strings.ReplaceAll(s, "~", "~0")
		s = strings.ReplaceAll(s, "/", "~1")
		b.WriteByte('/')
		b.WriteString(s)
	}
	return b.String()
}
