package transfer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// targetKind says what a column of a file holds.
type targetKind int

const (
	targetIgnore targetKind = iota // not imported
	targetField                    // a field's value
	targetRef                      // a lookup given by a unique field of its target
	targetID                       // the record's id
	targetOwner                    // the record's owner
)

// target is where one column's values go.
type target struct {
	kind  targetKind
	name  string       // what the column maps to, as written ("account.website")
	field *model.Field // the field (targetField), the lookup (targetRef)
	by    *model.Field // the target's unique field (targetRef)
}

// readOnlyColumns are system fields Lattice sets. Columns named after them
// (as an export writes them) are skipped on import, like auto-numbers.
var readOnlyColumns = map[string]bool{
	"version": true, "createdAt": true, "updatedAt": true, "createdBy": true, "updatedBy": true,
	"tags": true, "score": true, "grade": true, "deletedAt": true,
}

// ParseMap parses --map entries: "column=target" pairs, comma separated,
// where target is a field, a lookup path "lookup.uniqueField", id, owner,
// or nothing to skip the column.
func ParseMap(entries []string) (map[string]string, error) {
	out := map[string]string{}
	for _, e := range entries {
		for _, pair := range strings.Split(e, ",") {
			if strings.TrimSpace(pair) == "" {
				continue
			}
			i := strings.LastIndexByte(pair, '=')
			if i <= 0 {
				return nil, apierror.Invalidf("map", "invalid_map", "--map entry %q is not column=field", pair)
			}
			col, to := pair[:i], strings.TrimSpace(pair[i+1:])
			if _, dup := out[col]; dup {
				return nil, apierror.Invalidf("map", "invalid_map", "--map names column %q twice", col)
			}
			out[col] = to
		}
	}
	return out, nil
}

// mapper resolves column names (CSV headers, NDJSON keys) to targets.
type mapper struct {
	o             *model.Object
	explicit      map[string]string
	ignoreUnknown bool
	cache         map[string]*target
	ignored       map[string]bool // columns skipped because read-only
}

func newMapper(o *model.Object, explicit map[string]string, ignoreUnknown bool) (*mapper, error) {
	m := &mapper{o: o, explicit: explicit, ignoreUnknown: ignoreUnknown, cache: map[string]*target{}, ignored: map[string]bool{}}
	// Every explicit target must make sense, whether or not the file has
	// the column.
	for col, to := range explicit {
		if to == "" {
			continue
		}
		if _, err := m.resolve(to, true); err != nil {
			return nil, apierror.Invalidf("map", "invalid_map", "--map %s=%s: %s", col, to, err.Error())
		}
	}
	return m, nil
}

// column returns the target of a column; an unknown column is an error
// unless unknown columns are ignored.
func (m *mapper) column(col string) (*target, error) {
	if t, ok := m.cache[col]; ok {
		return t, nil
	}
	name, explicit := m.explicit[col]
	if !explicit {
		name = strings.TrimSpace(col)
	}
	var t *target
	var err error
	if explicit && name == "" {
		t = &target{kind: targetIgnore}
	} else if t, err = m.resolve(name, explicit); err != nil {
		if explicit || !m.ignoreUnknown || !isUnknown(err) {
			return nil, err
		}
		t, err = &target{kind: targetIgnore, name: name}, nil
	}
	// NDJSON keys vary by line: bound what is remembered of them.
	if t.kind == targetIgnore && !explicit && name != "" && len(m.ignored) < maxRemembered {
		m.ignored[col] = true
	}
	if len(m.cache) < maxRemembered*10 {
		m.cache[col] = t
	}
	return t, err
}

// maxRemembered bounds the ignored column names a summary lists.
const maxRemembered = 100

type unknownColumn struct{ msg string }

func (e *unknownColumn) Error() string { return e.msg }

func isUnknown(err error) bool { _, ok := err.(*unknownColumn); return ok }

// resolve maps a target name. Read-only targets are skipped when they come
// from a file's own column names and refused when asked for by --map.
func (m *mapper) resolve(name string, explicit bool) (*target, error) {
	o := m.o
	switch {
	case name == "id":
		return &target{kind: targetID, name: name}, nil
	case name == "owner":
		return &target{kind: targetOwner, name: name}, nil
	case readOnlyColumns[name]:
		if explicit {
			return nil, fmt.Errorf("%s is a system field set by Lattice", name)
		}
		return &target{kind: targetIgnore, name: name}, nil
	}
	if f := o.Field(name); f != nil {
		if f.Kind == model.KindAutoNumber {
			if explicit {
				return nil, fmt.Errorf("%s is numbered automatically", name)
			}
			return &target{kind: targetIgnore, name: name}, nil
		}
		return &target{kind: targetField, name: name, field: f}, nil
	}
	if lookup, by, ok := strings.Cut(name, "."); ok {
		if by == "id" {
			if f := o.Field(lookup); f != nil && f.Kind == model.KindLookup {
				return &target{kind: targetField, name: name, field: f}, nil
			}
		}
		lf, bf, err := records.RefField(o, lookup, by)
		if err != nil {
			if o.Field(lookup) == nil {
				return nil, &unknownColumn{fmt.Sprintf("%s has no field %q", o.APIName, lookup)}
			}
			return nil, fmt.Errorf("%s", err.(*apierror.Error).Message)
		}
		return &target{kind: targetRef, name: name, field: lf, by: bf}, nil
	}
	return nil, &unknownColumn{fmt.Sprintf("%s has no field %q (map the column with --map or skip it with --ignore-unknown)", o.APIName, name)}
}

// header maps a CSV header. Two columns for the same target are refused.
func (m *mapper) header(cols []string) ([]*target, error) {
	out := make([]*target, len(cols))
	seen := map[string]string{}
	var problems []string
	for i, c := range cols {
		t, err := m.column(c)
		if err != nil {
			problems = append(problems, fmt.Sprintf("column %d %q: %v", i+1, c, err))
			continue
		}
		out[i] = t
		if t.kind == targetIgnore {
			continue
		}
		key := t.name
		if t.field != nil {
			key = t.field.APIName // account and account.website set the same field
		}
		if prev, dup := seen[key]; dup {
			problems = append(problems, fmt.Sprintf("columns %q and %q both set %s", prev, c, key))
			continue
		}
		seen[key] = c
	}
	if len(problems) > 0 {
		return nil, apierror.Invalidf("header", "invalid_header", "the header does not map onto %s: %s", m.o.APIName, strings.Join(problems, "; "))
	}
	return out, nil
}

// ignoredColumns lists the columns skipped as read-only or unknown.
func (m *mapper) ignoredColumns() []string {
	out := make([]string, 0, len(m.ignored))
	for c := range m.ignored {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}
