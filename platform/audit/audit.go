package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/httpserver"
)

// Entry is one audit log entry.
type Entry struct {
	// ID numbers entries in insertion order; it is the keyset order of
	// List (newest, that is highest, first). Set by Append.
	ID int64 `json:"id"`
	// At is when the change happened: the insert's transaction start time,
	// or for an entry made from an outbox event that event's.
	At time.Time `json:"at"`
	// Actor is who acted: "user:<id>", "integration:<name>",
	// "plugin:<name>", "cli", "system" (or "system:<part>"), or for a
	// failed login the e-mail address tried. See ActorOf.
	Actor string `json:"actor"`
	// Action is what happened, e.g. "record.updated" (the Action*
	// constants name those Lattice records).
	Action string `json:"action"`
	// Object is the API name of the object concerned, if any.
	Object string `json:"object,omitempty"`
	// RecordID is the id of the record concerned, if any.
	RecordID string `json:"recordId,omitempty"`
	// Changes are field-level changes, {"field": {"old": ..., "new": ...}},
	// a JSON object, or empty.
	Changes json.RawMessage `json:"changes,omitempty"`
	// RequestID is the id of the HTTP request that made the change (the
	// X-Request-ID of its response), if any.
	RequestID string `json:"requestId,omitempty"`
	// Address is the client address the change came from, if known.
	Address string `json:"address,omitempty"`
	// Details is anything else worth keeping about the action, a JSON
	// object, or empty.
	Details json.RawMessage `json:"details,omitempty"`
	// EventID is the id of the outbox event the entry was made from, if
	// any. Append adds nothing for an entry whose EventID (and position
	// among the entries of one Append with that EventID) is already
	// recorded, so redelivered events are recorded once.
	EventID string `json:"eventId,omitempty"`
}

// Actions Lattice records. Consumer records other outbox topics under
// their own names.
const (
	ActionRecordCreated     = "record.created"
	ActionRecordUpdated     = "record.updated"
	ActionRecordDeleted     = "record.deleted"
	ActionRecordRestored    = "record.restored"
	ActionRecordTagged      = "record.tagged"
	ActionRecordScored      = "record.scored"
	ActionSchemaChanged     = "schema.changed"
	ActionPermissionChanged = "permission.changed"
	ActionLogin             = "auth.login"
	ActionLoginFailed       = "auth.login_failed"
	ActionLogout            = "auth.logout"
	ActionTokenUsed         = "token.used"
	ActionTokenCreated      = "token.created"
	ActionTokenRevoked      = "token.revoked"
	ActionRetentionChanged  = "audit.retention_changed"
	// ActionPurged is recorded by the database itself when retention
	// deletes entries, with details {"before", "deleted"}.
	ActionPurged = "audit.purged"
)

// SystemActor is the actor of changes no person or integration made.
const SystemActor = "system"

// Limits on what an entry may hold, as the audit_log table checks them.
const (
	MaxActorLen  = 320
	MaxActionLen = 200
	MaxObjectLen = 200
	MaxTextLen   = 200 // RequestID and Address
)

// Log reads and writes tenants' audit logs. It is safe for concurrent use.
type Log struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	// exportPage is how many entries Export reads per query.
	exportPage int
}

// New returns a Log on pool (the lattice_app role; row-level security
// applies). A nil logger means slog.Default().
func New(pool *pgxpool.Pool, logger *slog.Logger) *Log {
	if logger == nil {
		logger = slog.Default()
	}
	return &Log{pool: pool, log: logger, exportPage: defaultExportPage}
}

// Request is what entries learn from the request they are made in.
type Request struct {
	// ID is the request id (httpserver.RequestID).
	ID string
	// Address is the client's address.
	Address string
	// Actor is who the request authenticated as, in ActorOf's form.
	Actor string
}

type requestKey struct{}

// WithRequest returns ctx carrying r; Append fills an entry's empty Actor,
// RequestID and Address from it. Fields of r left empty keep those of a
// Request already in ctx.
func WithRequest(ctx context.Context, r Request) context.Context {
	prev := RequestFrom(ctx)
	if r.ID == "" {
		r.ID = prev.ID
	}
	if r.Address == "" {
		r.Address = prev.Address
	}
	if r.Actor == "" {
		r.Actor = prev.Actor
	}
	return context.WithValue(ctx, requestKey{}, r)
}

// RequestFrom returns the Request WithRequest put in ctx; without one, its
// ID is the HTTP request id httpserver put there, if any.
func RequestFrom(ctx context.Context) Request {
	r, _ := ctx.Value(requestKey{}).(Request)
	if r.ID == "" {
		r.ID = httpserver.RequestID(ctx)
	}
	return r
}

// ActorOf returns the audit form of an actor as the rest of Lattice names
// it: a bare user id becomes "user:<id>", "" becomes "system", anything
// else ("user:<id>", "integration:<name>", "plugin:<name>", "cli",
// "system:<part>") stays as it is.
func ActorOf(actor string) string {
	switch {
	case actor == "":
		return SystemActor
	case isUUID(actor):
		return "user:" + actor
	}
	return actor
}

