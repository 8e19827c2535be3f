package platformapi

import (
	"context"
	"encoding/json"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/tags"
)

// Tag groups, tags and tag rules are part of the tenant's schema: reading
// them needs a tenant credential, changing them platform:schema manage.

type tagGroupR struct {
	r        *Resolver
	tenantID string
	g        *tags.Group
}

func (x tagGroupR) Name() string            { return x.g.Name }
func (x tagGroupR) Label() *Text            { return text(x.g.Label) }
func (x tagGroupR) Description() *Text      { return text(x.g.Description) }
func (x tagGroupR) MultiValued() bool       { return x.g.MultiValued }
func (x tagGroupR) Objects() []string       { return nonNil(x.g.Objects) }
func (x tagGroupR) Position() int32         { return int32Of(x.g.Position) }
func (x tagGroupR) Deleting() bool          { return x.g.Deleting }
func (x tagGroupR) CreatedAt() graphql.Time { return gqlTime(x.g.CreatedAt) }
func (x tagGroupR) UpdatedAt() graphql.Time { return gqlTime(x.g.UpdatedAt) }

func (x tagGroupR) Tags(ctx context.Context) ([]tagR, error) {
	ts, err := x.r.api.svc.Tags.Tags(ctx, x.tenantID, x.g.Name)
	if err != nil {
		return nil, x.r.fail(ctx, err, where{})
	}
	return tagsR(ts), nil
}

type tagR struct{ t *tags.Tag }

func (x tagR) Group() string           { return x.t.Group }
func (x tagR) Name() string            { return x.t.Name }
func (x tagR) Value() string           { return x.t.Value }
func (x tagR) Label() *Text            { return text(x.t.Label) }
func (x tagR) Color() *string          { return strPtr(x.t.Color) }
func (x tagR) Position() int32         { return int32Of(x.t.Position) }
func (x tagR) Deleting() bool          { return x.t.Deleting }
func (x tagR) CreatedAt() graphql.Time { return gqlTime(x.t.CreatedAt) }
func (x tagR) UpdatedAt() graphql.Time { return gqlTime(x.t.UpdatedAt) }

func tagsR(ts []*tags.Tag) []tagR {
	out := make([]tagR, len(ts))
	for i, t := range ts {
		out[i] = tagR{t}
	}
	return out
}

type tagRuleR struct{ r *tags.Rule }

func (x tagRuleR) ID() graphql.ID          { return graphql.ID(x.r.ID) }
func (x tagRuleR) Tag() string             { return x.r.Tag }
func (x tagRuleR) Object() string          { return x.r.Object }
func (x tagRuleR) Condition() JSON         { return JSON(x.r.Condition) }
func (x tagRuleR) RemoveWhenFalse() bool   { return x.r.RemoveWhenFalse }
func (x tagRuleR) Enabled() bool           { return x.r.Enabled }
func (x tagRuleR) Version() int32          { return int32Of(x.r.Version) }
func (x tagRuleR) CreatedAt() graphql.Time { return gqlTime(x.r.CreatedAt) }
func (x tagRuleR) UpdatedAt() graphql.Time { return gqlTime(x.r.UpdatedAt) }
func (x tagRuleR) CreatedBy() string       { return x.r.CreatedBy }
func (x tagRuleR) UpdatedBy() string       { return x.r.UpdatedBy }
func (x tagRuleR) Error() *string          { return strPtr(x.r.Error) }

type tagRuleResultR struct{ res *tags.RuleResult }

func (x tagRuleResultR) Rule() tagRuleR { return tagRuleR{x.res.Rule} }
func (x tagRuleResultR) Added() int32   { return int32Of(x.res.Added) }
func (x tagRuleResultR) Removed() int32 { return int32Of(x.res.Removed) }

type deleteResultR struct{ d tags.DeleteResult }

func (x deleteResultR) Records() int32 { return int32Of(x.d.Records) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TagGroups lists the groups.
func (r *Resolver) TagGroups(ctx context.Context) ([]tagGroupR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	gs, err := r.api.svc.Tags.Groups(ctx, c.principal.TenantID)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]tagGroupR, len(gs))
	for i, g := range gs {
		out[i] = tagGroupR{r: r, tenantID: c.principal.TenantID, g: g}
	}
	return out, nil
}

