package introspection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/vektah/gqlparser/v2/ast"
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
	var groups fieldGroups
	if err := e.collectFields(obj.typeName(), set, map[string]bool{}, &groups); err != nil {
		return err
	}
	e.buf.WriteByte('{')
	for i, g := range groups.list {
		if i > 0 {
			e.buf.WriteByte(',')
		}
		writeString(&e.buf, g.key)
		e.buf.WriteByte(':')
		if err := e.writeField(obj, g.fields); err != nil {
			return fmt.Errorf("%s: %w", g.key, err)
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

// fieldGroup is the fields of one response key, in selection order.
type fieldGroup struct {
	key    string
	fields []*ast.Field
}

// fieldGroups is an ordered map from response key to its fields.
type fieldGroups struct {
	list  []fieldGroup
	index map[string]int
}

func (g *fieldGroups) add(f *ast.Field) {
	key := responseKey(f)
	if i, ok := g.index[key]; ok {
		g.list[i].fields = append(g.list[i].fields, f)
		return
	}
	if g.index == nil {
		g.index = map[string]int{}
	}
	g.index[key] = len(g.list)
	g.list = append(g.list, fieldGroup{key: key, fields: []*ast.Field{f}})
}

// collectFields is the spec's CollectFields for an object of the named type:
// it gathers the fields of set that apply, following fragments and dropping
// what @skip and @include exclude.
func (e *executor) collectFields(typeName string, set ast.SelectionSet, visited map[string]bool, groups *fieldGroups) error {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			ok, err := e.included(sel.Directives)
			if err != nil {
				return fmt.Errorf("field %s: %w", responseKey(sel), err)
			}
			if ok {
				groups.add(sel)
			}
		case *ast.FragmentSpread:
			ok, err := e.included(sel.Directives)
			if err != nil {
				return fmt.Errorf("fragment %s: %w", sel.Name, err)
			}
			if !ok || visited[sel.Name] {
				continue
			}
			visited[sel.Name] = true
			def := sel.Definition
			if def == nil {
				return fmt.Errorf("fragment %s has no definition (operation not validated?)", sel.Name)
			}
			if !e.applies(typeName, def.TypeCondition) {
				continue
			}
			if err := e.collectFields(typeName, def.SelectionSet, visited, groups); err != nil {
				return err
			}
		case *ast.InlineFragment:
			ok, err := e.included(sel.Directives)
			if err != nil {
				return fmt.Errorf("inline fragment: %w", err)
			}
			if !ok || (sel.TypeCondition != "" && !e.applies(typeName, sel.TypeCondition)) {
				continue
			}
			if err := e.collectFields(typeName, sel.SelectionSet, visited, groups); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown selection %T", sel)
		}
	}
	return nil
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

// included evaluates @skip and @include: false when the selection is left out.
func (e *executor) included(dirs ast.DirectiveList) (bool, error) {
	for _, d := range dirs {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		cond, err := e.ifArgument(d)
		if err != nil {
			return false, err
		}
		if (d.Name == "skip") == cond {
			return false, nil
		}
	}
	return true, nil
}

// ifArgument returns the value of the directive's if argument, a literal or
// a variable.
func (e *executor) ifArgument(d *ast.Directive) (bool, error) {
	arg := d.Arguments.ForName("if")
	if arg == nil || arg.Value == nil {
		return false, fmt.Errorf("@%s has no if argument", d.Name)
	}
	v, err := arg.Value.Value(e.vars)
	if err != nil {
		return false, fmt.Errorf("@%s(if:): %w", d.Name, err)
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("@%s(if:) is %T, want a bool", d.Name, v)
	}
	return b, nil
}

// responseKey is the field's alias, or its name without one.
func responseKey(f *ast.Field) string {
	if f.Alias != "" {
		return f.Alias
	}
	return f.Name
}
