// Package lattice is the root of the Lattice module: a multi-tenant,
// low-code CRM platform. It holds no code of its own; see README.md for a
// guide to the folders and ../shared/ARCHITECTURE.md for the decisions that
// shape them. The tests in this package check the import direction between
// the top-level folders.
package lattice
