package azuresim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func adminCall(t *testing.T, s *Sim, method, path string, body any, out any) int {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.URL()+path, rd)
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestAdminClockAdvance(t *testing.T) {
	s := startSim(t, Options{})
	before := s.Now()
	var out map[string]string
	if st := adminCall(t, s, http.MethodPost, "/_sim/clock/advance", map[string]string{"duration": "2h"}, &out); st != http.StatusOK {
		t.Fatalf("status %d", st)
	}
	if s.Now().Sub(before) < 2*time.Hour || out["offset"] != "2h0m0s" {
		t.Fatalf("clock = %v, body %v", s.Now(), out)
	}
	if st := adminCall(t, s, http.MethodPost, "/_sim/clock/advance", map[string]string{"duration": "-1h"}, nil); st != http.StatusBadRequest {
		t.Fatalf("negative advance: %d", st)
	}
}

func TestAdminFlagsFaultsStateAndCounters(t *testing.T) {
	s := startSim(t, Options{})
	var flags TenantFlagState
	adminCall(t, s, http.MethodPatch, "/_sim/tenants/"+contosoTID+"/flags", map[string]bool{"unifiedPortal": true, "consentNeeded": true}, &flags)
	if !flags.UnifiedPortal || !flags.ConsentNeeded {
		t.Fatalf("flags = %+v", flags)
	}
	if st := adminCall(t, s, http.MethodPatch, "/_sim/tenants/nope/flags", map[string]bool{}, nil); st != http.StatusNotFound {
		t.Fatalf("unknown tenant: %d", st)
	}

	var fc FaultConfig
	adminCall(t, s, http.MethodPut, "/_sim/faults", map[string]any{"latency": map[string]any{"fixed": "5ms"}, "serverErrorRate": 0.5}, &fc)
	if time.Duration(fc.Latency.Fixed) != 5*time.Millisecond || s.Faults().ServerErrorRate != 0.5 {
		t.Fatalf("faults = %+v", fc)
	}
	if st := adminCall(t, s, http.MethodPut, "/_sim/faults", map[string]any{"serverErrorRate": 2}, nil); st != http.StatusBadRequest {
		t.Fatalf("invalid faults: %d", st)
	}
	s.SetFaults(FaultConfig{})

	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	wantStatus(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "onboardingStates/default"), stableAPI, map[string]any{"properties": map[string]any{}}), http.StatusCreated)
	var ws struct {
		OnboardingState *Resource   `json:"onboardingState"`
		AlertRules      []*Resource `json:"alertRules"`
	}
	adminCall(t, s, http.MethodGet, "/_sim/workspaces/"+contosoSub+"/"+contosoRG+"/"+contosoWS, nil, &ws)
	if ws.OnboardingState == nil || len(ws.AlertRules) != 6 {
		t.Fatalf("snapshot = %+v", ws)
	}
	var part struct{ Value []*Resource }
	adminCall(t, s, http.MethodGet, "/_sim/workspaces/"+contosoSub+"/"+contosoRG+"/"+contosoWS+"/settings", nil, &part)
	if len(part.Value) != 2 {
		t.Fatalf("settings = %d", len(part.Value))
	}
	var counts struct{ Value []RequestCount }
	adminCall(t, s, http.MethodGet, "/_sim/requests", nil, &counts)
	found := false
	for _, rc := range counts.Value {
		found = found || (rc.API == "arm.onboardingStates" && rc.Method == http.MethodPut && rc.Status == http.StatusCreated && rc.Count == 1)
	}
	if !found {
		t.Fatalf("counts = %+v", counts.Value)
	}
	var early struct{ Total int64 }
	if st := adminCall(t, s, http.MethodGet, "/_sim/early-retries", nil, &early); st != http.StatusOK || early.Total != 0 {
		t.Fatalf("early = %d %+v", st, early)
	}
}

func TestAdminApprovesDeviceCode(t *testing.T) {
	s := startSim(t, Options{})
	resp, err := s.HTTPClient().PostForm(s.URL()+"/"+contosoTID+"/oauth2/v2.0/devicecode",
		map[string][]string{"client_id": {appID}, "scope": {AudienceARM + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	var dc struct {
		UserCode   string `json:"user_code"`
		DeviceCode string `json:"device_code"`
	}
	json.NewDecoder(resp.Body).Decode(&dc)
	resp.Body.Close()
	var pending struct{ Value []DeviceCode }
	adminCall(t, s, http.MethodGet, "/_sim/devicecodes", nil, &pending)
	if len(pending.Value) != 1 || pending.Value[0].UserCode != dc.UserCode {
		t.Fatalf("pending = %+v", pending)
	}
	if st := adminCall(t, s, http.MethodPost, "/_sim/devicecodes/"+dc.UserCode+"/approve", map[string]string{"user": contosoAdmin}, nil); st != http.StatusOK {
		t.Fatalf("approve: %d", st)
	}
	tok, err := s.HTTPClient().PostForm(s.URL()+"/"+contosoTID+"/oauth2/v2.0/token", map[string][]string{
		"client_id": {appID}, "grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "device_code": {dc.DeviceCode}})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Body.Close()
	if tok.StatusCode != http.StatusOK {
		t.Fatalf("token after approval: %d", tok.StatusCode)
	}
}

// Any token is a valid HTTP method, so the request counters must not grow a
// key per method a client invents.
func TestRequestCountersFoldUnknownMethods(t *testing.T) {
	s := startSim(t, Options{})
	for i := range 20 {
		req, _ := http.NewRequest("X-CUSTOM-"+strconv.Itoa(i), s.URL()+"/v1.0/subscribedSkus", nil)
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	counts := s.RequestCounts()
	if len(counts) != 1 || counts[0].Method != "OTHER" || counts[0].Count != 20 {
		t.Fatalf("counters = %+v, want one OTHER counter of 20", counts)
	}
	if n := s.CountRequests("", "OTHER", 0); n != 20 {
		t.Fatalf("CountRequests(OTHER) = %d", n)
	}
}
