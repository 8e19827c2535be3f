package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/dbtest"
)

// TestImportExportFromTheCLI imports contacts from a CSV file with bad
// rows (skip-bad-rows, then all-or-nothing), deals from standard input
// with a column mapping and lookups by e-mail, upserts from NDJSON, and
// exports to standard output and to a file that imports into another
// tenant.
func TestImportExportFromTheCLI(t *testing.T) {
	url := dbtest.NewEmpty(t)
	ctx := t.Context()
	dir := t.TempDir()
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
	summary := func(out string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("summary is not JSON: %v\n%s", err, out)
		}
		return m
	}
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	count := func(tenant, object string) int {
		t.Helper()
		out := must("", "records", "export", "--tenant", tenant, object, "--fields", "id")
		return strings.Count(out, "\n") - 1
	}
	must("", "migrate")
	must("", "tenant", "create", "acme")
	must("", "tenant", "create", "beta")

	contacts := write("contacts.csv", "email,firstName,lastName,jobLevel,birthday\n"+
		"ann@acme.example,Ann,Lee,executive,1980-05-06\n"+
		"bob@acme.example,Bob,,manager,\n"+ // lastName is required
		"cy@acme.example,Cy,Tan,boss,1990-02-30\n"+ // enum, date
		"dee@acme.example,Dee,Ray,staff,\n")
	report := filepath.Join(dir, "report.csv")
	// All-or-nothing (the default) refuses the file and writes nothing.
	out, errOut, code := cli("", "records", "import", "--tenant", "acme", "Contact", contacts, "--errors", report)
	if code != 2 || !strings.Contains(errOut, "import_rejected") || summary(out)["committed"] != false {
		t.Fatalf("all-or-nothing: exit %d\n%s\n%s", code, out, errOut)
	}
	if n := count("acme", "Contact"); n != 0 {
		t.Fatalf("%d contacts after a rejected import", n)
	}
	// Skip-bad-rows writes the good rows and reports the bad ones.
	out, errOut, code = cli("", "records", "import", "--tenant", "acme", "Contact", contacts, "--mode", "skip-bad-rows", "--errors", report, "--batch", "2")
	s := summary(out)
	if code != 0 || s["created"] != float64(2) || s["bad"] != float64(2) || s["committed"] != true {
		t.Fatalf("skip-bad-rows: exit %d\n%s\n%s", code, out, errOut)
	}
	if errOut != "" {
		t.Fatalf("stderr is not a terminal, so no progress bar, got:\n%q", errOut)
	}
	f, err := os.Open(report)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, l := range lines {
		got = append(got, strings.Join(l[:5], "|"))
	}
	want := "row|line|field|rule|value\n2|3|lastName|required|\n3|4|birthday|format|1990-02-30\n3|4|jobLevel|enum|boss"
	if strings.Join(got, "\n") != want {
		t.Fatalf("report:\n%s\nwant:\n%s", strings.Join(got, "\n"), want)
	}
	// Deals from standard input, columns renamed, the contact by e-mail.
	deals := "Title,Buyer,amount,Notes\nBig deal,ann@acme.example,1000 USD,skip me\nSmall deal,dee@acme.example,,\n"
	out = must(deals, "records", "import", "--tenant", "acme", "Deal", "-", "--map", "Title=name,Buyer=contact.email", "--map", "Notes=", "--quiet")
	if s := summary(out); s["created"] != float64(2) {
		t.Fatalf("deals: %s", out)
	}
	exported := must("", "records", "export", "--tenant", "acme", "Deal", "--fields", "name,contact.email,amount,stage")
	for _, want := range []string{"name,contact.email,amount,stage\n", "Big deal,ann@acme.example,1000 USD,prospecting\n", "Small deal,dee@acme.example,,prospecting\n"} {
		if !strings.Contains(exported, want) {
			t.Fatalf("deal export lacks %q:\n%s", want, exported)
		}
	}
	// Upsert from NDJSON (the format follows the extension).
	upd := write("update.ndjson", `{"email":"ann@acme.example","title":"CEO"}`+"\n"+`{"email":"eve@acme.example","lastName":"Eve"}`+"\n")
	out = must("", "records", "import", "--tenant", "acme", "Contact", upd, "--upsert-on", "email")
	if s := summary(out); s["updated"] != float64(1) || s["created"] != float64(1) || s["format"] != "ndjson" {
		t.Fatalf("upsert: %s", out)
	}
	// Export to a file (a global LATTICE_OUTPUT is not a file name) and
	// import it into another tenant.
	t.Setenv("LATTICE_OUTPUT", "json")
	if out := must("", "records", "export", "--tenant", "acme", "Contact", "--format", "ndjson"); strings.Count(out, "\n") != 3 || !strings.Contains(out, `"title":"CEO"`) {
		t.Fatalf("export to stdout:\n%s", out)
	}
	file := filepath.Join(dir, "contacts.ndjson")
	out = must("", "records", "export", "--tenant", "acme", "Contact", "--output", file, "--where", `{"field":"lastName","op":"ne","value":"Eve"}`)
	if s := summary(out); s["records"] != float64(2) || s["format"] != "ndjson" {
		t.Fatalf("export to a file: %s", out)
	}
	out = must("", "records", "import", "--tenant", "beta", "Contact", file)
	if s := summary(out); s["created"] != float64(2) || s["committed"] != true {
		t.Fatalf("import into beta: %s", out)
	}
	if a, b := must("", "records", "export", "--tenant", "acme", "Contact", "--fields", "id,email,title,jobLevel,birthday", "--where", `{"field":"lastName","op":"ne","value":"Eve"}`),
		must("", "records", "export", "--tenant", "beta", "Contact", "--fields", "id,email,title,jobLevel,birthday"); a != b {
		t.Fatalf("beta differs from acme:\n%s\n%s", a, b)
	}
	// Usage errors.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"records", "import", "--tenant", "acme", "Contact", contacts, "--mode", "some"}, "--mode"},
		{[]string{"records", "import", "--tenant", "acme", "Contact", filepath.Join(dir, "missing.csv")}, "missing.csv"},
		{[]string{"records", "import", "--tenant", "acme", "Contact", contacts, "--map", "oops"}, "invalid_map"},
		{[]string{"records", "export", "--tenant", "acme", "Contact", "--format", "xml"}, "--format"},
		{[]string{"records", "export", "--tenant", "acme", "Contact", "--fields", "nope"}, "invalid_fields"},
	} {
		if _, errOut, code := cli("", c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("lattice %s: exit %d, stderr %q; want exit 2 mentioning %q", strings.Join(c.args, " "), code, errOut, c.want)
		}
	}
}
