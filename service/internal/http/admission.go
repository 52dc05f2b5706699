package http

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantco/platform/service/internal/tenant"
)

// Admission control.
//
// Past its capacity a service that accepts every request gets slower for all
// of them until clients time out, retry and cancel: goodput collapses while
// memory grows with the requests in progress (BENCHMARKS.md, "Overload").
// Instead, at most MaxInFlight API requests are worked on at once; a few more
// wait up to MaxWait in a FIFO queue; everything beyond is refused at once
// with 503 "overloaded" and Retry-After, before authentication, PostgreSQL or
// Redis is touched. Health, metrics and the admin API (with the signed hooks)
// have gates of their own, so probes and operators still get through while
// the API sheds load.

// Admission sizes the API gate. The zero value means DefaultAdmission.
type Admission struct {
	// MaxInFlight is how many API requests are worked on at once.
	MaxInFlight int
	// MaxQueue is how many more may wait for a slot (0: none wait).
	MaxQueue int
	// MaxWait is the longest a request waits in the queue before it is
	// refused; it bounds the latency admission adds.
	MaxWait time.Duration
}

// DefaultAdmission is the API gate for a given database connection count
// (DB_MAX_CONNS): half as many requests in flight, twice that many queued for
// at most 100 ms. More requests in flight than the database can execute at
// once only queue inside PostgreSQL and Go, where they cost context switches
// and latency and cannot be refused any more. Measured on the 2-core bench
// machine with DB_MAX_CONNS=24 (BENCHMARKS.md): goodput peaks at 12 in flight
// (2,888 req/s, 421 µs CPU per request) against 2,165 at 24 and 2,173 at 48
// (503 µs); at 48, a 2x open-loop overload left no CPU to shed with and
// goodput fell to half, at 12 it held 0.93 of capacity.
func DefaultAdmission(dbConns int) Admission {
	n := max(4, dbConns/2)
	return Admission{MaxInFlight: n, MaxQueue: 2 * n, MaxWait: 100 * time.Millisecond}
}

// Gates of the reserved classes: small, and not shared with the API.
var (
	opsAdmission   = Admission{MaxInFlight: 4, MaxQueue: 4, MaxWait: time.Second}
	adminAdmission = Admission{MaxInFlight: 8, MaxQueue: 16, MaxWait: 2 * time.Second}
)

// retryAfterOverloaded is the Retry-After of a shed request, in seconds (the
// header takes whole seconds; a queue drains in well under one).
const retryAfterOverloaded = "1"

// StatusClientClosedRequest is recorded (metrics, debug log) for a request
// whose client went away before it was answered: not a server error. The
// number is nginx's; nothing is sent, the connection is gone.
const StatusClientClosedRequest = 499

// gate admits at most cap(slots) holders; up to maxQueue more wait in FIFO
// order (Go hands a freed slot of a buffered channel to the longest-waiting
// sender), each at most maxWait.
type gate struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	maxWait  time.Duration
	// this class's series of the admission metrics
	inFlight, queued prometheus.Gauge
	shed             prometheus.Counter
}

func newGate(class string, a Admission, m *admissionMetrics) *gate {
	g := &gate{slots: make(chan struct{}, max(1, a.MaxInFlight)), maxQueue: int64(max(0, a.MaxQueue)), maxWait: a.MaxWait,
		inFlight: m.inFlight.WithLabelValues(class), queued: m.queued.WithLabelValues(class), shed: m.shed.WithLabelValues(class)}
	m.limit.WithLabelValues(class).Set(float64(cap(g.slots)))
	return g
}

// enter takes a slot, waiting in the queue if there is room. It returns
// false when the request must be refused (queue full or wait over) or its
// client went away while it waited.
func (g *gate) enter(ctx context.Context) bool {
	select {
	case g.slots <- struct{}{}:
		return true
	default:
	}
	if g.waiting.Add(1) > g.maxQueue {
		g.waiting.Add(-1)
		return false
	}
	g.queued.Inc()
	defer func() {
		g.waiting.Add(-1)
		g.queued.Dec()
	}()
	t := time.NewTimer(g.maxWait)
	defer t.Stop()
	select {
	case g.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (g *gate) leave() { <-g.slots }

type admissionMetrics struct {
	inFlight *prometheus.GaugeVec
	queued   *prometheus.GaugeVec
	limit    *prometheus.GaugeVec
	shed     *prometheus.CounterVec
}

func newAdmissionMetrics(reg prometheus.Registerer) *admissionMetrics {
	m := &admissionMetrics{
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenantd_admission_in_flight", Help: "Requests being worked on, by admission class (api, admin, ops).",
		}, []string{"class"}),
		queued: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenantd_admission_queued", Help: "Requests waiting for an admission slot, by class.",
		}, []string{"class"}),
		limit: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tenantd_admission_limit", Help: "Admission slots (requests worked on at once), by class.",
		}, []string{"class"}),
		shed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tenantd_admission_shed_total", Help: "Requests refused with 503 overloaded before any work, by class.",
		}, []string{"class"}),
	}
	reg.MustRegister(m.inFlight, m.queued, m.limit, m.shed)
	return m
}

// gates are the admission classes of one Server.
type gates struct{ api, admin, ops *gate }

// overloadedJSON is encoded once: shedding must cost as little as possible.
var overloadedJSON = func() []byte {
	b, err := json.Marshal(errorBody(tenant.Errorf(tenant.EOVERLOADED, "the service is at capacity; retry after the Retry-After delay")))
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}()

func (s *Server) newGates() *gates {
	m := newAdmissionMetrics(s.Registry)
	a := s.Admission
	if a.MaxInFlight <= 0 {
		a = DefaultAdmission(0)
	}
	return &gates{api: newGate("api", a, m), admin: newGate("admin", adminAdmission, m), ops: newGate("ops", opsAdmission, m)}
}

// admit is the middleware of one class. It must come before anything that
// touches PostgreSQL or Redis (authentication included).
func (s *Server) admit(g *gate) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !g.enter(r.Context()) {
				if r.Context().Err() != nil {
					s.clientGone(w, r, r.Context().Err())
					return
				}
				g.shed.Inc()
				h := w.Header()
				h.Set("Retry-After", retryAfterOverloaded)
				h.Set("Content-Type", "application/json")
				h.Set("Cache-Control", "no-store")
				h.Set("X-Content-Type-Options", "nosniff")
				w.WriteHeader(http.StatusServiceUnavailable)
				_, _ = w.Write(overloadedJSON)
				return
			}
			g.inFlight.Inc()
			defer func() {
				g.inFlight.Dec()
				g.leave()
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// clientGone reports whether r's client went away (its context is done);
// then err, whatever it is, is the consequence and not a server error: it is
// recorded as 499 at debug level instead of 500 in the error log. Nothing
// can be sent to a client that left.
func (s *Server) clientGone(w http.ResponseWriter, r *http.Request, err error) bool {
	if r.Context().Err() == nil {
		return false
	}
	if s.Logger.Enabled(r.Context(), slog.LevelDebug) {
		s.Logger.Debug("client went away", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.WriteHeader(StatusClientClosedRequest)
	return true
}