// TagGroup returns one group, or null.
func (r *Resolver) TagGroup(ctx context.Context, args struct{ Name string }) (*tagGroupR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	g, err := r.api.svc.Tags.Group(ctx, c.principal.TenantID, args.Name)
	if isCode(err, "group_not_found") {
		return nil, nil
	}
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	return &tagGroupR{r: r, tenantID: c.principal.TenantID, g: g}, nil
}

// Tags lists tags of one group or all.
func (r *Resolver) Tags(ctx context.Context, args struct{ Group *string }) ([]tagR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	group := ""
	if args.Group != nil {
		group = *args.Group
	}
	ts, err := r.api.svc.Tags.Tags(ctx, c.principal.TenantID, group)
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	return tagsR(ts), nil
}

// TagRules lists rules of one object or all.
func (r *Resolver) TagRules(ctx context.Context, args struct{ Object *string }) ([]tagRuleR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	object := ""
	if args.Object != nil {
		object = *args.Object
	}
	rs, err := r.api.svc.Tags.Rules(ctx, c.principal.TenantID, object)
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	out := make([]tagRuleR, len(rs))
	for i, x := range rs {
		out[i] = tagRuleR{x}
	}
	return out, nil
}

// TagRule returns one rule, or null.
func (r *Resolver) TagRule(ctx context.Context, args struct{ ID graphql.ID }) (*tagRuleR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	x, err := r.api.svc.Tags.Rule(ctx, c.principal.TenantID, string(args.ID))
	if isCode(err, "rule_not_found") {
		return nil, nil
	}
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	return &tagRuleR{x}, nil
}

// tagManager returns the caller with platform:schema manage and their
// actor in tags' form.
func (r *Resolver) tagManager(ctx context.Context) (*caller, records.Actor, error) {
	c, err := r.require(ctx, "schema", "manage")
	if err != nil {
		return nil, "", err
	}
	return c, records.Actor(c.actor()), nil
}

type tagGroupInput struct {
	Name        string
	Label       *Text
	Description *Text
	MultiValued bool
	Objects     []string
	Position    *int32
}

// CreateTagGroup creates a group.
func (r *Resolver) CreateTagGroup(ctx context.Context, args struct{ Input tagGroupInput }) (*tagGroupR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	in := args.Input
	g, err := r.api.svc.Tags.CreateGroup(ctx, c.principal.TenantID, actor, tags.GroupInput{
		Name: in.Name, Label: modelText(in.Label), Description: modelText(in.Description),
		MultiValued: in.MultiValued, Objects: in.Objects, Position: optInt(in.Position)})
	if err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	return &tagGroupR{r: r, tenantID: c.principal.TenantID, g: g}, nil
}

// UpdateTagGroup changes a group.
func (r *Resolver) UpdateTagGroup(ctx context.Context, args struct {
	Name  string
	Patch struct {
		Label       *Text
		Description *Text
		MultiValued *bool
		Objects     *[]string
		Position    *int32
	}
}) (*tagGroupR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	p := tags.GroupPatch{Label: modelText(args.Patch.Label), Description: modelText(args.Patch.Description),
		MultiValued: args.Patch.MultiValued, Position: optInt(args.Patch.Position)}
	if args.Patch.Objects != nil {
		p.Objects = nonNil(*args.Patch.Objects)
	}
	g, err := r.api.svc.Tags.UpdateGroup(ctx, c.principal.TenantID, actor, args.Name, p)
	if err != nil {
		return nil, r.fail(ctx, err, where{base: "/patch", rename: map[string]string{"group": "/name"}})
	}
	return &tagGroupR{r: r, tenantID: c.principal.TenantID, g: g}, nil
}

// DeleteTagGroup deletes a group and its tags.
func (r *Resolver) DeleteTagGroup(ctx context.Context, args struct{ Name string }) (*deleteResultR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	d, err := r.api.svc.Tags.DeleteGroup(ctx, c.principal.TenantID, actor, args.Name)
	if err != nil {
		return nil, r.fail(ctx, err, where{rename: map[string]string{"group": "/name"}})
	}
	return &deleteResultR{d}, nil
}

