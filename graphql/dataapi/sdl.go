package dataapi

import (
	"fmt"
	"strings"

	"github.com/latticecrm/lattice/schema/model"
)

// commonSDL is the part of every tenant's schema that does not depend on
// its objects.
const commonSDL = `"""
An RFC 3339 date-time, e.g. 2026-11-23T18:00:00Z. Output is always in UTC.
"""
scalar DateTime @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339")

"""
A calendar date, YYYY-MM-DD.
"""
scalar Date @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc3339#section-5.6")

"""
A decimal number, sent as a JSON number with its exact digits (no floating point).
"""
scalar Decimal

"""
A 64-bit integer, sent as a JSON number.
"""
scalar BigInt

"""
Any JSON value.
"""
scalar JSON @specifiedBy(url: "https://www.rfc-editor.org/rfc/rfc8259")

"""
An e-mail address.
"""
scalar Email

"""
An absolute http or https URL.
"""
scalar URL

"""
A phone number: digits, spaces and + ( ) - .
"""
scalar Phone

"""
A record of any object. Record ids are UUIDs, unique across every object of the tenant.
"""
interface Node {
  id: ID!
}

"""
Where a page of a connection sits in the whole list.
"""
type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}

"""
Sort order. Missing values sort last in ascending order and first in descending order.
"""
enum SortDirection {
  ASC
  DESC
}

"""
An amount of money in an ISO 4217 currency.
"""
type Money {
  amount: Decimal!
  currency: String!
}

"""
An amount of money in an ISO 4217 currency.
"""
input MoneyInput {
  amount: Decimal!
  currency: String!
}

"""
The result of a bulk delete.
"""
type DeleteResult {
  "How many records were deleted."
  count: Int!
  "The ids of the deleted records."
  ids: [ID!]!
}

input IDFilter {
  eq: ID
  ne: ID
  in: [ID!]
  notIn: [ID!]
  isNull: Boolean
}

"""
Text comparisons are case-sensitive, in Unicode code point order.
"""
input StringFilter {
  eq: String
  ne: String
  in: [String!]
  notIn: [String!]
  lt: String
  lte: String
  gt: String
  gte: String
  contains: String
  startsWith: String
  isNull: Boolean
}

input BigIntFilter {
  eq: BigInt
  ne: BigInt
  in: [BigInt!]
  notIn: [BigInt!]
  lt: BigInt
  lte: BigInt
  gt: BigInt
  gte: BigInt
  isNull: Boolean
}

input IntFilter {
  eq: Int
  ne: Int
  in: [Int!]
  notIn: [Int!]
  lt: Int
  lte: Int
  gt: Int
  gte: Int
  isNull: Boolean
}

input DecimalFilter {
  eq: Decimal
  ne: Decimal
  in: [Decimal!]
  notIn: [Decimal!]
  lt: Decimal
  lte: Decimal
  gt: Decimal
  gte: Decimal
  isNull: Boolean
}

input BooleanFilter {
  eq: Boolean
  ne: Boolean
  isNull: Boolean
}

input DateFilter {
  eq: Date
  ne: Date
  in: [Date!]
  notIn: [Date!]
  lt: Date
  lte: Date
  gt: Date
  gte: Date
  isNull: Boolean
  "Within the last duration, e.g. 7d, 12h, 2w."
  withinLast: String
}

input DateTimeFilter {
  eq: DateTime
  ne: DateTime
  in: [DateTime!]
  notIn: [DateTime!]
  lt: DateTime
  lte: DateTime
  gt: DateTime
  gte: DateTime
  isNull: Boolean
  "Within the last duration, e.g. 30m, 7d, 2w."
  withinLast: String
}

"""
A money filter compares amounts whatever their currency; add a currency filter to compare within one.
"""
input MoneyFilter {
  amount: DecimalFilter
  currency: StringFilter
  isNull: Boolean
}

input TagFilter {
  "The record has at least one of these tags."
  hasAny: [String!]
  "The record has all of these tags."
  hasAll: [String!]
  "The record has none of these tags."
  hasNone: [String!]
}
`

// sdlWriter writes the SDL of one Schema.
type sdlWriter struct {
	s *Schema
	b strings.Builder
}

func (w *sdlWriter) line(format string, args ...any) {
	fmt.Fprintf(&w.b, format, args...)
	w.b.WriteByte('\n')
}

