package azuresim

import (
	"net/http"
	"sort"
	"sync"
)

// RequestCount is the number of requests served for one API, method and status.
type RequestCount struct {
	Family string `json:"family"`
	API    string `json:"api"`
	Method string `json:"method"`
	Status int    `json:"status"`
	Count  int64  `json:"count"`
}

type metricKey struct {
	family, api, method string
	status              int
}

type requestMetrics struct {
	mu     sync.Mutex
	counts map[metricKey]int64
}

func newRequestMetrics() *requestMetrics {
	return &requestMetrics{counts: map[metricKey]int64{}}
}

func (m *requestMetrics) record(family, api, method string, status int) {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
	default:
		method = otherMethod // any token is a valid method; keep the keys bounded
	}
	m.mu.Lock()
	m.counts[metricKey{family, api, method, status}]++
	m.mu.Unlock()
}

// otherMethod is the counters' name for every non-standard request method.
const otherMethod = "OTHER"

func (m *requestMetrics) snapshot() []RequestCount {
	m.mu.Lock()
	out := make([]RequestCount, 0, len(m.counts))
	for k, v := range m.counts {
		out = append(out, RequestCount{Family: k.family, API: k.api, Method: k.method, Status: k.status, Count: v})
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.API != b.API {
			return a.API < b.API
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Status < b.Status
	})
	return out
}

// RequestCounts returns the request counters (admin API excluded).
func (s *Sim) RequestCounts() []RequestCount { return s.metrics.snapshot() }

// CountRequests sums counters matching the filter; empty strings and a zero
// status match everything.
func (s *Sim) CountRequests(api, method string, status int) int64 {
	var n int64
	for _, c := range s.metrics.snapshot() {
		if (api == "" || c.API == api) && (method == "" || c.Method == method) && (status == 0 || c.Status == status) {
			n += c.Count
		}
	}
	return n
}
