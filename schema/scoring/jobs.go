package scoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/model"
)

// Job is a rescore job: every live record of one object scored under one
// rule set version, in batches ordered by id within slices of the id
// space.
type Job struct {
	ID             string     `json:"id"`
	Object         string     `json:"object"`
	ObjectID       string     `json:"objectId"`
	RulesetVersion int        `json:"rulesetVersion"`
	Reason         string     `json:"reason"`
	TotalRows      int64      `json:"totalRows"`
	DoneRows       int64      `json:"doneRows"`
	ChangedRows    int64      `json:"changedRows"`
	Slices         int        `json:"slices"`
	Error          string     `json:"error,omitempty"`
	Superseded     bool       `json:"superseded,omitempty"`
	Finished       bool       `json:"finished"`
	CreatedAt      time.Time  `json:"createdAt"`
	UpdatedAt      time.Time  `json:"updatedAt"`
	FinishedAt     *time.Time `json:"finishedAt,omitempty"`
}

// jobSelect reads jobs with their slices' progress summed; append WHERE
// conditions on j and "GROUP BY j.tenant_id, j.id".
const jobSelect = `SELECT j.id::text, j.object_id::text, j.ruleset_version, j.reason, j.total_rows,
	coalesce(sum(s.done_rows), 0)::bigint, coalesce(sum(s.changed_rows), 0)::bigint, count(s.slice)::int,
	j.error, j.superseded, j.finished_at IS NOT NULL, j.created_at, j.updated_at, j.finished_at
	FROM scoring_jobs j LEFT JOIN scoring_job_slices s ON s.tenant_id = j.tenant_id AND s.job_id = j.id `

const jobGroup = ` GROUP BY j.tenant_id, j.id `

func scanJob(row pgx.Row) (Job, error) {
	var j Job
	err := row.Scan(&j.ID, &j.ObjectID, &j.RulesetVersion, &j.Reason, &j.TotalRows, &j.DoneRows, &j.ChangedRows, &j.Slices,
		&j.Error, &j.Superseded, &j.Finished, &j.CreatedAt, &j.UpdatedAt, &j.FinishedAt)
	j.Object = j.ObjectID
	return j, err
}

func readJob(ctx context.Context, tx pgx.Tx, tenantID, id string) (Job, error) {
	return scanJob(tx.QueryRow(ctx, jobSelect+`WHERE j.tenant_id = $1 AND j.id = $2`+jobGroup, tenantID, id))
}

func (j *Job) name(m *model.Model) {
	if o := m.ObjectByKey(j.ObjectID); o != nil {
		j.Object = o.APIName
	}
}

// Slicing: a job's records are split by id into slices that workers (in
// one process or several) score at the same time. Record ids are random
// UUIDs, so equal ranges of the id space hold about equal numbers.
const (
	defaultSliceSize = 20000 // records per slice
	maxSlices        = 16
)

// sliceBounds returns the exclusive start and inclusive end of n equal
// ranges of the UUID space.
func sliceBounds(n int) (after, last []string) {
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	toUUID := func(x *big.Int) string {
		var b [16]byte
		x.FillBytes(b[:])
		return uuid.UUID(b).String()
	}
	for i := range n {
		lo := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i))), big.NewInt(int64(n)))
		hi := new(big.Int).Div(new(big.Int).Mul(space, big.NewInt(int64(i+1))), big.NewInt(int64(n)))
		hi.Sub(hi, big.NewInt(1))
		if i == 0 {
			after = append(after, "00000000-0000-0000-0000-000000000000")
		} else {
			after = append(after, toUUID(lo.Sub(lo, big.NewInt(1))))
		}
		last = append(last, toUUID(hi))
	}
	return after, last
}

