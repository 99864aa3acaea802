package azuresim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const streamingPath = "/api/dataExportSettings"

func streamingEntry(id, sub, rg, ws string, categories ...string) map[string]any {
	logs := []map[string]any{}
	for _, c := range categories {
		logs = append(logs, map[string]any{"category": c, "enabled": true})
	}
	return map[string]any{
		"id": id, "designatedTenantId": nil, "eventHubProperties": nil, "storageAccountProperties": nil,
		"workspaceProperties": map[string]any{
			"workspaceResourceId": wsPath(sub, rg, ws), "subscriptionId": sub, "resourceGroup": rg, "name": ws,
		},
		"logs": logs,
	}
}

func contosoEntry(id string, categories ...string) map[string]any {
	return streamingEntry(id, contosoSub, contosoRG, contosoWS, categories...)
}

func TestStreamingRefusesAppOnlyTokens(t *testing.T) {
	s := startSim(t, Options{})
	tok := appToken(t, s, contosoTID, AudienceDefender)
	for _, tc := range []struct {
		method, path string
		body         any
	}{
		{http.MethodGet, streamingPath, nil},
		{http.MethodPost, streamingPath, contosoEntry("SentinelExportSettings-ws-contoso", "AdvancedHunting-DeviceInfo")},
		{http.MethodDelete, streamingPath + "/x", nil},
	} {
		r := rawCall(t, s, tok, tc.method, tc.path, tc.body)
		wantError(t, r, streamingAppOnlyStatus, streamingAppOnlyCode)
		if !strings.Contains(r.errMessage(), "Application tokens are not supported") {
			t.Errorf("%s: message %q", tc.method, r.errMessage())
		}
	}
	if got, _ := s.StreamingEntries(contosoTID); len(got) != 0 {
		t.Fatalf("app-only POST stored %v", got)
	}
}

func TestStreamingChecksTokenAudience(t *testing.T) {
	s := startSim(t, Options{})
	r := rawCall(t, s, userToken(t, s, contosoTID, contosoAdmin, AudienceGraph), http.MethodGet, streamingPath, nil)
	wantError(t, r, http.StatusUnauthorized, "InvalidAuthenticationTokenAudience")
	r = rawCall(t, s, "", http.MethodGet, streamingPath, nil)
	wantStatus(t, r, http.StatusUnauthorized)
}

func TestStreamingRequiresRoleAndLicence(t *testing.T) {
	w := loadTestWorld(t)
	north := w.Tenants[3]
	north.Users = append(north.Users, &User{ID: "40000000-0000-4000-8000-0000000000a1", UserPrincipalName: "admin@northwind.onmicrosoft.com",
		DirectoryRoles: []string{RoleGlobalAdministrator}})
	contoso := w.Tenants[1]
	contoso.Users = append(contoso.Users, &User{ID: "20000000-0000-4000-8000-0000000000a9", UserPrincipalName: "reader@contoso.onmicrosoft.com",
		DirectoryRoles: []string{RoleSecurityReader}})
	s := startSim(t, Options{World: w})
	entry := contosoEntry("SentinelExportSettings-ws-contoso", "AdvancedHunting-DeviceInfo")

	analyst := userToken(t, s, contosoTID, analystUPN, AudienceDefender)
	wantError(t, rawCall(t, s, analyst, http.MethodGet, streamingPath, nil), streamingRoleStatus, streamingRoleCode)
	wantError(t, rawCall(t, s, analyst, http.MethodPost, streamingPath, entry), streamingRoleStatus, streamingRoleCode)

	reader := userToken(t, s, contosoTID, "reader@contoso.onmicrosoft.com", AudienceDefender)
	wantStatus(t, rawCall(t, s, reader, http.MethodGet, streamingPath, nil), http.StatusOK)
	wantError(t, rawCall(t, s, reader, http.MethodPost, streamingPath, entry), streamingRoleStatus, streamingRoleCode)

	admin := userToken(t, s, northTID, "admin@northwind.onmicrosoft.com", AudienceDefender)
	wantError(t, rawCall(t, s, admin, http.MethodGet, streamingPath, nil), streamingNoLicenseStatus, streamingNoLicenseCode)

	for _, user := range []string{contosoAdmin, contosoGuest} { // Security Administrator, member and guest
		wantStatus(t, rawCall(t, s, userToken(t, s, contosoTID, user, AudienceDefender), http.MethodPost, streamingPath, entry), streamingUpsertStatus)
	}
	tok := userToken(t, s, fabrikamTID, fabrikamUser, AudienceDefender) // Global Administrator
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath,
		streamingEntry("SentinelExportSettings-ws-fabrikam", fabrikamSub, fabrikamRG, fabrikamWS, "IdentityLogonEvents")), streamingUpsertStatus)
}

