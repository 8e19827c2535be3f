package audit

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/latticecrm/lattice/platform/outbox"
)

// ConsumerName is the outbox consumer name of Consumer.
const ConsumerName = "audit"

// ScoringActor is the actor of record.scored entries: scores are computed
// by the scoring engine, whatever caused them.
const ScoringActor = "system:scoring"

// Consumer returns the outbox consumer that records data changes: one
// entry per record.created, record.updated, record.deleted,
// record.restored and record.tagged event, one per record of a
// record.scored event (a decay run, which only time caused, is one entry
// for the whole event), and one per event of any other topic, under the
// topic's name. Entries carry the event's time and actor and the
// field-level changes the event has (see Entries). cfg.Name defaults to
// ConsumerName and cfg.Logger to the Log's logger. Delivery is at least
// once; an event delivered again adds nothing (the entries are keyed by
// the event id).
func (l *Log) Consumer(cfg outbox.Config) (*outbox.Consumer, error) {
	if cfg.Name == "" {
		cfg.Name = ConsumerName
	}
	if cfg.Logger == nil {
		cfg.Logger = l.log
	}
	return outbox.NewConsumer(l.pool, cfg, l.HandleEvent)
}

// HandleEvent is Consumer's handler: it appends Entries(e) in a
// transaction of its own. It is idempotent.
func (l *Log) HandleEvent(ctx context.Context, e outbox.Event) error {
	entries := Entries(e)
	if len(entries) == 0 {
		return nil
	}
	return l.Append(ctx, nil, e.TenantID, entries...)
}

// eventPayload holds what record events carry (schema/records'
// EventPayload, schema/tags' and schema/scoring's), decoded loosely: this
// package knows the events by their JSON only.
type eventPayload struct {
	Object  string                     `json:"object"`
	ID      string                     `json:"id"`
	Version *int                       `json:"version"`
	Actor   *string                    `json:"actor"`
	Values  map[string]json.RawMessage `json:"values"`
	Changes json.RawMessage            `json:"changes"`
	Cause   string                     `json:"cause"`
	// record.tagged
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Source  string   `json:"source"`
	Rule    string   `json:"rule"`
	// record.scored
	RulesetVersion *int   `json:"rulesetVersion"`
	Reason         string `json:"reason"`
	Records        []struct {
		ID  string          `json:"id"`
		Old json.RawMessage `json:"old"`
		New json.RawMessage `json:"new"`
	} `json:"records"`
}

// scoreGrade is a score and grade of a record.scored event.
type scoreGrade struct {
	Score json.RawMessage `json:"score"`
	Grade json.RawMessage `json:"grade"`
}

// change is one field's old and new value.
type change struct {
	Old json.RawMessage `json:"old"`
	New json.RawMessage `json:"new"`
}

var jsonNull = json.RawMessage("null")

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return jsonNull
	}
	return v
}

// Entries returns the audit entries of one outbox event, each with the
// event's id, time and tenant's actor (ActorOf the payload's "actor";
// "system" without one):
//   - record.created: Changes has every value set, each {"old": null,
//     "new": value}; Details {"version"}.
//   - record.updated: Changes as the event has them; Details {"version"}.
//   - record.deleted: Details {"version", "cause"} (cause: the record
//     whose deletion cascaded to this one).
//   - record.restored: Details {"version"}.
//   - record.tagged: Details {"version", "added", "removed", "source", "rule"}.
//   - record.scored: one entry per record, Changes {"score", "grade"};
//     Details {"reason", "rulesetVersion"}; for reason "decay" a single
//     entry with Details {"reason", "rulesetVersion", "records"} (a count).
//   - any other topic: one entry with the topic as Action, Object and
//     RecordID when the payload has "object" and "id", and the payload as
//     Details (if it is a JSON object).
func Entries(e outbox.Event) []Entry {
	base := Entry{At: e.CreatedAt, Action: clip(e.Topic, MaxActionLen), EventID: e.ID, Actor: SystemActor}
	var p eventPayload
	if err := json.Unmarshal(e.Payload, &p); err != nil {
		base.Details = objectOrNil(e.Payload)
		return []Entry{base}
	}
	if p.Actor != nil {
		base.Actor = ActorOf(*p.Actor)
	}
	base.Object = p.Object
	if isUUID(p.ID) {
		base.RecordID = p.ID
	}
	base.Actor, base.Object = clip(base.Actor, MaxActorLen), clip(base.Object, MaxObjectLen)
	details := func(m map[string]any) json.RawMessage {
		raw, _ := json.Marshal(m)
		return raw
	}
	switch e.Topic {
	case ActionRecordCreated:
		if len(p.Values) > 0 {
			ch := make(map[string]change, len(p.Values))
			for k, v := range p.Values {
				ch[k] = change{Old: jsonNull, New: orNull(v)}
			}
			base.Changes, _ = json.Marshal(ch)
		}
		base.Details = details(map[string]any{"version": p.Version})
	case ActionRecordUpdated:
		base.Changes = objectOrNil(p.Changes)
		base.Details = details(map[string]any{"version": p.Version})
	case ActionRecordDeleted:
		d := map[string]any{"version": p.Version}
		if p.Cause != "" {
			d["cause"] = p.Cause
		}
		base.Details = details(d)
	case ActionRecordRestored:
		base.Details = details(map[string]any{"version": p.Version})
	case ActionRecordTagged:
		d := map[string]any{"version": p.Version, "added": nonNil(p.Added), "removed": nonNil(p.Removed), "source": p.Source}
		if p.Rule != "" {
			d["rule"] = p.Rule
		}
		base.Details = details(d)
	case ActionRecordScored:
		base.Actor = ScoringActor
		if p.Reason == "decay" {
			base.Details = details(map[string]any{"reason": p.Reason, "rulesetVersion": p.RulesetVersion, "records": len(p.Records)})
			return []Entry{base}
		}
		out := make([]Entry, 0, len(p.Records))
		for _, r := range p.Records {
			if !isUUID(r.ID) {
				continue
			}
			var o, n scoreGrade
			_ = json.Unmarshal(r.Old, &o)
			_ = json.Unmarshal(r.New, &n)
			en := base
			en.RecordID = r.ID
			en.Changes, _ = json.Marshal(map[string]change{
				"score": {Old: orNull(o.Score), New: orNull(n.Score)},
				"grade": {Old: orNull(o.Grade), New: orNull(n.Grade)},
			})
			en.Details = details(map[string]any{"reason": p.Reason, "rulesetVersion": p.RulesetVersion})
			out = append(out, en)
		}
		return out
	default:
		base.Details = objectOrNil(e.Payload)
	}
	return []Entry{base}
}

// clip shortens s to at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

// objectOrNil returns raw if it is a JSON object, else nil.
func objectOrNil(raw json.RawMessage) json.RawMessage {
	t := strings.TrimSpace(string(raw))
	if strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
