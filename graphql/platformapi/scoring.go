package platformapi

import (
	"context"
	"encoding/json"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/latticecrm/lattice/schema/scoring"
)

// Scoring rule sets are part of the tenant's schema: reading the active
// one needs a tenant credential; applying, previewing (which shows
// records' names and scores), explaining and rescoring need
// platform:schema manage.

type ruleSetR struct{ v *scoring.Version }

func (x ruleSetR) Object() string          { return x.v.Object }
func (x ruleSetR) Version() int32          { return int32Of(x.v.Version) }
func (x ruleSetR) RuleSet() *JSON          { return rawJSON(x.v.Ruleset) }
func (x ruleSetR) RuleNames() []string     { return nonNil(x.v.RuleNames) }
func (x ruleSetR) TimeDependent() bool     { return x.v.TimeDependent }
func (x ruleSetR) SchemaVersion() int32    { return int32Of(x.v.SchemaVersion) }
func (x ruleSetR) Message() *string        { return strPtr(x.v.Message) }
func (x ruleSetR) CreatedBy() string       { return x.v.CreatedBy }
func (x ruleSetR) CreatedAt() graphql.Time { return gqlTime(x.v.CreatedAt) }

type jobR struct{ j scoring.Job }

func (x jobR) ID() graphql.ID            { return graphql.ID(x.j.ID) }
func (x jobR) Object() string            { return x.j.Object }
func (x jobR) RulesetVersion() int32     { return int32Of(x.j.RulesetVersion) }
func (x jobR) Reason() string            { return x.j.Reason }
func (x jobR) TotalRows() float64        { return float64(x.j.TotalRows) }
func (x jobR) DoneRows() float64         { return float64(x.j.DoneRows) }
func (x jobR) ChangedRows() float64      { return float64(x.j.ChangedRows) }
func (x jobR) Slices() int32             { return int32Of(x.j.Slices) }
func (x jobR) Error() *string            { return strPtr(x.j.Error) }
func (x jobR) Superseded() bool          { return x.j.Superseded }
func (x jobR) Finished() bool            { return x.j.Finished }
func (x jobR) CreatedAt() graphql.Time   { return gqlTime(x.j.CreatedAt) }
func (x jobR) UpdatedAt() graphql.Time   { return gqlTime(x.j.UpdatedAt) }
func (x jobR) FinishedAt() *graphql.Time { return gqlTimePtr(x.j.FinishedAt) }

func (x jobR) Progress() float64 {
	switch {
	case x.j.Finished:
		return 1
	case x.j.TotalRows <= 0:
		return 0
	}
	return min(float64(x.j.DoneRows)/float64(x.j.TotalRows), 1)
}

// RuleSet is the object's active rule set, or null.
func (r *Resolver) RuleSet(ctx context.Context, args struct{ Object string }) (*ruleSetR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	v, err := r.api.svc.Scoring.Active(ctx, c.principal.TenantID, args.Object)
	if isCode(err, "ruleset_not_found") {
		return nil, nil
	}
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	return &ruleSetR{v}, nil
}

// RuleSetHistory lists the object's rule set versions.
func (r *Resolver) RuleSetHistory(ctx context.Context, args struct{ Object string }) ([]ruleSetR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := r.api.svc.Scoring.History(ctx, c.principal.TenantID, args.Object)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]ruleSetR, len(vs))
	for i := range vs {
		out[i] = ruleSetR{&vs[i]}
	}
	return out, nil
}

type previewR struct{ p *scoring.Preview }

type gradeCountR struct{ g scoring.GradeCount }

func (x gradeCountR) Grade() string { return x.g.Grade }
func (x gradeCountR) Count() int32  { return int32Of(x.g.Count) }

type moveR struct{ m scoring.Move }

func (x moveR) From() string { return x.m.From }
func (x moveR) To() string   { return x.m.To }
func (x moveR) Count() int32 { return int32Of(x.m.Count) }

func (x previewR) Object() string         { return x.p.Object }
func (x previewR) ActiveVersion() int32   { return int32Of(x.p.ActiveVersion) }
func (x previewR) Scored() int32          { return int32Of(x.p.Scored) }
func (x previewR) Changed() int32         { return int32Of(x.p.Changed) }
func (x previewR) Before() []gradeCountR  { return gradeCounts(x.p.Before) }
func (x previewR) After() []gradeCountR   { return gradeCounts(x.p.After) }
func (x previewR) Records() (JSON, error) { return jsonOf(x.p.Records) }

func (x previewR) Moves() []moveR {
	out := make([]moveR, len(x.p.Moves))
	for i, m := range x.p.Moves {
		out[i] = moveR{m}
	}
	return out
}

func (x previewR) Missing() []graphql.ID {
	out := make([]graphql.ID, len(x.p.Missing))
	for i, id := range x.p.Missing {
		out[i] = graphql.ID(id)
	}
	return out
}

func gradeCounts(gs []scoring.GradeCount) []gradeCountR {
	out := make([]gradeCountR, len(gs))
	for i, g := range gs {
		out[i] = gradeCountR{g}
	}
	return out
}

