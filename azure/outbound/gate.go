package outbound

import (
	"context"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/azerr"
)

// GateKey is the scope a Retry-After applies to: one API family of one customer tenant and,
// for ARM, one subscription ("" for tenant-level calls).
type GateKey struct {
	Tenant string
	API    API
	Scope  string
}

func (k GateKey) normalized() GateKey {
	return GateKey{Tenant: strings.ToLower(k.Tenant), API: k.API, Scope: strings.ToLower(k.Scope)}
}

// RetryAfterGates hold every request of a scope back until the Retry-After of the last 429
// seen in that scope has elapsed. azcore's retry policy only delays the retry of the
// throttled request itself; without the gate, other goroutines' requests to the same scope
// would arrive early, which ARM counts against the caller (and azuresim counts as early).
//
// UNCONFIRMED: ARM and the other APIs apply a Retry-After to the throttled bucket (operation
// type) only; the gate holds every operation type of the scope. That over-approximation is
// deliberate: a request sent early is counted against us, a request sent late costs latency.
type RetryAfterGates struct {
	clock Clock
	// closed is len(until), kept under mu: Wait reads it without the lock, so while no scope
	// is throttled (the common case) the requests of every tenant pass without contending.
	closed atomic.Int64
	mu     sync.Mutex
	until  map[GateKey]time.Time
}

// NewRetryAfterGates returns empty gates; a nil clock means the real one.
func NewRetryAfterGates(clock Clock) *RetryAfterGates {
	if clock == nil {
		clock = realClock{}
	}
	return &RetryAfterGates{clock: clock, until: map[GateKey]time.Time{}}
}

// Close holds the scope until t (a shorter close never shortens a longer one).
func (g *RetryAfterGates) Close(k GateKey, t time.Time) {
	k = k.normalized()
	g.mu.Lock()
	defer g.mu.Unlock()
	cur, ok := g.until[k]
	if t.After(cur) {
		if !ok {
			g.closed.Add(1)
		}
		g.until[k] = t
	}
}

// Wait blocks until the scope's gate is open or ctx is done.
func (g *RetryAfterGates) Wait(ctx context.Context, k GateKey) error {
	if g.closed.Load() == 0 {
		return ctx.Err()
	}
	k = k.normalized()
	for {
		g.mu.Lock()
		until, ok := g.until[k]
		now := g.clock.Now()
		if ok && !now.Before(until) {
			delete(g.until, k) // keep the map to the scopes currently throttled
			g.closed.Add(-1)
			ok = false
		}
		g.mu.Unlock()
		if !ok {
			return ctx.Err()
		}
		if err := g.clock.Sleep(ctx, until.Sub(now)); err != nil {
			return err
		}
	}
}

// observe closes the gate when resp is a 429 carrying a Retry-After.
func (g *RetryAfterGates) observe(k GateKey, resp *http.Response, err error) {
	if err != nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		return
	}
	if d := azerr.RetryAfter(resp.Header); d > 0 {
		g.Close(k, g.clock.Now().Add(d))
	}
}

// recheckOnConnection returns req with an httptrace hook that waits for the gate once more
// when the transport has a connection and is about to write the request. Dialling and the
// TLS handshake can take longer than a Retry-After under load; without this, a request that
// passed the gate before another request's 429 would still arrive early.
func (g *RetryAfterGates) recheckOnConnection(req *policy.Request, k GateKey) *policy.Request {
	ctx := req.Raw().Context()
	trace := &httptrace.ClientTrace{
		GotConn: func(httptrace.GotConnInfo) {
			// An error here is ctx's; the transport sees the same ctx and aborts the write.
			_ = g.Wait(ctx, k)
		},
	}
	return req.WithContext(httptrace.WithClientTrace(ctx, trace))
}
