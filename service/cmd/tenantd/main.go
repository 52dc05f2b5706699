// Command tenantd is the tenant provisioning service.
//
//	tenantd [serve]            serve the HTTP API (reconciles tenants first)
//	tenantd migrate [-workers N]   bring every tenant schema to the latest version
//	tenantd reconcile          finish or roll back interrupted on/offboardings
//	tenantd bootstrap          create/update tenantd's own DB role with the RDS master
//	                           credentials read from Secrets Manager (deploy-time Job only)
//
// Configuration comes from environment variables; see service/README.md.
// The daily cost report is a separate binary, service/cmd/costreport.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	_ "net/http/pprof" // served only on PPROF_ADDR (DefaultServeMux), never on LISTEN_ADDR
	"os"
	"os/signal"
	"syscall"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	goredis "github.com/redis/go-redis/v9"

	"github.com/tenantco/platform/service/internal/bootstrap"
	"github.com/tenantco/platform/service/internal/config"
	thttp "github.com/tenantco/platform/service/internal/http"
	"github.com/tenantco/platform/service/internal/postgres"
	tredis "github.com/tenantco/platform/service/internal/redis"
	"github.com/tenantco/platform/service/internal/sns"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "tenantd:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	cmd := "serve"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args)
	case "migrate":
		return migrate(ctx, args)
	case "reconcile":
		return reconcile(ctx, args)
	case "bootstrap":
		return runBootstrap(ctx)
	case "help", "-h", "--help":
		fmt.Println("usage: tenantd [serve|migrate [-workers N]|reconcile|bootstrap]")
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve, migrate, reconcile or bootstrap)", cmd)
}

func setup(ctx context.Context) (config.Config, *slog.Logger, *postgres.DB, error) {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return cfg, nil, nil, err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	slog.SetDefault(log)
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{
		MaxConns: cfg.DBMaxConns, MaxConnLifetime: cfg.DBMaxConnLifetime, Logger: log,
	})
	if err != nil {
		return cfg, log, nil, err
	}
	return cfg, log, db, nil
}

func migrate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	workers := fs.Int("workers", 4, "tenants migrated concurrently")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, log, db, err := setup(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	rep, err := db.MigrateAll(ctx, *workers)
	log.Info("migrate", "pending", rep.Pending, "migrated", rep.Migrated, "failed", rep.Failed,
		"elapsed_ms", rep.Elapsed.Milliseconds(), "latest", postgres.LatestVersion())
	return err
}

// runBootstrap reads only its own variables (bootstrap.LoadEnv): it runs
// before tenantd's role exists, so DATABASE_URL cannot be set yet.
func runBootstrap(ctx context.Context) error {
	env, err := bootstrap.LoadEnv(os.Getenv)
	if err != nil {
		return err
	}
	// The default chain: IRSA's web identity in the cluster, the endpoint
	// settings (AWS_ENDPOINT_URL_SECRETS_MANAGER) in tests.
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return fmt.Errorf("AWS configuration: %w", err)
	}
	if err := bootstrap.Run(ctx, secretsmanager.NewFromConfig(awsCfg), env); err != nil {
		return err
	}
	slog.Info("bootstrap: service role ready", "role", env.Role, "database", env.Database, "host", env.Host)
	return nil
}

