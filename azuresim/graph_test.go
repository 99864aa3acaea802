package azuresim

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
)

func graphValue(t *testing.T, r result) []map[string]any {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	var out []map[string]any
	for _, v := range r.body["value"].([]any) {
		out = append(out, v.(map[string]any))
	}
	return out
}

func wantGraphError(t *testing.T, r result, status int, code string) {
	t.Helper()
	wantError(t, r, status, code)
	inner, _ := r.body["error"].(map[string]any)["innerError"].(map[string]any)
	if inner["request-id"] == "" || inner["date"] == "" {
		t.Fatalf("Graph error without innerError: %s", r.raw)
	}
}

func roleAssignmentsPath(principal string) string {
	return "/v1.0/roleManagement/directory/roleAssignments?$filter=" + url.QueryEscape("principalId eq '"+principal+"'")
}

func TestGraphRoleAssignments(t *testing.T) {
	s := startSim(t, Options{})
	tok := appToken(t, s, contosoTID, AudienceGraph) // SP holds Directory.Read.All
	got := graphValue(t, rawCall(t, s, tok, http.MethodGet, roleAssignmentsPath("20000000-0000-4000-8000-0000000000a1"), nil))
	if len(got) != 1 || got[0]["roleDefinitionId"] != RoleSecurityAdministrator || got[0]["principalId"] != "20000000-0000-4000-8000-0000000000a1" || got[0]["directoryScopeId"] != "/" {
		t.Fatalf("secadmin assignments = %v", got)
	}
	if got := graphValue(t, rawCall(t, s, tok, http.MethodGet, roleAssignmentsPath("20000000-0000-4000-8000-0000000000a2"), nil)); len(got) != 0 {
		t.Fatalf("analyst assignments = %v, want none", got)
	}
	if got := graphValue(t, rawCall(t, s, tok, http.MethodGet, "/v1.0/roleManagement/directory/roleAssignments", nil)); len(got) != 2 {
		t.Fatalf("all assignments = %v, want secadmin and the guest", got)
	}
	// The token's tenant decides: fabrikam's admin is not visible to contoso.
	if got := graphValue(t, rawCall(t, s, tok, http.MethodGet, roleAssignmentsPath("30000000-0000-4000-8000-0000000000a1"), nil)); len(got) != 0 {
		t.Fatalf("cross-tenant assignments = %v", got)
	}
	wantGraphError(t, rawCall(t, s, tok, http.MethodGet, "/v1.0/roleManagement/directory/roleAssignments?$filter="+url.QueryEscape("roleDefinitionId eq 'x'"), nil),
		http.StatusBadRequest, "BadRequest")
	// Fabrikam's service principal has no Graph permission.
	wantGraphError(t, rawCall(t, s, appToken(t, s, fabrikamTID, AudienceGraph), http.MethodGet, roleAssignmentsPath("x"), nil),
		graphDeniedStatus, graphDeniedCode)
	wantGraphError(t, rawCall(t, s, appToken(t, s, contosoTID, AudienceARM), http.MethodGet, roleAssignmentsPath("x"), nil),
		http.StatusUnauthorized, "InvalidAuthenticationToken")
}

func TestGraphMyDirectoryRoles(t *testing.T) {
	s := startSim(t, Options{})
	path := "/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=displayName,roleTemplateId"
	wantGraphError(t, rawCall(t, s, appToken(t, s, contosoTID, AudienceGraph), http.MethodGet, path, nil), graphMeAppOnlyStatus, graphMeAppOnlyCode)
	got := graphValue(t, rawCall(t, s, userToken(t, s, contosoTID, contosoAdmin, AudienceGraph), http.MethodGet, path, nil))
	want := fmt.Sprint([]map[string]any{{"@odata.type": "#microsoft.graph.directoryRole", "displayName": "Security Administrator", "roleTemplateId": RoleSecurityAdministrator}})
	if fmt.Sprint(got) != want {
		t.Fatalf("roles = %v, want %v", got, want)
	}
	got = graphValue(t, rawCall(t, s, userToken(t, s, fabrikamTID, fabrikamUser, AudienceGraph), http.MethodGet, path, nil))
	if len(got) != 1 || got[0]["roleTemplateId"] != RoleGlobalAdministrator {
		t.Fatalf("fabrikam admin roles = %v", got)
	}
	if got := graphValue(t, rawCall(t, s, userToken(t, s, contosoTID, analystUPN, AudienceGraph), http.MethodGet, path, nil)); len(got) != 0 {
		t.Fatalf("analyst roles = %v", got)
	}
}

