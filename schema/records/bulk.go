package records

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/platform/outbox"
	"github.com/latticecrm/lattice/schema/model"
)

// Bulk writes (imports). An Importer writes rows in batches with a few
// set-based statements per batch instead of a few per record: one round
// trip reads what the batch needs (records to update, ids taken, lookup
// targets), Go validates every row with the same checks as Create and
// Update, and one round trip inserts the new records with one multi-row
// statement over arrays (unnest; the unique indexes reject duplicates, ON
// CONFLICT DO NOTHING) and updates the matched ones. Events go
// in the same transaction: appended per batch with outbox.AppendMany, or,
// for an all-or-nothing import, staged in a temporary table and appended at
// the end so the tenant's event sequence is locked only while committing.
// docs/import-export.md describes the behaviour.

// ImportOptions configures an import into one object.
type ImportOptions struct {
	// Object is the API name of the object the records belong to.
	Object string
	// UpsertOn is "" (every row creates a record), "id", or the API name of
	// a unique field: a row whose value matches a live record updates it
	// (ValidatePatch rules), any other row creates one.
	UpsertOn string
	// AllOrNothing writes every batch in one transaction that commits only
	// if no row was bad. Otherwise each batch is a transaction of its own
	// and bad rows are left out.
	AllOrNothing bool
	// Actor is recorded as createdBy/updatedBy and in events.
	Actor Actor
}

// ImportRow is one row of an import.
type ImportRow struct {
	// Row numbers the row in its file; it is only handed back in errors.
	Row int64
	// ID is the id a created record gets ("" for a new random one); with
	// UpsertOn "id" it names the record to update.
	ID string
	// Values are by field API name, as the API takes them (numbers as
	// json.Number); "owner" sets the owner. Write may change the map.
	Values map[string]any
	// Refs give lookups by a unique field of their target instead of an
	// id, by lookup field API name.
	Refs map[string]Ref
	// Violations found before the store (e.g. text that is not a number)
	// make the row bad; they are reported first, with the store's own about
	// the other fields (none if one of them names no field: the row could
	// not be read).
	Violations model.Violations

	prep *prepared // set by Prepare
}

// Ref names the record of a lookup's target whose unique field By holds
// Value (e.g. the Account whose website is "https://acme.example").
type Ref struct {
	By    string
	Value any
}

// RowError is a bad row and everything wrong with it.
type RowError struct {
	Row        int64
	Violations model.Violations
}

// ImportStats counts an import's rows so far. With AllOrNothing they count
// what the import has written in its open transaction.
type ImportStats struct {
	Created, Updated, Unchanged, Bad int64
}

// Importer writes one import's batches. It is not safe for concurrent use.
type Importer struct {
	s        *Store
	tenantID string
	opts     ImportOptions
	m        *model.Model
	o        *model.Object
	upsert   *model.Field // the unique field upserts match on (nil: none or id)
	byID     bool         // upserts match on id
	cols     []string     // slot columns, in slotValues order
	insertQ  string
	updateQ  string
	tx       pgx.Tx    // the all-or-nothing transaction
	staged   int64     // events staged in the temporary table
	numConn  *pgx.Conn // takes auto-numbers, in transactions of their own
	stats    ImportStats
	closed   bool
	failed   bool // a Write failed: an all-or-nothing import can only roll back
}

// Object returns the compiled definition of a tenant's object at the
// current schema version, or object_not_found: what tools that read or
// write files of records (schema/transfer) need to convert values.
func (s *Store) Object(ctx context.Context, tenantID, name string) (*model.Object, error) {
	_, o, err := s.object(ctx, tenantID, name)
	return o, err
}

// stageTable holds an all-or-nothing import's events until it commits.
const stageTable = "pg_temp.lattice_import_events"

// BeginImport starts an import into opts.Object. Close must be called: it
// commits an all-or-nothing import (if no row was bad) and releases it.
func (s *Store) BeginImport(ctx context.Context, tenantID string, opts ImportOptions) (*Importer, error) {
	if tenantID == "" {
		return nil, database.ErrNoTenant
	}
	for attempt := 0; ; attempt++ {
		m, o, err := s.object(ctx, tenantID, opts.Object)
		if err != nil {
			return nil, err
		}
		im := &Importer{s: s, tenantID: tenantID, opts: opts, m: m, o: o}
		if err := im.setUpsert(); err != nil {
			return nil, err
		}
		im.cols, _ = slotValues(o, nil)
		im.insertQ, im.updateQ = bulkInsertSQL(im.cols, "id::text"), updateSQL(im.cols)
		if !opts.AllOrNothing {
			return im, nil
		}
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return nil, fmt.Errorf("begin import: %w", err)
		}
		b := &pgx.Batch{}
		lockSchema(b, tenantID)
		b.Queue("CREATE TEMPORARY TABLE " + strings.TrimPrefix(stageTable, "pg_temp.") + " (ord bigint PRIMARY KEY, topic text NOT NULL, payload jsonb NOT NULL) ON COMMIT DROP")
		err = im.sendLocked(ctx, tx, b, nil)
		if errors.Is(err, errStaleSchema) && attempt < 2 {
			_ = tx.Rollback(ctx)
			continue
		}
		if err != nil {
			_ = tx.Rollback(ctx)
			return nil, err
		}
		im.tx = tx
		return im, nil
	}
}

func (im *Importer) setUpsert() error {
	switch name := im.opts.UpsertOn; {
	case name == "":
	case name == "id":
		im.byID = true
	default:
		f := im.o.Field(name)
		if f == nil || !f.Unique || f.UniqueSlot == "" || f.Kind == model.KindAutoNumber {
			return apierror.Invalidf("upsertOn", "invalid_upsert_field",
				"upsert needs id or a unique field of %s that can be written; %q is not one", im.o.APIName, name)
		}
		im.upsert = f
	}
	return nil
}

