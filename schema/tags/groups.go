package tags

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// GroupInput defines a new tag group.
type GroupInput struct {
	// Name is the immutable API name (camelCase). Required.
	Name        string     `json:"name"`
	Label       model.Text `json:"label,omitempty"`
	Description model.Text `json:"description,omitempty"`
	MultiValued bool       `json:"multiValued"`
	// Objects are the API names of the objects the group's tags apply to.
	// At least one.
	Objects []string `json:"objects"`
	// Position orders groups in lists; default: after the last group.
	Position *int `json:"position,omitempty"`
}

// GroupPatch changes a group. Nil fields are left as they are; the name
// never changes.
type GroupPatch struct {
	// Label and Description replace the current text when not nil.
	Label       model.Text `json:"label,omitempty"`
	Description model.Text `json:"description,omitempty"`
	// MultiValued false is refused while a record carries two of the
	// group's tags.
	MultiValued *bool `json:"multiValued,omitempty"`
	// Objects replaces the list; dropping an object is refused while its
	// records carry the group's tags or its rules apply them.
	Objects  []string `json:"objects,omitempty"`
	Position *int     `json:"position,omitempty"`
}

const groupColumns = `name, label, description, multi_valued, objects::text[], position, deleting_at IS NOT NULL, created_at, updated_at`

func scanGroup(m *model.Model, row pgx.Row) (*Group, error) {
	g := &Group{}
	if err := row.Scan(&g.Name, &g.Label, &g.Description, &g.MultiValued, &g.ObjectKeys, &g.Position, &g.Deleting, &g.CreatedAt, &g.UpdatedAt); err != nil {
		return nil, err
	}
	g.Objects = make([]string, len(g.ObjectKeys))
	for i, k := range g.ObjectKeys {
		g.Objects[i] = objectName(m, k)
	}
	return g, nil
}

func errGroupNotFound(name string) error {
	return &apierror.Error{Kind: apierror.NotFound, Code: "group_not_found", Field: "group", Message: fmt.Sprintf("no tag group %q", name)}
}

func errGroupDeleting(name string) error {
	return &apierror.Error{Kind: apierror.Conflict, Code: "group_deleting", Field: "group",
		Message: fmt.Sprintf("tag group %q is being deleted; run the deletion again to finish it", name)}
}

// objectKeys resolves object API names to keys, in order, without duplicates.
func objectKeys(m *model.Model, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, apierror.Invalidf("objects", "objects_required", "a tag group must apply to at least one object")
	}
	if len(names) > MaxObjects {
		return nil, apierror.Invalidf("objects", "too_many_objects", "a tag group may apply to at most %d objects, got %d", MaxObjects, len(names))
	}
	var keys []string
	for _, n := range names {
		o := m.Object(n)
		if o == nil {
			return nil, apierror.Invalidf("objects", "unknown_object", "no object %q in this tenant's schema", n)
		}
		if !slices.Contains(keys, o.Key) {
			keys = append(keys, o.Key)
		}
	}
	return keys, nil
}

// CreateGroup creates a tag group.
func (s *Service) CreateGroup(ctx context.Context, tenantID string, actor records.Actor, in GroupInput) (*Group, error) {
	if err := checkName("name", "tag group", in.Name); err != nil {
		return nil, err
	}
	if err := checkText("label", in.Label); err != nil {
		return nil, err
	}
	if err := checkText("description", in.Description); err != nil {
		return nil, err
	}
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	keys, err := objectKeys(m, in.Objects)
	if err != nil {
		return nil, err
	}
	var g *Group
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		// Serialise group creation per tenant so the limit holds.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('lattice.tag_groups.' || $1::text, 0))", tenantID); err != nil {
			return err
		}
		var n, next int
		if err := tx.QueryRow(ctx, "SELECT count(*), coalesce(max(position) + 1, 0) FROM tag_groups WHERE tenant_id = $1", tenantID).Scan(&n, &next); err != nil {
			return err
		}
		if n >= MaxGroups {
			return apierror.New(apierror.Conflict, "limit_reached", "a tenant may have at most %d tag groups", MaxGroups)
		}
		if in.Position != nil {
			next = *in.Position
		}
		row := tx.QueryRow(ctx, `INSERT INTO tag_groups (tenant_id, name, label, description, multi_valued, objects, position, created_by, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6::uuid[], $7, $8, $8) RETURNING `+groupColumns,
			tenantID, in.Name, textOrEmpty(in.Label), textOrEmpty(in.Description), in.MultiValued, keys, next, string(actor))
		var err error
		g, err = scanGroup(m, row)
		if database.IsCode(err, database.UniqueViolation) {
			return &apierror.Error{Kind: apierror.Conflict, Code: "group_exists", Field: "name", Message: fmt.Sprintf("a tag group named %q exists", in.Name)}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

func textOrEmpty(t model.Text) model.Text {
	if t == nil {
		return model.Text{}
	}
	return t
}

// Groups lists the tenant's tag groups by position, then name.
func (s *Service) Groups(ctx context.Context, tenantID string) ([]*Group, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var out []*Group
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT "+groupColumns+" FROM tag_groups WHERE tenant_id = $1 ORDER BY position, name", tenantID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Group, error) { return scanGroup(m, r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list tag groups: %w", err)
	}
	return out, nil
}

