package outbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/cloud"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newTestOutbound builds an Outbound whose transport trusts srv.
func newTestOutbound(t *testing.T, srv *httptest.Server, mutate func(*Config)) *Outbound {
	t.Helper()
	cfg := Config{
		Cloud:     cloud.MustResolve(cloud.Setting{Name: cloud.Custom, URL: srv.URL}),
		Transport: srv.Client(),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func do(t *testing.T, opts policy.ClientOptions, method, url string) (*http.Response, error) {
	t.Helper()
	pl := runtime.NewPipeline("xdrlinktest", "v0.0.1", runtime.PipelineOptions{}, &opts)
	req, err := runtime.NewRequest(context.Background(), method, url)
	if err != nil {
		t.Fatal(err)
	}
	return pl.Do(req)
}

// throttledOnce is a server that answers its first request 429 with header: value and every
// later one 200; arrivals returns when each request came in.
func throttledOnce(t *testing.T, header, value string) (srv *httptest.Server, arrivals func() []time.Time) {
	t.Helper()
	var mu sync.Mutex
	var at []time.Time
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		at = append(at, time.Now())
		n := len(at)
		mu.Unlock()
		if n == 1 {
			w.Header().Set(header, value)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Time(nil), at...)
	}
}

// TestAzcoreRetryHonoursRetryAfter pins azcore's behaviour that xdrlink relies on: with a
// Retry-After header the retry waits that long (not the exponential RetryDelay), for each
// of the header forms.
func TestAzcoreRetryHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		header, value string
		want          time.Duration
	}{
		{"Retry-After", "1", time.Second},
		{"retry-after-ms", "600", 600 * time.Millisecond},
		{"x-ms-retry-after-ms", "400", 400 * time.Millisecond},
	} {
		t.Run(tc.header, func(t *testing.T) {
			srv, arrivalTimes := throttledOnce(t, tc.header, tc.value)
			retry := DefaultRetryOptions()
			retry.RetryDelay = 5 * time.Millisecond // would retry almost at once without the header
			// Bare azcore options: outbound's Retry-After gate alone would hold the retry back
			// and hide an azcore that ignored the header.
			resp, err := do(t, policy.ClientOptions{Transport: srv.Client(), Retry: retry}, http.MethodGet, srv.URL+"/x")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("resp %v err %v", resp, err)
			}
			arrivals := arrivalTimes()
			if len(arrivals) != 2 {
				t.Fatalf("%d requests", len(arrivals))
			}
			if gap := arrivals[1].Sub(arrivals[0]); gap < tc.want {
				t.Fatalf("retried after %v, Retry-After asked for %v", gap, tc.want)
			}
		})
	}
}

func TestRetryAfterBeyondMaxIsReturnedAsThrottled(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Retry-After", "120")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"slow down"}}`))
	}))
	defer srv.Close()
	o := newTestOutbound(t, srv, nil)
	resp, err := do(t, o.ClientOptions(APIGraph, "t1"), http.MethodGet, srv.URL+"/x")
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("%d calls: a 120s Retry-After must not be waited for in-process", calls.Load())
	}
	e := azerr.From(azerr.FromResponse(resp))
	if e.Kind != azerr.Throttled || e.RetryAfter != 120*time.Second {
		t.Fatalf("%+v", e)
	}
}

// sleepCountingClock is the real clock, counting the waits the limiter and the gates ask of it.
type sleepCountingClock struct {
	realClock
	sleeps atomic.Int32
}

func (c *sleepCountingClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps.Add(1)
	return c.realClock.Sleep(ctx, d)
}

// TestARMLimiterPausesScopeAfter429: a 429 on one call holds the next call to the same
// subscription until Retry-After has elapsed, even though it is a different call.
func TestARMLimiterPausesScopeAfter429(t *testing.T) {
	srv, arrivalTimes := throttledOnce(t, "Retry-After", "1")
	clock := &sleepCountingClock{}
	o := newTestOutbound(t, srv, func(c *Config) { c.Retry = policy.RetryOptions{MaxRetries: -1}; c.Clock = clock })
	opts := o.ARMClientOptions("t1", "sub1").ClientOptions
	resp, err := do(t, opts, http.MethodPut, srv.URL+"/subscriptions/sub1/a")
	if err != nil || resp.StatusCode != 429 {
		t.Fatalf("%v %v", resp, err)
	}
	// A read on another subscription is not held: nothing waits for it.
	if _, err := do(t, opts, http.MethodGet, srv.URL+"/subscriptions/sub2/b"); err != nil {
		t.Fatal(err)
	}
	if n := clock.sleeps.Load(); n != 0 {
		t.Fatalf("other subscription was paused (%d waits)", n)
	}
	if _, err := do(t, opts, http.MethodGet, srv.URL+"/subscriptions/sub1/b"); err != nil {
		t.Fatal(err)
	}
	if clock.sleeps.Load() == 0 {
		t.Fatal("the call to the throttled subscription did not wait")
	}
	arrivals := arrivalTimes()
	if gap := arrivals[2].Sub(arrivals[0]); gap < time.Second {
		t.Fatalf("next call to the throttled subscription came %v after the 429", gap)
	}
}

