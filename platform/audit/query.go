package audit

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
)

// Query selects entries of one tenant's log. Set fields combine with AND.
type Query struct {
	// RecordID, Actor, Action and Object match exactly when set. Action
	// may end in "*" to match a prefix ("record.*" matches every record
	// action; "*" alone matches everything).
	RecordID, Actor, Action, Object string
	// From and To, when set, select entries with From <= At < To.
	From, To time.Time
	// After is the cursor a previous page returned: the page after it.
	After string
	// Limit is the page size, 1 to MaxLimit. Default DefaultLimit.
	Limit int
}

// Page sizes of List and History.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// defaultExportPage is how many entries Export reads per query.
const defaultExportPage = 1000

const entryColumns = `id, at, actor, action, object, coalesce(record_id::text, ''), changes, request_id, address, details, coalesce(event_id::text, '')`

func scanEntry(row pgx.CollectableRow) (Entry, error) {
	var e Entry
	var changes, details []byte
	err := row.Scan(&e.ID, &e.At, &e.Actor, &e.Action, &e.Object, &e.RecordID, &changes, &e.RequestID, &e.Address, &details, &e.EventID)
	if changes != nil {
		e.Changes = json.RawMessage(changes)
	}
	if details != nil {
		e.Details = json.RawMessage(details)
	}
	return e, err
}

// cursorPrefix versions the cursor format.
const cursorPrefix = "a1:"

func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.FormatInt(id, 10)))
}

func decodeCursor(s string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && strings.HasPrefix(string(raw), cursorPrefix) {
		id, perr := strconv.ParseInt(strings.TrimPrefix(string(raw), cursorPrefix), 10, 64)
		if perr == nil && id > 0 {
			return id, nil
		}
	}
	return 0, apierror.Invalidf("after", "invalid_cursor", "cursor %q is not one a previous page returned", s)
}

// where validates q and returns its conditions on table alias-less
// audit_log columns, with arguments numbered from $2 ($1 is the tenant).
// withPage adds the cursor.
func where(q Query, withPage bool) (string, []any, error) {
	conds := []string{"tenant_id = $1"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args)+1)
	}
	if q.RecordID != "" {
		if !isUUID(q.RecordID) {
			return "", nil, apierror.Invalidf("recordId", "invalid_id", "record id %q is not a UUID", q.RecordID)
		}
		conds = append(conds, "record_id = "+arg(q.RecordID)+"::uuid")
	}
	if q.Actor != "" {
		conds = append(conds, "actor = "+arg(q.Actor))
	}
	if q.Object != "" {
		conds = append(conds, "object = "+arg(q.Object))
	}
	if q.Action != "" && q.Action != "*" {
		prefix, wild := strings.CutSuffix(q.Action, "*")
		if strings.Contains(prefix, "*") {
			return "", nil, apierror.Invalidf("action", "invalid_action", "action %q may hold '*' only at its end", q.Action)
		}
		if wild {
			// A range on the C-collated column: the action index serves it.
			conds = append(conds, "action >= "+arg(prefix))
			if end, ok := prefixEnd(prefix); ok {
				conds = append(conds, "action < "+arg(end))
			}
		} else {
			conds = append(conds, "action = "+arg(q.Action))
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return "", nil, apierror.Invalidf("to", "invalid_range", "to (%s) is before from (%s)",
			q.To.UTC().Format(time.RFC3339Nano), q.From.UTC().Format(time.RFC3339Nano))
	}
	if !q.From.IsZero() {
		conds = append(conds, "at >= "+arg(q.From))
	}
	if !q.To.IsZero() {
		conds = append(conds, "at < "+arg(q.To))
	}
	if withPage {
		if q.Limit != 0 && (q.Limit < 1 || q.Limit > MaxLimit) {
			return "", nil, apierror.Invalidf("limit", "invalid_limit", "limit must be between 1 and %d, got %d", MaxLimit, q.Limit)
		}
		if q.After != "" {
			id, err := decodeCursor(q.After)
			if err != nil {
				return "", nil, err
			}
			conds = append(conds, "id < "+arg(id))
		}
	}
	return strings.Join(conds, " AND "), args, nil
}

// prefixEnd returns the least string greater than every string starting
// with prefix, in byte order; false if there is none (an empty prefix or
// one of 0xff bytes).
func prefixEnd(prefix string) (string, bool) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1]), true
		}
	}
	return "", false
}

// List returns one page of tenantID's entries that match q, newest (highest
// id) first, and the cursor of the next page ("" after the last page). It
// sends one statement, in one round trip. A bad Limit, cursor, RecordID or
// Action, or a To before From, is an Invalid error naming the field.
func (l *Log) List(ctx context.Context, tenantID string, q Query) ([]Entry, string, error) {
	cond, args, err := where(q, true)
	if err != nil {
		return nil, "", err
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	return l.page(ctx, tenantID, cond, args, limit)
}

// page runs one page of a validated query.
func (l *Log) page(ctx context.Context, tenantID, cond string, args []any, limit int) ([]Entry, string, error) {
	if tenantID == "" {
		return nil, "", database.ErrNoTenant
	}
	args = append(append([]any{tenantID}, args...), limit+1)
	b := &pgx.Batch{}
	b.Queue("SELECT "+entryColumns+" FROM audit_log WHERE "+cond+" ORDER BY id DESC LIMIT $"+strconv.Itoa(len(args)), args...)
	br, err := database.SendTenantBatch(ctx, l.pool, tenantID, b)
	if err != nil {
		return nil, "", fmt.Errorf("read audit log of tenant %s: %w", tenantID, err)
	}
	rows, err := br.Query()
	var out []Entry
	if err == nil {
		out, err = pgx.CollectRows(rows, scanEntry)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, "", fmt.Errorf("read audit log of tenant %s: %w", tenantID, err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(out[len(out)-1].ID)
	}
	if out == nil {
		out = []Entry{}
	}
	return out, next, nil
}

// History returns one page of every entry about one record, newest first,
// and the cursor of the next page ("" after the last): List with only
// RecordID set, one statement served by the record index.
func (l *Log) History(ctx context.Context, tenantID, recordID string, after string, limit int) ([]Entry, string, error) {
	if recordID == "" {
		return nil, "", apierror.Invalidf("recordId", "record_required", "a record id is required")
	}
	return l.List(ctx, tenantID, Query{RecordID: recordID, After: after, Limit: limit})
}

// Export writes every entry of tenantID that matches q (its Limit and
// After are ignored) to w as NDJSON, one Entry per line, newest first, and
// returns how many it wrote. It reads a page at a time and writes each
// page before reading the next, so its memory does not grow with the
// log; entries appended meanwhile are not included.
func (l *Log) Export(ctx context.Context, tenantID string, q Query, w io.Writer) (int, error) {
	cond, args, err := where(q, false)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	n := 0
	pageCond, pageArgs := cond, args
	for {
		entries, next, err := l.page(ctx, tenantID, pageCond, pageArgs, l.exportPage)
		if err != nil {
			return n, err
		}
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return n, fmt.Errorf("export audit log: %w", err)
			}
			n++
		}
		if err := bw.Flush(); err != nil {
			return n, fmt.Errorf("export audit log: %w", err)
		}
		if next == "" {
			return n, nil
		}
		last := entries[len(entries)-1].ID
		pageArgs = append(append([]any{}, args...), last)
		pageCond = cond + " AND id < $" + strconv.Itoa(len(pageArgs)+1)
	}
}
