package azuresim

import (
	"net/http"
	"strings"
	"testing"
)

func TestARMApiVersionRules(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	ws := wsPath(contosoSub, contosoRG, contosoWS)
	wantError(t, do(t, c, http.MethodGet, ws, "", nil), http.StatusBadRequest, "MissingApiVersionParameter")
	wantError(t, do(t, c, http.MethodGet, ws, "yesterday", nil), http.StatusBadRequest, "InvalidApiVersionParameter")
	wantError(t, do(t, c, http.MethodGet, ws, "2001-01-01", nil), http.StatusBadRequest, "NoRegisteredProviderFound")
	// settings exist only in preview api-versions
	wantError(t, do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "settings"), stableAPI, nil), http.StatusBadRequest, "NoRegisteredProviderFound")
	wantStatus(t, do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "settings"), previewAPI, nil), http.StatusOK)
}

func TestARMPathsAreCaseInsensitive(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	p := "/subscriptions/" + contosoSub + "/resourcegroups/RG-SENTINEL/providers/microsoft.operationalinsights/workspaces/WS-Contoso"
	wantStatus(t, do(t, c, http.MethodGet, p, "2022-10-01", nil), http.StatusOK)
}

func TestARMUnknownSubscriptionAndWorkspace(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	wantError(t, do(t, c, http.MethodGet, wsPath("99999999-0000-4000-8000-0000000000c1", contosoRG, contosoWS), "2022-10-01", nil), http.StatusNotFound, "SubscriptionNotFound")
	wantError(t, do(t, c, http.MethodGet, wsPath(contosoSub, contosoRG, "nope"), "2022-10-01", nil), http.StatusNotFound, "ResourceNotFound")
}

func TestPermissionsComeFromRoleAssignments(t *testing.T) {
	s := startSim(t, Options{})
	perm := func(tok, scope string) []any {
		c := armClient(t, s, staticCred{tok}, 0)
		r := do(t, c, http.MethodGet, scope+"/providers/Microsoft.Authorization/permissions", "2022-04-01", nil)
		wantStatus(t, r, http.StatusOK)
		return r.body["value"].([]any)
	}
	appTok, _ := s.IssueAppToken(contosoTID, appID, AudienceARM)
	analystTok, _ := s.IssueUserToken(contosoTID, analystUPN, appID, AudienceARM+"/.default")
	ws := wsPath(contosoSub, contosoRG, contosoWS)
	rg := "/subscriptions/" + contosoSub + "/resourceGroups/" + contosoRG

	// The app holds Microsoft Sentinel Contributor on the resource group:
	// visible at the RG and inherited at the workspace.
	for _, scope := range []string{rg, ws} {
		v := perm(appTok, scope)
		if len(v) != 1 {
			t.Fatalf("%s: %d entries, want 1: %v", scope, len(v), v)
		}
		actions := v[0].(map[string]any)["actions"].([]any)
		if actions[0] != "Microsoft.SecurityInsights/*" {
			t.Fatalf("actions = %v", actions)
		}
	}
	// The analyst's custom role sits on the workspace only, with notActions.
	if v := perm(analystTok, rg); len(v) != 0 {
		t.Fatalf("analyst at RG = %v, want none", v)
	}
	v := perm(analystTok, ws)
	if len(v) != 1 || v[0].(map[string]any)["notActions"].([]any)[0] != "Microsoft.SecurityInsights/settings/read" {
		t.Fatalf("analyst at workspace = %v", v)
	}
}

