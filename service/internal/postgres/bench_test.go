package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantco/platform/service/internal/tenant"
)

// BenchmarkMigrateAll onboards TENANTD_BENCH_TENANTS tenants (default 200),
// adds a schema migration and times `MigrateAll` with 4 workers:
//
//	TENANTD_BENCH_TENANTS=10000 go test ./service/internal/postgres -run '^$' -bench MigrateAll -benchtime 1x -timeout 30m
func BenchmarkMigrateAll(b *testing.B) {
	n := 200
	if v, err := strconv.Atoi(os.Getenv("TENANTD_BENCH_TENANTS")); err == nil && v > 0 {
		n = v
	}
	f := newBenchFixture(b)
	ctx := context.Background()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				if _, _, err := f.tenants.Create(ctx, tenant.CreateRequest{Slug: fmt.Sprintf("bench-%06d", i), Tier: tenant.TierFree}, ""); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.Logf("onboarded %d tenants in %s", n, time.Since(start).Round(time.Millisecond))
	saved := Migrations
	b.Cleanup(func() { Migrations = saved })
	Migrations = append(append([]Migration{}, saved...), Migration{Version: 2, SQL: `ALTER TABLE items ADD COLUMN note text; CREATE INDEX items_note ON items (note)`})
	b.ResetTimer()
	for range b.N {
		rep, err := f.db.MigrateAll(ctx, 4)
		if err != nil || rep.Migrated != n {
			b.Fatalf("%+v %v", rep, err)
		}
		b.ReportMetric(rep.Elapsed.Seconds(), "s/migrate-all")
		b.ReportMetric(float64(n)/rep.Elapsed.Seconds(), "tenants/s")
		b.Logf("migrated %d tenants in %s with 4 workers", n, rep.Elapsed.Round(time.Millisecond))
		b.StopTimer()
		// second run: nothing pending, one ledger query
		rep, err = f.db.MigrateAll(ctx, 4)
		if err != nil || rep.Pending != 0 {
			b.Fatalf("%+v %v", rep, err)
		}
		b.Logf("no-op run over %d current tenants: %s", n, rep.Elapsed.Round(time.Microsecond))
		b.StartTimer()
	}
}