// insertSQL appends rows given as parallel arrays, in array order (ids are
// taken in that order). Entries whose event is already recorded are
// skipped.
const insertSQL = `INSERT INTO audit_log (tenant_id, at, actor, action, object, record_id, changes, request_id, address, details, event_id, event_index)
SELECT $1::uuid, coalesce(e.at, now()), e.actor, e.action, e.object, e.record_id::uuid, e.changes::jsonb, e.request_id, e.address, e.details::jsonb, e.event_id::uuid, e.event_index
FROM unnest($2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[])
	WITH ORDINALITY AS e (at, actor, action, object, record_id, changes, request_id, address, details, event_id, event_index, n)
ORDER BY e.n
ON CONFLICT (tenant_id, event_id, event_index) WHERE event_id IS NOT NULL DO NOTHING`

// Append writes entries to tenantID's log in tx, which must be a
// transaction scoped to tenantID (database.InTenantTx), so that they
// commit or roll back with the change they record; with a nil tx it
// writes them in a transaction of its own, in one round trip. Empty Actor,
// RequestID and Address come from ctx's Request (see WithRequest), an
// Actor still empty is "system", and a zero At is the time of the insert.
// ID is ignored. An entry that breaks a limit (an empty Action, a RecordID
// that is not a UUID, Changes or Details that are not JSON objects, text
// longer than the Max* constants) fails the whole call with an Invalid
// error and writes nothing.
func (l *Log) Append(ctx context.Context, tx pgx.Tx, tenantID string, entries ...Entry) error {
	if tenantID == "" {
		return database.ErrNoTenant
	}
	if len(entries) == 0 {
		return nil
	}
	args, err := columns(ctx, entries)
	if err != nil {
		return err
	}
	args = append([]any{tenantID}, args...)
	if tx != nil {
		if _, err := tx.Exec(ctx, insertSQL, args...); err != nil {
			return fmt.Errorf("append %d audit entries for tenant %s: %w", len(entries), tenantID, err)
		}
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(insertSQL, args...)
	br, err := database.SendTenantBatch(ctx, l.pool, tenantID, b)
	if err == nil {
		_, err = br.Exec()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("append %d audit entries for tenant %s: %w", len(entries), tenantID, err)
	}
	return nil
}

// columns validates entries, completes them from ctx and returns them as
// insertSQL's arrays ($2 to $12).
func columns(ctx context.Context, entries []Entry) ([]any, error) {
	req := RequestFrom(ctx)
	n := len(entries)
	var (
		at                               = make([]*time.Time, n)
		actor, action, object            = make([]string, n), make([]string, n), make([]string, n)
		recordID, changes, details, evID = make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		requestID, address               = make([]string, n), make([]string, n)
		evIndex                          = make([]int32, n)
	)
	seen := map[string]int32{}
	for i, e := range entries {
		field := func(name string) string { return fmt.Sprintf("entries[%d].%s", i, name) }
		if e.Actor == "" {
			e.Actor = req.Actor
		}
		if e.Actor == "" {
			e.Actor = SystemActor
		}
		if e.RequestID == "" {
			e.RequestID = req.ID
		}
		if e.Address == "" {
			e.Address = req.Address
		}
		if e.Action == "" || len(e.Action) > MaxActionLen {
			return nil, apierror.Invalidf(field("action"), "invalid_action", "an audit action is 1 to %d bytes, got %d", MaxActionLen, len(e.Action))
		}
		for _, t := range []struct {
			name string
			v    *string
			max  int
		}{{"actor", &e.Actor, MaxActorLen}, {"object", &e.Object, MaxObjectLen}, {"requestId", &e.RequestID, MaxTextLen}, {"address", &e.Address, MaxTextLen}} {
			if len(*t.v) > t.max {
				return nil, apierror.Invalidf(field(t.name), "too_long", "%s is %d bytes, more than %d", t.name, len(*t.v), t.max)
			}
			if !utf8.ValidString(*t.v) {
				return nil, apierror.Invalidf(field(t.name), "invalid_text", "%s is not valid UTF-8", t.name)
			}
		}
		if e.RecordID != "" {
			if !isUUID(e.RecordID) {
				return nil, apierror.Invalidf(field("recordId"), "invalid_id", "record id %q is not a UUID", e.RecordID)
			}
			recordID[i] = &e.RecordID
		}
		if e.EventID != "" {
			if !isUUID(e.EventID) {
				return nil, apierror.Invalidf(field("eventId"), "invalid_id", "event id %q is not a UUID", e.EventID)
			}
			evID[i] = &e.EventID
			evIndex[i] = seen[e.EventID]
			seen[e.EventID]++
		}
		var err error
		if changes[i], err = jsonObject(e.Changes, field("changes")); err != nil {
			return nil, err
		}
		if details[i], err = jsonObject(e.Details, field("details")); err != nil {
			return nil, err
		}
		if !e.At.IsZero() {
			t := e.At
			at[i] = &t
		}
		actor[i], action[i], object[i], requestID[i], address[i] = e.Actor, e.Action, e.Object, e.RequestID, e.Address
	}
	return []any{at, actor, action, object, recordID, changes, requestID, address, details, evID, evIndex}, nil
}

// jsonObject returns raw as text for a jsonb column: nil when empty or
// null, an error unless it is a JSON object.
func jsonObject(raw json.RawMessage, field string) (*string, error) {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" {
		return nil, nil
	}
	if t[0] != '{' || !json.Valid(t) {
		return nil, apierror.Invalidf(field, "invalid_json", "%s must be a JSON object", field)
	}
	s := string(t)
	return &s, nil
}

// isUUID reports whether s is a UUID in its 36-character text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
