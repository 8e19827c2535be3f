package scoring

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
)

// Preview limits.
const (
	// DefaultSample is how many records a preview scores by default.
	DefaultSample = 1000
	// MaxSample is the largest sample (and the most named records).
	MaxSample = 100000
)

// PreviewOptions says which records a preview scores: IDs, or a random
// sample of Sample live records (DefaultSample when both are empty).
type PreviewOptions struct {
	Sample int
	IDs    []string
}

// Preview is what a draft rule set would do to some records: their
// current (stored) scores and grades next to the draft's, and the grade
// distributions before and after.
type Preview struct {
	Object string `json:"object"`
	// ActiveVersion is the object's active rule set version (0: none).
	ActiveVersion int `json:"activeVersion"`
	// Scored is how many records were scored; Changed how many of them
	// would change score or grade.
	Scored  int `json:"scored"`
	Changed int `json:"changed"`
	// Before and After count the records per grade ("" is no grade): the
	// draft's grades first, from the highest, then any other grade seen.
	Before []GradeCount `json:"before"`
	After  []GradeCount `json:"after"`
	// Moves counts the records per change of grade (unchanged included).
	Moves   []Move          `json:"moves"`
	Records []PreviewRecord `json:"records"`
	// Missing lists named ids that are not live records of the object.
	Missing []string `json:"missing,omitempty"`
}

// GradeCount is how many records have a grade.
type GradeCount struct {
	Grade string `json:"grade"`
	Count int    `json:"count"`
}

// Move is how many records go from one grade to another.
type Move struct {
	From  string `json:"from"`
	To    string `json:"to"`
	Count int    `json:"count"`
}

// PreviewRecord is one scored record.
type PreviewRecord struct {
	ID            string            `json:"id"`
	Name          string            `json:"name,omitempty"`
	ScoreBefore   *string           `json:"scoreBefore"`
	GradeBefore   *string           `json:"gradeBefore"`
	Score         string            `json:"score"`
	Grade         *string           `json:"grade"`
	Fit           string            `json:"fit"`
	Engagement    string            `json:"engagement"`
	Contributions map[string]string `json:"contributions"`
}

