package azuresim

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// API family names used in metrics and fault scoping.
const (
	FamilyAdmin        = "admin"
	FamilyEntra        = "entra"
	FamilyARM          = "arm"
	FamilyGraph        = "graph"
	FamilyDefender     = "defender"
	FamilyLogAnalytics = "loganalytics"
	FamilyOther        = "other"
)

// requestInfo travels with a request so handlers can name the API they
// served and the principal, for metrics and fault accounting.
type requestInfo struct {
	family    string
	api       string
	principal string
	status    int
	token     *verifiedToken // bearer token, verified once (auth.go requestToken)
}

type requestInfoKey struct{}

func requestInfoFrom(r *http.Request) *requestInfo {
	ri, _ := r.Context().Value(requestInfoKey{}).(*requestInfo)
	return ri
}

// SetRequestAPI names the API operation a request was routed to (for the
// request counters), e.g. "graph.subscribedSkus".
func SetRequestAPI(r *http.Request, api string) {
	if ri := requestInfoFrom(r); ri != nil {
		ri.api = api
	}
}

// familyOf classifies a request path into an API family.
func familyOf(path string) string {
	lp := strings.ToLower(path)
	switch {
	case strings.HasPrefix(lp, "/_sim/"):
		return FamilyAdmin
	case strings.HasPrefix(lp, "/subscriptions/") || strings.HasPrefix(lp, "/providers/"):
		return FamilyARM
	case strings.HasPrefix(lp, "/v1.0/") || strings.HasPrefix(lp, "/beta/"):
		return FamilyGraph
	case strings.HasPrefix(lp, "/api/"):
		return FamilyDefender
	case strings.HasPrefix(lp, "/v1/"):
		return FamilyLogAnalytics
	case strings.Contains(lp, "/oauth2/") || strings.Contains(lp, "/.well-known/") || strings.Contains(lp, "/discovery/"):
		return FamilyEntra
	}
	return FamilyOther
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// middleware wraps every request: request ids, latency and random faults
// (never on /_sim/), then the API, then the request counters.
func (s *Sim) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := &requestInfo{family: familyOf(r.URL.Path)}
		r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri))
		rid := newUUID()
		w.Header().Set("x-ms-request-id", rid)
		corr := r.Header.Get("x-ms-correlation-request-id")
		if corr == "" {
			corr = r.Header.Get("x-ms-client-request-id")
		}
		if corr == "" {
			corr = rid
		}
		w.Header().Set("x-ms-correlation-request-id", corr)
		rec := &statusRecorder{ResponseWriter: w}
		if ri.family != FamilyAdmin {
			if !s.faults.inject(rec, r, ri, s) {
				next.ServeHTTP(rec, r)
			}
		} else {
			next.ServeHTTP(rec, r)
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		ri.status = rec.status
		if ri.api == "" {
			ri.api = ri.family
		}
		if ri.family != FamilyAdmin {
			s.metrics.record(ri.family, ri.api, r.Method, rec.status)
		}
		s.log.Debug("azuresim request", "method", r.Method, "path", r.URL.Path, "api", ri.api,
			"status", rec.status, "principal", ri.principal, "dur", time.Since(start))
	})
}
