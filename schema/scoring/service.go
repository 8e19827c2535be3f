package scoring

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/apierror"
	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/catalog"
	"github.com/latticecrm/lattice/schema/model"
)

// TopicScored is the outbox topic of a change of a record's score or grade.
const TopicScored = "record.scored"

// Reasons say why a record was scored, in record.scored events.
const (
	ReasonRecord = "record" // the record, its tags or a record it depends on changed (the consumer)
	ReasonRules  = "rules"  // a new rule set version was applied
	ReasonDecay  = "decay"  // the decay job: time passed
	ReasonManual = "manual" // Rescore
)

// DefaultBatchSize is how many records one rescore transaction scores.
const DefaultBatchSize = 5000

// Options configures a Service. Zero fields take the documented defaults.
type Options struct {
	// BatchSize is how many records one transaction of a rescore job
	// scores. Default DefaultBatchSize.
	BatchSize int
	// Workers is how many batches RunJobs, Rescore and RunDecay run at
	// once (each on its own connection, on a different slice of a job's
	// records). Default 2.
	Workers int
	// Now returns the current time: where time windows end and from when
	// decay is measured. Default time.Now.
	Now func() time.Time
	// Logger receives the consumer's warnings and job progress. Default
	// slog.Default().
	Logger *slog.Logger
}

// Service stores rule sets and scores records. It is safe for concurrent
// use.
type Service struct {
	pool    *pgxpool.Pool
	catalog *catalog.Catalog
	opts    Options
	log     *slog.Logger
	// compiled caches compiled rule sets by tenant, object, rule set
	// version and model version.
	compiled *lru.Cache[string, *RuleSet]
	// beforeCommit, if set, runs inside every job batch's transaction
	// after its writes (tests).
	beforeCommit func()
	// sliceSize is how many records a job slice is meant to hold.
	sliceSize int
}

// New returns a Service on pool (the lattice_app role) using cat for the
// tenants' schemas.
func New(pool *pgxpool.Pool, cat *catalog.Catalog, opts Options) *Service {
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cache, _ := lru.New[string, *RuleSet](1000) // only fails for a size <= 0
	return &Service{pool: pool, catalog: cat, opts: opts, log: opts.Logger, compiled: cache, sliceSize: defaultSliceSize}
}

// now is the current time at PostgreSQL's precision.
func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Version is one stored version of an object's rule set.
type Version struct {
	Object        string          `json:"object"`
	ObjectID      string          `json:"objectId"`
	Version       int             `json:"version"`
	Ruleset       json.RawMessage `json:"ruleset,omitempty"`
	RuleNames     []string        `json:"ruleNames"`
	TimeDependent bool            `json:"timeDependent"`
	SchemaVersion int             `json:"schemaVersion"`
	Message       string          `json:"message,omitempty"`
	CreatedBy     string          `json:"createdBy"`
	CreatedAt     time.Time       `json:"createdAt"`
}

