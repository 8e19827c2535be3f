package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/schema/scoring"
)

// withScoring runs fn with a scoring service on a connected kernel.
func (a *app) withScoring(ctx context.Context, tenant string, fn func(svc *scoring.Service, tenantID string) error) error {
	return a.withTenant(ctx, tenant, func(k *kernel, tid string) error {
		return fn(scoring.New(k.pool, k.catalog, scoring.Options{Logger: a.log}), tid)
	})
}

func newScoringCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "scoring",
		Short: "Lead scoring: apply, preview and explain rule sets; rescore records",
		Long: `Score the records of an object with a rule set: a JSON document of rules that
add or subtract points for a profile (fit) or behaviour (engagement, with
decay), the weights that combine the two and the grade thresholds (see
docs/scoring.md and schema/scoring/ruleset.schema.json). Scores and grades are
stored on the records (score, grade), kept current by the server as records
and their activities change, and decayed by its hourly job.`,
	}
	var tenant, message, ids string
	var sample, show int
	var noWait bool
	tenantFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
		_ = c.MarkFlagRequired("tenant")
	}

	// runJob runs the object's rescore job to its end with a progress bar.
	runJob := func(ctx context.Context, svc *scoring.Service, tid, object string, total int64) (*scoring.Job, error) {
		var bar *progressbar.ProgressBar
		if a.output != "json" {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(a.stderr),
				progressbar.OptionSetDescription("rescoring "+object),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("records"),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionSetWidth(30),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.stderr) }))
		}
		var shown int64
		job, err := svc.Rescore(ctx, tid, object, "cli", func(j scoring.Job) {
			// Batches run concurrently, so reports may come out of order.
			if bar != nil && j.DoneRows > shown {
				shown = j.DoneRows
				if j.DoneRows > bar.GetMax64() {
					bar.ChangeMax64(j.DoneRows)
				}
				_ = bar.Set64(j.DoneRows)
			}
		})
		if bar != nil && err == nil {
			_ = bar.Finish()
		}
		return job, err
	}
	showJob := func(j *scoring.Job) {
		fmt.Fprintf(a.stdout, "rescored %d %s record(s) under rule set version %d: %d changed score or grade\n",
			j.DoneRows, j.Object, j.RulesetVersion, j.ChangedRows)
	}

	apply := &cobra.Command{
		Use:   "apply --tenant T OBJECT FILE",
		Short: "Validate and store a rule set as the object's next version, then rescore its records (FILE: - for stdin)",
		Long: `Validate a rule set (every mistake is reported with its JSON pointer), store it
as the object's next version, and rescore every record of the object under
it, showing progress. The rescore runs in batches, each a short transaction,
so writes are never held up for long; if it is interrupted, 'lattice scoring
rescore' (or the server) resumes it. Applying the active rule set again
changes nothing.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := a.readInput(args[1])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			return a.withScoring(ctx, tenant, func(svc *scoring.Service, tid string) error {
				res, err := svc.Apply(ctx, tid, scoring.ApplyRequest{Object: args[0], Document: data, Message: message, Actor: "cli"})
				if err != nil {
					return err
				}
				if !res.Changed {
					if a.output == "json" {
						return a.printJSON(res)
					}
					fmt.Fprintf(a.stdout, "%s rule set version %d unchanged: nothing to rescore\n", args[0], res.Version)
					return nil
				}
				if a.output != "json" {
					fmt.Fprintf(a.stdout, "%s rule set version %d applied\n", args[0], res.Version)
				}
				if noWait {
					if a.output == "json" {
						return a.printJSON(res)
					}
					fmt.Fprintf(a.stdout, "rescore job %s queued for %d record(s); the server runs it, or 'lattice scoring rescore'\n", res.Job.ID, res.Job.TotalRows)
					return nil
				}
				job, err := runJob(ctx, svc, tid, args[0], res.Job.TotalRows)
				if err != nil {
					return err
				}
				res.Job = job
				if a.output == "json" {
					return a.printJSON(res)
				}
				showJob(job)
				return nil
			})
		},
	}
	tenantFlag(apply)
	apply.Flags().StringVar(&message, "message", "", "describe the change in the history")
	apply.Flags().BoolVar(&noWait, "no-wait", false, "store the rule set and queue the rescore job without running it")

	preview := &cobra.Command{
		Use:   "preview --tenant T OBJECT FILE [--sample N | --ids a,b]",
		Short: "Score sample or named records under a draft rule set, changing nothing",
		Long: `Score a random sample of the object's records (--sample, default 1000) or the
named ones (--ids) under a draft rule set, without storing anything, and show
the grade distribution before (the stored grades) and after, the grade moves,
and the records.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := a.readInput(args[1])
			if err != nil {
				return err
			}
			if ids != "" && cmd.Flags().Changed("sample") {
				return &usageError{msg: "give --sample or --ids, not both"}
			}
			opts := scoring.PreviewOptions{Sample: sample}
			if ids != "" {
				for _, id := range strings.Split(ids, ",") {
					if id = strings.TrimSpace(id); id != "" {
						opts.IDs = append(opts.IDs, id)
					}
				}
			}
			ctx := cmd.Context()
			return a.withScoring(ctx, tenant, func(svc *scoring.Service, tid string) error {
				p, err := svc.Preview(ctx, tid, args[0], data, opts)
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(p)
				}
				a.showPreview(p, show)
				return nil
			})
		},
	}
	tenantFlag(preview)
	preview.Flags().IntVar(&sample, "sample", 0, fmt.Sprintf("score this many random records (default %d)", scoring.DefaultSample))
	preview.Flags().StringVar(&ids, "ids", "", "score these records (ids, comma-separated)")
	preview.Flags().IntVar(&show, "show", 20, "list at most this many records (table output)")

	explain := &cobra.Command{
		Use:   "explain --tenant T OBJECT ID",
		Short: "Explain a record's score: every rule that contributed, its points and the values that matched",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withScoring(ctx, tenant, func(svc *scoring.Service, tid string) error {
				ex, err := svc.Explain(ctx, tid, args[0], args[1])
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(ex)
				}
				a.showExplanation(ex)
				return nil
			})
		},
	}
	tenantFlag(explain)

	rescore := &cobra.Command{
		Use:   "rescore --tenant T OBJECT",
		Short: "Rescore every record of the object: resume its unfinished job, or start one",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withScoring(ctx, tenant, func(svc *scoring.Service, tid string) error {
				total := int64(0)
				if js, err := svc.Jobs(ctx, tid, args[0]); err == nil && len(js) > 0 && !js[0].Finished {
					total = js[0].TotalRows
				}
				job, err := runJob(ctx, svc, tid, args[0], total)
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(job)
				}
				showJob(job)
				return nil
			})
		},
	}
	tenantFlag(rescore)

	showCmd := &cobra.Command{
		Use:   "show --tenant T OBJECT",
		Short: "Print the object's active rule set",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withScoring(ctx, tenant, func(svc *scoring.Service, tid string) error {
				v, err := svc.Active(ctx, tid, args[0])
				if err != nil {
					return err
				}
				if a.output == "json" {
					return a.printJSON(v)
				}
				var doc any
				if err := json.Unmarshal(v.Ruleset, &doc); err != nil {
					return err
				}
				return a.printJSON(doc)
			})
		},
	}
	tenantFlag(showCmd)

	history := &cobra.Command{
		Use:   "history --tenant T OBJECT",
		Short: "List the object's rule set versions, newest first",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withScoring(ctx, tenant, func(svc *scoring.Service, tid string) error {
				h, err := svc.History(ctx, tid, args[0])
				if err != nil {
					return err
				}
				return a.show(h, "VERSION\tCREATED\tBY\tRULES\tDECAYS\tMESSAGE", func(add func(...any)) {
					for _, v := range h {
						add(v.Version, v.CreatedAt, v.CreatedBy, len(v.RuleNames), v.TimeDependent, v.Message)
					}
				})
			})
		},
	}
	tenantFlag(history)

	jobs := &cobra.Command{
		Use:   "jobs --tenant T [OBJECT]",
		Short: "List rescore jobs, unfinished first",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			object := ""
			if len(args) == 1 {
				object = args[0]
			}
			return a.withScoring(ctx, tenant, func(svc *scoring.Service, tid string) error {
				js, err := svc.Jobs(ctx, tid, object)
				if err != nil {
					return err
				}
				return a.show(js, "ID\tOBJECT\tVERSION\tREASON\tDONE\tTOTAL\tCHANGED\tFINISHED\tERROR", func(add func(...any)) {
					for _, j := range js {
						state := fmt.Sprint(j.Finished)
						if j.Superseded {
							state = "superseded"
						}
						add(j.ID, j.Object, j.RulesetVersion, j.Reason, j.DoneRows, j.TotalRows, j.ChangedRows, state, j.Error)
					}
				})
			})
		},
	}
	tenantFlag(jobs)

	cmd.AddCommand(apply, preview, explain, rescore, showCmd, history, jobs)
	return cmd
}