// Object is the object being imported into, as the import validates it.
func (im *Importer) Object() *model.Object { return im.o }

// Stats returns the counts so far.
func (im *Importer) Stats() ImportStats { return im.stats }

// lockSchema queues the tenant setting and the share lock on the tenant's
// schema row that every write holds (see Store.write).
//
// It also rules out sequential scans and plans every statement for its
// parameters and the table's current size (no cached generic plan): every
// statement of an import is an index probe or an insert, and a plan made
// while the records table looked empty must not stay as the import fills
// it. See probeSQL for what this does not cover.
func lockSchema(b *pgx.Batch, tenantID string) {
	b.Queue(database.SetTenantSQL, tenantID)
	b.Queue("SELECT version FROM tenant_schemas WHERE tenant_id = $1 FOR SHARE", tenantID)
	b.Queue("SET LOCAL enable_seqscan = off")
	b.Queue("SET LOCAL plan_cache_mode = force_custom_plan")
}

// probeSQL looks up many values at once, one index probe per element of
// $3 (text[]): where compares the column col with v.k. The LATERAL
// subquery (LIMIT 1: each value names at most one live record, col being
// unique or the id) cannot be flattened into a join, so every element is
// one probe. A unique slot's where must also say "uX IS NOT NULL AND
// deleted_at IS NULL", or its partial unique index cannot be used. It
// returns v.k and sel's columns.
//
// What the planner does with it depends on statistics: "col = ANY($3)"
// and joins with unnest($3) were planned as a scan of the object's range
// of an index per batch (23 ms a batch at 100,000 rows, and growing). In
// a database whose records table has never been analysed, even these
// probes go by the primary key over the object's range until autovacuum
// analyses the table (both indexes look equally good for "one row"), so
// unique values of new records are not probed at all: the unique indexes
// check them on insert. Upsert keys and lookups by unique field still are.
func probeSQL(sel, col, where, lock string) string {
	return "SELECT v.k, m.* FROM unnest($3::text[]) AS v(k), LATERAL (SELECT " + sel +
		" FROM records WHERE tenant_id = $1 AND object_id = $2 AND " + where + " ORDER BY " + col + " LIMIT 1" + lock + ") AS m"
}

// sendLocked sends b, which starts with lockSchema, checks the schema
// version and hands the remaining results to read.
func (im *Importer) sendLocked(ctx context.Context, tx pgx.Tx, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	br := tx.SendBatch(ctx, b)
	var version int
	_, err := br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&version)
	}
	for i := 0; i < 2 && err == nil; i++ {
		_, err = br.Exec()
	}
	if err == nil && version != im.m.Version {
		im.s.catalog.Invalidate(im.tenantID, version)
		err = errStaleSchema
	}
	if err == nil && read != nil {
		err = read(br)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// Close ends the import. An all-or-nothing import appends its staged
// events and commits if no row was bad and no Write failed, and rolls back
// otherwise; it
// reports whether it committed. Other imports committed batch by batch and
// report true.
func (im *Importer) Close(ctx context.Context) (committed bool, err error) {
	if im.closed {
		return false, errors.New("import already closed")
	}
	im.closed = true
	if im.numConn != nil {
		defer im.numConn.Close(context.WithoutCancel(ctx))
	}
	if im.tx == nil {
		return true, nil
	}
	if im.stats.Bad > 0 || im.failed || ctx.Err() != nil {
		// A cancelled context still rolls back, with a detached one.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		return false, im.tx.Rollback(rctx)
	}
	if _, err := outbox.AppendSelect(ctx, im.tx, im.tenantID, "SELECT ord, topic, payload FROM "+stageTable); err != nil {
		_ = im.tx.Rollback(context.WithoutCancel(ctx))
		return false, err
	}
	if err := im.tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("commit import: %w", err)
	}
	return true, nil
}

// Write validates and writes one batch of rows and returns the bad ones.
// An error is not about a row (the database failed, the schema changed):
// the import cannot go on. Rows that repeat an upsert key of the same
// batch are written after the earlier row, as if one at a time.
func (im *Importer) Write(ctx context.Context, rows []ImportRow) ([]RowError, error) {
	if im.closed {
		return nil, errors.New("import already closed")
	}
	if im.failed {
		return nil, errors.New("import failed earlier")
	}
	bad, err := im.write(ctx, rows)
	if err != nil {
		im.failed = true
	}
	return bad, err
}

func (im *Importer) write(ctx context.Context, rows []ImportRow) ([]RowError, error) {
	var bad []RowError
	todo := make([]*ImportRow, len(rows))
	for i := range rows {
		todo[i] = &rows[i]
	}
	var res batchResult
	if im.tx != nil {
		var err error
		if res, err = im.writeSegments(ctx, im.tx, todo, false); err != nil {
			return nil, err
		}
		if im.stats.Bad+int64(len(bad)+len(res.bad)) == 0 {
			if err := im.stage(ctx, res.topics, res.payloads); err != nil {
				return nil, err
			}
		}
	} else {
		err := pgx.BeginFunc(ctx, im.s.pool, func(tx pgx.Tx) error {
			var err error
			if res, err = im.writeSegments(ctx, tx, todo, true); err != nil {
				return err
			}
			return outbox.AppendMany(ctx, tx, im.tenantID, res.topics, res.payloads)
		})
		if errors.Is(err, errStaleSchema) {
			return nil, &apierror.Error{Kind: apierror.Conflict, Code: "schema_changed",
				Message: fmt.Sprintf("the schema of %s changed during the import; %d record(s) were created and %d updated before it", im.o.APIName, im.stats.Created, im.stats.Updated)}
		}
		if err != nil {
			return nil, err
		}
	}
	bad = append(bad, res.bad...)
	slices.SortFunc(bad, func(a, b RowError) int { return cmp.Compare(a.Row, b.Row) })
	im.stats.Created += res.created
	im.stats.Updated += res.updated
	im.stats.Unchanged += res.unchanged
	im.stats.Bad += int64(len(bad))
	return bad, nil
}

