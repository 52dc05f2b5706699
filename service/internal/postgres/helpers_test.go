package postgres

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tenantco/platform/service/internal/tenant"
	"github.com/tenantco/platform/service/internal/testenv"
)

type fixture struct {
	tdb     *testenv.DB
	db      *DB
	tenants *TenantService
	items   *ItemService
}

func newFixture(t *testing.T) *fixture { return newBenchFixture(t) }

func newBenchFixture(t testing.TB) *fixture {
	t.Helper()
	tdb := testenv.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := Open(ctx, tdb.AppURL, Options{MaxConns: 8, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(db.Close)
	return &fixture{tdb: tdb, db: db, tenants: NewTenantService(db, "secret"), items: NewItemService(db)}
}

func (f *fixture) onboard(t *testing.T, slug string, tier tenant.Tier) (*tenant.Created, *tenant.Principal) {
	t.Helper()
	c, _, err := f.tenants.Create(context.Background(), tenant.CreateRequest{Slug: slug, Tier: tier}, "")
	if err != nil {
		t.Fatalf("onboard %s: %v", slug, err)
	}
	h, err := tenant.ParseAPIKey(c.APIKey)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.tenants.Authenticate(context.Background(), h)
	if err != nil {
		t.Fatalf("authenticate %s: %v", slug, err)
	}
	return c, p
}

// admin opens a superuser connection to the test database.
func (f *fixture) admin(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), f.tdb.AdminURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// app opens a plain connection as the service's login role.
func (f *fixture) app(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), f.tdb.AppURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func count(t *testing.T, c *pgx.Conn, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := c.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}
