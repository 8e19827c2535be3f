package tags

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/condition"
	"github.com/latticecrm/lattice/schema/model"
)

// Limits. They keep one tenant's tag metadata small enough to load whole
// on every write and one call's work bounded.
const (
	// MaxGroups is how many tag groups one tenant may have.
	MaxGroups = 200
	// MaxTagsPerGroup is how many tags one group may hold.
	MaxTagsPerGroup = 1000
	// MaxObjects is how many objects one group may apply to.
	MaxObjects = 100
	// MaxPerCall is how many tags one Apply or BulkApply may add, and how
	// many it may remove.
	MaxPerCall = 100
	// MaxRulesPerObject is how many tag rules one object may have.
	MaxRulesPerObject = 500
	// DefaultBatchSize is how many records one bulk batch changes.
	DefaultBatchSize = 500
)

// TopicTagged is the outbox topic of a change of a record's tags.
const TopicTagged = "record.tagged"

// Sources say what changed a record's tags, in record.tagged events.
const (
	SourceManual = "manual" // Apply
	SourceBulk   = "bulk"   // BulkApply
	SourceRule   = "rule"   // a rule's bulk re-evaluation (the event names the rule)
	SourceRules  = "rules"  // the tag-rules consumer, on a write; it ignores these
	SourceDelete = "delete" // a tag or group being deleted
)

// Options configures a Service. Zero fields take the documented defaults.
type Options struct {
	// BatchSize is how many records one transaction of a bulk change
	// (BulkApply, rule re-evaluation, tag deletion) changes. Default
	// DefaultBatchSize.
	BatchSize int
	// Logger receives the rule consumer's warnings. Default slog.Default().
	Logger *slog.Logger
	// Now returns the current time, for conditions with time windows.
	// Default time.Now.
	Now func() time.Time
}

// Service manages a tenant's tag groups, tags and tag rules and applies
// tags to records. It is safe for concurrent use.
type Service struct {
	pool    *pgxpool.Pool
	catalog *catalog.Catalog
	opts    Options
	log     *slog.Logger
	// conds caches compiled rule conditions by tenant, rule, rule version
	// and model version.
	conds *lru.Cache[string, *condition.Condition]
}

// New returns a Service on pool (the lattice_app role) using cat for the
// tenants' schemas.
func New(pool *pgxpool.Pool, cat *catalog.Catalog, opts Options) *Service {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	conds, _ := lru.New[string, *condition.Condition](10000) // only fails for a size <= 0
	return &Service{pool: pool, catalog: cat, opts: opts, log: opts.Logger, conds: conds}
}