// stage keeps an all-or-nothing import's events until Close.
func (im *Importer) stage(ctx context.Context, topics []string, payloads []json.RawMessage) error {
	if len(topics) == 0 {
		return nil
	}
	bodies := make([]string, len(payloads))
	for i, p := range payloads {
		bodies[i] = string(p)
	}
	_, err := im.tx.Exec(ctx, "INSERT INTO "+stageTable+" (ord, topic, payload) SELECT $1 + t.n, t.topic, t.payload::jsonb FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS t(topic, payload, n)",
		im.staged, topics, bodies)
	if err != nil {
		return fmt.Errorf("stage import events: %w", err)
	}
	im.staged += int64(len(topics))
	return nil
}

// batchResult is what writing some rows did.
type batchResult struct {
	created, updated, unchanged int64
	bad                         []RowError
	topics                      []string
	payloads                    []json.RawMessage
}

func (r *batchResult) add(o batchResult) {
	r.created += o.created
	r.updated += o.updated
	r.unchanged += o.unchanged
	r.bad = append(r.bad, o.bad...)
	r.topics = append(r.topics, o.topics...)
	r.payloads = append(r.payloads, o.payloads...)
}

// writeSegments splits rows where an upsert key repeats, so a later row
// sees what an earlier one wrote, and writes each part in turn. lock
// queues the schema lock with the first part's reads.
func (im *Importer) writeSegments(ctx context.Context, tx pgx.Tx, rows []*ImportRow, lock bool) (batchResult, error) {
	var total batchResult
	for len(rows) > 0 {
		n := len(rows)
		if im.byID || im.upsert != nil {
			seen := make(map[string]bool, len(rows))
			for i, r := range rows {
				k := im.key(r)
				if k == "" {
					continue
				}
				if seen[k] {
					n = i
					break
				}
				seen[k] = true
			}
		}
		res, err := im.writeSegment(ctx, tx, rows[:n], lock)
		if err != nil {
			return batchResult{}, err
		}
		lock = false
		total.add(res)
		rows = rows[n:]
	}
	if lock { // no rows: still take the lock so a stale schema is noticed
		b := &pgx.Batch{}
		lockSchema(b, im.tenantID)
		if err := im.sendLocked(ctx, tx, b, nil); err != nil {
			return batchResult{}, err
		}
	}
	return total, nil
}

// key is the normalized upsert key of a row, or "" if it has none.
func (im *Importer) key(r *ImportRow) string {
	if im.byID {
		if model.IsUUID(r.ID) {
			return strings.ToLower(r.ID)
		}
		return ""
	}
	if im.upsert == nil {
		return ""
	}
	return uniqueKey(im.upsert, r.Values[im.upsert.APIName])
}

// uniqueKey is the unique-slot text of a value given for f, or "" if the
// value is missing or invalid (validation reports that).
func uniqueKey(f *model.Field, v any) string {
	if v == nil {
		return ""
	}
	vs, nv := f.Validate(v)
	if len(vs) > 0 || nv == nil {
		return ""
	}
	s, _ := f.UniqueValue(nv).(string)
	return s
}

// existing is a live record an upsert row matched, locked for update.
type existing struct {
	id      string
	stored  model.Values
	owner   string
	version int
}

// rowPlan is one row on its way to the database.
type rowPlan struct {
	row     *ImportRow
	match   *existing
	id      string
	vals    model.Values // the full new values by key
	owner   string
	changes map[string]Change
	vs      model.Violations
	data    []byte // vals as stored (JSON by key)
	values  []byte // vals by API name (JSON), for record.created
	event   []byte // the event's payload
}

// reads is what a segment learns from the database before validating.
type reads struct {
	matches map[string]*existing         // by upsert key
	ids     map[string]bool              // ids given for creates that exist
	refs    map[string]map[string]string // "lookup key/by key" -> unique text -> id
	targets map[string]bool              // "object key/id" of live lookup targets
}

