package dataapi

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// coerceVariables finishes the coercion validator.VariableValues leaves
// undone, so that the planner and the record store see one shape of value
// whoever decoded the request:
//   - numbers become json.Number: a Go caller's int, or a float64 from a
//     JSON decoder without UseNumber, would otherwise be refused by the
//     record store ("must be a number") and the condition compiler;
//   - lists become []any and input objects map[string]any (a Go caller's
//     []string or []map[string]any, or gqlparser's wrapping of a single
//     value into a list);
//   - enum values must match exactly: gqlparser accepts them in any case,
//     which would turn a sort direction "desc" silently into ascending and
//     send "TECHNOLOGY" to the record store;
//   - a variable's default value keeps its exact digits (gqlparser's
//     defaults are float64).
func coerceVariables(s *ast.Schema, op *ast.OperationDefinition, given, vars map[string]any) (map[string]any, *gqlerror.Error) {
	out := make(map[string]any, len(vars))
	for _, d := range op.VariableDefinitions {
		v, ok := vars[d.Variable]
		if _, sent := given[d.Variable]; !sent && d.DefaultValue != nil {
			v, ok = value(d.DefaultValue, nil), true
		}
		if !ok {
			continue
		}
		c, err := coerceValue(s, d.Type, v, ast.Path{ast.PathName("variable"), ast.PathName(d.Variable)})
		if err != nil {
			return nil, err
		}
		out[d.Variable] = c
	}
	return out, nil
}

// coerceValue coerces one (validated) value of type typ.
func coerceValue(s *ast.Schema, typ *ast.Type, v any, path ast.Path) (any, *gqlerror.Error) {
	if v == nil {
		return nil, nil
	}
	if typ.Elem != nil {
		items, ok := asList(v)
		if !ok {
			items = []any{v} // input coercion: a single value is a list of one
		}
		out := make([]any, len(items))
		for i, item := range items {
			c, err := coerceValue(s, typ.Elem, item, append(append(ast.Path{}, path...), ast.PathIndex(i)))
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	}
	def := s.Types[typ.NamedType]
	if def == nil {
		return v, nil
	}
	switch def.Kind {
	case ast.Enum:
		name, _ := v.(string)
		if def.EnumValues.ForName(name) == nil {
			return nil, gqlerror.ErrorPathf(path, "%s is not a value of %s (enum values are case-sensitive)", describe(v), def.Name)
		}
		return name, nil
	case ast.InputObject:
		m, ok := asObject(v)
		if !ok {
			return v, nil // validated already: unreachable
		}
		out := make(map[string]any, len(m))
		for k, fv := range m {
			fd := def.Fields.ForName(k)
			if fd == nil {
				continue // __typename, which gqlparser lets through
			}
			c, err := coerceValue(s, fd.Type, fv, append(append(ast.Path{}, path...), ast.PathName(k)))
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	}
	switch def.Name {
	case "String", "Boolean":
		return v, nil
	case "ID":
		if n, ok := number(v); ok {
			return string(n), nil // the spec lets an ID be sent as an integer
		}
		return v, nil
	}
	return numbers(v), nil
}

// numbers converts every number in v (a scalar, or JSON) to json.Number.
func numbers(v any) any {
	if n, ok := number(v); ok {
		return n
	}
	if l, ok := asList(v); ok {
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = numbers(e)
		}
		return out
	}
	if m, ok := asObject(v); ok {
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[k] = numbers(e)
		}
		return out
	}
	return v
}

// number returns v as a json.Number if it is a number of any Go type.
func number(v any) (json.Number, bool) {
	switch x := v.(type) {
	case json.Number:
		return x, true
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return "", false
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), true
	case float32:
		return json.Number(strconv.FormatFloat(float64(x), 'g', -1, 32)), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return json.Number(strconv.FormatInt(rv.Int(), 10)), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return json.Number(strconv.FormatUint(rv.Uint(), 10)), true
	}
	return "", false
}

// asList returns v as []any if it is a slice or array of any element type.
func asList(v any) ([]any, bool) {
	if l, ok := v.([]any); ok {
		return l, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
		return nil, false // []byte is a scalar
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

// asObject returns v as map[string]any if it is a map with string keys.
func asObject(v any) (map[string]any, bool) {
	if m, ok := v.(map[string]any); ok {
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	for it := rv.MapRange(); it.Next(); {
		out[it.Key().String()] = it.Value().Interface()
	}
	return out, true
}
