package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"

	"github.com/xdrlink/xdrlink/internal/apierr"
)

// A 401 challenges for a bearer credential, not with the status message
// grpc-gateway would put in WWW-Authenticate.
func TestUnauthenticatedChallengesBearer(t *testing.T) {
	mux := runtime.NewServeMux()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/v1/tenants", nil)
	errorHandler(context.Background(), mux, &runtime.JSONPb{}, w, r, apierr.Unauthenticated("no credentials").GRPCStatus().Err())
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", w.Code)
	}
	if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="xdrlink"` {
		t.Errorf("WWW-Authenticate %q, want a bearer challenge", got)
	}
}
