// Package http is tenantd's HTTP API: admin tenant management, the
// tenant-scoped items resource, the Stripe and SNS hooks, health and metrics.
package http

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tenantco/platform/service/internal/sns"
	"github.com/tenantco/platform/service/internal/tenant"
)

// Server holds the API's dependencies. Build it, then serve Handler().
type Server struct {
	Tenants    tenant.Service
	Items      tenant.ItemService
	Limiter    tenant.RateLimiter
	Breaker    tenant.BreakerStore
	Limits     map[tenant.Tier]tenant.Limits
	AdminToken string
	// Stripe webhook; disabled (503) when StripeSecret is empty.
	StripeSecret string
	PriceTiers   map[string]tenant.Tier
	// SNS budget-alert hook; disabled (503) when nil or without topics.
	SNS *sns.Verifier
	// BudgetName, when set, is the one AWS budget whose alerts set the
	// level (SNS_BUDGET_NAME); alerts of any other budget are ignored.
	BudgetName string
	// SNSConfirmer confirms the service's subscriptions to those topics;
	// nil: one with the default client (HTTPS to SNS, no redirects).
	SNSConfirmer *sns.Confirmer
	// Ready checks PostgreSQL and Redis for /readyz.
	Ready  func(ctx context.Context) map[string]error
	Logger *slog.Logger
	// Admission sizes the API's admission gate (admission.go); zero: DefaultAdmission(0).
	Admission Admission

	// AuthFailureLimits bound lookups of API keys this replica has not seen
	// valid (authguard.go); zero: tenant.DefaultAuthFailureLimits.
	AuthFailureLimits tenant.AuthFailureLimits
	// TrustedProxyHops is how many proxies in front append to
	// X-Forwarded-For (the ALB: 1); 0 uses the connection's peer address.
	TrustedProxyHops int

	Registry *prometheus.Registry
	metrics  *metrics
	guard    *authGuard
	gates    *gates
	adminSum [32]byte
}