// queueJob queues a job rescoring the object's live records under
// version, split into slices by its number of records. With supersede, the
// object's unfinished job is finished first (superseded); without, nothing
// is queued while one is unfinished (nil, nil).
func (s *Service) queueJob(ctx context.Context, tx pgx.Tx, tenantID string, o *model.Object, version int, reason, actor string, supersede bool) (*Job, error) {
	if supersede {
		if _, err := tx.Exec(ctx, `UPDATE scoring_jobs SET finished_at = now(), updated_at = now(), superseded = true
			WHERE tenant_id = $1 AND object_id = $2 AND finished_at IS NULL`, tenantID, o.Key); err != nil {
			return nil, fmt.Errorf("supersede rescore job: %w", err)
		}
	}
	var id string
	var total int64
	err := tx.QueryRow(ctx, `INSERT INTO scoring_jobs (tenant_id, object_id, ruleset_version, reason, total_rows, created_by)
		SELECT $1, $2, $3, $4, count(*), $5 FROM records WHERE tenant_id = $1 AND object_id = $2 AND deleted_at IS NULL
		ON CONFLICT (tenant_id, object_id) WHERE finished_at IS NULL DO NOTHING
		RETURNING id::text, total_rows`, tenantID, o.Key, version, reason, actor).Scan(&id, &total)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("queue rescore job: %w", err)
	}
	n := int(min(max(total/int64(s.sliceSize), 1), maxSlices))
	after, last := sliceBounds(n)
	if _, err := tx.Exec(ctx, `INSERT INTO scoring_job_slices (tenant_id, job_id, slice, after_id, last_id)
		SELECT $1, $2, s.n - 1, s.after_id::uuid, s.last_id::uuid FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS s(after_id, last_id, n)`,
		tenantID, id, after, last); err != nil {
		return nil, fmt.Errorf("queue rescore job: %w", err)
	}
	j, err := readJob(ctx, tx, tenantID, id)
	if err != nil {
		return nil, fmt.Errorf("queue rescore job: %w", err)
	}
	j.Object = o.APIName
	return &j, nil
}

// Jobs lists the tenant's rescore jobs (of one object, if objectName is
// not ""), unfinished first, then newest first.
func (s *Service) Jobs(ctx context.Context, tenantID, objectName string) ([]Job, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	key := ""
	if objectName != "" {
		o := m.Object(objectName)
		if o == nil {
			return nil, apierror.New(apierror.NotFound, "object_not_found", "no object %q in this tenant's schema", objectName)
		}
		key = o.Key
	}
	var out []Job
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, jobSelect+`WHERE j.tenant_id = $1 AND ($2 = '' OR j.object_id::text = $2)`+jobGroup+
			`ORDER BY j.finished_at IS NOT NULL, j.created_at DESC`, tenantID, key)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Job, error) { return scanJob(r) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list rescore jobs: %w", err)
	}
	for i := range out {
		out[i].name(m)
	}
	return out, nil
}

// RunJobs runs the tenant's unfinished rescore jobs to completion, with
// Options.Workers batches at a time, each batch in its own transaction,
// resuming where an interrupted run stopped (after a crash or a cancelled
// context, run it again). progress, if not nil, is called after every
// batch (never concurrently) with the job's state. It returns how many
// jobs it finished.
func (s *Service) RunJobs(ctx context.Context, tenantID string, progress func(Job)) (int, error) {
	return s.runJobs(ctx, tenantID, "", progress)
}

func (s *Service) runJobs(parent context.Context, tenantID, objectID string, progress func(Job)) (int, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var (
		mu       sync.Mutex
		finished int
		firstErr error
		wg       sync.WaitGroup
	)
	for range s.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				job, ok, done, err := s.runBatch(ctx, tenantID, objectID)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
					cancel()
				}
				if ok && err == nil {
					if done {
						finished++
					}
					if progress != nil {
						progress(job)
					}
				}
				mu.Unlock()
				if err != nil || !ok || ctx.Err() != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil {
		firstErr = parent.Err() // stopped between batches
	}
	return finished, firstErr
}

