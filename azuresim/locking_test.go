package azuresim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// lockProbe is a ResponseWriter that notes whether the tenant's lock is held
// whenever the handler writes: writing can block on a slow client, and a
// held tenant lock would then stall every request of that tenant.
type lockProbe struct {
	*httptest.ResponseRecorder
	tenant *TenantState
	held   bool
}

func (p *lockProbe) probe() {
	if p.tenant.mu.TryLock() {
		p.tenant.mu.Unlock()
	} else {
		p.held = true
	}
}

func (p *lockProbe) WriteHeader(code int) { p.probe(); p.ResponseRecorder.WriteHeader(code) }

func (p *lockProbe) Write(b []byte) (int, error) { p.probe(); return p.ResponseRecorder.Write(b) }

func TestResponsesAreWrittenOutsideTheTenantLock(t *testing.T) {
	s := startSim(t, Options{})
	tenant, _ := s.Tenant(contosoTID)
	arm := appToken(t, s, contosoTID, AudienceARM)
	defender := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	cases := []struct {
		name, token, method, path string
		body                      any
		status                    int
	}{
		{"data connector", arm, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "o365") + "?api-version=" + previewAPI,
			map[string]any{"kind": "Office365", "properties": map[string]any{"tenantId": contosoTID,
				"dataTypes": map[string]any{"exchange": map[string]any{"state": "Enabled"}}}}, http.StatusCreated},
		{"alert rule", arm, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "alertRules/r1") + "?api-version=" + stableAPI,
			map[string]any{"kind": kindIncidentCreation, "properties": map[string]any{
				"displayName": "r1", "enabled": true, "productFilter": "Azure Security Center"}}, http.StatusCreated},
		{"setting", arm, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "settings/Ueba") + "?api-version=" + previewAPI,
			map[string]any{"kind": "Ueba", "properties": map[string]any{"dataSources": []any{"SigninLogs"}}}, http.StatusCreated},
		{"content package", arm, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "contentPackages/"+defenderXDRPackageID) + "?api-version=" + stableAPI,
			map[string]any{"properties": map[string]any{"contentId": DefenderXDRContentID, "contentKind": "Solution", "version": "3.0.11"}}, http.StatusCreated},
		{"streaming upsert", defender, http.MethodPost, streamingPath, contosoEntry("e1", "AdvancedHunting-DeviceInfo"), http.StatusOK},
		{"streaming delete", defender, http.MethodDelete, streamingPath + "/e1", nil, streamingDeleteStatus},
		{"streaming delete missing", defender, http.MethodDelete, streamingPath + "/e1", nil, http.StatusNotFound},
	}
	for _, tc := range cases {
		var body bytes.Buffer
		if tc.body != nil {
			_ = json.NewEncoder(&body).Encode(tc.body)
		}
		r := httptest.NewRequest(tc.method, tc.path, &body)
		r.Header.Set("Authorization", "Bearer "+tc.token)
		p := &lockProbe{ResponseRecorder: httptest.NewRecorder(), tenant: tenant}
		s.server.Handler.ServeHTTP(p, r)
		if p.Code != tc.status {
			t.Fatalf("%s: status %d, want %d: %s", tc.name, p.Code, tc.status, p.Body)
		}
		if p.held {
			t.Errorf("%s: response written while holding the tenant lock", tc.name)
		}
	}
}