func TestRBACEnforcedOnSentinelOperations(t *testing.T) {
	s := startSim(t, Options{})
	analystTok, _ := s.IssueUserToken(contosoTID, analystUPN, appID, AudienceARM+"/.default")
	c := armClient(t, s, staticCred{analystTok}, 0)
	// allowed: Microsoft.SecurityInsights/*/read
	wantStatus(t, do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "alertRules"), stableAPI, nil), http.StatusOK)
	// notActions: Microsoft.SecurityInsights/settings/read
	r := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "settings"), previewAPI, nil)
	wantError(t, r, http.StatusForbidden, "AuthorizationFailed")
	if !strings.Contains(r.errMessage(), "Microsoft.SecurityInsights/settings/read") {
		t.Fatalf("message = %s", r.errMessage())
	}
	// no write action at all
	wantError(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "onboardingStates/default"), stableAPI,
		map[string]any{"properties": map[string]any{}}), http.StatusForbidden, "AuthorizationFailed")
}

func TestUnregisteredProviderRefusedThenAzcoreRegistersIt(t *testing.T) {
	s := startSim(t, Options{})
	cred := appCredential(t, s, fabrikamTID)
	onboarding := siPath(fabrikamSub, fabrikamRG, fabrikamWS, "onboardingStates/default")

	r := do(t, armClient(t, s, cred, 0), http.MethodGet, onboarding, stableAPI, nil)
	wantError(t, r, http.StatusConflict, "MissingSubscriptionRegistration")
	if !strings.Contains(r.errMessage(), "Microsoft.SecurityInsights") {
		t.Fatalf("message = %s", r.errMessage())
	}
	if st := s.ProviderRegistrationState(fabrikamSub, "Microsoft.SecurityInsights"); st != "NotRegistered" {
		t.Fatalf("state = %s", st)
	}
	// azcore's RP-registration policy: POST register, GET until Registered, retry.
	r = do(t, armClientWithRP(t, s, cred), http.MethodGet, onboarding, stableAPI, nil)
	wantStatus(t, r, http.StatusOK)
	if st := s.ProviderRegistrationState(fabrikamSub, "Microsoft.SecurityInsights"); st != "Registered" {
		t.Fatalf("state = %s", st)
	}
	if n := s.CountRequests("arm.providers.register", http.MethodPost, http.StatusOK); n != 1 {
		t.Fatalf("register calls = %d", n)
	}
}

func TestProviderRegistrationTakesClockTime(t *testing.T) {
	s := startSim(t, Options{RPRegistrationDelay: 30 * 1e9})
	c := armClient(t, s, appCredential(t, s, fabrikamTID), 0)
	p := "/subscriptions/" + fabrikamSub + "/providers/Microsoft.SecurityInsights"
	r := do(t, c, http.MethodPost, p+"/register", "2019-05-01", nil)
	wantStatus(t, r, http.StatusOK)
	if r.body["registrationState"] != "Registering" {
		t.Fatalf("after register: %v", r.body["registrationState"])
	}
	if st := do(t, c, http.MethodGet, p, "2019-05-01", nil).body["registrationState"]; st != "Registering" {
		t.Fatalf("before delay: %v", st)
	}
	s.AdvanceClock(31 * 1e9)
	if st := do(t, c, http.MethodGet, p, "2019-05-01", nil).body["registrationState"]; st != "Registered" {
		t.Fatalf("after delay: %v", st)
	}
}

func TestOnboardingState201Then200(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	p := siPath(contosoSub, contosoRG, contosoWS, "onboardingStates/default")
	wantError(t, do(t, c, http.MethodGet, p, stableAPI, nil), http.StatusNotFound, "NotFound")
	body := map[string]any{"properties": map[string]any{"customerManagedKey": false}}
	r := do(t, c, http.MethodPut, p, stableAPI, body)
	wantStatus(t, r, http.StatusCreated)
	if r.body["name"] != "default" || r.body["type"] != "Microsoft.SecurityInsights/onboardingStates" {
		t.Fatalf("body = %v", r.body)
	}
	wantStatus(t, do(t, c, http.MethodPut, p, stableAPI, body), http.StatusOK)
	wantStatus(t, do(t, c, http.MethodGet, p, stableAPI, nil), http.StatusOK)
	wantError(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "onboardingStates/other"), stableAPI, body), http.StatusBadRequest, "BadRequest")
}

