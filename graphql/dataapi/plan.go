package dataapi

import (
	"crypto/sha256"
	"encoding/json"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// A plan is a query operation compiled to its statements, kept so the
// next request with the same document skips compiling. Compiling renders
// every argument as a bound parameter; most come from the document or
// from variables whose values shape the statement (a filter, a page
// size), and those values are part of the plan's key. Variables used
// only where their value is a plain parameter (a root field's record id:
// `account(id: $id)`, the hottest query there is) are left out of the key
// and bound again from each request's variables: the plan keeps a hole
// for them.
type plan struct {
	entries []rootEntry
	holes   []hole
}

// hole is a parameter of a plan bound from a request's variables.
type hole struct {
	entry, arg int // entries[entry].args[arg]
	bind       binder
}

// binder reads a parameter's value from the variables, failing exactly as
// compiling with those variables would.
type binder func(vars map[string]any) (any, error)

// planKey identifies a plan: the tenant's schema as the caller sees it
// (version and scope), the records the caller reaches, the document, the
// operation, and the values of the variables the plan depends on.
type planKey struct {
	tenant    string
	version   int
	scope     string
	records   string
	document  [32]byte
	operation string
	vars      string
}

// planKeyOf returns the key of the plan of op for this request, and
// whether the request's plan may be cached at all: a caller whose record
// predicates have no key (a Scope built by hand, not by ScopeOf) gets
// none, since two such callers with the same Key may reach different
// records.
func planKeyOf(s *Schema, caller Caller, doc *document, op *ast.OperationDefinition, vars map[string]any) (planKey, bool) {
	sc := s.Scope
	if sc.Records != nil && sc.RecordsKey == "" {
		return planKey{}, false
	}
	k := planKey{tenant: caller.TenantID, version: s.Model.Version, scope: sc.Key, records: sc.RecordsKey,
		document: doc.hash, operation: op.Name}
	late := doc.late[op]
	shaping := make(map[string]any, len(vars))
	for name, v := range vars {
		if !late[name] {
			shaping[name] = v
		}
	}
	if len(shaping) > 0 {
		b, err := json.Marshal(shaping) // map keys sorted: one text per value set
		if err != nil {
			return planKey{}, false
		}
		sum := sha256.Sum256(b)
		k.vars = string(sum[:])
	}
	return k, true
}

// instantiate returns the plan's entries with its holes bound from vars.
// Entries without holes are shared: nothing downstream modifies them.
func (p *plan) instantiate(vars map[string]any) ([]rootEntry, gqlerror.List) {
	if len(p.holes) == 0 {
		return p.entries, nil
	}
	entries := append([]rootEntry(nil), p.entries...)
	copied := make([]bool, len(entries))
	var errs gqlerror.List
	for _, h := range p.holes {
		e := &entries[h.entry]
		v, err := h.bind(vars)
		if err != nil {
			errs = append(errs, fieldError(e.field, err))
			continue
		}
		if !copied[h.entry] {
			e.args = append([]any(nil), e.args...)
			copied[h.entry] = true
		}
		e.args[h.arg] = v
	}
	return entries, errs
}

// document is a parsed and validated document and, per query operation,
// the variables its plans bind late (see plan).
type document struct {
	doc  *ast.QueryDocument
	hash [32]byte
	late map[*ast.OperationDefinition]map[string]bool
}

// lateVariables returns the variables of op used only as the id of a
// by-id root field written directly in the operation (not in a
// fragment): `account(id: $id)` or `node(id: $id)`. Any other use of a
// variable (a filter, a directive, a list) makes its value part of the
// plan's key.
func lateVariables(s *Schema, op *ast.OperationDefinition) map[string]bool {
	if op.Operation != ast.Query || len(op.VariableDefinitions) == 0 {
		return nil
	}
	uses := map[string]int{}
	countVariables(op.SelectionSet, uses, map[*ast.FragmentDefinition]bool{})
	idUses := map[string]int{}
	for _, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			continue
		}
		if name, ok := lateID(s, f); ok {
			idUses[name]++
		}
	}
	var late map[string]bool
	for name, n := range idUses {
		if uses[name] == n {
			if late == nil {
				late = map[string]bool{}
			}
			late[name] = true
		}
	}
	return late
}

// lateID returns the variable f's id argument is, if f is a by-id root
// field (a record or a node) whose id is exactly a variable.
func lateID(s *Schema, f *ast.Field) (string, bool) {
	rf, ok := s.queries[f.Name]
	if !ok || (rf.kind != rootOne && rf.kind != rootNode) {
		return "", false
	}
	a := f.Arguments.ForName("id")
	if a == nil || a.Value == nil || a.Value.Kind != ast.Variable {
		return "", false
	}
	return a.Value.Raw, true
}

// countVariables counts every reference to a variable in set: field
// arguments, directive arguments, nested values, fragments included.
func countVariables(set ast.SelectionSet, uses map[string]int, seen map[*ast.FragmentDefinition]bool) {
	for _, sel := range set {
		switch x := sel.(type) {
		case *ast.Field:
			for _, a := range x.Arguments {
				countValue(a.Value, uses)
			}
			countDirectives(x.Directives, uses)
			countVariables(x.SelectionSet, uses, seen)
		case *ast.InlineFragment:
			countDirectives(x.Directives, uses)
			countVariables(x.SelectionSet, uses, seen)
		case *ast.FragmentSpread:
			countDirectives(x.Directives, uses)
			if d := x.Definition; d != nil && !seen[d] {
				seen[d] = true
				countDirectives(d.Directives, uses)
				countVariables(d.SelectionSet, uses, seen)
			}
		}
	}
}

func countDirectives(ds ast.DirectiveList, uses map[string]int) {
	for _, d := range ds {
		for _, a := range d.Arguments {
			countValue(a.Value, uses)
		}
	}
}

func countValue(v *ast.Value, uses map[string]int) {
	if v == nil {
		return
	}
	if v.Kind == ast.Variable {
		uses[v.Raw]++
		return
	}
	for _, c := range v.Children {
		countValue(c.Value, uses)
	}
}

// bindID binds a record id variable (see idArg).
func bindID(name string) binder {
	return func(vars map[string]any) (any, error) {
		args := map[string]any{}
		if v, ok := vars[name]; ok {
			args["id"] = v
		}
		return idArg(args, "id")
	}
}