func TestGraphMyDirectoryRolesNeedsMoreThanUserRead(t *testing.T) {
	w := loadTestWorld(t)
	w.Apps[0].DelegatedScopes[AudienceGraph] = []string{"User.Read"}
	s := startSim(t, Options{World: w})
	wantGraphError(t, rawCall(t, s, userToken(t, s, contosoTID, contosoAdmin, AudienceGraph), http.MethodGet,
		"/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole", nil), graphDeniedStatus, graphDeniedCode)
}

func TestGraphSubscribedSkusPerTenant(t *testing.T) {
	s := startSim(t, Options{})
	got := graphValue(t, rawCall(t, s, appToken(t, s, contosoTID, AudienceGraph), http.MethodGet, "/v1.0/subscribedSkus", nil))
	if len(got) != 1 || got[0]["skuPartNumber"] != "SPE_E5" || got[0]["skuId"] != "06e2b970-d779-4be0-9168-26d6e502024e" {
		t.Fatalf("contoso skus = %v", got)
	}
	plans := got[0]["servicePlans"].([]any)
	if len(plans) != 4 {
		t.Fatalf("contoso plans = %v", plans)
	}
	p0 := plans[0].(map[string]any)
	if p0["servicePlanName"] != "MTP" || p0["servicePlanId"] != "bf28f719-7844-4079-9c78-c1307898e192" || p0["provisioningStatus"] != "Success" {
		t.Fatalf("first plan = %v", p0)
	}
	// Fabrikam's SP has no Graph roles; its Global Administrator signs in.
	got = graphValue(t, rawCall(t, s, userToken(t, s, fabrikamTID, fabrikamUser, AudienceGraph), http.MethodGet, "/v1.0/subscribedSkus", nil))
	if len(got) != 1 || len(got[0]["servicePlans"].([]any)) != 1 || got[0]["prepaidUnits"].(map[string]any)["enabled"] != float64(25) {
		t.Fatalf("fabrikam skus = %v", got)
	}
	wantGraphError(t, rawCall(t, s, appToken(t, s, northTID, AudienceGraph), http.MethodGet, "/v1.0/subscribedSkus", nil), graphDeniedStatus, graphDeniedCode)
}

func TestGraphPagesLongLists(t *testing.T) {
	w := loadTestWorld(t)
	contoso := w.Tenants[1]
	for i := range graphPageSize + 20 {
		contoso.Licenses = append(contoso.Licenses, License{SkuID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), SkuPartNumber: fmt.Sprintf("SKU_%d", i)})
	}
	s := startSim(t, Options{World: w})
	tok := appToken(t, s, contosoTID, AudienceGraph)
	r := rawCall(t, s, tok, http.MethodGet, "/v1.0/subscribedSkus", nil)
	if n := len(graphValue(t, r)); n != graphPageSize {
		t.Fatalf("first page %d items", n)
	}
	next, _ := url.Parse(r.body["@odata.nextLink"].(string))
	r = rawCall(t, s, tok, http.MethodGet, next.RequestURI(), nil)
	if n := len(graphValue(t, r)); n != 21 || r.body["@odata.nextLink"] != nil {
		t.Fatalf("second page %d items, nextLink %v", n, r.body["@odata.nextLink"])
	}
}

func TestGraphMDISensors(t *testing.T) {
	w := loadTestWorld(t)
	w.Tenants[2].ServicePrincipals[0].AppRoles = map[string][]string{AudienceGraph: {"SecurityIdentitiesSensors.Read.All"}}
	s := startSim(t, Options{World: w})
	got := graphValue(t, rawCall(t, s, appToken(t, s, contosoTID, AudienceGraph), http.MethodGet, "/v1.0/security/identities/sensors", nil))
	if len(got) != 1 || got[0]["id"] != "dc01-sensor" || got[0]["healthStatus"] != "healthy" {
		t.Fatalf("contoso sensors = %v", got)
	}
	if got := graphValue(t, rawCall(t, s, appToken(t, s, fabrikamTID, AudienceGraph), http.MethodGet, "/v1.0/security/identities/sensors", nil)); len(got) != 0 {
		t.Fatalf("fabrikam (no MDI) sensors = %v", got)
	}
	// Directory.Read.All alone does not cover sensors.
	wantGraphError(t, rawCall(t, s, userToken(t, s, contosoTID, contosoAdmin, AudienceGraph), http.MethodGet, "/v1.0/security/identities/sensors", nil),
		graphDeniedStatus, graphDeniedCode)
}
