package dataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/records"
)

// mutate runs the root fields of a mutation one after the other, as the
// spec requires. Each is one transaction in the record store; its
// selection is then read back in one statement, so it reflects the write.
// A failed field is null with an error; later fields still run.
func (api *API) mutate(ctx context.Context, s *Schema, caller Caller, op *ast.OperationDefinition, vars map[string]any) *Response {
	var entries []rootEntry
	var values [][]byte
	var errs gqlerror.List
	nullData := false
	for _, f := range collect(op.SelectionSet, "Mutation", nil, vars) {
		e := rootEntry{field: f}
		if f.Name == "__typename" {
			entries, values = append(entries, e), append(values, []byte(`"Mutation"`))
			continue
		}
		v, err := api.mutation(ctx, s, caller, s.mutations[f.Name], f, vars)
		if err != nil {
			errs = append(errs, api.fieldError(ctx, f, err))
			nullData = true // every mutation field is non-null: the error propagates to data
			v = nil
		}
		entries, values = append(entries, e), append(values, v)
	}
	if nullData {
		return &Response{Data: json.RawMessage("null"), Errors: errs}
	}
	return &Response{Data: assemble(entries, values)}
}

// mutation runs one mutation field and returns its JSON. Its selection
// is planned first (readBack), so that a selection the planner refuses
// fails before anything is written.
func (api *API) mutation(ctx context.Context, s *Schema, caller Caller, rf rootField, f *ast.Field, vars map[string]any) ([]byte, error) {
	t := rf.obj
	if t == nil {
		return nil, badInput(nil, "%s is not a mutation", f.Name)
	}
	args := arguments(f, vars)
	name := t.obj.APIName
	switch rf.kind {
	case mutCreate:
		in, err := t.input(args["input"], []any{"input"})
		if err != nil {
			return nil, err
		}
		in = ownedBy(in, caller)
		rb, err := api.readBack(s, caller, vars, func(c *compiler, ids string) (string, error) {
			return c.byID(t, f.SelectionSet, ids, false)
		})
		if err != nil {
			return nil, err
		}
		rec, err := api.store.Create(ctx, caller.TenantID, caller.Actor, name, in)
		if err != nil {
			return nil, inArgument(err, "input")
		}
		return rb.one(ctx, api, caller.TenantID, rec.ID)
	case mutUpdate, mutDelete, mutRestore, mutAddTags, mutRemoveTags:
		return api.recordMutation(ctx, s, caller, rf, f, vars, args)
	case mutCreateMany, mutUpsertMany:
		inputs, err := t.inputs(args["inputs"], api.limits.MaxBulk)
		if err != nil {
			return nil, err
		}
		if rf.kind == mutUpsertMany {
			on, _ := args["on"].(string)
			return api.upsert(ctx, s, caller, t, f, vars, on, inputs)
		}
		for i, in := range inputs {
			inputs[i] = ownedBy(in, caller)
		}
		rb, err := api.readBack(s, caller, vars, func(c *compiler, ids string) (string, error) {
			return c.byIDs(t, f.SelectionSet, ids, len(inputs))
		})
		if err != nil {
			return nil, err
		}
		recs, err := api.store.CreateMany(ctx, caller.TenantID, caller.Actor, name, inputs)
		if err != nil {
			return nil, inArgument(err, "inputs")
		}
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		return rb.one(ctx, api, caller.TenantID, ids)
	case mutUpdateMany, mutDeleteMany:
		return api.bulkMutation(ctx, s, caller, rf, f, vars, args)
	}
	return nil, badInput(nil, "%s is not a mutation", f.Name)
}

// recordMutation runs a mutation of one record by id: update, delete,
// restore, add and remove tags.
func (api *API) recordMutation(ctx context.Context, s *Schema, caller Caller, rf rootField, f *ast.Field, vars, args map[string]any) ([]byte, error) {
	t, name := rf.obj, rf.obj.obj.APIName
	id, err := idArg(args, "id")
	if err != nil {
		return nil, err
	}
	expected, err := intArg(args, "expectedVersion")
	if err != nil {
		return nil, err
	}
	var in map[string]any
	var tagList []string
	switch rf.kind {
	case mutUpdate:
		if in, err = t.input(args["input"], []any{"input"}); err != nil {
			return nil, err
		}
	case mutAddTags, mutRemoveTags:
		if tagList, err = stringList(args["tags"], []any{"tags"}); err != nil {
			return nil, err
		}
	}
	rb, err := api.readBack(s, caller, vars, func(c *compiler, ids string) (string, error) {
		return c.byID(t, f.SelectionSet, ids, true)
	})
	if err != nil {
		return nil, err
	}
	if err := api.visible(ctx, s, caller, t, id, rf.kind == mutRestore); err != nil {
		return nil, err
	}
	switch rf.kind {
	case mutUpdate:
		_, err = api.store.Update(ctx, caller.TenantID, caller.Actor, name, id, in, expected)
		err = inArgument(err, "input")
	case mutDelete:
		err = api.store.Delete(ctx, caller.TenantID, caller.Actor, name, id, expected)
	case mutRestore:
		_, err = api.store.Restore(ctx, caller.TenantID, caller.Actor, name, id)
	case mutAddTags:
		_, err = api.tags.Apply(ctx, caller.TenantID, caller.Actor, name, id, tagList, nil)
		err = tagError(err, tagList)
	case mutRemoveTags:
		_, err = api.tags.Apply(ctx, caller.TenantID, caller.Actor, name, id, nil, tagList)
		err = tagError(err, tagList)
	}
	if err != nil {
		return nil, err
	}
	return rb.one(ctx, api, caller.TenantID, id)
}

