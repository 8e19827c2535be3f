package scoring

import (
	"encoding/json"
	"strings"

	"github.com/latticecrm/lattice/schema/model"
)

// A rule set's score of a record depends on the record itself and on the
// records its rules reach: through lookups (account.industry) and related
// lists (activities), nested. A depPath is one way from the scored object
// to another object; when a record of that object changes, walking the
// path backwards finds the scored records to rescore.

// step is one move along a depPath: a lookup hop (from the current object
// to the lookup's target) or a related list (from the current object to
// the records of inv.From whose lookup inv.Field points at it).
type step struct {
	hop *model.Field
	inv *model.Inverse
}

func (s step) to() *model.Object {
	if s.hop != nil {
		return s.hop.Target
	}
	return s.inv.From
}

type depPath []step

func (p depPath) key() string {
	var b strings.Builder
	for _, s := range p {
		if s.hop != nil {
			b.WriteString(">" + s.hop.Key)
		} else {
			b.WriteString("<" + s.inv.From.Key + "." + s.inv.Field.Key)
		}
	}
	return b.String()
}

// end is the object a path reaches from the scored object o.
func (p depPath) end(o *model.Object) *model.Object {
	if len(p) == 0 {
		return o
	}
	return p[len(p)-1].to()
}

// dependencies lists every non-empty path the rule set's conditions and
// related lists reach, without duplicates.
func dependencies(rs *RuleSet) []depPath {
	d := &depCollector{seen: map[string]bool{}}
	for i, r := range rs.Rules {
		rule := rs.Doc.Rules[i]
		if r.inv != nil {
			p := depPath{{inv: r.inv}}
			d.add(p)
			if len(rule.Where) > 0 {
				d.walk(r.inv.From, decode(rule.Where), p)
			}
			continue
		}
		if len(rule.When) > 0 {
			d.walk(rs.Object, decode(rule.When), nil)
		}
	}
	return d.paths
}

type depCollector struct {
	paths []depPath
	seen  map[string]bool
}

func (d *depCollector) add(p depPath) {
	if k := p.key(); !d.seen[k] {
		d.seen[k] = true
		d.paths = append(d.paths, append(depPath(nil), p...))
	}
}

func decode(raw json.RawMessage) any {
	v, _ := model.DecodeJSON(raw)
	return v
}

// walk follows a compiled (so well-formed) condition on object o reached
// by prefix.
func (d *depCollector) walk(o *model.Object, v any, prefix depPath) {
	m, _ := v.(map[string]any)
	switch {
	case m["and"] != nil || m["or"] != nil:
		list, _ := m["and"].([]any)
		if list == nil {
			list, _ = m["or"].([]any)
		}
		for _, c := range list {
			d.walk(o, c, prefix)
		}
	case m["not"] != nil:
		d.walk(o, m["not"], prefix)
	case m["field"] != nil:
		path, _ := m["field"].(string)
		cur, p := o, prefix
		segs := strings.Split(path, ".")
		for _, seg := range segs[:len(segs)-1] {
			f := cur.Field(seg)
			if f == nil || f.Kind != model.KindLookup || f.Target == nil {
				break // a currency's parts
			}
			p = append(append(depPath(nil), p...), step{hop: f})
			d.add(p)
			cur = f.Target
		}
	case m["related"] != nil:
		name, _ := m["related"].(string)
		for _, inv := range o.Inverses {
			if inv.Name != name {
				continue
			}
			p := append(append(depPath(nil), prefix...), step{inv: inv})
			d.add(p)
			if w, ok := m["where"]; ok {
				d.walk(inv.From, w, p)
			}
		}
	}
}