func reconcile(ctx context.Context, _ []string) error {
	cfg, log, db, err := setup(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	ts := postgres.NewTenantService(db, cfg.AdminToken)
	ts.RetentionDir = cfg.RetentionDir
	rep, err := ts.Reconcile(ctx)
	log.Info("reconcile", "report", rep)
	return err
}

func serve(ctx context.Context, _ []string) error {
	cfg, log, db, err := setup(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if postgres.BenchNoScope {
		host, _, _ := net.SplitHostPort(cfg.ListenAddr)
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return fmt.Errorf("LISTEN_ADDR: this binary is a benchmark build without tenant isolation (-tags benchnoscope) and only serves a loopback address, e.g. 127.0.0.1:8080")
		}
		log.Warn("BENCHMARK BUILD (-tags benchnoscope): tenant requests skip the role/search_path switch; never deploy this binary")
	}
	tenants := postgres.NewTenantService(db, cfg.AdminToken)
	tenants.RetentionDir = cfg.RetentionDir
	rep, err := tenants.Reconcile(ctx)
	if err != nil {
		return fmt.Errorf("reconcile at start: %w", err)
	}
	log.Info("reconciled tenants", "report", rep)

	rdb := tredis.Open(tredis.Options{Addr: cfg.RedisAddr, Password: cfg.RedisPassword, TLS: cfg.RedisTLS, PoolSize: 64})
	defer rdb.Close()
	breaker := postgres.NewBreakerStore(db)
	carryOverBreakerLevel(ctx, log, rdb, cfg.RedisKeyPrefix, breaker)

	adm := thttp.DefaultAdmission(int(cfg.DBMaxConns))
	if cfg.MaxInFlight > 0 {
		adm.MaxInFlight, adm.MaxQueue = cfg.MaxInFlight, 2*cfg.MaxInFlight
	}
	adm.MaxWait = cfg.AdmissionMaxWait
	srv := &thttp.Server{
		Tenants:      tenants,
		Items:        postgres.NewItemService(db),
		Limiter:      tredis.NewRateLimiter(rdb, cfg.RedisKeyPrefix),
		Breaker:      breaker,
		Limits:       cfg.TierLimits,
		AdminToken:   cfg.AdminToken,
		StripeSecret: cfg.StripeSecret,
		PriceTiers:   cfg.StripePriceTiers,
		SNS:          &sns.Verifier{Topics: cfg.SNSTopicARNs},
		SNSConfirmer: &sns.Confirmer{},
		BudgetName:   cfg.SNSBudgetName,
		Logger:       log,
		Admission:    adm,
		Ready: func(ctx context.Context) map[string]error {
			return map[string]error{"postgres": db.Ping(ctx), "redis": rdb.Ping(ctx).Err()}
		},
	}
	srv.AuthFailureLimits, srv.TrustedProxyHops = cfg.AuthFailureLimits, cfg.TrustedProxyHops
	hs := &http.Server{
		Addr:              cfg.ListenAddr,
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	// Every active tenant's key is admitted without spending the unknown-key
	// budget from the first request on (authguard.go). A failed first read
	// is not fatal: until the refresh succeeds, first requests spend it.
	if err := srv.RefreshKnownKeys(ctx); err != nil {
		log.Warn("active API keys not read; first requests spend the unknown-key budget until the next refresh", "err", err)
	}
	go srv.KeepKnownKeys(ctx)
	if addr := cfg.PprofAddr; addr != "" {
		// Opt-in profiling for load tests; config.Load admits loopback addresses only.
		go func() { log.Warn("pprof listening", "addr", addr, "err", http.ListenAndServe(addr, nil)) }()
	}
	if cfg.HeartbeatURL != "" {
		go heartbeat(ctx, log, cfg.HeartbeatURL, srv.Ready)
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return err
	}
	ln = thttp.ConnLimitListener(ln, cfg.MaxConnections, srv.Registry)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("tenantd listening", "addr", cfg.ListenAddr, "max_connections", cfg.MaxConnections, "max_in_flight", adm.MaxInFlight, "max_queue", adm.MaxQueue, "admission_max_wait", adm.MaxWait.String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// carryOverBreakerLevel moves the cost breaker level that versions before
// the PostgreSQL store kept in Redis into PostgreSQL, once: only when no level
// was ever stored there, so a deploy during a freeze stays frozen. Best
// effort: without Redis now there is nothing to carry over.
func carryOverBreakerLevel(ctx context.Context, log *slog.Logger, rdb *goredis.Client, prefix string, b *postgres.BreakerStore) {
	l, ok, err := tredis.LegacyBreakerLevel(ctx, rdb, prefix)
	if err != nil {
		log.Warn("could not read the legacy breaker level in Redis", "err", err)
		return
	}
	if !ok {
		return
	}
	seeded, err := b.SeedLevel(ctx, l)
	if err != nil {
		log.Warn("could not carry the legacy breaker level over", "level", l.String(), "err", err)
		return
	}
	if seeded {
		log.Warn("cost breaker level carried over from Redis to PostgreSQL", "level", l.String())
	}
}

// heartbeat pings a BetterStack heartbeat URL every minute while ready, so a
// missing beat pages someone.
func heartbeat(ctx context.Context, log *slog.Logger, url string, ready func(context.Context) map[string]error) {
	client := &http.Client{Timeout: 10 * time.Second}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		ok := true
		for _, err := range ready(cctx) {
			if err != nil {
				ok = false
			}
		}
		cancel()
		if ok {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if resp, err := client.Do(req); err != nil {
				log.Warn("heartbeat failed", "err", err)
			} else {
				resp.Body.Close()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
