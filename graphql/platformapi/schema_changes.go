package platformapi

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
)

// Schema changes need platform:schema manage. Each mutation builds the
// change as catalog.Apply takes it (a bundle of the objects it replaces,
// merged, or the whole schema) and lets the catalog validate, diff and
// apply it in one transaction, as `lattice schema apply` does. What this
// file adds is the translation of the catalog's problems into pointers
// into the mutation's arguments.

type schemaResultR struct {
	res    catalog.Result
	dryRun bool
	jobs   []slotJobR
}

func (x schemaResultR) Version() int32     { return int32Of(x.res.Version) }
func (x schemaResultR) Applied() bool      { return x.res.Applied }
func (x schemaResultR) DryRun() bool       { return x.dryRun }
func (x schemaResultR) Changes() []changeR { return changes(x.res.Changes) }
func (x schemaResultR) Jobs() []slotJobR   { return x.jobs }
func (x schemaResultR) JobCount() int32    { return int32Of(x.res.Jobs) }

// plan says where the problems of one catalog.Apply point in the
// mutation's arguments. The catalog reports problems found while preparing
// the composed schema at /objects/<i> of the composed bundle (the current
// objects with the submitted ones merged in, or, replacing, the submitted
// ones), and problems found in the stored data (values_do_not_convert,
// duplicate_values) at /objects/<i> of the submitted bundle.
type plan struct {
	// names are the composed bundle's object API names; owner maps a
	// composed index to the submitted object's index (-1: an object the
	// change did not submit).
	names []string
	owner []int
	// submitted are the submitted objects' API names.
	submitted []string
	// arg maps a pointer inside submitted object k to the arguments; false
	// when the place is not in the arguments (the pointer then stays
	// inside the object, named by Problem.Object).
	arg func(k int, rest string) (string, bool)
	// top prefixes pointers outside any object.
	top string
}

// newPlan composes the object list as catalog.Apply does (compose) to know
// which composed object is which.
func newPlan(cur *model.Bundle, submitted []*model.ObjectDef, mode catalog.Mode, arg func(int, string) (string, bool), top string) *plan {
	p := &plan{arg: arg, top: top}
	for _, o := range submitted {
		p.submitted = append(p.submitted, o.Meta.APIName)
	}
	if mode == catalog.Replace {
		p.names = slices.Clone(p.submitted)
		for k := range submitted {
			p.owner = append(p.owner, k)
		}
		return p
	}
	type entry struct{ key, name string }
	var composed []entry
	for _, o := range cur.Objects {
		composed = append(composed, entry{o.Meta.Key, o.Meta.APIName})
		p.owner = append(p.owner, -1)
	}
	for k, o := range submitted {
		replaced := false
		for i, old := range composed {
			if (o.Meta.Key != "" && o.Meta.Key == old.key) || (o.Meta.Key == "" && o.Meta.APIName == old.name) {
				composed[i] = entry{o.Meta.Key, o.Meta.APIName}
				p.owner[i] = k
				replaced = true
				break
			}
		}
		if !replaced {
			composed = append(composed, entry{o.Meta.Key, o.Meta.APIName})
			p.owner = append(p.owner, k)
		}
	}
	for _, e := range composed {
		p.names = append(p.names, e.name)
	}
	return p
}

// derivedPlan is the plan of a change the mutation derived from the
// current schema (no object is in the arguments).
func derivedPlan(next *model.Bundle) *plan {
	p := &plan{arg: func(int, string) (string, bool) { return "", false }}
	for k, o := range next.Objects {
		p.names = append(p.names, o.Meta.APIName)
		p.submitted = append(p.submitted, o.Meta.APIName)
		p.owner = append(p.owner, k)
	}
	return p
}

func (p *plan) mapProblem(q Problem) Problem {
	rest, ok := strings.CutPrefix(q.Pointer, "/objects/")
	if !ok {
		q.Pointer = p.top + q.Pointer
		return q
	}
	idx, rest, _ := strings.Cut(rest, "/")
	if rest != "" {
		rest = "/" + rest
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		q.Pointer = p.top + q.Pointer
		return q
	}
	k, name := -1, ""
	if q.Code == "values_do_not_convert" || q.Code == "duplicate_values" {
		if i < len(p.submitted) {
			k, name = i, p.submitted[i]
		}
	} else if i < len(p.owner) {
		k, name = p.owner[i], p.names[i]
	}
	if k >= 0 {
		if ptr, ok := p.arg(k, rest); ok {
			q.Pointer = ptr
			return q
		}
	}
	q.Pointer, q.Object = rest, name
	return q
}

