package platformapi

import (
	"encoding/json"
	"fmt"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/latticecrm/lattice/schema/model"
)

// JSON is the JSON scalar: a JSON document. As input, a GraphQL String is
// taken as JSON text (not checked here: the service that reads it reports
// bad JSON with its line and column), anything else is encoded as JSON.
type JSON json.RawMessage

// ImplementsGraphQLType binds JSON to the JSON scalar.
func (JSON) ImplementsGraphQLType(name string) bool { return name == "JSON" }

// UnmarshalGraphQL reads an input value.
func (j *JSON) UnmarshalGraphQL(input any) error {
	if s, ok := input.(string); ok {
		*j = JSON(s)
		return nil
	}
	b, err := json.Marshal(input)
	if err != nil {
		return fmt.Errorf("not a JSON value: %w", err)
	}
	*j = JSON(b)
	return nil
}

// MarshalJSON writes the document as it is (null when empty).
func (j JSON) MarshalJSON() ([]byte, error) {
	if len(j) == 0 {
		return []byte("null"), nil
	}
	return []byte(j), nil
}

// jsonOf encodes v as a JSON scalar.
func jsonOf(v any) (JSON, error) {
	b, err := json.Marshal(v)
	return JSON(b), err
}

// rawJSON returns raw as a nullable JSON scalar (nil when empty or null).
func rawJSON(raw json.RawMessage) *JSON {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	j := JSON(raw)
	return &j
}

// Text is the Text scalar: text by language tag.
type Text map[string]string

// ImplementsGraphQLType binds Text to the Text scalar.
func (Text) ImplementsGraphQLType(name string) bool { return name == "Text" }

// UnmarshalGraphQL reads an object of strings (or JSON text holding one).
func (t *Text) UnmarshalGraphQL(input any) error {
	if s, ok := input.(string); ok {
		var m map[string]string
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return fmt.Errorf("text by language must be an object of strings such as {\"en\": \"Deal\"}: %v", err)
		}
		*t = m
		return nil
	}
	obj, ok := input.(map[string]any)
	if !ok {
		return fmt.Errorf("text by language must be an object of strings such as {\"en\": \"Deal\"}, got %T", input)
	}
	m := make(Text, len(obj))
	for k, v := range obj {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("text by language: the %q text must be a string, got %T", k, v)
		}
		m[k] = s
	}
	*t = m
	return nil
}

// text returns a model text as a nullable Text scalar.
func text(t model.Text) *Text {
	if len(t) == 0 {
		return nil
	}
	x := Text(t)
	return &x
}

// modelText converts a nullable input Text.
func modelText(t *Text) model.Text {
	if t == nil {
		return nil
	}
	return model.Text(*t)
}

func gqlTime(t time.Time) graphql.Time { return graphql.Time{Time: t} }

func gqlTimePtr(t *time.Time) *graphql.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	return &graphql.Time{Time: *t}
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// int32Of clamps n into a GraphQL Int.
func int32Of[N ~int | ~int64](n N) int32 {
	const maxInt32, minInt32 = 1<<31 - 1, -1 << 31
	switch {
	case int64(n) > maxInt32:
		return maxInt32
	case int64(n) < minInt32:
		return minInt32
	}
	return int32(n)
}

func optInt(p *int32) *int {
	if p == nil {
		return nil
	}
	n := int(*p)
	return &n
}