func (w *sdlWriter) write() (string, error) {
	w.b.WriteString(commonSDL)
	objs := w.s.sortedObjects()
	for _, t := range objs {
		w.object(t)
	}
	w.query(objs)
	w.mutation(objs)
	return w.b.String(), nil
}

// connectionArgs are the arguments of every connection field.
func connectionArgs(t *objectType) string {
	return fmt.Sprintf("where: %s, orderBy: [%s!], first: Int, after: String, last: Int, before: String", t.names.Filter, t.names.Order)
}

func (w *sdlWriter) object(t *objectType) {
	o, n := t.obj, t.names
	w.b.WriteByte('\n')
	description(&w.b, "", o.Label.Default(), o.Description.Default())
	w.line("type %s implements Node {", n.Object)
	w.line("  id: ID!")
	for _, f := range t.visibleFields() {
		description(&w.b, "  ", f.Label.Default(), f.HelpText.Default())
		w.line("  %s: %s", f.APIName, t.outputType(f))
	}
	w.line("  createdAt: DateTime!")
	w.line("  updatedAt: DateTime!")
	w.line("  createdBy: String!")
	w.line("  updatedBy: String!")
	w.line("  owner: String")
	w.line(`  "Incremented by every change; pass it as expectedVersion to update only if nobody changed the record since."`)
	w.line("  version: Int!")
	w.line("  tags: [String!]!")
	w.line("  score: Decimal")
	w.line("  grade: String")
	w.line("  deletedAt: DateTime")
	for _, inv := range t.visibleInverses() {
		from := w.s.byKey[inv.From.Key]
		description(&w.b, "  ", fmt.Sprintf("%s records whose %s is this record.", inv.From.PluralLabel.Default(), inv.Field.APIName))
		w.line("  %s(%s): %s!", inv.Name, connectionArgs(from), from.names.Connection)
	}
	w.line("}")

	w.line("\ntype %s {", n.Connection)
	w.line("  edges: [%s!]!", n.Edge)
	w.line("  nodes: [%s!]!", n.Object)
	w.line("  pageInfo: PageInfo!")
	w.line(`  "The number of records matching the filter, counted only when selected."`)
	w.line("  totalCount: Int!")
	w.line("}")
	w.line("\ntype %s {\n  cursor: String!\n  node: %s!\n}", n.Edge, n.Object)

	for _, f := range t.visibleFields() {
		if m := t.enums[f]; m != nil {
			w.enum(t, f, m)
		}
	}
	w.filter(t)
	w.order(t)
	w.aggregate(t)
	if t.writable {
		w.inputs(t)
	}
}

func (w *sdlWriter) enum(t *objectType, f *model.Field, m *enumMap) {
	name := enumName(t.obj, f)
	w.b.WriteByte('\n')
	description(&w.b, "", fmt.Sprintf("Values of %s.%s.", t.obj.APIName, f.APIName))
	w.line("enum %s {", name)
	for i, v := range f.Values {
		desc := v.Label.Default()
		if m.names[i] != v.Value {
			desc = strings.TrimSpace(desc + fmt.Sprintf(" (stored as %q)", v.Value))
		}
		if desc != "" {
			w.line("  %q", desc)
		}
		w.line("  %s", m.names[i])
	}
	w.line("}")
	w.line("\ninput %sFilter {", name)
	if f.Kind == model.KindMultiPicklist {
		w.line(`  "Exactly these values are selected, in any order."`)
		w.line("  eq: [%s!]\n  ne: [%s!]", name, name)
		w.line(`  "At least one of these values is selected."`)
		w.line("  in: [%s!]\n  notIn: [%s!]", name, name)
		w.line(`  "All of these values are selected."`)
		w.line("  contains: [%s!]", name)
	} else {
		w.line("  eq: %s\n  ne: %s\n  in: [%s!]\n  notIn: [%s!]", name, name, name, name)
		w.line(`  "Later in the picklist's order than the value."`)
		w.line("  gt: %s\n  gte: %s\n  lt: %s\n  lte: %s", name, name, name, name)
	}
	w.line("  isNull: Boolean")
	w.line("}")
}

