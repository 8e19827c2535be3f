package introspection

import (
	"strings"

	"github.com/vektah/gqlparser/v2/ast"
)

// printLiteral returns a default value as GraphQL source text, laid out as
// graphql-js prints it: [1, 2], { a: 1 }, and block strings as ordinary
// quoted strings. The literal is printed as written in the schema, not
// re-coerced to its type (graphql-js would print the Float 1.50 as 1.5).
func printLiteral(v *ast.Value) string {
	var b strings.Builder
	writeLiteral(&b, v)
	return b.String()
}

func writeLiteral(b *strings.Builder, v *ast.Value) {
	if v == nil {
		b.WriteString("null")
		return
	}
	switch v.Kind {
	case ast.ListValue:
		b.WriteByte('[')
		for i, c := range v.Children {
			if i > 0 {
				b.WriteString(", ")
			}
			writeLiteral(b, c.Value)
		}
		b.WriteByte(']')
	case ast.ObjectValue:
		if len(v.Children) == 0 {
			b.WriteString("{}")
			return
		}
		b.WriteString("{ ")
		for i, c := range v.Children {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(c.Name)
			b.WriteString(": ")
			writeLiteral(b, c.Value)
		}
		b.WriteString(" }")
	case ast.BlockValue:
		// ast.Value.String quotes strings the way graphql-js's printString does.
		b.WriteString((&ast.Value{Kind: ast.StringValue, Raw: v.Raw}).String())
	case ast.Variable, ast.IntValue, ast.FloatValue, ast.StringValue,
		ast.BooleanValue, ast.NullValue, ast.EnumValue:
		b.WriteString(v.String())
	default:
		b.WriteString(v.Raw) // no other kinds exist; ast.Value.String panics on them
	}
}
