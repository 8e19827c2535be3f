package dataapi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// Schema is the GraphQL schema one caller sees of one tenant's model at one
// version: the validated *ast.Schema, its SDL (the download and the source
// of introspection are the same schema) and the maps from GraphQL names
// back to the model. It is immutable and safe for concurrent use.
type Schema struct {
	Model *model.Model
	Scope *Scope
	AST   *ast.Schema
	// SDL is the schema in GraphQL's schema definition language.
	SDL string
	// Digest identifies the SDL (sha256, hex): equal digests, equal schemas.
	Digest string

	objects   map[string]*objectType // by GraphQL type name
	byKey     map[string]*objectType // by object key
	queries   map[string]rootField
	mutations map[string]rootField
	// conds holds compiled record predicates by object key and condition:
	// a caller's predicate ("owner is me") is the same on every request,
	// and compiling it (with its meta-schema check) cost more than
	// planning the rest of a query. Shared by forScope's copies.
	conds *lru.Cache[string, *condition.Condition]
}

// objectType is one object as the caller sees it.
type objectType struct {
	obj      *model.Object
	names    typeNames
	fields   map[string]*model.Field   // readable user fields by API name
	inverses map[string]*model.Inverse // readable related lists by name
	edit     map[string]*model.Field   // editable user fields by API name
	enums    map[*model.Field]*enumMap
	// create, update and del are the write actions the caller may take;
	// writable is any of them (the object has inputs and editable fields).
	create, update, del, writable bool
}

// field returns the visible user field of that name, or nil.
func (t *objectType) field(name string) *model.Field { return t.fields[name] }

// BuildSchema generates the GraphQL schema of m as scope sees it.
func BuildSchema(m *model.Model, scope *Scope) (*Schema, error) {
	if scope == nil {
		scope = &Scope{}
	}
	s := &Schema{
		Model: m, Scope: scope,
		objects: map[string]*objectType{}, byKey: map[string]*objectType{},
		queries: map[string]rootField{}, mutations: map[string]rootField{},
		conds: newCondCache(),
	}
	taken := map[string]string{}
	for _, n := range reservedTypes {
		taken[n] = "a built-in type"
	}
	claim := func(name, owner string) error {
		if prev, ok := taken[name]; ok {
			return fmt.Errorf("GraphQL type %s of %s collides with %s: rename one of them", name, owner, prev)
		}
		taken[name] = owner
		return nil
	}
	for _, o := range m.Objects {
		if !scope.readObject(o) {
			continue
		}
		t := &objectType{obj: o, names: namesOf(o), fields: map[string]*model.Field{}, inverses: map[string]*model.Inverse{},
			edit: map[string]*model.Field{}, enums: map[*model.Field]*enumMap{},
			create: scope.allow(o, "create"), update: scope.allow(o, "update"), del: scope.allow(o, "delete")}
		t.writable = t.create || t.update || t.del
		if err := claim(t.names.Object, "object "+o.APIName); err != nil {
			return nil, err
		}
		s.objects[t.names.Object] = t
		s.byKey[o.Key] = t
	}
	for _, t := range s.objects {
		o := t.obj
		for _, f := range o.Fields {
			if !scope.readField(o, f) {
				continue
			}
			t.fields[f.APIName] = f
			if t.writable && scope.editField(o, f) {
				t.edit[f.APIName] = f
			}
			if f.Kind == model.KindPicklist || f.Kind == model.KindMultiPicklist {
				t.enums[f] = newEnumMap(f)
			}
		}
		for _, inv := range o.Inverses {
			if scope.readInverse(inv) {
				t.inverses[inv.Name] = inv
			}
		}
		n := t.names
		for _, name := range []string{n.Connection, n.Edge, n.Filter, n.ListFilter, n.CountFilter, n.Order, n.GroupField,
			n.GroupKey, n.Aggregate, n.Numbers, n.Values, n.CreateInput, n.UpdateInput, n.UniqueField} {
			if err := claim(name, "object "+o.APIName); err != nil {
				return nil, err
			}
		}
		for f := range t.enums {
			if err := claim(enumName(o, f), "field "+o.APIName+"."+f.APIName); err != nil {
				return nil, err
			}
			if err := claim(enumName(o, f)+"Filter", "field "+o.APIName+"."+f.APIName); err != nil {
				return nil, err
			}
		}
	}
	w := &sdlWriter{s: s}
	sdl, err := w.write()
	if err != nil {
		return nil, err
	}
	s.SDL = sdl
	sum := sha256.Sum256([]byte(sdl))
	s.Digest = hex.EncodeToString(sum[:])
	s.AST, err = gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: sdl, BuiltIn: false})
	if err != nil {
		// The generator wrote something GraphQL refuses: a bug, not bad input.
		return nil, fmt.Errorf("generated schema does not validate: %w", err)
	}
	// gqlparser's prelude declares @defer, which the executor does not
	// implement: a client must not find it in introspection (where the
	// SDL download lacks it) nor have it silently ignored.
	delete(s.AST.Directives, "defer")
	return s, nil
}

// forScope returns s planning with scope's record predicate. A cached
// schema serves every caller whose Scope has its Key, and the Key stands
// for the schema's shape; the record predicate (often "the caller's own
// records") is always taken from the caller at hand, so that it can never
// leak from one caller to another through the cache.
func (s *Schema) forScope(scope *Scope) *Schema {
	if scope == nil {
		scope = &Scope{}
	}
	if scope == s.Scope {
		return s
	}
	c := *s
	c.Scope = scope
	return &c
}

// sortedObjects returns the visible objects in model order, so the SDL is
// deterministic.
func (s *Schema) sortedObjects() []*objectType {
	out := make([]*objectType, 0, len(s.objects))
	for _, o := range s.Model.Objects {
		if t := s.byKey[o.Key]; t != nil {
			out = append(out, t)
		}
	}
	return out
}

// visibleFields returns t's readable user fields in definition order.
func (t *objectType) visibleFields() []*model.Field {
	out := make([]*model.Field, 0, len(t.fields))
	for _, f := range t.obj.Fields {
		if t.fields[f.APIName] != nil {
			out = append(out, f)
		}
	}
	return out
}

// visibleInverses returns t's readable related lists in model order.
func (t *objectType) visibleInverses() []*model.Inverse {
	out := make([]*model.Inverse, 0, len(t.inverses))
	for _, inv := range t.obj.Inverses {
		if t.inverses[inv.Name] != nil {
			out = append(out, inv)
		}
	}
	return out
}

// description renders a GraphQL block string.
func description(b *strings.Builder, indent string, parts ...string) {
	var lines []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			lines = append(lines, p)
		}
	}
	if len(lines) == 0 {
		return
	}
	body := strings.ReplaceAll(strings.Join(lines, "\n\n"), `"""`, `\"""`)
	b.WriteString(indent + `"""` + "\n")
	for _, l := range strings.Split(body, "\n") {
		b.WriteString(indent + l + "\n")
	}
	b.WriteString(indent + `"""` + "\n")
}

// newCondCache returns the bounded cache of compiled record predicates.
func newCondCache() *lru.Cache[string, *condition.Condition] {
	c, _ := lru.New[string, *condition.Condition](4096) // fails only for a size <= 0
	return c
}
