package dataapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
			errs = append(errs, fieldError(f, err))
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

// mutation runs one mutation field and returns its JSON.
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
		rec, err := api.store.Create(ctx, caller.TenantID, caller.Actor, name, in)
		if err != nil {
			return nil, err
		}
		return api.readOne(ctx, s, caller, t, f, rec.ID, false)
	case mutUpdate, mutDelete, mutRestore, mutAddTags, mutRemoveTags:
		id, err := idArg(args, "id")
		if err != nil {
			return nil, err
		}
		if err := api.visible(ctx, s, caller, t, id, rf.kind == mutRestore); err != nil {
			return nil, err
		}
		expected, err := intArg(args, "expectedVersion")
		if err != nil {
			return nil, err
		}
		switch rf.kind {
		case mutUpdate:
			in, err := t.input(args["input"], []any{"input"})
			if err != nil {
				return nil, err
			}
			if _, err := api.store.Update(ctx, caller.TenantID, caller.Actor, name, id, in, expected); err != nil {
				return nil, err
			}
		case mutDelete:
			if err := api.store.Delete(ctx, caller.TenantID, caller.Actor, name, id, expected); err != nil {
				return nil, err
			}
		case mutRestore:
			if _, err := api.store.Restore(ctx, caller.TenantID, caller.Actor, name, id); err != nil {
				return nil, err
			}
		default:
			list, err := stringList(args["tags"], []any{"tags"})
			if err != nil {
				return nil, err
			}
			add, remove := list, []string(nil)
			if rf.kind == mutRemoveTags {
				add, remove = nil, list
			}
			if _, err := api.tags.Apply(ctx, caller.TenantID, caller.Actor, name, id, add, remove); err != nil {
				return nil, err
			}
		}
		return api.readOne(ctx, s, caller, t, f, id, true)
	case mutCreateMany, mutUpsertMany:
		inputs, err := t.inputs(args["inputs"], api.limits.MaxBulk)
		if err != nil {
			return nil, err
		}
		if rf.kind == mutCreateMany {
			recs, err := api.store.CreateMany(ctx, caller.TenantID, caller.Actor, name, inputs)
			if err != nil {
				return nil, err
			}
			ids := make([]string, len(recs))
			for i, r := range recs {
				ids[i] = r.ID
			}
			return api.readMany(ctx, s, caller, t, f, ids)
		}
		on, _ := args["on"].(string)
		return api.upsert(ctx, s, caller, t, f, on, inputs)
	case mutUpdateMany, mutDeleteMany:
		where, err := api.bulkWhere(s, t, args["where"])
		if err != nil {
			return nil, err
		}
		if rf.kind == mutUpdateMany {
			set, err := t.input(args["set"], []any{"set"})
			if err != nil {
				return nil, err
			}
			recs, err := api.store.UpdateMany(ctx, caller.TenantID, caller.Actor, name, where, set, api.limits.MaxBulk)
			if err != nil {
				return nil, err
			}
			ids := make([]string, len(recs))
			for i, r := range recs {
				ids[i] = r.ID
			}
			return api.readMany(ctx, s, caller, t, f, ids)
		}
		ids, err := api.store.DeleteMany(ctx, caller.TenantID, caller.Actor, name, where, api.limits.MaxBulk)
		if err != nil {
			return nil, err
		}
		return deleteResult(f, vars, ids), nil
	}
	return nil, badInput(nil, "%s is not a mutation", f.Name)
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

// readOne reads back one written record for the mutation's selection.
func (api *API) readOne(ctx context.Context, s *Schema, caller Caller, t *objectType, f *ast.Field, id string, deleted bool) ([]byte, error) {
	c := newCompiler(s, caller.TenantID, nil, api.limits, time.Now())
	sql, err := c.byID(t, f.SelectionSet, id, deleted)
	if err != nil {
		return nil, err
	}
	return api.one(ctx, caller.TenantID, sql, c.args)
}

// readMany reads back written records, in order.
func (api *API) readMany(ctx context.Context, s *Schema, caller Caller, t *objectType, f *ast.Field, ids []string) ([]byte, error) {
	c := newCompiler(s, caller.TenantID, nil, api.limits, time.Now())
	sql, err := c.byIDs(t, f.SelectionSet, ids)
	if err != nil {
		return nil, err
	}
	return api.one(ctx, caller.TenantID, sql, c.args)
}

// one runs a statement returning one JSON value.
func (api *API) one(ctx context.Context, tenantID, sql string, args []any) ([]byte, error) {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	br, err := database.SendTenantBatch(ctx, api.pool, tenantID, b)
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
func (api *API) upsert(ctx context.Context, s *Schema, caller Caller, t *objectType, f *ast.Field, on string, inputs []map[string]any) ([]byte, error) {
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
	im, err := api.store.BeginImport(ctx, caller.TenantID, records.ImportOptions{Object: t.obj.APIName, UpsertOn: on, AllOrNothing: true, Actor: caller.Actor})
	if err != nil {
		return nil, err
	}
	bad, err := im.Write(ctx, rows)
	committed, cerr := im.Close(ctx)
	if err != nil {
		return nil, err
	}
	if len(bad) > 0 {
		var vs model.Violations
		for _, r := range bad {
			for _, v := range r.Violations {
				v.Path = fmt.Sprintf("/%d%s", r.Row, v.Path)
				vs = append(vs, v)
			}
		}
		return nil, vs
	}
	if cerr != nil || !committed {
		return nil, fmt.Errorf("upsert %s: not committed: %w", t.obj.APIName, cerr)
	}
	c := newCompiler(s, caller.TenantID, nil, api.limits, time.Now())
	a := c.newAlias()
	rec, err := c.record(t, a, f.SelectionSet, nil, 1, len(keys))
	if err != nil {
		return nil, err
	}
	sql := "SELECT coalesce(json_agg(" + rec + " ORDER BY i.ord), '[]') FROM unnest(" + c.arg(keys) + "::text[]) WITH ORDINALITY AS i(v, ord)" +
		" JOIN records " + a + " ON " + a + ".tenant_id = $1 AND " + a + ".object_id = " + quoteLiteral(t.obj.Key) + "::uuid AND " +
		a + ".deleted_at IS NULL AND " + a + "." + uf.UniqueSlot + " = i.v"
	return api.one(ctx, caller.TenantID, sql, c.args)
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