func (im *Importer) writeSegment(ctx context.Context, tx pgx.Tx, rows []*ImportRow, lock bool) (batchResult, error) {
	o := im.o
	var res batchResult
	rd, err := im.read(ctx, tx, rows, lock)
	if err != nil {
		return res, err
	}
	if len(rows) == 0 {
		return res, nil
	}
	plans := make([]*rowPlan, 0, len(rows))
	seenUnique := map[string]map[string]bool{}
	seenID := map[string]bool{}
	for _, r := range rows {
		p := &rowPlan{row: r}
		if k := im.key(r); k != "" {
			p.match = rd.matches[k]
		}
		im.resolveRefs(p, rd)
		im.validate(p, rd)
		if len(p.vs) == 0 {
			im.checkUnique(p, rd, seenUnique, seenID)
		}
		if len(r.Violations) > 0 {
			// Found before the store: reported first, with the store's own
			// about other fields (a value that did not convert is missing,
			// which says nothing more about it).
			// A row that could not be read at all (no field named) has
			// nothing more to say.
			given := map[string]bool{}
			for _, v := range r.Violations {
				given[v.Field] = true
			}
			vs := append(model.Violations{}, r.Violations...)
			for _, v := range p.vs {
				if !given[""] && (v.Field == "" || !given[v.Field]) {
					vs = append(vs, v)
				}
			}
			p.vs = vs
		}
		if len(p.vs) > 0 {
			res.bad = append(res.bad, RowError{Row: r.Row, Violations: p.vs})
			continue
		}
		if p.match != nil && len(p.changes) == 0 {
			res.unchanged++
			continue
		}
		// Only good rows reserve their unique values for later rows.
		for _, f := range o.Fields {
			if f.Unique && f.UniqueSlot != "" {
				if u, ok := f.UniqueValue(p.vals[f.Key]).(string); ok {
					if seenUnique[f.Key] == nil {
						seenUnique[f.Key] = map[string]bool{}
					}
					seenUnique[f.Key][u] = true
				}
			}
		}
		seenID[p.id] = true
		plans = append(plans, p)
	}
	if err := im.number(ctx, plans); err != nil {
		return res, err
	}
	if err := im.encode(plans); err != nil {
		return res, err
	}
	written, failed, err := im.writePlans(ctx, tx, plans)
	if err != nil {
		return res, err
	}
	res.bad = append(res.bad, failed...)
	for _, p := range written {
		if p.match != nil {
			res.updated++
			res.topics = append(res.topics, TopicUpdated)
		} else {
			res.created++
			res.topics = append(res.topics, TopicCreated)
		}
		res.payloads = append(res.payloads, p.event)
	}
	return res, nil
}

// read sends, in one round trip, every query the segment's checks need.
func (im *Importer) read(ctx context.Context, tx pgx.Tx, rows []*ImportRow, lock bool) (*reads, error) {
	o := im.o
	rd := &reads{matches: map[string]*existing{}, ids: map[string]bool{},
		refs: map[string]map[string]string{}, targets: map[string]bool{}}
	b := &pgx.Batch{}
	if lock {
		lockSchema(b, im.tenantID)
	}
	// Records the upsert keys match, locked for update.
	if im.byID || im.upsert != nil {
		keys := make([]string, 0, len(rows))
		for _, r := range rows {
			if k := im.key(r); k != "" {
				keys = append(keys, k)
			}
		}
		if len(keys) > 0 {
			col, cond := "id", "id = v.k::uuid"
			if !im.byID {
				col, cond = im.upsert.UniqueSlot, im.upsert.UniqueSlot+" = v.k AND "+im.upsert.UniqueSlot+" IS NOT NULL"
			}
			b.Queue(probeSQL("id::text, data, coalesce(owner_id, ''), version", col, cond+" AND deleted_at IS NULL", " FOR UPDATE"),
				im.tenantID, o.Key, keys).Query(func(rows pgx.Rows) error {
				for rows.Next() {
					var k string
					var data []byte
					e := &existing{}
					if err := rows.Scan(&k, &e.id, &data, &e.owner, &e.version); err != nil {
						return err
					}
					stored, err := decodeData(data)
					if err != nil {
						return err
					}
					e.stored = stored
					rd.matches[k] = e
				}
				return rows.Err()
			})
		}
	}
	// Ids given for new records that are taken (deleted records too: the
	// primary key holds them).
	var ids []string
	for _, r := range rows {
		if r.ID != "" && model.IsUUID(r.ID) {
			ids = append(ids, strings.ToLower(r.ID))
		}
	}
	if len(ids) > 0 {
		b.Queue(probeSQL("id", "id", "id = v.k::uuid", ""),
			im.tenantID, o.Key, ids).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id string
				var found any
				if err := rows.Scan(&id, &found); err != nil {
					return err
				}
				rd.ids[id] = true
			}
			return rows.Err()
		})
	}
	// Lookups given by a unique field of their target, share-locked like
	// checkLookups does.
	type refQuery struct {
		lookup, by *model.Field
		vals       []string
	}
	refQs := map[string]*refQuery{}
	var order []string
	for _, r := range rows {
		for name, ref := range r.Refs {
			lookup, by, err := RefField(o, name, ref.By)
			if err != nil {
				continue // validate reports it
			}
			k := uniqueKey(by, ref.Value)
			if k == "" {
				continue
			}
			qk := lookup.Key + "/" + by.Key
			q := refQs[qk]
			if q == nil {
				q = &refQuery{lookup: lookup, by: by}
				refQs[qk] = q
				order = append(order, qk)
			}
			q.vals = append(q.vals, k)
		}
	}
	for _, qk := range order {
		q := refQs[qk]
		found := map[string]string{}
		rd.refs[qk] = found
		b.Queue(probeSQL("id::text", q.by.UniqueSlot, q.by.UniqueSlot+" = v.k AND "+q.by.UniqueSlot+" IS NOT NULL AND deleted_at IS NULL", " FOR SHARE"),
			im.tenantID, q.lookup.Target.Key, q.vals).Query(func(rows pgx.Rows) error { return collectPairs(rows, found) })
	}
	// Lookups given as ids: live records of the target in this tenant,
	// share-locked like checkLookups does. One query per target object, so
	// each is a primary-key probe whatever the statistics say.
	byTarget := map[string][]string{}
	var targets []string
	pairs := map[string]bool{}
	for _, r := range rows {
		for _, f := range o.Fields {
			if f.Kind != model.KindLookup || f.Target == nil {
				continue
			}
			if _, byRef := r.Refs[f.APIName]; byRef {
				continue
			}
			s, ok := r.Values[f.APIName].(string)
			if !ok || !model.IsUUID(s) {
				continue
			}
			s = strings.ToLower(s)
			if k := f.Target.Key + "/" + s; !pairs[k] {
				pairs[k] = true
				if byTarget[f.Target.Key] == nil {
					targets = append(targets, f.Target.Key)
				}
				byTarget[f.Target.Key] = append(byTarget[f.Target.Key], s)
			}
		}
	}
	for _, t := range targets {
		b.Queue(probeSQL("id", "id", "id = v.k::uuid AND deleted_at IS NULL", " FOR SHARE"),
			im.tenantID, t, byTarget[t]).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var k string
				var found any
				if err := rows.Scan(&k, &found); err != nil {
					return err
				}
				rd.targets[t+"/"+k] = true
			}
			return rows.Err()
		})
	}
	if b.Len() == 0 {
		return rd, nil
	}
	var err error
	if lock {
		err = im.sendLocked(ctx, tx, b, func(br pgx.BatchResults) error { return nil })
	} else {
		err = tx.SendBatch(ctx, b).Close()
	}
	if err != nil && !errors.Is(err, errStaleSchema) {
		err = fmt.Errorf("import %s: read: %w", o.APIName, err)
	}
	return rd, err
}

