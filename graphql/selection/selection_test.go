package selection

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

const schemaSDL = `
interface Node { id: ID! }
type Account implements Node { id: ID! name: String parent: Account }
type Contact implements Node { id: ID! email: String }
type Query { node(id: ID!): Node account: Account }
`

// keys renders collected fields as "key(sub,keys)" for comparison.
func keys(fs []*ast.Field, vars map[string]any) string {
	var parts []string
	for _, f := range fs {
		k := f.Alias
		if len(f.SelectionSet) > 0 {
			k += "(" + keys(Collect(f.SelectionSet, f.Definition.Type.Name(), nil, vars), vars) + ")"
		}
		parts = append(parts, k)
	}
	return strings.Join(parts, ",")
}

func TestCollect(t *testing.T) {
	s := gqlparser.MustLoadSchema(&ast.Source{Input: schemaSDL})
	isNode := func(cond string) bool { return cond == "Node" }
	for _, tc := range []struct {
		name, query string
		vars        map[string]any
		typeName    string
		implements  func(string) bool
		want        string
	}{
		{"plain", `{ account { id name } }`, nil, "Query", nil, "account(id,name)"},
		{"aliases merge in first-seen order", `{ a: account { name } account { id } a: account { id } }`, nil, "Query", nil, "a(name,id),account(id)"},
		{"skip and include literals", `{ account { id @skip(if: true) name @include(if: false) parent @include(if: true) { id } } }`, nil, "Query", nil, "account(parent(id))"},
		{"skip and include variables", `query($s: Boolean!, $i: Boolean!) { account { id @skip(if: $s) name @include(if: $i) } }`,
			map[string]any{"s": false, "i": false}, "Query", nil, "account(id)"},
		{"fragments once", `{ account { ...F ...F name } } fragment F on Account { id }`, nil, "Query", nil, "account(id,name)"},
		{"skipped spread", `{ account { ...F @skip(if: true) name } } fragment F on Account { id }`, nil, "Query", nil, "account(name)"},
		{"type conditions", `{ node(id: "1") { id ... on Account { name } ... on Contact { email } } }`, nil, "Query", nil, "node(id)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(s, tc.query)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			got := keys(Collect(doc.Operations[0].SelectionSet, tc.typeName, tc.implements, tc.vars), tc.vars)
			if got != tc.want {
				t.Errorf("Collect = %s, want %s", got, tc.want)
			}
		})
	}

	// A Node's selection, collected for each concrete type.
	doc, errs := gqlparser.LoadQuery(s, `{ node(id: "1") { id ... on Node { __typename } ... on Account { name } ... on Contact { email } } }`)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	set := doc.Operations[0].SelectionSet[0].(*ast.Field).SelectionSet
	for typeName, want := range map[string]string{"Account": "id,__typename,name", "Contact": "id,__typename,email"} {
		var got []string
		for _, f := range Collect(set, typeName, isNode, nil) {
			got = append(got, f.Alias)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("Collect for %s = %v, want %s", typeName, got, want)
		}
	}
}
