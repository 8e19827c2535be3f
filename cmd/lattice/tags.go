package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/tags"
)

// withTags runs fn with a tags service on the tenant whose slug or id is ref.
func (a *app) withTags(ctx context.Context, ref string, fn func(s *tags.Service, tenantID string) error) error {
	return a.withTenant(ctx, ref, func(k *kernel, tid string) error {
		return fn(tags.New(k.pool, k.catalog, tags.Options{Logger: a.log}), tid)
	})
}

// textFlag converts a --label en=Industry,zh-CN=行业 flag to text, or nil
// when the flag was not given.
func textFlag(c *cobra.Command, name string, v map[string]string) model.Text {
	if !c.Flags().Changed(name) {
		return nil
	}
	return model.Text(v)
}

// conditionArg reads a condition given as JSON, @FILE or - (stdin).
func (a *app) conditionArg(v string) ([]byte, error) {
	switch {
	case v == "-":
		return a.readInput("-")
	case strings.HasPrefix(v, "@"):
		return a.readInput(strings.TrimPrefix(v, "@"))
	}
	return []byte(v), nil
}

func newTagsCommand(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tags",
		Short: "Tag groups, tags, tag rules, and tagging records",
		Long: `Tags are grouped in dimensions (tag groups: industry, company size, purchase
intent, ...). A group is single- or multi-valued and applies to some objects.
Records store tags as group/tag (industry/software), which is also how
conditions name them: {"tags": "hasAny", "value": ["industry/software"]}.
See docs/tags.md.`,
	}
	var tenant string
	tenantFlag := func(c *cobra.Command) {
		c.Flags().StringVar(&tenant, "tenant", "", "tenant slug or id (required)")
		_ = c.MarkFlagRequired("tenant")
	}
	showGroups := func(gs []*tags.Group) error {
		return a.show(gs, "NAME\tLABEL\tMULTI-VALUED\tOBJECTS\tPOSITION\tDELETING", func(add func(...any)) {
			for _, g := range gs {
				add(g.Name, g.Label.Default(), g.MultiValued, strings.Join(g.Objects, ","), g.Position, g.Deleting)
			}
		})
	}
	showTags := func(ts []*tags.Tag) error {
		return a.show(ts, "TAG\tLABEL\tCOLOR\tPOSITION\tDELETING", func(add func(...any)) {
			for _, t := range ts {
				add(t.Value, t.Label.Default(), t.Color, t.Position, t.Deleting)
			}
		})
	}
	showRules := func(rs []*tags.Rule) error {
		return a.show(rs, "ID\tTAG\tOBJECT\tENABLED\tREMOVE WHEN FALSE\tVERSION\tCONDITION\tERROR", func(add func(...any)) {
			for _, r := range rs {
				add(r.ID, r.Tag, r.Object, r.Enabled, r.RemoveWhenFalse, r.Version, string(r.Condition), r.Error)
			}
		})
	}
	showRuleResult := func(r *tags.RuleResult) error {
		return a.show(r, "ID\tTAG\tOBJECT\tENABLED\tREMOVE WHEN FALSE\tVERSION\tADDED TO\tREMOVED FROM", func(add func(...any)) {
			add(r.Rule.ID, r.Rule.Tag, r.Rule.Object, r.Rule.Enabled, r.Rule.RemoveWhenFalse, r.Rule.Version, r.Added, r.Removed)
		})
	}

	// --- groups ---
	groups := &cobra.Command{Use: "groups", Short: "Create, list, change and delete tag groups"}
	var gin tags.GroupInput
	var label, description map[string]string
	var position int
	var multi bool
	var objects []string
	groupCreate := &cobra.Command{
		Use:   "create --tenant T NAME --objects OBJECT[,OBJECT...] [--multi-valued] [--label en=...,zh-CN=...]",
		Short: "Create a tag group (NAME: camelCase API name, never changes)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			gin.Name, gin.Objects, gin.MultiValued = args[0], objects, multi
			gin.Label, gin.Description = textFlag(cmd, "label", label), textFlag(cmd, "description", description)
			if cmd.Flags().Changed("position") {
				gin.Position = &position
			}
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				g, err := s.CreateGroup(cmd.Context(), tid, cliActor, gin)
				if err != nil {
					return err
				}
				return showGroups([]*tags.Group{g})
			})
		},
	}
	tenantFlag(groupCreate)
	groupCreate.Flags().StringSliceVar(&objects, "objects", nil, "objects the group's tags apply to (required)")
	groupCreate.Flags().BoolVar(&multi, "multi-valued", false, "allow several of the group's tags on one record")
	groupCreate.Flags().StringToStringVar(&label, "label", nil, "label by language, e.g. en=Industry,zh-CN=行业")
	groupCreate.Flags().StringToStringVar(&description, "description", nil, "description by language")
	groupCreate.Flags().IntVar(&position, "position", 0, "order among groups (default: last)")
	_ = groupCreate.MarkFlagRequired("objects")

	groupList := &cobra.Command{
		Use:   "list --tenant T",
		Short: "List tag groups",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				gs, err := s.Groups(cmd.Context(), tid)
				if err != nil {
					return err
				}
				if gs == nil {
					gs = []*tags.Group{}
				}
				return showGroups(gs)
			})
		},
	}
	tenantFlag(groupList)

	groupUpdate := &cobra.Command{
		Use:   "update --tenant T NAME [--label ...] [--description ...] [--objects ...] [--multi-valued=BOOL] [--position N]",
		Short: "Change a tag group's labels, objects, multi-valued flag or position",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p tags.GroupPatch
			p.Label, p.Description = textFlag(cmd, "label", label), textFlag(cmd, "description", description)
			if cmd.Flags().Changed("objects") {
				p.Objects = objects
			}
			if cmd.Flags().Changed("multi-valued") {
				p.MultiValued = &multi
			}
			if cmd.Flags().Changed("position") {
				p.Position = &position
			}
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				g, err := s.UpdateGroup(cmd.Context(), tid, cliActor, args[0], p)
				if err != nil {
					return err
				}
				return showGroups([]*tags.Group{g})
			})
		},
	}
	tenantFlag(groupUpdate)
	groupUpdate.Flags().StringSliceVar(&objects, "objects", nil, "objects the group's tags apply to (replaces the list)")
	groupUpdate.Flags().BoolVar(&multi, "multi-valued", false, "allow several of the group's tags on one record")
	groupUpdate.Flags().StringToStringVar(&label, "label", nil, "label by language (replaces it)")
	groupUpdate.Flags().StringToStringVar(&description, "description", nil, "description by language (replaces it)")
	groupUpdate.Flags().IntVar(&position, "position", 0, "order among groups")

	groupDelete := &cobra.Command{
		Use:   "delete --tenant T NAME",
		Short: "Delete a tag group: its tags are removed from every record, then deleted",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				r, err := s.DeleteGroup(cmd.Context(), tid, cliActor, args[0])
				if err != nil {
					return err
				}
				return a.show(r, "DELETED\tRECORDS UNTAGGED", func(add func(...any)) { add(args[0], r.Records) })
			})
		},
	}
	tenantFlag(groupDelete)
	groups.AddCommand(groupCreate, groupList, groupUpdate, groupDelete)

	// --- tags ---
	var color, group string
	create := &cobra.Command{
		Use:   "create --tenant T GROUP/NAME [--label en=...,zh-CN=...] [--color #rrggbb] [--position N]",
		Short: "Create a tag in a group (NAME: camelCase API name, never changes)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, n, ok := strings.Cut(args[0], "/")
			if !ok {
				return &usageError{msg: fmt.Sprintf("%q: want GROUP/NAME", args[0])}
			}
			in := tags.TagInput{Group: g, Name: n, Label: textFlag(cmd, "label", label), Color: color}
			if cmd.Flags().Changed("position") {
				in.Position = &position
			}
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				t, err := s.CreateTag(cmd.Context(), tid, cliActor, in)
				if err != nil {
					return err
				}
				return showTags([]*tags.Tag{t})
			})
		},
	}
	tenantFlag(create)
	create.Flags().StringToStringVar(&label, "label", nil, "label by language, e.g. en=Software,zh-CN=软件")
	create.Flags().StringVar(&color, "color", "", "color as #rrggbb")
	create.Flags().IntVar(&position, "position", 0, "order within the group (default: last)")

	list := &cobra.Command{
		Use:   "list --tenant T [--group G]",
		Short: "List tags (of one group, or all)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				ts, err := s.Tags(cmd.Context(), tid, group)
				if err != nil {
					return err
				}
				if ts == nil {
					ts = []*tags.Tag{}
				}
				return showTags(ts)
			})
		},
	}
	tenantFlag(list)
	list.Flags().StringVar(&group, "group", "", "only this group's tags")

	update := &cobra.Command{
		Use:   "update --tenant T GROUP/NAME [--label ...] [--color #rrggbb|''] [--position N]",
		Short: "Change a tag's label (renaming), color or position",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p := tags.TagPatch{Label: textFlag(cmd, "label", label)}
			if cmd.Flags().Changed("color") {
				p.Color = &color
			}
			if cmd.Flags().Changed("position") {
				p.Position = &position
			}
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				t, err := s.UpdateTag(cmd.Context(), tid, cliActor, args[0], p)
				if err != nil {
					return err
				}
				return showTags([]*tags.Tag{t})
			})
		},
	}
	tenantFlag(update)
	update.Flags().StringToStringVar(&label, "label", nil, "label by language (replaces it)")
	update.Flags().StringVar(&color, "color", "", "color as #rrggbb; empty clears it")
	update.Flags().IntVar(&position, "position", 0, "order within the group")

	del := &cobra.Command{
		Use:   "delete --tenant T GROUP/NAME",
		Short: "Delete a tag: it is removed from every record (in batches, with events), then deleted",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				r, err := s.DeleteTag(cmd.Context(), tid, cliActor, args[0])
				if err != nil {
					return err
				}
				return a.show(r, "DELETED\tRECORDS UNTAGGED", func(add func(...any)) { add(args[0], r.Records) })
			})
		},
	}
	tenantFlag(del)

	// --- applying ---
	var addTags, removeTags []string
	var where string
	apply := &cobra.Command{
		Use:   "apply --tenant T OBJECT ID [--add GROUP/TAG ...] [--remove GROUP/TAG ...]",
		Short: "Add and remove tags on one record (a single-valued group's tag replaces its other tag)",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				r, err := s.Apply(cmd.Context(), tid, cliActor, args[0], args[1], addTags, removeTags)
				if err != nil {
					return err
				}
				return a.show(r, "OBJECT\tID\tVERSION\tTAGS\tADDED\tREMOVED", func(add func(...any)) {
					add(r.Object, r.ID, r.Version, strings.Join(r.Tags, ","), strings.Join(r.Added, ","), strings.Join(r.Removed, ","))
				})
			})
		},
	}
	tenantFlag(apply)
	apply.Flags().StringSliceVar(&addTags, "add", nil, "tags to add (repeat or separate with commas)")
	apply.Flags().StringSliceVar(&removeTags, "remove", nil, "tags to remove (repeat or separate with commas)")

	applyBulk := &cobra.Command{
		Use:   "apply-bulk --tenant T OBJECT --where CONDITION [--add GROUP/TAG ...] [--remove GROUP/TAG ...]",
		Short: "Add and remove tags on every record that meets a condition",
		Long: `Add and remove tags on every live record of OBJECT that meets the condition
(JSON, @FILE or - for stdin; {"and": []} selects every record), in batches,
one event per changed record. Running it again finishes an interrupted run.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cond, err := a.conditionArg(where)
			if err != nil {
				return err
			}
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				r, err := s.BulkApply(cmd.Context(), tid, cliActor, args[0], cond, addTags, removeTags)
				if err != nil {
					return err
				}
				return a.show(r, "CHANGED\tBATCHES", func(add func(...any)) { add(r.Changed, r.Batches) })
			})
		},
	}
	tenantFlag(applyBulk)
	applyBulk.Flags().StringVar(&where, "where", "", `condition, e.g. '{"field": "level", "op": "eq", "value": "senior"}' (required)`)
	applyBulk.Flags().StringSliceVar(&addTags, "add", nil, "tags to add")
	applyBulk.Flags().StringSliceVar(&removeTags, "remove", nil, "tags to remove")
	_ = applyBulk.MarkFlagRequired("where")

	// --- rules ---
	rules := &cobra.Command{
		Use:   "rules",
		Short: "Tag rules: a condition that adds a tag while it holds",
		Long: `A tag rule adds its tag to the records of its object that meet its condition
and, with --remove-when-false, removes it from those that do not. Creating or
changing a rule applies it to existing records in bulk; after that, the
tag-rules consumer evaluates rules on every write (lattice tags rules run, or
a server that runs it). See docs/tags.md.`,
	}
	var rin tags.RuleInput
	var removeWhenFalse, disabled, enabled bool
	ruleCreate := &cobra.Command{
		Use:   "create --tenant T --tag GROUP/TAG --object OBJECT --where CONDITION [--remove-when-false] [--disabled]",
		Short: "Create a tag rule and apply it to existing records",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			cond, err := a.conditionArg(where)
			if err != nil {
				return err
			}
			rin.Condition, rin.RemoveWhenFalse, rin.Disabled = json.RawMessage(cond), removeWhenFalse, disabled
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				r, err := s.CreateRule(cmd.Context(), tid, cliActor, rin)
				if err != nil {
					return err
				}
				return showRuleResult(r)
			})
		},
	}
	tenantFlag(ruleCreate)
	ruleCreate.Flags().StringVar(&rin.Tag, "tag", "", "the tag the rule applies, GROUP/TAG (required)")
	ruleCreate.Flags().StringVar(&rin.Object, "object", "", "the object whose records it tags (required)")
	ruleCreate.Flags().StringVar(&where, "where", "", "the condition: JSON, @FILE or - (required)")
	ruleCreate.Flags().BoolVar(&removeWhenFalse, "remove-when-false", false, "also remove the tag from records that do not meet the condition")
	ruleCreate.Flags().BoolVar(&disabled, "disabled", false, "create the rule switched off")
	for _, f := range []string{"tag", "object", "where"} {
		_ = ruleCreate.MarkFlagRequired(f)
	}

	var object string
	ruleList := &cobra.Command{
		Use:   "list --tenant T [--object OBJECT]",
		Short: "List tag rules, oldest (taking precedence) first",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				rs, err := s.Rules(cmd.Context(), tid, object)
				if err != nil {
					return err
				}
				if rs == nil {
					rs = []*tags.Rule{}
				}
				return showRules(rs)
			})
		},
	}
	tenantFlag(ruleList)
	ruleList.Flags().StringVar(&object, "object", "", "only this object's rules")

	ruleUpdate := &cobra.Command{
		Use:   "update --tenant T ID [--where CONDITION] [--remove-when-false=BOOL] [--enabled=BOOL]",
		Short: "Change a tag rule and re-apply it to existing records",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p tags.RulePatch
			if cmd.Flags().Changed("where") {
				cond, err := a.conditionArg(where)
				if err != nil {
					return err
				}
				p.Condition = cond
			}
			if cmd.Flags().Changed("remove-when-false") {
				p.RemoveWhenFalse = &removeWhenFalse
			}
			if cmd.Flags().Changed("enabled") {
				p.Enabled = &enabled
			}
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				r, err := s.UpdateRule(cmd.Context(), tid, cliActor, args[0], p)
				if err != nil {
					return err
				}
				return showRuleResult(r)
			})
		},
	}
	tenantFlag(ruleUpdate)
	ruleUpdate.Flags().StringVar(&where, "where", "", "the new condition: JSON, @FILE or -")
	ruleUpdate.Flags().BoolVar(&removeWhenFalse, "remove-when-false", false, "remove the tag from records that do not meet the condition")
	ruleUpdate.Flags().BoolVar(&enabled, "enabled", true, "switch the rule on or off")

	ruleDelete := &cobra.Command{
		Use:   "delete --tenant T ID",
		Short: "Delete a tag rule (the tags it applied stay)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				if err := s.DeleteRule(cmd.Context(), tid, args[0]); err != nil {
					return err
				}
				return a.show(map[string]string{"deleted": args[0]}, "DELETED", func(add func(...any)) { add(args[0]) })
			})
		},
	}
	tenantFlag(ruleDelete)

	ruleReevaluate := &cobra.Command{
		Use:   "reevaluate --tenant T ID",
		Short: "Apply a tag rule to every existing record again (e.g. after related records changed)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withTags(cmd.Context(), tenant, func(s *tags.Service, tid string) error {
				r, err := s.Reevaluate(cmd.Context(), tid, cliActor, args[0])
				if err != nil {
					return err
				}
				return showRuleResult(r)
			})
		},
	}
	tenantFlag(ruleReevaluate)

	var once bool
	var interval time.Duration
	ruleRun := &cobra.Command{
		Use:   "run [--once] [--interval 1s]",
		Short: "Run the tag-rules consumer for every tenant (until interrupted, or until idle with --once)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withKernel(ctx, func(k *kernel) error {
				c, err := tags.New(k.pool, k.catalog, tags.Options{Logger: a.log}).RuleConsumer(outbox.Config{Logger: a.log})
				if err != nil {
					return err
				}
				if !once {
					// Keep the schema cache in step with changes made elsewhere.
					go func() {
						if err := k.catalog.Listen(ctx, a.appDatabaseURL); err != nil && ctx.Err() == nil {
							a.log.Error("schema change listener stopped", "err", err)
						}
					}()
					return c.Run(ctx, interval)
				}
				total := 0
				for {
					n, err := c.RunOnce(ctx)
					total += n
					if err != nil {
						return err
					}
					if n == 0 {
						break
					}
				}
				return a.show(map[string]int{"delivered": total}, "EVENTS DELIVERED", func(add func(...any)) { add(total) })
			})
		},
	}
	ruleRun.Flags().BoolVar(&once, "once", false, "deliver what is pending, then exit")
	ruleRun.Flags().DurationVar(&interval, "interval", time.Second, "how often to look for new events when idle")

	rules.AddCommand(ruleCreate, ruleList, ruleUpdate, ruleDelete, ruleReevaluate, ruleRun)
	cmd.AddCommand(groups, create, list, update, del, apply, applyBulk, rules)
	return cmd
}
