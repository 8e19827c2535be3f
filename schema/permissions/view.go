package permissions

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"

	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/tenants"
)

// View is what one caller may do in a tenant, decided once per tenant
// rule version and schema version: every object's actions, every field's
// read and edit, and which records. It is immutable.
type View struct {
	// Subject is the casbin subject decisions were made for.
	Subject string
	// Key identifies the decisions that shape the caller's GraphQL schema
	// (objects, actions, fields), so callers with the same permissions share
	// one generated schema.
	Key     string
	objects map[string]*objectView // by object key
}

type objectView struct {
	actions map[string]bool
	read    map[string]bool // field keys
	edit    map[string]bool
	records json.RawMessage // nil: every record
}

// Can reports whether the caller may act (read, create, update, delete,
// export) on o's records.
func (v *View) Can(o *model.Object, action string) bool {
	ov := v.objects[o.Key]
	return ov != nil && ov.actions[action]
}

// CanField reports whether the caller may read or edit f of o.
func (v *View) CanField(o *model.Object, f *model.Field, action string) bool {
	ov := v.objects[o.Key]
	if ov == nil {
		return false
	}
	if action == "edit" {
		return ov.edit[f.Key]
	}
	return ov.read[f.Key]
}

// Records returns the condition every record of o the caller reaches must
// meet (nil: every record): their record level (own, team, all) or one of
// their roles' sharing rules.
func (v *View) Records(o *model.Object) json.RawMessage {
	if ov := v.objects[o.Key]; ov != nil {
		return ov.records
	}
	return json.RawMessage(`{"or":[]}`) // nothing
}

// subjectOf is the casbin subject a principal acts as. Tenant admins (and
// admin integration tokens) are always the admin role, so a tenant cannot
// lock out its admins through rules; members act as themselves if they
// have roles, else as the default member role.
func (s *Service) subjectOf(ctx context.Context, p tenants.Principal) (string, error) {
	if p.Role == tenants.RoleAdmin {
		return roleSubject(RoleAdmin), nil
	}
	sub, fallback := UserSubject(p.UserID), roleSubject(s.opts.DefaultMemberRole)
	if p.Integration != "" {
		sub, fallback = IntegrationSubject(p.Integration), roleSubject(RoleReadOnly)
	}
	roles, err := s.access.RolesOf(ctx, p.TenantID, sub)
	if err != nil {
		return "", err
	}
	if len(roles) == 0 {
		return fallback, nil
	}
	return sub, nil
}

