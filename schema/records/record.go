package records

import (
	"encoding/json"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/schema/model"
)

// Record is one record with its system fields and its values by API name.
// It marshals to one flat JSON object: system fields and values side by
// side (user fields can never shadow system fields).
type Record struct {
	ID        string
	Object    string
	Values    map[string]any
	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
	CreatedBy string
	UpdatedBy string
	Owner     string
	Tags      []string
	Score     *json.Number
	Grade     *string
	DeletedAt *time.Time
}

// MarshalJSON writes the record as one flat object.
func (r *Record) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(r.Values)+12)
	maps.Copy(m, r.Values)
	m["id"] = r.ID
	m["version"] = r.Version
	m["createdAt"] = r.CreatedAt.UTC().Format(time.RFC3339Nano)
	m["updatedAt"] = r.UpdatedAt.UTC().Format(time.RFC3339Nano)
	m["createdBy"] = r.CreatedBy
	m["updatedBy"] = r.UpdatedBy
	m["owner"] = nilIfEmpty(r.Owner)
	m["tags"] = r.Tags
	m["score"] = r.Score
	m["grade"] = r.Grade
	if r.DeletedAt != nil {
		m["deletedAt"] = r.DeletedAt.UTC().Format(time.RFC3339Nano)
	} else {
		m["deletedAt"] = nil
	}
	return json.Marshal(m)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// recordColumns are read for every record, in scanRecord's order.
const recordColumns = "id::text, data, version, created_at, updated_at, created_by, updated_by, coalesce(owner_id, ''), tags, score::text, grade, deleted_at"

// scanRecord reads recordColumns and maps stored values from field keys to
// API names; values of removed fields are not shown.
func scanRecord(row pgx.Row, o *model.Object) (*Record, error) {
	r, _, err := scanRecordData(row, o)
	return r, err
}

// scanRecordData is scanRecord that also returns every stored value by
// key, removed fields' included, for writes that must keep them.
func scanRecordData(row pgx.Row, o *model.Object) (*Record, model.Values, error) {
	r := &Record{Object: o.APIName}
	var data []byte
	var score *string
	err := row.Scan(&r.ID, &data, &r.Version, &r.CreatedAt, &r.UpdatedAt, &r.CreatedBy, &r.UpdatedBy, &r.Owner, &r.Tags, &score, &r.Grade, &r.DeletedAt)
	if err != nil {
		return nil, nil, err
	}
	if score != nil {
		n := json.Number(*score)
		r.Score = &n
	}
	stored, err := decodeData(data)
	if err != nil {
		return nil, nil, err
	}
	r.Values = make(map[string]any, len(o.Fields))
	for _, f := range o.Fields {
		if v, ok := stored[f.Key]; ok && v != nil {
			r.Values[f.APIName] = v
		}
	}
	return r, stored, nil
}

func decodeData(data []byte) (model.Values, error) {
	v, err := model.DecodeJSON(data)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return model.Values(m), nil
}
