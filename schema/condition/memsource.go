package condition

import (
	"github.com/latticecrm/lattice/schema/model"
)

// MemorySource is a Source over records held in memory: for tests,
// previews and evaluating conditions over a loaded batch. Add live records
// only, with ids and lookup values in lower case as Lattice stores them.
// It is not safe for concurrent Add; reads after the last Add are.
type MemorySource struct {
	byID    map[string]map[string]*Record   // object key -> id -> record
	related map[relKey]map[string][]*Record // lookup -> target id -> records
}

type relKey struct{ object, field string }

// NewMemorySource returns an empty MemorySource.
func NewMemorySource() *MemorySource {
	return &MemorySource{byID: map[string]map[string]*Record{}, related: map[relKey]map[string][]*Record{}}
}

// Add adds a live record of object o.
func (s *MemorySource) Add(o *model.Object, r *Record) {
	ids := s.byID[o.Key]
	if ids == nil {
		ids = map[string]*Record{}
		s.byID[o.Key] = ids
	}
	ids[r.ID] = r
	for _, f := range o.Fields {
		if f.Kind != model.KindLookup {
			continue
		}
		target, ok := r.Values[f.Key].(string)
		if !ok {
			continue
		}
		k := relKey{o.Key, f.Key}
		if s.related[k] == nil {
			s.related[k] = map[string][]*Record{}
		}
		s.related[k][target] = append(s.related[k][target], r)
	}
}

// Record implements Source.
func (s *MemorySource) Record(o *model.Object, id string) *Record { return s.byID[o.Key][id] }

// Related implements Source.
func (s *MemorySource) Related(inv *model.Inverse, id string) []*Record {
	return s.related[relKey{inv.From.Key, inv.Field.Key}][id]
}