// object returns the tenant's model and the named object.
func (s *Service) object(ctx context.Context, tenantID, name string) (*model.Model, *model.Object, error) {
	m, err := s.catalog.Model(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	o := m.Object(name)
	if o == nil {
		return nil, nil, apierror.New(apierror.NotFound, "object_not_found", "no object %q in this tenant's schema", name)
	}
	return m, o, nil
}

// invalid turns rule set problems into an Invalid API error.
func invalid(err error) error {
	var ps model.Problems
	if errors.As(err, &ps) {
		return ps.APIErrorAbout("invalid_ruleset", "invalid rule set")
	}
	return err
}

// Validate checks a rule set document for the named object against the
// tenant's current schema, as Apply would, and returns it compiled.
func (s *Service) Validate(ctx context.Context, tenantID, objectName string, doc []byte) (*RuleSet, error) {
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	rs, err := Compile(m, o, doc)
	if err != nil {
		return nil, invalid(err)
	}
	return rs, nil
}

// ApplyRequest is a new rule set version for one object.
type ApplyRequest struct {
	// Object is the API name of the scored object.
	Object string
	// Document is the rule set (docs/scoring.md).
	Document []byte
	// Message describes the change in the history.
	Message string
	// Actor is who makes the change (a user id, "integration:NAME" or "cli").
	Actor string
}

// ApplyResult is the outcome of Apply.
type ApplyResult struct {
	// Version is the active version after the call.
	Version int `json:"version"`
	// Changed is false when the document equals the active version's:
	// nothing was stored and no job started.
	Changed bool `json:"changed"`
	// Job is the rescore job the new version started.
	Job *Job `json:"job,omitempty"`
}

// Apply validates a rule set and stores it as the object's next version,
// in one transaction with a job that rescores every live record of the
// object under it (run it with RunJobs; the server's background loop runs
// it too). An unfinished job of an older version is superseded. Applying
// the active document again changes nothing.
func (s *Service) Apply(ctx context.Context, tenantID string, req ApplyRequest) (*ApplyResult, error) {
	m, o, err := s.object(ctx, tenantID, req.Object)
	if err != nil {
		return nil, err
	}
	rs, err := Compile(m, o, req.Document)
	if err != nil {
		return nil, invalid(err)
	}
	res := &ApplyResult{}
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var cur int
		var same bool
		err := tx.QueryRow(ctx, `SELECT version, ruleset = $3::jsonb FROM scoring_rulesets
			WHERE tenant_id = $1 AND object_id = $2 ORDER BY version DESC LIMIT 1`, tenantID, o.Key, string(rs.Raw)).Scan(&cur, &same)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("read active rule set: %w", err)
		}
		if same {
			res.Version = cur
			return nil
		}
		res.Version, res.Changed = cur+1, true
		_, err = tx.Exec(ctx, `INSERT INTO scoring_rulesets (tenant_id, object_id, version, ruleset, rule_names, time_dependent, schema_version, message, created_by)
			VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9)`,
			tenantID, o.Key, res.Version, string(rs.Raw), rs.RuleNames(), rs.TimeDependent, m.Version, req.Message, req.Actor)
		if database.IsCode(err, database.UniqueViolation) {
			return apierror.New(apierror.Conflict, "ruleset_conflict", "another rule set for %s was applied at the same time; retry", o.APIName)
		}
		if err != nil {
			return fmt.Errorf("store rule set: %w", err)
		}
		res.Job, err = s.queueJob(ctx, tx, tenantID, o, res.Version, "apply", req.Actor, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

const versionColumns = `object_id::text, version, ruleset, rule_names, time_dependent, schema_version, message, created_by, created_at`

func scanVersion(row pgx.Row, m *model.Model) (Version, error) {
	var v Version
	var raw []byte
	err := row.Scan(&v.ObjectID, &v.Version, &raw, &v.RuleNames, &v.TimeDependent, &v.SchemaVersion, &v.Message, &v.CreatedBy, &v.CreatedAt)
	v.Ruleset = raw
	v.Object = v.ObjectID
	if o := m.ObjectByKey(v.ObjectID); o != nil {
		v.Object = o.APIName
	}
	return v, err
}

// Active returns the object's active rule set version, or a not-found
// error when it has none.
func (s *Service) Active(ctx context.Context, tenantID, objectName string) (*Version, error) {
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	var v Version
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		v, err = scanVersion(tx.QueryRow(ctx, `SELECT `+versionColumns+` FROM scoring_rulesets
			WHERE tenant_id = $1 AND object_id = $2 ORDER BY version DESC LIMIT 1`, tenantID, o.Key), m)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, apierror.New(apierror.NotFound, "ruleset_not_found", "%s has no scoring rule set", o.APIName)
	}
	if err != nil {
		return nil, fmt.Errorf("read rule set of %s: %w", o.APIName, err)
	}
	return &v, nil
}

// History lists the object's rule set versions, newest first, without
// their documents.
func (s *Service) History(ctx context.Context, tenantID, objectName string) ([]Version, error) {
	m, o, err := s.object(ctx, tenantID, objectName)
	if err != nil {
		return nil, err
	}
	var out []Version
	err = database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+versionColumns+` FROM scoring_rulesets
			WHERE tenant_id = $1 AND object_id = $2 ORDER BY version DESC`, tenantID, o.Key)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Version, error) {
			v, err := scanVersion(r, m)
			v.Ruleset = nil
			return v, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list rule sets of %s: %w", o.APIName, err)
	}
	return out, nil
}

