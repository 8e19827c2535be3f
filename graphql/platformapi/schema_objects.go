package platformapi

import (
	"context"
	"encoding/json"
	"slices"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
)

// Reads of the schema need only a tenant credential: every member works
// with the tenant's objects.

type objectR struct {
	def    *model.ObjectDef
	plural string
}

func newObjectR(m *model.Model, def *model.ObjectDef) objectR {
	plural := def.Meta.PluralAPIName
	if o := m.ObjectByKey(def.Meta.Key); o != nil && plural == "" {
		plural = o.PluralAPIName
	}
	if plural == "" {
		plural = model.DefaultPlural(def.Meta.APIName)
	}
	return objectR{def: def, plural: plural}
}

func (o objectR) Key() graphql.ID       { return graphql.ID(o.def.Meta.Key) }
func (o objectR) APIName() string       { return o.def.Meta.APIName }
func (o objectR) PluralAPIName() string { return o.plural }
func (o objectR) Label() *Text          { return text(o.def.Meta.Label) }
func (o objectR) PluralLabel() *Text    { return text(o.def.Meta.PluralLabel) }
func (o objectR) Description() *Text    { return text(o.def.Meta.Description) }
func (o objectR) DisplayField() *string { return strPtr(o.def.Meta.DisplayField) }
func (o objectR) RemovedAt() *graphql.Time {
	return gqlTimePtr(o.def.Meta.RemovedAt)
}

func (o objectR) Fields() []fieldR {
	out := make([]fieldR, len(o.def.Properties))
	for i, p := range o.def.Properties {
		out[i] = fieldR{p: p, required: slices.Contains(o.def.Required, p.Name)}
	}
	return out
}

func (o objectR) RemovedFields() []fieldR {
	out := make([]fieldR, len(o.def.Meta.RemovedFields))
	for i, p := range o.def.Meta.RemovedFields {
		out[i] = fieldR{p: p}
	}
	return out
}

// Definition is the object as stored, without storage slots.
func (o objectR) Definition() (JSON, error) {
	c, err := withoutSlots(o.def)
	if err != nil {
		return nil, err
	}
	return jsonOf(c)
}

// withoutSlots returns a copy of def without storage slots, which belong to
// this tenant's data.
func withoutSlots(def *model.ObjectDef) (*model.ObjectDef, error) {
	b, err := json.Marshal(def)
	if err != nil {
		return nil, err
	}
	var c model.ObjectDef
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, err
	}
	for _, list := range [][]model.Property{c.Properties, c.Meta.RemovedFields} {
		for _, p := range list {
			p.Schema.Meta.Slot, p.Schema.Meta.UniqueSlot = "", ""
		}
	}
	return &c, nil
}

type fieldR struct {
	p        model.Property
	required bool
}

func (f fieldR) meta() model.FieldMeta    { return f.p.Schema.Meta }
func (f fieldR) Key() graphql.ID          { return graphql.ID(f.meta().Key) }
func (f fieldR) Name() string             { return f.p.Name }
func (f fieldR) Kind() string             { return string(f.meta().Kind) }
func (f fieldR) Label() *Text             { return text(f.meta().Label) }
func (f fieldR) HelpText() *Text          { return text(f.meta().HelpText) }
func (f fieldR) Required() bool           { return f.required }
func (f fieldR) Unique() bool             { return f.meta().Unique }
func (f fieldR) Indexed() bool            { return f.meta().Indexed }
func (f fieldR) Target() *string          { return strPtr(f.meta().Target) }
func (f fieldR) InverseName() *string     { return strPtr(f.meta().InverseName) }
func (f fieldR) OnDelete() *string        { return strPtr(f.meta().OnDelete) }
func (f fieldR) RemovedAt() *graphql.Time { return gqlTimePtr(f.meta().RemovedAt) }

func (f fieldR) Currencies() []string {
	if f.meta().Currencies == nil {
		return []string{}
	}
	return f.meta().Currencies
}

func (f fieldR) Values() []picklistValueR {
	out := make([]picklistValueR, len(f.meta().Values))
	for i, v := range f.meta().Values {
		out[i] = picklistValueR{v}
	}
	return out
}

func (f fieldR) Definition() (JSON, error) {
	c := *f.p.Schema
	c.Meta.Slot, c.Meta.UniqueSlot = "", ""
	return jsonOf(&c)
}

type picklistValueR struct{ v model.PicklistValue }

func (v picklistValueR) Value() string  { return v.v.Value }
func (v picklistValueR) Label() *Text   { return text(v.v.Label) }
func (v picklistValueR) Color() *string { return strPtr(v.v.Color) }

// Objects lists the live objects (and the removed ones with includeRemoved).
func (r *Resolver) Objects(ctx context.Context, args struct{ IncludeRemoved bool }) ([]objectR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	m, err := r.api.svc.Catalog.Model(ctx, c.principal.TenantID)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]objectR, 0, len(m.Bundle.Objects))
	for _, o := range m.Bundle.Objects {
		out = append(out, newObjectR(m, o))
	}
	if args.IncludeRemoved {
		for _, o := range m.Bundle.RemovedObjects {
			out = append(out, newObjectR(m, o))
		}
	}
	return out, nil
}

