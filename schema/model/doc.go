// Package model is Lattice's tenant data model: the definitions tenants
// write (objects and fields as JSON Schema 2020-12 documents with Lattice's
// x-lattice-object and x-lattice-field keywords), their validation against
// the published meta-schemas, the preparation that gives every object and
// field a stable key and every indexed field a storage slot, the diff between
// two versions, and the compiled Model that validates record values.
//
// The package knows nothing of storage: schema/catalog persists bundles and
// versions, schema/records stores records using the slots chosen here.
//
// The flow for a schema change:
//
//	next, err := model.ParseBundle(data)          // JSON -> Bundle, meta-schema checked
//	next, err = model.Prepare(prev, next, now)    // keys, slots, removals, semantic checks
//	changes := model.Diff(prev, next)             // readable diff
//	m, err := model.Compile(next, version)        // validators for records
//
// Every problem in a definition is reported as a *Problem with the JSON
// pointer of the offending keyword; ParseBundle and Prepare return all of
// them at once, wrapped in a *Problems error.
package model
