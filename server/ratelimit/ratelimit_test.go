package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a manual time source: the tests never depend on the wall clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTest(t *testing.T, opts Options) (*Limiter, *clock) {
	t.Helper()
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l.now = c.now
	return l, c
}

func mustAllow(t *testing.T, l *Limiter, key string) {
	t.Helper()
	if ok, wait := l.Allow(key); !ok {
		t.Fatalf("Allow(%q) refused, retry after %v", key, wait)
	}
}

func mustRefuse(t *testing.T, l *Limiter, key string, want time.Duration) {
	t.Helper()
	if ok, wait := l.Allow(key); ok || wait != want {
		t.Fatalf("Allow(%q) = %v, %v; want false, %v", key, ok, wait, want)
	}
}

func TestBurstThenRate(t *testing.T) {
	l, c := newTest(t, Options{Rate: 2, Burst: 3})
	for range 3 {
		mustAllow(t, l, "alice")
	}
	mustRefuse(t, l, "alice", 500*time.Millisecond)
	c.advance(499 * time.Millisecond)
	mustRefuse(t, l, "alice", time.Millisecond)
	c.advance(time.Millisecond)
	mustAllow(t, l, "alice")
	mustRefuse(t, l, "alice", 500*time.Millisecond)
}

// A refused call takes no token, so retrying early does not lengthen the
// wait, and the retry after the advertised delay succeeds.
func TestRefusalCostsNothing(t *testing.T) {
	l, c := newTest(t, Options{Rate: 1, Burst: 1})
	mustAllow(t, l, "k")
	for range 10 {
		mustRefuse(t, l, "k", time.Second)
	}
	c.advance(time.Second)
	mustAllow(t, l, "k")
}

// The wait is rounded up to whole milliseconds: 1/3 s becomes 334 ms, and a
// retry that much later is allowed.
func TestRetryAfterRoundsUp(t *testing.T) {
	l, c := newTest(t, Options{Rate: 3, Burst: 1})
	mustAllow(t, l, "k")
	mustRefuse(t, l, "k", 334*time.Millisecond)
	c.advance(334 * time.Millisecond)
	mustAllow(t, l, "k")
}

func TestKeysAreIndependent(t *testing.T) {
	l, _ := newTest(t, Options{Rate: 1, Burst: 1})
	mustAllow(t, l, "alice")
	mustRefuse(t, l, "alice", time.Second)
	mustAllow(t, l, "bob")
	mustAllow(t, l, "")
	mustRefuse(t, l, "", time.Second)
}

func TestDefaultBurst(t *testing.T) {
	for _, tc := range []struct {
		rate float64
		want int
	}{{0.5, 1}, {1, 1}, {2.5, 3}, {10, 10}} {
		l, _ := newTest(t, Options{Rate: tc.rate})
		n := 0
		for ok := true; ok && n < 100; n++ {
			ok, _ = l.Allow("k")
		}
		if got := n - 1; got != tc.want {
			t.Errorf("rate %v: burst %d, want %d", tc.rate, got, tc.want)
		}
	}
}

func TestDisabled(t *testing.T) {
	l, _ := newTest(t, Options{Rate: 0, Burst: 1})
	var nilLimiter *Limiter
	for _, l := range []*Limiter{l, nilLimiter} {
		if l.Enabled() {
			t.Fatal("enabled with rate 0")
		}
		for range 100 {
			mustAllow(t, l, "k")
		}
		if n := l.Len(); n != 0 {
			t.Fatalf("disabled limiter tracks %d keys", n)
		}
	}
}

