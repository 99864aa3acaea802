package daemon

import (
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
)

// maxAllowed is the most calls a token bucket of rate 1/s and burst 2 can
// let through in elapsed: the burst and what refilled meanwhile.
func maxAllowed(elapsed time.Duration) int {
	return 2 + int(math.Ceil(elapsed.Seconds()))
}

// TestAuthRateLimit: with --rate-limit 1 --rate-burst 2, a caller's calls
// past its burst are RESOURCE_EXHAUSTED with reason RATE_LIMITED and a
// RetryInfo (REST: 429 with Retry-After of at least a second); REST and
// gRPC share the caller's bucket; another caller is not affected; health
// checks are never limited. Counts are bounded by the bucket's arithmetic
// over the measured time, so a slow machine cannot make it flaky.
func TestAuthRateLimit(t *testing.T) {
	d := startAuthDaemon(t, nil, func(c *Config) { c.RateLimit, c.RateBurst = 1, 2 })
	keyA, _ := makeKey(t, d, authz.Viewer)
	keyB, _ := makeKey(t, d, authz.Viewer)
	conn := plainConn(t, d)
	access := xdrlinkv1.NewAccessServiceClient(conn)

	start := time.Now()
	allowed := 0
	var refused error
	var refusedBefore time.Time // when the refused call was sent: the bucket held less than a token after it
	for range 50 {
		refusedBefore = time.Now()
		_, err := access.GetCaller(bearerCtx(t.Context(), keyA), &xdrlinkv1.GetCallerRequest{})
		if err != nil {
			refused = err
			break
		}
		allowed++
	}
	elapsed := time.Since(start)
	if refused == nil {
		t.Fatalf("50 calls in %s, none refused", elapsed)
	}
	if allowed < 2 || allowed > maxAllowed(elapsed) {
		t.Errorf("%d calls allowed in %s before a refusal; want between the burst (2) and %d", allowed, elapsed, maxAllowed(elapsed))
	}
	st, _ := status.FromError(refused)
	if st.Code() != codes.ResourceExhausted || errInfo(refused).GetReason() != xdrlinkv1.ErrorReason_ERROR_REASON_RATE_LIMITED.String() {
		t.Fatalf("refusal %v (error info %v), want RESOURCE_EXHAUSTED RATE_LIMITED", refused, errInfo(refused))
	}
	var retry *errdetails.RetryInfo
	for _, det := range st.Details() {
		if r, ok := det.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() <= 0 || retry.GetRetryDelay().AsDuration() > time.Second {
		t.Errorf("RetryInfo %v, want a delay in (0, 1s] (one token at 1/s)", retry)
	}

	// Over REST the same caller is limited too (one bucket per principal).
	allowedREST := 0
	var limited restResult
	for range 50 {
		r := restCall(t, d, http.MethodGet, "/v1/caller", "", keyA, &xdrlinkv1.Caller{})
		if r.code != http.StatusOK {
			limited = r
			break
		}
		allowedREST++
	}
	elapsed = time.Since(refusedBefore)
	if limited.code != http.StatusTooManyRequests || limited.reason() != xdrlinkv1.ErrorReason_ERROR_REASON_RATE_LIMITED.String() {
		t.Fatalf("REST: HTTP %d %s, want 429 RATE_LIMITED", limited.code, limited.body)
	}
	if n, err := strconv.Atoi(limited.header.Get("Retry-After")); err != nil || n < 1 {
		t.Errorf("Retry-After %q, want whole seconds >= 1", limited.header.Get("Retry-After"))
	}
	if allowedREST > maxAllowed(elapsed)-2 {
		// The gRPC refusal left less than a token: only what refilled since.
		t.Errorf("REST: %d calls allowed in %s after gRPC emptied the bucket", allowedREST, elapsed)
	}

	// Another caller has a bucket of its own.
	for i := range 2 {
		if _, err := access.GetCaller(bearerCtx(t.Context(), keyB), &xdrlinkv1.GetCallerRequest{}); err != nil {
			t.Errorf("another caller's call %d: %v", i, err)
		}
	}

	// Health checks, over gRPC and REST, without credentials: never limited.
	// (Whether the server is SERVING yet is another matter: a loaded
	// machine may still be checking the store.)
	health := healthpb.NewHealthClient(conn)
	for i := range 20 {
		if _, err := health.Check(t.Context(), &healthpb.HealthCheckRequest{}); status.Code(err) == codes.ResourceExhausted {
			t.Fatalf("health check %d: %v", i, err)
		}
		if r := restCall(t, d, http.MethodGet, "/healthz", "", "", nil); r.code == http.StatusTooManyRequests {
			t.Fatalf("/healthz %d: HTTP %d %s", i, r.code, r.body)
		}
	}
}

// Failed authentications are bounded per client address, before the
// credential is looked at: past the burst, even a good token from that
// address is refused RATE_LIMITED, so bad tokens cannot make the server
// fetch the issuer's keys, or try API keys, as fast as a client likes.
// Another address is not affected.
func TestAuthFailuresLimitedByAddress(t *testing.T) {
	d := startAuthDaemon(t, nil, func(c *Config) { c.RateLimit, c.RateBurst = 1000, 1000 })
	good := staffToken(t, d, "admin")
	tenants := xdrlinkv1.NewTenantServiceClient(plainConn(t, d))
	start := time.Now()
	failed := 0
	for ; failed < 10*authFailureBurst; failed++ {
		_, err := tenants.ListTenants(bearerCtx(t.Context(), "xdrlink_0000000000000000_"+strings.Repeat("0", 64)), &xdrlinkv1.ListTenantsRequest{})
		if status.Code(err) == codes.ResourceExhausted {
			break
		}
		if status.Code(err) != codes.Unauthenticated {
			t.Fatalf("bad key %d: %v, want UNAUTHENTICATED", failed, err)
		}
	}
	// A burst, then one a second while the loop ran.
	if most := authFailureBurst + int(time.Since(start).Seconds()*authFailureRate) + 1; failed < authFailureBurst || failed > most {
		t.Fatalf("%d failures before RATE_LIMITED, want %d to %d", failed, authFailureBurst, most)
	}
	_, err := tenants.ListTenants(bearerCtx(t.Context(), good), &xdrlinkv1.ListTenantsRequest{})
	if info := errInfo(err); status.Code(err) != codes.ResourceExhausted || info.GetReason() != "ERROR_REASON_RATE_LIMITED" {
		t.Fatalf("good token from the blocked address: %v, want RATE_LIMITED", err)
	}
	// REST reaches the server from the gateway but is counted by its own
	// client address (here 127.0.0.1 too): also blocked.
	if r := restCall(t, d, http.MethodGet, "/v1/tenants", "", good, &xdrlinkv1.ListTenantsResponse{}); r.code != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("REST from the blocked address: HTTP %d, Retry-After %q; want 429 with Retry-After", r.code, r.header.Get("Retry-After"))
	}
	// A trusted proxy's client is another address, with its own bucket.
	d2 := startAuthDaemon(t, nil, func(c *Config) {
		c.RateLimit, c.RateBurst = 1000, 1000
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	good2 := staffToken(t, d2, "admin")
	for range authFailureBurst + 5 {
		restCall(t, d2, http.MethodGet, "/v1/tenants", "", "garbage", nil, "X-Forwarded-For", "198.51.100.7")
	}
	if r := restCall(t, d2, http.MethodGet, "/v1/tenants", "", good2, &xdrlinkv1.ListTenantsResponse{}, "X-Forwarded-For", "198.51.100.8"); r.code != http.StatusOK {
		t.Fatalf("another client behind the proxy: HTTP %d %s", r.code, r.body)
	}
	if r := restCall(t, d2, http.MethodGet, "/v1/tenants", "", good2, &xdrlinkv1.ListTenantsResponse{}, "X-Forwarded-For", "198.51.100.7"); r.code != http.StatusTooManyRequests {
		t.Fatalf("the failing client behind the proxy: HTTP %d, want 429", r.code)
	}
}
