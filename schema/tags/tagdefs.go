package tags

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// TagInput defines a new tag.
type TagInput struct {
	// Group is the API name of an existing group. Required.
	Group string `json:"group"`
	// Name is the immutable API name (camelCase) within the group. Required.
	Name  string     `json:"name"`
	Label model.Text `json:"label,omitempty"`
	// Color is "#rrggbb" or "".
	Color string `json:"color,omitempty"`
	// Position orders tags within the group; default: after the last tag.
	Position *int `json:"position,omitempty"`
}

// TagPatch changes a tag: its label, color or position. Nil fields are
// left as they are; the name never changes (renaming is relabelling).
type TagPatch struct {
	Label model.Text `json:"label,omitempty"`
	// Color "" clears it.
	Color    *string `json:"color,omitempty"`
	Position *int    `json:"position,omitempty"`
}

const tagColumns = `t.group_name, t.name, t.label, coalesce(t.color, ''), t.position, (t.deleting_at IS NOT NULL), t.created_at, t.updated_at`

func scanTag(row pgx.Row) (*Tag, error) {
	t := &Tag{}
	if err := row.Scan(&t.Group, &t.Name, &t.Label, &t.Color, &t.Position, &t.Deleting, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.Value = Value(t.Group, t.Name)
	return t, nil
}

func errTagNotFound(field, value string) error {
	return &apierror.Error{Kind: apierror.NotFound, Code: "tag_not_found", Field: field, Message: fmt.Sprintf("no tag %q", value)}
}

// CreateTag creates a tag in a group.
func (s *Service) CreateTag(ctx context.Context, tenantID string, actor records.Actor, in TagInput) (*Tag, error) {
	if err := checkName("name", "tag", in.Name); err != nil {
		return nil, err
	}
	if err := checkText("label", in.Label); err != nil {
		return nil, err
	}
	if err := checkColor(in.Color); err != nil {
		return nil, err
	}
	var t *Tag
	err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		// The group's row lock serialises tag creation in the group (the
		// limit holds) and keeps a deletion from starting meanwhile.
		var deleting bool
		err := tx.QueryRow(ctx, "SELECT deleting_at IS NOT NULL FROM tag_groups WHERE tenant_id = $1 AND name = $2 FOR UPDATE", tenantID, in.Group).Scan(&deleting)
		if errors.Is(err, pgx.ErrNoRows) {
			return errGroupNotFound(in.Group)
		}
		if err != nil {
			return err
		}
		if deleting {
			return errGroupDeleting(in.Group)
		}
		var n, next int
		if err := tx.QueryRow(ctx, "SELECT count(*), coalesce(max(position) + 1, 0) FROM tags WHERE tenant_id = $1 AND group_name = $2",
			tenantID, in.Group).Scan(&n, &next); err != nil {
			return err
		}
		if n >= MaxTagsPerGroup {
			return apierror.New(apierror.Conflict, "limit_reached", "a tag group may hold at most %d tags", MaxTagsPerGroup)
		}
		if in.Position != nil {
			next = *in.Position
		}
		t, err = scanTag(tx.QueryRow(ctx, `INSERT INTO tags AS t (tenant_id, group_name, name, label, color, position, created_by, updated_by)
			VALUES ($1, $2, $3, $4, NULLIF($5, ''), $6, $7, $7) RETURNING `+tagColumns,
			tenantID, in.Group, in.Name, textOrEmpty(in.Label), in.Color, next, string(actor)))
		if database.IsCode(err, database.UniqueViolation) {
			return &apierror.Error{Kind: apierror.Conflict, Code: "tag_exists", Field: "name",
				Message: fmt.Sprintf("tag group %s already has a tag named %q", in.Group, in.Name)}
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Tags lists the tags of group, or of every group when group is "", in
// the groups' order and then by position and name.
func (s *Service) Tags(ctx context.Context, tenantID, group string) ([]*Tag, error) {
	var out []*Tag
	err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		if group != "" {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM tag_groups WHERE tenant_id = $1 AND name = $2)", tenantID, group).Scan(&exists); err != nil {
				return err
			}
			if !exists {
				return errGroupNotFound(group)
			}
		}
		rows, err := tx.Query(ctx, `SELECT `+tagColumns+` FROM tags t JOIN tag_groups g ON g.tenant_id = t.tenant_id AND g.name = t.group_name
			WHERE t.tenant_id = $1 AND ($2 = '' OR t.group_name = $2)
			ORDER BY g.position, g.name, t.position, t.name`, tenantID, group)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Tag, error) { return scanTag(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Tag returns one tag by its stored value, "group/name".
func (s *Service) Tag(ctx context.Context, tenantID, value string) (*Tag, error) {
	g, n, ok := ParseValue(value)
	if !ok {
		return nil, apierror.Invalidf("tag", "invalid_tag", "%q is not a tag: want group/tag, both camelCase API names", value)
	}
	var t *Tag
	err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var err error
		t, err = scanTag(tx.QueryRow(ctx, "SELECT "+tagColumns+" FROM tags t WHERE t.tenant_id = $1 AND t.group_name = $2 AND t.name = $3", tenantID, g, n))
		if errors.Is(err, pgx.ErrNoRows) {
			return errTagNotFound("tag", value)
		}
		return err
	})
	return t, err
}

// UpdateTag changes a tag's label, color or position.
func (s *Service) UpdateTag(ctx context.Context, tenantID string, actor records.Actor, value string, p TagPatch) (*Tag, error) {
	g, n, ok := ParseValue(value)
	if !ok {
		return nil, apierror.Invalidf("tag", "invalid_tag", "%q is not a tag: want group/tag, both camelCase API names", value)
	}
	if err := checkText("label", p.Label); err != nil {
		return nil, err
	}
	if p.Color != nil {
		if err := checkColor(*p.Color); err != nil {
			return nil, err
		}
	}
	var t *Tag
	err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var label any
		if p.Label != nil {
			label = p.Label
		}
		var err error
		t, err = scanTag(tx.QueryRow(ctx, `UPDATE tags AS t SET label = coalesce($4::jsonb, t.label),
				color = CASE WHEN $5::text IS NULL THEN t.color ELSE NULLIF($5, '') END,
				position = coalesce($6, t.position), updated_at = now(), updated_by = $7
			WHERE t.tenant_id = $1 AND t.group_name = $2 AND t.name = $3 AND t.deleting_at IS NULL RETURNING `+tagColumns,
			tenantID, g, n, label, p.Color, p.Position, string(actor)))
		if errors.Is(err, pgx.ErrNoRows) {
			return errTagNotFound("tag", value)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTag deletes a tag: it marks it as being deleted (no one can apply
// it any more), deletes its rules, removes it from every record in batches
// (deleted records included), each change with its record.tagged event,
// and then deletes its definition. An interrupted deletion leaves the tag
// marked; calling DeleteTag again finishes it.
func (s *Service) DeleteTag(ctx context.Context, tenantID string, actor records.Actor, value string) (DeleteResult, error) {
	g, n, ok := ParseValue(value)
	if !ok {
		return DeleteResult{}, apierror.Invalidf("tag", "invalid_tag", "%q is not a tag: want group/tag, both camelCase API names", value)
	}
	err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE tags SET deleting_at = coalesce(deleting_at, now()), updated_by = $4 WHERE tenant_id = $1 AND group_name = $2 AND name = $3",
			tenantID, g, n, string(actor))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errTagNotFound("tag", value)
		}
		_, err = tx.Exec(ctx, "DELETE FROM tag_rules WHERE tenant_id = $1 AND group_name = $2 AND tag_name = $3", tenantID, g, n)
		return err
	})
	if err != nil {
		return DeleteResult{}, err
	}
	count, err := s.purge(ctx, tenantID, actor, []string{value}, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "DELETE FROM tags WHERE tenant_id = $1 AND group_name = $2 AND name = $3", tenantID, g, n)
		return err
	})
	return DeleteResult{Records: count}, err
}
