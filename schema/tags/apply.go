package tags

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// Result is a record's tags after Apply.
type Result struct {
	Object  string `json:"object"`
	ID      string `json:"id"`
	Version int    `json:"version"`
	// Tags are the record's tags now, sorted.
	Tags []string `json:"tags"`
	// Added and Removed are what changed (sorted); both are empty, and the
	// version unchanged, when nothing did.
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed bool     `json:"changed"`
}

// EventPayload is the payload of a record.tagged event.
type EventPayload struct {
	Object   string        `json:"object"`
	ObjectID string        `json:"objectId"`
	ID       string        `json:"id"`
	Version  int           `json:"version"`
	Actor    records.Actor `json:"actor"`
	Added    []string      `json:"added"`
	Removed  []string      `json:"removed"`
	// Source is what changed the tags: SourceManual, SourceBulk,
	// SourceRule, SourceRules or SourceDelete.
	Source string `json:"source"`
	// Rule is the rule whose bulk re-evaluation changed the tags.
	Rule string `json:"rule,omitempty"`
}

// tagInfo is what a change needs to know of one tag.
type tagInfo struct {
	group    string
	multi    bool
	objects  []string // object keys the group applies to
	deleting bool     // the tag or its group is being deleted
}

// lockTagsSQL reads the named tags (stored values in $2) and their
// groups, share-locking both so that no deletion or group change can
// commit while the caller's transaction uses them.
const lockTagsSQL = `SELECT t.group_name || '/' || t.name, g.multi_valued, g.objects::text[],
		(t.deleting_at IS NOT NULL OR g.deleting_at IS NOT NULL)
	FROM tags t JOIN tag_groups g ON g.tenant_id = t.tenant_id AND g.name = t.group_name
	WHERE t.tenant_id = $1
	AND (t.group_name, t.name) IN (SELECT split_part(v, '/', 1), split_part(v, '/', 2) FROM unnest($2::text[]) v)
	ORDER BY 1
	FOR SHARE`

func scanTagInfos(rows pgx.Rows) (map[string]tagInfo, error) {
	out := map[string]tagInfo{}
	for rows.Next() {
		var v string
		var ti tagInfo
		if err := rows.Scan(&v, &ti.multi, &ti.objects, &ti.deleting); err != nil {
			rows.Close()
			return nil, err
		}
		ti.group, _, _ = strings.Cut(v, "/")
		out[v] = ti
	}
	return out, rows.Err()
}

// checkTags checks a change against the tags as stored: every added tag
// exists, is not being deleted and applies to the object; every removed
// tag exists; at most one tag per single-valued group is added. It
// returns the single-valued groups tags are added to.
func checkTags(infos map[string]tagInfo, objectKey string, objectAPIName string, add, remove []string) ([]string, error) {
	var single []string
	for _, v := range add {
		ti, ok := infos[v]
		if !ok || ti.deleting {
			return nil, errTagNotFound("add", v)
		}
		if !slices.Contains(ti.objects, objectKey) {
			return nil, &apierror.Error{Kind: apierror.Invalid, Code: "tag_not_allowed", Field: "add",
				Message: fmt.Sprintf("tags of group %s do not apply to %s records", ti.group, objectAPIName)}
		}
		if !ti.multi {
			if slices.Contains(single, ti.group) {
				return nil, &apierror.Error{Kind: apierror.Invalid, Code: "single_valued_group", Field: "add",
					Message: fmt.Sprintf("tag group %s is single-valued: add at most one of its tags", ti.group)}
			}
			single = append(single, ti.group)
		}
	}
	for _, v := range remove {
		if _, ok := infos[v]; !ok {
			return nil, errTagNotFound("remove", v)
		}
	}
	slices.Sort(single)
	return single, nil
}

// nextTags applies a change to a record's tags: drop remove, drop the
// other tags of the single-valued groups tags are added to, add add. The
// result is sorted (byte order, as PostgreSQL's "C" collation sorts) and
// without duplicates.
func nextTags(old, add, remove, single []string) []string {
	out := make([]string, 0, len(old)+len(add))
	for _, t := range old {
		if slices.Contains(remove, t) {
			continue
		}
		if g, _, _ := strings.Cut(t, "/"); slices.Contains(single, g) && !slices.Contains(add, t) {
			continue
		}
		out = append(out, t)
	}
	out = append(out, add...)
	slices.Sort(out)
	return slices.Compact(out)
}

