package http

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tenantco/platform/service/internal/tenant"
)

type metrics struct {
	requests      *prometheus.CounterVec
	latency       *prometheus.HistogramVec
	onboarding    prometheus.Histogram
	rateDecisions *prometheus.CounterVec
	authFailures  *prometheus.CounterVec
	knownKeys     prometheus.Gauge
	breaker       prometheus.Gauge
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantd_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "tenantd_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route", "method"}),
		onboarding: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tenantd_onboarding_duration_seconds", Help: "Time to onboard one tenant (schema, role, tables, grants).",
			Buckets: []float64{.005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5},
		}),
		rateDecisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantd_ratelimit_decisions_total", Help: "Rate-limit decisions by tier: allowed, limited, error (refused, fail closed).",
		}, []string{"tier", "decision"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantd_auth_failures_total",
			Help: "Refused API keys by reason: malformed, unknown_key (looked up), known_bad (remembered), limited_address, limited_global (not looked up).",
		}, []string{"reason"}),
		knownKeys: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantd_auth_known_keys", Help: "Active tenants' API keys in this replica's snapshot (admitted without spending the unknown-key budget).",
		}),
		breaker: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tenantd_cost_breaker_level", Help: "Cost breaker level last seen: 0 normal, 1 warn, 2 freeze, 3 emergency.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.onboarding, m.rateDecisions, m.authFailures, m.knownKeys, m.breaker,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&tenantsCollector{s: s})
	return m
}

// tenantsCollector counts active tenants by tier at scrape time and refreshes
// the breaker gauge from the shared store.
type tenantsCollector struct{ s *Server }

var tenantsDesc = prometheus.NewDesc("tenantd_tenants", "Active tenants by tier.", []string{"tier"}, nil)

func (c *tenantsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- tenantsDesc }

func (c *tenantsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if l, err := c.s.Breaker.Level(ctx); err == nil {
		c.s.metrics.breaker.Set(float64(l))
	}
	counts, err := c.s.Tenants.CountByTier(ctx)
	if err != nil {
		c.s.Logger.Warn("metrics: count tenants", "err", err)
		return
	}
	for _, t := range tenant.Tiers {
		ch <- prometheus.MustNewConstMetric(tenantsDesc, prometheus.GaugeValue, float64(counts[t]), string(t))
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// methodLabels are the only values of the method label: net/http accepts any
// token as a method, and a label per made-up method grew memory without bound
// (20,000 unauthenticated requests made /metrics 31 MB).
var methodLabels = map[string]string{
	http.MethodGet: http.MethodGet, http.MethodHead: http.MethodHead, http.MethodPost: http.MethodPost,
	http.MethodPut: http.MethodPut, http.MethodPatch: http.MethodPatch, http.MethodDelete: http.MethodDelete,
	http.MethodOptions: http.MethodOptions, http.MethodConnect: http.MethodConnect, http.MethodTrace: http.MethodTrace,
}

// methodLabel maps a request method into the fixed set above plus "other".
func methodLabel(m string) string {
	if l, ok := methodLabels[m]; ok {
		return l
	}
	return "other"
}

// instrument records count and latency by route pattern and method label.
// Every label comes from a bounded set: route is a registered chi pattern or
// "unmatched" (never the raw path, which holds ids and is chosen by the
// caller), method is methodLabel, status is a code this server wrote.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := "unmatched"
		if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
			route = rc.RoutePattern()
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		method := methodLabel(r.Method)
		s.metrics.requests.WithLabelValues(route, method, strconv.Itoa(sw.status)).Inc()
		s.metrics.latency.WithLabelValues(route, method).Observe(d.Seconds())
		if s.Logger.Enabled(r.Context(), -4) {
			s.Logger.Debug("request", "method", method, "route", route, "status", sw.status, "us", d.Microseconds())
		}
	})
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Logger.Error("panic", "method", r.Method, "route", r.URL.Path, "panic", v)
				s.error(w, r, tenant.Errorf(tenant.EINTERNAL, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
