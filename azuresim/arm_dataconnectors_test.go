package azuresim

import (
	"net/http"
	"strings"
	"sync"
	"testing"
)

func mtpBody(tenantID, etag string) map[string]any {
	b := map[string]any{
		"kind": "MicrosoftThreatProtection",
		"properties": map[string]any{
			"tenantId": tenantID,
			"dataTypes": map[string]any{
				"incidents": map[string]any{"state": "Enabled"},
				"alerts":    map[string]any{"state": "Enabled"},
			},
		},
	}
	if etag != "" {
		b["etag"] = etag
	}
	return b
}

func connectorPath(sub, rg, ws, name string) string {
	return siPath(sub, rg, ws, "dataConnectors/"+name)
}

func TestMTPConnectorCreateUpdateAndEtag(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	p := connectorPath(contosoSub, contosoRG, contosoWS, "m365d")

	r := do(t, c, http.MethodPut, p, previewAPI, mtpBody(contosoTID, ""))
	wantStatus(t, r, http.StatusCreated)
	etag, _ := r.body["etag"].(string)
	if etag == "" || r.body["kind"] != kindMTP || r.body["type"] != "Microsoft.SecurityInsights/dataConnectors" {
		t.Fatalf("created = %s", r.raw)
	}
	// stale etag -> the chosen precondition error, nothing changes
	stale := do(t, c, http.MethodPut, p, previewAPI, mtpBody(contosoTID, `"00000000-0000-0000-0000-000000000000"`))
	wantError(t, stale, etagMismatchStatus, etagMismatchCode)
	// current etag -> 200 and a new etag
	r2 := do(t, c, http.MethodPut, p, previewAPI, mtpBody(contosoTID, etag))
	wantStatus(t, r2, http.StatusOK)
	if r2.body["etag"] == etag {
		t.Fatal("etag must change on update")
	}
	// the old etag is now stale too
	wantError(t, do(t, c, http.MethodPut, p, previewAPI, mtpBody(contosoTID, etag)), etagMismatchStatus, etagMismatchCode)
	// If-Match is honoured like the body etag
	snap, _ := s.WorkspaceSnapshot(contosoSub, contosoRG, contosoWS)
	if len(snap.DataConnectors) != 1 {
		t.Fatalf("connectors = %d", len(snap.DataConnectors))
	}
	got := do(t, c, http.MethodGet, p, previewAPI, nil)
	wantStatus(t, got, http.StatusOK)
	if got.body["etag"] != r2.body["etag"] {
		t.Fatal("GET etag differs from the last PUT")
	}
	if on, dts := mustWS(t, s, contosoSub, contosoRG, contosoWS).ConnectedMTP(); !on || !dts["incidents"] || !dts["alerts"] {
		t.Fatalf("ConnectedMTP = %v %v", on, dts)
	}
}

func mustWS(t *testing.T, s *Sim, sub, rg, name string) *WorkspaceState {
	t.Helper()
	w, ok := s.Workspace(sub, rg, name)
	if !ok {
		t.Fatal("workspace missing")
	}
	return w
}

func TestMTPConnectorKindNeedsPreviewApiVersion(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	p := connectorPath(contosoSub, contosoRG, contosoWS, "m365d")
	for _, v := range []string{"2020-01-01", stableAPI} {
		r := do(t, c, http.MethodPut, p, v, mtpBody(contosoTID, ""))
		wantError(t, r, http.StatusBadRequest, "BadRequest")
		want := "Connector kind 'MicrosoftThreatProtection' is not supported in api-version: '" + v + "'"
		if r.errMessage() != want {
			t.Fatalf("message = %q, want %q", r.errMessage(), want)
		}
	}
	wantStatus(t, do(t, c, http.MethodPut, p, "2022-12-01-preview", mtpBody(contosoTID, "")), http.StatusCreated)
}

func TestMTPConnectorTenantMustMatchWorkspace(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	r := do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "m365d"), previewAPI, mtpBody(fabrikamTID, ""))
	wantError(t, r, tenantMismatchStatus, tenantMismatchCode)
}

func TestMTPConnectorNeedsLicence(t *testing.T) {
	s := startSim(t, Options{})
	// Northwind has no MTP service plan; lift its lockout to reach the licence rule.
	off := false
	if _, err := s.SetTenantFlags(northTID, TenantFlags{UnifiedPortal: &off}); err != nil {
		t.Fatal(err)
	}
	c := armClient(t, s, appCredential(t, s, northTID), 0)
	r := do(t, c, http.MethodPut, connectorPath(northSub, northRG, northWS, "m365d"), previewAPI, mtpBody(northTID, ""))
	wantError(t, r, noLicenseStatus, noLicenseCode)
	// checkRequirements reports the same
	cr := do(t, c, http.MethodPost, siPath(northSub, northRG, northWS, "dataConnectorsCheckRequirements"), previewAPI,
		map[string]any{"kind": kindMTP, "properties": map[string]any{"tenantId": northTID}})
	wantStatus(t, cr, http.StatusOK)
	if cr.body["licenseState"] != "Invalid" || cr.body["authorizationState"] != "Valid" {
		t.Fatalf("checkRequirements = %v", cr.body)
	}
}

