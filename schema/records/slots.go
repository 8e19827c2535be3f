package records

import (
	"fmt"
	"strings"

	"github.com/latticecrm/lattice/schema/model"
)

// slotValues lists the slot columns of o's live fields and what each holds
// for the full set of values vals. A unique slot holds nothing while its
// field is not unique (a background job clears old values).
func slotValues(o *model.Object, vals model.Values) (cols []string, args []any) {
	for _, f := range o.Fields {
		v := vals[f.Key]
		if f.Slot != "" {
			cols = append(cols, f.Slot)
			args = append(args, f.SlotValue(v))
		}
		if f.UniqueSlot != "" {
			cols = append(cols, f.UniqueSlot)
			if f.Unique {
				args = append(args, f.UniqueValue(v))
			} else {
				args = append(args, nil)
			}
		}
	}
	return cols, args
}

// insertSQL builds the INSERT for a record with the given slot columns.
// Slot order follows the object's fields, so each object has one statement
// text, which pgx prepares once.
func insertSQL(cols []string) string {
	var names, params strings.Builder
	for i, c := range cols {
		fmt.Fprintf(&names, ", %s", c)
		fmt.Fprintf(&params, ", $%d%s", 7+i, "::"+model.SlotSQLType(c))
	}
	return "INSERT INTO records (tenant_id, object_id, id, data, created_by, updated_by, owner_id" + names.String() +
		") VALUES ($1, $2, $3, $4, $5, $5, NULLIF($6, '')" + params.String() + ") RETURNING " + recordColumns
}

// updateSQL builds the UPDATE that writes a record's new data and slots and
// bumps its version.
func updateSQL(cols []string) string {
	var set strings.Builder
	for i, c := range cols {
		fmt.Fprintf(&set, ", %s = $%d%s", c, 7+i, "::"+model.SlotSQLType(c))
	}
	return "UPDATE records SET data = $4, version = version + 1, updated_at = now(), updated_by = $5, owner_id = NULLIF($6, '')" +
		set.String() + " WHERE tenant_id = $1 AND object_id = $2 AND id = $3 RETURNING " + recordColumns
}

// fieldForConstraint maps a violated unique index (records_u3_key) to the
// object's field using that slot.
func fieldForConstraint(o *model.Object, constraint string) *model.Field {
	slot := strings.TrimSuffix(strings.TrimPrefix(constraint, "records_"), "_key")
	for _, f := range o.Fields {
		if f.UniqueSlot == slot {
			return f
		}
	}
	return nil
}