// stored is a rule set version as read for scoring.
type stored struct {
	objectID string
	version  int
	raw      []byte // nil: not read
}

// compiledVersion compiles a stored version under model m, from the cache
// when it holds it. A version that no longer compiles (a field it uses was
// removed or renamed) is a conflict naming the problems.
func (s *Service) compiledVersion(tenantID string, m *model.Model, st stored) (*RuleSet, error) {
	key := tenantID + "/" + st.objectID + "/" + strconv.Itoa(st.version) + "/" + strconv.Itoa(m.Version)
	if rs, ok := s.compiled.Get(key); ok {
		return rs, nil
	}
	if st.raw == nil {
		return nil, nil
	}
	o := m.ObjectByKey(st.objectID)
	if o == nil {
		return nil, apierror.New(apierror.Conflict, "object_removed", "the object %s of rule set version %d is no longer in the schema", st.objectID, st.version)
	}
	rs, err := Compile(m, o, st.raw)
	if err != nil {
		var ps model.Problems
		if errors.As(err, &ps) {
			return nil, &apierror.Error{Kind: apierror.Conflict, Code: "ruleset_outdated",
				Message: fmt.Sprintf("rule set version %d of %s no longer fits the schema; apply a corrected rule set: %s", st.version, o.APIName, ps.Error()),
				Details: ps, Err: ps}
		}
		return nil, err
	}
	rs.Version = st.version
	s.compiled.Add(key, rs)
	return rs, nil
}

// load reads and compiles the given versions (all objects' active ones when
// objectID is "" and version 0; the object's active one when version is 0).
// Documents are read only for versions not in the cache.
func (s *Service) load(ctx context.Context, q pgx.Tx, tenantID string, m *model.Model, objectID string, version int) ([]*RuleSet, error) {
	query := `SELECT DISTINCT ON (object_id) object_id::text, version FROM scoring_rulesets
		WHERE tenant_id = $1 AND ($2 = '' OR object_id::text = $2) AND ($3 = 0 OR version = $3)
		ORDER BY object_id, version DESC`
	rows, err := q.Query(ctx, query, tenantID, objectID, version)
	if err != nil {
		return nil, fmt.Errorf("read rule sets: %w", err)
	}
	sts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stored, error) {
		var st stored
		return st, r.Scan(&st.objectID, &st.version)
	})
	if err != nil {
		return nil, fmt.Errorf("read rule sets: %w", err)
	}
	var out []*RuleSet
	for _, st := range sts {
		rs, err := s.compiledVersion(tenantID, m, st)
		if err != nil {
			return nil, err
		}
		if rs == nil {
			if err := q.QueryRow(ctx, `SELECT ruleset FROM scoring_rulesets WHERE tenant_id = $1 AND object_id = $2 AND version = $3`,
				tenantID, st.objectID, st.version).Scan(&st.raw); err != nil {
				return nil, fmt.Errorf("read rule set: %w", err)
			}
			if rs, err = s.compiledVersion(tenantID, m, st); err != nil {
				return nil, err
			}
		}
		out = append(out, rs)
	}
	return out, nil
}

// activeRuleSet returns the object's active compiled rule set, or nil.
func (s *Service) activeRuleSet(ctx context.Context, tenantID string, m *model.Model, o *model.Object) (*RuleSet, error) {
	var out []*RuleSet
	err := database.InTenantTx(ctx, s.pool, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = s.load(ctx, tx, tenantID, m, o.Key, 0)
		return err
	})
	if err != nil || len(out) == 0 {
		return nil, err
	}
	return out[0], nil
}