func (w *sdlWriter) filter(t *objectType) {
	n := t.names
	w.b.WriteByte('\n')
	description(&w.b, "", fmt.Sprintf("A filter on %s records. The conditions of one filter object must all hold.", t.obj.APIName))
	w.line("input %s {", n.Filter)
	w.line("  and: [%s!]\n  or: [%s!]\n  not: %s", n.Filter, n.Filter, n.Filter)
	w.line("  id: IDFilter")
	for _, f := range t.visibleFields() {
		if ft := t.filterType(f); ft != "" {
			w.line("  %s: %s", f.APIName, ft)
		}
	}
	w.line("  createdAt: DateTimeFilter\n  updatedAt: DateTimeFilter\n  owner: IDFilter\n  version: IntFilter")
	w.line("  score: DecimalFilter\n  grade: StringFilter\n  tags: TagFilter")
	for _, inv := range t.visibleInverses() {
		w.line("  %s: %s", inv.Name, w.s.byKey[inv.From.Key].names.ListFilter)
	}
	w.line("}")

	w.b.WriteByte('\n')
	description(&w.b, "", fmt.Sprintf("A filter on a related list of %s records.", t.obj.APIName))
	w.line("input %s {", n.ListFilter)
	w.line(`  "At least one related record matches."`)
	w.line("  some: %s", n.Filter)
	w.line(`  "No related record matches."`)
	w.line("  none: %s", n.Filter)
	w.line(`  "Every related record matches (true when there are none)."`)
	w.line("  every: %s", n.Filter)
	w.line(`  "The number of related records (matching where, if given)."`)
	w.line("  count: %s", n.CountFilter)
	w.line("}")
	w.line("\ninput %s {\n  where: %s\n  eq: Int\n  ne: Int\n  lt: Int\n  lte: Int\n  gt: Int\n  gte: Int\n}", n.CountFilter, n.Filter)
}

func (w *sdlWriter) order(t *objectType) {
	w.b.WriteByte('\n')
	description(&w.b, "", "One sort key: set exactly one field. Ties are broken by id.")
	w.line("input %s {", t.names.Order)
	w.line("  id: SortDirection")
	for _, f := range t.visibleFields() {
		if sortable(f) {
			w.line("  %s: SortDirection", f.APIName)
		}
	}
	w.line("  createdAt: SortDirection\n  updatedAt: SortDirection\n  score: SortDirection\n  grade: SortDirection\n  version: SortDirection")
	w.line("}")
}

func (w *sdlWriter) aggregate(t *objectType) {
	n := t.names
	var group, nums, extremes []*model.Field
	for _, f := range t.visibleFields() {
		if groupable(f) {
			group = append(group, f)
		}
		if numeric(f) {
			nums = append(nums, f)
		}
		if ordered(f) {
			extremes = append(extremes, f)
		}
	}
	w.line("\nenum %s {", n.GroupField)
	for _, f := range group {
		w.line("  %s", f.APIName)
	}
	w.line("  owner\n  grade\n}")
	w.line("\ntype %s {", n.GroupKey)
	for _, f := range group {
		typ := t.outputType(f)
		if f.Kind == model.KindLookup {
			typ = "ID"
		}
		w.line("  %s: %s", f.APIName, typ)
	}
	w.line("  owner: String\n  grade: String\n}")
	w.line("\ntype %s {", n.Numbers)
	for _, f := range nums {
		w.line("  %s: Decimal", f.APIName)
	}
	w.line("  score: Decimal\n}")
	w.line("\ntype %s {", n.Values)
	for _, f := range extremes {
		w.line("  %s: %s", f.APIName, t.extremeType(f))
	}
	w.line("  score: Decimal\n  createdAt: DateTime\n  updatedAt: DateTime\n}")
	w.b.WriteByte('\n')
	description(&w.b, "", "Aggregates of one group of records (of all of them without groupBy).")
	w.line("type %s {", n.Aggregate)
	w.line(`  "The values of the groupBy fields this group has."`)
	w.line("  key: %s!", n.GroupKey)
	w.line("  count: Int!")
	w.line("  sum: %s!\n  avg: %s!\n  min: %s!\n  max: %s!", n.Numbers, n.Numbers, n.Values, n.Values)
	w.line("}")
}