// Rescore rescores every live record of the object under its active rule
// set: it resumes the object's unfinished job if there is one, or starts
// one, and runs it to completion. It returns the job's final state.
func (s *Service) Rescore(ctx context.Context, tenantID, objectName, actor string, progress func(Job)) (*Job, error) {
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	var job *Job
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		j, err := scanJob(tx.QueryRow(ctx, jobSelect+`WHERE j.tenant_id = $1 AND j.object_id = $2 AND j.finished_at IS NULL`+jobGroup, tenantID, o.Key))
		if err == nil {
			if j.Error != "" {
				// Try again: the schema or the rule set may have been fixed.
				if _, err := tx.Exec(ctx, `UPDATE scoring_jobs SET error = '', updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, j.ID); err != nil {
					return err
				}
			}
			job = &j
			return nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var version int
		err = tx.QueryRow(ctx, `SELECT version FROM scoring_rulesets WHERE tenant_id = $1 AND object_id = $2 ORDER BY version DESC LIMIT 1`,
			tenantID, o.Key).Scan(&version)
		if errors.Is(err, pgx.ErrNoRows) {
			return apierror.New(apierror.NotFound, "ruleset_not_found", "%s has no scoring rule set", o.APIName)
		}
		if err != nil {
			return err
		}
		job, err = s.queueJob(ctx, tx, tenantID, o, version, "manual", actor, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	if _, err := s.runJobs(ctx, tenantID, o.Key, progress); err != nil {
		return nil, err
	}
	var final Job
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		final, err = readJob(ctx, tx, tenantID, job.ID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read rescore job: %w", err)
	}
	final.name(m)
	if final.Error != "" {
		return &final, apierror.New(apierror.Conflict, "rescore_failed", "rescore of %s failed: %s", o.APIName, final.Error)
	}
	return &final, nil
}

// RunAllJobs runs every tenant's unfinished rescore jobs; the server calls
// it periodically, so jobs left by a crash or by a CLI that stopped are
// finished. Servers share the work: each batch locks its slice.
func (s *Service) RunAllJobs(ctx context.Context) error {
	return s.eachTenant(ctx, "SELECT lattice_pending_scoring_jobs()::text", func(t string) error {
		_, err := s.RunJobs(ctx, t, nil)
		return err
	})
}

// RunDecay rescores, for every object of the tenant whose active rule set
// depends on time (within, halfLife or a withinLast condition), every live
// record, so that scores decay and windows expire: it queues a decay job
// per such object (unless one is unfinished) and runs the tenant's jobs.
// Only records whose scores change are written. It returns the jobs it
// queued.
func (s *Service) RunDecay(ctx context.Context, tenantID string) ([]Job, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	var queued []Job
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT object_id::text, version FROM (
				SELECT DISTINCT ON (object_id) object_id, version, time_dependent FROM scoring_rulesets
				WHERE tenant_id = $1 ORDER BY object_id, version DESC) a
			WHERE time_dependent`, tenantID)
		if err != nil {
			return err
		}
		sts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stored, error) {
			var st stored
			return st, r.Scan(&st.objectID, &st.version)
		})
		if err != nil {
			return err
		}
		for _, st := range sts {
			o := m.ObjectByKey(st.objectID)
			if o == nil {
				continue
			}
			// A job of this object that is running scores with the
			// current time too.
			j, err := s.queueJob(ctx, tx, tenantID, o, st.version, "decay", "system", false)
			if err != nil {
				return err
			}
			if j != nil {
				queued = append(queued, *j)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue decay jobs: %w", err)
	}
	if _, err := s.RunJobs(ctx, tenantID, nil); err != nil {
		return queued, err
	}
	return queued, nil
}

// RunAllDecay runs RunDecay for every tenant with a time-dependent rule
// set; the server calls it periodically (hourly).
func (s *Service) RunAllDecay(ctx context.Context) error {
	return s.eachTenant(ctx, "SELECT lattice_decaying_scoring_tenants()::text", func(t string) error {
		_, err := s.RunDecay(ctx, t)
		return err
	})
}

func (s *Service) eachTenant(ctx context.Context, query string, fn func(string) error) error {
	rows, err := s.pool.Query(ctx, query)
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list tenants: %w", err)
	}
	var errs []error
	for _, t := range tenants {
		if err := fn(t); err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t, err))
		}
	}
	return errors.Join(errs...)
}