// applySchema runs one schema change through the catalog.
func (r *Resolver) applySchema(ctx context.Context, c *caller, b *model.Bundle, mode catalog.Mode, dryRun bool, message *string, p *plan) (*schemaResultR, error) {
	tid := c.principal.TenantID
	msg := ""
	if message != nil {
		msg = *message
	}
	res, err := r.api.svc.Catalog.Apply(ctx, tid, catalog.ApplyRequest{Bundle: b, Mode: mode, DryRun: dryRun, Message: msg, Actor: c.actor()})
	if err != nil {
		return nil, r.fail(ctx, err, where{mapPointer: p.mapProblem})
	}
	if res.Changes == nil {
		res.Changes = []model.Change{}
	}
	out := &schemaResultR{res: res, dryRun: dryRun, jobs: []slotJobR{}}
	if res.Applied && res.Jobs > 0 {
		if out.jobs, err = r.slotJobs(ctx, tid, true); err != nil {
			return nil, r.fail(ctx, err, where{})
		}
		// The server's loop would run them within 10 s; start now.
		r.api.background("slot jobs", tid, func(ctx context.Context) error {
			_, err := r.api.svc.Catalog.RunJobs(ctx, tid, nil)
			return err
		})
	}
	return out, nil
}

// schemaManager returns the caller (with platform:schema manage) and the
// tenant's current model.
func (r *Resolver) schemaManager(ctx context.Context) (*caller, *model.Model, error) {
	c, err := r.require(ctx, "schema", "manage")
	if err != nil {
		return nil, nil, err
	}
	m, err := r.api.svc.Catalog.Model(ctx, c.principal.TenantID)
	if err != nil {
		return nil, nil, r.fail(ctx, err, where{})
	}
	return c, m, nil
}

// parseObject validates an object definition argument against the object
// meta-schema, its problems pointing under base.
func (r *Resolver) parseObject(ctx context.Context, raw JSON, base string) (*model.ObjectDef, error) {
	o, err := r.api.svc.Catalog.Validator().ParseObject(raw)
	if err != nil {
		return nil, r.fail(ctx, err, at(base))
	}
	return o, nil
}

// parseField validates a field's JSON Schema argument, on its own, with
// the object meta-schema, its problems pointing under base.
func (r *Resolver) parseField(ctx context.Context, raw JSON, name, base string) (*model.FieldDef, error) {
	var probe any
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, badInput(base, "invalid_json", "%v", err)
	}
	doc := fmt.Sprintf(`{"x-lattice-object": {"apiName": "Field"}, "properties": {%q: %s}}`, name, raw)
	o, err := r.api.svc.Catalog.Validator().ParseObject([]byte(doc))
	if err != nil {
		prefix := "/properties/" + pointerToken(name)
		return nil, r.fail(ctx, err, where{mapPointer: func(q Problem) Problem {
			if rest, ok := strings.CutPrefix(q.Pointer, prefix); ok {
				q.Pointer = base + rest
			} else {
				q.Pointer = base
			}
			return q
		}})
	}
	return o.Properties[0].Schema, nil
}

// pointerToken escapes s as one JSON pointer token.
func pointerToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

type definitionArgs struct {
	Definition JSON
	Message    *string
	DryRun     bool
}

// CreateObject creates an object; a live object of that name is a conflict.
func (r *Resolver) CreateObject(ctx context.Context, args definitionArgs) (*schemaResultR, error) {
	return r.putObject(ctx, args, true)
}

// ApplyObject creates or replaces an object.
func (r *Resolver) ApplyObject(ctx context.Context, args definitionArgs) (*schemaResultR, error) {
	return r.putObject(ctx, args, false)
}