// Group is a tag group: one dimension of tags.
type Group struct {
	// Name is the immutable API name (camelCase), the part of a stored tag
	// before the slash.
	Name        string     `json:"name"`
	Label       model.Text `json:"label,omitempty"`
	Description model.Text `json:"description,omitempty"`
	// MultiValued groups allow several of their tags on one record; in a
	// single-valued group, adding a tag replaces the group's other tag.
	MultiValued bool `json:"multiValued"`
	// Objects are the API names of the objects the group's tags apply to
	// (the key, for an object no longer in the schema).
	Objects []string `json:"objects"`
	// ObjectKeys are their keys, as stored.
	ObjectKeys []string `json:"objectKeys"`
	Position   int      `json:"position"`
	// Deleting is true while the group's tags are being removed from
	// records; run DeleteGroup again to finish an interrupted deletion.
	Deleting  bool      `json:"deleting,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Tag is one tag of a group.
type Tag struct {
	Group string `json:"group"`
	// Name is the immutable API name (camelCase) within the group.
	Name string `json:"name"`
	// Value is what records store and conditions match: "group/name".
	Value string     `json:"value"`
	Label model.Text `json:"label,omitempty"`
	// Color is "#rrggbb" or "".
	Color    string `json:"color,omitempty"`
	Position int    `json:"position"`
	// Deleting is true while the tag is being removed from records; run
	// DeleteTag again to finish an interrupted deletion.
	Deleting  bool      `json:"deleting,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Value returns the stored form of tag name of group: "group/name".
func Value(group, name string) string { return group + "/" + name }

// ParseValue splits a stored tag "group/name" into its group and name,
// checking both are API names.
func ParseValue(v string) (group, name string, ok bool) {
	group, name, ok = strings.Cut(v, "/")
	if !ok || !apiName.MatchString(group) || !apiName.MatchString(name) {
		return "", "", false
	}
	return group, name, true
}

// apiName is what group and tag names look like: camelCase, as field
// names (and GraphQL enum values) are.
var apiName = regexp.MustCompile(`^[a-z][A-Za-z0-9]{0,62}$`)

var (
	langTag = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$`)
	color   = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)
)

func checkName(field, what, name string) error {
	if !apiName.MatchString(name) {
		return apierror.Invalidf(field, "invalid_name",
			"%s name %q must be camelCase: a lower-case letter, then up to 62 letters and digits", what, name)
	}
	return nil
}

// checkText validates labels and descriptions: text by language tag.
func checkText(field string, t model.Text) error {
	if len(t) > 50 {
		return apierror.Invalidf(field, "invalid_label", "%s may have at most 50 languages, got %d", field, len(t))
	}
	for _, lang := range slices.Sorted(maps.Keys(t)) {
		if !langTag.MatchString(lang) {
			return apierror.Invalidf(field, "invalid_label", "%s: %q is not a language tag such as en or zh-CN", field, lang)
		}
		if n := utf8.RuneCountInString(t[lang]); n < 1 || n > 1000 {
			return apierror.Invalidf(field, "invalid_label", "%s.%s must be 1 to 1000 characters, got %d", field, lang, n)
		}
	}
	return nil
}

func checkColor(c string) error {
	if c != "" && !color.MatchString(c) {
		return apierror.Invalidf("color", "invalid_color", "color %q must be #rrggbb", c)
	}
	return nil
}

// object resolves an object API name in the tenant's current model.
func (s *Service) object(ctx context.Context, tenantID, name string) (*model.Model, *model.Object, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	o := m.Object(name)
	if o == nil {
		return nil, nil, &apierror.Error{Kind: apierror.NotFound, Code: "object_not_found", Field: "object",
			Message: fmt.Sprintf("no object %q in this tenant's schema", name)}
	}
	return m, o, nil
}

// objectName names an object key for output: its API name, or the key of
// an object the schema no longer has.
func objectName(m *model.Model, key string) string {
	if o := m.ObjectByKey(key); o != nil {
		return o.APIName
	}
	return key
}

// tagList parses and checks a list of stored tags given for field (add or
// remove): well-formed, at most MaxPerCall, no duplicates.
func tagList(field string, vals []string) ([]string, error) {
	if len(vals) > MaxPerCall {
		return nil, apierror.Invalidf(field, "too_many_tags", "at most %d tags may be given in %s, got %d", MaxPerCall, field, len(vals))
	}
	out := make([]string, 0, len(vals))
	seen := map[string]bool{}
	for _, v := range vals {
		if _, _, ok := ParseValue(v); !ok {
			return nil, apierror.Invalidf(field, "invalid_tag", "%q is not a tag: want group/tag, both camelCase API names", v)
		}
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out, nil
}

// checkOps validates the add and remove lists of a change: well-formed,
// not both empty, no tag in both.
func checkOps(add, remove []string) ([]string, []string, error) {
	add, err := tagList("add", add)
	if err != nil {
		return nil, nil, err
	}
	remove, err = tagList("remove", remove)
	if err != nil {
		return nil, nil, err
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil, nil, apierror.Invalidf("add", "nothing_to_apply", "give at least one tag to add or remove")
	}
	for _, r := range remove {
		if slices.Contains(add, r) {
			return nil, nil, apierror.Invalidf("remove", "tag_conflict", "%s is both added and removed", r)
		}
	}
	return add, remove, nil
}