func TestErrorBodyShapeAndHeaders(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	r := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "dataConnectors/missing"), previewAPI, nil)
	wantError(t, r, http.StatusNotFound, "NotFound")
	e, ok := r.body["error"].(map[string]any)
	if !ok || len(r.body) != 1 || len(e) != 2 {
		t.Fatalf("error body must be exactly {\"error\":{\"code\",\"message\"}}: %s", r.raw)
	}
	if r.header.Get("x-ms-request-id") == "" || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("headers = %v", r.header)
	}
	ok2 := do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "onboardingStates/default"), stableAPI, map[string]any{"properties": map[string]any{}})
	if ok2.header.Get("x-ms-ratelimit-remaining-subscription-writes") == "" {
		t.Fatalf("write without writes rate-limit header: %v", ok2.header)
	}
}

// $skipToken and $top come from the client; their sum once overflowed int
// and the slice expression panicked (no response at all).
func TestARMPagingHugeSkipTokenAndTop(t *testing.T) {
	s := startSim(t, Options{})
	tok := appToken(t, s, contosoTID, AudienceARM)
	list := siPath(contosoSub, contosoRG, contosoWS, "alertRules") + "?api-version=" + stableAPI
	r := rawCall(t, s, tok, http.MethodGet, list+"&$skipToken=9223372036854775807&$top=1", nil)
	wantStatus(t, r, http.StatusOK)
	if v, _ := r.body["value"].([]any); len(v) != 0 || r.body["nextLink"] != nil {
		t.Fatalf("past the end: %s", r.raw)
	}
	r = rawCall(t, s, tok, http.MethodGet, list+"&$skipToken=1&$top=9223372036854775807", nil)
	wantStatus(t, r, http.StatusOK)
	if v, _ := r.body["value"].([]any); len(v) != len(IncidentCreationProducts)-1 {
		t.Fatalf("skip 1 of %d seeded rules: %s", len(IncidentCreationProducts), r.raw)
	}
	r = rawCall(t, s, tok, http.MethodGet, list+"&$skipToken=1&$top=2", nil)
	if v, _ := r.body["value"].([]any); len(v) != 2 {
		t.Fatalf("$top=2 after $skipToken=1: %s", r.raw)
	}
}

// Lower-casing can change a string's byte length (invalid UTF-8 becomes
// U+FFFD), so the permissions scope must not be cut at an index found in
// strings.ToLower(scope); that once panicked for such resource group names.
func TestPermissionsScopeWithNonASCIIResourceGroup(t *testing.T) {
	s := startSim(t, Options{})
	tok := appToken(t, s, contosoTID, AudienceARM)
	for _, rg := range []string{strings.Repeat("%FF", 40), strings.Repeat("%C8%BA", 60)} { // invalid UTF-8; "Ⱥ" lower-cases to 3 bytes
		r := rawCall(t, s, tok, http.MethodGet, "/subscriptions/"+contosoSub+"/resourceGroups/"+rg+
			"/providers/Microsoft.Authorization/permissions?api-version=2022-04-01", nil)
		wantError(t, r, http.StatusNotFound, "ResourceGroupNotFound")
	}
}

// net/http unescapes the path once; ARM routing must not unescape it again,
// or "ws%2Dcontoso" (sent as ws%252Dcontoso) would name ws-contoso.
func TestARMPathIsUnescapedOnce(t *testing.T) {
	s := startSim(t, Options{})
	tok := appToken(t, s, contosoTID, AudienceARM)
	r := rawCall(t, s, tok, http.MethodGet, wsPath(contosoSub, contosoRG, "ws%252Dcontoso")+"?api-version=2022-10-01", nil)
	wantError(t, r, http.StatusNotFound, "ResourceNotFound")
	wantStatus(t, rawCall(t, s, tok, http.MethodGet, wsPath(contosoSub, contosoRG, "ws%2Dcontoso")+"?api-version=2022-10-01", nil), http.StatusOK)
}