func (r *Resolver) putObject(ctx context.Context, args definitionArgs, create bool) (*schemaResultR, error) {
	c, m, err := r.schemaManager(ctx)
	if err != nil {
		return nil, err
	}
	o, err := r.parseObject(ctx, args.Definition, "/definition")
	if err != nil {
		return nil, err
	}
	if create {
		for _, live := range m.Bundle.Objects {
			if live.Meta.APIName == o.Meta.APIName || (o.Meta.Key != "" && live.Meta.Key == o.Meta.Key) {
				e := badInput("/definition/x-lattice-object/apiName", "object_exists",
					"an object %s already exists; change it with applyObject or changeField", live.Meta.APIName)
				e.ext["code"] = CodeConflict
				return nil, e
			}
		}
	}
	objs := []*model.ObjectDef{o}
	p := newPlan(m.Bundle, objs, catalog.Merge, func(_ int, rest string) (string, bool) { return "/definition" + rest, true }, "/definition")
	return r.applySchema(ctx, c, &model.Bundle{Format: model.BundleFormat, Objects: objs}, catalog.Merge, args.DryRun, args.Message, p)
}

// editObject applies a copy of the live object def, changed by edit,
// merged into the schema. arg maps pointers inside the object to the
// mutation's arguments.
func (r *Resolver) editObject(ctx context.Context, c *caller, m *model.Model, object string, dryRun bool, message *string,
	edit func(o *model.ObjectDef) error, arg func(rest string) (string, bool)) (*schemaResultR, error) {
	live := m.Bundle.Object(object)
	if live == nil {
		return nil, r.fail(ctx, errObjectNotFound(object), where{})
	}
	o, err := withoutSlots(live)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	if err := edit(o); err != nil {
		return nil, err
	}
	objs := []*model.ObjectDef{o}
	p := newPlan(m.Bundle, objs, catalog.Merge, func(_ int, rest string) (string, bool) { return arg(rest) }, "")
	return r.applySchema(ctx, c, &model.Bundle{Format: model.BundleFormat, Objects: objs}, catalog.Merge, dryRun, message, p)
}

func errObjectNotFound(name string) error {
	return badInputKind(CodeNotFound, "/object", "object_not_found", "no object %q in this tenant's schema", name)
}

func badInputKind(code, pointer, reason, format string, args ...any) *Error {
	e := badInput(pointer, reason, format, args...)
	e.ext["code"] = code
	return e
}

// fieldArg maps pointers inside the object being edited that concern the
// field name to the mutation's arguments: the field's schema to
// /definition (if the mutation has one), the field itself to nameArg.
func fieldArg(name, nameArg string, hasDefinition bool) func(rest string) (string, bool) {
	prefix := "/properties/" + pointerToken(name)
	return func(rest string) (string, bool) {
		switch {
		case rest == prefix:
			return nameArg, true
		case strings.HasPrefix(rest, prefix+"/") && hasDefinition:
			return "/definition" + strings.TrimPrefix(rest, prefix), true
		case strings.HasPrefix(rest, prefix+"/"):
			return nameArg, true
		}
		return "", false
	}
}

// RemoveObject removes an object, recoverably.
func (r *Resolver) RemoveObject(ctx context.Context, args struct {
	Name    string
	Message *string
	DryRun  bool
}) (*schemaResultR, error) {
	c, m, err := r.schemaManager(ctx)
	if err != nil {
		return nil, err
	}
	if m.Bundle.Object(args.Name) == nil {
		return nil, badInputKind(CodeNotFound, "/name", "object_not_found", "no object %q in this tenant's schema", args.Name)
	}
	// Removing needs the whole schema without the object (catalog.Replace).
	next := &model.Bundle{Format: model.BundleFormat, Name: m.Bundle.Name, Description: m.Bundle.Description}
	for _, o := range m.Bundle.Objects {
		if o.Meta.APIName != args.Name {
			next.Objects = append(next.Objects, o)
		}
	}
	if next.Objects == nil {
		next.Objects = []*model.ObjectDef{}
	}
	return r.applySchema(ctx, c, next, catalog.Replace, args.DryRun, args.Message, derivedPlan(next))
}