func TestStreamingUpsertIsWholeObjectByID(t *testing.T) {
	s := startSim(t, Options{})
	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	id := "SentinelExportSettings-ws-contoso"
	r := rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry(id, "AdvancedHunting-DeviceInfo", "IdentityLogonEvents"))
	wantStatus(t, r, streamingUpsertStatus)
	if r.body["id"] != id || len(r.body["logs"].([]any)) != 2 {
		t.Fatalf("POST answered %s", r.raw)
	}
	// The second write replaces the logs; the id is matched case-insensitively.
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry(strings.ToUpper(id), "CloudAppEvents")), streamingUpsertStatus)
	r = rawCall(t, s, tok, http.MethodGet, streamingPath, nil)
	wantStatus(t, r, http.StatusOK)
	value := r.body["value"].([]any)
	if len(value) != 1 {
		t.Fatalf("GET = %s, want one entry", r.raw)
	}
	got := value[0].(map[string]any)
	logs := got["logs"].([]any)
	if len(logs) != 1 || logs[0].(map[string]any)["category"] != "CloudAppEvents" {
		t.Fatalf("logs = %v, want only CloudAppEvents", logs)
	}
	for _, k := range []string{"designatedTenantId", "eventHubProperties", "storageAccountProperties"} {
		if v, ok := got[k]; !ok || v != nil {
			t.Errorf("%s = %v (present %v), want explicit null", k, v, ok)
		}
	}
	wp := got["workspaceProperties"].(map[string]any)
	if wp["workspaceResourceId"] != wsPath(contosoSub, contosoRG, contosoWS) || wp["name"] != contosoWS {
		t.Errorf("workspaceProperties = %v", wp)
	}
}

func TestStreamingLimitsTenantToFiveEntries(t *testing.T) {
	s := startSim(t, Options{})
	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	for i := range streamingMaxEntries {
		wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry(fmt.Sprintf("e%d", i), "AdvancedHunting-DeviceInfo")), streamingUpsertStatus)
	}
	r := rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry("e5", "AdvancedHunting-DeviceInfo"))
	wantError(t, r, streamingLimitStatus, streamingLimitCode)
	// Updating one of the five is still allowed; deleting one frees a slot.
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry("e0", "CloudAppEvents")), streamingUpsertStatus)
	wantStatus(t, rawCall(t, s, tok, http.MethodDelete, streamingPath+"/e1", nil), streamingDeleteStatus)
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry("e5", "AdvancedHunting-DeviceInfo")), streamingUpsertStatus)
	if got, _ := s.StreamingEntries(contosoTID); len(got) != streamingMaxEntries {
		t.Fatalf("%d entries, want %d", len(got), streamingMaxEntries)
	}
}

func TestStreamingCategories(t *testing.T) {
	s := startSim(t, Options{})
	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	for _, tc := range []struct {
		category string
		ok       bool
	}{
		{"AdvancedHunting-DeviceProcessEvents", true},
		{"AdvancedHunting-DeviceFileCertificateInfo", true},
		{"AdvancedHunting-AlertInfo", true},
		{"AdvancedHunting-AlertEvidence", true},
		{"IdentityLogonEvents", true},
		{"IdentityDirectoryEvents", true},
		{"IdentityQueryEvents", true},
		{"CloudAppEvents", true},
		// MDI/MDA long forms are refused; the short form is the only one.
		{"AdvancedHunting-IdentityLogonEvents", false},
		{"AdvancedHunting-CloudAppEvents", false},
		// MDO is refused under every name.
		{"AdvancedHunting-EmailEvents", false},
		{"EmailEvents", false},
		{"AdvancedHunting-EmailUrlInfo", false},
		{"AdvancedHunting-EmailAttachmentInfo", false},
		{"AdvancedHunting-EmailPostDeliveryEvents", false},
		{"AdvancedHunting-UrlClickEvents", false},
		{"UrlClickEvents", false},
		// TVM and Behavior never reach Sentinel.
		{"AdvancedHunting-DeviceTvmSoftwareInventory", false},
		{"AdvancedHunting-BehaviorInfo", false},
		{"AdvancedHunting-BehaviorEntities", false},
		// MDE short forms, unknown names and case variants are refused.
		{"DeviceInfo", false},
		{"Alert", false},
		{"advancedhunting-DeviceInfo", false},
	} {
		r := rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry("cat-test", tc.category))
		if tc.ok {
			wantStatus(t, r, streamingUpsertStatus)
			continue
		}
		wantError(t, r, streamingCategoryStatus, streamingCategoryCode)
		if want := fmt.Sprintf("Category '%s' is not supported.", tc.category); r.errMessage() != want {
			t.Errorf("%s: message %q, want %q", tc.category, r.errMessage(), want)
		}
	}
}

