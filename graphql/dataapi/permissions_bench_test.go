package dataapi

// Benchmarks of the data API under permissions (issue 9, "Speed": with a
// sales-rep role, own records plus two hidden fields, throughput stays
// within 10% of an admin's). Both callers are built per request exactly as
// the server builds them (perms.View, then ScopeOf) and run the same list
// query through API.Execute; both get 50 rows. Figures, commands and the
// EXPLAIN of the statements are in docs/permissions.md, section "Speed".

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latticecrm/lattice/platform/database"
	"github.com/latticecrm/lattice/schema/permissions"
	"github.com/latticecrm/lattice/tenants"
)

var (
	permBenchLeads   = flag.String("dataapi.perm.leads", "1000,10000", "BenchmarkPermissionsList: Lead table sizes, comma-separated; the rep owns 50 leads of each")
	permBenchExplain = flag.Bool("dataapi.perm.explain", false, "BenchmarkPermissionsList logs the admin's and the rep's SQL with EXPLAIN (ANALYZE, BUFFERS), run as lattice_app")
)

// permBenchQuery is the list both callers run: 50 leads, 10 fields and a
// lookup. It names none of the rep's hidden fields (email, phone).
const permBenchQuery = `{ leads(first: 50) { nodes { id leadNumber firstName lastName company status source createdAt owner version
	convertedAccount { name } } } }`

// permBench is a tenant with n leads: the rep owns 50 of them, spread
// evenly through the table (every n/50th created), and other users own the
// rest; each lead's convertedAccount is an account of its owner, so both
// callers' lookups find a record.
type permBench struct {
	*permEnv
	admin, rep tenants.Principal
}

func newPermBench(b *testing.B, n int) *permBench {
	b.Helper()
	ctx := context.Background()
	p := newPermEnv(b, "permbench")
	p.api.log = slog.New(slog.DiscardHandler)
	if err := p.perms.CreateRole(ctx, p.tenant.ID, "", "repLite", []string{permissions.RoleSalesRep}); err != nil {
		b.Fatal(err)
	}
	p.grant(b, "repLite", "field:Lead.email", "read", permissions.Deny)
	p.grant(b, "repLite", "field:Lead.phone", "read", permissions.Deny)
	pb := &permBench{permEnv: p, admin: p.users["admin"], rep: p.member(b, "rep", tenants.RoleMember, "repLite")}
	admin := p.caller(b, "admin")

	// Owners: the rep and 19 others (the admin and made-up users).
	owners := []string{pb.rep.UserID, pb.admin.UserID}
	for i := len(owners); i < 20; i++ {
		owners = append(owners, fmt.Sprintf("00000000-0000-4000-8000-%012d", i))
	}
	accounts := map[string][]string{} // by owner: 5 accounts each
	var in []any
	for _, o := range owners {
		for j := range 5 {
			in = append(in, map[string]any{"name": fmt.Sprintf("Account %s-%d", o[len(o)-4:], j), "owner": o, "billingCity": "Boston"})
		}
	}
	d := p.ok(b, admin, `mutation($in: [AccountCreateInput!]!) { createAccounts(inputs: $in) { id owner } }`, map[string]any{"in": in})
	for _, a := range get(d, "createAccounts").([]any) {
		o := get(a, "owner").(string)
		accounts[o] = append(accounts[o], get(a, "id").(string))
	}
	every := n / 50
	statuses := []string{"new", "contacted", "qualified", "unqualified"}
	sources := []string{"web", "referral", "event", "ads", "partner"}
	for start := 0; start < n; start += 1000 {
		var batch []any
		for i := start; i < min(start+1000, n); i++ {
			owner := owners[1+i%(len(owners)-1)]
			if i%every == every/2 {
				owner = pb.rep.UserID
			}
			batch = append(batch, map[string]any{"firstName": "First " + strconv.Itoa(i), "lastName": "Lead " + strconv.Itoa(i),
				"company": "Company " + strconv.Itoa(i%300), "email": fmt.Sprintf("lead%d@bench.example", i), "phone": "+1 555 " + strconv.Itoa(1000+i%9000),
				"status": statuses[i%len(statuses)], "source": sources[i%len(sources)], "owner": owner,
				"convertedAccount": accounts[owner][i%5]})
		}
		p.ok(b, admin, `mutation($in: [LeadCreateInput!]!) { createLeads(inputs: $in) { id } }`, map[string]any{"in": batch})
	}
	if _, err := p.db.Owner.Exec(ctx, "ANALYZE records"); err != nil {
		b.Fatal(err)
	}
	return pb
}

// request is one request as the server runs it: the caller's view (cached
// after the first), its scope, the query.
func (pb *permBench) request(ctx context.Context, pr tenants.Principal) (*Response, error) {
	c, err := callerOf(ctx, pb.perms, pr)
	if err != nil {
		return nil, err
	}
	res := pb.api.Execute(ctx, c, Request{Query: permBenchQuery})
	if len(res.Errors) > 0 {
		return nil, fmt.Errorf("%v", res.Errors)
	}
	return res, nil
}

