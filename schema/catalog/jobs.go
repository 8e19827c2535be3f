package catalog

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
)

// Job is a background slot job: fill a slot column from the stored values
// of a field that became indexed or unique, or clear one.
type Job struct {
	ID       string `json:"id"`
	ObjectID string `json:"objectId"`
	FieldKey string `json:"fieldKey"`
	Slot     string `json:"slot"`
	Action   string `json:"action"`
	DoneRows int64  `json:"doneRows"`
	Error    string `json:"error,omitempty"`
	Finished bool   `json:"finished"`
}

// jobBatch is how many records one job transaction touches: small enough
// that writers to those records wait only a moment.
const jobBatch = 1000

var slotName = regexp.MustCompile(`^[nstru][0-9]{1,2}$`)

// RunJobs runs the tenant's pending slot jobs to completion, one batch per
// transaction, resuming from where an interrupted run stopped. progress,
// if not nil, is called after every batch. It returns the jobs it finished.
func (c *Catalog) RunJobs(ctx context.Context, tenantID string, progress func(Job)) (int, error) {
	finished := 0
	for {
		job, ok, err := c.runBatch(ctx, tenantID)
		if err != nil {
			return finished, err
		}
		if !ok {
			return finished, nil
		}
		if progress != nil {
			progress(job)
		}
		if job.Finished {
			finished++
		}
	}
}

