// Package scoring is Lattice's lead scoring: per object, a versioned rule
// set (a JSON document checked by ruleset.schema.json and against the
// tenant's schema) whose rules add or subtract points for a profile (fit)
// or behaviour (engagement, with decay); a weighted combination of the two
// is the record's score, graded by thresholds. docs/scoring.md is the
// reference.
//
//	{"weights": {"fit": 1, "engagement": 1},
//	 "grades": [{"grade": "A", "min": 80}, {"grade": "B", "min": 60}, {"grade": "C", "min": 40}, {"grade": "D"}],
//	 "rules": [
//	   {"name": "targetIndustry", "kind": "fit", "points": 20,
//	    "when": {"field": "convertedAccount.industry", "op": "in", "value": ["technology", "finance"]}},
//	   {"name": "pageViews", "kind": "engagement", "related": "activities",
//	    "where": {"field": "type", "op": "eq", "value": "pageView"},
//	    "pointsEach": 5, "at": "occurredAt", "within": "30d", "halfLife": "7d", "cap": 30}]}
//
// Scores are computed set-based in SQL (fit rules are schema/condition's
// SQL predicates, related rules correlated aggregates) and stored in
// records.score and records.grade, with fit, engagement and each rule's
// contribution in record_scores. They are kept current by:
//
//   - Apply: a new version starts a rescore job (scoring_jobs) that scores
//     the object's records in batches of BatchSize, one short transaction
//     each, with a cursor, resumable after a crash (RunJobs, Rescore);
//   - the outbox consumer (Consumer, named "scoring"): a record's write,
//     tags, or a change to a record its rules reach (an Activity of a
//     Lead) rescores it;
//   - RunDecay: rescoring objects whose scores depend on time.
//
// Every change of a score or grade appends a record.scored event.
// Explain recomputes one record's score in Go (eval.go, the same
// arithmetic) and lists each contributing rule with the values that
// matched; Preview scores sample or named records under a draft in a
// read-only transaction.
package scoring