// Group returns one tag group.
func (s *Service) Group(ctx context.Context, tenantID, name string) (*Group, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var g *Group
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var err error
		g, err = scanGroup(m, tx.QueryRow(ctx, "SELECT "+groupColumns+" FROM tag_groups WHERE tenant_id = $1 AND name = $2", tenantID, name))
		if errors.Is(err, pgx.ErrNoRows) {
			return errGroupNotFound(name)
		}
		return err
	})
	return g, err
}

// UpdateGroup changes a group's labels, description, objects, whether it
// is multi-valued, or its position. Its name never changes.
func (s *Service) UpdateGroup(ctx context.Context, tenantID string, actor records.Actor, name string, p GroupPatch) (*Group, error) {
	if err := checkText("label", p.Label); err != nil {
		return nil, err
	}
	if err := checkText("description", p.Description); err != nil {
		return nil, err
	}
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var keys []string
	if p.Objects != nil {
		if keys, err = objectKeys(m, p.Objects); err != nil {
			return nil, err
		}
	}
	var g *Group
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		cur, err := scanGroup(m, tx.QueryRow(ctx, "SELECT "+groupColumns+" FROM tag_groups WHERE tenant_id = $1 AND name = $2 FOR UPDATE", tenantID, name))
		if errors.Is(err, pgx.ErrNoRows) {
			return errGroupNotFound(name)
		}
		if err != nil {
			return err
		}
		if cur.Deleting {
			return errGroupDeleting(name)
		}
		values, err := groupValues(ctx, tx, tenantID, name)
		if err != nil {
			return err
		}
		if keys != nil {
			var dropped []string
			for _, k := range cur.ObjectKeys {
				if !slices.Contains(keys, k) {
					dropped = append(dropped, k)
				}
			}
			if len(dropped) > 0 {
				if err := checkObjectsUnused(ctx, tx, tenantID, m, name, values, dropped); err != nil {
					return err
				}
			}
		} else {
			keys = cur.ObjectKeys
		}
		multi := cur.MultiValued
		if p.MultiValued != nil {
			multi = *p.MultiValued
		}
		if cur.MultiValued && !multi && len(values) > 1 {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM records WHERE tenant_id = $1 AND tags && $2::text[]
				AND (SELECT count(*) FROM unnest(tags) x WHERE x = ANY($2::text[])) > 1`, tenantID, values).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return &apierror.Error{Kind: apierror.Conflict, Code: "group_in_use", Field: "multiValued",
					Message: fmt.Sprintf("%d record(s) carry more than one tag of %s; remove the extra tags before making it single-valued", n, name)}
			}
		}
		label, desc, pos := cur.Label, cur.Description, cur.Position
		if p.Label != nil {
			label = p.Label
		}
		if p.Description != nil {
			desc = p.Description
		}
		if p.Position != nil {
			pos = *p.Position
		}
		g, err = scanGroup(m, tx.QueryRow(ctx, `UPDATE tag_groups SET label = $3, description = $4, multi_valued = $5, objects = $6::uuid[],
			position = $7, updated_at = now(), updated_by = $8 WHERE tenant_id = $1 AND name = $2 RETURNING `+groupColumns,
			tenantID, name, textOrEmpty(label), textOrEmpty(desc), multi, keys, pos, string(actor)))
		return err
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// groupValues lists the stored values of every tag of a group.
func groupValues(ctx context.Context, tx pgx.Tx, tenantID, group string) ([]string, error) {
	rows, err := tx.Query(ctx, "SELECT group_name || '/' || name FROM tags WHERE tenant_id = $1 AND group_name = $2 ORDER BY name", tenantID, group)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// checkObjectsUnused refuses to drop objects from a group while their
// records (deleted ones included: they may be restored) carry the group's
// tags or their rules apply them.
func checkObjectsUnused(ctx context.Context, tx pgx.Tx, tenantID string, m *model.Model, group string, values, dropped []string) error {
	var nRecords, nRules int
	if len(values) > 0 {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM records WHERE tenant_id = $1 AND object_id = ANY($2::uuid[]) AND tags && $3::text[]`,
			tenantID, dropped, values).Scan(&nRecords); err != nil {
			return err
		}
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM tag_rules WHERE tenant_id = $1 AND object_id = ANY($2::uuid[]) AND group_name = $3`,
		tenantID, dropped, group).Scan(&nRules); err != nil {
		return err
	}
	if nRecords == 0 && nRules == 0 {
		return nil
	}
	names := make([]string, len(dropped))
	for i, k := range dropped {
		names[i] = objectName(m, k)
	}
	return &apierror.Error{Kind: apierror.Conflict, Code: "group_in_use", Field: "objects",
		Message: fmt.Sprintf("%d record(s) of %v carry tags of %s and %d rule(s) apply them; remove those tags and rules first", nRecords, names, group, nRules)}
}

// DeleteResult reports a deletion.
type DeleteResult struct {
	// Records is how many records had the deleted tags removed.
	Records int `json:"records"`
}

// DeleteGroup deletes a group and its tags: it marks them as being
// deleted (no one can apply them any more), deletes their rules, removes
// them from every record in batches (deleted records included), each
// change with its record.tagged event, and then deletes the definitions.
// An interrupted deletion leaves the group marked; calling DeleteGroup
// again finishes it.
func (s *Service) DeleteGroup(ctx context.Context, tenantID string, actor records.Actor, name string) (DeleteResult, error) {
	var values []string
	err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE tag_groups SET deleting_at = coalesce(deleting_at, now()), updated_by = $3 WHERE tenant_id = $1 AND name = $2",
			tenantID, name, string(actor))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errGroupNotFound(name)
		}
		if _, err := tx.Exec(ctx, "UPDATE tags SET deleting_at = coalesce(deleting_at, now()) WHERE tenant_id = $1 AND group_name = $2", tenantID, name); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM tag_rules WHERE tenant_id = $1 AND group_name = $2", tenantID, name); err != nil {
			return err
		}
		values, err = groupValues(ctx, tx, tenantID, name)
		return err
	})
	if err != nil {
		return DeleteResult{}, err
	}
	n, err := s.purge(ctx, tenantID, actor, values, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM tag_groups WHERE tenant_id = $1 AND name = $2", tenantID, name)
		return err
	})
	return DeleteResult{Records: n}, err
}

// purge removes values from every record of the tenant in batches, then
// runs final in a transaction that first checks no record carries them
// any more. Callers have marked the values as being deleted, so no one
// can apply them meanwhile.
func (s *Service) purge(ctx context.Context, tenantID string, actor records.Actor, values []string, final func(pgx.Tx) error) (int, error) {
	total := 0
	for attempt := 0; ; attempt++ {
		if len(values) > 0 {
			res, err := s.runBulk(ctx, tenantID, actor, bulkSpec{remove: values, includeDeleted: true, source: SourceDelete})
			total += res.Changed
			if err != nil {
				return total, err
			}
		}
		left := 0
		err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
			if len(values) > 0 {
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM records WHERE tenant_id = $1 AND tags && $2::text[]", tenantID, values).Scan(&left); err != nil {
					return err
				}
			}
			if left > 0 {
				return nil
			}
			return final(tx)
		})
		if err != nil || left == 0 {
			return total, err
		}
		if attempt == 2 {
			return total, fmt.Errorf("delete tags: %d record(s) still carry %v after removing them", left, values)
		}
	}
}
