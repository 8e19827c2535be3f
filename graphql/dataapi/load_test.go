package dataapi

// The load runs of issue 4: a small load generator (fixed number of
// clients, fixed duration, every latency kept) driving Lattice's /graphql
// and the hand-written baseline in turns, on one fixture (the same data,
// the same server, the same pool), and printing p50, p99 and requests per
// second. It is a Benchmark, so plain `go test` never runs it; see
// docs/benchmarks.md for the command (-v prints the summary table).

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

var (
	loadDuration = flag.Duration("dataapi.load.duration", 2*time.Second, "BenchmarkLoad: length of each load run")
	loadClients  = flag.Int("dataapi.load.clients", benchClients, "BenchmarkLoad: concurrent HTTP clients")
	loadRounds   = flag.Int("dataapi.load.rounds", 15, "BenchmarkLoad: rounds; each runs every scenario on both sides, alternating which goes first")
	loadDeals    = flag.Int("dataapi.load.deals", 1_000_000, "BenchmarkLoad: Deal records for the filterSort1M scenario")
)

// loadMaxRequests bounds one client's requests in one run, whatever the
// duration.
const loadMaxRequests = 5_000_000

// loadResult is what one load run measured.
type loadResult struct {
	lat     []time.Duration // of the successful requests
	elapsed time.Duration
	errors  int
	err     error // the first error
	cpu     cpuUse
}

func (r *loadResult) add(o loadResult) {
	r.lat = append(r.lat, o.lat...)
	r.elapsed += o.elapsed
	r.errors += o.errors
	if r.err == nil {
		r.err = o.err
	}
	r.cpu.goCPU += o.cpu.goCPU
	r.cpu.pgCPU += o.cpu.pgCPU
	r.cpu.machine += o.cpu.machine
}

// cpuUse is CPU time spent by this process (the load generator's clients
// and the HTTP servers), by the PostgreSQL backends serving the fixture's
// lattice_app connections, and by the whole machine (every CPU, from
// /proc/stat).
type cpuUse struct{ goCPU, pgCPU, machine time.Duration }

// since returns the CPU used between start and u.
func (u cpuUse) since(start cpuUse) cpuUse {
	return cpuUse{goCPU: u.goCPU - start.goCPU, pgCPU: u.pgCPU - start.pgCPU, machine: u.machine - start.machine}
}

// others is the share of the machine's CPU capacity that processes other
// than this one and the fixture's backends used during the interval
// (other sessions' tests on a shared machine), in percent.
func (u cpuUse) others(wall time.Duration) float64 {
	capacity := float64(wall) * float64(runtime.NumCPU())
	if capacity <= 0 || u.machine == 0 {
		return 0
	}
	return 100 * max(0, float64(u.machine-u.goCPU-u.pgCPU)) / capacity
}

// perRequest is r's CPU time per successful request, in milliseconds.
func (r loadResult) perRequest() (goMS, pgMS float64) {
	n := float64(max(1, len(r.lat)))
	return ms(r.cpu.goCPU) / n, ms(r.cpu.pgCPU) / n
}