// Preview scores sample or named records of the object under a draft rule
// set, in a read-only transaction: nothing is stored, no event appended.
func (s *Service) Preview(ctx context.Context, tenantID, objectName string, draft []byte, opts PreviewOptions) (*Preview, error) {
	rs, err := s.Validate(ctx, tenantID, objectName, draft)
	if err != nil {
		return nil, err
	}
	o := rs.Object
	if opts.Sample < 0 || opts.Sample > MaxSample {
		return nil, apierror.Invalidf("sample", "invalid_sample", "the sample must be between 1 and %d records", MaxSample)
	}
	if len(opts.IDs) > MaxSample {
		return nil, apierror.Invalidf("ids", "too_many_ids", "at most %d records can be named", MaxSample)
	}
	for _, id := range opts.IDs {
		if !model.IsUUID(id) {
			return nil, apierror.Invalidf("ids", "invalid_id", "record id %q is not a UUID", id)
		}
	}
	if opts.Sample == 0 && len(opts.IDs) == 0 {
		opts.Sample = DefaultSample
	}
	p := &Preview{Object: o.APIName, Records: []PreviewRecord{}}
	now := s.now()
	err = pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, database.SetTenantSQL, tenantID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "SET LOCAL jit = off"); err != nil { // as in rescore batches
			return err
		}
		err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM scoring_rulesets WHERE tenant_id = $1 AND object_id = $2`,
			tenantID, o.Key).Scan(&p.ActiveVersion)
		if err != nil {
			return err
		}
		if len(opts.IDs) > 0 {
			ids := make([]string, len(opts.IDs))
			for i, id := range opts.IDs {
				ids[i] = normalizeID(id)
			}
			slices.Sort(ids)
			ids = slices.Compact(ids)
			if err := s.previewRun(ctx, tx, rs, p, selIDs, tenantID, ids, len(ids), now); err != nil {
				return err
			}
			found := map[string]bool{}
			for _, r := range p.Records {
				found[r.ID] = true
			}
			for _, id := range ids {
				if !found[id] {
					p.Missing = append(p.Missing, id)
				}
			}
			return nil
		}
		// Record ids are random, so the records after a random id are a
		// random sample; wrap around at the end.
		start := uuid.NewString()
		if err := s.previewRun(ctx, tx, rs, p, selAfter, tenantID, start, opts.Sample, now); err != nil {
			return err
		}
		if len(p.Records) < opts.Sample {
			first := *p
			first.Records = nil
			if err := s.previewRun(ctx, tx, rs, &first, selAfter, tenantID, "00000000-0000-0000-0000-000000000000", opts.Sample-len(p.Records), now); err != nil {
				return err
			}
			for _, r := range first.Records {
				if r.ID <= start {
					p.Records = append(p.Records, r)
				}
			}
			sort.Slice(p.Records, func(i, j int) bool { return p.Records[i].ID < p.Records[j].ID })
		}
		return nil
	})
	if err != nil {
		if _, ok := apierror.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("preview %s: %w", o.APIName, err)
	}
	p.summarize(rs.Grades())
	return p, nil
}

func normalizeID(id string) string {
	u, err := uuid.Parse(id)
	if err != nil {
		return id
	}
	return u.String()
}

func (s *Service) previewRun(ctx context.Context, tx pgx.Tx, rs *RuleSet, p *Preview, sel selection, tenantID string, selArg any, limit int, now time.Time) error {
	sql, args, err := rs.previewSQL(sel, now)
	if err != nil {
		return err
	}
	rows, err := tx.Query(ctx, sql, append([]any{tenantID, rs.Object.Key, selArg, limit, maxID}, args...)...)
	if err != nil {
		return err
	}
	names := rs.RuleNames()
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PreviewRecord, error) {
		var r PreviewRecord
		var name *string
		var cs []string
		err := row.Scan(&r.ID, &r.ScoreBefore, &r.GradeBefore, &name, &r.Fit, &r.Engagement, &r.Score, &r.Grade, &cs)
		if name != nil {
			r.Name = *name
		}
		r.Contributions = map[string]string{}
		for i, c := range cs {
			if v, ok := new(big.Rat).SetString(c); i < len(names) && ok && v.Sign() != 0 {
				r.Contributions[names[i]] = c
			}
		}
		return r, err
	})
	if err != nil {
		return err
	}
	p.Records = append(p.Records, recs...)
	return nil
}

func (p *Preview) summarize(grades []string) {
	p.Scored = len(p.Records)
	before, after := map[string]int{}, map[string]int{}
	moves := map[[2]string]int{}
	str := func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	}
	for _, r := range p.Records {
		b, a := str(r.GradeBefore), str(r.Grade)
		before[b]++
		after[a]++
		moves[[2]string{b, a}]++
		if b != a || !sameNumber(r.ScoreBefore, r.Score) {
			p.Changed++
		}
	}
	order := append([]string(nil), grades...)
	var others []string
	for g := range before {
		if !slices.Contains(order, g) && g != "" {
			others = append(others, g)
		}
	}
	sort.Strings(others)
	order = append(append(order, others...), "")
	for _, g := range order {
		if before[g] > 0 || after[g] > 0 || g != "" {
			p.Before = append(p.Before, GradeCount{Grade: g, Count: before[g]})
			p.After = append(p.After, GradeCount{Grade: g, Count: after[g]})
		}
	}
	rank := map[string]int{}
	for i, g := range order {
		rank[g] = i
	}
	for k, n := range moves {
		p.Moves = append(p.Moves, Move{From: k[0], To: k[1], Count: n})
	}
	sort.Slice(p.Moves, func(i, j int) bool {
		a, b := p.Moves[i], p.Moves[j]
		if rank[a.From] != rank[b.From] {
			return rank[a.From] < rank[b.From]
		}
		return rank[a.To] < rank[b.To]
	})
}

// sameNumber compares a stored score with a computed one numerically.
func sameNumber(a *string, b string) bool {
	if a == nil {
		return false
	}
	x, ok1 := new(big.Rat).SetString(*a)
	y, ok2 := new(big.Rat).SetString(b)
	return ok1 && ok2 && x.Cmp(y) == 0
}
