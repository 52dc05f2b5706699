package http

import (
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/tenantco/platform/service/internal/tenant"
)

const adminBodyLimit = 4 << 10

func (s *Server) createTenant(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req tenant.CreateRequest
	if err := decode(w, r, adminBodyLimit, &req); err != nil {
		s.error(w, r, err)
		return
	}
	if err := req.Validate(); err != nil {
		s.error(w, r, err)
		return
	}
	level, err := s.Breaker.Level(r.Context())
	if err != nil {
		s.error(w, r, tenant.Unavailable("cost breaker state unavailable; retry later", err))
		return
	}
	if !level.OnboardingAllowed(req.Tier) {
		w.Header().Set("Retry-After", "3600")
		s.error(w, r, tenant.Errorf(tenant.EPAUSED, "onboarding of %s tenants is paused (cost breaker %s)", req.Tier, level))
		return
	}
	c, replayed, err := s.Tenants.Create(r.Context(), req, r.Header.Get("Idempotency-Key"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	if h, err := tenant.ParseAPIKey(c.APIKey); err == nil {
		s.guard.good.put(h) // valid from its first request on this replica
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	} else {
		s.metrics.onboarding.Observe(time.Since(start).Seconds())
		s.Logger.Info("tenant onboarded", "tenant", c.ID, "tier", c.Tier, "ms", time.Since(start).Milliseconds())
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) getTenant(w http.ResponseWriter, r *http.Request) {
	t, err := s.Tenants.Get(r.Context(), chi.URLParam(r, "id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) patchTenant(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Tier tenant.Tier `json:"tier"`
	}
	if err := decode(w, r, adminBodyLimit, &body); err != nil {
		s.error(w, r, err)
		return
	}
	t, err := s.Tenants.SetTier(r.Context(), chi.URLParam(r, "id"), body.Tier)
	if err != nil {
		s.error(w, r, err)
		return
	}
	s.Logger.Info("tenant tier changed", "tenant", t.ID, "tier", t.Tier)
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) deleteTenant(w http.ResponseWriter, r *http.Request) {
	id := chi.URLParam(r, "id")
	if err := s.Tenants.Delete(r.Context(), id); err != nil {
		s.error(w, r, err)
		return
	}
	s.Logger.Info("tenant offboarded", "tenant", id)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) getBreaker(w http.ResponseWriter, r *http.Request) {
	l, err := s.Breaker.Level(r.Context())
	if err != nil {
		s.error(w, r, tenant.Unavailable("cost breaker state unavailable; retry later", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"level": l.String()})
}

func (s *Server) setBreaker(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Level string `json:"level"`
	}
	if err := decode(w, r, adminBodyLimit, &body); err != nil {
		s.error(w, r, err)
		return
	}
	l, err := tenant.ParseBreakerLevel(body.Level)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if err := s.setLevel(r, l, "admin"); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"level": l.String()})
}

func (s *Server) setLevel(r *http.Request, l tenant.BreakerLevel, source string) error {
	if err := s.Breaker.SetLevel(r.Context(), l); err != nil {
		return err
	}
	s.metrics.breaker.Set(float64(l))
	log := s.Logger.Info
	if l >= tenant.BreakerWarn {
		log = s.Logger.Warn
	}
	log("cost breaker level set", "level", l.String(), "source", source)
	return nil
}

// ---- items ----

func (s *Server) writable(w http.ResponseWriter, r *http.Request, sc *scope) bool {
	if sc.lim.ReadOnly {
		w.Header().Set("Retry-After", "3600")
		s.error(w, r, tenant.Errorf(tenant.EREADONLY, "the %s tier is read-only while the cost breaker is at emergency", sc.p.Tier))
		return false
	}
	return true
}

func (s *Server) createItem(w http.ResponseWriter, r *http.Request) {
	sc := scopeOf(r)
	if !s.writable(w, r, sc) {
		return
	}
	var in tenant.ItemInput
	if err := decode(w, r, tenant.MaxItemBytes+1024, &in); err != nil {
		s.error(w, r, err)
		return
	}
	it, err := s.Items.CreateItem(r.Context(), sc.p, sc.lim, in)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, it)
}

// listItems serves one page (tenant/page.go): ?limit=1..200 (default 50)
// and ?cursor= from the previous page's next_cursor.
func (s *Server) listItems(w http.ResponseWriter, r *http.Request) {
	q, err := tenant.ParsePageQuery(r.URL.Query().Get("limit"), r.URL.Query().Get("cursor"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, err := s.Items.ListPage(r.Context(), scopeOf(r).p, q)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) getItem(w http.ResponseWriter, r *http.Request) {
	it, err := s.Items.GetItem(r.Context(), scopeOf(r).p, chi.URLParam(r, "id"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, it)
}

func (s *Server) deleteItem(w http.ResponseWriter, r *http.Request) {
	sc := scopeOf(r)
	if !s.writable(w, r, sc) {
		return
	}
	if err := s.Items.DeleteItem(r.Context(), sc.p, chi.URLParam(r, "id")); err != nil {
		s.error(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
