package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/platform/dbtest"
)

// scoringRules is a small rule set for Lead of the CRM template.
const scoringRules = `{
  "grades": [{"grade": "A", "min": 60}, {"grade": "B", "min": 40}, {"grade": "C"}],
  "rules": [
    {"name": "qualified", "kind": "fit", "points": 30, "when": {"field": "status", "op": "in", "value": ["qualified", "converted"]}},
    {"name": "referral", "kind": "fit", "points": 20, "when": {"field": "source", "op": "eq", "value": "referral"}},
    {"name": "pageViews", "kind": "engagement", "related": "activities", "where": {"field": "type", "op": "eq", "value": "pageView"},
     "pointsEach": 5, "at": "occurredAt", "within": "30d", "halfLife": "7d", "cap": 30}
  ]
}`

// TestScoringFromTheCLI applies, re-applies, explains, previews and
// rescores through the CLI against a real PostgreSQL, and checks that a
// rule set with mistakes is refused with their pointers.
func TestScoringFromTheCLI(t *testing.T) {
	url := dbtest.NewEmpty(t)
	ctx := t.Context()
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		return run(t, ctx, url, "", args...)
	}
	must := func(stdin string, args ...string) string {
		t.Helper()
		out, errOut, code := run(t, ctx, url, stdin, args...)
		if code != 0 {
			t.Fatalf("lattice %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	jsonOf := func(s string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, s)
		}
		return m
	}
	contains := func(what, out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Fatalf("%s lacks %q:\n%s", what, w, out)
			}
		}
	}
	must("", "migrate")
	must("", "tenant", "create", "acme")
	lead := jsonOf(must(`{"lastName": "One", "status": "qualified", "source": "referral"}`, "records", "create", "--tenant", "acme", "Lead"))["id"].(string)
	other := jsonOf(must(`{"lastName": "Two"}`, "records", "create", "--tenant", "acme", "Lead"))["id"].(string)
	// A page view a minute ago: 5 x 0.5^(1 minute / 7 days), 5 once rounded.
	at := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	must(`{"type": "pageView", "subject": "pricing", "lead": "`+lead+`", "occurredAt": "`+at+`"}`, "records", "create", "--tenant", "acme", "Activity")

	dir := t.TempDir()
	file := filepath.Join(dir, "rules.json")
	if err := os.WriteFile(file, []byte(scoringRules), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := cli("scoring", "apply", "--tenant", "acme", "Lead", file, "--message", "first rules")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, errOut)
	}
	contains("apply", out, "Lead rule set version 1 applied", "rescored 2 Lead record(s) under rule set version 1: 2 changed")
	contains("apply progress", errOut, "rescoring Lead")
	got := jsonOf(must("", "records", "get", "--tenant", "acme", "Lead", lead))
	if got["score"] != float64(55) || got["grade"] != "B" {
		t.Fatalf("lead after apply: score %v grade %v", got["score"], got["grade"])
	}
	contains("apply again", must("", "scoring", "apply", "--tenant", "acme", "Lead", file), "version 1 unchanged")

	out = must("", "scoring", "explain", "--tenant", "acme", "Lead", lead)
	contains("explain", out, "score 55, grade B", "= 1 x fit 50 + 1 x engagement 5", "qualified", "referral", "pageViews",
		`value "qualified", holds`, "1 related record(s) counted")
	ex := jsonOf(must("", "-o", "json", "scoring", "explain", "--tenant", "acme", "Lead", other))
	if ex["score"] != "0" || ex["grade"] != "C" || len(ex["rules"].([]any)) != 0 || len(ex["notMatched"].([]any)) != 3 {
		t.Fatalf("explain -o json: %v", ex)
	}

	// A draft that makes a referral worth 40: One goes from B to A.
	draft := filepath.Join(dir, "draft.json")
	if err := os.WriteFile(draft, []byte(strings.Replace(scoringRules, `"points": 20`, `"points": 40`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out = must("", "scoring", "preview", "--tenant", "acme", "Lead", draft, "--ids", lead+","+other)
	contains("preview --ids", out, "2 record(s) scored, 1 would change", "B -> A: 1", "55 -> 75")
	out = must("", "scoring", "preview", "--tenant", "acme", "Lead", draft, "--sample", "10")
	contains("preview --sample", out, "2 record(s) scored")
	if got := jsonOf(must("", "records", "get", "--tenant", "acme", "Lead", lead)); got["score"] != float64(55) {
		t.Fatalf("preview changed a score: %v", got["score"])
	}
	if _, errOut, code := cli("scoring", "preview", "--tenant", "acme", "Lead", draft, "--sample", "5", "--ids", lead); code != 2 || !strings.Contains(errOut, "not both") {
		t.Fatalf("preview with both: exit %d %s", code, errOut)
	}

	// Mistakes are refused with their pointers, and nothing is stored.
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"rules": [{"name": "x", "kind": "fit", "points": 1, "when": {"field": "nope", "op": "eq", "value": 1}},
		{"name": "y", "kind": "vibes", "related": "activities", "pointsEach": 1}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = cli("scoring", "apply", "--tenant", "acme", "Lead", bad)
	if code != 2 || !strings.Contains(errOut, "/rules/0/when/field") || !strings.Contains(errOut, "/rules/1/kind") {
		t.Fatalf("bad rule set: exit %d\n%s", code, errOut)
	}
	out = must("", "scoring", "history", "--tenant", "acme", "Lead")
	contains("history", out, "first rules")
	if strings.Count(out, "\n") != 2 {
		t.Fatalf("history after a refused apply:\n%s", out)
	}

	// Rescoring changes nothing now; the active rule set prints as JSON.
	out = must("", "scoring", "rescore", "--tenant", "acme", "Lead")
	contains("rescore", out, "rescored 2 Lead record(s) under rule set version 1: 0 changed")
	contains("jobs", must("", "scoring", "jobs", "--tenant", "acme"), "apply", "manual")
	shown := jsonOf(must("", "scoring", "show", "--tenant", "acme", "Lead"))
	if len(shown["rules"].([]any)) != 3 {
		t.Fatalf("show: %v", shown)
	}
	if _, errOut, code := cli("scoring", "explain", "--tenant", "acme", "Contact", lead); code != 3 || !strings.Contains(errOut, "ruleset_not_found") {
		t.Fatalf("explain without a rule set: exit %d %s", code, errOut)
	}
}
