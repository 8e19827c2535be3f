package dataapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// A filter input (LeadFilter) is translated into the condition language
// (schema/condition) and compiled by it, so the data API means exactly what
// sharing rules, tag rules and scoring mean by the same condition. The
// translation remembers which argument path produced each part of the
// condition, so a problem the condition compiler finds is reported at the
// argument the caller wrote.

// filterBuilder translates one filter argument.
type filterBuilder struct {
	s     *Schema
	paths map[string][]any // condition JSON pointer -> argument path
	// vis are the conditions (on the filtered record) under which the
	// records the current lookup path goes through are in the caller's
	// scope: a filter through a lookup must not test a record the caller
	// cannot see, so such a record counts as missing.
	vis []any
}

// compileFilter compiles the filter input v (a LeadFilter) on t, found at
// argument path path. nil input gives a nil condition.
func (s *Schema) compileFilter(t *objectType, v any, path []any) (*condition.Condition, error) {
	c, _, err := s.translateFilter(t, v, path)
	return c, err
}

// filterJSON returns the filter input v in the condition language, checked
// by compiling it: what the record store's bulk writes take. nil input
// gives the condition that always holds.
func (s *Schema) filterJSON(t *objectType, v any, path []any) (json.RawMessage, error) {
	_, raw, err := s.translateFilter(t, v, path)
	if raw == nil && err == nil {
		raw = json.RawMessage(`{"and":[]}`)
	}
	return raw, err
}

func (s *Schema) translateFilter(t *objectType, v any, path []any) (*condition.Condition, json.RawMessage, error) {
	if v == nil {
		return nil, nil, nil
	}
	fb := &filterBuilder{s: s, paths: map[string][]any{}}
	cond, err := fb.object(t, "", v, path, "")
	if err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(cond)
	if err != nil {
		return nil, nil, err
	}
	c, err := condition.Compile(s.Model, t.obj, raw)
	if err != nil {
		var ps model.Problems
		if errors.As(err, &ps) && len(ps) > 0 {
			p := ps[0]
			return nil, nil, &inputError{code: CodeBadUserInput, message: p.Message, args: fb.pathOf(p.Pointer), details: ps}
		}
		return nil, nil, err
	}
	return c, raw, nil
}