// Handler builds the router. Call once.
func (s *Server) Handler() http.Handler {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Registry == nil {
		s.Registry = prometheus.NewRegistry()
	}
	if s.Limits == nil {
		s.Limits = tenant.DefaultLimits()
	}
	s.adminSum = sha256.Sum256([]byte("Bearer " + s.AdminToken))
	s.metrics = newMetrics(s.Registry, s)
	if s.AuthFailureLimits == (tenant.AuthFailureLimits{}) {
		s.AuthFailureLimits = tenant.DefaultAuthFailureLimits()
	}
	s.guard = newAuthGuard(s.Limiter, s.AuthFailureLimits)
	s.gates = s.newGates()
	if s.SNSConfirmer == nil {
		s.SNSConfirmer = &sns.Confirmer{}
	}

	r := chi.NewRouter()
	r.Use(s.instrument, s.recoverer)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		s.error(w, r, tenant.Errorf(tenant.ENOTFOUND, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody(tenant.Errorf("method_not_allowed", "method not allowed")))
	})
	// Admission (admission.go) runs first in every group, after routing so
	// metrics keep the route, and before anything touches PostgreSQL or Redis.
	r.Group(func(r chi.Router) {
		r.Use(s.admit(s.gates.ops))
		r.Get("/healthz", func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		})
		r.Get("/readyz", s.readyz)
		r.Method(http.MethodGet, "/metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	})

	r.Group(func(r chi.Router) {
		r.Use(s.admit(s.gates.admin), s.requireAdmin)
		r.Post("/v1/tenants", s.createTenant)
		r.Get("/v1/tenants/{id}", s.getTenant)
		r.Patch("/v1/tenants/{id}", s.patchTenant)
		r.Delete("/v1/tenants/{id}", s.deleteTenant)
		r.Get("/v1/breaker", s.getBreaker)
		r.Post("/v1/breaker", s.setBreaker)
	})
	r.Group(func(r chi.Router) {
		r.Use(s.admit(s.gates.admin))
		r.Post("/v1/breaker/sns", s.snsHook)
		r.Post("/v1/billing/stripe", s.stripeHook)
	})

	r.Group(func(r chi.Router) {
		r.Use(s.admit(s.gates.api), s.requireTenant)
		r.Post("/v1/items", s.createItem)
		r.Get("/v1/items", s.listItems)
		r.Get("/v1/items/{id}", s.getItem)
		r.Delete("/v1/items/{id}", s.deleteItem)
	})
	return r
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]string{}
	ok := true
	if s.Ready != nil {
		for name, err := range s.Ready(ctx) {
			if err != nil {
				ok = false
				body[name] = "unreachable"
				s.Logger.Warn("readiness check failed", "dependency", name, "err", err)
			} else {
				body[name] = "ok"
			}
		}
	}
	if !ok {
		writeJSON(w, http.StatusServiceUnavailable, body)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// ---- errors and JSON ----

var statusByCode = map[string]int{
	tenant.EINVALID:      http.StatusBadRequest,
	tenant.EUNAUTHORIZED: http.StatusUnauthorized,
	tenant.EQUOTA:        http.StatusForbidden,
	tenant.EFORBIDDEN:    http.StatusForbidden,
	tenant.ENOTFOUND:     http.StatusNotFound,
	tenant.ECONFLICT:     http.StatusConflict,
	tenant.EGONE:         http.StatusGone,
	tenant.EIDEMPOTENCY:  http.StatusUnprocessableEntity,
	tenant.ERATELIMITED:  http.StatusTooManyRequests,
	tenant.EINTERNAL:     http.StatusInternalServerError,
	tenant.EPAUSED:       http.StatusServiceUnavailable,
	tenant.EREADONLY:     http.StatusServiceUnavailable,
	tenant.EUNAVAILABLE:  http.StatusServiceUnavailable,
	tenant.EOVERLOADED:   http.StatusServiceUnavailable,
}

type errorJSON struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field,omitempty"`
	} `json:"error"`
}

func errorBody(err error) errorJSON {
	var b errorJSON
	b.Error.Code, b.Error.Message, b.Error.Field = tenant.ErrorCode(err), tenant.ErrorMessage(err), tenant.ErrorField(err)
	return b
}

// defaultRetryAfter is sent with every 503 whose handler did not choose a
// value (a dependency outage): clients and load balancers back off instead
// of retrying at once.
const defaultRetryAfter = "2"

