package introspection_test

import (
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/latticecrm/lattice/graphql/introspection"
)

// The tests here compare exact output, which also checks that object keys
// come in selection order.

func TestAliasesAndTypename(t *testing.T) {
	s := loadSchema(t)
	got := execute(t, s, `{
		meta: __schema {
			__typename
			q: queryType { __typename n: name kind }
			m: mutationType { name }
			directives { __typename n: name args { __typename name } }
		}
		t: __type(name: "Stage") {
			__typename
			name
			values: enumValues { __typename name }
			all: enumValues(includeDeprecated: true) { name deprecated: isDeprecated }
		}
		w: __type(name: "Contact") {
			fields { __typename name type { __typename kind ofType { __typename kind } } }
		}
	}`, nil)
	for _, want := range []string{
		`"meta":{"__typename":"__Schema","q":{"__typename":"__Type","n":"Query","kind":"OBJECT"},"m":{"name":"Mutation"},"directives":[{"__typename":"__Directive","n":"audit","args":[{"__typename":"__InputValue","name":"level"},`,
		`"t":{"__typename":"__Type","name":"Stage","values":[{"__typename":"__EnumValue","name":"LEAD"},{"__typename":"__EnumValue","name":"QUALIFIED"},{"__typename":"__EnumValue","name":"WON"},{"__typename":"__EnumValue","name":"CLOSED"}],"all":[{"name":"LEAD","deprecated":false},{"name":"QUALIFIED","deprecated":false},{"name":"WON","deprecated":false},{"name":"LOST","deprecated":true},{"name":"COLD","deprecated":true},{"name":"CLOSED","deprecated":false}]}`,
		`"w":{"fields":[{"__typename":"__Field","name":"id","type":{"__typename":"__Type","kind":"NON_NULL","ofType":{"__typename":"__Type","kind":"SCALAR"}}},{"__typename":"__Field","name":"name","type":{"__typename":"__Type","kind":"SCALAR","ofType":null}},`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks\n%s\ngot\n%s", want, got)
		}
	}
}

