package outbound

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// OperationClass is the ARM throttling bucket a request draws from.
type OperationClass int

const (
	Read OperationClass = iota
	Write
	Delete
	numClasses
)

func (c OperationClass) String() string {
	switch c {
	case Read:
		return "read"
	case Write:
		return "write"
	case Delete:
		return "delete"
	}
	return "unknown"
}

// ClassOf maps an HTTP method to its ARM bucket: GET/HEAD/OPTIONS read, DELETE delete,
// everything else (PUT, PATCH, POST) write.
func ClassOf(method string) OperationClass {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return Read
	case http.MethodDelete:
		return Delete
	}
	return Write
}

// Bucket is one token bucket: Burst tokens, refilled at RefillPerSecond.
type Bucket struct {
	Burst           int
	RefillPerSecond float64
}

// ARMLimits are the buckets of one scope (a subscription, or the tenant for calls outside any
// subscription).
type ARMLimits struct {
	Read, Write, Delete Bucket
}

// DefaultARMLimits mirrors ARM's per-region token buckets (docs/azure.md §10): reads 250
// refilled at 25/s, writes 200 at 10/s, deletes 200 at 10/s, the same at subscription and at
// tenant scope. ARM counts per region; xdrlink counts per subscription across regions, which
// is stricter, never looser.
func DefaultARMLimits() ARMLimits {
	return ARMLimits{
		Read:   Bucket{Burst: 250, RefillPerSecond: 25},
		Write:  Bucket{Burst: 200, RefillPerSecond: 10},
		Delete: Bucket{Burst: 200, RefillPerSecond: 10},
	}
}

// scaled applies a headroom factor: burst rounded down (at least 1), refill scaled.
func (l ARMLimits) scaled(f float64) ARMLimits {
	sc := func(b Bucket) Bucket {
		burst := int(float64(b.Burst) * f)
		if burst < 1 {
			burst = 1
		}
		return Bucket{Burst: burst, RefillPerSecond: b.RefillPerSecond * f}
	}
	return ARMLimits{Read: sc(l.Read), Write: sc(l.Write), Delete: sc(l.Delete)}
}

func (l ARMLimits) bucket(c OperationClass) Bucket {
	switch c {
	case Write:
		return l.Write
	case Delete:
		return l.Delete
	}
	return l.Read
}

// Limiter holds the token buckets of every (customer tenant, subscription) scope. It is safe
// for concurrent use and meant to be shared process-wide.
type Limiter struct {
	base   ARMLimits
	limits atomic.Pointer[ARMLimits] // base scaled by the replica share
	clock  Clock

	// scopes maps scopeKey → *scope. Every ARM try looks its scope up and a scope is created
	// once, so lookups take no process-wide lock (sync.Map); each bucket locks itself.
	scopes sync.Map
}

type scopeKey struct{ tenant, subscription string }

type scope struct {
	buckets [numClasses]*rate.Limiter
}

// NewLimiter returns a limiter with the given limits; a nil clock means the real one.
func NewLimiter(limits ARMLimits, clock Clock) *Limiter {
	if clock == nil {
		clock = realClock{}
	}
	l := &Limiter{base: limits, clock: clock}
	l.limits.Store(&limits)
	return l
}

// SetShare gives this process the share f (0 < f ≤ 1) of the limits: with
// n replicas calling ARM as the same app, each takes 1/n of every bucket,
// so that together they stay under ARM's (its buckets count per principal,
// not per process). Existing scopes change at once. A scope first used
// while SetShare runs may start with the previous share; the next call
// corrects it.
func (l *Limiter) SetShare(f float64) {
	if !(f > 0 && f <= 1) {
		return
	}
	limits := l.base.scaled(f)
	l.limits.Store(&limits)
	l.scopes.Range(func(_, v any) bool {
		s := v.(*scope)
		for c := OperationClass(0); c < numClasses; c++ {
			b := limits.bucket(c)
			s.buckets[c].SetLimit(rate.Limit(b.RefillPerSecond))
			s.buckets[c].SetBurst(b.Burst)
		}
		return true
	})
}

// Limits returns the limits in force (after the share).
func (l *Limiter) Limits() ARMLimits { return *l.limits.Load() }

func (l *Limiter) scope(tenant, subscription string) *scope {
	k := scopeKey{tenant: strings.ToLower(tenant), subscription: strings.ToLower(subscription)}
	if s, ok := l.scopes.Load(k); ok {
		return s.(*scope)
	}
	s := &scope{}
	limits := l.Limits()
	for c := OperationClass(0); c < numClasses; c++ {
		b := limits.bucket(c)
		s.buckets[c] = rate.NewLimiter(rate.Limit(b.RefillPerSecond), b.Burst)
	}
	// A concurrent first use may have stored its scope meanwhile; both callers get that one.
	actual, _ := l.scopes.LoadOrStore(k, s)
	return actual.(*scope)
}

// Wait blocks until a request of class c may be sent in the scope (tenant, subscription);
// subscription "" is the tenant scope.
func (l *Limiter) Wait(ctx context.Context, tenant, subscription string, c OperationClass) error {
	s := l.scope(tenant, subscription)
	now := l.clock.Now()
	r := s.buckets[c].ReserveN(now, 1)
	if !r.OK() {
		// Only possible with a zero burst: a configuration error, fail loudly rather than hang.
		return errZeroBurst
	}
	if d := r.DelayFrom(now); d > 0 {
		if err := l.clock.Sleep(ctx, d); err != nil {
			r.CancelAt(l.clock.Now())
			return err
		}
	}
	return ctx.Err()
}

type limiterError string

func (e limiterError) Error() string { return string(e) }

const errZeroBurst = limiterError("outbound: ARM limiter bucket has zero burst")

// subscriptionOf extracts the subscription id from an ARM URL path
// (".../subscriptions/{id}/..."), or "" for tenant-level calls. It compares whole segments:
// an index into strings.ToLower(path) is not an index into path once the path holds bytes
// whose lower case has another length (invalid UTF-8, 'Ⱥ'...).
func subscriptionOf(path string) string {
	segs := strings.Split(path, "/")
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], "subscriptions") && segs[i+1] != "" {
			return segs[i+1]
		}
	}
	return ""
}
