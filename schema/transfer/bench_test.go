package transfer_test

// BenchmarkImportCSV needs the test cluster (platform/dbtest). Its result
// and the command are recorded in docs/import-export.md.

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/latticecrm/lattice/schema/transfer"
)

// BenchmarkImportCSV imports 100,000 leads of a typical 10-field object
// (four indexed fields, a unique e-mail) from a CSV generated on the fly,
// validated and written with their events, to the end (commit). It reports
// records per second.
func BenchmarkImportCSV(b *testing.B) {
	benchTenants := 0
	const rows = 100_000
	e := newEnv(b)
	ctx := context.Background()
	for _, mode := range []transfer.Mode{transfer.SkipBadRows, transfer.AllOrNothing} {
		b.Run(string(mode), func(b *testing.B) {
			b.ReportAllocs()
			var elapsed time.Duration
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for range b.N {
				b.StopTimer()
				benchTenants++
				tn := e.tenant(b, fmt.Sprintf("bench-%d", benchTenants), leadBundle)
				b.StartTimer()
				start := time.Now()
				sum, err := transfer.Import(ctx, e.store, tn, "Lead", newLeadCSV("r", rows, 0), transfer.ImportOptions{Mode: mode, Actor: "bench"})
				elapsed += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				if sum.Created != int64(rows) || !sum.Committed {
					b.Fatalf("summary %+v", sum)
				}
			}
			runtime.ReadMemStats(&after)
			n := float64(rows * b.N)
			b.ReportMetric(n/elapsed.Seconds(), "records/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/record")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/record")
		})
	}
}
