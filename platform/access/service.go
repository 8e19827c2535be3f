package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casbin/casbin/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latticecrm/lattice/platform/audit"
	"github.com/latticecrm/lattice/platform/database"
)

// Options configures a Service. Zero fields take the documented defaults.
type Options struct {
	// Enforcers bounds how many tenants' enforcers are kept (LRU). Default 10,000.
	Enforcers int
	// Decisions bounds each tenant's decision cache. When it holds this
	// many decisions they become the older of two generations and the
	// older one before them is dropped, so a tenant keeps at most twice
	// this many. Default 1,000.
	Decisions int
	// Logger receives enforcer loads (debug) and listener errors (warn).
	// Default slog.Default().
	Logger *slog.Logger
}

const (
	defaultEnforcers = 10_000
	defaultDecisions = 1_000
	// loadTimeout bounds loading one tenant's rules. A load is shared by
	// every request waiting for it, so it does not end with the context
	// of the request that started it.
	loadTimeout = 30 * time.Second
	// maxRoleDepth is how many levels of role inheritance casbin's role
	// manager follows (the 10 that casbin.Enforcer gives it); RolesOf and
	// SubjectsOf follow as many, so they agree with Enforce.
	maxRoleDepth = 10
	// touchEvery is how many decisions of a tenant, on average, mark it
	// as used in the LRU.
	touchEvery = 16
	// reconnectDelay is how long Listen waits before reconnecting.
	reconnectDelay = 2 * time.Second
)

// Service loads, caches and changes tenants' policies. Safe for concurrent use.
type Service struct {
	pool      *pgxpool.Pool
	log       *slog.Logger
	decisions int
	cache     *lru.Cache[string, *tenant]
	audit     *audit.Log
	// mu serialises adding entries to cache, so that a failed load
	// removes its own entry and never a newer one.
	mu sync.Mutex
}

