// Package tags is Lattice's multi-dimensional tagging: tag groups
// (dimensions such as industry, company size or purchase intent), the tags
// within them, applying and removing tags on records by hand, in bulk by
// condition, and by tag rules evaluated on every write through the outbox.
// docs/tags.md is the reference.
//
// A record's tags are stored in records.tags as "group/tag" strings
// ("industry/software"), sorted and without duplicates: stable (API names
// are immutable), readable, and what conditions match:
//
//	{"tags": "hasAny", "value": ["industry/software"]}
//
// Every change of a record's tags bumps its version and appends a
// record.tagged event in the same transaction:
//
//	res, err := svc.Apply(ctx, tenant, actor, "Contact", id, []string{"industry/software"}, nil)
//
// Bulk changes (BulkApply, rule re-evaluation, tag deletion) run as
// set-based SQL in batches, one transaction and one event per changed
// record each. Tag rules are evaluated on record.created, record.updated,
// record.restored and record.tagged events by the consumer that
// RuleConsumer returns (named "tag-rules"), with schema/condition's Go
// evaluator, and in bulk with its SQL compiler when a rule is created or
// changed.
package tags
