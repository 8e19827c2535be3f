package main

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/dbtest"
	"github.com/latticecrm/lattice/platform/migrations"
	"github.com/latticecrm/lattice/platform/outbox"
)

// TestAuditFromTheCLI records changes made with the CLI (actor "cli"),
// lets the audit consumer record the data changes, and reads them back
// with audit list (filters, pages), audit export and audit retention.
func TestAuditFromTheCLI(t *testing.T) {
	url := dbtest.NewEmpty(t)
	ctx := t.Context()
	cli := func(args ...string) (string, string, int) {
		t.Helper()
		return run(t, ctx, url, "", args...)
	}
	must := func(args ...string) string {
		t.Helper()
		out, errOut, code := cli(args...)
		if code != 0 {
			t.Fatalf("lattice %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	must("migrate")
	must("tenant", "create", "acme")
	must("user", "create", "--email", "ann@acme.example")
	must("user", "add-to-tenant", "--email", "ann@acme.example", "--tenant", "acme", "--role", "admin")
	var created struct{ Info struct{ ID string } }
	if err := json.Unmarshal([]byte(must("-o", "json", "token", "create", "--tenant", "acme", "--user", "ann@acme.example", "--name", "ci")), &created); err != nil {
		t.Fatal(err)
	}
	must("token", "revoke", "--tenant", "acme", created.Info.ID)
	var rec struct{ ID string }
	if err := json.Unmarshal([]byte(must("records", "create", "--tenant", "acme", "Account", "--data", `{"name":"Acme"}`)), &rec); err != nil {
		t.Fatal(err)
	}
	must("records", "update", "--tenant", "acme", "Account", rec.ID, "--data", `{"name":"Acme Corp"}`)

	// The server's consumer records the data changes.
	appURL, err := database.AppURL(url, migrations.AppRole)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := database.Open(ctx, appURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	c, err := audit.New(pool, slog.New(slog.DiscardHandler)).Consumer(outbox.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		n, err := c.RunOnce(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}

	type page struct {
		Entries []audit.Entry
		Next    string
	}
	list := func(args ...string) page {
		t.Helper()
		var p page
		out := must(append([]string{"-o", "json", "audit", "list", "--tenant", "acme"}, args...)...)
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("audit list %v: %v\n%s", args, err, out)
		}
		return p
	}
	p := list("--action", "token.*")
	if len(p.Entries) != 2 || p.Entries[0].Action != "token.revoked" || p.Entries[1].Action != "token.created" || p.Entries[0].Actor != "cli" {
		t.Fatalf("token entries: %+v", p.Entries)
	}
	p = list("--record", rec.ID)
	if len(p.Entries) != 2 || p.Entries[0].Action != "record.updated" || p.Entries[0].Actor != "cli" || !strings.Contains(string(p.Entries[0].Changes), "Acme Corp") {
		t.Fatalf("record history: %+v", p.Entries)
	}
	// Pages: walk the whole log one entry at a time.
	all := list("--limit", "1000")
	var walked []int64
	after := ""
	for range len(all.Entries) + 1 {
		args := []string{"--limit", "2"}
		if after != "" {
			args = append(args, "--after", after)
		}
		p := list(args...)
		for _, e := range p.Entries {
			walked = append(walked, e.ID)
		}
		if after = p.Next; after == "" {
			break
		}
	}
	if len(walked) != len(all.Entries) || len(walked) < 5 {
		t.Fatalf("walked %d entries in pages of 2, the log has %d", len(walked), len(all.Entries))
	}
	// The table shows the columns and the next page's cursor.
	out := must("audit", "list", "--tenant", "acme", "--limit", "1", "--object", "Account", "--from", "2000-01-01T00:00:00Z")
	if !strings.Contains(out, "ACTION") || !strings.Contains(out, "record.updated") || !strings.Contains(out, "more: --after ") || !strings.Contains(out, "name") {
		t.Fatalf("audit list table:\n%s", out)
	}

	// Export: to standard output and to a file.
	out = must("audit", "export", "--tenant", "acme", "--action", "record.*")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || !strings.Contains(lines[0], `"record.updated"`) {
		t.Fatalf("audit export:\n%s", out)
	}
	file := filepath.Join(t.TempDir(), "audit.ndjson")
	out = must("audit", "export", "--tenant", "acme", "--output", file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(data), "\n"); n != len(all.Entries) || !strings.Contains(out, `"entries"`) {
		t.Fatalf("export to a file wrote %d lines of %d; summary %s", n, len(all.Entries), out)
	}

	// Retention.
	if out := must("audit", "retention", "--tenant", "acme"); !strings.Contains(out, "8760h0m0s") {
		t.Fatalf("default retention:\n%s", out)
	}
	if out := must("audit", "retention", "--tenant", "acme", "--set", "720h"); !strings.Contains(out, "720h0m0s") {
		t.Fatalf("retention --set:\n%s", out)
	}
	if p := list("--action", "audit.retention_changed", "--actor", "cli"); len(p.Entries) != 1 {
		t.Fatalf("retention change entries: %+v", p.Entries)
	}

	// Refusals, with their exit codes.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"audit", "retention", "--tenant", "acme", "--set", "1h"}, 2, "retention"},
		{[]string{"audit", "list", "--tenant", "acme", "--limit", "5000"}, 2, "limit"},
		{[]string{"audit", "list", "--tenant", "acme", "--after", "bogus"}, 2, "invalid_cursor"},
		{[]string{"audit", "list", "--tenant", "acme", "--from", "yesterday"}, 2, "--from"},
		{[]string{"audit", "list", "--tenant", "acme", "--from", "2025-02-01T00:00:00Z", "--to", "2025-01-01T00:00:00Z"}, 2, "to"},
		{[]string{"audit", "export", "--tenant", "nosuch"}, 3, "nosuch"},
	} {
		_, errOut, code := cli(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("lattice %s: exit %d, %q; want exit %d mentioning %q", strings.Join(c.args, " "), code, errOut, c.code, c.want)
		}
	}
}
