package dataapi

import (
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/templates"
)

var update = flag.Bool("update", false, "rewrite golden files")

// crmModel compiles the CRM template without a database.
func crmModel(t testing.TB) *model.Model {
	t.Helper()
	v, err := model.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	b, err := v.ParseBundle(templates.CRM())
	if err != nil {
		t.Fatal(err)
	}
	p, err := model.Prepare(nil, b, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Compile(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The SDL of the CRM template is a golden file, so any change to the
// generated schema shows up in review (go test -run TestCRMSchemaGolden -update).
func TestCRMSchemaGolden(t *testing.T) {
	s, err := BuildSchema(crmModel(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "testdata/crm.graphql"
	if *update {
		if err := os.WriteFile(golden, []byte(s.SDL), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != s.SDL {
		t.Fatalf("generated SDL differs from %s; run go test -run TestCRMSchemaGolden -update and review the diff", golden)
	}
	for _, name := range []string{"Account", "AccountConnection", "AccountFilter", "Query", "Mutation", "DealStage"} {
		if s.AST.Types[name] == nil {
			t.Errorf("type %s missing", name)
		}
	}
	if !strings.Contains(s.SDL, "children(where: AccountFilter") {
		t.Error("Account's self relation children is missing")
	}
}

// The executor does not implement @defer, so the schema must not offer
// it: introspection would advertise it (the SDL download does not), and
// validation would let a client believe it was honoured.
func TestSchemaOffersNoDefer(t *testing.T) {
	s, err := BuildSchema(crmModel(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.AST.Directives["defer"] != nil {
		t.Error("the schema declares @defer")
	}
	for _, name := range []string{"skip", "include", "deprecated", "specifiedBy"} {
		if s.AST.Directives[name] == nil {
			t.Errorf("the schema lacks @%s", name)
		}
	}
	doc, errs := New(nil, nil, nil, nil, Options{}).document(s, `{ ... on Query @defer { __typename } }`)
	if doc != nil || len(errs) == 0 || !strings.Contains(errs[0].Message, "defer") {
		t.Errorf("a document using @defer validated: %v", errs)
	}
}