func TestNewRejects(t *testing.T) {
	for _, opts := range []Options{
		{Rate: -1}, {Rate: math.NaN()}, {Rate: math.Inf(1)}, {Rate: 1, Burst: -1}, {Rate: 1, MaxKeys: -1},
	} {
		if _, err := New(opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
}

// A bucket that has refilled is forgotten: keeping it would change nothing.
func TestFullBucketsAreDropped(t *testing.T) {
	l, c := newTest(t, Options{Rate: 1, Burst: 2})
	for i := range 5 { // empty buckets: full again after 2s
		mustAllow(t, l, fmt.Sprint("idle", i))
		mustAllow(t, l, fmt.Sprint("idle", i))
	}
	mustAllow(t, l, "busy")
	if n := l.Len(); n != 6 {
		t.Fatalf("Len = %d, want 6", n)
	}
	c.advance(1999 * time.Millisecond) // a hair short of full
	mustAllow(t, l, "busy")
	if n := l.Len(); n != 6 {
		t.Fatalf("Len = %d before the idle buckets are full, want 6", n)
	}
	c.advance(time.Millisecond)
	mustAllow(t, l, "busy")
	if n := l.Len(); n != 1 {
		t.Fatalf("Len = %d after the idle buckets are full, want 1 (busy)", n)
	}
	// A forgotten key starts again with a full bucket, as it would have had.
	mustAllow(t, l, "idle0")
	mustAllow(t, l, "idle0")
	mustRefuse(t, l, "idle0", time.Second)
}

// Past MaxKeys the least recently used key is forgotten, full or not.
func TestMaxKeys(t *testing.T) {
	l, _ := newTest(t, Options{Rate: 1, Burst: 1, MaxKeys: 3})
	for _, k := range []string{"a", "b", "c"} {
		mustAllow(t, l, k)
	}
	mustRefuse(t, l, "a", time.Second) // a is now most recently used
	mustAllow(t, l, "d")               // forgets b
	if n := l.Len(); n != 3 {
		t.Fatalf("Len = %d, want 3", n)
	}
	mustRefuse(t, l, "a", time.Second) // still tracked
	mustAllow(t, l, "b")               // forgotten, so a fresh bucket
	for i := range 1000 {
		l.Allow(fmt.Sprint("flood", i))
	}
	if n := l.Len(); n != 3 {
		t.Fatalf("Len = %d after a flood of keys, want 3", n)
	}
}

// Concurrent callers of one key get exactly burst tokens at a fixed time.
func TestConcurrent(t *testing.T) {
	l, _ := newTest(t, Options{Rate: 1, Burst: 50, MaxKeys: 30})
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Go(func() {
			for range 20 {
				if ok, _ := l.Allow("shared"); ok {
					allowed.Add(1)
				}
				l.Allow(fmt.Sprint("other", g))
			}
		})
	}
	wg.Wait()
	if n := allowed.Load(); n != 50 {
		t.Fatalf("%d calls allowed, want the burst of 50", n)
	}
	if n := l.Len(); n > 21 {
		t.Fatalf("Len = %d, want at most 21", n)
	}
}

func keyFromContext(ctx context.Context) string {
	k, _ := ctx.Value(keyCtx{}).(string)
	return k
}

type keyCtx struct{}

// checkRateLimited asserts err is RESOURCE_EXHAUSTED / RATE_LIMITED with a
// RetryInfo of want.
func checkRateLimited(t *testing.T, err error, want time.Duration) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.ResourceExhausted {
		t.Fatalf("error %v, want RESOURCE_EXHAUSTED", err)
	}
	var reason string
	var retry time.Duration
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			reason = d.GetReason()
		case *errdetails.RetryInfo:
			retry = d.GetRetryDelay().AsDuration()
		}
	}
	if reason != xdrlinkv1.ErrorReason_ERROR_REASON_RATE_LIMITED.String() || retry != want {
		t.Fatalf("reason %q, retry %v; want RATE_LIMITED, %v", reason, retry, want)
	}
}