// check verifies what each caller gets: 50 leads, all the rep's own for
// the rep, every lookup found.
func (pb *permBench) check(b *testing.B) {
	b.Helper()
	for _, who := range []string{"admin", "rep"} {
		pr := map[string]tenants.Principal{"admin": pb.admin, "rep": pb.rep}[who]
		res, err := pb.request(context.Background(), pr)
		if err != nil {
			b.Fatal(err)
		}
		var d map[string]any
		if err := decodeJSON(strings.NewReader(string(res.Data)), &d); err != nil {
			b.Fatal(err)
		}
		owners := pluck(d, "leads.nodes[].owner")
		accounts := pluck(d, "leads.nodes[].convertedAccount.name")
		if len(owners) != 50 || slices.Contains(accounts, "null") {
			b.Fatalf("%s: %d leads, accounts %v", who, len(owners), accounts)
		}
		if who == "rep" && slices.ContainsFunc(owners, func(o string) bool { return o != pb.rep.UserID }) {
			b.Fatalf("the rep got leads of others: %v", owners)
		}
	}
}

// plan is what a request does before it reaches the database: the
// caller's view and scope, the schema, the parsed document (all cached)
// and the statement compiled for the caller.
func (pb *permBench) plan(ctx context.Context, pr tenants.Principal) (string, []any, error) {
	c, err := callerOf(ctx, pb.perms, pr)
	if err != nil {
		return "", nil, err
	}
	s, err := pb.api.Schema(ctx, c)
	if err != nil {
		return "", nil, err
	}
	s = s.forScope(c.Scope)
	doc, errs := pb.api.document(s, permBenchQuery)
	if len(errs) > 0 {
		return "", nil, errs
	}
	f := collect(doc.doc.Operations[0].SelectionSet, "Query", nil, nil)[0]
	comp := newCompiler(s, c.TenantID, nil, pb.api.limits, time.Now())
	sql, err := comp.query(s.queries[f.Name], f)
	return sql, comp.args, err
}

// explain logs each caller's statement and its plan, run as lattice_app.
func (pb *permBench) explain(b *testing.B) {
	b.Helper()
	ctx := context.Background()
	for _, who := range []string{"admin", "rep"} {
		pr := map[string]tenants.Principal{"admin": pb.admin, "rep": pb.rep}[who]
		sql, args, err := pb.plan(ctx, pr)
		if err != nil {
			b.Fatal(err)
		}
		var plan []string
		err = database.InTenantTx(ctx, pb.pool, pb.tenant.ID, func(tx pgx.Tx) error {
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
			if err != nil {
				return err
			}
			plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s's statement:\n%s\nargs: %v\n%s", who, sql, args, strings.Join(plan, "\n"))
	}
}

// BenchmarkPermissionsList runs the same list as an admin and as a rep
// (own records, two hidden fields), for Lead tables of each size in
// -dataapi.perm.leads: one request at a time (admin, rep), its Go side
// alone up to the compiled statement (admin-plan, rep-plan), from 4
// goroutines (admin-parallel, rep-parallel), and alternating the two in
// blocks of 20 requests (ratio: the rep's time per request over the
// admin's, measured under the same load).
func BenchmarkPermissionsList(b *testing.B) {
	for _, s := range strings.Split(*permBenchLeads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 100 {
			b.Fatalf("-dataapi.perm.leads: %q", s)
		}
		b.Run("leads="+strconv.Itoa(n), func(b *testing.B) {
			pb := newPermBench(b, n)
			pb.check(b)
			if *permBenchExplain {
				pb.explain(b)
			}
			ctx := context.Background()
			for _, who := range []string{"admin", "rep"} {
				pr := map[string]tenants.Principal{"admin": pb.admin, "rep": pb.rep}[who]
				b.Run(who, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := pb.request(ctx, pr); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				})
				b.Run(who+"-plan", func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, _, err := pb.plan(ctx, pr); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.Run(who+"-parallel", func(b *testing.B) {
					b.SetParallelism(2) // 4 goroutines on 2 cores, the pool's 4 connections
					b.RunParallel(func(p *testing.PB) {
						for p.Next() {
							if _, err := pb.request(ctx, pr); err != nil {
								b.Error(err)
								return
							}
						}
					})
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
				})
			}
			b.Run("ratio", func(b *testing.B) {
				var spent [2]time.Duration
				var count [2]int
				prs := [2]tenants.Principal{pb.admin, pb.rep}
				i := 0
				for b.Loop() {
					k := (i / 20) % 2
					start := time.Now()
					if _, err := pb.request(ctx, prs[k]); err != nil {
						b.Fatal(err)
					}
					spent[k] += time.Since(start)
					count[k]++
					i++
				}
				if count[0] == 0 || count[1] == 0 {
					return
				}
				admin := float64(spent[0]) / float64(count[0])
				rep := float64(spent[1]) / float64(count[1])
				b.ReportMetric(admin/1000, "admin-µs/req")
				b.ReportMetric(rep/1000, "rep-µs/req")
				b.ReportMetric(rep/admin, "rep/admin")
			})
		})
	}
}