// RestoreObject restores a removed object by API name or key.
func (r *Resolver) RestoreObject(ctx context.Context, args struct {
	Object  string
	Message *string
	DryRun  bool
}) (*schemaResultR, error) {
	c, m, err := r.schemaManager(ctx)
	if err != nil {
		return nil, err
	}
	var removed *model.ObjectDef
	for _, o := range m.Bundle.RemovedObjects {
		if o.Meta.Key == args.Object || (o.Meta.APIName == args.Object &&
			(removed == nil || o.Meta.RemovedAt != nil && removed.Meta.RemovedAt != nil && o.Meta.RemovedAt.After(*removed.Meta.RemovedAt))) {
			removed = o
		}
	}
	if removed == nil {
		return nil, badInputKind(CodeNotFound, "/object", "object_not_found", "no removed object %q to restore (it may have been purged)", args.Object)
	}
	if m.Bundle.Object(removed.Meta.APIName) != nil {
		return nil, badInputKind(CodeConflict, "/object", "name_taken",
			"a live object is named %s; rename it first, or restore by key after renaming", removed.Meta.APIName)
	}
	o, err := withoutSlots(removed)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	o.Meta.RemovedAt = nil
	objs := []*model.ObjectDef{o}
	p := newPlan(m.Bundle, objs, catalog.Merge, func(int, string) (string, bool) { return "", false }, "")
	return r.applySchema(ctx, c, &model.Bundle{Format: model.BundleFormat, Objects: objs}, catalog.Merge, args.DryRun, args.Message, p)
}

// AddField adds a field to an object.
func (r *Resolver) AddField(ctx context.Context, args struct {
	Object     string
	Name       string
	Definition JSON
	Required   bool
	Message    *string
	DryRun     bool
}) (*schemaResultR, error) {
	c, m, err := r.schemaManager(ctx)
	if err != nil {
		return nil, err
	}
	fd, err := r.parseField(ctx, args.Definition, args.Name, "/definition")
	if err != nil {
		return nil, err
	}
	return r.editObject(ctx, c, m, args.Object, args.DryRun, args.Message, func(o *model.ObjectDef) error {
		if o.Property(args.Name) != nil {
			return badInputKind(CodeConflict, "/name", "field_exists", "%s already has a field %s; change it with changeField", o.Meta.APIName, args.Name)
		}
		o.Properties = append(o.Properties, model.Property{Name: args.Name, Schema: fd})
		if args.Required {
			o.Required = append(o.Required, args.Name)
		}
		return nil
	}, fieldArg(args.Name, "/name", true))
}

// ChangeField replaces a field's JSON Schema, keeping its key (so its
// values), and optionally renames it and changes whether it is required.
func (r *Resolver) ChangeField(ctx context.Context, args struct {
	Object     string
	Field      string
	Definition JSON
	NewName    *string
	Required   *bool
	Message    *string
	DryRun     bool
}) (*schemaResultR, error) {
	c, m, err := r.schemaManager(ctx)
	if err != nil {
		return nil, err
	}
	name, nameArg := args.Field, "/field"
	if args.NewName != nil && *args.NewName != args.Field {
		name, nameArg = *args.NewName, "/newName"
	}
	fd, err := r.parseField(ctx, args.Definition, name, "/definition")
	if err != nil {
		return nil, err
	}
	return r.editObject(ctx, c, m, args.Object, args.DryRun, args.Message, func(o *model.ObjectDef) error {
		p := o.Property(args.Field)
		if p == nil {
			return badInputKind(CodeNotFound, "/field", "field_not_found", "%s has no field %s", o.Meta.APIName, args.Field)
		}
		if fd.Meta.Key != "" && fd.Meta.Key != p.Schema.Meta.Key {
			return badInput("/definition/x-lattice-field/key", "key_mismatch",
				"the definition's key %s is not %s's key %s; leave it out", fd.Meta.Key, args.Field, p.Schema.Meta.Key)
		}
		if name != args.Field && o.Property(name) != nil {
			return badInputKind(CodeConflict, "/newName", "field_exists", "%s already has a field %s", o.Meta.APIName, name)
		}
		fd.Meta.Key = p.Schema.Meta.Key
		p.Name, p.Schema = name, fd
		renameField(o, args.Field, name)
		if args.Required != nil {
			o.Required = slices.DeleteFunc(o.Required, func(s string) bool { return s == name })
			if *args.Required {
				o.Required = append(o.Required, name)
			}
		}
		return nil
	}, fieldArg(name, nameArg, true))
}

// renameField follows a field's rename in the object's own references to
// it: the required list and the display field.
func renameField(o *model.ObjectDef, from, to string) {
	if from == to {
		return
	}
	for i, s := range o.Required {
		if s == from {
			o.Required[i] = to
		}
	}
	if o.Meta.DisplayField == from {
		o.Meta.DisplayField = to
	}
}