func TestUnifiedPortalLockout(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, northTID), 0)
	r := do(t, c, http.MethodPut, connectorPath(northSub, northRG, northWS, "m365d"), previewAPI, mtpBody(northTID, ""))
	wantError(t, r, unifiedPortalStatus, unifiedPortalCode)
	if r.errMessage() != "The workspace is enabled through the Microsoft Threat Protection Portal. Changes to the connector in Microsoft Sentinel are disabled." {
		t.Fatalf("message = %q", r.errMessage())
	}
	// the flag also applies when set at run time
	on := true
	cc := armClient(t, s, appCredential(t, s, contosoTID), 0)
	s.SetTenantFlags(contosoTID, TenantFlags{UnifiedPortal: &on})
	wantError(t, do(t, cc, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "m365d"), previewAPI, mtpBody(contosoTID, "")), unifiedPortalStatus, unifiedPortalCode)
}

func TestOnlyOneMTPConnectorPerWorkspace(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	wantStatus(t, do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "first"), previewAPI, mtpBody(contosoTID, "")), http.StatusCreated)
	r := do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "second"), previewAPI, mtpBody(contosoTID, ""))
	wantError(t, r, duplicateMTPStatus, duplicateMTPCode)
	if !strings.Contains(r.errMessage(), "first") {
		t.Fatalf("message should name the existing connector: %s", r.errMessage())
	}
	// other kinds are not limited
	asc := map[string]any{"kind": "AzureSecurityCenter", "properties": map[string]any{"subscriptionId": contosoSub,
		"dataTypes": map[string]any{"alerts": map[string]any{"state": "Enabled"}}}}
	wantStatus(t, do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "asc"), previewAPI, asc), http.StatusCreated)
	// after deleting the first, a new one may be created
	wantStatus(t, do(t, c, http.MethodDelete, connectorPath(contosoSub, contosoRG, contosoWS, "first"), previewAPI, nil), http.StatusOK)
	wantStatus(t, do(t, c, http.MethodDelete, connectorPath(contosoSub, contosoRG, contosoWS, "first"), previewAPI, nil), http.StatusNoContent)
	wantStatus(t, do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "second"), previewAPI, mtpBody(contosoTID, "")), http.StatusCreated)
}