// error writes err as JSON; internal errors are logged and never shown,
// unavailability is logged with its cause. Every 503 carries Retry-After.
func (s *Server) error(w http.ResponseWriter, r *http.Request, err error) {
	if s.clientGone(w, r, err) {
		return
	}
	code := tenant.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch code {
	case tenant.EINTERNAL:
		s.Logger.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	case tenant.EUNAVAILABLE:
		s.Logger.Warn("unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tenantd"`)
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", defaultRetryAfter)
	}
	writeJSON(w, status, errorBody(err))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	// HTML escaping would print each <, > and & of stored JSON as six bytes
	// (\u003c): a response up to six times the stored item. The body is
	// application/json with nosniff, never HTML.
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads one JSON object of at most limit bytes, refusing unknown
// fields, trailing data and lone UTF-16 surrogate escapes. encoding/json
// would turn "\ud800" into U+FFFD in a string field and keep it verbatim in
// a json.RawMessage, which PostgreSQL then refuses; both are refused here,
// naming the top-level field that held it.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tenant.Errorf(tenant.EINVALID, "body is larger than %d bytes", limit)
		}
		return tenant.Errorf(tenant.EINVALID, "body could not be read")
	}
	if f, err := tenant.ScanJSON(body); err == nil && f.LoneSurrogate {
		msg := "JSON strings must be valid Unicode: a \\ud800-\\udfff escape must be a high surrogate directly followed by a low one"
		if f.LoneSurrogateAt != "" && len(f.LoneSurrogateAt) <= 64 {
			return tenant.FieldError(f.LoneSurrogateAt, "%s: %s", f.LoneSurrogateAt, msg)
		}
		return tenant.Errorf(tenant.EINVALID, "%s", msg)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) && ute.Field != "" {
			return tenant.FieldError(ute.Field, "%s has the wrong JSON type", ute.Field)
		}
		return tenant.Errorf(tenant.EINVALID, "body must be one JSON object with known fields")
	}
	if _, err := dec.Token(); err != io.EOF {
		return tenant.Errorf(tenant.EINVALID, "body must be one JSON object with known fields")
	}
	return nil
}

// ---- auth ----

func (s *Server) requireAdmin(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
		if s.AdminToken == "" || subtle.ConstantTimeCompare(got[:], s.adminSum[:]) != 1 {
			s.error(w, r, tenant.Errorf(tenant.EUNAUTHORIZED, "admin token required"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const principalKey ctxKey = 1

type scope struct {
	p   *tenant.Principal
	lim tenant.Limits
}

// requireTenant authenticates the API key, applies the breaker to the tier's
// limits and takes one token from the tenant's rate limit. Every failure to
// decide refuses the request (fail closed).
func (s *Server) requireTenant(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := tenant.ParseBearer(r.Header.Get("Authorization"))
		if !ok {
			s.error(w, r, tenant.Errorf(tenant.EUNAUTHORIZED, "Authorization: Bearer <api_key> required"))
			return
		}
		hash, err := tenant.ParseAPIKey(tok)
		if err != nil {
			s.metrics.authFailures.WithLabelValues("malformed").Inc()
			s.error(w, r, err)
			return
		}
		if !s.guard.good.has(hash) && !s.checkUnknownKey(w, r, hash) {
			return // authguard.go
		}
		p, err := s.Tenants.Authenticate(r.Context(), hash)
		if err != nil {
			if tenant.ErrorCode(err) == tenant.EUNAUTHORIZED {
				s.guard.good.del(hash)
				s.guard.bad.put(hash)
				s.metrics.authFailures.WithLabelValues("unknown_key").Inc()
			}
			s.error(w, r, err)
			return
		}
		s.guard.good.put(hash)
		level, err := s.Breaker.Level(r.Context())
		if err != nil && s.clientGone(w, r, err) {
			return
		}
		if err != nil {
			s.metrics.rateDecisions.WithLabelValues(string(p.Tier), "error").Inc()
			s.error(w, r, tenant.Unavailable("limits cannot be checked right now; retry later", err))
			return
		}
		lim := s.Limits[p.Tier].Effective(p.Tier, level)
		d, err := s.Limiter.Allow(r.Context(), p.TenantID, lim)
		if err != nil && s.clientGone(w, r, err) {
			return
		}
		if err != nil {
			s.metrics.rateDecisions.WithLabelValues(string(p.Tier), "error").Inc()
			w.Header().Set("Retry-After", "1")
			s.error(w, r, tenant.Unavailable("rate limiter unavailable; retry later", err))
			return
		}
		w.Header().Set("X-RateLimit-Limit", strconv.Itoa(lim.RatePerSecond))
		w.Header().Set("X-RateLimit-Remaining", strconv.Itoa(d.Remaining))
		if !d.Allowed {
			s.metrics.rateDecisions.WithLabelValues(string(p.Tier), "limited").Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Max(1, math.Ceil(d.RetryAfter.Seconds())))))
			s.error(w, r, tenant.Errorf(tenant.ERATELIMITED, "rate limit of the %s tier exceeded", p.Tier))
			return
		}
		s.metrics.rateDecisions.WithLabelValues(string(p.Tier), "allowed").Inc()
		ctx := context.WithValue(r.Context(), principalKey, &scope{p: p, lim: lim})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func scopeOf(r *http.Request) *scope { return r.Context().Value(principalKey).(*scope) }
