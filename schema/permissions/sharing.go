package permissions

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/latticecrm/lattice/platform/access"
	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// Sharing rules widen a role's record level: "role east reads accounts
// where region = East". They are casbin rules like the others (so they are
// stored, versioned and spread to every server the same way) whose object
// is share:<Object> and whose action is the condition, in the condition
// language's JSON form; the data API ORs them with the record level.

// Share is one sharing rule.
type Share struct {
	Role      string          `json:"role"`
	Object    string          `json:"object"`
	Condition json.RawMessage `json:"condition"`
}

func (sh Share) rule(tenantID string) []string {
	return []string{roleSubject(sh.Role), tenantID, "share:" + sh.Object, string(sh.Condition), Allow}
}

// AddShare adds a sharing rule to a role after compiling its condition
// against the tenant's model (problems carry their JSON pointer under
// /condition). by must be able to read every record of the object.
func (s *Service) AddShare(ctx context.Context, tenantID, by string, sh Share) error {
	norm, err := s.checkShare(ctx, tenantID, by, sh)
	if err != nil {
		return err
	}
	sh.Condition = norm
	return s.access.Change(ctx, tenantID, access.RuleChange{AddPolicies: [][]string{sh.rule(tenantID)}}, nil)
}

// RemoveShare removes a sharing rule (its condition as Shares lists it).
func (s *Service) RemoveShare(ctx context.Context, tenantID, by string, sh Share) error {
	norm, err := s.checkShare(ctx, tenantID, by, sh)
	if err != nil {
		return err
	}
	sh.Condition = norm
	return s.access.Change(ctx, tenantID, access.RuleChange{RemovePolicies: [][]string{sh.rule(tenantID)}}, nil)
}

// Shares lists the tenant's sharing rules.
func (s *Service) Shares(ctx context.Context, tenantID string) ([]Share, error) {
	ps, err := s.access.Policies(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := []Share{}
	for _, p := range ps {
		if obj, ok := strings.CutPrefix(p[2], "share:"); ok {
			out = append(out, Share{Role: strings.TrimPrefix(p[0], "role:"), Object: obj, Condition: json.RawMessage(p[3])})
		}
	}
	return out, nil
}

func (s *Service) checkShare(ctx context.Context, tenantID, by string, sh Share) (json.RawMessage, error) {
	if _, err := s.role(ctx, tenantID, sh.Role); err != nil {
		return nil, err
	}
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	o := m.Object(sh.Object)
	if o == nil {
		return nil, apierror.Invalidf("/object", "unknown_object", "the schema has no object %q", sh.Object)
	}
	c, err := condition.Compile(m, o, sh.Condition)
	if err != nil {
		var ps model.Problems
		if errors.As(err, &ps) {
			for i := range ps {
				ps[i].Pointer = "/condition" + ps[i].Pointer
			}
			return nil, ps.APIErrorAbout("invalid_condition", "invalid sharing condition")
		}
		return nil, err
	}
	if by != "" {
		ok, err := s.access.Enforce(ctx, tenantID, by, "scope:"+o.APIName, LevelAll)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errf(apierror.Forbidden, "escalation", "%s cannot read every %s record, so cannot share them", by, o.APIName)
		}
	}
	return c.MarshalJSON()
}

// shares returns the sharing conditions that apply to sub, by object API
// name.
func (s *Service) sharesFor(ctx context.Context, tenantID, sub string) (map[string][]json.RawMessage, error) {
	roles, err := s.access.RolesOf(ctx, tenantID, sub)
	if err != nil {
		return nil, err
	}
	roles = append(roles, sub)
	ps, err := s.access.Policies(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := map[string][]json.RawMessage{}
	for _, p := range ps {
		obj, ok := strings.CutPrefix(p[2], "share:")
		if ok && p[4] == Allow && contains(roles, p[0]) {
			out[obj] = append(out[obj], json.RawMessage(p[3]))
		}
	}
	return out, nil
}
