package outbound

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock advances only when something sleeps on it.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

func (c *fakeClock) totalSlept() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var t time.Duration
	for _, d := range c.slept {
		t += d
	}
	return t
}

func TestLimiterMirrorsARMBuckets(t *testing.T) {
	for _, tc := range []struct {
		class  OperationClass
		burst  int
		refill float64
	}{
		{Read, 250, 25},
		{Write, 200, 10},
		{Delete, 200, 10},
	} {
		t.Run(tc.class.String(), func(t *testing.T) {
			clock := newFakeClock()
			l := NewLimiter(DefaultARMLimits(), clock)
			ctx := context.Background()
			for i := 0; i < tc.burst; i++ {
				if err := l.Wait(ctx, "t1", "s1", tc.class); err != nil {
					t.Fatal(err)
				}
			}
			if clock.totalSlept() != 0 {
				t.Fatalf("burst of %d slept %v", tc.burst, clock.totalSlept())
			}
			// The next 10 requests each wait one refill interval.
			for i := 0; i < 10; i++ {
				if err := l.Wait(ctx, "t1", "s1", tc.class); err != nil {
					t.Fatal(err)
				}
			}
			want := time.Duration(10 * float64(time.Second) / tc.refill)
			if got := clock.totalSlept(); got < want-time.Millisecond || got > want+time.Millisecond {
				t.Fatalf("slept %v after burst, want %v", got, want)
			}
		})
	}
}

func TestLimiterScopesAreIndependent(t *testing.T) {
	clock := newFakeClock()
	l := NewLimiter(ARMLimits{Read: Bucket{1, 1}, Write: Bucket{1, 1}, Delete: Bucket{1, 1}}, clock)
	ctx := context.Background()
	for _, s := range []struct {
		tenant, sub string
		class       OperationClass
	}{
		{"t1", "s1", Read}, {"t1", "s1", Write}, {"t1", "s1", Delete}, // classes are separate buckets
		{"t1", "s2", Read}, {"t2", "s1", Read}, {"t1", "", Read}, // scopes are separate
	} {
		if err := l.Wait(ctx, s.tenant, s.sub, s.class); err != nil {
			t.Fatal(err)
		}
	}
	if clock.totalSlept() != 0 {
		t.Fatalf("independent scopes slept %v", clock.totalSlept())
	}
	// Same scope, different case: shared bucket.
	if err := l.Wait(ctx, "T1", "S1", Read); err != nil {
		t.Fatal(err)
	}
	if clock.totalSlept() != time.Second {
		t.Fatalf("case-insensitive scope slept %v, want 1s", clock.totalSlept())
	}
}

