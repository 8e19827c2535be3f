package transfer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
	"github.com/latticecrm/lattice/schema/transfer"
)

// seed fills a tenant with accounts and contacts that use every kind.
func seed(t *testing.T, e *env, tenant string) {
	t.Helper()
	accounts(t, e, tenant)
	data := "email,name,notes,phone,homepage,age,rating,share,budget,vip,born,lastSeen,level,topics,extra,account.website\n" +
		`ann@acme.example,"Ann, ""the"" first","two` + "\n" + `lines",+1 555 0100,https://ann.example,42,4.5,12.5,12.50 USD,true,1990-01-02,2026-11-23T18:00:00.5Z,senior,crm;bi,"{""a"":[1,{""b"":null}]}",https://acme.example` + "\n" +
		"bob@acme.example,Bob,,,,,,,,false,,,,,,https://globex.example\n" +
		"cy@acme.example,,,,,7,,,0 EUR,,,,,erp,\"\"\"text\"\"\",\n"
	if sum, report := importString(t, e, tenant, "Contact", data, transfer.ImportOptions{}); sum.Created != 3 {
		t.Fatalf("seed: %+v\n%s", sum, report)
	}
}

func export(t *testing.T, e *env, tenant, object string, opts transfer.ExportOptions) string {
	t.Helper()
	var out bytes.Buffer
	if opts.PageSize == 0 {
		opts.PageSize = 2 // several pages
	}
	if _, err := transfer.Export(context.Background(), e.store, tenant, object, &out, opts); err != nil {
		t.Fatalf("export %s: %v", object, err)
	}
	return out.String()
}

// values returns records' values by id, without the auto-number (which
// the target tenant numbers itself).
func values(t *testing.T, e *env, tenant, object string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, r := range all(t, e, tenant, object, "id") {
		v := map[string]any{}
		for k, x := range r.Values {
			if k != "number" {
				v[k] = x
			}
		}
		out[id] = v
	}
	return out
}

// Export then import into another tenant reproduces the values, in CSV
// and in NDJSON; ids are kept, so lookups between the files hold.
func TestExportImportRoundTrip(t *testing.T) {
	e := newEnv(t)
	src := e.tenant(t, "source", crmBundle)
	seed(t, e, src)
	for _, f := range []transfer.Format{transfer.CSV, transfer.NDJSON} {
		t.Run(string(f), func(t *testing.T) {
			dst := e.tenant(t, "copy-"+string(f), crmBundle)
			for _, object := range []string{"Account", "Contact"} {
				file := export(t, e, src, object, transfer.ExportOptions{Format: f})
				sum, report := importString(t, e, dst, object, file, transfer.ImportOptions{Format: f})
				if !sum.Committed || sum.Bad != 0 {
					t.Fatalf("re-import %s: %+v\n%s\n%s", object, sum, report, file)
				}
				want, got := values(t, e, src, object), values(t, e, dst, object)
				if !reflect.DeepEqual(want, got) {
					t.Fatalf("%s differs after the round trip:\n got %v\nwant %v\nfile:\n%s", object, got, want, file)
				}
			}
			// The copy numbers its contacts itself.
			for _, r := range all(t, e, dst, "Contact", "id") {
				if n, _ := r.Values["number"].(string); !strings.HasPrefix(n, "C-000") {
					t.Fatalf("auto-number %v", r.Values["number"])
				}
			}
		})
	}
}

// Columns can be chosen, lookups shown by a unique field of their target
// (and imported back the same way, without ids), filtered by a condition.
func TestExportColumnsAndWhere(t *testing.T) {
	e := newEnv(t)
	src := e.tenant(t, "source", crmBundle)
	seed(t, e, src)
	out := export(t, e, src, "Contact", transfer.ExportOptions{Columns: []string{"email", "account.website", "budget", "topics", "version", "tags"},
		Where: json.RawMessage(`{"field":"email","op":"ne","value":"bob@acme.example"}`)})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "email,account.website,budget,topics,version,tags" {
		t.Fatalf("export:\n%s", out)
	}
	for _, want := range []string{"ann@acme.example,https://acme.example,12.50 USD,crm;bi,1,", "cy@acme.example,,0 EUR,erp,1,"} {
		if !strings.Contains(out, want+"\n") {
			t.Fatalf("export lacks %q:\n%s", want, out)
		}
	}
	nd := export(t, e, src, "Contact", transfer.ExportOptions{Format: transfer.NDJSON, Columns: []string{"email", "account.website", "owner"}})
	if !strings.Contains(nd, `{"email":"bob@acme.example","account.website":"https://globex.example","owner":null}`+"\n") {
		t.Fatalf("ndjson:\n%s", nd)
	}
	// Imported by path into a tenant where the accounts have other ids.
	dst := e.tenant(t, "other", crmBundle)
	ids := accounts(t, e, dst)
	sum, report := importString(t, e, dst, "Contact", export(t, e, src, "Contact", transfer.ExportOptions{Columns: []string{"email", "account.website"}}), transfer.ImportOptions{})
	if sum.Created != 3 {
		t.Fatalf("%+v\n%s", sum, report)
	}
	got := all(t, e, dst, "Contact", "email")
	if got["ann@acme.example"].Values["account"] != ids["Acme"] || got["bob@acme.example"].Values["account"] != ids["Globex"] {
		t.Fatalf("lookups by path: %v", got)
	}
	var buf bytes.Buffer
	for _, c := range []struct {
		cols []string
		code string
	}{
		{[]string{"nope"}, "invalid_fields"},
		{[]string{"email", "email"}, "invalid_fields"},
		{[]string{"account.name"}, "invalid_lookup_ref"},
	} {
		if _, err := transfer.Export(context.Background(), e.store, src, "Contact", &buf, transfer.ExportOptions{Columns: c.cols}); errCode(err) != c.code {
			t.Errorf("columns %v: %v, want %s", c.cols, err, c.code)
		}
	}
	if _, err := transfer.Export(context.Background(), e.store, src, "Contact", &buf, transfer.ExportOptions{Where: json.RawMessage(`{"field":"nope","op":"eq","value":1}`)}); errCode(err) != "invalid_condition" {
		t.Errorf("bad condition: %v", err)
	}
}

// Deleted records are not exported; the default columns are the id, the
// fields, the owner, the version and the timestamps.
func TestExportDefaultColumnsAndLiveRecordsOnly(t *testing.T) {
	e := newEnv(t)
	src := e.tenant(t, "source", crmBundle)
	ids := accounts(t, e, src)
	if err := e.store.Delete(context.Background(), src, "u", "Account", ids["Globex"], nil); err != nil {
		t.Fatal(err)
	}
	out := export(t, e, src, "Account", transfer.ExportOptions{})
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[0] != "id,code,name,parent,website,owner,version,createdAt,updatedAt,createdBy,updatedBy" ||
		!strings.HasPrefix(lines[1], ids["Acme"]+",7,Acme,,https://acme.example,,1,") {
		t.Fatalf("export:\n%s", out)
	}
	var o *model.Object
	o, err := e.store.Object(context.Background(), src, "Account")
	if err != nil || len(transfer.DefaultColumns(o)) != 11 {
		t.Fatal(o, err)
	}
	_ = records.TopicCreated
}