// PreviewRuleSet scores records under a draft rule set, writing nothing.
func (r *Resolver) PreviewRuleSet(ctx context.Context, args struct {
	Object  string
	RuleSet JSON
	Sample  *int32
	IDs     *[]graphql.ID
}) (*previewR, error) {
	c, err := r.require(ctx, "schema", "manage")
	if err != nil {
		return nil, err
	}
	var opts scoring.PreviewOptions
	if args.Sample != nil {
		opts.Sample = int(*args.Sample)
		if opts.Sample < 1 {
			return nil, badInput("/sample", "invalid_sample", "the sample must be between 1 and %d records", scoring.MaxSample)
		}
	}
	if args.IDs != nil {
		for _, id := range *args.IDs {
			opts.IDs = append(opts.IDs, string(id))
		}
	}
	p, err := r.api.svc.Scoring.Preview(ctx, c.principal.TenantID, args.Object, args.RuleSet, opts)
	if err != nil {
		return nil, r.fail(ctx, err, ruleSetWhere)
	}
	return &previewR{p}, nil
}

// ruleSetWhere places rule set problems under the ruleSet argument.
var ruleSetWhere = where{mapPointer: func(q Problem) Problem { q.Pointer = "/ruleSet" + q.Pointer; return q },
	rename: map[string]string{"sample": "/sample", "ids": "/ids"}}

// ExplainScore explains a record's score.
func (r *Resolver) ExplainScore(ctx context.Context, args struct {
	Object string
	ID     graphql.ID
}) (JSON, error) {
	c, err := r.require(ctx, "schema", "manage")
	if err != nil {
		return nil, err
	}
	e, err := r.api.svc.Scoring.Explain(ctx, c.principal.TenantID, args.Object, string(args.ID))
	if err != nil {
		return nil, r.fail(ctx, err, at(""))
	}
	return jsonOf(e)
}

// RescoreJob returns one rescore job, or null.
func (r *Resolver) RescoreJob(ctx context.Context, args struct{ ID graphql.ID }) (*jobR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	js, err := r.api.svc.Scoring.Jobs(ctx, c.principal.TenantID, "")
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	for _, j := range js {
		if j.ID == string(args.ID) {
			return &jobR{j}, nil
		}
	}
	return nil, nil
}

// RescoreJobs lists rescore jobs.
func (r *Resolver) RescoreJobs(ctx context.Context, args struct{ Object *string }) ([]jobR, error) {
	c, err := r.member(ctx)
	if err != nil {
		return nil, err
	}
	object := ""
	if args.Object != nil {
		object = *args.Object
	}
	js, err := r.api.svc.Scoring.Jobs(ctx, c.principal.TenantID, object)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	out := make([]jobR, len(js))
	for i, j := range js {
		out[i] = jobR{j}
	}
	return out, nil
}

type applyRuleSetR struct{ res *scoring.ApplyResult }

func (x applyRuleSetR) Version() int32 { return int32Of(x.res.Version) }
func (x applyRuleSetR) Changed() bool  { return x.res.Changed }
func (x applyRuleSetR) Job() *jobR {
	if x.res.Job == nil {
		return nil
	}
	return &jobR{*x.res.Job}
}

// ApplyRuleSet stores a new rule set version and starts its rescore job.
func (r *Resolver) ApplyRuleSet(ctx context.Context, args struct {
	Object  string
	RuleSet JSON
	Message *string
}) (*applyRuleSetR, error) {
	c, err := r.require(ctx, "schema", "manage")
	if err != nil {
		return nil, err
	}
	tid := c.principal.TenantID
	req := scoring.ApplyRequest{Object: args.Object, Document: json.RawMessage(args.RuleSet), Actor: c.actor()}
	if args.Message != nil {
		req.Message = *args.Message
	}
	res, err := r.api.svc.Scoring.Apply(ctx, tid, req)
	if err != nil {
		return nil, r.fail(ctx, err, ruleSetWhere)
	}
	if res.Job != nil {
		// The server's loop would start it within 10 s; start now.
		r.api.background("rescore", tid, func(ctx context.Context) error {
			_, err := r.api.svc.Scoring.RunJobs(ctx, tid, nil)
			return err
		})
	}
	return &applyRuleSetR{res}, nil
}

// rescoreWait is how long Rescore waits for its job to report before it
// answers with the job as listed.
const rescoreWait = 2 * time.Second

// Rescore starts (or resumes) rescoring an object in the background and
// returns its job.
func (r *Resolver) Rescore(ctx context.Context, args struct{ Object string }) (*jobR, error) {
	c, err := r.require(ctx, "schema", "manage")
	if err != nil {
		return nil, err
	}
	tid, actor := c.principal.TenantID, c.actor()
	type outcome struct {
		job *scoring.Job
		err error
	}
	first := make(chan outcome, 2)
	r.api.background("rescore", tid, func(bg context.Context) error {
		job, err := r.api.svc.Scoring.Rescore(bg, tid, args.Object, actor, func(j scoring.Job) {
			select {
			case first <- outcome{job: &j}:
			default:
			}
		})
		select {
		case first <- outcome{job: job, err: err}:
		default:
		}
		if isCode(err, "ruleset_not_found") || isCode(err, "object_not_found") {
			return nil // reported to the caller
		}
		return err
	})
	var o outcome
	select {
	case o = <-first:
	case <-time.After(rescoreWait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if o.err != nil && o.job == nil {
		return nil, r.fail(ctx, o.err, where{})
	}
	js, err := r.api.svc.Scoring.Jobs(ctx, tid, args.Object)
	if err != nil {
		return nil, r.fail(ctx, err, where{})
	}
	for _, j := range js {
		if o.job == nil || j.ID == o.job.ID {
			return &jobR{j}, nil
		}
	}
	if o.job != nil {
		return &jobR{*o.job}, nil
	}
	return nil, r.fail(ctx, errNoJob, where{})
}

var errNoJob = newError(CodeConflict, "no_job", "the rescore job could not be found; list rescoreJobs")