// change is one record whose score or grade a statement changed.
type change struct {
	id                 string
	oldScore, oldGrade *string
	newScore, newGrade *string
}

// runScoring runs a scoring statement (writeSQL) and returns the batch
// size, its last id and the changes.
func runScoring(ctx context.Context, tx pgx.Tx, sql string, args []any) (int64, string, []change, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return 0, "", nil, err
	}
	var n int64
	var last string
	var out []change
	for rows.Next() {
		var c change
		var id, batchLast *string
		if err := rows.Scan(&n, &batchLast, &id, &c.oldScore, &c.oldGrade, &c.newScore, &c.newGrade); err != nil {
			rows.Close()
			return 0, "", nil, err
		}
		if batchLast != nil {
			last = *batchLast
		}
		if id != nil {
			c.id = *id
			out = append(out, c)
		}
	}
	rows.Close()
	return n, last, out, rows.Err()
}

// ScoredEvent is the payload of a record.scored event: every record whose
// score or grade one scoring transaction changed (one record for a write
// the consumer reacted to, up to BatchSize for a rescore batch).
type ScoredEvent struct {
	Object         string         `json:"object"`
	ObjectID       string         `json:"objectId"`
	RulesetVersion int            `json:"rulesetVersion"`
	Reason         string         `json:"reason"`
	Records        []ScoredRecord `json:"records"`
}

// ScoredRecord is one record's change in a record.scored event.
type ScoredRecord struct {
	ID  string     `json:"id"`
	Old ScoreGrade `json:"old"`
	New ScoreGrade `json:"new"`
}

// ScoreGrade is a score and a grade; nil when the record has none.
type ScoreGrade struct {
	Score *json.Number `json:"score"`
	Grade *string      `json:"grade"`
}

func number(s *string) *json.Number {
	if s == nil {
		return nil
	}
	n := json.Number(*s)
	return &n
}

// appendScored appends one record.scored event listing the changes, as
// the last statement of the transaction that made them.
func appendScored(ctx context.Context, tx pgx.Tx, tenantID string, rs *RuleSet, reason string, changes []change) error {
	if len(changes) == 0 {
		return nil
	}
	ev := ScoredEvent{Object: rs.Object.APIName, ObjectID: rs.Object.Key, RulesetVersion: rs.Version, Reason: reason,
		Records: make([]ScoredRecord, len(changes))}
	for i, c := range changes {
		ev.Records[i] = ScoredRecord{ID: c.id, Old: ScoreGrade{number(c.oldScore), c.oldGrade}, New: ScoreGrade{number(c.newScore), c.newGrade}}
	}
	if _, err := outbox.Append(ctx, tx, tenantID, TopicScored, ev); err != nil {
		return fmt.Errorf("append %s event: %w", TopicScored, err)
	}
	return nil
}

var jobReasons = map[string]string{"apply": ReasonRules, "decay": ReasonDecay, "manual": ReasonManual}

// runBatch advances one slice of the oldest unfinished job (of one object,
// if objectID is not "") by one batch, in one transaction. ok is false when
// there is nothing to run (no job, or every slice taken by other workers);
// done is true when this batch finished the job.
func (s *Service) runBatch(ctx context.Context, tenantID, objectID string) (job Job, ok, done bool, err error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return Job{}, false, false, err
	}
	for attempt := 0; ; attempt++ {
		job, ok, done, err = s.tryBatch(ctx, tenantID, objectID, m)
		// A deadlock with a writer (rare: the batch locks many records)
		// rolls the batch back; run it again.
		if err != nil && attempt < 3 && (database.IsCode(err, "40P01") || database.IsCode(err, "40001")) {
			continue
		}
		job.name(m)
		return job, ok, done, err
	}
}

