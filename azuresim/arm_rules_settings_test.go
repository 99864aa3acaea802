package azuresim

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestDefaultIncidentCreationRulesSeededEnabled(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	r := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "alertRules"), stableAPI, nil)
	wantStatus(t, r, http.StatusOK)
	rules := r.body["value"].([]any)
	if len(rules) != len(IncidentCreationProducts) {
		t.Fatalf("rules = %d, want %d", len(rules), len(IncidentCreationProducts))
	}
	products := map[string]bool{}
	for _, x := range rules {
		m := x.(map[string]any)
		p := m["properties"].(map[string]any)
		if m["kind"] != kindIncidentCreation || p["enabled"] != true || m["etag"] == "" {
			t.Fatalf("rule = %v", m)
		}
		products[p["productFilter"].(string)] = true
	}
	if !products["Microsoft Defender Advanced Threat Protection"] || !products["Azure Security Center"] {
		t.Fatalf("products = %v", products)
	}
	// a world may seed no rules
	n := armClient(t, s, appCredential(t, s, northTID), 0)
	if v := do(t, n, http.MethodGet, siPath(northSub, northRG, northWS, "alertRules"), stableAPI, nil).body["value"].([]any); len(v) != 0 {
		t.Fatalf("northwind rules = %d", len(v))
	}
}

func TestAlertRuleDisableWithEtag(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	list := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "alertRules"), stableAPI, nil)
	rule := list.body["value"].([]any)[0].(map[string]any)
	name := rule["name"].(string)
	props := rule["properties"].(map[string]any)
	before := props["lastModifiedUtc"].(string)
	props["enabled"] = false
	s.AdvanceClock(time.Minute)

	p := siPath(contosoSub, contosoRG, contosoWS, "alertRules/"+name)
	body := map[string]any{"kind": rule["kind"], "etag": rule["etag"], "properties": props}
	r := do(t, c, http.MethodPut, p, stableAPI, body)
	wantStatus(t, r, http.StatusOK)
	np := r.body["properties"].(map[string]any)
	if np["enabled"] != false || np["lastModifiedUtc"] == before {
		t.Fatalf("updated = %v", np)
	}
	// the etag used is now stale
	wantError(t, do(t, c, http.MethodPut, p, stableAPI, body), etagMismatchStatus, etagMismatchCode)
	// a new rule is created with 201
	newRule := map[string]any{"kind": kindIncidentCreation, "properties": map[string]any{
		"displayName": "MDI high", "enabled": true, "productFilter": "Azure Advanced Threat Protection", "severitiesFilter": []any{"High"}}}
	wantStatus(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "alertRules/mdi-high"), stableAPI, newRule), http.StatusCreated)
	// invalid productFilter and kind
	bad := map[string]any{"kind": kindIncidentCreation, "properties": map[string]any{"displayName": "x", "enabled": true, "productFilter": "Microsoft XDR"}}
	wantError(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "alertRules/bad"), stableAPI, bad), http.StatusBadRequest, "BadRequest")
	wantError(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "alertRules/bad"), stableAPI,
		map[string]any{"kind": "Nope", "properties": map[string]any{}}), http.StatusBadRequest, "BadRequest")
}

func TestAlertRuleListPages(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	for i := 0; i < armPageSize; i++ {
		body := map[string]any{"kind": kindIncidentCreation, "properties": map[string]any{
			"displayName": "r", "enabled": true, "productFilter": "Azure Security Center"}}
		wantStatus(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "alertRules/r"+strings.Repeat("x", i)), stableAPI, body), http.StatusCreated)
	}
	r := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "alertRules"), stableAPI, nil)
	if len(r.body["value"].([]any)) != armPageSize || r.body["nextLink"] == nil {
		t.Fatalf("first page: %d items, nextLink %v", len(r.body["value"].([]any)), r.body["nextLink"])
	}
}

func TestSettingsRules(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	ea := siPath(contosoSub, contosoRG, contosoWS, "settings/EntityAnalytics")
	body := map[string]any{"kind": "EntityAnalytics", "properties": map[string]any{"entityProviders": []any{"AzureActiveDirectory", "ActiveDirectory"}}}

	wantError(t, do(t, c, http.MethodGet, ea, previewAPI, nil), http.StatusNotFound, "NotFound")
	r := do(t, c, http.MethodPut, ea, previewAPI, body)
	wantStatus(t, r, http.StatusCreated)
	// read-modify-write with etag
	got := do(t, c, http.MethodGet, ea, previewAPI, nil)
	body["etag"] = got.body["etag"]
	wantStatus(t, do(t, c, http.MethodPut, ea, previewAPI, body), http.StatusOK)
	wantError(t, do(t, c, http.MethodPut, ea, previewAPI, body), etagMismatchStatus, etagMismatchCode)

	// name regex, unsupported name, kind mismatch, enum values
	wantError(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "settings/1bad"), previewAPI, body), http.StatusBadRequest, "BadRequest")
	wantError(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "settings/Other"), previewAPI, body), http.StatusBadRequest, "BadRequest")
	wantError(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "settings/Ueba"), previewAPI, body), http.StatusBadRequest, "BadRequest")
	ueba := map[string]any{"kind": "Ueba", "properties": map[string]any{"dataSources": []any{"SigninLogs", "Nope"}}}
	wantError(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "settings/Ueba"), previewAPI, ueba), http.StatusBadRequest, "BadRequest")
	ueba["properties"] = map[string]any{"dataSources": []any{"SigninLogs", "AuditLogs"}}
	wantStatus(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "settings/Ueba"), previewAPI, ueba), http.StatusCreated)

	// delete 200 then 204
	wantStatus(t, do(t, c, http.MethodDelete, ea, previewAPI, nil), http.StatusOK)
	wantStatus(t, do(t, c, http.MethodDelete, ea, previewAPI, nil), http.StatusNoContent)
}

func TestEntityAnalyticsActiveDirectoryNeedsMDISensors(t *testing.T) {
	s := startSim(t, Options{})
	s.RegisterProvider(fabrikamSub, "Microsoft.SecurityInsights")
	c := armClient(t, s, appCredential(t, s, fabrikamTID), 0)
	ea := siPath(fabrikamSub, fabrikamRG, fabrikamWS, "settings/EntityAnalytics")
	withAD := map[string]any{"kind": "EntityAnalytics", "properties": map[string]any{"entityProviders": []any{"ActiveDirectory"}}}
	wantError(t, do(t, c, http.MethodPut, ea, previewAPI, withAD), noMDISensorStatus, noMDISensorCode)
	aadOnly := map[string]any{"kind": "EntityAnalytics", "properties": map[string]any{"entityProviders": []any{"AzureActiveDirectory"}}}
	wantStatus(t, do(t, c, http.MethodPut, ea, previewAPI, aadOnly), http.StatusCreated)
}

func TestOnboardedWorkspaceHasDefaultSettings(t *testing.T) {
	s := startSim(t, Options{})
	s.RegisterProvider(fabrikamSub, "Microsoft.SecurityInsights")
	c := armClient(t, s, appCredential(t, s, fabrikamTID), 0)
	r := do(t, c, http.MethodGet, siPath(fabrikamSub, fabrikamRG, fabrikamWS, "settings"), previewAPI, nil)
	wantStatus(t, r, http.StatusOK)
	if n := len(r.body["value"].([]any)); n != 2 {
		t.Fatalf("settings = %d, want EyesOn and Anomalies", n)
	}
}
