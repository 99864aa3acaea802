package azuresim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var (
	demoIDRe        = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	workspaceNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$`)
	resourceGroupRe = regexp.MustCompile(`^[-\w.()]{0,89}[-\w()]$`)
)

func TestDemoWorldValidDeterministicAndMixed(t *testing.T) {
	w, customers := DemoWorld()
	raw, _ := json.Marshal(w)
	if _, err := LoadWorld(bytes.NewReader(raw)); err != nil { // the world validation
		t.Fatal(err)
	}
	w2, c2 := DemoWorld()
	raw2, _ := json.Marshal(w2)
	cj, _ := json.Marshal(customers)
	cj2, _ := json.Marshal(c2)
	if !bytes.Equal(raw, raw2) || !bytes.Equal(cj, cj2) {
		t.Fatal("DemoWorld differs between runs")
	}
	if len(customers) < 20 || len(w.Tenants) != len(customers)+1 {
		t.Fatalf("%d customers, %d tenants", len(customers), len(w.Tenants))
	}
	kinds := map[DemoKind]int{}
	subs, workspaces, ids := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for i, c := range customers {
		kinds[c.Kind]++
		tn := w.Tenants[i+1]
		if tn.ID != c.EntraTenantID || !demoIDRe.MatchString(c.ID) || ids[c.ID] || c.Description == "" || c.DisplayName == "" {
			t.Fatalf("customer %+v", c)
		}
		if !workspaceNameRe.MatchString(c.WorkspaceName) || !resourceGroupRe.MatchString(c.ResourceGroup) {
			t.Fatalf("%s: workspace %q / resource group %q", c.ID, c.WorkspaceName, c.ResourceGroup)
		}
		if subs[c.SubscriptionID] || workspaces[c.WorkspaceName] {
			t.Fatalf("%s: subscription or workspace shared", c.ID)
		}
		ids[c.ID], subs[c.SubscriptionID], workspaces[c.WorkspaceName] = true, true, true
		if (c.AdminUPN == "") != (c.Kind == DemoNoSecurityAdmin) {
			t.Fatalf("%s (%s): adminUpn %q", c.ID, c.Kind, c.AdminUPN)
		}
		if tn.ServicePrincipals[0].AppID != w.Apps[0].ClientID {
			t.Fatalf("%s: app not consented", c.ID)
		}
	}
	for _, k := range []DemoKind{DemoConsentNeeded, DemoNoLicense, DemoNoSecurityAdmin, DemoRBACMissing,
		DemoProviderMissing, DemoUnifiedPortal, DemoNoDefenderForIdP} {
		if kinds[k] < 2 {
			t.Fatalf("kind %s: %d tenants", k, kinds[k])
		}
	}
	if kinds[DemoHealthy]*2 <= len(customers) {
		t.Fatalf("most tenants must be healthy: %v", kinds)
	}
}

// Each kind shows its problem on the first Defender XDR connect with the
// app's credentials, as the customer descriptions say.
func TestDemoKindsBehaveAsDescribed(t *testing.T) {
	w, customers := DemoWorld()
	s := startSim(t, Options{World: w, Customers: customers})
	want := map[DemoKind]struct {
		status int
		code   string
	}{
		DemoHealthy: {http.StatusCreated, ""}, DemoConsentNeeded: {missingConsentStatus, missingConsentCode},
		DemoNoLicense: {noLicenseStatus, noLicenseCode}, DemoNoSecurityAdmin: {http.StatusCreated, ""},
		DemoRBACMissing: {http.StatusForbidden, "AuthorizationFailed"}, DemoProviderMissing: {http.StatusConflict, "MissingSubscriptionRegistration"},
		DemoUnifiedPortal: {unifiedPortalStatus, unifiedPortalCode}, DemoNoDefenderForIdP: {http.StatusCreated, ""},
	}
	seen := map[DemoKind]bool{}
	for _, c := range customers {
		if seen[c.Kind] {
			continue
		}
		seen[c.Kind] = true
		cl := armClient(t, s, appCredentialFor(t, s, c.EntraTenantID, w.Apps[0].ClientID, GeneratedAppSecret), 0)
		r := do(t, cl, http.MethodPut, connectorPath(c.SubscriptionID, c.ResourceGroup, c.WorkspaceName, "m365d"), previewAPI, mtpBody(c.EntraTenantID, ""))
		if exp := want[c.Kind]; r.status != exp.status || r.errCode() != exp.code {
			t.Errorf("%s (%s): %d %s, want %d %s", c.ID, c.Kind, r.status, r.errCode(), exp.status, exp.code)
		}
		if c.Kind == DemoNoDefenderForIdP {
			ea := siPath(c.SubscriptionID, c.ResourceGroup, c.WorkspaceName, "settings/EntityAnalytics")
			wantError(t, do(t, cl, http.MethodPut, ea, previewAPI, map[string]any{"kind": "EntityAnalytics",
				"properties": map[string]any{"entityProviders": []any{"ActiveDirectory"}}}), noMDISensorStatus, noMDISensorCode)
		}
	}
}

func TestAdminCustomers(t *testing.T) {
	w, customers := DemoWorld()
	s := startSim(t, Options{World: w, Customers: customers})
	var raw map[string][]map[string]any
	if st := adminCall(t, s, http.MethodGet, "/_sim/customers", nil, &raw); st != http.StatusOK || len(raw["value"]) != len(customers) {
		t.Fatalf("customers = %d %d", st, len(raw["value"]))
	}
	first := raw["value"][0]
	for _, k := range []string{"id", "displayName", "kind", "description", "entraTenantId", "subscriptionId", "resourceGroup", "workspaceName", "region", "adminUpn"} {
		if _, ok := first[k]; !ok {
			t.Fatalf("customer lacks %q: %v", k, first)
		}
	}
	if _, err := Start(Options{World: loadTestWorld(t), Customers: customers}); err == nil {
		t.Fatal("customers of another world must be refused")
	}

	// Any other world lists its tenants and workspaces.
	s2 := startSim(t, Options{})
	var got struct{ Value []DemoCustomer }
	adminCall(t, s2, http.MethodGet, "/_sim/customers", nil, &got)
	found := false
	for _, c := range got.Value {
		if c.EntraTenantID == contosoTID {
			found = c.ID == "contoso" && c.WorkspaceName == contosoWS && c.SubscriptionID == contosoSub && c.AdminUPN == contosoAdmin
		}
	}
	if !found {
		t.Fatalf("contoso missing or wrong: %+v", got.Value)
	}
}

// requestDeviceCode starts a device-code sign-in as a client would.
func requestDeviceCode(t *testing.T, s *Sim, tenant, clientID, scope string) (userCode, deviceCode string) {
	t.Helper()
	resp, err := s.HTTPClient().PostForm(s.URL()+"/"+tenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {clientID}, "scope": {scope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var dc struct {
		UserCode   string `json:"user_code"`
		DeviceCode string `json:"device_code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&dc); err != nil || dc.DeviceCode == "" {
		t.Fatalf("devicecode: %d %v", resp.StatusCode, err)
	}
	return dc.UserCode, dc.DeviceCode
}