func collectPairs(rows pgx.Rows, into map[string]string) error {
	for rows.Next() {
		var k, id string
		if err := rows.Scan(&k, &id); err != nil {
			return err
		}
		into[k] = id
	}
	return rows.Err()
}

// RefField checks that a lookup of o can be given by the unique field by
// of its target ("account" by "website") and returns both fields.
func RefField(o *model.Object, lookup, by string) (*model.Field, *model.Field, error) {
	lf := o.Field(lookup)
	if lf == nil || lf.Kind != model.KindLookup || lf.Target == nil {
		return nil, nil, apierror.Invalidf(lookup, "invalid_lookup_ref", "%s has no lookup field %q", o.APIName, lookup)
	}
	bf := lf.Target.Field(by)
	if bf == nil || !bf.Unique || bf.UniqueSlot == "" {
		return nil, nil, apierror.Invalidf(lookup, "invalid_lookup_ref",
			"%s.%s can be given by id or by a unique field of %s; %q is not one", o.APIName, lookup, lf.Target.APIName, by)
	}
	return lf, bf, nil
}

// resolveRefs turns a row's Refs into ids in its Values, or violations.
func (im *Importer) resolveRefs(p *rowPlan, rd *reads) {
	for name, ref := range p.row.Refs {
		lookup, by, err := RefField(im.o, name, ref.By)
		if err != nil {
			p.vs = append(p.vs, model.Violation{Path: "/" + name, Field: name, Rule: "lookup", Value: ref.Value, Message: err.(*apierror.Error).Message})
			continue
		}
		if p.row.Values == nil {
			p.row.Values = map[string]any{}
		}
		if ref.Value == nil {
			p.row.Values[name] = nil
			continue
		}
		id, ok := rd.refs[lookup.Key+"/"+by.Key][uniqueKey(by, ref.Value)]
		if !ok {
			p.vs = append(p.vs, model.Violation{Path: "/" + name, Field: name, Rule: "lookup", Value: ref.Value,
				Message: fmt.Sprintf("no %s record with %s %v", lookup.Target.APIName, by.APIName, ref.Value)})
			continue
		}
		p.row.Values[name] = id
	}
}

// validate checks a row as Create (or Update, for a match) would and
// plans its new values.
func (im *Importer) validate(p *rowPlan, rd *reads) {
	o, r := im.o, p.row
	values := r.Values
	if values == nil {
		values = map[string]any{}
	}
	owner, ownerGiven := "", false
	if v, ok := values["owner"]; ok {
		ownerGiven = true
		if v != nil {
			s, ok := v.(string)
			if !ok || !model.IsUUID(s) {
				p.vs = append(p.vs, model.Violation{Path: "/owner", Field: "owner", Rule: "format", Value: v, Message: "owner must be a user id (a UUID)"})
			} else {
				owner = strings.ToLower(s)
			}
		}
	}
	if r.ID != "" && !model.IsUUID(r.ID) {
		p.vs = append(p.vs, model.Violation{Path: "/id", Field: "id", Rule: "format", Value: r.ID, Message: "id must be a UUID"})
	}
	var checked model.Values // the values whose lookups must exist
	if p.match != nil {
		patch, vs := o.ValidatePatch(values)
		p.vs = append(p.vs, vs...)
		p.id = p.match.id
		if r.ID != "" && !strings.EqualFold(r.ID, p.id) {
			p.vs = append(p.vs, model.Violation{Path: "/id", Field: "id", Rule: "upsert", Value: r.ID,
				Message: fmt.Sprintf("id %s differs from the id %s of the %s record whose %s matches", r.ID, p.id, o.APIName, im.opts.UpsertOn)})
		}
		var next model.Values
		next, p.changes = applyPatch(o, p.match.stored, patch)
		p.owner = p.match.owner
		if ownerGiven && owner != p.match.owner {
			p.changes["owner"] = Change{Old: nilIfEmpty(p.match.owner), New: nilIfEmpty(owner)}
			p.owner = owner
		}
		p.vals, checked = next, patch
	} else {
		if r.prep == nil || r.prep.im != im || len(r.Refs) > 0 {
			r.prep = im.prepare(r)
		}
		pr := r.prep
		p.vs = append(p.vs, pr.vs...)
		p.vals, checked, p.owner, p.id, p.data, p.values = pr.vals, pr.vals, owner, pr.id, pr.data, pr.values
	}
	// Lookups given as ids must name live records of this tenant; another
	// tenant's record is invisible, so it reads exactly like a missing one.
	for _, f := range o.Fields {
		if f.Kind != model.KindLookup || f.Target == nil {
			continue
		}
		if _, byRef := r.Refs[f.APIName]; byRef {
			continue // resolved to a live record by resolveRefs
		}
		if id, ok := checked[f.Key].(string); ok && !rd.targets[f.Target.Key+"/"+id] {
			p.vs = append(p.vs, model.Violation{Path: "/" + f.APIName, Field: f.APIName, Rule: "lookup", Value: id,
				Message: fmt.Sprintf("no %s record %s", f.Target.APIName, id)})
		}
	}
}

