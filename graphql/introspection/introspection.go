package introspection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/latticecrm/lattice/graphql/selection"
)

// Resolve returns the JSON value of one validated root field of a query that
// is __schema or __type: the field's selection set applied to the schema.
// vars are the operation's coerced variables (from gqlparser's validator.VariableValues).
//
// The result is the value for the field's response key, not an object around
// it: an object for __schema, and an object or null (no type of that name)
// for __type. When an operation selects the same response key more than once,
// the caller merges those fields into one (as the spec's CollectFields does)
// and passes a field whose selection set holds all of theirs.
func Resolve(s *ast.Schema, field *ast.Field, vars map[string]any) (json.RawMessage, error) {
	if s == nil {
		return nil, errors.New("introspection: nil schema")
	}
	if field == nil {
		return nil, errors.New("introspection: nil field")
	}
	e := &executor{schema: s, vars: vars}
	root, err := e.rootValue(field)
	if err == nil {
		err = e.writeValue(root, []*ast.Field{field})
	}
	if err != nil {
		return nil, fmt.Errorf("introspection: %s: %w", responseKey(field), err)
	}
	return json.RawMessage(e.buf.Bytes()), nil
}

// executor writes the result of one root field into buf.
type executor struct {
	schema *ast.Schema
	vars   map[string]any
	buf    bytes.Buffer
}

// object is a value of one of the introspection object types (__Schema,
// __Type, __Field, __InputValue, __EnumValue, __Directive).
type object interface {
	// typeName is the introspection type's name, the value of __typename.
	typeName() string
	// field returns the value of the named field given its coerced
	// arguments: nil (null), a string, a bool, a []string, an object or a
	// []object.
	field(name string, args map[string]any) (any, error)
}

// rootValue resolves the root field itself to the object that its selection
// set applies to.
func (e *executor) rootValue(field *ast.Field) (any, error) {
	switch field.Name {
	case "__schema":
		return &schemaObject{s: e.schema}, nil
	case "__type":
		args, err := argumentMap(field, e.vars)
		if err != nil {
			return nil, err
		}
		name, ok := args["name"].(string)
		if !ok {
			return nil, fmt.Errorf("argument name is %T, want a string", args["name"])
		}
		def := e.schema.Types[name]
		if def == nil {
			return nil, nil
		}
		return &typeObject{s: e.schema, def: def}, nil
	default:
		return nil, fmt.Errorf("root field %q is not __schema or __type", field.Name)
	}
}

// writeValue writes v, a value returned by object.field, for the fields of
// one response key (their selection sets apply to objects in v).
func (e *executor) writeValue(v any, fields []*ast.Field) error {
	switch v := v.(type) {
	case nil:
		e.buf.WriteString("null")
	case string:
		writeString(&e.buf, v)
	case bool:
		writeBool(&e.buf, v)
	case []string:
		e.buf.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			writeString(&e.buf, s)
		}
		e.buf.WriteByte(']')
	case object:
		return e.writeObject(v, fields)
	case []object:
		e.buf.WriteByte('[')
		for i, o := range v {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.writeObject(o, fields); err != nil {
				return fmt.Errorf("%d: %w", i, err)
			}
		}
		e.buf.WriteByte(']')
	default:
		return fmt.Errorf("cannot write a %T", v)
	}
	return nil
}

// writeObject writes obj as a JSON object with the merged selection sets of
// fields applied to it, one key per response key in selection order.
func (e *executor) writeObject(obj object, fields []*ast.Field) error {
	var set ast.SelectionSet
	for _, f := range fields {
		set = append(set, f.SelectionSet...)
	}
	typeName := obj.typeName()
	applies := func(cond string) bool { return e.applies(typeName, cond) }
	e.buf.WriteByte('{')
	for i, f := range selection.Collect(set, typeName, applies, e.vars) {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		key := responseKey(f)
		writeString(&e.buf, key)
		e.buf.WriteByte(':')
		if err := e.writeField(obj, []*ast.Field{f}); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	e.buf.WriteByte('}')
	return nil
}

// writeField writes the value of one response key of obj. Fields sharing a
// response key are validated to be the same field with the same arguments,
// so the first one names it.
func (e *executor) writeField(obj object, fields []*ast.Field) error {
	f := fields[0]
	if f.Name == "__typename" {
		writeString(&e.buf, obj.typeName())
		return nil
	}
	args, err := argumentMap(f, e.vars)
	if err != nil {
		return err
	}
	v, err := obj.field(f.Name, args)
	if err != nil {
		return err
	}
	return e.writeValue(v, fields)
}

// argumentMap returns the field's coerced arguments, defaults included.
// gqlparser's ArgumentMap panics on a literal it cannot convert; that becomes
// an error here.
func argumentMap(f *ast.Field, vars map[string]any) (args map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("arguments of %s: %v", f.Name, r)
		}
	}()
	return f.ArgumentMap(vars), nil
}

// applies reports whether a fragment with the type condition cond applies to
// an object of the named type (the spec's DoesFragmentTypeApply).
func (e *executor) applies(typeName, cond string) bool {
	if cond == typeName {
		return true
	}
	condDef := e.schema.Types[cond]
	if condDef == nil {
		return false
	}
	switch condDef.Kind {
	case ast.Interface:
		def := e.schema.Types[typeName]
		return def != nil && slices.Contains(def.Interfaces, cond)
	case ast.Union:
		return slices.Contains(condDef.Types, typeName)
	}
	return false
}

// responseKey is the field's alias, or its name without one.
func responseKey(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}
