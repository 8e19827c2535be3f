package introspection

import (
	"fmt"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// schemaObject is a __Schema.
type schemaObject struct {
	s *ast.Schema
}

func (o *schemaObject) typeName() string { return "__Schema" }

func (o *schemaObject) field(name string, _ map[string]any) (any, error) {
	switch name {
	case "description":
		return optional(o.s.Description), nil
	case "types":
		names := make([]string, 0, len(o.s.Types))
		for n, def := range o.s.Types {
			if def != nil {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		types := make([]object, len(names))
		for i, n := range names {
			types[i] = &typeObject{s: o.s, def: o.s.Types[n]}
		}
		return types, nil
	case "queryType":
		return o.rootType(o.s.Query), nil
	case "mutationType":
		return o.rootType(o.s.Mutation), nil
	case "subscriptionType":
		return o.rootType(o.s.Subscription), nil
	case "directives":
		names := make([]string, 0, len(o.s.Directives))
		for n, d := range o.s.Directives {
			if d != nil {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		dirs := make([]object, len(names))
		for i, n := range names {
			dirs[i] = &directiveObject{s: o.s, d: o.s.Directives[n]}
		}
		return dirs, nil
	}
	return nil, unknownField(o, name)
}

func (o *schemaObject) rootType(def *ast.Definition) any {
	if def == nil {
		return nil
	}
	return &typeObject{s: o.s, def: def}
}

// typeObject is a __Type: a named type (def set) or a wrapping type (wrap
// set: NON_NULL when wrap.NonNull, else LIST).
type typeObject struct {
	s    *ast.Schema
	def  *ast.Definition
	wrap *ast.Type
}

// typeRef returns the __Type of a type reference such as [Tag!]!.
func typeRef(s *ast.Schema, t *ast.Type) (object, error) {
	if t == nil {
		return nil, fmt.Errorf("missing type")
	}
	if t.NonNull || t.Elem != nil {
		return &typeObject{s: s, wrap: t}, nil
	}
	return namedType(s, t.NamedType)
}

// namedType returns the __Type of the named type.
func namedType(s *ast.Schema, name string) (object, error) {
	def := s.Types[name]
	if def == nil {
		return nil, fmt.Errorf("unknown type %q", name)
	}
	return &typeObject{s: s, def: def}, nil
}

func (o *typeObject) typeName() string { return "__Type" }

func (o *typeObject) field(name string, args map[string]any) (any, error) {
	if o.wrap != nil {
		return o.wrapperField(name)
	}
	def := o.def
	switch name {
	case "kind":
		return string(def.Kind), nil
	case "name":
		return def.Name, nil
	case "description":
		return optional(def.Description), nil
	case "specifiedByURL":
		if def.Kind != ast.Scalar {
			return nil, nil
		}
		return stringArgument(def.Directives.ForName("specifiedBy"), "url"), nil
	case "fields":
		if def.Kind != ast.Object && def.Kind != ast.Interface {
			return nil, nil
		}
		return o.fields(includeDeprecated(args))
	case "interfaces":
		if def.Kind != ast.Object && def.Kind != ast.Interface {
			return nil, nil
		}
		return namedTypes(o.s, def.Interfaces)
	case "possibleTypes":
		return o.possibleTypes()
	case "enumValues":
		if def.Kind != ast.Enum {
			return nil, nil
		}
		include := includeDeprecated(args)
		values := []object{}
		for _, v := range def.EnumValues {
			if include || !isDeprecated(v.Directives) {
				values = append(values, &enumValueObject{s: o.s, v: v})
			}
		}
		return values, nil
	case "inputFields":
		if def.Kind != ast.InputObject {
			return nil, nil
		}
		return inputFields(o.s, def.Fields, includeDeprecated(args)), nil
	case "ofType":
		return nil, nil
	case "isOneOf":
		if def.Kind != ast.InputObject {
			return nil, nil
		}
		return def.Directives.ForName("oneOf") != nil, nil
	}
	return nil, unknownField(o, name)
}

// wrapperField resolves a field of a NON_NULL or LIST type.
func (o *typeObject) wrapperField(name string) (any, error) {
	switch name {
	case "kind":
		if o.wrap.NonNull {
			return "NON_NULL", nil
		}
		return "LIST", nil
	case "ofType":
		if o.wrap.NonNull {
			inner := *o.wrap
			inner.NonNull = false
			return typeRef(o.s, &inner)
		}
		return typeRef(o.s, o.wrap.Elem)
	case "name", "description", "specifiedByURL", "fields", "interfaces",
		"possibleTypes", "enumValues", "inputFields", "isOneOf":
		return nil, nil
	}
	return nil, unknownField(o, name)
}

// fields lists an object's or interface's fields in definition order,
// without the introspection fields (__schema, __type, __typename).
func (o *typeObject) fields(includeDeprecated bool) (any, error) {
	fields := []object{}
	for _, f := range o.def.Fields {
		if strings.HasPrefix(f.Name, "__") || !includeDeprecated && isDeprecated(f.Directives) {
			continue
		}
		fields = append(fields, &fieldObject{s: o.s, f: f})
	}
	return fields, nil
}

// possibleTypes lists a union's members in definition order, or the object
// types that implement an interface in the order they were defined.
func (o *typeObject) possibleTypes() (any, error) {
	switch o.def.Kind {
	case ast.Union:
		return namedTypes(o.s, o.def.Types)
	case ast.Interface:
		types := []object{}
		for _, def := range o.s.PossibleTypes[o.def.Name] {
			if def != nil && def.Kind == ast.Object {
				types = append(types, &typeObject{s: o.s, def: def})
			}
		}
		return types, nil
	}
	return nil, nil
}

// namedTypes returns the __Type of each named type.
func namedTypes(s *ast.Schema, names []string) (any, error) {
	types := make([]object, len(names))
	for i, n := range names {
		t, err := namedType(s, n)
		if err != nil {
			return nil, err
		}
		types[i] = t
	}
	return types, nil
}

// fieldObject is a __Field of an object or interface type.
type fieldObject struct {
	s *ast.Schema
	f *ast.FieldDefinition
}

func (o *fieldObject) typeName() string { return "__Field" }

func (o *fieldObject) field(name string, args map[string]any) (any, error) {
	switch name {
	case "name":
		return o.f.Name, nil
	case "description":
		return optional(o.f.Description), nil
	case "args":
		return arguments(o.s, o.f.Arguments, includeDeprecated(args)), nil
	case "type":
		return typeRef(o.s, o.f.Type)
	case "isDeprecated":
		return isDeprecated(o.f.Directives), nil
	case "deprecationReason":
		return deprecationReason(o.s, o.f.Directives), nil
	}
	return nil, unknownField(o, name)
}

// inputValueObject is an __InputValue: an argument of a field or directive,
// or a field of an input object type.
type inputValueObject struct {
	s            *ast.Schema
	name         string
	description  string
	typ          *ast.Type
	defaultValue *ast.Value
	directives   ast.DirectiveList
}

// arguments lists the __InputValue of each argument in definition order.
func arguments(s *ast.Schema, defs ast.ArgumentDefinitionList, includeDeprecated bool) []object {
	values := []object{}
	for _, a := range defs {
		if includeDeprecated || !isDeprecated(a.Directives) {
			values = append(values, &inputValueObject{
				s: s, name: a.Name, description: a.Description, typ: a.Type,
				defaultValue: a.DefaultValue, directives: a.Directives,
			})
		}
	}
	return values
}

// inputFields lists the __InputValue of each input object field in
// definition order.
func inputFields(s *ast.Schema, defs ast.FieldList, includeDeprecated bool) []object {
	values := []object{}
	for _, f := range defs {
		if includeDeprecated || !isDeprecated(f.Directives) {
			values = append(values, &inputValueObject{
				s: s, name: f.Name, description: f.Description, typ: f.Type,
				defaultValue: f.DefaultValue, directives: f.Directives,
			})
		}
	}
	return values
}

func (o *inputValueObject) typeName() string { return "__InputValue" }

func (o *inputValueObject) field(name string, _ map[string]any) (any, error) {
	switch name {
	case "name":
		return o.name, nil
	case "description":
		return optional(o.description), nil
	case "type":
		return typeRef(o.s, o.typ)
	case "defaultValue":
		if o.defaultValue == nil {
			return nil, nil
		}
		return printLiteral(o.defaultValue), nil
	case "isDeprecated":
		return isDeprecated(o.directives), nil
	case "deprecationReason":
		return deprecationReason(o.s, o.directives), nil
	}
	return nil, unknownField(o, name)
}

// enumValueObject is an __EnumValue.
type enumValueObject struct {
	s *ast.Schema
	v *ast.EnumValueDefinition
}

func (o *enumValueObject) typeName() string { return "__EnumValue" }

func (o *enumValueObject) field(name string, _ map[string]any) (any, error) {
	switch name {
	case "name":
		return o.v.Name, nil
	case "description":
		return optional(o.v.Description), nil
	case "isDeprecated":
		return isDeprecated(o.v.Directives), nil
	case "deprecationReason":
		return deprecationReason(o.s, o.v.Directives), nil
	}
	return nil, unknownField(o, name)
}

// directiveObject is a __Directive.
type directiveObject struct {
	s *ast.Schema
	d *ast.DirectiveDefinition
}

func (o *directiveObject) typeName() string { return "__Directive" }

func (o *directiveObject) field(name string, args map[string]any) (any, error) {
	switch name {
	case "name":
		return o.d.Name, nil
	case "description":
		return optional(o.d.Description), nil
	case "isRepeatable":
		return o.d.IsRepeatable, nil
	case "locations":
		locs := make([]string, len(o.d.Locations))
		for i, l := range o.d.Locations {
			locs[i] = string(l)
		}
		return locs, nil
	case "args":
		return arguments(o.s, o.d.Arguments, includeDeprecated(args)), nil
	}
	return nil, unknownField(o, name)
}

// optional returns s, or nil (null) when it is empty: gqlparser does not
// tell an empty description from a missing one.
func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// includeDeprecated reads the includeDeprecated argument; null and absent
// are false.
func includeDeprecated(args map[string]any) bool {
	b, _ := args["includeDeprecated"].(bool)
	return b
}

func isDeprecated(dirs ast.DirectiveList) bool {
	return dirs.ForName("deprecated") != nil
}

// deprecationReason returns the reason of @deprecated: its reason argument,
// else that argument's default in the schema's @deprecated definition.
func deprecationReason(s *ast.Schema, dirs ast.DirectiveList) any {
	d := dirs.ForName("deprecated")
	if d == nil {
		return nil
	}
	if d.Arguments.ForName("reason") != nil {
		return stringArgument(d, "reason")
	}
	if def := s.Directives["deprecated"]; def != nil {
		if a := def.Arguments.ForName("reason"); a != nil && a.DefaultValue != nil {
			return stringLiteral(a.DefaultValue)
		}
	}
	return "No longer supported"
}

// stringArgument returns the string value of the directive's argument, or
// nil when the directive or argument is absent or not a string.
func stringArgument(d *ast.Directive, name string) any {
	if d == nil {
		return nil
	}
	a := d.Arguments.ForName(name)
	if a == nil {
		return nil
	}
	return stringLiteral(a.Value)
}

// stringLiteral returns the value of a string literal, or nil for anything
// else (null included).
func stringLiteral(v *ast.Value) any {
	if v == nil || (v.Kind != ast.StringValue && v.Kind != ast.BlockValue) {
		return nil
	}
	return v.Raw
}

func unknownField(o object, name string) error {
	return fmt.Errorf("no field %q on %s", name, o.typeName())
}
