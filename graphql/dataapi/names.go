package dataapi

import (
	"fmt"
	"strings"

	"github.com/latticecrm/lattice/schema/model"
)

// This file holds the naming rules of the generated schema (docs/graphql.md
// lists them for tenants): every generated name is derived here and nowhere
// else.

// rootKind is what a root field does.
type rootKind uint8

const (
	rootOne       rootKind = iota + 1 // lead(id)
	rootList                          // leads(where, orderBy, first, after, last, before)
	rootAggregate                     // leadsAggregate(where, groupBy)
	rootNode                          // node(id)
	rootNodes                         // nodes(ids)
	mutCreate                         // createLead(input)
	mutUpdate                         // updateLead(id, input, expectedVersion)
	mutDelete                         // deleteLead(id, expectedVersion)
	mutRestore                        // restoreLead(id)
	mutCreateMany                     // createLeads(inputs)
	mutUpdateMany                     // updateLeads(where, set)
	mutDeleteMany                     // deleteLeads(where)
	mutUpsertMany                     // upsertLeads(inputs, on)
	mutAddTags                        // addLeadTags(id, tags)
	mutRemoveTags                     // removeLeadTags(id, tags)
)

// rootField is a root field of Query or Mutation.
type rootField struct {
	kind rootKind
	obj  *objectType // nil for node and nodes
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// typeNames are the generated names of one object's types.
type typeNames struct {
	Object, Connection, Edge, Filter, ListFilter, CountFilter, Order,
	GroupField, GroupKey, Aggregate, Numbers, Values,
	CreateInput, UpdateInput, UniqueField string
}

func namesOf(o *model.Object) typeNames {
	t := o.APIName
	return typeNames{
		Object: t, Connection: t + "Connection", Edge: t + "Edge", Filter: t + "Filter",
		ListFilter: t + "ListFilter", CountFilter: t + "CountFilter", Order: t + "Order",
		GroupField: t + "GroupField", GroupKey: t + "GroupKey", Aggregate: t + "Aggregate",
		Numbers: t + "Numbers", Values: t + "Values",
		CreateInput: t + "CreateInput", UpdateInput: t + "UpdateInput", UniqueField: t + "UniqueField",
	}
}

// enumName is the GraphQL enum of a picklist field: LeadStatus.
func enumName(o *model.Object, f *model.Field) string { return o.APIName + upperFirst(f.APIName) }

// enumMap translates between a picklist's stored values and its GraphQL
// enum values. Stored values may contain '-' and '.' or start with a digit,
// which GraphQL names cannot; those are rewritten with '_' and a suffix
// keeps rewritten names distinct.
type enumMap struct {
	names    []string          // in picklist order
	toName   map[string]string // stored value -> enum value
	toValue  map[string]string // enum value -> stored value
	identity bool              // every name is its value
}

func newEnumMap(f *model.Field) *enumMap {
	m := &enumMap{toName: map[string]string{}, toValue: map[string]string{}, identity: true}
	for _, v := range f.Values {
		name := strings.Map(func(r rune) rune {
			if r == '-' || r == '.' {
				return '_'
			}
			return r
		}, v.Value)
		if name[0] >= '0' && name[0] <= '9' {
			name = "_" + name
		}
		if name == "true" || name == "false" || name == "null" {
			name += "_"
		}
		for base, i := name, 2; m.toValue[name] != ""; i++ {
			name = fmt.Sprintf("%s_%d", base, i)
		}
		if name != v.Value {
			m.identity = false
		}
		m.names = append(m.names, name)
		m.toName[v.Value] = name
		m.toValue[name] = v.Value
	}
	return m
}

// reservedTypes are the generated schema's own type names; an object with
// one of these names would collide with them.
var reservedTypes = []string{
	"Query", "Mutation", "Subscription", "Node", "PageInfo", "SortDirection", "Money", "MoneyInput",
	"DateTime", "Date", "Decimal", "BigInt", "JSON", "Email", "URL", "Phone",
	"IDFilter", "StringFilter", "BigIntFilter", "DecimalFilter", "IntFilter", "BooleanFilter",
	"DateFilter", "DateTimeFilter", "MoneyFilter", "TagFilter", "DeleteResult",
	"String", "Int", "Float", "Boolean", "ID",
}
