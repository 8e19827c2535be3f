package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/dbtest"
)

// TestTagsFromTheCLI walks tags through the CLI against a real
// PostgreSQL: groups and tags, applying by hand with single-valued
// replacement, a bulk change by condition, a rule that tags existing
// records and then, through the consumer, a record a write makes match,
// and refusals with their exit codes.
func TestTagsFromTheCLI(t *testing.T) {
	url := dbtest.NewEmpty(t)
	ctx := t.Context()
	cli := func(stdin string, args ...string) (string, string, int) {
		t.Helper()
		return run(t, ctx, url, stdin, args...)
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := cli(stdin, args...)
		if code != 0 {
			t.Fatalf("lattice %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	record := func(object, id string) map[string]any {
		t.Helper()
		var m map[string]any
		out := must("", "records", "get", "--tenant", "acme", object, id)
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		return m
	}
	tagsOf := func(object, id string) string {
		t.Helper()
		var out []string
		for _, x := range record(object, id)["tags"].([]any) {
			out = append(out, x.(string))
		}
		return strings.Join(out, ",")
	}
	must("", "migrate")
	must("", "tenant", "create", "acme")

	out := must("", "tags", "groups", "create", "--tenant", "acme", "industry", "--objects", "Account,Contact", "--label", "en=Industry,zh-CN=行业")
	if !strings.Contains(out, "industry") || !strings.Contains(out, "Account,Contact") || !strings.Contains(out, "Industry") {
		t.Fatalf("groups create:\n%s", out)
	}
	must("", "tags", "groups", "create", "--tenant", "acme", "intent", "--objects", "Contact")
	must("", "tags", "groups", "create", "--tenant", "acme", "interest", "--objects", "Contact", "--multi-valued")
	for _, v := range []string{"industry/software", "industry/retail", "intent/high", "interest/pricing", "interest/api"} {
		must("", "tags", "create", "--tenant", "acme", v, "--label", "en="+v)
	}
	must("", "tags", "create", "--tenant", "acme", "intent/low", "--color", "#00aa00", "--position", "-1")
	if out := must("", "tags", "groups", "list", "--tenant", "acme"); strings.Count(out, "\n") != 4 || !strings.Contains(out, "true") {
		t.Fatalf("groups list:\n%s", out)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(must("", "-o", "json", "tags", "list", "--tenant", "acme", "--group", "intent")), &listed); err != nil ||
		len(listed) != 2 || listed[0]["value"] != "intent/low" || listed[0]["color"] != "#00aa00" {
		t.Fatalf("tags list --group intent: %v %v", listed, err)
	}
	must("", "tags", "update", "--tenant", "acme", "intent/high", "--label", "en=Hot,zh-CN=高意向")
	if out := must("", "tags", "list", "--tenant", "acme", "--group", "intent"); !strings.Contains(out, "Hot") {
		t.Fatalf("relabelled tag:\n%s", out)
	}

	var ids []string
	for i, level := range []string{"executive", "staff", "executive"} {
		var c map[string]any
		body := `{"lastName":"C` + string(rune('a'+i)) + `","jobLevel":"` + level + `"}`
		if err := json.Unmarshal([]byte(must(body, "records", "create", "--tenant", "acme", "Contact")), &c); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c["id"].(string))
	}

	// By hand; the second industry replaces the first.
	out = must("", "tags", "apply", "--tenant", "acme", "Contact", ids[1], "--add", "industry/software,interest/api")
	if !strings.Contains(out, "industry/software,interest/api") {
		t.Fatalf("apply:\n%s", out)
	}
	must("", "tags", "apply", "--tenant", "acme", "Contact", ids[1], "--add", "industry/retail", "--remove", "interest/api")
	if got := tagsOf("Contact", ids[1]); got != "industry/retail" {
		t.Fatalf("after replacement: %s", got)
	}
	if v := record("Contact", ids[1])["version"].(float64); v != 3 {
		t.Fatalf("version after two tag changes: %v", v)
	}

	// In bulk by condition.
	out = must("", "-o", "json", "tags", "apply-bulk", "--tenant", "acme", "Contact",
		"--where", `{"field": "jobLevel", "op": "eq", "value": "executive"}`, "--add", "interest/pricing")
	if !strings.Contains(out, `"changed": 2`) {
		t.Fatalf("apply-bulk:\n%s", out)
	}
	if tagsOf("Contact", ids[0]) != "interest/pricing" || tagsOf("Contact", ids[1]) != "industry/retail" {
		t.Fatal("apply-bulk tagged the wrong records")
	}

	// A rule: existing executives at once, then a write through the consumer.
	out = must(`{"field": "jobLevel", "op": "in", "value": ["executive", "director"]}`,
		"tags", "rules", "create", "--tenant", "acme", "--tag", "intent/high", "--object", "Contact", "--where", "-", "--remove-when-false")
	if !strings.Contains(out, "intent/high") {
		t.Fatalf("rules create:\n%s", out)
	}
	if tagsOf("Contact", ids[0]) != "intent/high,interest/pricing" {
		t.Fatalf("rule did not tag the existing executive: %s", tagsOf("Contact", ids[0]))
	}
	if out := must("", "tags", "rules", "list", "--tenant", "acme"); !strings.Contains(out, "intent/high") || !strings.Contains(out, "director") {
		t.Fatalf("rules list:\n%s", out)
	}
	must(`{"jobLevel":"director"}`, "records", "update", "--tenant", "acme", "Contact", ids[1])
	must("", "tags", "rules", "run", "--once")
	if got := tagsOf("Contact", ids[1]); got != "industry/retail,intent/high" {
		t.Fatalf("the consumer did not tag the new director: %s", got)
	}
	must(`{"jobLevel":"staff"}`, "records", "update", "--tenant", "acme", "Contact", ids[0])
	must("", "tags", "rules", "run", "--once")
	if got := tagsOf("Contact", ids[0]); got != "interest/pricing" {
		t.Fatalf("removeWhenFalse through the consumer: %s", got)
	}

	// Refusals: message code and exit status, nothing changed.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"tags", "apply", "--tenant", "acme", "Contact", ids[2], "--add", "interest/nope"}, 3, "tag_not_found"},
		{[]string{"tags", "apply", "--tenant", "acme", "Account", ids[2], "--add", "industry/software"}, 3, "record_not_found"},
		{[]string{"tags", "apply", "--tenant", "acme", "Contact", ids[2], "--add", "intent/high,intent/low"}, 2, "single_valued_group"},
		{[]string{"tags", "apply-bulk", "--tenant", "acme", "Contact", "--where", `{"field": "nope", "op": "eq", "value": 1}`, "--add", "interest/api"}, 2, "invalid_condition"},
		{[]string{"tags", "groups", "create", "--tenant", "acme", "industry", "--objects", "Contact"}, 4, "group_exists"},
		{[]string{"tags", "groups", "create", "--tenant", "acme", "Bad", "--objects", "Contact"}, 2, "invalid_name"},
		{[]string{"tags", "create", "--tenant", "acme", "nogroup"}, 2, "GROUP/NAME"},
		{[]string{"tags", "rules", "create", "--tenant", "acme", "--tag", "interest/api", "--object", "Account", "--where", `{"and": []}`}, 2, "tag_not_allowed"},
	} {
		_, errOut, code := cli("", c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("lattice %s: exit %d, stderr %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, errOut, c.code, c.want)
		}
	}
	if got := tagsOf("Contact", ids[2]); got != "intent/high,interest/pricing" {
		t.Fatalf("refused changes changed the record: %s", got)
	}

	// Deleting a tag takes it off every record.
	if out := must("", "tags", "delete", "--tenant", "acme", "interest/pricing"); !strings.Contains(out, "2") {
		t.Fatalf("tags delete:\n%s", out)
	}
	if got := tagsOf("Contact", ids[2]); got != "intent/high" {
		t.Fatalf("after deleting interest/pricing: %s", got)
	}
}