// diffTags returns what is in b and not in a, and what is in a and not in
// b, both sorted.
func diffTags(a, b []string) (added, removed []string) {
	added, removed = []string{}, []string{}
	for _, t := range b {
		if !slices.Contains(a, t) {
			added = append(added, t)
		}
	}
	for _, t := range a {
		if !slices.Contains(b, t) {
			removed = append(removed, t)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}

func errRecordNotFound(o *model.Object, id string) error {
	return &apierror.Error{Kind: apierror.NotFound, Code: "record_not_found", Field: "id", Message: fmt.Sprintf("no %s record %s", o.APIName, id)}
}

// Apply adds and removes tags (stored values, "group/tag") on one live
// record, in one transaction: every added tag must exist and apply to the
// object, every removed one must exist; adding a tag of a single-valued
// group replaces the group's other tag. If the tags change, the record's
// version, updatedAt and updatedBy change with them and a record.tagged
// event is appended; otherwise nothing is written. Nothing is written
// when anything is wrong.
func (s *Service) Apply(ctx context.Context, tenantID string, actor records.Actor, objectName, id string, add, remove []string) (*Result, error) {
	add, remove, err := checkOps(add, remove)
	if err != nil {
		return nil, err
	}
	if !model.IsUUID(id) {
		return nil, apierror.Invalidf("id", "invalid_id", "record id %q is not a UUID", id)
	}
	_, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	id = strings.ToLower(id)
	var res *Result
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		// The tenant setting, the tags and the record in one round trip;
		// tags are locked before the record, as everywhere in this package.
		b := &pgx.Batch{}
		b.Queue(database.SetTenantSQL, tenantID)
		b.Queue(lockTagsSQL, tenantID, append(slices.Clone(add), remove...))
		b.Queue(`SELECT tags, version FROM records WHERE tenant_id = $1 AND object_id = $2 AND id = $3 AND deleted_at IS NULL FOR UPDATE`,
			tenantID, o.Key, id)
		br := tx.SendBatch(ctx, b)
		var infos map[string]tagInfo
		var old []string
		var version int
		_, err := br.Exec()
		if err == nil {
			var rows pgx.Rows
			if rows, err = br.Query(); err == nil {
				infos, err = scanTagInfos(rows)
			}
		}
		if err == nil {
			err = br.QueryRow().Scan(&old, &version)
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		single, terr := checkTags(infos, o.Key, o.APIName, add, remove)
		if errors.Is(err, pgx.ErrNoRows) {
			if terr != nil {
				return terr
			}
			return errRecordNotFound(o, id)
		}
		if err != nil {
			return fmt.Errorf("tag %s %s: %w", o.APIName, id, err)
		}
		if terr != nil {
			return terr
		}
		res, err = s.write(ctx, tx, tenantID, actor, o, id, old, version, nextTags(old, add, remove, single), SourceManual, "")
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// write stores a record's new tags, if they differ from old, bumping its
// version, with its record.tagged event, in one round trip. The caller
// holds the record's row lock.
func (s *Service) write(ctx context.Context, tx pgx.Tx, tenantID string, actor records.Actor, o *model.Object, id string,
	old []string, version int, next []string, source, rule string) (*Result, error) {
	res := &Result{Object: o.APIName, ID: id, Version: version, Tags: next}
	res.Added, res.Removed = diffTags(old, next)
	if len(res.Added) == 0 && len(res.Removed) == 0 {
		res.Tags = old
		return res, nil
	}
	res.Changed = true
	res.Version = version + 1
	b := &pgx.Batch{}
	b.Queue(`UPDATE records SET tags = $4, version = $5, updated_at = now(), updated_by = $6
		WHERE tenant_id = $1 AND object_id = $2 AND id = $3`, tenantID, o.Key, id, next, res.Version, string(actor))
	if err := outbox.Queue(b, tenantID, TopicTagged, EventPayload{
		Object: o.APIName, ObjectID: o.Key, ID: id, Version: res.Version, Actor: actor,
		Added: res.Added, Removed: res.Removed, Source: source, Rule: rule,
	}); err != nil {
		return nil, err
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("tag %s %s: %w", o.APIName, id, err)
	}
	return res, nil
}
