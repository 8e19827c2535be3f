package introspection_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/latticecrm/lattice/graphql/introspection"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// loadSchema loads testdata/schema.graphql.
func loadSchema(t *testing.T) *ast.Schema {
	t.Helper()
	sdl, err := os.ReadFile(filepath.Join("testdata", "schema.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := gqlparser.LoadSchema(&ast.Source{Name: "schema.graphql", Input: string(sdl)})
	if err != nil {
		t.Fatalf("load schema: %v", err)
	}
	return s
}

// execute validates query, coerces vars and resolves every root field with
// Resolve, returning the data object with its keys in selection order.
func execute(t *testing.T, s *ast.Schema, query string, vars map[string]any) string {
	t.Helper()
	doc, errs := gqlparser.LoadQueryWithRules(s, query, nil)
	if len(errs) > 0 {
		t.Fatalf("validate query: %v", errs)
	}
	op := doc.Operations[0]
	coerced, err := validator.VariableValues(s, op, vars)
	if err != nil {
		t.Fatalf("coerce variables: %v", err)
	}
	var out bytes.Buffer
	out.WriteByte('{')
	for i, sel := range op.SelectionSet {
		f, ok := sel.(*ast.Field)
		if !ok {
			t.Fatalf("root selection %T: the tests select root fields only", sel)
		}
		data, err := introspection.Resolve(s, f, coerced)
		if err != nil {
			t.Fatalf("Resolve(%s): %v", f.Alias, err)
		}
		if !json.Valid(data) {
			t.Fatalf("Resolve(%s) returned invalid JSON: %s", f.Alias, data)
		}
		if i > 0 {
			out.WriteByte(',')
		}
		out.WriteString(`"` + f.Alias + `":`)
		out.Write(data)
	}
	out.WriteByte('}')
	return out.String()
}

// The shapes of the standard introspection query's result. Pointers and
// slices tell null (nil) from a value.
type typeRef struct {
	Kind   string   `json:"kind"`
	Name   *string  `json:"name"`
	OfType *typeRef `json:"ofType"`
}

// String prints the reference as GraphQL type syntax, checking on the way
// that wrapping types have no name and named types no ofType.
func (r *typeRef) String() string {
	switch {
	case r == nil:
		return "<nil>"
	case r.Kind == "NON_NULL" && r.Name == nil:
		return r.OfType.String() + "!"
	case r.Kind == "LIST" && r.Name == nil:
		return "[" + r.OfType.String() + "]"
	case r.Kind != "NON_NULL" && r.Kind != "LIST" && r.Name != nil && r.OfType == nil:
		return *r.Name
	}
	b, _ := json.Marshal(r)
	return "malformed:" + string(b)
}

type inputValue struct {
	Name              string  `json:"name"`
	Description       *string `json:"description"`
	Type              typeRef `json:"type"`
	DefaultValue      *string `json:"defaultValue"`
	IsDeprecated      bool    `json:"isDeprecated"`
	DeprecationReason *string `json:"deprecationReason"`
}

type fieldInfo struct {
	Name              string       `json:"name"`
	Description       *string      `json:"description"`
	Args              []inputValue `json:"args"`
	Type              typeRef      `json:"type"`
	IsDeprecated      bool         `json:"isDeprecated"`
	DeprecationReason *string      `json:"deprecationReason"`
}

type enumValue struct {
	Name              string  `json:"name"`
	Description       *string `json:"description"`
	IsDeprecated      bool    `json:"isDeprecated"`
	DeprecationReason *string `json:"deprecationReason"`
}

type fullType struct {
	Kind           string       `json:"kind"`
	Name           string       `json:"name"`
	Description    *string      `json:"description"`
	SpecifiedByURL *string      `json:"specifiedByURL"`
	IsOneOf        *bool        `json:"isOneOf"`
	Fields         []fieldInfo  `json:"fields"`
	InputFields    []inputValue `json:"inputFields"`
	Interfaces     []typeRef    `json:"interfaces"`
	EnumValues     []enumValue  `json:"enumValues"`
	PossibleTypes  []typeRef    `json:"possibleTypes"`
}

type directive struct {
	Name         string       `json:"name"`
	Description  *string      `json:"description"`
	IsRepeatable bool         `json:"isRepeatable"`
	Locations    []string     `json:"locations"`
	Args         []inputValue `json:"args"`
}

type schemaInfo struct {
	Description      *string     `json:"description"`
	QueryType        *typeRef    `json:"queryType"`
	MutationType     *typeRef    `json:"mutationType"`
	SubscriptionType *typeRef    `json:"subscriptionType"`
	Types            []fullType  `json:"types"`
	Directives       []directive `json:"directives"`
}

// fullIntrospection runs testdata/introspection.graphql and returns the raw
// data object.
func fullIntrospection(t *testing.T, s *ast.Schema) string {
	t.Helper()
	query, err := os.ReadFile(filepath.Join("testdata", "introspection.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	return execute(t, s, string(query), nil)
}

// decodeStrict decodes data into v, failing on keys v does not declare.
func decodeStrict(t *testing.T, data string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
}

func typeNamed(t *testing.T, si *schemaInfo, name string) *fullType {
	t.Helper()
	for i := range si.Types {
		if si.Types[i].Name == name {
			return &si.Types[i]
		}
	}
	t.Fatalf("no type %s in __schema.types", name)
	return nil
}

func fieldNamed(t *testing.T, ty *fullType, name string) *fieldInfo {
	t.Helper()
	for i := range ty.Fields {
		if ty.Fields[i].Name == name {
			return &ty.Fields[i]
		}
	}
	t.Fatalf("no field %s on %s", name, ty.Name)
	return nil
}

func inputNamed(t *testing.T, values []inputValue, name string) *inputValue {
	t.Helper()
	for i := range values {
		if values[i].Name == name {
			return &values[i]
		}
	}
	t.Fatalf("no input value %s", name)
	return nil
}

func directiveNamed(t *testing.T, si *schemaInfo, name string) *directive {
	t.Helper()
	for i := range si.Directives {
		if si.Directives[i].Name == name {
			return &si.Directives[i]
		}
	}
	t.Fatalf("no directive @%s", name)
	return nil
}

func str(p *string) string {
	if p == nil {
		return "<null>"
	}
	return *p
}

func names[T any](list []T, name func(T) string) []string {
	out := []string{}
	for _, v := range list {
		out = append(out, name(v))
	}
	return out
}

func refNames(refs []typeRef) []string {
	return names(refs, func(r typeRef) string { return r.String() })
}

func TestFullQuerySchema(t *testing.T) {
	s := loadSchema(t)
	var data struct {
		Schema schemaInfo `json:"__schema"`
	}
	decodeStrict(t, fullIntrospection(t, s), &data)
	si := &data.Schema

	if got := str(si.Description); got != "A CRM tenant's data API, cut down for the introspection tests." {
		t.Errorf("description = %q", got)
	}
	if got := si.QueryType.String(); got != "Query" || si.QueryType.Kind != "OBJECT" {
		t.Errorf("queryType = %s %s", si.QueryType.Kind, got)
	}
	if got := si.MutationType.String(); got != "Mutation" {
		t.Errorf("mutationType = %s", got)
	}
	if si.SubscriptionType != nil {
		t.Errorf("subscriptionType = %s, want null", si.SubscriptionType)
	}

	// Every type of the schema, built-in scalars and introspection types
	// included, sorted by name.
	var want []string
	for name := range s.Types {
		want = append(want, name)
	}
	slices.Sort(want)
	got := names(si.Types, func(ty fullType) string { return ty.Name })
	if !slices.Equal(got, want) {
		t.Errorf("types = %v\nwant %v", got, want)
	}
	for _, name := range []string{"Boolean", "Float", "ID", "Int", "String", "__Schema", "__Type", "__TypeKind", "__Directive", "__DirectiveLocation", "__EnumValue", "__Field", "__InputValue"} {
		if !slices.Contains(got, name) {
			t.Errorf("types lack %s", name)
		}
	}
	if k := typeNamed(t, si, "__TypeKind").Kind; k != "ENUM" {
		t.Errorf("__TypeKind kind = %s", k)
	}
}

func TestFullQueryObjectsAndWrappers(t *testing.T) {
	s := loadSchema(t)
	var data struct {
		Schema schemaInfo `json:"__schema"`
	}
	decodeStrict(t, fullIntrospection(t, s), &data)
	si := &data.Schema

	query := typeNamed(t, si, "Query")
	if got := names(query.Fields, func(f fieldInfo) string { return f.Name }); !slices.Equal(got, []string{"node", "contacts", "search", "legacyContacts", "matrix"}) {
		t.Errorf("Query fields = %v (definition order, deprecated included, no __schema/__type)", got)
	}
	for field, want := range map[string]string{
		"node":           "Node",
		"contacts":       "[Contact!]!",
		"search":         "[SearchResult!]!",
		"legacyContacts": "[Contact]",
		"matrix":         "[[Int!]]!",
	} {
		if got := fieldNamed(t, query, field).Type.String(); got != want {
			t.Errorf("Query.%s type = %s, want %s", field, got, want)
		}
	}
	matrix := fieldNamed(t, query, "matrix").Type
	if matrix.Kind != "NON_NULL" || matrix.OfType.Kind != "LIST" || matrix.OfType.OfType.Kind != "LIST" ||
		matrix.OfType.OfType.OfType.Kind != "NON_NULL" || matrix.OfType.OfType.OfType.OfType.Kind != "SCALAR" {
		t.Errorf("matrix kinds wrong: %s", matrix.String())
	}
	if got := str(fieldNamed(t, query, "node").Description); got != "Any record by its global ID." {
		t.Errorf("Query.node description = %q", got)
	}
	if d := fieldNamed(t, query, "search").Description; d != nil {
		t.Errorf("Query.search description = %q, want null", *d)
	}

	contact := typeNamed(t, si, "Contact")
	if contact.Kind != "OBJECT" {
		t.Errorf("Contact kind = %s", contact.Kind)
	}
	if got := str(contact.Description); got != `A person at a company: <b>bold</b> & "quoted" — ünïcode.` {
		t.Errorf("Contact description = %q", got)
	}
	if got := refNames(contact.Interfaces); !slices.Equal(got, []string{"Node"}) || contact.Interfaces[0].Kind != "INTERFACE" {
		t.Errorf("Contact interfaces = %v", contact.Interfaces)
	}
	if got := fieldNamed(t, contact, "tags").Type.String(); got != "[Tag!]!" {
		t.Errorf("Contact.tags type = %s", got)
	}
	if contact.PossibleTypes != nil || contact.EnumValues != nil || contact.InputFields != nil || contact.IsOneOf != nil || contact.SpecifiedByURL != nil {
		t.Errorf("Contact has non-null fields of other kinds: %+v", contact)
	}

	account := typeNamed(t, si, "Account")
	if got := refNames(account.Interfaces); !slices.Equal(got, []string{"Node", "Party"}) {
		t.Errorf("Account interfaces = %v", got)
	}
	tag := typeNamed(t, si, "Tag")
	if tag.Interfaces == nil || len(tag.Interfaces) != 0 {
		t.Errorf("Tag interfaces = %v, want []", tag.Interfaces)
	}
}

func TestFullQueryAbstractTypes(t *testing.T) {
	s := loadSchema(t)
	var data struct {
		Schema schemaInfo `json:"__schema"`
	}
	decodeStrict(t, fullIntrospection(t, s), &data)
	si := &data.Schema

	node := typeNamed(t, si, "Node")
	if node.Kind != "INTERFACE" {
		t.Errorf("Node kind = %s", node.Kind)
	}
	if got := str(node.Description); got != "Something with a global ID.\nSpans two lines." {
		t.Errorf("Node description = %q", got)
	}
	// Object types only (not the interface Party), in definition order.
	if got := refNames(node.PossibleTypes); !slices.Equal(got, []string{"Contact", "Account"}) {
		t.Errorf("Node possibleTypes = %v", got)
	}
	if node.PossibleTypes[0].Kind != "OBJECT" {
		t.Errorf("Node possibleTypes[0] kind = %s", node.PossibleTypes[0].Kind)
	}
	if node.Interfaces == nil || len(node.Interfaces) != 0 {
		t.Errorf("Node interfaces = %v, want []", node.Interfaces)
	}
	party := typeNamed(t, si, "Party")
	if got := refNames(party.Interfaces); !slices.Equal(got, []string{"Node"}) {
		t.Errorf("Party interfaces = %v", got)
	}
	if got := refNames(party.PossibleTypes); !slices.Equal(got, []string{"Account"}) {
		t.Errorf("Party possibleTypes = %v", got)
	}

	union := typeNamed(t, si, "SearchResult")
	if union.Kind != "UNION" || union.Fields != nil || union.Interfaces != nil {
		t.Errorf("SearchResult = %+v", union)
	}
	if got := refNames(union.PossibleTypes); !slices.Equal(got, []string{"Contact", "Account", "Tag"}) {
		t.Errorf("SearchResult possibleTypes = %v", got)
	}
}

func TestFullQueryEnumsAndScalars(t *testing.T) {
	s := loadSchema(t)
	var data struct {
		Schema schemaInfo `json:"__schema"`
	}
	decodeStrict(t, fullIntrospection(t, s), &data)
	si := &data.Schema

	stage := typeNamed(t, si, "Stage")
	if stage.Kind != "ENUM" || stage.Fields != nil || stage.PossibleTypes != nil {
		t.Errorf("Stage = %+v", stage)
	}
	var got []string
	for _, v := range stage.EnumValues {
		got = append(got, v.Name+" "+str(v.Description)+" "+map[bool]string{true: "deprecated", false: "current"}[v.IsDeprecated]+" "+str(v.DeprecationReason))
	}
	want := []string{
		"LEAD <null> current <null>",
		"QUALIFIED Worth a call. current <null>",
		"WON <null> current <null>",
		"LOST <null> deprecated Use CLOSED.",
		"COLD <null> deprecated No longer supported",
		"CLOSED <null> current <null>",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Stage enumValues =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	dateTime := typeNamed(t, si, "DateTime")
	if dateTime.Kind != "SCALAR" || str(dateTime.SpecifiedByURL) != "https://tools.ietf.org/html/rfc3339" {
		t.Errorf("DateTime = %s specifiedByURL %s", dateTime.Kind, str(dateTime.SpecifiedByURL))
	}
	if dateTime.Fields != nil || dateTime.Interfaces != nil || dateTime.EnumValues != nil || dateTime.IsOneOf != nil {
		t.Errorf("DateTime has non-null fields of other kinds: %+v", dateTime)
	}
	for _, name := range []string{"Email", "String"} {
		if u := typeNamed(t, si, name).SpecifiedByURL; u != nil {
			t.Errorf("%s specifiedByURL = %q, want null", name, *u)
		}
	}
	if d := typeNamed(t, si, "Email").Description; d != nil {
		t.Errorf("Email description = %q, want null", *d)
	}
}

func TestFullQueryInputValues(t *testing.T) {
	s := loadSchema(t)
	var data struct {
		Schema schemaInfo `json:"__schema"`
	}
	decodeStrict(t, fullIntrospection(t, s), &data)
	si := &data.Schema

	filter := typeNamed(t, si, "ContactFilter")
	if filter.Kind != "INPUT_OBJECT" || filter.Fields != nil || filter.Interfaces != nil {
		t.Errorf("ContactFilter = %+v", filter)
	}
	if filter.IsOneOf == nil || *filter.IsOneOf {
		t.Errorf("ContactFilter isOneOf = %v, want false", filter.IsOneOf)
	}
	for name, want := range map[string]string{
		"nameContains": `"a\"b"`,
		"stage":        "LEAD",
		"tags":         `["vip", "new"]`,
		"createdAfter": "<null>",
		"range":        "{ min: 1, max: 10 }",
		"note":         `"block"`,
		"oldStage":     "<null>",
	} {
		if got := str(inputNamed(t, filter.InputFields, name).DefaultValue); got != want {
			t.Errorf("ContactFilter.%s defaultValue = %s, want %s", name, got, want)
		}
	}
	old := inputNamed(t, filter.InputFields, "oldStage")
	if !old.IsDeprecated || str(old.DeprecationReason) != "gone" || str(old.Description) != "Superseded by stage." {
		t.Errorf("ContactFilter.oldStage = %+v", old)
	}
	if tags := inputNamed(t, filter.InputFields, "tags"); tags.Type.String() != "[String!]" || tags.IsDeprecated || tags.DeprecationReason != nil {
		t.Errorf("ContactFilter.tags = %+v", tags)
	}

	ref := typeNamed(t, si, "ContactRef")
	if ref.IsOneOf == nil || !*ref.IsOneOf {
		t.Errorf("ContactRef isOneOf = %v, want true", ref.IsOneOf)
	}

	contacts := fieldNamed(t, typeNamed(t, si, "Query"), "contacts")
	if got := names(contacts.Args, func(a inputValue) string { return a.Name + ": " + a.Type.String() + " = " + str(a.DefaultValue) }); !slices.Equal(got, []string{
		"filter: ContactFilter = <null>",
		"first: Int = 20",
		"stages: [Stage!] = [LEAD, QUALIFIED]",
		"legacyOrder: String = <null>",
	}) {
		t.Errorf("Query.contacts args = %v", got)
	}
	if a := inputNamed(t, contacts.Args, "legacyOrder"); !a.IsDeprecated || str(a.DeprecationReason) != "Use `filter`." {
		t.Errorf("legacyOrder = %+v", a)
	}
	if got := str(inputNamed(t, contacts.Args, "filter").Description); got != "Only the contacts that match." {
		t.Errorf("filter description = %q", got)
	}
	email := fieldNamed(t, typeNamed(t, si, "Contact"), "email")
	if !email.IsDeprecated || str(email.DeprecationReason) != "No longer supported" {
		t.Errorf("Contact.email = %+v", email)
	}
}

func TestFullQueryDirectives(t *testing.T) {
	s := loadSchema(t)
	var data struct {
		Schema schemaInfo `json:"__schema"`
	}
	decodeStrict(t, fullIntrospection(t, s), &data)
	si := &data.Schema

	got := names(si.Directives, func(d directive) string { return d.Name })
	if !slices.IsSorted(got) {
		t.Errorf("directives not sorted: %v", got)
	}
	for _, name := range []string{"audit", "deprecated", "include", "oneOf", "skip", "specifiedBy"} {
		if !slices.Contains(got, name) {
			t.Errorf("directives lack @%s: %v", name, got)
		}
	}

	audit := directiveNamed(t, si, "audit")
	if !audit.IsRepeatable || str(audit.Description) != "Records who changed what." {
		t.Errorf("@audit = %+v", audit)
	}
	if !slices.Equal(audit.Locations, []string{"FIELD_DEFINITION", "OBJECT"}) {
		t.Errorf("@audit locations = %v", audit.Locations)
	}
	if got := names(audit.Args, func(a inputValue) string { return a.Name + ": " + a.Type.String() + " = " + str(a.DefaultValue) }); !slices.Equal(got, []string{"level: Int = 1", `note: String = "none"`}) {
		t.Errorf("@audit args = %v", got)
	}
	skip := directiveNamed(t, si, "skip")
	if skip.IsRepeatable || !slices.Equal(skip.Locations, []string{"FIELD", "FRAGMENT_SPREAD", "INLINE_FRAGMENT"}) {
		t.Errorf("@skip = %+v", skip)
	}
	if arg := inputNamed(t, skip.Args, "if"); arg.Type.String() != "Boolean!" || arg.DefaultValue != nil {
		t.Errorf("@skip(if:) = %+v", arg)
	}
	deprecated := directiveNamed(t, si, "deprecated")
	if got := str(inputNamed(t, deprecated.Args, "reason").DefaultValue); got != `"No longer supported"` {
		t.Errorf("@deprecated(reason:) default = %s", got)
	}
}

// TestGolden compares the whole result of the standard query with
// testdata/full.golden.json; run with -update to rewrite it after a change.
func TestGolden(t *testing.T) {
	s := loadSchema(t)
	var got bytes.Buffer
	if err := json.Indent(&got, []byte(fullIntrospection(t, s)), "", "  "); err != nil {
		t.Fatal(err)
	}
	got.WriteByte('\n')
	path := filepath.Join("testdata", "full.golden.json")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		gotLines, wantLines := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(gotLines) && i < len(wantLines); i++ {
			if gotLines[i] != wantLines[i] {
				t.Fatalf("output differs from %s at line %d:\n got: %s\nwant: %s\n(run go test -update if the change is intended)", path, i+1, gotLines[i], wantLines[i])
			}
		}
		t.Fatalf("output differs from %s in length: %d lines, want %d (run go test -update if the change is intended)", path, len(gotLines), len(wantLines))
	}
}