// sentAtTransport stamps each request with the time the transport was handed it, after
// every outbound policy (gate, limiter, slots) has let it through.
type sentAtTransport struct{ next policy.Transporter }

func (s sentAtTransport) Do(r *http.Request) (*http.Response, error) {
	r.Header.Set("X-Sent-At", strconv.FormatInt(time.Now().UnixNano(), 10))
	return s.next.Do(r)
}

// TestNoRequestBeforeRetryAfter runs concurrent callers against a server that throttles
// every 10th request for 1s and counts requests arriving inside a throttle window that were
// sent after the 429 was answered. A request already on the wire when the 429 goes out
// cannot be recalled, so the send time, not the arrival, tells an early request apart.
func TestNoRequestBeforeRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var blockedAt, blockedUntil time.Time
	var served, early int
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if now.Before(blockedUntil) {
			sentNanos, _ := strconv.ParseInt(r.Header.Get("X-Sent-At"), 10, 64)
			if sent := time.Unix(0, sentNanos); sent.After(blockedAt) {
				early++
				t.Logf("sent %v after the 429, %v before Retry-After elapsed", sent.Sub(blockedAt), blockedUntil.Sub(now))
			}
			w.Header().Set("Retry-After", strconv.Itoa(int(time.Until(blockedUntil)/time.Second)+1))
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		served++
		if served%10 == 0 {
			blockedAt, blockedUntil = now, now.Add(time.Second)
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	o := newTestOutbound(t, srv, func(c *Config) { c.Transport = sentAtTransport{next: srv.Client()} })
	opts := o.ARMClientOptions("t1", "sub1").ClientOptions
	var wg sync.WaitGroup
	var failures atomic.Int32
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				resp, err := do(t, opts, http.MethodGet, srv.URL+"/subscriptions/sub1/x")
				if err != nil || resp.StatusCode != 200 {
					failures.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if early != 0 {
		t.Fatalf("%d requests arrived before Retry-After elapsed", early)
	}
	if failures.Load() != 0 {
		t.Fatalf("%d calls failed", failures.Load())
	}
}

func TestConcurrencyLimits(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		global, tenant, scope int
		tenants               []string
		wantMax               int32
	}{
		{"global", 3, 0, -1, []string{"a", "b", "c", "d"}, 3},
		{"per tenant", 100, 2, -1, []string{"a"}, 2},
		{"per tenant, any case", 100, 1, -1, []string{"tenant-a", "TENANT-A"}, 1},
		{"per scope (default)", 100, 0, 0, []string{"a"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inFlight, maxInFlight atomic.Int32
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := inFlight.Add(1)
				for {
					m := maxInFlight.Load()
					if n <= m || maxInFlight.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(30 * time.Millisecond)
				inFlight.Add(-1)
			}))
			defer srv.Close()
			o := newTestOutbound(t, srv, func(c *Config) {
				c.MaxConcurrent = tc.global
				c.MaxConcurrentPerTenant = tc.tenant
				c.MaxConcurrentPerScope = tc.scope
			})
			var wg sync.WaitGroup
			for i := 0; i < 12; i++ {
				tenant := tc.tenants[i%len(tc.tenants)]
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := do(t, o.ClientOptions(APILogAnalytics, tenant), http.MethodGet, srv.URL+"/x"); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if got := maxInFlight.Load(); got != tc.wantMax {
				t.Fatalf("max in flight %d, limit %d", got, tc.wantMax)
			}
		})
	}
}

func TestSemaphoreAcquireHonoursContext(t *testing.T) {
	s := NewSemaphore(1)
	if err := s.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Acquire(ctx); err == nil {
		t.Fatal("acquired a full semaphore")
	}
	s.Release()
	if s.InFlight() != 0 {
		t.Fatal(s.InFlight())
	}
	var unlimited *Semaphore
	if unlimited.Acquire(ctx) != nil || unlimited.InFlight() != 0 {
		t.Fatal("nil semaphore must not block")
	}
	unlimited.Release()
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("missing cloud accepted")
	}
	if _, err := New(Config{Cloud: cloud.MustResolve(cloud.Setting{}), ARMLimits: ARMLimits{Read: Bucket{1, 1}}}); err == nil {
		t.Fatal("zero write bucket accepted")
	}
	if _, err := New(Config{Cloud: cloud.MustResolve(cloud.Setting{}), ARMHeadroom: 1.5}); err == nil {
		t.Fatal("headroom above 1 accepted")
	}
}

func TestARMHeadroom(t *testing.T) {
	got := DefaultARMLimits().scaled(DefaultARMHeadroom)
	want := ARMLimits{Read: Bucket{225, 22.5}, Write: Bucket{180, 9}, Delete: Bucket{180, 9}}
	if got != want {
		t.Fatalf("%+v", got)
	}
	if tiny := (ARMLimits{Read: Bucket{1, 1}, Write: Bucket{1, 1}, Delete: Bucket{1, 1}}).scaled(0.5); tiny.Read.Burst != 1 {
		t.Fatalf("burst scaled to %d; never below 1", tiny.Read.Burst)
	}
}
