package tags_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/tags"
)

func TestBulkApply(t *testing.T) {
	e := newEnv(t, tags.Options{BatchSize: 4})
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.setup(t, tenant)
	var seniors, juniors []string
	for i := range 10 {
		email := "c" + string(rune('a'+i)) + "@example.com"
		if i%5 < 3 {
			seniors = append(seniors, e.contact(t, tenant, email, "senior"))
		} else {
			juniors = append(juniors, e.contact(t, tenant, email, "junior"))
		}
	}
	// A deleted senior is left alone.
	deleted := e.contact(t, tenant, "gone@example.com", "senior")
	if err := e.store.Delete(ctx, tenant, actor, "Contact", deleted, nil); err != nil {
		t.Fatal(err)
	}
	senior := []byte(`{"field": "level", "op": "eq", "value": "senior"}`)
	res, err := e.tags.BulkApply(ctx, tenant, "user-1", "Contact", senior, []string{"interest/pricing"}, nil)
	if err != nil || res.Changed != 6 || res.Batches != 2 {
		t.Fatalf("BulkApply: %+v %v, want 6 changed in 2 batches", res, err)
	}
	for _, id := range seniors {
		if r := e.record(t, tenant, "Contact", id); !sameTags(r.Tags, "interest/pricing") || r.Version != 2 || r.UpdatedBy != "user-1" {
			t.Fatalf("senior %s: tags %v version %d by %s", id, r.Tags, r.Version, r.UpdatedBy)
		}
	}
	for _, id := range append(juniors, deleted) {
		if r := e.record(t, tenant, "Contact", id); !sameTags(r.Tags) || r.Version != 1 && id != deleted {
			t.Fatalf("record %s: tags %v version %d", id, r.Tags, r.Version)
		}
	}
	evs := tagged(t, e, tenant)
	if len(evs) != 6 || evs[0].Source != tags.SourceBulk || evs[0].Version != 2 || !sameTags(evs[0].Added, "interest/pricing") || evs[0].Actor != "user-1" {
		t.Fatalf("bulk events: %d %+v", len(evs), evs)
	}
	// The same change again changes nothing.
	if res, err := e.tags.BulkApply(ctx, tenant, "user-1", "Contact", senior, []string{"interest/pricing"}, nil); err != nil || res.Changed != 0 {
		t.Fatalf("repeat: %+v %v", res, err)
	}
	if n := len(tagged(t, e, tenant)); n != 6 {
		t.Fatalf("repeat appended events: %d", n)
	}
	// Single-valued groups: everyone gets software, then seniors retail
	// instead.
	if res, err := e.tags.BulkApply(ctx, tenant, actor, "Contact", []byte(`{"and": []}`), []string{"industry/software"}, nil); err != nil || res.Changed != 10 {
		t.Fatalf("tag all: %+v %v", res, err)
	}
	if res, err := e.tags.BulkApply(ctx, tenant, actor, "Contact", senior, []string{"industry/retail"}, []string{"interest/pricing"}); err != nil || res.Changed != 6 {
		t.Fatalf("replace: %+v %v", res, err)
	}
	for _, id := range seniors {
		if r := e.record(t, tenant, "Contact", id); !sameTags(r.Tags, "industry/retail") {
			t.Fatalf("senior after replacement: %v", r.Tags)
		}
	}
	for _, id := range juniors {
		if r := e.record(t, tenant, "Contact", id); !sameTags(r.Tags, "industry/software") {
			t.Fatalf("junior after replacement: %v", r.Tags)
		}
	}
	last := tagged(t, e, tenant)
	if ev := last[len(last)-1]; !sameTags(ev.Added, "industry/retail") || !sameTags(ev.Removed, "industry/software", "interest/pricing") {
		t.Fatalf("replacement event: %+v", ev)
	}
	// A condition on tags, removing.
	if res, err := e.tags.BulkApply(ctx, tenant, actor, "Contact", []byte(`{"tags": "hasAny", "value": ["industry/software"]}`), nil, []string{"industry/software"}); err != nil || res.Changed != 4 {
		t.Fatalf("remove by tag: %+v %v", res, err)
	}

	// Refusals change nothing.
	n := len(tagged(t, e, tenant))
	_, err = e.tags.BulkApply(ctx, tenant, actor, "Contact", []byte(`{"field": "nope", "op": "eq", "value": 1}`), []string{"interest/api"}, nil)
	ae, ok := apierror.As(err)
	if !ok || ae.Code != "invalid_condition" || ae.Field != "where" {
		t.Fatalf("bad condition: %v", err)
	}
	if ps, ok := ae.Details.(model.Problems); !ok || len(ps) == 0 || ps[0].Pointer != "/field" {
		t.Fatalf("bad condition details: %#v", ae.Details)
	}
	for _, c := range []struct {
		object, where string
		add           []string
		code          string
	}{
		{"Contact", ``, []string{"interest/api"}, "condition_required"},
		{"Account", `{"and": []}`, []string{"interest/api"}, "tag_not_allowed"},
		{"Contact", `{"and": []}`, []string{"interest/nope"}, "tag_not_found"},
		{"Contact", `{"and": []}`, []string{"intent/high", "intent/low"}, "single_valued_group"},
		{"Lead", `{"and": []}`, []string{"interest/api"}, "object_not_found"},
	} {
		if _, err := e.tags.BulkApply(ctx, tenant, actor, c.object, []byte(c.where), c.add, nil); code(err) != c.code {
			t.Errorf("BulkApply(%s, %s, %v): %v, want %s", c.object, c.where, c.add, err, c.code)
		}
	}
	if got := len(tagged(t, e, tenant)); got != n {
		t.Fatalf("refused bulk changes appended %d events", got-n)
	}
}

