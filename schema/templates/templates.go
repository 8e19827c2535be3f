// Package templates holds the schema bundles Lattice offers tenants as a
// starting point. Each is a model.Bundle in JSON ("lattice": "bundle/v1")
// to be imported like any other: parsed with model.Validator.ParseBundle,
// then prepared, diffed and compiled by schema/model. Templates carry
// English ("en") and Simplified Chinese ("zh-CN") labels.
package templates

import _ "embed"

//go:embed crm.json
var crm []byte

// CRM returns the CRM template bundle as JSON: Account, Contact, Lead, Deal
// and Activity (the interaction timeline), related by lookups. The caller
// gets its own copy and may modify it.
func CRM() []byte {
	out := make([]byte, len(crm))
	copy(out, crm)
	return out
}