// Object returns one live object.
func (r *Resolver) Object(ctx context.Context, args struct{ Name string }) (*objectR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	m, err := r.api.svc.Catalog.Model(ctx, c.principal.TenantID)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	def := m.Bundle.Object(args.Name)
	if def == nil {
		return nil, nil
	}
	o := newObjectR(m, def)
	return &o, nil
}

// SchemaVersion is the current version.
func (r *Resolver) SchemaVersion(ctx context.Context) (int32, error) {
	c, err := r.member(ctx)
	if err != nil {
		return 0, err
	}
	m, err := r.api.svc.Catalog.Model(ctx, c.principal.TenantID)
	if err != nil {
		return 0, r.fail(ctx, err, where{})
	}
	return int32Of(m.Version), nil
}

type changeR struct{ c model.Change }

func (x changeR) Op() string     { return x.c.Op }
func (x changeR) Object() string { return x.c.Object }
func (x changeR) Field() *string { return strPtr(x.c.Field) }
func (x changeR) Detail() string { return x.c.Detail }

func changes(cs []model.Change) []changeR {
	out := make([]changeR, len(cs))
	for i, c := range cs {
		out[i] = changeR{c}
	}
	return out
}

type versionR struct{ v catalog.VersionInfo }

func (x versionR) Version() int32          { return int32Of(x.v.Version) }
func (x versionR) Message() *string        { return strPtr(x.v.Message) }
func (x versionR) CreatedBy() *string      { return strPtr(x.v.CreatedBy) }
func (x versionR) CreatedAt() graphql.Time { return gqlTime(x.v.CreatedAt) }
func (x versionR) Changes() []changeR      { return changes(x.v.Changes) }

// SchemaHistory lists the versions, newest first.
func (r *Resolver) SchemaHistory(ctx context.Context) ([]versionR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	h, err := r.api.svc.Catalog.History(ctx, c.principal.TenantID)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]versionR, len(h))
	for i, v := range h {
		out[i] = versionR{v}
	}
	return out, nil
}

// SchemaDiff lists the changes between two versions.
func (r *Resolver) SchemaDiff(ctx context.Context, args struct {
	From int32
	To   *int32
}) ([]changeR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	tid := c.principal.TenantID
	to := 0
	if args.To != nil {
		to = int(*args.To)
	} else {
		m, err := r.api.svc.Catalog.Model(ctx, tid)
		if err != nil {
			return nil, r.fail(ctx, err, where{})
		}
		to = m.Version
	}
	cs, err := r.api.svc.Catalog.DiffVersions(ctx, tid, int(args.From), to)
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	return changes(cs), nil
}

// ExportBundle is the live schema as a bundle to import elsewhere.
func (r *Resolver) ExportBundle(ctx context.Context) (JSON, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	b, err := r.api.svc.Catalog.Export(ctx, c.principal.TenantID)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	return jsonOf(b)
}

type slotJobR struct {
	j             catalog.Job
	object, field string
}

func (x slotJobR) ID() graphql.ID  { return graphql.ID(x.j.ID) }
func (x slotJobR) Object() string  { return x.object }
func (x slotJobR) Field() string   { return x.field }
func (x slotJobR) Slot() string    { return x.j.Slot }
func (x slotJobR) Action() string  { return x.j.Action }
func (x slotJobR) DoneRows() int32 { return int32Of(x.j.DoneRows) }
func (x slotJobR) Finished() bool  { return x.j.Finished }
func (x slotJobR) Error() *string  { return strPtr(x.j.Error) }

// slotJobs lists the tenant's slot jobs with object and field names (keys
// for what the current schema no longer has); only unfinished ones with
// pending.
func (r *Resolver) slotJobs(ctx context.Context, tenantID string, pending bool) ([]slotJobR, error) {
	js, err := r.api.svc.Catalog.Jobs(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	m, err := r.api.svc.Catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := []slotJobR{}
	for _, j := range js {
		if pending && j.Finished {
			continue
		}
		x := slotJobR{j: j, object: j.ObjectID, field: j.FieldKey}
		if o := m.ObjectByKey(j.ObjectID); o != nil {
			x.object = o.APIName
			if f := o.FieldByKey(j.FieldKey); f != nil {
				x.field = f.APIName
			}
		}
		out = append(out, x)
	}
	return out, nil
}

// SchemaJobs lists the slot jobs, unfinished first.
func (r *Resolver) SchemaJobs(ctx context.Context) ([]slotJobR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	js, err := r.slotJobs(ctx, c.principal.TenantID, false)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	return js, nil
}

// FieldKinds lists the kinds.
func (r *Resolver) FieldKinds() []string {
	return []string{
		string(model.KindText), string(model.KindLongText), string(model.KindInteger), string(model.KindDecimal),
		string(model.KindCurrency), string(model.KindPercent), string(model.KindBoolean), string(model.KindDate),
		string(model.KindDateTime), string(model.KindEmail), string(model.KindPhone), string(model.KindURL),
		string(model.KindPicklist), string(model.KindMultiPicklist), string(model.KindLookup), string(model.KindJSON),
		string(model.KindAutoNumber),
	}
}
