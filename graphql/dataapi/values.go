package dataapi

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
)

// value converts a validated argument value to Go: numbers stay
// json.Number with their exact digits (gqlparser's own Value turns
// literals into float64, which would lose a decimal's digits), enums stay
// their names, variables come from vars (decoded with UseNumber).
func value(v *ast.Value, vars map[string]any) any {
	if v == nil {
		return nil
	}
	switch v.Kind {
	case ast.Variable:
		return vars[v.Raw]
	case ast.IntValue, ast.FloatValue:
		return json.Number(v.Raw)
	case ast.StringValue, ast.BlockValue, ast.EnumValue:
		return v.Raw
	case ast.BooleanValue:
		return v.Raw == "true"
	case ast.NullValue:
		return nil
	case ast.ListValue:
		out := make([]any, len(v.Children))
		for i, c := range v.Children {
			out[i] = value(c.Value, vars)
		}
		return out
	case ast.ObjectValue:
		out := make(map[string]any, len(v.Children))
		for _, c := range v.Children {
			out[c.Name] = value(c.Value, vars)
		}
		return out
	}
	return nil
}

// arguments returns a field's arguments as Go values, with defaults.
func arguments(f *ast.Field, vars map[string]any) map[string]any {
	out := make(map[string]any, len(f.Arguments))
	if f.Definition != nil {
		for _, d := range f.Definition.Arguments {
			if d.DefaultValue != nil {
				out[d.Name] = value(d.DefaultValue, nil)
			}
		}
	}
	for _, a := range f.Arguments {
		if a.Value.Kind == ast.Variable {
			if _, ok := vars[a.Value.Raw]; !ok {
				continue // an absent variable leaves the default
			}
		}
		out[a.Name] = value(a.Value, vars)
	}
	return out
}

// intArg reads an optional Int argument.
func intArg(args map[string]any, name string) (*int, error) {
	v, ok := args[name]
	if !ok || v == nil {
		return nil, nil
	}
	var n int64
	switch x := v.(type) {
	case json.Number:
		var err error
		if n, err = x.Int64(); err != nil {
			return nil, badInput([]any{name}, "%s must be an integer, got %s", name, x)
		}
	case int64:
		n = x
	case int:
		n = int64(x)
	case float64:
		n = int64(x)
	default:
		return nil, badInput([]any{name}, "%s must be an integer", name)
	}
	i := int(n)
	return &i, nil
}

// stringList reads a list of strings.
func stringList(v any, path []any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		if s, ok := v.(string); ok { // input coercion: a single value is a list of one
			return []string{s}, nil
		}
		return nil, badInput(path, "expected a list of strings")
	}
	out := make([]string, 0, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, badInput(appendPath(path, i), "expected a string, got %v", e)
		}
		out = append(out, s)
	}
	return out, nil
}

// collect returns the fields of a selection set that apply to an object
// of type typeName (GraphQL's CollectFields): fragments whose type
// condition matches are flattened, @skip and @include are honoured, and
// fields with the same response key are merged.
func collect(set ast.SelectionSet, typeName string, implements func(string) bool, vars map[string]any) []*ast.Field {
	var out []*ast.Field
	index := map[string]int{}
	var walk func(ast.SelectionSet)
	walk = func(set ast.SelectionSet) {
		for _, sel := range set {
			switch s := sel.(type) {
			case *ast.Field:
				if !included(s.Directives, vars) {
					continue
				}
				if i, ok := index[s.Alias]; ok {
					merged := *out[i]
					merged.SelectionSet = append(append(ast.SelectionSet{}, merged.SelectionSet...), s.SelectionSet...)
					out[i] = &merged
					continue
				}
				index[s.Alias] = len(out)
				out = append(out, s)
			case *ast.InlineFragment:
				if included(s.Directives, vars) && applies(s.TypeCondition, typeName, implements) {
					walk(s.SelectionSet)
				}
			case *ast.FragmentSpread:
				if included(s.Directives, vars) && s.Definition != nil && applies(s.Definition.TypeCondition, typeName, implements) {
					walk(s.Definition.SelectionSet)
				}
			}
		}
	}
	walk(set)
	return out
}

func applies(cond, typeName string, implements func(string) bool) bool {
	return cond == "" || cond == typeName || (implements != nil && implements(cond))
}

func included(ds ast.DirectiveList, vars map[string]any) bool {
	for _, d := range ds {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		a := d.Arguments.ForName("if")
		if a == nil {
			continue
		}
		b, _ := value(a.Value, vars).(bool)
		if d.Name == "skip" && b || d.Name == "include" && !b {
			return false
		}
	}
	return true
}

// quoteLiteral renders s as a SQL string literal. It is used only for
// names Lattice generated or validated (object ids, field keys, response
// keys), never for user values, which are always bound.
func quoteLiteral(s string) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			b = append(b, '\'')
		}
		b = append(b, s[i])
	}
	return string(append(b, '\''))
}

// itoa is strconv.Itoa, short for SQL building.
func itoa(n int) string { return strconv.Itoa(n) }

// describe renders a value for an error message.
func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
