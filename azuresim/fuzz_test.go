package azuresim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// fuzzEndpoint is a handler that decodes a JSON body, with a caller token.
type fuzzEndpoint struct {
	method, path string
	token        func(*Sim, testing.TB) string
}

var (
	armApp = func(s *Sim, t testing.TB) string { return appToken(t, s, contosoTID, AudienceARM) }
	armAdm = func(s *Sim, t testing.TB) string { return userToken(t, s, contosoTID, contosoAdmin, AudienceARM) }
	defAdm = func(s *Sim, t testing.TB) string { return userToken(t, s, contosoTID, contosoAdmin, AudienceDefender) }
	laApp  = func(s *Sim, t testing.TB) string { return appToken(t, s, contosoTID, AudienceLogAnalytics) }

	fuzzEndpoints = []fuzzEndpoint{
		{http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "fz") + "?api-version=" + previewAPI, armApp},
		{http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "fz") + "?api-version=" + previewAPI, armAdm},
		{http.MethodPost, siPath(contosoSub, contosoRG, contosoWS, "dataConnectorsCheckRequirements") + "?api-version=" + previewAPI, armApp},
		{http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "alertRules/fz") + "?api-version=" + stableAPI, armApp},
		{http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "settings/EntityAnalytics") + "?api-version=" + previewAPI, armApp},
		{http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "settings/Ueba") + "?api-version=" + previewAPI, armApp},
		{http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "onboardingStates/default") + "?api-version=" + stableAPI, armApp},
		{http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "contentPackages/fz") + "?api-version=" + stableAPI, armApp},
		{http.MethodPut, "/subscriptions/" + contosoSub + "/resourceGroups/" + contosoRG + "/providers/Microsoft.Resources/deployments/fz?api-version=2021-04-01", armApp},
		{http.MethodPost, streamingPath, defAdm},
		{http.MethodPost, "/v1/workspaces/20000000-0000-4000-8000-0000000000d1/query", laApp},
	}

	fuzzBodySeeds = []string{
		`{"kind":"MicrosoftThreatProtection","properties":{"tenantId":"` + contosoTID + `","dataTypes":{"incidents":{"state":"Enabled"},"alerts":{"state":"Disabled"}},"filteredProviders":{"alerts":["microsoftDefenderForIdentity"]}}}`,
		`{"kind":"MicrosoftSecurityIncidentCreation","etag":"\"x\"","properties":{"displayName":"d","enabled":false,"productFilter":"Azure Security Center","severitiesFilter":["High"]}}`,
		`{"kind":"Ueba","properties":{"dataSources":["SigninLogs"],"entityProviders":["AzureActiveDirectory"]}}`,
		`{"properties":{"contentId":"` + DefenderXDRContentID + `","contentKind":"Solution","version":"3.0.11","customerManagedKey":true}}`,
		`{"properties":{"mode":"Incremental","parameters":{"workspace":{"value":"` + contosoWS + `"}},"template":{"parameters":{"workspace":{"type":"string"}},"variables":{"v":"[concat('a', parameters('workspace'))]"},"resources":[{"type":"Microsoft.OperationalInsights/workspaces/providers/contentPackages","name":"[concat(parameters('workspace'),'/Microsoft.SecurityInsights/x')]","properties":{"contentId":"[variables('v')]","version":"1"}}]}}}`,
		`{"id":"e","workspaceProperties":{"workspaceResourceId":"` + wsPath(contosoSub, contosoRG, contosoWS) + `"},"logs":[{"category":"AdvancedHunting-DeviceInfo","enabled":true}]}`,
		`{"query":"SecurityIncident | summarize count() by bin(TimeGenerated, 1d)","timespan":"P1D"}`,
		`{"kind":"x","properties":null,"etag":null}`, `[]`, `null`, `"s"`, `{"properties":[1,{"a":{}}]}`,
	}
)

// FuzzJSONBodies sends arbitrary bodies to every handler that decodes one.
// Whatever the body, the answer is never a panic or a 5xx, and a 4xx
// carries an error object with a code (every family's error shape has one).
func FuzzJSONBodies(f *testing.F) {
	for i := range fuzzEndpoints {
		for _, b := range fuzzBodySeeds {
			f.Add(uint8(i), []byte(b))
		}
	}
	s := startSim(f, Options{Faults: FaultConfig{DisableARMThrottling: true}})
	tokens := make([]string, len(fuzzEndpoints))
	for i, e := range fuzzEndpoints {
		tokens[i] = e.token(s, f)
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		i := int(which) % len(fuzzEndpoints)
		e := fuzzEndpoints[i]
		r := httptest.NewRequest(e.method, e.path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+tokens[i])
		w := httptest.NewRecorder()
		s.server.Handler.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s: %d %s", e.method, e.path, w.Code, w.Body)
		}
		if w.Code >= 400 {
			var eb struct {
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &eb); err != nil || eb.Error.Code == "" {
				t.Fatalf("%s %s: %d without an error code: %s", e.method, e.path, w.Code, w.Body)
			}
		}
	})
}