// tagError reports a tag the tags service refuses (unknown, or not for
// this object) as BAD_USER_INPUT at the tag in the tags argument: the
// service's NOT_FOUND for an unknown tag would read as the record not
// being found.
func tagError(err error, tagList []string) error {
	ae, ok := apierror.As(err)
	if !ok || ae.Field != "add" && ae.Field != "remove" {
		return err
	}
	path := []any{"tags"}
	for i, tag := range tagList {
		if strings.Contains(ae.Message, strconv.Quote(tag)) {
			path = append(path, i)
			break
		}
	}
	return &inputError{code: CodeBadUserInput, message: ae.Message, args: path}
}

// bulkMutation runs updateMany and deleteMany.
func (api *API) bulkMutation(ctx context.Context, s *Schema, caller Caller, rf rootField, f *ast.Field, vars, args map[string]any) ([]byte, error) {
	t, name := rf.obj, rf.obj.obj.APIName
	where, err := api.bulkWhere(s, t, args["where"])
	if err != nil {
		return nil, err
	}
	if rf.kind == mutDeleteMany {
		ids, err := api.store.DeleteMany(ctx, caller.TenantID, caller.Actor, name, where, api.limits.MaxBulk)
		if err != nil {
			return nil, api.bulkLimit(err, api.limits.MaxBulk, "MaxBulk")
		}
		return deleteResult(f, vars, ids), nil
	}
	set, err := t.input(args["set"], []any{"set"})
	if err != nil {
		return nil, err
	}
	rb, err := api.readBack(s, caller, vars, func(c *compiler, ids string) (string, error) {
		return c.byIDs(t, f.SelectionSet, ids, 1)
	})
	if err != nil {
		return nil, err
	}
	// The selection costs rb.cost per record: at most MaxCost/cost records
	// can be returned, so the store refuses to change more than that
	// before it writes anything.
	limit, limitName := api.limits.MaxBulk, "MaxBulk"
	if rb.cost > 0 && api.limits.MaxCost/rb.cost < limit {
		limit, limitName = max(api.limits.MaxCost/rb.cost, 1), "MaxCost"
	}
	recs, err := api.store.UpdateMany(ctx, caller.TenantID, caller.Actor, name, where, set, limit)
	if err != nil {
		return nil, api.bulkLimit(inArgument(err, "set"), limit, limitName)
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	return rb.one(ctx, api, caller.TenantID, ids)
}

// bulkLimit reports the record store refusing a bulk write that matches
// more records than limit as LIMIT_EXCEEDED naming the API's limit; other
// errors pass.
func (api *API) bulkLimit(err error, limit int, limitName string) error {
	var ae *apierror.Error
	if errors.As(err, &ae) && ae.Code == "limit_exceeded" {
		return limitError([]any{"where"}, "more than %d records meet where; one bulk mutation changes at most %d (%s): narrow where", limit, limit, limitName)
	}
	return err
}

// readBack is the read of a mutation's result, planned before the write:
// a selection the planner refuses (a limit, a bad nested argument) then
// fails before anything is written. The written id or ids are bound as $2
// once known.
type readBack struct {
	c    *compiler
	sql  string
	cost int // the estimated records the selection reads per written record
}

// readBack plans a mutation's result with build, which renders it for the
// written ids in parameter ids.
func (api *API) readBack(s *Schema, caller Caller, vars map[string]any, build func(c *compiler, ids string) (string, error)) (*readBack, error) {
	c := newCompiler(s, caller.TenantID, vars, api.limits, time.Now())
	ids := c.arg(nil)
	sql, err := build(c, ids)
	if err != nil {
		return nil, err
	}
	return &readBack{c: c, sql: sql, cost: c.cost}, nil
}

// one runs the read for the written ids (a string or a []string). A
// written record the caller cannot read (the write gave it another owner,
// say) is an error: every mutation field is non-null, and a silent null
// would hide that the write happened.
func (rb *readBack) one(ctx context.Context, api *API, tenantID string, ids any) ([]byte, error) {
	rb.c.args[1] = ids
	v, err := api.one(ctx, tenantID, rb.sql, rb.c.args)
	if err == nil && string(v) == "null" {
		return nil, apierror.New(apierror.Forbidden, "written_outside_scope",
			"the write was made (%v), but its result is outside the records you may read", ids)
	}
	return v, err
}

// bulkWhere compiles a bulk mutation's filter and ands the caller's scope,
// in the condition language the record store takes.
func (api *API) bulkWhere(s *Schema, t *objectType, v any) (json.RawMessage, error) {
	raw, err := s.filterJSON(t, v, []any{"where"})
	if err != nil {
		return nil, err
	}
	if s.Scope.Records != nil {
		if sc := s.Scope.Records(t.obj); len(sc) > 0 {
			raw = json.RawMessage(`{"and":[` + string(raw) + `,` + string(sc) + `]}`)
		}
	}
	return raw, nil
}

// visible checks that the record exists (deleted, for a restore) and is in
// the caller's scope: a record outside it is NOT_FOUND, never FORBIDDEN, so
// its existence does not leak.
func (api *API) visible(ctx context.Context, s *Schema, caller Caller, t *objectType, id string, deleted bool) error {
	c := newCompiler(s, caller.TenantID, nil, api.limits, time.Now())
	a := c.newAlias()
	live, err := c.live(t, a, true)
	if err != nil {
		return err
	}
	if deleted {
		live += " AND " + a + ".deleted_at IS NOT NULL"
	} else {
		live += " AND " + a + ".deleted_at IS NULL"
	}
	b := &pgx.Batch{}
	b.Queue("SELECT EXISTS (SELECT 1 FROM records "+a+" WHERE "+live+" AND "+a+".id = "+c.arg(id)+"::uuid)", c.args...)
	br, err := database.SendTenantBatch(ctx, api.pool, caller.TenantID, b)
	if err != nil {
		return err
	}
	defer br.Close()
	var ok bool
	if err := br.QueryRow().Scan(&ok); err != nil {
		return fmt.Errorf("check %s %s: %w", t.obj.APIName, id, err)
	}
	if !ok {
		what := t.obj.APIName
		if deleted {
			what = "deleted " + what
		}
		return apierror.New(apierror.NotFound, "record_not_found", "no %s with id %s", what, id)
	}
	return nil
}

// one runs a statement returning one JSON value.
func (api *API) one(ctx context.Context, tenantID, sql string, args []any) ([]byte, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br, err := api.send(ctx, tenantID, b)
	if err != nil {
		return nil, err
	}
	defer br.Close()
	var v []byte
	if err := br.QueryRow().Scan(&v); err != nil {
		return nil, fmt.Errorf("read back: %w", err)
	}
	if v == nil {
		v = []byte("null")
	}
	return v, br.Close()
}

// upsert creates or updates records matched on a unique field, all or
// nothing, then reads them back by that field.
func (api *API) upsert(ctx context.Context, s *Schema, caller Caller, t *objectType, f *ast.Field, vars map[string]any, on string, inputs []map[string]any) ([]byte, error) {
	uf := t.obj.Field(on)
	if uf == nil || !uf.Unique || uf.UniqueSlot == "" {
		return nil, badInput([]any{"on"}, "%s is not a unique field of %s", on, t.obj.APIName)
	}
	keys := make([]string, len(inputs))
	rows := make([]records.ImportRow, len(inputs))
	for i, in := range inputs {
		v, ok := in[on]
		if !ok || v == nil {
			return nil, badInput([]any{"inputs", i, on}, "every input of an upsert on %s needs a value for it", on)
		}
		k, _ := uf.UniqueValue(v).(string)
		keys[i] = k
		rows[i] = records.ImportRow{Row: int64(i), Values: in}
	}
	rb, err := api.readBack(s, caller, vars, func(c *compiler, param string) (string, error) {
		a := c.newAlias()
		rec, err := c.record(t, a, f.SelectionSet, nil, 1, len(keys))
		if err != nil {
			return "", err
		}
		live, err := c.live(t, a, false)
		if err != nil {
			return "", err
		}
		// NULL if one of them is not the caller's to read, as byIDs.
		return "SELECT CASE WHEN count(" + a + ".id) = cardinality(" + param + "::text[]) THEN coalesce(json_agg(" + rec + " ORDER BY i.ord), '[]') END" +
			" FROM unnest(" + param + "::text[]) WITH ORDINALITY AS i(v, ord) LEFT JOIN records " + a + " ON " + live + " AND " + a + "." + uf.UniqueSlot + " = i.v", nil
	})
	if err != nil {
		return nil, err
	}
	if err := api.upsertScope(ctx, s, caller, t, uf, keys); err != nil {
		return nil, err
	}
	im, err := api.store.BeginImport(ctx, caller.TenantID, records.ImportOptions{Object: t.obj.APIName, UpsertOn: on, AllOrNothing: true, Actor: caller.Actor})
	if err != nil {
		return nil, err
	}
	bad, err := im.Write(ctx, rows)
	committed, cerr := im.Close(ctx)
	if err != nil {
		return nil, inArgument(err, "inputs")
	}
	if len(bad) > 0 {
		var vs model.Violations
		for _, r := range bad {
			for _, v := range r.Violations {
				v.Path = fmt.Sprintf("/%d%s", r.Row, v.Path)
				vs = append(vs, v)
			}
		}
		return nil, inArgument(vs, "inputs")
	}
	if cerr != nil || !committed {
		return nil, fmt.Errorf("upsert %s: not committed: %w", t.obj.APIName, cerr)
	}
	return rb.one(ctx, api, caller.TenantID, keys)
}

// upsertScope refuses an upsert whose unique value is held by a record
// outside the caller's scope: the import matches on the value alone, and
// would update the hidden record. It is a clash, as a create with that
// value would be.
func (api *API) upsertScope(ctx context.Context, s *Schema, caller Caller, t *objectType, uf *model.Field, keys []string) error {
	c := newCompiler(s, caller.TenantID, nil, api.limits, time.Now())
	sc, err := c.scope(t)
	if err != nil || sc == nil {
		return err
	}
	a := c.newAlias()
	sql := "SELECT coalesce(min(i.ord), 0)::int FROM unnest(" + c.arg(keys) + "::text[]) WITH ORDINALITY AS i(v, ord) JOIN records " + a +
		" ON " + a + ".tenant_id = $1 AND " + a + ".object_id = " + quoteLiteral(t.obj.Key) + "::uuid AND " + a + ".deleted_at IS NULL AND " +
		a + "." + uf.UniqueSlot + " = i.v WHERE NOT " + c.cond(sc, a)
	v, err := api.one(ctx, caller.TenantID, sql, c.args)
	if err != nil {
		return err
	}
	i, _ := strconv.Atoi(string(v))
	if i == 0 {
		return nil
	}
	return &inputError{code: CodeConflict, args: []any{"inputs", i - 1, uf.APIName},
		message: fmt.Sprintf("another %s record already has %s %s", t.obj.APIName, uf.APIName, keys[i-1])}
}

// deleteResult renders a DeleteResult for the selection.
func deleteResult(f *ast.Field, vars map[string]any, ids []string) []byte {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, s := range collect(f.SelectionSet, "DeleteResult", nil, vars) {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(s.Alias)
		buf.Write(k)
		buf.WriteByte(':')
		var v any
		switch s.Name {
		case "__typename":
			v = "DeleteResult"
		case "count":
			v = len(ids)
		case "ids":
			if ids == nil {
				ids = []string{}
			}
			v = ids
		}
		b, _ := json.Marshal(v)
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// input converts a create or update input to the record store's values:
// enum names back to stored picklist values; everything else as given (the
// store validates it and reports violations with their paths).
func (t *objectType) input(v any, path []any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badInput(path, "the input must be an object")
	}
	out := make(map[string]any, len(m))
	for k, val := range m {
		if f := t.edit[k]; f != nil {
			if em := t.enums[f]; em != nil && !em.identity && val != nil {
				val = (&filterBuilder{}).enumValues(em, val)
			}
		} else if k != "owner" {
			return nil, badInput(appendPath(path, k), "%s cannot be set", k)
		}
		out[k] = val
	}
	return out, nil
}

// ownedBy gives a created record the creating user as its owner when the
// input names none, as the schema documents: a user's own records must be
// theirs, or a scope of "my records" would hide what they just created.
// An actor that is not a user (an integration) leaves the owner unset.
// Upserts are left alone: on a match the owner would be reassigned.
func ownedBy(in map[string]any, caller Caller) map[string]any {
	if _, ok := in["owner"]; ok || !model.IsUUID(string(caller.Actor)) {
		return in
	}
	in["owner"] = string(caller.Actor)
	return in
}

// inputs converts the inputs of a bulk create or upsert.
func (t *objectType) inputs(v any, max int) ([]map[string]any, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	if len(list) > max {
		return nil, limitError([]any{"inputs"}, "%d inputs; one bulk mutation writes at most %d (MaxBulk)", len(list), max)
	}
	out := make([]map[string]any, len(list))
	for i, item := range list {
		in, err := t.input(item, []any{"inputs", i})
		if err != nil {
			return nil, err
		}
		out[i] = in
	}
	return out, nil
}