// RunAllJobs runs every tenant's pending slot jobs; the server calls it
// periodically.
func (c *Catalog) RunAllJobs(ctx context.Context) error {
	rows, err := c.pool.Query(ctx, "SELECT lattice_pending_slot_jobs()::text")
	if err != nil {
		return fmt.Errorf("list tenants with slot jobs: %w", err)
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list tenants with slot jobs: %w", err)
	}
	var errs []error
	for _, t := range tenants {
		if _, err := c.RunJobs(ctx, t, nil); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// Jobs lists the tenant's slot jobs, unfinished first.
func (c *Catalog) Jobs(ctx context.Context, tenantID string) ([]Job, error) {
	var out []Job
	err := database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id::text, object_id::text, field_key, slot, action, done_rows, error, finished_at IS NOT NULL
			FROM slot_jobs WHERE tenant_id = $1 ORDER BY finished_at IS NOT NULL, created_at`, tenantID)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) {
			var j Job
			return j, r.Scan(&j.ID, &j.ObjectID, &j.FieldKey, &j.Slot, &j.Action, &j.DoneRows, &j.Error, &j.Finished)
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list slot jobs: %w", err)
	}
	return out, nil
}

// runBatch advances the oldest pending job by one batch. ok is false when
// there is no pending job.
func (c *Catalog) runBatch(ctx context.Context, tenantID string) (job Job, ok bool, err error) {
	m, err := c.Model(ctx, tenantID)
	if err != nil {
		return Job{}, false, err
	}
	err = database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
		var after *string
		err := tx.QueryRow(ctx, `SELECT id::text, object_id::text, field_key, slot, action, after_id::text, done_rows
			FROM slot_jobs WHERE tenant_id = $1 AND finished_at IS NULL AND error = ''
			ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED`, tenantID).
			Scan(&job.ID, &job.ObjectID, &job.FieldKey, &job.Slot, &job.Action, &after, &job.DoneRows)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("next slot job: %w", err)
		}
		ok = true
		if !slotName.MatchString(job.Slot) {
			return fmt.Errorf("slot job %s names bad slot %q", job.ID, job.Slot)
		}
		start := "00000000-0000-0000-0000-000000000000"
		if after != nil {
			start = *after
		}
		var last string
		var n int64
		switch job.Action {
		case "fill":
			f := fieldByKeys(m, job.ObjectID, job.FieldKey)
			if f == nil {
				// The field was removed since; nothing to fill.
				break
			}
			last, n, err = fillBatch(ctx, tx, tenantID, job, f, start)
		case "clear":
			last, n, err = clearBatch(ctx, tx, tenantID, job, start)
		default:
			err = fmt.Errorf("unknown slot job action %q", job.Action)
		}
		if err != nil {
			return err
		}
		job.DoneRows += n
		if n < jobBatch {
			job.Finished = true
			_, err = tx.Exec(ctx, "UPDATE slot_jobs SET done_rows = $2, finished_at = now() WHERE tenant_id = $1 AND id = $3", tenantID, job.DoneRows, job.ID)
		} else {
			_, err = tx.Exec(ctx, "UPDATE slot_jobs SET done_rows = $2, after_id = $3 WHERE tenant_id = $1 AND id = $4", tenantID, job.DoneRows, last, job.ID)
		}
		return err
	})
	if database.IsCode(err, database.UniqueViolation) {
		// The batch rolled back; record why in a transaction of its own so
		// the job stops being retried until someone fixes the data.
		job.Error = "duplicate values appeared while the unique index was being filled; remove them and make the field unique again"
		err = database.InTenantTx(ctx, c.pool, tenantID, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "UPDATE slot_jobs SET error = $2 WHERE tenant_id = $1 AND id = $3", tenantID, job.Error, job.ID)
			return err
		})
		c.log.WarnContext(ctx, "slot job failed", "tenant", tenantID, "job", job.ID, "err", job.Error)
	}
	if err != nil {
		return job, ok, fmt.Errorf("slot job %s: %w", job.ID, err)
	}
	return job, ok, nil
}

func fieldByKeys(m *model.Model, objectKey, fieldKey string) *model.Field {
	o := m.ObjectByKey(objectKey)
	if o == nil {
		return nil
	}
	return o.FieldByKey(fieldKey)
}

// fillBatch copies up to jobBatch records' values of f into the slot,
// computed by the same Go code that writes them (model.Field.SlotValue).
func fillBatch(ctx context.Context, tx pgx.Tx, tenantID string, job Job, f *model.Field, after string) (string, int64, error) {
	rows, err := tx.Query(ctx, `SELECT id::text, data -> $3 FROM records
		WHERE tenant_id = $1 AND object_id = $2 AND id > $4 ORDER BY id LIMIT $5`,
		tenantID, job.ObjectID, job.FieldKey, after, jobBatch)
	if err != nil {
		return "", 0, fmt.Errorf("read batch: %w", err)
	}
	var ids []string
	var vals []*string
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			rows.Close()
			return "", 0, err
		}
		ids = append(ids, id)
		vals = append(vals, slotText(f, job.Slot, raw))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", 0, err
	}
	if len(ids) == 0 {
		return after, 0, nil
	}
	sql := fmt.Sprintf(`UPDATE records r SET %[1]s = v.val::%[2]s FROM unnest($3::uuid[], $4::text[]) AS v(id, val)
		WHERE r.tenant_id = $1 AND r.object_id = $2 AND r.id = v.id`, job.Slot, model.SlotSQLType(job.Slot))
	if _, err := tx.Exec(ctx, sql, tenantID, job.ObjectID, ids, vals); err != nil {
		return "", 0, fmt.Errorf("fill %s: %w", job.Slot, err)
	}
	return ids[len(ids)-1], int64(len(ids)), nil
}

func slotText(f *model.Field, slot string, raw []byte) *string {
	if raw == nil {
		return nil
	}
	v, err := model.DecodeJSON(raw)
	if err != nil || v == nil {
		return nil
	}
	var sv any
	if slot[0] == model.SlotUnique {
		sv = f.UniqueValue(v)
	} else {
		sv = f.SlotValue(v)
	}
	var s string
	switch x := sv.(type) {
	case nil:
		return nil
	case string:
		s = x
	case time.Time:
		s = x.Format(time.RFC3339Nano)
	default:
		s = fmt.Sprint(x)
	}
	return &s
}

func clearBatch(ctx context.Context, tx pgx.Tx, tenantID string, job Job, after string) (string, int64, error) {
	sql := fmt.Sprintf(`WITH batch AS (
			SELECT id FROM records WHERE tenant_id = $1 AND object_id = $2 AND id > $3 ORDER BY id LIMIT $4)
		UPDATE records r SET %[1]s = NULL FROM batch WHERE r.tenant_id = $1 AND r.object_id = $2 AND r.id = batch.id
		RETURNING r.id::text`, job.Slot)
	rows, err := tx.Query(ctx, sql, tenantID, job.ObjectID, after, jobBatch)
	if err != nil {
		return "", 0, fmt.Errorf("clear %s: %w", job.Slot, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return "", 0, fmt.Errorf("clear %s: %w", job.Slot, err)
	}
	last := after
	for _, id := range ids {
		if id > last {
			last = id
		}
	}
	return last, int64(len(ids)), nil
}