func (w *sdlWriter) inputs(t *objectType) {
	n := t.names
	w.line("\ninput %s {", n.CreateInput)
	for _, f := range t.obj.Fields {
		if t.edit[f.APIName] == nil {
			continue
		}
		typ := t.inputType(f)
		if f.Required && f.Default == nil {
			typ += "!"
		}
		w.line("  %s: %s", f.APIName, typ)
	}
	w.line(`  "The owner's user id; the creator when not given."`)
	w.line("  owner: String")
	w.line("}")
	w.line("\ninput %s {", n.UpdateInput)
	for _, f := range t.obj.Fields {
		if t.edit[f.APIName] != nil {
			w.line("  %s: %s", f.APIName, t.inputType(f))
		}
	}
	w.line("  owner: String")
	w.line("}")
	if uniques := t.uniqueFields(); len(uniques) > 0 {
		w.line("\nenum %s {", n.UniqueField)
		for _, f := range uniques {
			w.line("  %s", f.APIName)
		}
		w.line("}")
	}
}

// uniqueFields are the unique fields an upsert can match on.
func (t *objectType) uniqueFields() []*model.Field {
	var out []*model.Field
	for _, f := range t.obj.Fields {
		if f.Unique && t.edit[f.APIName] != nil {
			out = append(out, f)
		}
	}
	return out
}

func (w *sdlWriter) query(objs []*objectType) {
	q := w.s.queries
	w.line("\ntype Query {")
	w.line(`  "The record with this id, of any object."`)
	w.line("  node(id: ID!): Node")
	w.line(`  "The records with these ids, in the same order; null where there is none."`)
	w.line("  nodes(ids: [ID!]!): [Node]!")
	q["node"] = rootField{kind: rootNode}
	q["nodes"] = rootField{kind: rootNodes}
	for _, t := range objs {
		one, list := lowerFirst(t.obj.APIName), t.obj.PluralAPIName
		w.line("  %s(id: ID!): %s", one, t.names.Object)
		w.line("  %s(%s, includeDeleted: Boolean = false): %s!", list, connectionArgs(t), t.names.Connection)
		w.line("  %sAggregate(where: %s, groupBy: [%s!]): [%s!]!", list, t.names.Filter, t.names.GroupField, t.names.Aggregate)
		q[one] = rootField{kind: rootOne, obj: t}
		q[list] = rootField{kind: rootList, obj: t}
		q[list+"Aggregate"] = rootField{kind: rootAggregate, obj: t}
	}
	w.line("}")
}

func (w *sdlWriter) mutation(objs []*objectType) {
	m := w.s.mutations
	var b strings.Builder
	add := func(name string, kind rootKind, t *objectType, format string, args ...any) {
		fmt.Fprintf(&b, "  %s"+format+"\n", append([]any{name}, args...)...)
		m[name] = rootField{kind: kind, obj: t}
	}
	for _, t := range objs {
		if !t.writable {
			continue
		}
		n := t.names
		one, many := n.Object, upperFirst(t.obj.PluralAPIName)
		if t.create {
			add("create"+one, mutCreate, t, "(input: %s!): %s!", n.CreateInput, n.Object)
			add("create"+many, mutCreateMany, t, "(inputs: [%s!]!): [%s!]!", n.CreateInput, n.Object)
		}
		if t.update {
			add("update"+one, mutUpdate, t, "(id: ID!, input: %s!, expectedVersion: Int): %s!", n.UpdateInput, n.Object)
			add("update"+many, mutUpdateMany, t, "(where: %s!, set: %s!): [%s!]!", n.Filter, n.UpdateInput, n.Object)
		}
		if t.create && t.update && len(t.uniqueFields()) > 0 {
			add("upsert"+many, mutUpsertMany, t, "(inputs: [%s!]!, on: %s!): [%s!]!", n.CreateInput, n.UniqueField, n.Object)
		}
		if t.del {
			add("delete"+one, mutDelete, t, "(id: ID!, expectedVersion: Int): %s!", n.Object)
			add("restore"+one, mutRestore, t, "(id: ID!): %s!", n.Object)
			add("delete"+many, mutDeleteMany, t, "(where: %s!): DeleteResult!", n.Filter)
		}
		if t.update {
			add("add"+one+"Tags", mutAddTags, t, "(id: ID!, tags: [String!]!): %s!", n.Object)
			add("remove"+one+"Tags", mutRemoveTags, t, "(id: ID!, tags: [String!]!): %s!", n.Object)
		}
	}
	if b.Len() == 0 {
		return
	}
	w.line("\ntype Mutation {")
	w.b.WriteString(b.String())
	w.line("}")
}