func TestRetryAfterGates(t *testing.T) {
	clock := newFakeClock()
	g := NewRetryAfterGates(clock)
	k := GateKey{Tenant: "t1", API: APIResourceManager, Scope: "s1"}
	g.Close(k, clock.Now().Add(7*time.Second))
	g.Close(GateKey{Tenant: "T1", API: APIResourceManager, Scope: "S1"}, clock.Now().Add(3*time.Second)) // same scope; shorter never shortens
	if err := g.Wait(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	if clock.totalSlept() != 7*time.Second {
		t.Fatalf("slept %v, want 7s", clock.totalSlept())
	}
	// Other scopes and APIs are not held.
	g.Close(k, clock.Now().Add(time.Hour))
	before := clock.totalSlept()
	for _, other := range []GateKey{{"t1", APIResourceManager, "s2"}, {"t2", APIResourceManager, "s1"}, {"t1", APIGraph, "s1"}} {
		if err := g.Wait(context.Background(), other); err != nil {
			t.Fatal(err)
		}
	}
	if clock.totalSlept() != before {
		t.Fatal("gate leaked into another scope")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Wait(ctx, k); !errors.Is(err, context.Canceled) {
		t.Fatalf("closed gate with canceled ctx: %v", err)
	}
}

// blockingClock's Sleep reports what it was asked to wait for, then returns only when its
// context ends: a wait that ends early can only be the context's doing.
type blockingClock struct {
	now    time.Time
	asked  chan time.Duration
	called atomic.Int32
}

func (c *blockingClock) Now() time.Time { return c.now }

func (c *blockingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.called.Add(1)
	c.asked <- d
	if ctx.Done() == nil {
		return errors.New("asked to wait with a context that cannot end")
	}
	<-ctx.Done()
	return ctx.Err()
}

func TestLimiterHonoursContext(t *testing.T) {
	clock := &blockingClock{now: time.Unix(1_700_000_000, 0), asked: make(chan time.Duration, 1)}
	l := NewLimiter(ARMLimits{Read: Bucket{1, 0.001}, Write: Bucket{1, 1}, Delete: Bucket{1, 1}}, clock)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := l.Wait(ctx, "t", "s", Read); err != nil || clock.called.Load() != 0 {
		t.Fatalf("first request: %v after %d waits", err, clock.called.Load())
	}
	errc := make(chan error, 1)
	go func() { errc <- l.Wait(ctx, "t", "s", Read) }()
	// The second request waits for the bucket (1000s at 0.001/s) until the context ends.
	if d := <-clock.asked; d < 999*time.Second {
		t.Fatalf("second request asked to wait %v, want the 1000s refill", d)
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestSubscriptionOf(t *testing.T) {
	for path, want := range map[string]string{
		"/subscriptions/0000-1/resourceGroups/rg/providers/Microsoft.OperationalInsights/workspaces/w": "0000-1",
		"/SUBSCRIPTIONS/abc/providers/Microsoft.SecurityInsights/register":                             "abc",
		"/arm/subscriptions/abc":                        "abc",
		"/providers/Microsoft.Authorization/operations": "",
		"/subscriptions//x/subscriptions/y":             "y",
		"":                                              "",
		// Lower-casing changes these bytes' length; the id must still be the right one.
		"/resourceGroups/ȺȺȺȺȺȺ/subscriptions/abc/x":  "abc",
		"/resourceGroups/\xff\xff\xff/subscriptions/": "",
	} {
		if got := subscriptionOf(path); got != want {
			t.Errorf("subscriptionOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestClassOf(t *testing.T) {
	for m, want := range map[string]OperationClass{"GET": Read, "HEAD": Read, "PUT": Write, "POST": Write, "PATCH": Write, "DELETE": Delete} {
		if ClassOf(m) != want {
			t.Errorf("ClassOf(%s) = %s", m, ClassOf(m))
		}
	}
}

// TestLimiterShare: a share scales every bucket, those of scopes already in
// use included, and a share of 1 restores the limits.
func TestLimiterShare(t *testing.T) {
	base := ARMLimits{Read: Bucket{10, 4}, Write: Bucket{8, 2}, Delete: Bucket{8, 2}}
	l := NewLimiter(base, nil)
	used := l.scope("t", "s1") // in use before the share changes
	l.SetShare(0.5)
	if got, want := l.Limits(), (ARMLimits{Read: Bucket{5, 2}, Write: Bucket{4, 1}, Delete: Bucket{4, 1}}); got != want {
		t.Fatalf("limits with a half share = %+v, want %+v", got, want)
	}
	for name, s := range map[string]*scope{"existing": used, "new": l.scope("t", "s2")} {
		b := s.buckets[Read]
		if b.Burst() != 5 || b.Limit() != 2 {
			t.Errorf("%s scope's read bucket: burst %d, refill %v; want 5, 2", name, b.Burst(), b.Limit())
		}
	}
	l.SetShare(0) // out of range: ignored
	l.SetShare(1)
	if got := l.Limits(); got != base {
		t.Errorf("limits with the whole share = %+v, want %+v", got, base)
	}
	if b := used.buckets[Write]; b.Burst() != 8 || b.Limit() != 2 {
		t.Errorf("write bucket back at the whole share: burst %d, refill %v", b.Burst(), b.Limit())
	}
}