// postToken posts a form to the token endpoint.
func postToken(t *testing.T, s *Sim, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := s.HTTPClient().PostForm(s.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestApproveDeviceCodeAsTenantAdministrator(t *testing.T) {
	w, customers := DemoWorld()
	s := startSim(t, Options{World: w, Customers: customers})
	clientID := w.Apps[0].ClientID
	c := customers[0]
	userCode, deviceCode := requestDeviceCode(t, s, c.EntraTenantID, clientID, AudienceARM+"/.default offline_access")

	var listed struct{ Value []map[string]any }
	adminCall(t, s, http.MethodGet, "/_sim/devicecodes", nil, &listed)
	if len(listed.Value) != 1 || listed.Value[0]["userCode"] != userCode || listed.Value[0]["tenantId"] != c.EntraTenantID {
		t.Fatalf("devicecodes = %v", listed.Value)
	}
	if b, _ := json.Marshal(listed); strings.Contains(string(b), deviceCode) {
		t.Fatal("the device_code secret is listed")
	}
	var approved map[string]string
	if st := adminCall(t, s, http.MethodPost, "/_sim/devicecodes/"+userCode+"/approve", map[string]any{}, &approved); st != http.StatusOK || approved["user"] != c.AdminUPN {
		t.Fatalf("approve {} = %d %v", st, approved)
	}
	st, tok := postToken(t, s, c.EntraTenantID, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {clientID}, "device_code": {deviceCode}})
	if st != http.StatusOK {
		t.Fatalf("redeem: %d %v", st, tok)
	}
	if cl := claimsOf(t, tok["access_token"].(string)); cl["upn"] != c.AdminUPN || cl["tid"] != c.EntraTenantID {
		t.Fatalf("claims = %v", cl)
	}

	// No body at all works too.
	userCode, _ = requestDeviceCode(t, s, c.EntraTenantID, clientID, AudienceARM+"/.default")
	if st := adminCall(t, s, http.MethodPost, "/_sim/devicecodes/"+userCode+"/approve", nil, nil); st != http.StatusOK {
		t.Fatalf("approve without body = %d", st)
	}
	// A tenant without an administrator cannot approve by default.
	for _, nc := range customers {
		if nc.Kind == DemoNoSecurityAdmin {
			userCode, _ = requestDeviceCode(t, s, nc.EntraTenantID, clientID, AudienceARM+"/.default")
			var e struct {
				Error struct{ Code, Message string }
			}
			if st := adminCall(t, s, http.MethodPost, "/_sim/devicecodes/"+userCode+"/approve", map[string]any{}, &e); st != http.StatusConflict || e.Error.Message == "" {
				t.Fatalf("approve without admin = %d %+v", st, e)
			}
			break
		}
	}
}

// The demo customers with a history have data for the sandbox's 14-day
// series from the start, and say so in their descriptions.
func TestDemoHistories(t *testing.T) {
	w, customers := DemoWorld()
	s := startSim(t, Options{World: w, Customers: customers})
	now := s.Now()
	from := utcDay(now).AddDate(0, 0, -14)
	days := func(c DemoCustomer, table string) int {
		ws, _ := s.Workspace(c.SubscriptionID, c.ResourceGroup, c.WorkspaceName)
		daily, _ := s.IngestedRows(ws.Spec.CustomerID, table, "", from, now)
		return len(daily)
	}
	seen := 0
	for _, c := range customers {
		ws, _ := s.Workspace(c.SubscriptionID, c.ResourceGroup, c.WorkspaceName)
		h := ws.Spec.History
		if h == nil {
			if days(c, tableSecurityIncident) != 0 {
				t.Errorf("%s has incidents without a history", c.ID)
			}
			continue
		}
		seen++
		if c.Kind != DemoHealthy || !strings.Contains(c.Description, "before the emulator started") {
			t.Errorf("%s (%s): %q", c.ID, c.Kind, c.Description)
		}
		if n := days(c, "DeviceProcessEvents"); n < 9 {
			t.Errorf("%s: DeviceProcessEvents on %d of the last 14 days", c.ID, n)
		}
		if n := days(c, tableSecurityIncident); n < 9 {
			t.Errorf("%s: incidents on %d of the last 14 days", c.ID, n)
		}
	}
	if seen != 3 {
		t.Fatalf("%d customers with a history, want 3", seen)
	}
	bfy := customers[slices.IndexFunc(customers, func(c DemoCustomer) bool { return c.ID == "best-for-you-organics" })]
	ws, _ := s.Workspace(bfy.SubscriptionID, bfy.ResourceGroup, bfy.WorkspaceName)
	if _, last := s.IngestedRows(ws.Spec.CustomerID, "DeviceFileEvents", "", from, now); last.IsZero() || now.Sub(last) < 3*24*time.Hour {
		t.Errorf("best-for-you-organics: DeviceFileEvents last %v, want 3 days before start", last)
	}
}