// checkUnique reports unique values an earlier good row of the segment
// already holds, and ids already taken. Values stored records hold are
// found by the unique indexes when the rows are inserted (send), or
// updated (a unique violation, written row by row).
func (im *Importer) checkUnique(p *rowPlan, rd *reads, seen map[string]map[string]bool, seenID map[string]bool) {
	o := im.o
	for _, f := range o.Fields {
		if !f.Unique || f.UniqueSlot == "" {
			continue
		}
		v := p.vals[f.Key]
		u, ok := f.UniqueValue(v).(string)
		if !ok {
			continue
		}
		if seen[f.Key][u] {
			p.vs = append(p.vs, model.Violation{Path: "/" + f.APIName, Field: f.APIName, Rule: "unique", Value: v,
				Message: fmt.Sprintf("another %s record already has %s %v", o.APIName, f.APIName, v)})
		}
	}
	if p.match == nil && (rd.ids[p.id] || seenID[p.id]) {
		p.vs = append(p.vs, model.Violation{Path: "/id", Field: "id", Rule: "unique", Value: p.id,
			Message: fmt.Sprintf("a %s record with id %s already exists", o.APIName, p.id)})
	}
}

// number fills the autoNumber fields of the new records, reserving as many
// numbers as there are in one statement per field. Like Store.number it
// runs in a transaction of its own, on a connection of the import's own
// (never a second pooled one): a failed import leaves a gap.
func (im *Importer) number(ctx context.Context, plans []*rowPlan) error {
	var creates []*rowPlan
	for _, p := range plans {
		if p.match == nil {
			creates = append(creates, p)
		}
	}
	if len(creates) == 0 {
		return nil
	}
	var fields []*model.Field
	for _, f := range im.o.Fields {
		if f.Kind == model.KindAutoNumber {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil
	}
	n := int64(len(creates))
	last := make([]int64, len(fields))
	b := &pgx.Batch{}
	for i, f := range fields {
		b.Queue(`INSERT INTO autonumber_counters AS c (tenant_id, object_id, field_key, last_value) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id, object_id, field_key) DO UPDATE SET last_value = c.last_value + $4 RETURNING last_value`,
			im.tenantID, im.o.Key, f.Key, n).QueryRow(func(row pgx.Row) error { return row.Scan(&last[i]) })
	}
	if im.numConn == nil {
		// A connection of the import's own, not the pool's: waiting for a
		// second pooled connection while holding one could deadlock.
		conn, err := pgx.ConnectConfig(ctx, im.s.pool.Config().ConnConfig.Copy())
		if err != nil {
			return fmt.Errorf("number %s: connect: %w", im.o.APIName, err)
		}
		im.numConn = conn
	}
	full := &pgx.Batch{}
	full.Queue(database.SetTenantSQL, im.tenantID)
	full.QueuedQueries = append(full.QueuedQueries, b.QueuedQueries...)
	if err := im.numConn.SendBatch(ctx, full).Close(); err != nil {
		return fmt.Errorf("number %s: %w", im.o.APIName, err)
	}
	for i, f := range fields {
		first := last[i] - n + 1
		for j, p := range creates {
			v := f.FormatAutoNumber(first + int64(j))
			p.vals[f.Key] = v
			if p.data != nil {
				p.data = spliceJSON(p.data, f.Key, v)
			}
			if p.values != nil {
				p.values = spliceJSON(p.values, f.APIName, v)
			}
		}
	}
	return nil
}

// spliceJSON adds a string member to an encoded JSON object (jsonb keeps
// its own key order, so where it goes does not matter).
func spliceJSON(obj []byte, key, val string) []byte {
	k, _ := json.Marshal(key)
	v, _ := json.Marshal(val)
	out := make([]byte, 0, len(obj)+len(k)+len(v)+2)
	out = append(out, obj[:len(obj)-1]...)
	if len(obj) > 2 {
		out = append(out, ',')
	}
	out = append(out, k...)
	out = append(out, ':')
	out = append(out, v...)
	return append(out, '}')
}

// prepared is what Prepare learns of a row without the database: its
// values checked as a new record and encoded. It stands unless the row
// turns out to update a record.
type prepared struct {
	im     *Importer
	vals   model.Values
	vs     model.Violations
	id     string
	data   []byte
	values []byte
}

// Prepare validates rows as new records and encodes them, which is most
// of the work Write does outside the database, so that a caller can do it
// for the next batch while Write waits on the database for this one. It
// uses no connection; it must not run on rows that Write is writing.
// Write prepares rows that were not.
func (im *Importer) Prepare(rows []ImportRow) {
	for i := range rows {
		r := &rows[i]
		if r.prep == nil && len(r.Refs) == 0 {
			r.prep = im.prepare(r)
		}
	}
}

func (im *Importer) prepare(r *ImportRow) *prepared {
	values := r.Values
	if values == nil {
		values = map[string]any{}
	}
	p := &prepared{im: im, id: strings.ToLower(r.ID)}
	if p.id == "" {
		p.id = uuid.NewString()
	}
	p.vals, p.vs = im.o.ValidateCreate(values)
	if len(p.vs) == 0 {
		p.data, _ = encodeData(p.vals)
		p.values, _ = json.Marshal(apiValues(im.o, p.vals))
	}
	return p
}

// encode completes each plan's stored JSON and event payload.
func (im *Importer) encode(plans []*rowPlan) error {
	o := im.o
	head := func(id string, version int) []byte {
		b := make([]byte, 0, 256)
		b = append(b, `{"object":`...)
		b = appendJSONString(b, o.APIName)
		b = append(b, `,"objectId":`...)
		b = appendJSONString(b, o.Key)
		b = append(b, `,"id":`...)
		b = appendJSONString(b, id)
		b = append(b, `,"version":`...)
		b = fmt.Appendf(b, "%d", version)
		b = append(b, `,"actor":`...)
		return appendJSONString(b, string(im.opts.Actor))
	}
	for _, p := range plans {
		var err error
		if p.data == nil {
			if p.data, err = encodeData(p.vals); err != nil {
				return err
			}
		}
		if p.match != nil {
			changes, err := json.Marshal(p.changes)
			if err != nil {
				return err
			}
			p.event = append(append(append(head(p.id, p.match.version+1), `,"changes":`...), changes...), '}')
			continue
		}
		if p.values == nil {
			if p.values, err = json.Marshal(apiValues(o, p.vals)); err != nil {
				return err
			}
		}
		p.event = append(append(append(head(p.id, 1), `,"values":`...), p.values...), '}')
	}
	return nil
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

// writePlans inserts and updates the planned rows with one statement each.
// If that fails on a row's data (a unique value taken meanwhile by another
// writer, say), it rolls back to a savepoint and writes the rows one by
// one, each behind a savepoint, so that only the rows at fault are bad.
func (im *Importer) writePlans(ctx context.Context, tx pgx.Tx, plans []*rowPlan) (written []*rowPlan, bad []RowError, err error) {
	if len(plans) == 0 {
		return nil, nil, nil
	}
	skipped, err := im.send(ctx, tx, plans)
	if err == nil {
		for _, p := range plans {
			if skipped[p.id] {
				bad = append(bad, RowError{Row: p.row.Row, Violations: im.conflict(ctx, tx, p)})
			} else {
				written = append(written, p)
			}
		}
		return written, bad, nil
	}
	if !isDataError(err) {
		return nil, nil, err
	}
	for _, p := range plans {
		skipped, err := im.send(ctx, tx, []*rowPlan{p})
		switch {
		case err == nil && skipped[p.id]:
			bad = append(bad, RowError{Row: p.row.Row, Violations: im.conflict(ctx, tx, p)})
		case err == nil:
			written = append(written, p)
		case isDataError(err):
			bad = append(bad, RowError{Row: p.row.Row, Violations: im.dataViolation(p, err)})
		default:
			return nil, nil, err
		}
	}
	return written, bad, nil
}

// send writes plans behind a savepoint, rolling back to it on failure. It
// returns the ids of new records the database did not insert because a
// unique index already holds one of their values (ON CONFLICT DO NOTHING:
// the unique indexes themselves check every new row, with no query to
// plan).
func (im *Importer) send(ctx context.Context, tx pgx.Tx, plans []*rowPlan) (map[string]bool, error) {
	ins := newColumns(len(im.cols))
	b := &pgx.Batch{}
	b.Queue("SAVEPOINT lattice_import")
	for _, p := range plans {
		if p.match != nil {
			// Updates go one statement each, a primary-key lookup whatever
			// the statistics say (a join with an array could be planned as
			// a scan of the object's records).
			_, slotArgs := slotValues(im.o, p.vals)
			args := append([]any{im.tenantID, im.o.Key, p.id, p.data, string(im.opts.Actor), p.owner}, slotArgs...)
			b.Queue(im.updateQ, args...).Exec(func(ct pgconn.CommandTag) error {
				if ct.RowsAffected() != 1 {
					return fmt.Errorf("update %s %s: the locked record is gone", im.o.APIName, p.id)
				}
				return nil
			})
			continue
		}
		c := ins
		c.ids = append(c.ids, p.id)
		c.data = append(c.data, string(p.data))
		c.owners = append(c.owners, p.owner)
		_, slotArgs := slotValues(im.o, p.vals)
		for i, a := range slotArgs {
			c.slots[i] = append(c.slots[i], slotText(a))
		}
	}
	var skipped map[string]bool
	if len(ins.ids) > 0 {
		b.Queue(im.insertQ, ins.args(im.tenantID, im.o.Key, string(im.opts.Actor))...).Query(func(rows pgx.Rows) error {
			inserted := make(map[string]bool, len(ins.ids))
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				inserted[id] = true
			}
			if err := rows.Err(); err != nil {
				return err
			}
			for _, id := range ins.ids {
				if !inserted[id] {
					if skipped == nil {
						skipped = map[string]bool{}
					}
					skipped[id] = true
				}
			}
			return nil
		})
	}
	b.Queue("RELEASE SAVEPOINT lattice_import")
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		if _, rerr := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT lattice_import; RELEASE SAVEPOINT lattice_import"); rerr != nil {
			return nil, fmt.Errorf("%w (and rolling back to the savepoint: %v)", err, rerr)
		}
		return nil, err
	}
	return skipped, nil
}