func TestFragmentsMergeFields(t *testing.T) {
	s := loadSchema(t)
	got := execute(t, s, `
		query {
			__type(name: "Account") {
				name
				... on __Type { kind name }
				...Fields
				... { interfaces { name } }
				fields { description }
			}
		}
		fragment Fields on __Type {
			fields { name }
			...Fields2
		}
		fragment Fields2 on __Type {
			fields { type { name } }
		}
	`, nil)
	// kind comes after name, which was selected first; fields merges the
	// selection sets from two fragments and the field itself, in order.
	want := `{"__type":{"name":"Account","kind":"OBJECT","fields":[` +
		`{"name":"id","type":{"name":null},"description":null},` +
		`{"name":"name","type":{"name":null},"description":null},` +
		`{"name":"contacts","type":{"name":null},"description":null},` +
		`{"name":"parent","type":{"name":"Account"},"description":null}],` +
		`"interfaces":[{"name":"Node"},{"name":"Party"}]}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRepeatedFragmentSpreads(t *testing.T) {
	s := loadSchema(t)
	got := execute(t, s, `
		{ __type(name: "Tag") { ...N ...N ... { ...N } } }
		fragment N on __Type { name }
	`, nil)
	if want := `{"__type":{"name":"Tag"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestSkipAndInclude(t *testing.T) {
	s := loadSchema(t)
	query := `
		query($yes: Boolean!, $no: Boolean!) {
			__type(name: "Tag") {
				a: name @skip(if: true)
				b: name @skip(if: false)
				c: name @include(if: true)
				d: name @include(if: false)
				e: name @skip(if: $yes)
				f: name @skip(if: $no)
				g: name @include(if: $yes)
				h: name @include(if: $no)
				i: name @include(if: $yes) @skip(if: $yes)
				j: name @include(if: $yes) @skip(if: $no)
				...K @include(if: $yes)
				...L @skip(if: $yes)
				... on __Type @include(if: $no) { m: name }
				... @skip(if: $no) { n: name }
			}
		}
		fragment K on __Type { k: name }
		fragment L on __Type { l: name }
	`
	got := execute(t, s, query, map[string]any{"yes": true, "no": false})
	want := `{"__type":{"b":"Tag","c":"Tag","f":"Tag","g":"Tag","j":"Tag","k":"Tag","n":"Tag"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// The same query with the variables swapped selects the other half of
	// the variable-controlled fields.
	got = execute(t, s, query, map[string]any{"yes": false, "no": true})
	want = `{"__type":{"b":"Tag","c":"Tag","e":"Tag","h":"Tag","l":"Tag","m":"Tag"}}`
	if got != want {
		t.Errorf("swapped: got  %s\nwant %s", got, want)
	}
}

// A field skipped in one place and selected in another with the same
// response key is still selected (the spec's CollectFields).
func TestSkipOneOfTwoSelections(t *testing.T) {
	s := loadSchema(t)
	got := execute(t, s, `{ __type(name: "Tag") { name @skip(if: true) ... { name } kind @skip(if: true) } }`, nil)
	if want := `{"__type":{"name":"Tag"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestDeprecatedFilteringWithVariables(t *testing.T) {
	s := loadSchema(t)
	query := `query($dep: Boolean) {
		q: __type(name: "Query") {
			fields(includeDeprecated: $dep) { name args(includeDeprecated: $dep) { name } }
		}
		f: __type(name: "ContactFilter") { inputFields(includeDeprecated: $dep) { name } }
		e: __type(name: "Stage") { enumValues(includeDeprecated: $dep) { name } }
	}`
	cases := []struct {
		vars map[string]any
		want string
	}{
		{map[string]any{"dep": false}, `{"q":{"fields":[{"name":"node","args":[{"name":"id"}]},{"name":"contacts","args":[{"name":"filter"},{"name":"first"},{"name":"stages"}]},{"name":"search","args":[{"name":"term"}]},{"name":"matrix","args":[]}]},` +
			`"f":{"inputFields":[{"name":"nameContains"},{"name":"stage"},{"name":"tags"},{"name":"createdAfter"},{"name":"range"},{"name":"note"}]},` +
			`"e":{"enumValues":[{"name":"LEAD"},{"name":"QUALIFIED"},{"name":"WON"},{"name":"CLOSED"}]}}`},
		{map[string]any{"dep": true}, `{"q":{"fields":[{"name":"node","args":[{"name":"id"}]},{"name":"contacts","args":[{"name":"filter"},{"name":"first"},{"name":"stages"},{"name":"legacyOrder"}]},{"name":"search","args":[{"name":"term"}]},{"name":"legacyContacts","args":[]},{"name":"matrix","args":[]}]},` +
			`"f":{"inputFields":[{"name":"nameContains"},{"name":"stage"},{"name":"tags"},{"name":"createdAfter"},{"name":"range"},{"name":"note"},{"name":"oldStage"}]},` +
			`"e":{"enumValues":[{"name":"LEAD"},{"name":"QUALIFIED"},{"name":"WON"},{"name":"LOST"},{"name":"COLD"},{"name":"CLOSED"}]}}`},
	}
	for _, c := range cases {
		if got := execute(t, s, query, c.vars); got != c.want {
			t.Errorf("vars %v:\ngot  %s\nwant %s", c.vars, got, c.want)
		}
	}
	// null and absent mean the default, false.
	for _, vars := range []map[string]any{{"dep": nil}, {}} {
		if got := execute(t, s, query, vars); got != cases[0].want {
			t.Errorf("vars %v:\ngot  %s\nwant %s", vars, got, cases[0].want)
		}
	}
}

func TestTypeByVariableAndUnknownType(t *testing.T) {
	s := loadSchema(t)
	query := `query($n: String!) { __type(name: $n) { kind name } }`
	if got, want := execute(t, s, query, map[string]any{"n": "Node"}), `{"__type":{"kind":"INTERFACE","name":"Node"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := execute(t, s, query, map[string]any{"n": "Nope"}), `{"__type":null}`; got != want {
		t.Errorf("unknown type: got %s, want %s", got, want)
	}
	// A wrapped type is not a name.
	if got, want := execute(t, s, query, map[string]any{"n": "[Tag]"}), `{"__type":null}`; got != want {
		t.Errorf("wrapped name: got %s, want %s", got, want)
	}
}

func TestJSONEscaping(t *testing.T) {
	s, err := gqlparser.LoadSchema(&ast.Source{Input: `
		"quote \" backslash \\ tab \t newline \n bell \u0007 <&> \u2028 é"
		schema { query: Query }
		type Query { a: Int }
	`})
	if err != nil {
		t.Fatal(err)
	}
	got := execute(t, s, `{ __schema { description } }`, nil)
	want := `{"__schema":{"description":"quote \" backslash \\ tab \t newline \n bell \u0007 <&> \u2028 é"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// A schema with only a query type: mutationType and subscriptionType are
// null and the built-in scalars are still listed.
func TestMinimalSchema(t *testing.T) {
	s, err := gqlparser.LoadSchema(&ast.Source{Input: `type Query { a: Int }`})
	if err != nil {
		t.Fatal(err)
	}
	got := execute(t, s, `{ __schema { description queryType { name fields { name } } mutationType { name } subscriptionType { name } types { name } } }`, nil)
	want := `{"__schema":{"description":null,"queryType":{"name":"Query","fields":[{"name":"a"}]},"mutationType":null,"subscriptionType":null,"types":[` +
		`{"name":"Boolean"},{"name":"Float"},{"name":"ID"},{"name":"Int"},{"name":"Query"},{"name":"String"},` +
		`{"name":"__Directive"},{"name":"__DirectiveLocation"},{"name":"__EnumValue"},{"name":"__Field"},{"name":"__InputValue"},{"name":"__Schema"},{"name":"__Type"},{"name":"__TypeKind"}]}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestErrors(t *testing.T) {
	s := loadSchema(t)
	doc, errs := gqlparser.LoadQueryWithRules(s, `{ node(id: "1") { id } __schema { types { name } } }`, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	node := doc.Operations[0].SelectionSet[0].(*ast.Field)
	schemaField := doc.Operations[0].SelectionSet[1].(*ast.Field)

	if _, err := introspection.Resolve(s, node, nil); err == nil || !strings.Contains(err.Error(), `introspection: node: root field "node" is not __schema or __type`) {
		t.Errorf("ordinary root field: err = %v", err)
	}
	if _, err := introspection.Resolve(nil, schemaField, nil); err == nil || !strings.Contains(err.Error(), "nil schema") {
		t.Errorf("nil schema: err = %v", err)
	}
	if _, err := introspection.Resolve(s, nil, nil); err == nil || !strings.Contains(err.Error(), "nil field") {
		t.Errorf("nil field: err = %v", err)
	}

	// Unvalidated input: a field that __Type does not have, __type
	// without a name. (Fragments and @skip/@include are collected by
	// graphql/selection, which takes validated documents.)
	unknown := &ast.Field{Alias: "__schema", Name: "__schema", SelectionSet: ast.SelectionSet{
		&ast.Field{Alias: "types", Name: "types", SelectionSet: ast.SelectionSet{
			&ast.Field{Alias: "bogus", Name: "bogus"},
		}},
	}}
	if _, err := introspection.Resolve(s, unknown, nil); err == nil || !strings.Contains(err.Error(), `introspection: __schema: types: 0: bogus: no field "bogus" on __Type`) {
		t.Errorf("unknown field: err = %v", err)
	}
	noName := &ast.Field{Alias: "__type", Name: "__type"}
	if _, err := introspection.Resolve(s, noName, nil); err == nil || !strings.Contains(err.Error(), "argument name is <nil>, want a string") {
		t.Errorf("__type without name: err = %v", err)
	}
}