func TestStreamingChecksWorkspace(t *testing.T) {
	s := startSim(t, Options{})
	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	for name, body := range map[string]map[string]any{
		"other tenant's workspace": streamingEntry("x", fabrikamSub, fabrikamRG, fabrikamWS, "AdvancedHunting-DeviceInfo"),
		"missing workspace":        streamingEntry("x", contosoSub, contosoRG, "nope", "AdvancedHunting-DeviceInfo"),
	} {
		r := rawCall(t, s, tok, http.MethodPost, streamingPath, body)
		wantError(t, r, streamingWorkspaceStatus, streamingWorkspaceCode)
		if !strings.Contains(r.errMessage(), contosoTID) {
			t.Errorf("%s: message %q does not name the tenant", name, r.errMessage())
		}
	}
	mismatch := contosoEntry("x", "AdvancedHunting-DeviceInfo")
	mismatch["workspaceProperties"].(map[string]any)["name"] = "ws-other"
	wantError(t, rawCall(t, s, tok, http.MethodPost, streamingPath, mismatch), http.StatusBadRequest, "BadRequest")
	noID := contosoEntry("", "AdvancedHunting-DeviceInfo")
	wantError(t, rawCall(t, s, tok, http.MethodPost, streamingPath, noID), http.StatusBadRequest, "BadRequest")
	hub := contosoEntry("x", "AdvancedHunting-DeviceInfo")
	hub["eventHubProperties"] = map[string]any{"eventHubResourceId": "/subscriptions/x"}
	wantError(t, rawCall(t, s, tok, http.MethodPost, streamingPath, hub), http.StatusBadRequest, "BadRequest")
	wantError(t, rawCall(t, s, tok, http.MethodPost, streamingPath, []byte("{not json")), http.StatusBadRequest, "BadRequest")
	if got, _ := s.StreamingEntries(contosoTID); len(got) != 0 {
		t.Fatalf("refused writes stored %v", got)
	}
}

func TestStreamingDelete(t *testing.T) {
	s := startSim(t, Options{})
	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	wantError(t, rawCall(t, s, tok, http.MethodDelete, streamingPath+"/missing", nil), http.StatusNotFound, "NotFound")
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry("e", "AdvancedHunting-DeviceInfo")), streamingUpsertStatus)
	wantStatus(t, rawCall(t, s, tok, http.MethodDelete, streamingPath+"/e", nil), streamingDeleteStatus)
	if got, _ := s.StreamingEntries(contosoTID); len(got) != 0 {
		t.Fatalf("entries after delete: %v", got)
	}
}

// Writing an entry connects its tables from that sim-clock instant; turning
// a category off or deleting the entry disconnects them.
func TestStreamingConnectsTablesOnTheSimClock(t *testing.T) {
	s := startSim(t, Options{})
	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	customer := "20000000-0000-4000-8000-0000000000d1"
	t0 := s.Now()
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry("e", "AdvancedHunting-DeviceInfo", "IdentityLogonEvents")), streamingUpsertStatus)
	t1 := s.Now()
	s.AdvanceClock(2 * time.Hour)
	off := contosoEntry("e", "AdvancedHunting-DeviceInfo", "IdentityLogonEvents")
	off["logs"].([]map[string]any)[1]["enabled"] = false
	tok = userToken(t, s, contosoTID, contosoAdmin, AudienceDefender) // tokens expire on the sim clock
	t2 := s.Now()
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, off), streamingUpsertStatus)
	t3 := s.Now()
	s.AdvanceClock(time.Hour)
	tok = userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	t4 := s.Now()
	wantStatus(t, rawCall(t, s, tok, http.MethodDelete, streamingPath+"/e", nil), streamingDeleteStatus)
	t5 := s.Now()

	got := s.Ingestion(customer)
	if len(got) != 2 || got[0].Table != "DeviceInfo" || got[1].Table != "IdentityLogonEvents" {
		t.Fatalf("ingestion = %+v", got)
	}
	dev, id := got[0].Spans, got[1].Spans
	if len(dev) != 1 || len(id) != 1 || dev[0].To == nil || id[0].To == nil {
		t.Fatalf("spans = %+v / %+v, want one closed span each", dev, id)
	}
	if dev[0].From.Before(t0) || dev[0].From.After(t1) {
		t.Errorf("DeviceInfo connected at %v, want between %v and %v", dev[0].From, t0, t1)
	}
	// Each span ends during the call that ended it, 2h and 3h of sim clock
	// after it began.
	if to := *id[0].To; to.Before(t2) || to.After(t3) || to.Sub(id[0].From) < 2*time.Hour {
		t.Errorf("IdentityLogonEvents connected from %v to %v, want until between %v and %v (~2h)", id[0].From, to, t2, t3)
	}
	if to := *dev[0].To; to.Before(t4) || to.After(t5) || to.Sub(dev[0].From) < 3*time.Hour {
		t.Errorf("DeviceInfo connected from %v to %v, want until between %v and %v (~3h)", dev[0].From, to, t4, t5)
	}
}