// conflict says which value of a new record a unique index already held:
// its id, or the unique field whose value another live record has.
func (im *Importer) conflict(ctx context.Context, tx pgx.Tx, p *rowPlan) model.Violations {
	o := im.o
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM records WHERE tenant_id = $1 AND object_id = $2 AND id = $3)", im.tenantID, o.Key, p.id).Scan(&exists); err == nil && exists {
		return model.Violations{{Path: "/id", Field: "id", Rule: "unique", Value: p.id,
			Message: fmt.Sprintf("a %s record with id %s already exists", o.APIName, p.id)}}
	}
	var candidates []*model.Field
	for _, f := range o.Fields {
		if f.Unique && f.UniqueSlot != "" && p.vals[f.Key] != nil {
			candidates = append(candidates, f)
		}
	}
	for _, f := range candidates {
		if len(candidates) > 1 {
			err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM records WHERE tenant_id = $1 AND object_id = $2 AND "+f.UniqueSlot+" = $3 AND "+f.UniqueSlot+" IS NOT NULL AND deleted_at IS NULL)",
				im.tenantID, o.Key, f.UniqueValue(p.vals[f.Key])).Scan(&exists)
			if err != nil || !exists {
				continue
			}
		}
		v := p.vals[f.Key]
		return model.Violations{{Path: "/" + f.APIName, Field: f.APIName, Rule: "unique", Value: v,
			Message: fmt.Sprintf("another %s record already has %s %v", o.APIName, f.APIName, v)}}
	}
	return model.Violations{{Rule: "unique", Message: fmt.Sprintf("another %s record already has one of this record's unique values", o.APIName)}}
}