// CreateTag creates a tag.
func (r *Resolver) CreateTag(ctx context.Context, args struct {
	Input struct {
		Group    string
		Name     string
		Label    *Text
		Color    *string
		Position *int32
	}
}) (*tagR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	in := args.Input
	color := ""
	if in.Color != nil {
		color = *in.Color
	}
	t, err := r.api.svc.Tags.CreateTag(ctx, c.principal.TenantID, actor, tags.TagInput{
		Group: in.Group, Name: in.Name, Label: modelText(in.Label), Color: color, Position: optInt(in.Position)})
	if err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	return &tagR{t}, nil
}

// UpdateTag changes a tag's label, color or position.
func (r *Resolver) UpdateTag(ctx context.Context, args struct {
	Tag   string
	Patch struct {
		Label    *Text
		Color    *string
		Position *int32
	}
}) (*tagR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	t, err := r.api.svc.Tags.UpdateTag(ctx, c.principal.TenantID, actor, args.Tag, tags.TagPatch{
		Label: modelText(args.Patch.Label), Color: args.Patch.Color, Position: optInt(args.Patch.Position)})
	if err != nil {
		return nil, r.fail(ctx, err, where{base: "/patch", rename: map[string]string{"tag": "/tag", "group": "/tag"}})
	}
	return &tagR{t}, nil
}

// DeleteTag deletes a tag, removing it from every record.
func (r *Resolver) DeleteTag(ctx context.Context, args struct{ Tag string }) (*deleteResultR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	d, err := r.api.svc.Tags.DeleteTag(ctx, c.principal.TenantID, actor, args.Tag)
	if err != nil {
		return nil, r.fail(ctx, err, where{rename: map[string]string{"group": "/tag"}})
	}
	return &deleteResultR{d}, nil
}

// CreateTagRule creates a rule and applies it to existing records.
func (r *Resolver) CreateTagRule(ctx context.Context, args struct {
	Input struct {
		Tag             string
		Object          string
		Condition       JSON
		RemoveWhenFalse bool
		Enabled         bool
	}
}) (*tagRuleResultR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	in := args.Input
	res, err := r.api.svc.Tags.CreateRule(ctx, c.principal.TenantID, actor, tags.RuleInput{
		Tag: in.Tag, Object: in.Object, Condition: json.RawMessage(in.Condition), RemoveWhenFalse: in.RemoveWhenFalse, Disabled: !in.Enabled})
	if err != nil {
		return nil, r.fail(ctx, err, at("/input"))
	}
	return &tagRuleResultR{res}, nil
}

// UpdateTagRule changes a rule and applies it again.
func (r *Resolver) UpdateTagRule(ctx context.Context, args struct {
	ID    graphql.ID
	Patch struct {
		Condition       *JSON
		RemoveWhenFalse *bool
		Enabled         *bool
	}
}) (*tagRuleResultR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	p := tags.RulePatch{RemoveWhenFalse: args.Patch.RemoveWhenFalse, Enabled: args.Patch.Enabled}
	if args.Patch.Condition != nil {
		p.Condition = json.RawMessage(*args.Patch.Condition)
	}
	res, err := r.api.svc.Tags.UpdateRule(ctx, c.principal.TenantID, actor, string(args.ID), p)
	if err != nil {
		return nil, r.fail(ctx, err, where{base: "/patch", rename: map[string]string{"id": "/id"}})
	}
	return &tagRuleResultR{res}, nil
}

// DeleteTagRule deletes a rule; the tags it applied stay.
func (r *Resolver) DeleteTagRule(ctx context.Context, args struct{ ID graphql.ID }) (bool, error) {
	c, _, err := r.tagManager(ctx)
	if err != nil {
		return false, err
	}
	if err := r.api.svc.Tags.DeleteRule(ctx, c.principal.TenantID, string(args.ID)); err != nil {
		return false, r.fail(ctx, err, at(""))
	}
	return true, nil
}

// ReevaluateTagRule applies a rule to existing records again.
func (r *Resolver) ReevaluateTagRule(ctx context.Context, args struct{ ID graphql.ID }) (*tagRuleResultR, error) {
	c, actor, err := r.tagManager(ctx)
	if err != nil {
		return nil, err
	}
	res, err := r.api.svc.Tags.Reevaluate(ctx, c.principal.TenantID, actor, string(args.ID))
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	return &tagRuleResultR{res}, nil
}
