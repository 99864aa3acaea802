package azuresim

import (
	"net/http"
	"testing"
)

func TestClientSecretTokenRoutesAuthenticatedARMRequest(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	r := do(t, c, http.MethodGet, wsPath(contosoSub, contosoRG, contosoWS), "2022-10-01", nil)
	wantStatus(t, r, http.StatusOK)
	props := r.body["properties"].(map[string]any)
	if props["customerId"] != "20000000-0000-4000-8000-0000000000d1" {
		t.Fatalf("customerId = %v", props["customerId"])
	}
	if r.header.Get("x-ms-request-id") == "" || r.header.Get("x-ms-ratelimit-remaining-subscription-reads") == "" {
		t.Fatalf("missing ARM headers: %v", r.header)
	}
}