func TestMissingConsentUntilDelegatedConnect(t *testing.T) {
	s := startSim(t, Options{})
	s.RegisterProvider(fabrikamSub, "Microsoft.SecurityInsights")
	app := armClient(t, s, appCredential(t, s, fabrikamTID), 0)
	p := connectorPath(fabrikamSub, fabrikamRG, fabrikamWS, "m365d")

	r := do(t, app, http.MethodPut, p, previewAPI, mtpBody(fabrikamTID, ""))
	wantStatus(t, r, http.StatusUnauthorized)
	if string(r.raw) != `{"error":{"code":"InvalidLicense","message":"Missing consent"}}` {
		t.Fatalf("body = %s", r.raw)
	}
	// still refused on retry: the state is sticky
	wantStatus(t, do(t, app, http.MethodPut, p, previewAPI, mtpBody(fabrikamTID, "")), http.StatusUnauthorized)

	// a member Global Administrator connects with a delegated token
	userTok, err := s.IssueUserToken(fabrikamTID, fabrikamUser, appID, AudienceARM+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	user := armClient(t, s, staticCred{userTok}, 0)
	created := do(t, user, http.MethodPut, p, previewAPI, mtpBody(fabrikamTID, ""))
	wantStatus(t, created, http.StatusCreated)

	// from now on app-only updates work
	upd := do(t, app, http.MethodPut, p, previewAPI, mtpBody(fabrikamTID, created.body["etag"].(string)))
	wantStatus(t, upd, http.StatusOK)

	// re-arming the flag restores the rule
	on := true
	s.SetTenantFlags(fabrikamTID, TenantFlags{ConsentNeeded: &on})
	wantStatus(t, do(t, app, http.MethodPut, p, previewAPI, mtpBody(fabrikamTID, "")), http.StatusUnauthorized)
}

func TestDelegatedConnectNeedsMemberSecurityAdmin(t *testing.T) {
	w := loadTestWorld(t)
	contoso := w.Tenants[1]
	// Everyone gets workspace write rights, so only the Entra rules differ.
	for _, u := range contoso.Users {
		contoso.RoleAssignments = append(contoso.RoleAssignments, &RoleAssignment{PrincipalID: u.ID, RoleDefinition: "Contributor", Scope: "/subscriptions/" + contosoSub})
	}
	s := startSim(t, Options{World: w})
	p := connectorPath(contosoSub, contosoRG, contosoWS, "m365d")
	for _, tc := range []struct {
		user   string
		status int
	}{
		{contosoGuest, userNotEligibleStatus}, // a guest, even with Security Administrator
		{analystUPN, userNotEligibleStatus},   // a member without the Entra role
		{contosoAdmin, http.StatusCreated},    // a member Security Administrator
	} {
		tok, err := s.IssueUserToken(contosoTID, tc.user, appID, AudienceARM+"/.default")
		if err != nil {
			t.Fatal(err)
		}
		r := do(t, armClient(t, s, staticCred{tok}, 0), http.MethodPut, p, previewAPI, mtpBody(contosoTID, ""))
		wantStatus(t, r, tc.status)
	}
}

func TestCheckRequirementsFromWorld(t *testing.T) {
	s := startSim(t, Options{})
	body := map[string]any{"kind": kindMTP, "properties": map[string]any{"tenantId": contosoTID}}
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	r := do(t, c, http.MethodPost, siPath(contosoSub, contosoRG, contosoWS, "dataConnectorsCheckRequirements"), previewAPI, body)
	wantStatus(t, r, http.StatusOK)
	if r.body["licenseState"] != "Valid" || r.body["authorizationState"] != "Valid" {
		t.Fatalf("= %v", r.body)
	}
	other := map[string]any{"kind": kindMTP, "properties": map[string]any{"tenantId": fabrikamTID}}
	r = do(t, c, http.MethodPost, siPath(contosoSub, contosoRG, contosoWS, "dataConnectorsCheckRequirements"), previewAPI, other)
	if r.body["authorizationState"] != "Invalid" {
		t.Fatalf("foreign tenant id: %v", r.body)
	}
}

func TestConnectorListPages(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	n := armPageSize + 5
	for i := 0; i < n; i++ {
		body := map[string]any{"kind": "Office365", "properties": map[string]any{"tenantId": contosoTID,
			"dataTypes": map[string]any{"exchange": map[string]any{"state": "Enabled"}}}}
		wantStatus(t, do(t, c, http.MethodPut, connectorPath(contosoSub, contosoRG, contosoWS, "o365-"+string(rune('a'+i/26))+string(rune('a'+i%26))), previewAPI, body), http.StatusCreated)
	}
	seen := 0
	path := siPath(contosoSub, contosoRG, contosoWS, "dataConnectors")
	r := do(t, c, http.MethodGet, path, previewAPI, nil)
	for pages := 1; ; pages++ {
		wantStatus(t, r, http.StatusOK)
		seen += len(r.body["value"].([]any))
		next, _ := r.body["nextLink"].(string)
		if next == "" {
			if pages != 2 {
				t.Fatalf("pages = %d, want 2", pages)
			}
			break
		}
		r = do(t, c, http.MethodGet, strings.TrimPrefix(next, s.URL()), "", nil)
	}
	if seen != n {
		t.Fatalf("listed %d, want %d", seen, n)
	}
}

// The ingest ledger follows the MicrosoftThreatProtection connector at every
// write, even when writes of one workspace race: after any sequence of PUTs
// and DELETEs the SecurityIncident/SecurityAlert spans are open exactly when
// the connector exists, without a Log Analytics query to bring them in line.
func TestMTPLedgerFollowsConcurrentConnectorWrites(t *testing.T) {
	s := startSim(t, Options{Faults: FaultConfig{DisableARMThrottling: true}})
	tok := appToken(t, s, contosoTID, AudienceARM)
	p := connectorPath(contosoSub, contosoRG, contosoWS, "m365d") + "?api-version=" + previewAPI
	ws := mustWS(t, s, contosoSub, contosoRG, contosoWS)
	wl := s.xdr().ledger.workspace(contosoCustomer)
	open := func(table string) bool {
		sp, _ := wl.table(table)
		return len(sp) > 0 && sp[len(sp)-1].to.IsZero()
	}
	for round := range 20 {
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 10 {
					if (g+i)%2 == 0 {
						rawCall(t, s, tok, http.MethodPut, p, mtpBody(contosoTID, ""))
					} else {
						rawCall(t, s, tok, http.MethodDelete, p, nil)
					}
				}
			})
		}
		wg.Wait()
		connected, _ := ws.ConnectedMTP()
		if open(tableSecurityIncident) != connected || open(tableSecurityAlert) != connected {
			t.Fatalf("round %d: connector present = %v, but ledger open incidents=%v alerts=%v",
				round, connected, open(tableSecurityIncident), open(tableSecurityAlert))
		}
	}
}
