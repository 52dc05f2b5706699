package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/procfs"
)

// roleCacheMode measures, on the database itself, what one tenant switch
// costs PostgreSQL as the number of tenants grows: the first SET ROLE of a new
// connection, the first one after any role change (an onboarding elsewhere),
// and a warm one. PostgreSQL builds the list of every role the login role is
// a member of (one per tenant) before the first check and after every change
// to roles or memberships, in every backend; that build is quadratic in the
// number of roles. CPU is the backend's own (from /proc; the server is on
// this machine), so it does not depend on how busy the machine is.
func roleCacheMode(c config) error {
	ctx := context.Background()
	if err := loopbackDB(c.databaseURL); err != nil {
		return err
	}
	n, err := countDBTenants(ctx, c.databaseURL)
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, c.databaseURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var role string
	if err := conn.QueryRow(ctx, `SELECT schema_name FROM tenantd.tenants WHERE status = 'active' LIMIT 1`).Scan(&role); err != nil {
		return fmt.Errorf("no active tenant to switch to: %w", err)
	}
	setRole := func(cn *pgx.Conn) (time.Duration, float64, error) {
		var pid int
		if err := cn.QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
			return 0, 0, err
		}
		before, err := procfs.ReadStat(pid)
		if err != nil {
			return 0, 0, fmt.Errorf("backend %d is not visible in /proc: the database must run on this machine", pid)
		}
		start := time.Now()
		err = pgx.BeginFunc(ctx, cn, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `SELECT set_config('role', $1, true)`, role)
			return err
		})
		wall := time.Since(start)
		after, _ := procfs.ReadStat(pid)
		return wall, float64(after.CPU-before.CPU) / procfs.ClockTicks, err
	}
	const samples = 3
	var coldWall, coldCPU, changedWall, changedCPU []float64
	for range samples {
		cn, err := pgx.Connect(ctx, c.databaseURL)
		if err != nil {
			return err
		}
		w, cpu, err := setRole(cn)
		if err == nil {
			coldWall, coldCPU = append(coldWall, ms(w)), append(coldCPU, cpu*1000)
			// Any change to roles or memberships, as an onboarding makes.
			tmp := fmt.Sprintf("tenantd_loadtest_%x", rand.Uint32())
			_, err = conn.Exec(ctx, `CREATE ROLE `+tmp+` NOLOGIN; GRANT `+tmp+` TO CURRENT_USER; DROP ROLE `+tmp)
		}
		if err == nil {
			w, cpu, err = setRole(cn)
			changedWall, changedCPU = append(changedWall, ms(w)), append(changedCPU, cpu*1000)
		}
		var warm []float64
		for i := 0; err == nil && i < 50; i++ {
			w, _, err = setRole(cn)
			warm = append(warm, ms(w))
		}
		cn.Close(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("  sample: cold %.1f ms, after a role change %.1f ms, warm median %.3f ms\n", coldWall[len(coldWall)-1], changedWall[len(changedWall)-1], median(warm))
	}
	fmt.Printf("RESULT rolecache tenants_in_db=%d first_set_role_ms=%.1f first_set_role_cpu_ms=%.0f after_role_change_ms=%.1f after_role_change_cpu_ms=%.0f (medians of %d new connections; CPU in 10 ms ticks) load_avg=%s\n",
		n, median(coldWall), median(coldCPU), median(changedWall), median(changedCPU), samples, loadAvg())
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