// New returns a Service on pool (the lattice_app role).
func New(pool *pgxpool.Pool, opts Options) *Service {
	if opts.Enforcers <= 0 {
		opts.Enforcers = defaultEnforcers
	}
	if opts.Decisions <= 0 {
		opts.Decisions = defaultDecisions
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cache, err := lru.New[string, *tenant](opts.Enforcers)
	if err != nil {
		panic(err) // only for a size <= 0, excluded above
	}
	return &Service{pool: pool, log: opts.Logger, decisions: opts.Decisions, cache: cache, audit: audit.New(pool, opts.Logger)}
}

// tenant is one tenant's cached state: an immutable enforcer and rule
// snapshot, and a decision cache. ready is closed when the load ends; err
// is set if it failed.
type tenant struct {
	id    string
	ready chan struct{}
	err   error

	enf     *casbin.Enforcer
	version int64

	// The role graph, for RolesOf, SubjectsOf and PermissionsOf, built on
	// first use: most tenants never need it, and memory per cached tenant
	// is what bounds how many fit.
	graphOnce sync.Once
	roles     map[string][]string // member -> roles given to it directly
	members   map[string][]string // role -> its direct members

	mu        sync.RWMutex
	cur, prev map[decisionKey]bool
}

type decisionKey struct{ sub, obj, act string }

// get returns the tenant's loaded state, loading it if it is not cached.
func (s *Service) get(ctx context.Context, tenantID string) (*tenant, error) {
	id, err := canonical(tenantID)
	if err != nil {
		return nil, err
	}
	// Peek takes the cache's read lock only; Get, which marks the tenant
	// used, takes its write lock, which every decision of every tenant
	// would queue for. So one decision in touchEvery marks it, at random:
	// a busy tenant is marked all the time, and a quiet one is marked
	// when it is added.
	t, ok := s.cache.Peek(id)
	if !ok {
		t = s.startLoad(ctx, id)
	} else if rand.Uint32()%touchEvery == 0 {
		s.cache.Get(id)
	}
	select {
	case <-t.ready:
	default:
		select {
		case <-t.ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if t.err != nil {
		return nil, t.err
	}
	return t, nil
}

// startLoad returns the tenant's entry, adding one and starting its load
// if there is none.
func (s *Service) startLoad(ctx context.Context, id string) *tenant {
	s.mu.Lock()
	if t, ok := s.cache.Peek(id); ok {
		s.mu.Unlock()
		return t
	}
	t := &tenant{id: id, ready: make(chan struct{})}
	s.cache.Add(id, t)
	s.mu.Unlock()
	go s.load(context.WithoutCancel(ctx), t)
	return t
}

// load reads the tenant's rules and builds its enforcer. An entry that
// was invalidated while loading is not in the cache any more, so what it
// read is used at most by the requests already waiting for it.
func (s *Service) load(ctx context.Context, t *tenant) {
	defer close(t.ready)
	ctx, cancel := context.WithTimeout(ctx, loadTimeout)
	defer cancel()
	start := time.Now()
	version, rows, err := loadPool(ctx, s.pool, t.id)
	if err == nil {
		err = t.build(version, rows)
	}
	if err != nil {
		t.err = fmt.Errorf("load access rules of tenant %s: %w", t.id, err)
		s.mu.Lock()
		if cur, ok := s.cache.Peek(t.id); ok && cur == t {
			s.cache.Remove(t.id)
		}
		s.mu.Unlock()
		return
	}
	s.log.DebugContext(ctx, "access rules loaded", "tenant", t.id, "version", version, "rules", len(rows), "took", time.Since(start))
}

// build fills t from the tenant's stored rules.
func (t *tenant) build(version int64, rows []row) error {
	e, err := newEnforcer(rows)
	if err != nil {
		return err
	}
	t.enf, t.version = e, version
	t.cur = map[decisionKey]bool{}
	return nil
}

// rules returns the enforcer's rules of ptype, in key order (the order
// they were loaded in). They belong to the enforcer: never change them.
func (t *tenant) rules(ptype string) [][]string {
	return t.enf.GetModel()[ptype][ptype].Policy
}

// graph returns the role graph, building it on first use.
func (t *tenant) graph() (roles, members map[string][]string) {
	t.graphOnce.Do(func() {
		t.roles, t.members = map[string][]string{}, map[string][]string{}
		for _, g := range t.rules(GroupingType) {
			t.roles[g[0]] = append(t.roles[g[0]], g[1])
			t.members[g[1]] = append(t.members[g[1]], g[0])
		}
	})
	return t.roles, t.members
}

// newEnforcer returns an enforcer of Model holding rows, with auto-save
// off: changing it changes nothing stored.
func newEnforcer(rows []row) (*casbin.Enforcer, error) {
	e, err := casbin.NewEnforcer(newModel(), rowsAdapter{rows})
	if err != nil {
		return nil, fmt.Errorf("build enforcer: %w", err)
	}
	e.EnableAutoSave(false)
	return e, nil
}

func (t *tenant) lookup(k decisionKey) (allowed, hit, old bool) {
	t.mu.RLock()
	allowed, hit = t.cur[k]
	if !hit {
		allowed, hit = t.prev[k]
		old = hit
	}
	t.mu.RUnlock()
	return allowed, hit, old
}

func (t *tenant) remember(k decisionKey, allowed bool, limit int) {
	// The caller's strings may share memory with something large (a
	// request body); the cache must not keep that alive.
	k = decisionKey{strings.Clone(k.sub), strings.Clone(k.obj), strings.Clone(k.act)}
	t.mu.Lock()
	if len(t.cur) >= limit {
		t.prev, t.cur = t.cur, make(map[decisionKey]bool, limit/4)
	}
	t.cur[k] = allowed
	t.mu.Unlock()
}

// Enforce decides whether sub may act on obj in the tenant. Warm, that is
// with the tenant's enforcer cached and the same question asked before
// since its rules last changed, the answer comes from the tenant's
// decision cache (docs/permissions.md has the figures); otherwise casbin
// decides and the decision is cached. A tenant with no rules allows
// nothing.
func (s *Service) Enforce(ctx context.Context, tenantID, sub, obj, act string) (bool, error) {
	t, err := s.get(ctx, tenantID)
	if err != nil {
		return false, err
	}
	k := decisionKey{sub, obj, act}
	allowed, hit, old := t.lookup(k)
	if hit {
		if old {
			t.remember(k, allowed, s.decisions)
		}
		return allowed, nil
	}
	allowed, err = t.enf.Enforce(sub, t.id, obj, act)
	if err != nil {
		return false, fmt.Errorf("enforce (%s, %s, %s) in tenant %s: %w", sub, obj, act, t.id, err)
	}
	t.remember(k, allowed, s.decisions)
	return allowed, nil
}

// Explain decides as Enforce does, bypassing the decision cache, and
// returns the policy rules that decided (casbin EnforceEx), e.g.
// [["role:salesRep", "<tenant>", "record:Lead", "read", "allow"]]. When a
// deny rule matched, that is the (first matching) deny rule; when access
// is allowed, the first matching allow rule; when no rule matched, none.
func (s *Service) Explain(ctx context.Context, tenantID, sub, obj, act string) (bool, [][]string, error) {
	t, err := s.get(ctx, tenantID)
	if err != nil {
		return false, nil, err
	}
	allowed, rule, err := t.enf.EnforceEx(sub, t.id, obj, act)
	if err != nil {
		return false, nil, fmt.Errorf("enforce (%s, %s, %s) in tenant %s: %w", sub, obj, act, t.id, err)
	}
	var rules [][]string
	if len(rule) > 0 {
		rules = [][]string{slices.Clone(rule)}
	}
	return allowed, rules, nil
}

// Policies returns the tenant's p rules (each [sub, dom, obj, act, eft]),
// sorted; the caller may keep and change the result.
func (s *Service) Policies(ctx context.Context, tenantID string) ([][]string, error) {
	t, err := s.get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return cloneRules(t.rules(PolicyType)), nil
}

// Groupings returns the tenant's g rules (each [member, role, dom]),
// sorted; the caller may keep and change the result.
func (s *Service) Groupings(ctx context.Context, tenantID string) ([][]string, error) {
	t, err := s.get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return cloneRules(t.rules(GroupingType)), nil
}

// PermissionsOf returns the tenant's p rules that apply to sub: those
// whose subject is sub or one of its roles (RolesOf), sorted.
func (s *Service) PermissionsOf(ctx context.Context, tenantID, sub string) ([][]string, error) {
	t, err := s.get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	roles, _ := t.graph()
	subjects := map[string]bool{sub: true}
	for _, r := range reach(roles, sub) {
		subjects[r] = true
	}
	var out [][]string
	for _, p := range t.rules(PolicyType) {
		if subjects[p[0]] {
			out = append(out, slices.Clone(p))
		}
	}
	return out, nil
}

// RolesOf returns every role sub has in the tenant, directly or inherited
// (transitively, up to the 10 levels casbin follows), sorted.
func (s *Service) RolesOf(ctx context.Context, tenantID, sub string) ([]string, error) {
	t, err := s.get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	roles, _ := t.graph()
	return reach(roles, sub), nil
}

// SubjectsOf returns every subject (user or role) that has role in the
// tenant, directly or through inheritance (up to 10 levels), sorted.
func (s *Service) SubjectsOf(ctx context.Context, tenantID, role string) ([]string, error) {
	t, err := s.get(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	_, members := t.graph()
	return reach(members, role), nil
}

// reach returns what from leads to through edges in at most maxRoleDepth
// steps, without from itself, sorted.
func reach(edges map[string][]string, from string) []string {
	seen := map[string]bool{from: true}
	var out []string
	level := []string{from}
	for depth := 0; depth < maxRoleDepth && len(level) > 0; depth++ {
		var next []string
		for _, n := range level {
			for _, m := range edges[n] {
				if !seen[m] {
					seen[m] = true
					out = append(out, m)
					next = append(next, m)
				}
			}
		}
		level = next
	}
	slices.Sort(out)
	return out
}

func cloneRules(rules [][]string) [][]string {
	out := make([][]string, len(rules))
	for i, r := range rules {
		out[i] = slices.Clone(r)
	}
	return out
}

// RuleChange is a set of additions and removals of rules, applied by
// Service.Change: removals first, then additions, so a rule that is both
// removed and added is there afterwards. Adding a rule that is there, or
// removing one that is not, changes nothing. Every rule must be for the
// tenant (its domain field the tenant id, canonical form).
type RuleChange struct {
	// AddPolicies and RemovePolicies are p rules: [sub, dom, obj, act, eft].
	AddPolicies, RemovePolicies [][]string
	// AddGroupings and RemoveGroupings are g rules: [member, role, dom].
	AddGroupings, RemoveGroupings [][]string
	// Actor is who makes the change, as the audit log records it
	// ("user:<id>", "integration:<name>", "cli"; a bare user id is
	// taken as "user:<id>"). Empty means the actor of ctx's
	// audit.Request, else "system".
	Actor string
}

// Change applies ch to the tenant's rules in one transaction (all or
// nothing), then notifies every server (NOTIFY in the same transaction) so
// each drops the tenant's enforcer; this server drops it at once. It bumps
// the tenant's Version and records one permission.changed entry in the
// tenant's audit log, in the same transaction, with details {"version",
// "added", "removed"}: the rules actually added and removed, each as
// [ptype, fields...], by ch.Actor. Changes of one tenant run one at a time: each
// waits for the previous one to commit, so check sees every earlier change.
//
// check, if not nil, runs inside the transaction after the change with an
// enforcer built from the changed rules (a snapshot: changing it changes
// nothing stored) and can veto the change by returning an error, which
// rolls everything back and is returned as it is. A malformed rule is
// refused before anything runs, with an error wrapping ErrInvalidRule
// that names it (e.g. "AddPolicies[2]: ..."). A change that adds or
// removes nothing commits nothing, runs no check and bumps no version.
func (s *Service) Change(ctx context.Context, tenantID string, ch RuleChange, check func(e casbin.IEnforcer) error) error {
	id, c, err := prepare(tenantID, ch)
	if err != nil || c.empty() {
		return err
	}
	var veto error
	err = database.InTenantTx(ctx, s.pool, id, func(tx pgx.Tx) error {
		v, err := s.changeIn(ctx, tx, id, c, ch.Actor, check)
		if v != nil {
			veto = v
			return v
		}
		return err
	})
	switch {
	case veto != nil:
		return veto
	case errors.Is(err, errNoChange):
		return nil
	case err != nil:
		return fmt.Errorf("change access rules of tenant %s: %w", id, err)
	}
	s.cache.Remove(id)
	return nil
}

// ChangeTx is Change inside the caller's transaction tx, which must be
// scoped to the tenant (database.InTenantTx; row-level security refuses
// the change otherwise): for writes that must commit or roll back together
// with other rows, such as a tenant's default roles with the tenant. It
// runs in a savepoint, so a veto or an error rolls back the change alone
// and leaves tx usable; the caller decides whether to commit the rest.
//
// The notification is part of tx, so every listening server drops the
// tenant's enforcer when tx commits, and not before. This server's cache
// cannot know when that is: call Invalidate after tx commits (Listen
// would drop it too, a moment later).
func (s *Service) ChangeTx(ctx context.Context, tx pgx.Tx, tenantID string, ch RuleChange, check func(e casbin.IEnforcer) error) error {
	id, c, err := prepare(tenantID, ch)
	if err != nil || c.empty() {
		return err
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return fmt.Errorf("change access rules of tenant %s: %w", id, err)
	}
	defer sp.Rollback(context.WithoutCancel(ctx))
	veto, err := s.changeIn(ctx, sp, id, c, ch.Actor, check)
	switch {
	case veto != nil:
		return veto
	case errors.Is(err, errNoChange):
		return nil
	case err != nil:
		return fmt.Errorf("change access rules of tenant %s: %w", id, err)
	}
	if err := sp.Commit(ctx); err != nil {
		return fmt.Errorf("change access rules of tenant %s: %w", id, err)
	}
	return nil
}

// prepare validates ch for the tenant and returns the canonical tenant id
// and the rows to remove and add.
func prepare(tenantID string, ch RuleChange) (string, change, error) {
	id, err := canonical(tenantID)
	if err != nil {
		return "", change{}, err
	}
	var c change
	for _, part := range []struct {
		what, ptype string
		rules       [][]string
		into        *[]row
	}{
		{"RemovePolicies", PolicyType, ch.RemovePolicies, &c.remove},
		{"RemoveGroupings", GroupingType, ch.RemoveGroupings, &c.remove},
		{"AddPolicies", PolicyType, ch.AddPolicies, &c.add},
		{"AddGroupings", GroupingType, ch.AddGroupings, &c.add},
	} {
		rows, err := checkRules(id, part.ptype, part.what, part.rules)
		if err != nil {
			return "", change{}, err
		}
		*part.into = append(*part.into, rows...)
	}
	return id, c, nil
}

// changeIn applies c in tx, runs check and records the change in the
// audit log. It returns check's error as veto, errNoChange if no rule
// changed, or another error.
func (s *Service) changeIn(ctx context.Context, tx pgx.Tx, id string, c change, actor string, check func(casbin.IEnforcer) error) (veto, err error) {
	a, err := apply(ctx, tx, id, c)
	if err != nil {
		return nil, err
	}
	if check != nil {
		_, rows, err := loadTx(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		e, err := newEnforcer(rows)
		if err != nil {
			return nil, err
		}
		if veto := check(e); veto != nil {
			return veto, nil
		}
	}
	return nil, record(ctx, s.audit, tx, id, actor, a)
}

// Version returns a number that changes whenever the tenant's rules
// change: a per-tenant counter that every change bumps in its own
// transaction (0 for a tenant whose rules never changed). It is read with
// the rules and cached with the enforcer, so it is exactly the version of
// the rules this server decides with.
func (s *Service) Version(ctx context.Context, tenantID string) (int64, error) {
	t, err := s.get(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	return t.version, nil
}

// Invalidate drops the tenant's cached enforcer and decisions, so the
// next call loads its rules again. Change and Listen call it as needed;
// call it after changing access_rules behind the Service's back.
func (s *Service) Invalidate(tenantID string) {
	if id, err := canonical(tenantID); err == nil {
		s.cache.Remove(id)
	}
}
