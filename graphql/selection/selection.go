// Package selection implements the GraphQL spec's CollectFields over
// gqlparser's AST: which fields of a selection set apply to an object,
// after fragments and @skip/@include. Lattice's two executors of
// generated schemas, the data API's planner and the introspection
// resolver, both use it, so they cannot disagree on what a query selects.
package selection

import "github.com/vektah/gqlparser/v2/ast"

// Collect returns the fields of set that apply to an object of the named
// type, one per response key in selection order, following fragments
// whose type condition is typeName or one implements reports true for
// (nil: none), and leaving out what @skip and @include exclude. Fields
// sharing a response key (which validation guarantees are the same field
// with the same arguments) are merged into one: a copy of the first whose
// selection set is all of theirs. vars are the operation's coerced
// variables. The document must be validated.
func Collect(set ast.SelectionSet, typeName string, implements func(string) bool, vars map[string]any) []*ast.Field {
	c := collector{typeName: typeName, implements: implements, vars: vars, index: map[string]int{}}
	c.walk(set)
	return c.out
}

type collector struct {
	typeName   string
	implements func(string) bool
	vars       map[string]any
	out        []*ast.Field
	index      map[string]int // response key -> position in out
	visited    map[string]bool
}

func (c *collector) walk(set ast.SelectionSet) {
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if !included(s.Directives, c.vars) {
				continue
			}
			key := s.Alias
			if key == "" {
				key = s.Name
			}
			if i, ok := c.index[key]; ok {
				merged := *c.out[i]
				merged.SelectionSet = append(append(ast.SelectionSet{}, merged.SelectionSet...), s.SelectionSet...)
				c.out[i] = &merged
				continue
			}
			c.index[key] = len(c.out)
			c.out = append(c.out, s)
		case *ast.InlineFragment:
			if included(s.Directives, c.vars) && c.applies(s.TypeCondition) {
				c.walk(s.SelectionSet)
			}
		case *ast.FragmentSpread:
			if !included(s.Directives, c.vars) || s.Definition == nil || c.visited[s.Name] {
				continue
			}
			if c.visited == nil {
				c.visited = map[string]bool{}
			}
			c.visited[s.Name] = true // the spec collects a fragment once
			if c.applies(s.Definition.TypeCondition) {
				c.walk(s.Definition.SelectionSet)
			}
		}
	}
}

// applies is the spec's DoesFragmentTypeApply.
func (c *collector) applies(cond string) bool {
	return cond == "" || cond == c.typeName || (c.implements != nil && c.implements(cond))
}

// included evaluates @skip and @include: false when the selection is left
// out. Their if argument is a Boolean literal or variable.
func included(ds ast.DirectiveList, vars map[string]any) bool {
	for _, d := range ds {
		if d.Name != "skip" && d.Name != "include" {
			continue
		}
		a := d.Arguments.ForName("if")
		if a == nil || a.Value == nil {
			continue
		}
		var b bool
		if a.Value.Kind == ast.Variable {
			b, _ = vars[a.Value.Raw].(bool)
		} else {
			b = a.Value.Raw == "true"
		}
		if d.Name == "skip" && b || d.Name == "include" && !b {
			return false
		}
	}
	return true
}
