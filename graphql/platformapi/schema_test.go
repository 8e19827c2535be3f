package platformapi

import "testing"

// The SDL matches the resolvers: graph-gophers checks every field's
// resolver and its types when it parses the schema, as New does at start-up.
func TestSchemaMatchesResolvers(t *testing.T) {
	if _, err := ParseSchema(&Resolver{}); err != nil {
		t.Fatal(err)
	}
}