// pathOf finds the argument path that produced the condition part at
// pointer (the longest recorded prefix).
func (fb *filterBuilder) pathOf(pointer string) []any {
	for p := pointer; ; {
		if path, ok := fb.paths[p]; ok {
			return path
		}
		i := strings.LastIndexByte(p, '/')
		if i < 0 {
			return nil
		}
		p = p[:i]
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// object translates a filter object on t. prefix is the lookup path that
// led here ("account." inside a lookup filter), at the condition pointer.
func (fb *filterBuilder) object(t *objectType, prefix string, v any, path []any, at string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badInput(path, "a filter must be an object")
	}
	fb.paths[at] = path
	parts := []any{}
	add := func(build func(at string) (any, error)) error {
		c, err := build(at + "/and/" + itoa(len(parts)))
		if err != nil {
			return err
		}
		if c != nil {
			parts = append(parts, c)
		}
		return nil
	}
	for _, k := range sortedKeys(m) {
		val := m[k]
		if val == nil {
			continue // an explicit null filters nothing
		}
		p := appendPath(path, k)
		var err error
		switch k {
		case "and", "or":
			err = add(func(at string) (any, error) { return fb.list(t, prefix, k, val, p, at) })
		case "not":
			err = add(func(at string) (any, error) {
				c, err := fb.object(t, prefix, val, p, at+"/not")
				if err != nil {
					return nil, err
				}
				fb.paths[at] = p
				return map[string]any{"not": c}, nil
			})
		case "tags":
			if prefix != "" {
				return nil, badInput(p, "tags can be filtered on the object itself, not through a lookup")
			}
			err = add(func(at string) (any, error) { return fb.tags(val, p, at) })
		default:
			if inv := t.inverses[k]; inv != nil {
				if prefix != "" {
					return nil, badInput(p, "related lists can be filtered on the object itself, not through a lookup")
				}
				err = add(func(at string) (any, error) { return fb.related(inv, val, p, at) })
				break
			}
			err = add(func(at string) (any, error) { return fb.field(t, prefix, k, val, p, at) })
		}
		if err != nil {
			return nil, err
		}
	}
	if len(parts) == 1 {
		// Keep the pointer mapping right: the single part moves up.
		fb.remap(at+"/and/0", at)
		return parts[0], nil
	}
	return map[string]any{"and": parts}, nil
}

// remap moves recorded pointers under from to under to.
func (fb *filterBuilder) remap(from, to string) {
	moved := map[string][]any{}
	for p, path := range fb.paths {
		if p == from || strings.HasPrefix(p, from+"/") {
			moved[to+p[len(from):]] = path
			delete(fb.paths, p)
		}
	}
	for p, path := range moved {
		fb.paths[p] = path
	}
}

func (fb *filterBuilder) list(t *objectType, prefix, op string, v any, path []any, at string) (any, error) {
	items, ok := v.([]any)
	if !ok {
		items = []any{v} // input coercion: one filter is a list of one
	}
	fb.paths[at] = path
	out := make([]any, 0, len(items))
	for i, item := range items {
		c, err := fb.object(t, prefix, item, appendPath(path, i), at+"/"+op+"/"+itoa(i))
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return map[string]any{op: out}, nil
}

func (fb *filterBuilder) tags(v any, path []any, at string) (any, error) {
	m, _ := v.(map[string]any)
	var parts []any
	for _, op := range sortedKeys(m) {
		if m[op] == nil {
			continue
		}
		p := appendPath(path, op)
		list, err := stringList(m[op], p)
		if err != nil {
			return nil, err
		}
		fb.paths[at+"/and/"+itoa(len(parts))] = p
		parts = append(parts, map[string]any{"tags": op, "value": list})
	}
	return fb.join(parts, at), nil
}

// join ands parts, or returns the only one (moving its pointer mapping).
func (fb *filterBuilder) join(parts []any, at string) any {
	switch len(parts) {
	case 0:
		return nil
	case 1:
		fb.remap(at+"/and/0", at)
		return parts[0]
	}
	return map[string]any{"and": parts}
}

func (fb *filterBuilder) related(inv *model.Inverse, v any, path []any, at string) (any, error) {
	m, _ := v.(map[string]any)
	from := fb.s.byKey[inv.From.Key]
	var parts []any
	for _, k := range sortedKeys(m) {
		if m[k] == nil {
			continue
		}
		p := appendPath(path, k)
		here := at + "/and/" + itoa(len(parts))
		fb.paths[here] = p
		sc, err := fb.scope(from)
		if err != nil {
			return nil, err
		}
		switch k {
		case "some", "none", "every":
			where, err := fb.object(from, "", m[k], p, here+"/where")
			if err != nil {
				return nil, err
			}
			parts = append(parts, map[string]any{"related": inv.Name, "quantifier": k, "where": fb.inScope(where, sc, k == "every", here+"/where")})
		case "count":
			cm, _ := m[k].(map[string]any)
			var where any
			if cm["where"] != nil {
				var err error
				if where, err = fb.object(from, "", cm["where"], appendPath(p, "where"), here+"/where"); err != nil {
					return nil, err
				}
			}
			if sc != nil {
				where = fb.inScope(where, sc, false, here+"/where")
			}
			for _, op := range sortedKeys(cm) {
				if op == "where" || cm[op] == nil {
					continue
				}
				c := map[string]any{"related": inv.Name, "count": map[string]any{"op": op, "value": cm[op]}}
				if where != nil {
					c["where"] = where
				}
				fb.paths[at+"/and/"+itoa(len(parts))] = appendPath(p, op)
				parts = append(parts, c)
			}
		}
	}
	return fb.join(parts, at), nil
}

// inScope restricts a related list's where (at pointer at; nil: every
// record) to the related records in the caller's scope sc: those must
// also meet sc, or, for every, only those must meet where.
func (fb *filterBuilder) inScope(where, sc any, every bool, at string) any {
	switch {
	case sc == nil:
		return where
	case where == nil:
		return sc
	case every:
		fb.remap(at, at+"/or/1")
		return map[string]any{"or": []any{map[string]any{"not": sc}, where}}
	}
	fb.remap(at, at+"/and/0")
	return map[string]any{"and": []any{where, sc}}
}

// field translates the filter of one field (or system field) name.
func (fb *filterBuilder) field(t *objectType, prefix, name string, v any, path []any, at string) (any, error) {
	f := t.field(name)
	if f != nil && f.Kind == model.KindLookup {
		target := fb.s.byKey[f.Target.Key]
		if target == nil {
			return nil, badInput(path, "%s cannot be filtered on", name)
		}
		outer := fb.vis
		defer func() { fb.vis = outer }()
		sc, err := fb.scope(target)
		if err != nil {
			return nil, err
		}
		if sc != nil {
			pc, ok := prefixCondition(sc, prefix+name+".")
			if !ok {
				return nil, &inputError{code: CodeForbidden, args: path,
					message: fmt.Sprintf("%s cannot be filtered on: which %s records you may read depends on their related lists or tags", name, target.obj.APIName)}
			}
			fb.vis = append(append([]any{}, outer...), pc)
		}
		return fb.object(target, prefix+name+".", v, path, at)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badInput(path, "the filter of %s must be an object of operators", name)
	}
	var parts []any
	for _, op := range sortedKeys(m) {
		val := m[op]
		if val == nil {
			continue
		}
		p := appendPath(path, op)
		here := at + "/and/" + itoa(len(parts))
		if f != nil && f.Kind == model.KindCurrency && (op == "amount" || op == "currency") {
			c, err := fb.field(t, prefix, name+"."+op, val, p, here)
			if err != nil {
				return nil, err
			}
			if c != nil {
				parts = append(parts, c)
			}
			continue
		}
		if f != nil && (f.Kind == model.KindPicklist || f.Kind == model.KindMultiPicklist) {
			val = fb.enumValues(t.enums[f], val)
		}
		fb.paths[here] = p
		fb.paths[here+"/value"] = p
		parts = append(parts, fb.visible(map[string]any{"field": prefix + name, "op": op, "value": val}))
	}
	return fb.join(parts, at), nil
}

// visible makes a comparison through lookups treat a record outside the
// caller's scope as missing (docs/conditions.md, "Missing values"): a
// comparison with a missing value is false, except ne, notIn and
// isNull: true, which are true.
func (fb *filterBuilder) visible(leaf map[string]any) any {
	if len(fb.vis) == 0 {
		return leaf
	}
	var vis any = map[string]any{"and": fb.vis}
	if len(fb.vis) == 1 {
		vis = fb.vis[0]
	}
	if op := leaf["op"]; op == "ne" || op == "notIn" || op == "isNull" && leaf["value"] == true {
		return map[string]any{"or": []any{map[string]any{"not": vis}, leaf}}
	}
	return map[string]any{"and": []any{vis, leaf}}
}

// scope returns the caller's record predicate on t as decoded JSON, or nil.
func (fb *filterBuilder) scope(t *objectType) (any, error) {
	if fb.s.Scope.Records == nil {
		return nil, nil
	}
	raw := fb.s.Scope.Records(t.obj)
	if len(raw) == 0 {
		return nil, nil
	}
	v, err := model.DecodeJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("scope of %s: %w", t.obj.APIName, err) // the permission layer's fault
	}
	return v, nil
}

// prefixCondition rewrites a condition on a lookup's target as one on the
// record holding the lookup (prefix "account."); false if it cannot be:
// related lists and tags cannot be tested through a lookup.
func prefixCondition(c any, prefix string) (any, bool) {
	m, ok := c.(map[string]any)
	if !ok {
		return nil, false
	}
	switch {
	case m["and"] != nil, m["or"] != nil:
		op := "and"
		if m["or"] != nil {
			op = "or"
		}
		items, _ := m[op].([]any)
		out := make([]any, len(items))
		for i, item := range items {
			if out[i], ok = prefixCondition(item, prefix); !ok {
				return nil, false
			}
		}
		return map[string]any{op: out}, true
	case m["not"] != nil:
		x, ok := prefixCondition(m["not"], prefix)
		return map[string]any{"not": x}, ok
	case m["field"] != nil:
		f, _ := m["field"].(string)
		return map[string]any{"field": prefix + f, "op": m["op"], "value": m["value"]}, true
	}
	return nil, false
}

// enumValues maps enum names in a filter value back to stored values.
func (fb *filterBuilder) enumValues(m *enumMap, v any) any {
	if m == nil || m.identity {
		return v
	}
	switch x := v.(type) {
	case string:
		if s, ok := m.toValue[x]; ok {
			return s
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = fb.enumValues(m, e)
		}
		return out
	}
	return v
}