// cpuNow reads the CPU time used so far by this process and by the
// backends of the fixture's database connected as lattice_app (from
// /proc; zero where it cannot be read).
func (f *benchFixture) cpuNow() cpuUse {
	var u cpuUse
	if raw, err := os.ReadFile("/proc/stat"); err == nil {
		// cpu  user nice system idle iowait irq softirq steal ...: busy is
		// everything but idle and iowait, in clock ticks.
		line, _, _ := strings.Cut(string(raw), "\n")
		for i, v := range strings.Fields(line)[1:] {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && i != 3 && i != 4 && i < 8 {
				u.machine += time.Duration(n) * 10 * time.Millisecond
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.goCPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	rows, err := f.db.Owner.Query(context.Background(),
		"SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND usename = 'lattice_app'")
	if err != nil {
		return u
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return u
	}
	for _, pid := range pids {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
		if err != nil {
			continue
		}
		s := string(raw)
		// Fields after the command name: state is field 3, utime 14, stime 15,
		// in clock ticks (USER_HZ, 100 on Linux).
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		u.pgCPU += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return u
}

func (r loadResult) rps() float64 { return float64(len(r.lat)) / r.elapsed.Seconds() }

// runLoad sends req(0), req(1), ... from clients goroutines, each waiting
// for its answer before sending the next, until d has passed, and keeps
// every request's latency.
func runLoad(clients int, d time.Duration, req func(i int) *http.Request, do func(*http.Request) ([]byte, error)) loadResult {
	var next atomic.Int64
	var mu sync.Mutex
	var res loadResult
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			errs := 0
			var first error
			for n := 0; n < loadMaxRequests && time.Now().Before(deadline); n++ {
				r := req(int(next.Add(1)))
				t0 := time.Now()
				if _, err := do(r); err != nil {
					errs++
					if first == nil {
						first = err
					}
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			res.errors += errs
			if res.err == nil {
				res.err = first
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

// BenchmarkLoad runs the load generator against both sides of every read
// scenario (byID, nested50, filterSort1M) on one fixture with 1,000,000
// Deals: -dataapi.load.rounds rounds of -dataapi.load.duration per side
// and scenario, with -dataapi.load.clients clients, the side that goes
// first alternating between rounds. Run it with -benchtime=1x (each
// sub-benchmark is one load run) and -v for the summary table.
func BenchmarkLoad(b *testing.B) {
	f := newBenchFixture(b, *loadDeals)
	all := f.scenarios()
	names := []string{"byID", "nested50"}
	if *loadDeals > 0 {
		names = append(names, "filterSort1M")
	}
	type key struct{ scenario, side string }
	reqs := map[key]func(int) *http.Request{}
	for _, name := range names {
		sc := all[name]
		f.check(b, sc)
		f.explain(b, sc)
		reqs[key{name, "lattice"}], reqs[key{name, "baseline"}] = sc.lattice, sc.baseline
	}
	for k, req := range reqs { // warm the caches, connections and statements
		for i := range 200 {
			if _, err := f.do(req(i)); err != nil {
				b.Fatalf("%s %s: %v", k.scenario, k.side, err)
			}
		}
	}
	totals := map[key]*loadResult{}
	for round := 1; round <= *loadRounds; round++ {
		for _, name := range names {
			sides := []string{"lattice", "baseline"}
			if round%2 == 0 {
				slices.Reverse(sides)
			}
			for _, side := range sides {
				k := key{name, side}
				b.Run(fmt.Sprintf("round=%d/%s/%s", round, name, side), func(b *testing.B) {
					var res loadResult
					for b.Loop() {
						before := f.cpuNow()
						res = runLoad(*loadClients, *loadDuration, reqs[k], f.do)
						res.cpu = f.cpuNow().since(before)
					}
					if res.errors > 0 {
						b.Errorf("%d requests failed; the first: %v", res.errors, res.err)
					}
					reportLatencies(b, slices.Clone(res.lat), res.elapsed)
					goMS, pgMS := res.perRequest()
					b.ReportMetric(goMS, "go-cpu-ms/req")
					b.ReportMetric(pgMS, "pg-cpu-ms/req")
					b.ReportMetric(res.cpu.others(res.elapsed), "others-cpu-%")
					if totals[k] == nil {
						totals[k] = &loadResult{}
					}
					totals[k].add(res)
				})
			}
		}
	}
	var sum strings.Builder
	fmt.Fprintf(&sum, "load summary: %d clients, %d rounds x %s per side and scenario; CPU in ms per request;\n"+
		"others%% is the share of the machine's CPUs used by other processes meanwhile\n",
		*loadClients, *loadRounds, *loadDuration)
	fmt.Fprintf(&sum, "%-13s %-9s %9s %8s %8s %8s %8s %8s %8s %8s %s\n", "scenario", "side", "requests", "req/s", "p50 ms", "p99 ms", "max ms",
		"Go cpu", "PG cpu", "others%", "lattice/baseline req/s")
	for _, name := range names {
		for _, side := range []string{"lattice", "baseline"} {
			t := totals[key{name, side}]
			if t == nil || len(t.lat) == 0 {
				continue
			}
			ratio := ""
			if side == "lattice" {
				if bt := totals[key{name, "baseline"}]; bt != nil && len(bt.lat) > 0 {
					ratio = fmt.Sprintf("%.2f", t.rps()/bt.rps())
				}
			}
			goMS, pgMS := t.perRequest()
			fmt.Fprintf(&sum, "%-13s %-9s %9d %8.0f %8.2f %8.2f %8.2f %8.3f %8.3f %8.1f %s\n", name, side, len(t.lat), t.rps(),
				ms(quantile(t.lat, 0.50)), ms(quantile(t.lat, 0.99)), ms(quantile(t.lat, 1)), goMS, pgMS, t.cpu.others(t.elapsed), ratio)
		}
	}
	b.Log(sum.String())
}