func gradeText(g *string) string {
	if g == nil {
		return "-"
	}
	return *g
}

func (a *app) showPreview(p *scoring.Preview, show int) {
	fmt.Fprintf(a.stdout, "preview of %s: %d record(s) scored, %d would change score or grade (active rule set version %d)\n\n",
		p.Object, p.Scored, p.Changed, p.ActiveVersion)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GRADE\tBEFORE\tAFTER")
	for i := range p.Before {
		g := p.Before[i].Grade
		if g == "" {
			g = "(none)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\n", g, p.Before[i].Count, p.After[i].Count)
	}
	_ = tw.Flush()
	var moves []scoring.Move
	for _, m := range p.Moves {
		if m.From != m.To {
			moves = append(moves, m)
		}
	}
	if len(moves) > 0 {
		fmt.Fprintln(a.stdout, "\ngrade changes:")
		for _, m := range moves {
			fmt.Fprintf(a.stdout, "  %s -> %s: %d\n", gradeText(&m.From), gradeText(&m.To), m.Count)
		}
	}
	if len(p.Missing) > 0 {
		fmt.Fprintf(a.stdout, "\nnot found: %s\n", strings.Join(p.Missing, ", "))
	}
	if show <= 0 || len(p.Records) == 0 {
		return
	}
	fmt.Fprintln(a.stdout)
	tw = tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tSCORE\tGRADE\tFIT\tENGAGEMENT")
	for i, r := range p.Records {
		if i == show {
			break
		}
		before := "-"
		if r.ScoreBefore != nil {
			before = *r.ScoreBefore
		}
		fmt.Fprintf(tw, "%s\t%s\t%s -> %s\t%s -> %s\t%s\t%s\n", r.ID, cell(r.Name), before, r.Score,
			gradeText(r.GradeBefore), gradeText(r.Grade), r.Fit, r.Engagement)
	}
	_ = tw.Flush()
	if len(p.Records) > show {
		fmt.Fprintf(a.stdout, "... %d more (--show, or -o json)\n", len(p.Records)-show)
	}
}

