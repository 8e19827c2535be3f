package tags_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/model"
	"github.com/latticecrm/lattice/schema/tags"
)

func ptr[T any](v T) *T { return &v }

func TestGroupsAndTags(t *testing.T) {
	e := newEnv(t, tagsOptions())
	ctx := t.Context()
	tenant := e.tenant(t, "acme")

	g, err := e.tags.CreateGroup(ctx, tenant, actor, tags.GroupInput{
		Name: "companySize", Label: model.Text{"en": "Company size", "zh-CN": "公司规模"},
		Objects: []string{"Account", "Contact", "Account"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if g.MultiValued || !slices.Equal(g.Objects, []string{"Account", "Contact"}) || len(g.ObjectKeys) != 2 || g.Position != 0 {
		t.Fatalf("created group: %+v", g)
	}
	g2, err := e.tags.CreateGroup(ctx, tenant, actor, tags.GroupInput{Name: "interest", MultiValued: true, Objects: []string{"Contact"}})
	if err != nil || g2.Position != 1 || !g2.MultiValued {
		t.Fatalf("second group: %+v %v", g2, err)
	}
	// Invalid groups, each with its code and field.
	for _, c := range []struct {
		in          tags.GroupInput
		code, field string
	}{
		{tags.GroupInput{Name: "Industry", Objects: []string{"Contact"}}, "invalid_name", "name"},
		{tags.GroupInput{Name: "in-dustry", Objects: []string{"Contact"}}, "invalid_name", "name"},
		{tags.GroupInput{Name: "industry"}, "objects_required", "objects"},
		{tags.GroupInput{Name: "industry", Objects: []string{"Lead"}}, "unknown_object", "objects"},
		{tags.GroupInput{Name: "industry", Objects: []string{"Contact"}, Label: model.Text{"EN": "x"}}, "invalid_label", "label"},
		{tags.GroupInput{Name: "industry", Objects: []string{"Contact"}, Label: model.Text{"en": ""}}, "invalid_label", "label"},
		{tags.GroupInput{Name: "companySize", Objects: []string{"Contact"}}, "group_exists", "name"},
	} {
		_, err := e.tags.CreateGroup(ctx, tenant, actor, c.in)
		if code(err) != c.code || field(err) != c.field {
			t.Errorf("CreateGroup(%+v): %v (code %s, field %s), want %s on %s", c.in, err, code(err), field(err), c.code, c.field)
		}
	}

	// Tags: positions follow creation unless given.
	for _, in := range []tags.TagInput{
		{Group: "companySize", Name: "large", Label: model.Text{"en": "1000+"}, Color: "#FF0000"},
		{Group: "companySize", Name: "small", Label: model.Text{"en": "1-50"}, Position: ptr(-1)},
		{Group: "companySize", Name: "medium", Label: model.Text{"en": "51-999"}},
		{Group: "interest", Name: "pricing"},
	} {
		if _, err := e.tags.CreateTag(ctx, tenant, actor, in); err != nil {
			t.Fatalf("CreateTag(%+v): %v", in, err)
		}
	}
	list, err := e.tags.Tags(ctx, tenant, "companySize")
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	for _, x := range list {
		values = append(values, x.Value)
	}
	if !slices.Equal(values, []string{"companySize/small", "companySize/large", "companySize/medium"}) || list[1].Color != "#FF0000" {
		t.Fatalf("tags of companySize: %v (%+v)", values, list[1])
	}
	if all, err := e.tags.Tags(ctx, tenant, ""); err != nil || len(all) != 4 || all[3].Value != "interest/pricing" {
		t.Fatalf("all tags: %d %v", len(all), err)
	}
	for _, c := range []struct {
		in          tags.TagInput
		code, field string
	}{
		{tags.TagInput{Group: "companySize", Name: "Huge"}, "invalid_name", "name"},
		{tags.TagInput{Group: "companySize", Name: "huge", Color: "red"}, "invalid_color", "color"},
		{tags.TagInput{Group: "nope", Name: "huge"}, "group_not_found", "group"},
		{tags.TagInput{Group: "companySize", Name: "large"}, "tag_exists", "name"},
	} {
		_, err := e.tags.CreateTag(ctx, tenant, actor, c.in)
		if code(err) != c.code || field(err) != c.field {
			t.Errorf("CreateTag(%+v): %v, want %s on %s", c.in, err, c.code, c.field)
		}
	}
	if _, err := e.tags.Tags(ctx, tenant, "nope"); code(err) != "group_not_found" {
		t.Errorf("Tags of an unknown group: %v", err)
	}

	// Renaming is relabelling; colour can be cleared.
	up, err := e.tags.UpdateTag(ctx, tenant, actor, "companySize/large", tags.TagPatch{Label: model.Text{"en": "Enterprise"}, Color: ptr("")})
	if err != nil || up.Label["en"] != "Enterprise" || up.Color != "" || up.Name != "large" || up.Position != 0 {
		t.Fatalf("UpdateTag: %+v %v", up, err)
	}
	if _, err := e.tags.UpdateTag(ctx, tenant, actor, "companySize/gigantic", tags.TagPatch{Position: ptr(3)}); code(err) != "tag_not_found" {
		t.Errorf("UpdateTag of an unknown tag: %v", err)
	}
	if _, err := e.tags.UpdateTag(ctx, tenant, actor, "large", tags.TagPatch{}); code(err) != "invalid_tag" {
		t.Errorf("UpdateTag of a malformed value: %v", err)
	}
	ug, err := e.tags.UpdateGroup(ctx, tenant, actor, "companySize", tags.GroupPatch{Label: model.Text{"en": "Size"}, Objects: []string{"Account"}, MultiValued: ptr(true)})
	if err != nil || ug.Label["en"] != "Size" || !slices.Equal(ug.Objects, []string{"Account"}) || !ug.MultiValued {
		t.Fatalf("UpdateGroup: %+v %v", ug, err)
	}
	if _, err := e.tags.UpdateGroup(ctx, tenant, actor, "nope", tags.GroupPatch{}); code(err) != "group_not_found" {
		t.Errorf("UpdateGroup of an unknown group: %v", err)
	}
	groups, err := e.tags.Groups(ctx, tenant)
	if err != nil || len(groups) != 2 || groups[0].Name != "companySize" || groups[1].Name != "interest" {
		t.Fatalf("Groups: %v %v", groups, err)
	}
	if one, err := e.tags.Group(ctx, tenant, "interest"); err != nil || one.Objects[0] != "Contact" {
		t.Fatalf("Group: %+v %v", one, err)
	}
	if _, err := e.tags.Group(ctx, tenant, "nope"); code(err) != "group_not_found" {
		t.Fatalf("Group of unknown: %v", err)
	}
}

func TestApply(t *testing.T) {
	e := newEnv(t, tagsOptions())
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.setup(t, tenant)
	id := e.contact(t, tenant, "ann@example.com", "")
	before := e.record(t, tenant, "Contact", id)

	res, err := e.tags.Apply(ctx, tenant, "user-1", "Contact", id, []string{"interest/pricing", "industry/software", "interest/api", "interest/api"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Version != before.Version+1 || !sameTags(res.Tags, "industry/software", "interest/api", "interest/pricing") ||
		!sameTags(res.Added, "industry/software", "interest/api", "interest/pricing") || !sameTags(res.Removed) {
		t.Fatalf("first apply: %+v", res)
	}
	rec := e.record(t, tenant, "Contact", id)
	if !sameTags(rec.Tags, res.Tags...) || rec.Version != res.Version || rec.UpdatedBy != "user-1" || !rec.UpdatedAt.After(before.UpdatedAt) {
		t.Fatalf("stored record: tags %v version %d by %s at %v", rec.Tags, rec.Version, rec.UpdatedBy, rec.UpdatedAt)
	}
	// The values are untouched.
	if rec.Values["email"] != "ann@example.com" {
		t.Fatalf("values changed: %v", rec.Values)
	}

	// Adding a tag of a single-valued group replaces the group's other
	// tag; removing works in the same call.
	res, err = e.tags.Apply(ctx, tenant, "user-1", "Contact", id, []string{"industry/finance"}, []string{"interest/api"})
	if err != nil {
		t.Fatal(err)
	}
	if !sameTags(res.Tags, "industry/finance", "interest/pricing") || !sameTags(res.Added, "industry/finance") ||
		!sameTags(res.Removed, "industry/software", "interest/api") || res.Version != before.Version+2 {
		t.Fatalf("single-valued replacement: %+v", res)
	}

	// No change: no version, no event.
	res, err = e.tags.Apply(ctx, tenant, "user-1", "Contact", id, []string{"industry/finance"}, []string{"interest/security"})
	if err != nil || res.Changed || res.Version != before.Version+2 || !sameTags(res.Tags, "industry/finance", "interest/pricing") {
		t.Fatalf("no-op apply: %+v %v", res, err)
	}
	if v := e.record(t, tenant, "Contact", id).Version; v != before.Version+2 {
		t.Fatalf("no-op bumped the version to %d", v)
	}

	evs := tagged(t, e, tenant)
	if len(evs) != 2 {
		t.Fatalf("%d record.tagged events, want 2: %+v", len(evs), evs)
	}
	ev := evs[1]
	if ev.Object != "Contact" || ev.ID != id || ev.Version != before.Version+2 || ev.Actor != "user-1" || ev.Source != tags.SourceManual ||
		!sameTags(ev.Added, "industry/finance") || !sameTags(ev.Removed, "industry/software", "interest/api") || ev.ObjectID == "" {
		t.Fatalf("event: %+v", ev)
	}

	// Errors, each leaving the record as it was.
	acct, err := e.store.Create(ctx, tenant, actor, "Account", map[string]any{"name": "Acme"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		object, id  string
		add, remove []string
		code, field string
		kind        apierror.Kind
	}{
		{"Contact", id, []string{"interest/nope"}, nil, "tag_not_found", "add", apierror.NotFound},
		{"Contact", id, []string{"interest/api", "nope/api"}, nil, "tag_not_found", "add", apierror.NotFound},
		{"Contact", id, nil, []string{"interest/nope"}, "tag_not_found", "remove", apierror.NotFound},
		{"Contact", id, []string{"industry/software", "industry/retail"}, nil, "single_valued_group", "add", apierror.Invalid},
		{"Contact", id, []string{"interest/api"}, []string{"interest/api"}, "tag_conflict", "remove", apierror.Invalid},
		{"Contact", id, []string{"software"}, nil, "invalid_tag", "add", apierror.Invalid},
		{"Contact", id, nil, nil, "nothing_to_apply", "add", apierror.Invalid},
		{"Account", acct.ID, []string{"interest/api"}, nil, "tag_not_allowed", "add", apierror.Invalid},
		{"Account", id, []string{"industry/software"}, nil, "record_not_found", "id", apierror.NotFound},
		{"Contact", "not-a-uuid", []string{"industry/software"}, nil, "invalid_id", "id", apierror.Invalid},
		{"Lead", id, []string{"industry/software"}, nil, "object_not_found", "object", apierror.NotFound},
	} {
		_, err := e.tags.Apply(ctx, tenant, "user-1", c.object, c.id, c.add, c.remove)
		ae, ok := apierror.As(err)
		if !ok || ae.Code != c.code || ae.Field != c.field || ae.Kind != c.kind {
			t.Errorf("Apply(%s %v -%v): %v, want %s on %s", c.object, c.add, c.remove, err, c.code, c.field)
		}
	}
	rec = e.record(t, tenant, "Contact", id)
	if !sameTags(rec.Tags, "industry/finance", "interest/pricing") || rec.Version != before.Version+2 || len(tagged(t, e, tenant)) != 2 {
		t.Fatalf("after the refused changes: tags %v version %d", rec.Tags, rec.Version)
	}
	// Accounts take industry tags.
	if res, err := e.tags.Apply(ctx, tenant, actor, "Account", acct.ID, []string{"industry/retail"}, nil); err != nil || !res.Changed {
		t.Fatalf("tag an account: %+v %v", res, err)
	}
	// A deleted record cannot be tagged.
	if err := e.store.Delete(ctx, tenant, actor, "Contact", id, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, []string{"interest/api"}, nil); code(err) != "record_not_found" {
		t.Fatalf("tag a deleted record: %v", err)
	}
}

func TestTenantIsolation(t *testing.T) {
	e := newEnv(t, tagsOptions())
	ctx := t.Context()
	a := e.tenant(t, "tenant-a")
	b := e.tenant(t, "tenant-b")
	e.setup(t, a)
	idA := e.contact(t, a, "ann@a.example", "")
	idB := e.contact(t, b, "bob@b.example", "")

	// B sees none of A's tag metadata.
	if gs, err := e.tags.Groups(ctx, b); err != nil || len(gs) != 0 {
		t.Fatalf("B's groups: %v %v", gs, err)
	}
	if ts, err := e.tags.Tags(ctx, b, ""); err != nil || len(ts) != 0 {
		t.Fatalf("B's tags: %v %v", ts, err)
	}
	if _, err := e.tags.Group(ctx, b, "industry"); code(err) != "group_not_found" {
		t.Fatalf("B reads A's group: %v", err)
	}
	if _, err := e.tags.Tag(ctx, b, "industry/software"); code(err) != "tag_not_found" {
		t.Fatalf("B reads A's tag: %v", err)
	}
	// B cannot apply A's tags to its own record...
	if _, err := e.tags.Apply(ctx, b, actor, "Contact", idB, []string{"industry/software"}, nil); code(err) != "tag_not_found" {
		t.Fatalf("B applies A's tag: %v", err)
	}
	// ...nor, with a tag of its own by the same name, reach A's record.
	if _, err := e.tags.CreateGroup(ctx, b, actor, tags.GroupInput{Name: "industry", Objects: []string{"Contact"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tags.CreateTag(ctx, b, actor, tags.TagInput{Group: "industry", Name: "software"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tags.Apply(ctx, b, actor, "Contact", idA, []string{"industry/software"}, nil); code(err) != "record_not_found" {
		t.Fatalf("B tags A's record: %v", err)
	}
	// B's bulk change does not touch A's records, nor does B's deletion.
	if res, err := e.tags.BulkApply(ctx, b, actor, "Contact", []byte(`{"and": []}`), []string{"industry/software"}, nil); err != nil || res.Changed != 1 {
		t.Fatalf("B's bulk apply: %+v %v", res, err)
	}
	if _, err := e.tags.Apply(ctx, a, actor, "Contact", idA, []string{"industry/software"}, nil); err != nil {
		t.Fatal(err)
	}
	if res, err := e.tags.DeleteTag(ctx, b, actor, "industry/software"); err != nil || res.Records != 1 {
		t.Fatalf("B deletes its tag: %+v %v", res, err)
	}
	if r := e.record(t, a, "Contact", idA); !sameTags(r.Tags, "industry/software") {
		t.Fatalf("A's record after B's changes: %v", r.Tags)
	}
	if ts, err := e.tags.Tags(ctx, a, "industry"); err != nil || len(ts) != 3 {
		t.Fatalf("A's industry tags after B's deletion: %v %v", ts, err)
	}
	if evs := tagged(t, e, a); len(evs) != 1 {
		t.Fatalf("A has %d tag events, want 1", len(evs))
	}
}

func TestGroupChangesRefusedWhileInUse(t *testing.T) {
	e := newEnv(t, tagsOptions())
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.setup(t, tenant)
	id := e.contact(t, tenant, "ann@example.com", "")
	if _, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, []string{"interest/api", "interest/pricing", "industry/retail"}, nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.tags.UpdateGroup(ctx, tenant, actor, "interest", tags.GroupPatch{MultiValued: ptr(false)})
	if code(err) != "group_in_use" || field(err) != "multiValued" || !strings.Contains(err.Error(), "1 record") {
		t.Fatalf("multi to single with a record carrying two: %v", err)
	}
	_, err = e.tags.UpdateGroup(ctx, tenant, actor, "industry", tags.GroupPatch{Objects: []string{"Account"}})
	if code(err) != "group_in_use" || field(err) != "objects" {
		t.Fatalf("dropping an object in use: %v", err)
	}
	if g, _ := e.tags.Group(ctx, tenant, "industry"); len(g.Objects) != 2 {
		t.Fatalf("the refused change changed the group: %+v", g)
	}
	// Once the tags are gone, both changes go through.
	if _, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, nil, []string{"interest/api", "industry/retail"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tags.UpdateGroup(ctx, tenant, actor, "interest", tags.GroupPatch{MultiValued: ptr(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tags.UpdateGroup(ctx, tenant, actor, "industry", tags.GroupPatch{Objects: []string{"Account"}}); err != nil {
		t.Fatal(err)
	}
	// Now single-valued: adding another interest replaces pricing.
	res, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, []string{"interest/api"}, nil)
	if err != nil || !sameTags(res.Tags, "interest/api") {
		t.Fatalf("after making interest single-valued: %+v %v", res, err)
	}
	if _, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, []string{"industry/retail"}, nil); code(err) != "tag_not_allowed" {
		t.Fatalf("industry no longer applies to Contact: %v", err)
	}
}

func TestDeleteTagAndGroup(t *testing.T) {
	e := newEnv(t, tags.Options{BatchSize: 3})
	ctx := t.Context()
	tenant := e.tenant(t, "acme")
	e.setup(t, tenant)
	var ids []string
	for i := range 8 {
		id := e.contact(t, tenant, "c"+string(rune('a'+i))+"@example.com", "")
		ids = append(ids, id)
		if _, err := e.tags.Apply(ctx, tenant, actor, "Contact", id, []string{"interest/api", "interest/pricing", "industry/software"}, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A soft-deleted record loses the tag too: it could be restored.
	if err := e.store.Delete(ctx, tenant, actor, "Contact", ids[7], nil); err != nil {
		t.Fatal(err)
	}
	before := len(tagged(t, e, tenant))
	res, err := e.tags.DeleteTag(ctx, tenant, "admin", "interest/api")
	if err != nil || res.Records != 8 {
		t.Fatalf("DeleteTag: %+v %v", res, err)
	}
	for _, id := range ids {
		if r := e.record(t, tenant, "Contact", id); !sameTags(r.Tags, "industry/software", "interest/pricing") {
			t.Fatalf("record %s after deleting interest/api: %v", id, r.Tags)
		}
	}
	evs := tagged(t, e, tenant)[before:]
	if len(evs) != 8 || evs[0].Source != tags.SourceDelete || !sameTags(evs[0].Removed, "interest/api") || evs[0].Actor != "admin" {
		t.Fatalf("deletion events: %d %+v", len(evs), evs)
	}
	if _, err := e.tags.Tag(ctx, tenant, "interest/api"); code(err) != "tag_not_found" {
		t.Fatalf("deleted tag still there: %v", err)
	}
	if _, err := e.tags.DeleteTag(ctx, tenant, actor, "interest/api"); code(err) != "tag_not_found" {
		t.Fatalf("deleting it again: %v", err)
	}
	// An interrupted deletion (marked, records not yet cleaned) blocks new
	// applications and is finished by deleting again.
	if _, err := e.db.Owner.Exec(ctx, "UPDATE tags SET deleting_at = now() WHERE tenant_id = $1 AND name = 'software'", tenant); err != nil {
		t.Fatal(err)
	}
	if _, err := e.tags.Apply(ctx, tenant, actor, "Contact", e.contact(t, tenant, "new@example.com", ""), []string{"industry/software"}, nil); code(err) != "tag_not_found" {
		t.Fatalf("applying a tag being deleted: %v", err)
	}
	if res, err := e.tags.DeleteTag(ctx, tenant, actor, "industry/software"); err != nil || res.Records != 8 {
		t.Fatalf("finishing the deletion: %+v %v", res, err)
	}
	// Deleting a group removes all its tags from records, then the group.
	res, err = e.tags.DeleteGroup(ctx, tenant, actor, "interest")
	if err != nil || res.Records != 8 {
		t.Fatalf("DeleteGroup: %+v %v", res, err)
	}
	for _, id := range ids {
		if r := e.record(t, tenant, "Contact", id); !sameTags(r.Tags) {
			t.Fatalf("record %s after deleting the group: %v", id, r.Tags)
		}
	}
	if _, err := e.tags.Group(ctx, tenant, "interest"); code(err) != "group_not_found" {
		t.Fatalf("deleted group: %v", err)
	}
	var left int
	if err := e.db.Owner.QueryRow(ctx, "SELECT count(*) FROM tags WHERE tenant_id = $1 AND group_name = 'interest'", tenant).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d tags of the deleted group left (%v)", left, err)
	}
}
