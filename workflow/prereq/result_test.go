package prereq

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/xdrlink/xdrlink/azure/azerr"
)

// armError is the error an ARM client returns for a status and body.
func armError(status int, body string) error {
	return azerr.FromResponse(&http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(body)), Request: httptest.NewRequest(http.MethodPost, "https://management.azure.com/x", nil)})
}

// The emulator reveals the lockout on writes only, so the read that would
// reveal it in the field is exercised with the documented message here.
func TestUnifiedPortal(t *testing.T) {
	lockout := armError(http.StatusBadRequest, `{"error":{"code":"BadRequest","message":"The workspace is enabled through the Microsoft Threat Protection Portal. Changes to the connector in Microsoft Sentinel are disabled."}}`)
	if k := azerr.Classify(lockout); k != azerr.UnifiedPortalLockout {
		t.Fatalf("fixture classifies as %v", k)
	}
	if c := unifiedPortal(lockout); c.GetResult() != F || c.GetRemediation() == "" {
		t.Errorf("lockout: %v %q", c.GetResult(), c.GetRemediation())
	}
	for _, err := range []error{nil, armError(http.StatusServiceUnavailable, `{"error":{"code":"ServiceUnavailable","message":"try later"}}`)} {
		if c := unifiedPortal(err); c.GetResult() != S {
			t.Errorf("%v: %v, want SKIPPED", err, c.GetResult())
		}
	}
}

func TestCallFailed(t *testing.T) {
	forbidden := armError(http.StatusForbidden, `{"error":{"code":"AuthorizationFailed","message":"no"}}`)
	if c := callFailed("x", catRBAC, forbidden, verdicts{azerr.Forbidden: "grant it"}); c.GetResult() != F || c.GetRemediation() != "grant it" {
		t.Errorf("verdict: %v %q", c.GetResult(), c.GetRemediation())
	}
	throttled := armError(http.StatusTooManyRequests, `{"error":{"code":"TooManyRequests","message":"slow down"}}`)
	if c := callFailed("x", catRBAC, throttled, verdicts{azerr.Forbidden: "grant it"}); c.GetResult() != U ||
		c.GetMessage() != "could not check: Throttled: slow down" || c.GetRemediation() != "retry" {
		t.Errorf("throttled: %v %q %q", c.GetResult(), c.GetMessage(), c.GetRemediation())
	}
}