func (s *Service) tryBatch(ctx context.Context, tenantID, objectID string, m *model.Model) (job Job, ok, done bool, err error) {
	var jobID string
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var slice int
		var after, last, object, reason string
		var version int
		err := tx.QueryRow(ctx, `SELECT s.job_id::text, s.slice, s.after_id::text, s.last_id::text, j.object_id::text, j.ruleset_version, j.reason
			FROM scoring_job_slices s JOIN scoring_jobs j ON j.tenant_id = s.tenant_id AND j.id = s.job_id
			WHERE s.tenant_id = $1 AND s.finished_at IS NULL AND j.finished_at IS NULL AND j.error = '' AND ($2 = '' OR j.object_id::text = $2)
			ORDER BY j.created_at, s.slice LIMIT 1 FOR UPDATE OF s SKIP LOCKED`, tenantID, objectID).
			Scan(&jobID, &slice, &after, &last, &object, &version, &reason)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("next rescore batch: %w", err)
		}
		ok = true
		rss, err := s.load(ctx, tx, tenantID, m, object, version)
		if err == nil && len(rss) == 0 {
			err = fmt.Errorf("rule set version %d is missing", version)
		}
		if err != nil {
			// The job cannot run until someone fixes the rule set or the
			// schema (Rescore tries again).
			s.log.WarnContext(ctx, "rescore job failed", "tenant", tenantID, "job", jobID, "err", err)
			if _, err := tx.Exec(ctx, `UPDATE scoring_jobs SET error = $3, updated_at = now() WHERE tenant_id = $1 AND id = $2`, tenantID, jobID, err.Error()); err != nil {
				return err
			}
			job, err = readJob(ctx, tx, tenantID, jobID)
			return err
		}
		rs := rss[0]
		// JIT compiling the statement costs more than running it (about
		// 50 of 220 ms per batch of 5,000 measured): PostgreSQL's cost
		// estimate of the correlated aggregates is far off.
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil {
			return err
		}
		sql, args, err := rs.writeSQL(selAfter, s.now(), true)
		if err != nil {
			return err
		}
		n, lastID, changes, err := runScoring(ctx, tx, sql, append([]any{tenantID, object, after, s.opts.BatchSize, last}, args...))
		if err != nil {
			return fmt.Errorf("score batch: %w", err)
		}
		sliceDone := n < int64(s.opts.BatchSize)
		if lastID == "" {
			lastID = after
		}
		_, err = tx.Exec(ctx, `UPDATE scoring_job_slices SET after_id = $4, done_rows = done_rows + $5, changed_rows = changed_rows + $6,
			finished_at = CASE WHEN $7 THEN now() END WHERE tenant_id = $1 AND job_id = $2 AND slice = $3`,
			tenantID, jobID, slice, lastID, n, len(changes), sliceDone)
		if err != nil {
			return fmt.Errorf("record rescore progress: %w", err)
		}
		if sliceDone {
			// The job finishes with its last slice. Lock the job first, so
			// that of two workers finishing the last two slices at once the
			// second sees the first's slice finished (a new statement after
			// the lock has a new snapshot).
			if _, err := tx.Exec(ctx, `SELECT 1 FROM scoring_jobs WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, tenantID, jobID); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, `UPDATE scoring_jobs j SET finished_at = now(), updated_at = now()
				WHERE tenant_id = $1 AND id = $2 AND finished_at IS NULL
				AND NOT EXISTS (SELECT 1 FROM scoring_job_slices s WHERE s.tenant_id = $1 AND s.job_id = $2 AND s.finished_at IS NULL)`, tenantID, jobID)
			if err != nil {
				return fmt.Errorf("finish rescore job: %w", err)
			}
			done = tag.RowsAffected() == 1
		}
		if job, err = readJob(ctx, tx, tenantID, jobID); err != nil {
			return err
		}
		if err := appendScored(ctx, tx, tenantID, rs, jobReasons[reason], changes); err != nil {
			return err
		}
		if s.beforeCommit != nil {
			s.beforeCommit()
		}
		return nil
	})
	if err != nil {
		return job, ok, false, fmt.Errorf("rescore job %s: %w", jobID, err)
	}
	return job, ok, done, nil
}
