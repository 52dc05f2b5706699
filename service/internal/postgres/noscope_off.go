//go:build !benchnoscope

package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/tenant"
)

// BenchNoScope reports a benchmark-only build (-tags benchnoscope) whose
// tenant batches skip the role/search_path switch (noscope_bench.go). It is
// false in every other build: the constant removes that path at compile time.
const BenchNoScope = false

func (db *DB) sendUnscoped(context.Context, *tenant.Principal, string, string, ...any) pgx.BatchResults {
	panic("postgres: the unscoped tenant path exists only in -tags benchnoscope builds")
}