// RemoveField removes a field, recoverably: its values stay until purged.
func (r *Resolver) RemoveField(ctx context.Context, args struct {
	Object  string
	Field   string
	Message *string
	DryRun  bool
}) (*schemaResultR, error) {
	c, m, err := r.schemaManager(ctx)
	if err != nil {
		return nil, err
	}
	return r.editObject(ctx, c, m, args.Object, args.DryRun, args.Message, func(o *model.ObjectDef) error {
		if o.Property(args.Field) == nil {
			return badInputKind(CodeNotFound, "/field", "field_not_found", "%s has no field %s", o.Meta.APIName, args.Field)
		}
		o.Properties = slices.DeleteFunc(o.Properties, func(p model.Property) bool { return p.Name == args.Field })
		o.Required = slices.DeleteFunc(o.Required, func(s string) bool { return s == args.Field })
		return nil
	}, fieldArg(args.Field, "/field", false))
}

// RestoreField restores a removed field, by name or key, with its values.
func (r *Resolver) RestoreField(ctx context.Context, args struct {
	Object  string
	Field   string
	NewName *string
	Message *string
	DryRun  bool
}) (*schemaResultR, error) {
	c, m, err := r.schemaManager(ctx)
	if err != nil {
		return nil, err
	}
	name, nameArg := "", "/field"
	return r.editObject(ctx, c, m, args.Object, args.DryRun, args.Message, func(o *model.ObjectDef) error {
		var removed *model.Property
		for i, p := range o.Meta.RemovedFields {
			ra := p.Schema.Meta.RemovedAt
			if p.Schema.Meta.Key == args.Field || (p.Name == args.Field &&
				(removed == nil || ra != nil && removed.Schema.Meta.RemovedAt != nil && ra.After(*removed.Schema.Meta.RemovedAt))) {
				removed = &o.Meta.RemovedFields[i]
			}
		}
		if removed == nil {
			return badInputKind(CodeNotFound, "/field", "field_not_found", "%s has no removed field %q to restore (it may have been purged)", o.Meta.APIName, args.Field)
		}
		name = removed.Name
		if args.NewName != nil {
			name, nameArg = *args.NewName, "/newName"
		}
		if o.Property(name) != nil {
			return badInputKind(CodeConflict, nameArg, "field_exists",
				"%s already has a live field %s; give the restored field a newName", o.Meta.APIName, name)
		}
		fd := *removed.Schema
		fd.Meta.RemovedAt = nil
		o.Properties = append(o.Properties, model.Property{Name: name, Schema: &fd})
		return nil
	}, func(rest string) (string, bool) { return fieldArg(name, nameArg, false)(rest) })
}

// ImportBundle imports a bundle, or with dryRun shows what it would change.
func (r *Resolver) ImportBundle(ctx context.Context, args struct {
	Bundle  JSON
	Replace bool
	DryRun  bool
	Message *string
}) (*schemaResultR, error) {
	c, m, err := r.schemaManager(ctx)
	if err != nil {
		return nil, err
	}
	b, err := r.api.svc.Catalog.Validator().ParseBundle(args.Bundle)
	if err != nil {
		return nil, r.fail(ctx, err, at("/bundle"))
	}
	mode := catalog.Merge
	if args.Replace {
		mode = catalog.Replace
	}
	p := newPlan(m.Bundle, b.Objects, mode, func(k int, rest string) (string, bool) {
		return fmt.Sprintf("/bundle/objects/%d%s", k, rest), true
	}, "/bundle")
	return r.applySchema(ctx, c, b, mode, args.DryRun, args.Message, p)
}

// PurgeSchema permanently deletes what was removed before olderThan.
func (r *Resolver) PurgeSchema(ctx context.Context, args struct{ OlderThan string }) ([]changeR, error) {
	c, err := r.require(ctx, "schema", "manage")
	if err != nil {
		return nil, err
	}
	d, err := time.ParseDuration(args.OlderThan)
	if err != nil || d < 0 {
		return nil, badInput("/olderThan", "invalid_duration", "olderThan %q is not a non-negative duration such as \"720h\"", args.OlderThan)
	}
	purged, err := r.api.svc.Catalog.Purge(ctx, c.principal.TenantID, time.Now().Add(-d), c.actor())
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	return changes(purged), nil
}