func TestUnaryInterceptor(t *testing.T) {
	l, c := newTest(t, Options{Rate: 1, Burst: 1, Exempt: func(m string) bool { return m == "/grpc.health.v1.Health/Check" }})
	ic := l.UnaryServerInterceptor(keyFromContext)
	calls := 0
	handler := func(context.Context, any) (any, error) { calls++; return "ok", nil }
	call := func(key, method string) error {
		ctx := context.WithValue(t.Context(), keyCtx{}, key)
		_, err := ic(ctx, nil, &grpc.UnaryServerInfo{FullMethod: method}, handler)
		return err
	}
	const m = "/xdrlink.v1.TenantService/GetTenant"
	if err := call("alice", m); err != nil {
		t.Fatal(err)
	}
	err := call("alice", m)
	checkRateLimited(t, err, time.Second)
	if err := call("bob", m); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := call("alice", "/grpc.health.v1.Health/Check"); err != nil {
			t.Fatalf("exempt method limited: %v", err)
		}
	}
	c.advance(time.Second)
	if err := call("alice", m); err != nil {
		t.Fatal(err)
	}
	if calls != 8 {
		t.Fatalf("handler called %d times, want 8", calls)
	}
}

type fakeStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s fakeStream) Context() context.Context { return s.ctx }

func TestStreamInterceptor(t *testing.T) {
	l, _ := newTest(t, Options{Rate: 1, Burst: 2})
	ic := l.StreamServerInterceptor(keyFromContext)
	calls := 0
	handler := func(any, grpc.ServerStream) error { calls++; return nil }
	ss := fakeStream{ctx: context.WithValue(t.Context(), keyCtx{}, "alice")}
	info := &grpc.StreamServerInfo{FullMethod: "/xdrlink.v1.OperationService/WatchOperation"}
	for range 2 {
		if err := ic(nil, ss, info, handler); err != nil {
			t.Fatal(err)
		}
	}
	err := ic(nil, ss, info, handler)
	checkRateLimited(t, err, time.Second)
	if calls != 2 {
		t.Fatalf("handler called %d times, want 2", calls)
	}
}

// A disabled limiter's interceptors never call the key function.
func TestDisabledInterceptors(t *testing.T) {
	l, _ := newTest(t, Options{})
	key := func(context.Context) string { panic("key function called") }
	handlerErr := errors.New("handler")
	_, err := l.UnaryServerInterceptor(key)(t.Context(), nil, &grpc.UnaryServerInfo{FullMethod: "/a/b"},
		func(context.Context, any) (any, error) { return nil, handlerErr })
	if !errors.Is(err, handlerErr) {
		t.Fatalf("unary: %v", err)
	}
	err = l.StreamServerInterceptor(key)(nil, fakeStream{ctx: t.Context()}, &grpc.StreamServerInfo{FullMethod: "/a/b"},
		func(any, grpc.ServerStream) error { return handlerErr })
	if !errors.Is(err, handlerErr) {
		t.Fatalf("stream: %v", err)
	}
}

// Blocked looks without taking: it says a key is blocked only once Allow
// has emptied its bucket, and for as long as Allow would refuse.
func TestBlocked(t *testing.T) {
	l, c := newTest(t, Options{Rate: 2, Burst: 2})
	if blocked, _ := l.Blocked("mallory"); blocked || l.Len() != 0 {
		t.Fatalf("an unseen key is blocked (%v) or tracked (%d keys)", blocked, l.Len())
	}
	mustAllow(t, l, "mallory")
	for range 3 {
		if blocked, _ := l.Blocked("mallory"); blocked {
			t.Fatal("blocked with a token left")
		}
	}
	mustAllow(t, l, "mallory") // Blocked took nothing: the second token is still there
	if blocked, wait := l.Blocked("mallory"); !blocked || wait != 500*time.Millisecond {
		t.Fatalf("Blocked = %v, %v; want true, 500ms", blocked, wait)
	}
	c.advance(500 * time.Millisecond)
	if blocked, _ := l.Blocked("mallory"); blocked {
		t.Fatal("still blocked once a token is back")
	}
	if blocked, _ := l.Blocked("alice"); blocked {
		t.Fatal("another key is blocked")
	}
}