// columns are the arrays one multi-row statement takes.
type columns struct {
	ids, data, owners []string
	slots             [][]*string
}

func newColumns(n int) *columns { return &columns{slots: make([][]*string, n)} }

func (c *columns) args(tenantID, objectID, actor string) []any {
	args := []any{tenantID, objectID, actor, c.ids, c.data, c.owners}
	for _, s := range c.slots {
		args = append(args, s)
	}
	return args
}

// slotText renders a slot value as text for a typed cast in SQL.
func slotText(v any) *string {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return &x
	case time.Time:
		s := x.UTC().Format(time.RFC3339Nano)
		return &s
	default:
		s := fmt.Sprint(x)
		return &s
	}
}

// bulkInsertSQL inserts one record per element of the arrays $4 (ids), $5
// (data), $6 (owners) and $7... (slot columns, as text), skipping those a
// unique index refuses, and returns the inserted ones' columns returning.
func bulkInsertSQL(cols []string, returning string) string {
	var names, sel, params, alias strings.Builder
	for i, c := range cols {
		fmt.Fprintf(&names, ", %s", c)
		fmt.Fprintf(&sel, ", v.%s::%s", c, model.SlotSQLType(c))
		fmt.Fprintf(&params, ", $%d::text[]", 7+i)
		fmt.Fprintf(&alias, ", %s", c)
	}
	return "INSERT INTO records (tenant_id, object_id, id, data, created_by, updated_by, owner_id" + names.String() + ")" +
		" SELECT $1, $2, v.id::uuid, v.data::jsonb, $3, $3, NULLIF(v.owner, '')" + sel.String() +
		" FROM unnest($4::text[], $5::text[], $6::text[]" + params.String() + ") AS v(id, data, owner" + alias.String() + ")" +
		" ON CONFLICT DO NOTHING RETURNING " + returning
}

// isDataError reports whether err is about the data written (integrity or
// data exception), as opposed to the connection or the statement.
func isDataError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "23") || strings.HasPrefix(pgErr.Code, "22"))
}

// dataViolation describes the database's refusal of one row.
func (im *Importer) dataViolation(p *rowPlan, err error) model.Violations {
	if database.IsCode(err, database.UniqueViolation) {
		c := database.ConstraintViolated(err)
		if f := fieldForConstraint(im.o, c); f != nil {
			v := p.vals[f.Key]
			return model.Violations{{Path: "/" + f.APIName, Field: f.APIName, Rule: "unique", Value: v,
				Message: fmt.Sprintf("another %s record already has %s %v", im.o.APIName, f.APIName, v)}}
		}
		if c == "records_pkey" {
			return model.Violations{{Path: "/id", Field: "id", Rule: "unique", Value: p.id,
				Message: fmt.Sprintf("a %s record with id %s already exists", im.o.APIName, p.id)}}
		}
	}
	var pgErr *pgconn.PgError
	errors.As(err, &pgErr)
	return model.Violations{{Path: "", Rule: "database", Message: pgErr.Message}}
}

// UniqueValues returns, for the live records of target among ids, the
// value of their field by (by id), for exports that show a lookup by a
// unique field of its target. Missing or deleted records are left out.
func (s *Store) UniqueValues(ctx context.Context, tenantID string, target *model.Object, by *model.Field, ids []string) (map[string]any, error) {
	out := make(map[string]any, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	b := &pgx.Batch{}
	b.Queue("SELECT v.k, m.v FROM unnest($3::text[]) AS v(k), LATERAL (SELECT data -> $4 AS v FROM records WHERE tenant_id = $1 AND object_id = $2 AND id = v.k::uuid AND deleted_at IS NULL ORDER BY id LIMIT 1) AS m",
		tenantID, target.Key, ids, by.Key)
	br, err := database.SendTenantBatch(ctx, s.pool, tenantID, b)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", target.APIName, by.APIName, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var raw []byte
		if err := rows.Scan(&id, &raw); err != nil {
			return nil, err
		}
		if raw == nil {
			continue
		}
		v, err := model.DecodeJSON(raw)
		if err != nil {
			return nil, err
		}
		out[id] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read %s.%s: %w", target.APIName, by.APIName, err)
	}
	return out, nil
}
