package ratelimit

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc"

	"github.com/xdrlink/xdrlink/internal/apierr"
)

// DefaultMaxKeys is the number of keys kept when Options.MaxKeys is 0.
const DefaultMaxKeys = 10000

// maxSweep bounds the full buckets dropped by one call, so no single call
// pays for a large backlog; the rest go on later calls.
const maxSweep = 64

// Options configure a Limiter.
type Options struct {
	// Rate is the sustained calls per second each key may make; 0 disables
	// limiting.
	Rate float64
	// Burst is how many calls a key may make at once; 0 means
	// max(1, ceil(Rate)).
	Burst int
	// MaxKeys bounds the keys tracked; 0 means DefaultMaxKeys. Past it the
	// least recently used key is forgotten (and starts again with a full
	// bucket), so keep it well above the number of active callers.
	MaxKeys int
	// Exempt, when set, reports the full gRPC method names that are never
	// limited (e.g. health checks, which probes call on their own schedule).
	Exempt func(fullMethod string) bool
}

// Limiter holds one token bucket per key. The zero value is not usable;
// a nil *Limiter, or one with Rate 0, allows everything.
type Limiter struct {
	limit   rate.Limit
	burst   int
	maxKeys int
	exempt  func(string) bool
	now     func() time.Time // tests replace it

	mu    sync.Mutex
	keys  map[string]*list.Element // of *bucket
	order *list.List               // front: most recently used
}

type bucket struct {
	key string
	lim *rate.Limiter
}

// New returns a Limiter for opts.
func New(opts Options) (*Limiter, error) {
	if math.IsNaN(opts.Rate) || math.IsInf(opts.Rate, 0) || opts.Rate < 0 {
		return nil, fmt.Errorf("ratelimit: rate must be a finite number >= 0, got %v", opts.Rate)
	}
	if opts.Burst < 0 {
		return nil, fmt.Errorf("ratelimit: burst must be >= 0, got %d", opts.Burst)
	}
	if opts.MaxKeys < 0 {
		return nil, fmt.Errorf("ratelimit: max keys must be >= 0, got %d", opts.MaxKeys)
	}
	burst := opts.Burst
	if burst == 0 {
		burst = max(1, int(math.Ceil(opts.Rate)))
	}
	maxKeys := opts.MaxKeys
	if maxKeys == 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Limiter{
		limit:   rate.Limit(opts.Rate),
		burst:   burst,
		maxKeys: maxKeys,
		exempt:  opts.Exempt,
		now:     time.Now,
		keys:    make(map[string]*list.Element),
		order:   list.New(),
	}, nil
}

// Enabled reports whether l limits anything.
func (l *Limiter) Enabled() bool { return l != nil && l.limit > 0 }

// Allow takes a token from key's bucket. When there is none it takes
// nothing and returns false and the wait until one is free.
func (l *Limiter) Allow(key string) (ok bool, retryAfter time.Duration) {
	if !l.Enabled() {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.bucket(key, now)
	r := lim.ReserveN(now, 1)
	if !r.OK() { // only if burst < 1, which New prevents
		return false, time.Second
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return true, 0
	}
	// Refused calls cost nothing: a client retrying too early must not
	// push its own wait further out.
	r.CancelAt(now)
	// Whole milliseconds, rounded up, so a retry exactly that much later
	// finds the token (the bucket's float arithmetic could be a hair short).
	return false, (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// Blocked reports whether key's bucket is empty, and then the wait until
// it holds a token, without taking one (a key never seen has a full
// bucket). With Allow on failures only, it bounds how often something can
// fail: check Blocked first, call Allow when it failed.
func (l *Limiter) Blocked(key string) (blocked bool, retryAfter time.Duration) {
	if !l.Enabled() {
		return false, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.keys[key]
	if !ok {
		return false, 0
	}
	tokens := e.Value.(*bucket).lim.TokensAt(now)
	if tokens >= 1 {
		return false, 0
	}
	d := time.Duration((1 - tokens) / float64(l.limit) * float64(time.Second))
	return true, (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// Len is the number of keys tracked.
func (l *Limiter) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// bucket returns key's limiter, making it most recently used, and drops
// buckets no longer needed. l.mu must be held.
func (l *Limiter) bucket(key string, now time.Time) *rate.Limiter {
	if e, ok := l.keys[key]; ok {
		l.order.MoveToFront(e)
		l.sweep(now)
		return e.Value.(*bucket).lim
	}
	b := &bucket{key: key, lim: rate.NewLimiter(l.limit, l.burst)}
	l.keys[key] = l.order.PushFront(b)
	l.sweep(now)
	return b.lim
}

// sweep drops least recently used buckets that are full again, then any
// beyond maxKeys. Buckets refill at the same rate, so all keys idle longer
// than burst/rate are full and sit together at the back of the order.
func (l *Limiter) sweep(now time.Time) {
	for range maxSweep {
		e := l.order.Back()
		if e == nil || e == l.order.Front() {
			break
		}
		b := e.Value.(*bucket)
		if b.lim.TokensAt(now) < float64(l.burst) {
			break
		}
		l.remove(e)
	}
	for len(l.keys) > l.maxKeys {
		l.remove(l.order.Back())
	}
}

func (l *Limiter) remove(e *list.Element) {
	delete(l.keys, e.Value.(*bucket).key)
	l.order.Remove(e)
}

// KeyFunc names the caller of a call, e.g. its principal or address.
// Calls with the same key share a bucket (the empty key included).
type KeyFunc func(ctx context.Context) string

// check is the interceptors' common part: nil, or the RATE_LIMITED error.
func (l *Limiter) check(ctx context.Context, fullMethod string, key KeyFunc) error {
	if !l.Enabled() || (l.exempt != nil && l.exempt(fullMethod)) {
		return nil
	}
	if ok, wait := l.Allow(key(ctx)); !ok {
		return apierr.RateLimited(wait)
	}
	return nil
}

// UnaryServerInterceptor refuses unary calls over their key's rate.
func (l *Limiter) UnaryServerInterceptor(key KeyFunc) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if err := l.check(ctx, info.FullMethod, key); err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor refuses streams opened over their key's rate;
// the messages of an open stream are not limited.
func (l *Limiter) StreamServerInterceptor(key KeyFunc) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		if err := l.check(ss.Context(), info.FullMethod, key); err != nil {
			return err
		}
		return handler(srv, ss)
	}
}