// drain runs the consumer until it has nothing more to deliver.
func drain(t *testing.T, c *outbox.Consumer) {
	t.Helper()
	for range 100 {
		n, err := c.RunOnce(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
	t.Fatal("the consumer never ran dry")
}

func bySource(evs []tags.EventPayload, source string) []tags.EventPayload {
	var out []tags.EventPayload
	for _, e := range evs {
		if e.Source == source {
			out = append(out, e)
		}
	}
	return out
}

func TestRules(t *testing.T) {
	e := newEnv(t, tags.Options{BatchSize: 2})
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.setup(t, tenant)
	consumer, err := e.tags.RuleConsumer(outbox.Config{})
	if err != nil || consumer.Name() != tags.ConsumerName {
		t.Fatalf("RuleConsumer: %v", err)
	}
	var seniors, juniors []string
	for i := range 5 {
		email := "c" + string(rune('a'+i)) + "@example.com"
		if i < 3 {
			seniors = append(seniors, e.contact(t, tenant, email, "senior"))
		} else {
			juniors = append(juniors, e.contact(t, tenant, email, "junior"))
		}
	}
	drain(t, consumer) // no rules yet: nothing happens
	if n := len(tagged(t, e, tenant)); n != 0 {
		t.Fatalf("%d tag events before any rule", n)
	}

	// A rule added: existing matching records are tagged in bulk.
	res, err := e.tags.CreateRule(ctx, tenant, "admin", tags.RuleInput{
		Tag: "intent/high", Object: "Contact", RemoveWhenFalse: true,
		Condition: json.RawMessage(`{"field": "level", "op": "eq", "value": "senior"}`),
	})
	if err != nil || res.Added != 3 || res.Removed != 0 || !res.Rule.Enabled || res.Rule.Object != "Contact" || res.Rule.Version != 1 {
		t.Fatalf("CreateRule: %+v %v", res, err)
	}
	high := res.Rule
	for _, id := range seniors {
		if r := e.record(t, tenant, "Contact", id); !sameTags(r.Tags, "intent/high") {
			t.Fatalf("senior after the rule: %v", r.Tags)
		}
	}
	evs := tagged(t, e, tenant)
	if len(evs) != 3 || evs[0].Source != tags.SourceRule || evs[0].Rule != high.ID || evs[0].Actor != "admin" {
		t.Fatalf("rule bulk events: %+v", evs)
	}
	// The consumer agrees with the bulk evaluation: nothing to change.
	drain(t, consumer)
	if n := len(tagged(t, e, tenant)); n != 3 {
		t.Fatalf("the consumer changed tags the bulk evaluation had set: %d events", n)
	}

	// A write that makes a record match: the consumer tags it.
	if _, err := e.store.Update(ctx, tenant, actor, "Contact", juniors[0], map[string]any{"level": "senior"}, nil); err != nil {
		t.Fatal(err)
	}
	drain(t, consumer)
	r := e.record(t, tenant, "Contact", juniors[0])
	if !sameTags(r.Tags, "intent/high") || r.UpdatedBy != string(tags.RulesActor) || r.Version != 3 {
		t.Fatalf("after the write: tags %v by %s version %d", r.Tags, r.UpdatedBy, r.Version)
	}
	own := bySource(tagged(t, e, tenant), tags.SourceRules)
	if len(own) != 1 || own[0].ID != juniors[0] || !sameTags(own[0].Added, "intent/high") || own[0].Actor != tags.RulesActor || own[0].Version != 3 {
		t.Fatalf("consumer events: %+v", own)
	}
	// removeWhenFalse: a write that makes it stop matching removes the tag.
	if _, err := e.store.Update(ctx, tenant, actor, "Contact", seniors[0], map[string]any{"level": "junior"}, nil); err != nil {
		t.Fatal(err)
	}
	drain(t, consumer)
	if r := e.record(t, tenant, "Contact", seniors[0]); !sameTags(r.Tags) {
		t.Fatalf("after it stopped matching: %v", r.Tags)
	}
	// Removing the tag by hand while the rule holds: the rule puts it back.
	if _, err := e.tags.Apply(ctx, tenant, actor, "Contact", seniors[1], nil, []string{"intent/high"}); err != nil {
		t.Fatal(err)
	}
	drain(t, consumer)
	if r := e.record(t, tenant, "Contact", seniors[1]); !sameTags(r.Tags, "intent/high") {
		t.Fatalf("the rule did not re-apply its tag: %v", r.Tags)
	}
	// The consumer's own events do not come back to it: running it again
	// appends nothing.
	n := len(tagged(t, e, tenant))
	drain(t, consumer)
	if got := len(tagged(t, e, tenant)); got != n {
		t.Fatalf("the consumer reacted to its own events: %d new", got-n)
	}

	// Precisely: an event the consumer caused is skipped, any other source
	// is evaluated. (Tags changed behind the rules' back, then both kinds
	// of event handed to the handler directly.)
	if _, err := e.db.Owner.Exec(ctx, "UPDATE records SET tags = '{}' WHERE id = $1", seniors[1]); err != nil {
		t.Fatal(err)
	}
	m, err := e.cat.Model(ctx, tenant)
	if err != nil {
		t.Fatal(err)
	}
	for _, source := range []string{tags.SourceRules, tags.SourceManual} {
		payload, _ := json.Marshal(tags.EventPayload{Object: "Contact", ObjectID: m.Object("Contact").Key, ID: seniors[1], Source: source})
		if err := e.tags.HandleEvent(ctx, outbox.Event{TenantID: tenant, Topic: tags.TopicTagged, Payload: payload}); err != nil {
			t.Fatal(err)
		}
		r := e.record(t, tenant, "Contact", seniors[1])
		if want := source == tags.SourceManual; sameTags(r.Tags, "intent/high") != want {
			t.Fatalf("after a %q event: %v", source, r.Tags)
		}
	}

	// A rule on tags chains within one evaluation, and in bulk.
	chain, err := e.tags.CreateRule(ctx, tenant, actor, tags.RuleInput{
		Tag: "interest/pricing", Object: "Contact",
		Condition: json.RawMessage(`{"tags": "hasAny", "value": ["intent/high"]}`),
	})
	if err != nil || chain.Added != 3 {
		t.Fatalf("chained rule: %+v %v", chain, err)
	}
	drain(t, consumer)
	if _, err := e.store.Update(ctx, tenant, actor, "Contact", seniors[0], map[string]any{"level": "senior"}, nil); err != nil {
		t.Fatal(err)
	}
	drain(t, consumer)
	r = e.record(t, tenant, "Contact", seniors[0])
	if !sameTags(r.Tags, "intent/high", "interest/pricing") {
		t.Fatalf("chained evaluation: %v", r.Tags)
	}
	own = bySource(tagged(t, e, tenant), tags.SourceRules)
	if last := own[len(own)-1]; last.ID != seniors[0] || !sameTags(last.Added, "intent/high", "interest/pricing") {
		t.Fatalf("chained evaluation should be one event: %+v", last)
	}
	// Without removeWhenFalse the tag stays when the condition stops holding.
	if _, err := e.store.Update(ctx, tenant, actor, "Contact", seniors[0], map[string]any{"level": "junior"}, nil); err != nil {
		t.Fatal(err)
	}
	drain(t, consumer)
	if r := e.record(t, tenant, "Contact", seniors[0]); !sameTags(r.Tags, "interest/pricing") {
		t.Fatalf("without removeWhenFalse: %v", r.Tags)
	}

	// Single-valued groups: the older rule wins, on writes and in bulk.
	low, err := e.tags.CreateRule(ctx, tenant, actor, tags.RuleInput{
		Tag: "intent/low", Object: "Contact", Condition: json.RawMessage(`{"and": []}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	// Before the consumer sees anything: the bulk evaluation left the
	// seniors (where the older rule holds) alone.
	if low.Added != 2 {
		t.Fatalf("intent/low added to %d records, want the 2 non-seniors", low.Added)
	}
	check := func(when string) {
		t.Helper()
		for _, id := range append(seniors, juniors...) {
			r := e.record(t, tenant, "Contact", id)
			want := "intent/low"
			if r.Values["level"] == "senior" {
				want = "intent/high"
			}
			if got := filter(r.Tags, "intent/"); len(got) != 1 || got[0] != want {
				t.Fatalf("%s: %s (%v): %v, want %s only", when, id, r.Values["level"], r.Tags, want)
			}
		}
	}
	check("after the bulk evaluation")
	drain(t, consumer)
	check("after the consumer")

	// Changing a rule re-evaluates it in bulk.
	up, err := e.tags.UpdateRule(ctx, tenant, actor, high.ID, tags.RulePatch{
		Condition: json.RawMessage(`{"field": "email", "op": "startsWith", "value": "ca"}`),
	})
	if err != nil || up.Rule.Version != 2 {
		t.Fatalf("UpdateRule: %+v %v", up, err)
	}
	if r := e.record(t, tenant, "Contact", seniors[0]); len(filter(r.Tags, "intent/high")) != 1 {
		t.Fatalf("ca@ after the change: %v", r.Tags)
	}
	if r := e.record(t, tenant, "Contact", seniors[1]); len(filter(r.Tags, "intent/high")) != 0 {
		t.Fatalf("cb@ after the change (removeWhenFalse): %v", r.Tags)
	}
	// Disabling changes nothing on records; the rule stops applying.
	if up, err := e.tags.UpdateRule(ctx, tenant, actor, low.Rule.ID, tags.RulePatch{Enabled: ptr(false)}); err != nil || up.Added+up.Removed != 0 || up.Rule.Enabled {
		t.Fatalf("disable: %+v %v", up, err)
	}
	list, err := e.tags.Rules(ctx, tenant, "Contact")
	if err != nil || len(list) != 3 || list[0].ID != high.ID || list[2].ID != low.Rule.ID || list[2].Enabled {
		t.Fatalf("Rules: %+v %v", list, err)
	}
	if err := e.tags.DeleteRule(ctx, tenant, chain.Rule.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tags.Rule(ctx, tenant, chain.Rule.ID); code(err) != "rule_not_found" {
		t.Fatalf("deleted rule: %v", err)
	}
	if err := e.tags.DeleteRule(ctx, tenant, chain.Rule.ID); code(err) != "rule_not_found" {
		t.Fatalf("deleting it again: %v", err)
	}

	// Refusals.
	for _, c := range []struct {
		in          tags.RuleInput
		code, field string
	}{
		{tags.RuleInput{Tag: "intent/nope", Object: "Contact", Condition: json.RawMessage(`{"and": []}`)}, "tag_not_found", "tag"},
		{tags.RuleInput{Tag: "interest/api", Object: "Account", Condition: json.RawMessage(`{"and": []}`)}, "tag_not_allowed", "tag"},
		{tags.RuleInput{Tag: "interest/api", Object: "Contact", Condition: json.RawMessage(`{"field": "level", "op": "gt", "value": 1}`)}, "invalid_condition", "condition"},
		{tags.RuleInput{Tag: "interest/api", Object: "Contact"}, "condition_required", "condition"},
		{tags.RuleInput{Tag: "api", Object: "Contact", Condition: json.RawMessage(`{"and": []}`)}, "invalid_tag", "tag"},
	} {
		if _, err := e.tags.CreateRule(ctx, tenant, actor, c.in); code(err) != c.code || field(err) != c.field {
			t.Errorf("CreateRule(%+v): %v, want %s on %s", c.in, err, c.code, c.field)
		}
	}
	// Deleting a tag deletes its rules.
	if _, err := e.tags.DeleteTag(ctx, tenant, actor, "intent/low"); err != nil {
		t.Fatal(err)
	}
	if list, _ := e.tags.Rules(ctx, tenant, ""); len(list) != 1 {
		t.Fatalf("rules after deleting intent/low: %+v", list)
	}
}

// TestRuleThroughLookup covers a rule whose condition reads another
// record, which the consumer evaluates by SQL.
func TestRuleThroughLookup(t *testing.T) {
	e := newEnv(t, tagsOptions())
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.setup(t, tenant)
	consumer, err := e.tags.RuleConsumer(outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	soft, err := e.store.Create(ctx, tenant, actor, "Account", map[string]any{"name": "Acme Software"})
	if err != nil {
		t.Fatal(err)
	}
	shop, err := e.store.Create(ctx, tenant, actor, "Account", map[string]any{"name": "Corner Shop"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.tags.CreateRule(ctx, tenant, actor, tags.RuleInput{
		Tag: "industry/software", Object: "Contact", RemoveWhenFalse: true,
		Condition: json.RawMessage(`{"field": "account.name", "op": "contains", "value": "Software"}`),
	})
	if err != nil || res.Added != 0 {
		t.Fatalf("CreateRule: %+v %v", res, err)
	}
	c, err := e.store.Create(ctx, tenant, actor, "Contact", map[string]any{"email": "ann@example.com", "account": soft.ID})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, consumer)
	if r := e.record(t, tenant, "Contact", c.ID); !sameTags(r.Tags, "industry/software") {
		t.Fatalf("after create: %v", r.Tags)
	}
	if _, err := e.store.Update(ctx, tenant, actor, "Contact", c.ID, map[string]any{"account": shop.ID}, nil); err != nil {
		t.Fatal(err)
	}
	drain(t, consumer)
	if r := e.record(t, tenant, "Contact", c.ID); !sameTags(r.Tags) {
		t.Fatalf("after moving to another account: %v", r.Tags)
	}
	// The bulk path agrees.
	if _, err := e.store.Update(ctx, tenant, actor, "Account", shop.ID, map[string]any{"name": "Shop Software"}, nil); err != nil {
		t.Fatal(err)
	}
	rr, err := e.tags.Reevaluate(ctx, tenant, actor, res.Rule.ID)
	if err != nil || rr.Added != 1 {
		t.Fatalf("Reevaluate: %+v %v", rr, err)
	}
	if r := e.record(t, tenant, "Contact", c.ID); !sameTags(r.Tags, "industry/software") {
		t.Fatalf("after re-evaluation: %v", r.Tags)
	}
}

func filter(ts []string, prefix string) []string {
	var out []string
	for _, t := range ts {
		if strings.HasPrefix(t, prefix) {
			out = append(out, t)
		}
	}
	return out
}
