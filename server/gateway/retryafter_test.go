package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/xdrlink/xdrlink/internal/apierr"
)

// TestRetryAfter: a status with RetryInfo gets Retry-After in whole seconds,
// rounded up and at least 1; RATE_LIMITED is a 429. Other statuses get no
// Retry-After and keep their HTTP status.
func TestRetryAfter(t *testing.T) {
	unavailable, err := status.New(codes.Unavailable, "draining").WithDetails(
		&errdetails.RetryInfo{RetryDelay: durationpb.New(3 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		err        error
		wantStatus int
		wantRetry  string
	}{
		{"rate limited 1.2s", apierr.RateLimited(1200 * time.Millisecond), http.StatusTooManyRequests, "2"},
		{"rate limited 1ms", apierr.RateLimited(time.Millisecond), http.StatusTooManyRequests, "1"},
		{"rate limited 2s exactly", apierr.RateLimited(2 * time.Second), http.StatusTooManyRequests, "2"},
		{"unavailable with RetryInfo", unavailable.Err(), http.StatusServiceUnavailable, "3"},
		// The transport's message size limit (no RetryInfo): unchanged.
		{"too large from gRPC", apierr.RequestTooLarge(10), http.StatusTooManyRequests, ""},
		{"not found", status.Error(codes.NotFound, "x"), http.StatusNotFound, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, "/v1/tenants", nil)
			errorHandler(r.Context(), runtime.NewServeMux(), marshaler, w, r, tc.err)
			if w.Code != tc.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tc.wantStatus)
			}
			if got := w.Header().Get("Retry-After"); got != tc.wantRetry {
				t.Errorf("Retry-After %q, want %q", got, tc.wantRetry)
			}
		})
	}
}

// TestTooLargeKeeps413: the gateway's own body limit stays a 413 without
// Retry-After (retrying the same body cannot succeed).
func TestTooLargeKeeps413(t *testing.T) {
	h := limitBody(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { t.Error("handler reached") }), 8)
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodPost, "/v1/tenants", strings.NewReader(`{"displayName":"far too long"}`))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(w, r)
	if w.Code != http.StatusRequestEntityTooLarge || w.Header().Get("Retry-After") != "" {
		t.Fatalf("status %d, Retry-After %q; want 413 and none", w.Code, w.Header().Get("Retry-After"))
	}
}