// View returns the caller's view of their tenant.
func (s *Service) View(ctx context.Context, p tenants.Principal) (*View, error) {
	rules, err := s.access.Version(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	if rules == 0 { // a tenant without rules gets the built-in roles first
		if err := s.Bootstrap(ctx, p.TenantID); err != nil {
			return nil, err
		}
		if rules, err = s.access.Version(ctx, p.TenantID); err != nil {
			return nil, err
		}
	}
	sub, err := s.subjectOf(ctx, p)
	if err != nil {
		return nil, err
	}
	m, err := s.catalog.Model(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	key := viewKey{tenant: p.TenantID, subject: sub, user: p.UserID, rules: rules, schema: m.Version}
	if v, ok := s.views.Get(key); ok {
		return v, nil
	}
	v, err := s.build(ctx, p, sub, m)
	if err != nil {
		return nil, err
	}
	s.views.Add(key, v)
	return v, nil
}

// build decides everything a view holds.
func (s *Service) build(ctx context.Context, p tenants.Principal, sub string, m *model.Model) (*View, error) {
	v := &View{Subject: sub, objects: map[string]*objectView{}}
	enforce := func(obj, act string) (bool, error) { return s.access.Enforce(ctx, p.TenantID, sub, obj, act) }
	var shape strings.Builder // what Key hashes
	var team []string
	shares, err := s.sharesFor(ctx, p.TenantID, sub)
	if err != nil {
		return nil, err
	}
	for _, o := range m.Objects {
		ov := &objectView{actions: map[string]bool{}, read: map[string]bool{}, edit: map[string]bool{}}
		for _, act := range objectActions["record"] {
			ok, err := enforce("record:"+o.APIName, act)
			if err != nil {
				return nil, err
			}
			ov.actions[act] = ok
		}
		if !ov.actions["read"] {
			continue
		}
		shape.WriteString(o.Key + ":")
		for _, act := range objectActions["record"] {
			if ov.actions[act] {
				shape.WriteString(act[:1])
			}
		}
		for _, f := range o.Fields {
			obj := "field:" + o.APIName + "." + f.APIName
			r, err := enforce(obj, "read")
			if err != nil {
				return nil, err
			}
			e, err := enforce(obj, "edit")
			if err != nil {
				return nil, err
			}
			ov.read[f.Key], ov.edit[f.Key] = r, r && e
			if !r {
				shape.WriteString(" -" + f.Key)
			} else if !e {
				shape.WriteString(" ~" + f.Key)
			}
		}
		shape.WriteByte('\n')
		level := ""
		for _, l := range []string{LevelAll, LevelTeam, LevelOwn} {
			ok, err := enforce("scope:"+o.APIName, l)
			if err != nil {
				return nil, err
			}
			if ok {
				level = l
				break
			}
		}
		if level == LevelTeam && team == nil {
			var err error
			if team, err = s.team(ctx, p, sub); err != nil {
				return nil, err
			}
		}
		ov.records = recordCondition(level, p.UserID, team, shares[o.APIName])
		v.objects[o.Key] = ov
	}
	sum := sha256.Sum256([]byte(shape.String()))
	v.Key = hex.EncodeToString(sum[:16])
	return v, nil
}

// recordCondition is the condition of a record level, widened by sharing
// rules.
func recordCondition(level, user string, team []string, shares []json.RawMessage) json.RawMessage {
	var c any
	switch level {
	case LevelAll:
		return nil
	case LevelTeam:
		c = map[string]any{"field": "owner", "op": "in", "value": append([]string{user}, team...)}
	case LevelOwn:
		c = map[string]any{"field": "owner", "op": "eq", "value": user}
	default:
		c = map[string]any{"or": []any{}}
	}
	if user == "" && level != "" {
		c = map[string]any{"or": []any{}} // an integration owns nothing
	}
	if len(shares) > 0 {
		alts := []any{c}
		for _, sh := range shares {
			alts = append(alts, sh)
		}
		c = map[string]any{"or": alts}
	}
	raw, _ := json.Marshal(c)
	return raw
}

// team is the users below the caller in the role hierarchy: holders of
// roles the caller's roles inherit, but not of the caller's own roles
// (peers), plus members without roles when they fall to a role below.
func (s *Service) team(ctx context.Context, p tenants.Principal, sub string) ([]string, error) {
	mine, err := s.directRoles(ctx, p.TenantID, sub)
	if err != nil {
		return nil, err
	}
	below := map[string]bool{}
	for _, r := range mine {
		inherited, err := s.access.RolesOf(ctx, p.TenantID, r)
		if err != nil {
			return nil, err
		}
		for _, x := range inherited {
			if !slices.Contains(mine, x) {
				below[x] = true
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for r := range below {
		subs, err := s.access.SubjectsOf(ctx, p.TenantID, r)
		if err != nil {
			return nil, err
		}
		for _, u := range subs {
			id, ok := strings.CutPrefix(u, "user:")
			if !ok || seen[id] || id == p.UserID {
				continue
			}
			theirs, err := s.access.RolesOf(ctx, p.TenantID, u)
			if err != nil {
				return nil, err
			}
			peer := false
			for _, m := range mine {
				peer = peer || slices.Contains(theirs, m)
			}
			if !peer {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	if below[roleSubject(s.opts.DefaultMemberRole)] && s.tenants != nil {
		ms, err := s.tenants.ListMembers(ctx, p.TenantID)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if m.Role == tenants.RoleAdmin || seen[m.ID] || m.ID == p.UserID {
				continue
			}
			roles, err := s.access.RolesOf(ctx, p.TenantID, UserSubject(m.ID))
			if err != nil {
				return nil, err
			}
			if len(roles) == 0 {
				seen[m.ID] = true
				out = append(out, m.ID)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// directRoles are the roles sub is: itself if it is a role, else the roles
// assigned to it directly.
func (s *Service) directRoles(ctx context.Context, tenantID, sub string) ([]string, error) {
	if strings.HasPrefix(sub, "role:") {
		return []string{sub}, nil
	}
	gs, err := s.access.Groupings(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range gs {
		if g[0] == sub {
			out = append(out, g[1])
		}
	}
	return out, nil
}
