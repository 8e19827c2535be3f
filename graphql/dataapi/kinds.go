package dataapi

import "github.com/latticecrm/lattice/schema/model"

// This file maps field kinds to GraphQL: output, input and filter types, and
// which fields can be sorted, grouped and aggregated.

// outputType is the GraphQL type of f on its object type (always nullable:
// a record stored before a field became required may lack a value).
func (t *objectType) outputType(f *model.Field) string {
	switch f.Kind {
	case model.KindText, model.KindLongText, model.KindAutoNumber:
		return "String"
	case model.KindEmail:
		return "Email"
	case model.KindPhone:
		return "Phone"
	case model.KindURL:
		return "URL"
	case model.KindInteger:
		return "BigInt"
	case model.KindDecimal, model.KindPercent:
		return "Decimal"
	case model.KindCurrency:
		return "Money"
	case model.KindBoolean:
		return "Boolean"
	case model.KindDate:
		return "Date"
	case model.KindDateTime:
		return "DateTime"
	case model.KindPicklist:
		return enumName(t.obj, f)
	case model.KindMultiPicklist:
		return "[" + enumName(t.obj, f) + "!]"
	case model.KindLookup:
		return f.Target.APIName
	}
	return "JSON"
}

// inputType is the GraphQL type of f in create and update inputs.
func (t *objectType) inputType(f *model.Field) string {
	switch f.Kind {
	case model.KindLookup:
		return "ID"
	case model.KindCurrency:
		return "MoneyInput"
	}
	return t.outputType(f)
}

// filterType is the filter input of f, or "" if f cannot be filtered on.
func (t *objectType) filterType(f *model.Field) string {
	switch f.Kind {
	case model.KindText, model.KindLongText, model.KindAutoNumber, model.KindEmail, model.KindPhone, model.KindURL:
		return "StringFilter"
	case model.KindInteger:
		return "BigIntFilter"
	case model.KindDecimal, model.KindPercent:
		return "DecimalFilter"
	case model.KindCurrency:
		return "MoneyFilter"
	case model.KindBoolean:
		return "BooleanFilter"
	case model.KindDate:
		return "DateFilter"
	case model.KindDateTime:
		return "DateTimeFilter"
	case model.KindPicklist, model.KindMultiPicklist:
		return enumName(t.obj, f) + "Filter"
	case model.KindLookup:
		return f.Target.APIName + "Filter"
	}
	return ""
}

// sortable reports whether records can be ordered by f (a currency field
// orders by its amount).
func sortable(f *model.Field) bool {
	switch f.Kind {
	case model.KindMultiPicklist, model.KindJSON, model.KindLookup:
		return false
	}
	return true
}

// groupable reports whether aggregates can group by f.
func groupable(f *model.Field) bool {
	switch f.Kind {
	case model.KindLongText, model.KindMultiPicklist, model.KindJSON, model.KindCurrency, model.KindDecimal,
		model.KindPercent, model.KindDateTime:
		return false
	}
	return true
}

// numeric reports whether f can be summed and averaged (a currency field
// sums its amounts, whatever their currencies: filter on one currency
// first).
func numeric(f *model.Field) bool {
	switch f.Kind {
	case model.KindInteger, model.KindDecimal, model.KindPercent, model.KindCurrency:
		return true
	}
	return false
}

// ordered reports whether f has a min and a max.
func ordered(f *model.Field) bool {
	switch f.Kind {
	case model.KindInteger, model.KindDecimal, model.KindPercent, model.KindCurrency, model.KindDate,
		model.KindDateTime, model.KindText, model.KindEmail, model.KindPhone, model.KindURL, model.KindAutoNumber:
		return true
	}
	return false
}

// extremeType is the GraphQL type of f's min and max (sums and averages
// are always Decimal).
func (t *objectType) extremeType(f *model.Field) string {
	if f.Kind == model.KindCurrency {
		return "Decimal"
	}
	return t.outputType(f)
}