func (a *app) showExplanation(ex *scoring.Explanation) {
	name := ""
	if ex.Name != "" {
		name = " (" + ex.Name + ")"
	}
	fmt.Fprintf(a.stdout, "%s %s%s: score %s, grade %s\n", ex.Object, ex.ID, name, ex.Score, gradeText(ex.Grade))
	fmt.Fprintf(a.stdout, "  = %s x fit %s + %s x engagement %s (rule set version %d, at %s)\n",
		ex.FitWeight, ex.Fit, ex.EngWeight, ex.Engagement, ex.RulesetVersion, ex.At.UTC().Format(time.RFC3339))
	if ex.Stored == nil {
		fmt.Fprintln(a.stdout, "  stored: not scored yet")
	} else if st := ex.Stored; st.Score == nil || *st.Score != ex.Score || gradeText(st.Grade) != gradeText(ex.Grade) {
		score := "-"
		if st.Score != nil {
			score = *st.Score
		}
		fmt.Fprintf(a.stdout, "  stored: score %s, grade %s (rule set version %d, as of %s); it is updated shortly\n",
			score, gradeText(st.Grade), st.RulesetVersion, st.AsOf.UTC().Format(time.RFC3339))
	}
	fmt.Fprintln(a.stdout)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tKIND\tPOINTS\tWHY")
	for _, r := range ex.Rules {
		points := r.Points
		if r.Uncapped != "" {
			points += " (capped; " + r.Uncapped + ")"
		}
		label := r.Name
		if r.Label != "" {
			label += " (" + r.Label + ")"
		}
		whys := explainWhys(r)
		for i, why := range whys {
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", label, r.Kind, points, why)
			} else {
				fmt.Fprintf(tw, "\t\t\t%s\n", why)
			}
		}
		if len(whys) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t\n", label, r.Kind, points)
		}
	}
	_ = tw.Flush()
	if len(ex.NotMatched) > 0 {
		fmt.Fprintf(a.stdout, "\nno points from: %s\n", strings.Join(ex.NotMatched, ", "))
	}
}

// explainWhys renders a rule's matches, one line each.
func explainWhys(r scoring.RuleExplanation) []string {
	var out []string
	for _, m := range r.Matched {
		mark := "holds"
		if !m.Holds {
			mark = "does not hold"
		}
		value, _ := json.Marshal(m.Value)
		out = append(out, fmt.Sprintf("%s: value %s, %s", m.Test, value, mark))
	}
	if r.RelatedCount > 0 {
		out = append(out, fmt.Sprintf("%d related record(s) counted:", r.RelatedCount))
		for i, x := range r.Related {
			if i == 10 {
				out = append(out, fmt.Sprintf("  ... %d more (-o json)", r.RelatedCount-10))
				break
			}
			at := ""
			if x.At != nil {
				at = " at " + x.At.UTC().Format(time.RFC3339)
			}
			name := ""
			if x.Name != "" {
				name = " " + x.Name
			}
			weight := ""
			if x.Weight != 1 {
				weight = fmt.Sprintf(" (weight %.4g)", x.Weight)
			}
			out = append(out, fmt.Sprintf("  %s%s%s: %s%s", x.ID, name, at, x.Points, weight))
		}
	}
	return out
}
