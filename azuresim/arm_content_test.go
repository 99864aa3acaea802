package azuresim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

func TestContentProductPackagesFilterAndGet(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	list := siPath(contosoSub, contosoRG, contosoWS, "contentProductPackages")
	all := do(t, c, http.MethodGet, list, stableAPI, nil)
	wantStatus(t, all, http.StatusOK)
	if n := len(all.body["value"].([]any)); n != len(ContentCatalog) {
		t.Fatalf("catalog = %d", n)
	}
	filtered := do(t, c, http.MethodGet, list+"?$filter="+url.QueryEscape("properties/contentId eq '"+DefenderXDRContentID+"'"), stableAPI, nil)
	wantStatus(t, filtered, http.StatusOK)
	v := filtered.body["value"].([]any)
	if len(v) != 1 {
		t.Fatalf("filtered = %d", len(v))
	}
	pkg := v[0].(map[string]any)
	if _, has := pkg["properties"].(map[string]any)["packagedContent"]; has {
		t.Fatal("list must not expand packagedContent by default")
	}
	wantError(t, do(t, c, http.MethodGet, list+"?$filter="+url.QueryEscape("startswith(properties/displayName,'M')"), stableAPI, nil), http.StatusBadRequest, "BadRequest")

	got := do(t, c, http.MethodGet, list+"/"+pkg["name"].(string), stableAPI, nil)
	wantStatus(t, got, http.StatusOK)
	props := got.body["properties"].(map[string]any)
	tpl, ok := props["packagedContent"].(map[string]any)
	if !ok || tpl["resources"] == nil || props["version"] != "3.0.11" || props["installedVersion"] != nil {
		t.Fatalf("package = %v", props)
	}
}

// The Content Hub recipe: GET packagedContent, deploy it as an ARM
// deployment (an LRO driven by azcore's poller), see the solution installed.
func TestSolutionDeploymentLROInstallsPackage(t *testing.T) {
	s := startSim(t, Options{DeploymentPolls: 2})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	got := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "contentProductPackages/"+defenderXDRPackageID), stableAPI, nil)
	tpl := got.body["properties"].(map[string]any)["packagedContent"]

	depPath := "/subscriptions/" + contosoSub + "/resourcegroups/" + contosoRG + "/providers/Microsoft.Resources/deployments/xdr-solution"
	req, err := runtime.NewRequest(context.Background(), http.MethodPut, runtime.JoinPaths(c.Endpoint(), depPath))
	if err != nil {
		t.Fatal(err)
	}
	req.Raw().URL.RawQuery = "api-version=2021-04-01"
	body := map[string]any{"properties": map[string]any{"mode": "Incremental", "template": tpl,
		"parameters": map[string]any{"workspace": map[string]any{"value": contosoWS}, "workspace-location": map[string]any{"value": "westeurope"}}}}
	if err := runtime.MarshalAsJSON(req, body); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Pipeline().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Azure-AsyncOperation") == "" {
		t.Fatalf("PUT = %d, Azure-AsyncOperation %q", resp.StatusCode, resp.Header.Get("Azure-AsyncOperation"))
	}
	if v := mustWS(t, s, contosoSub, contosoRG, contosoWS).InstalledPackageVersion(DefenderXDRContentID); v != "" {
		t.Fatalf("installed before the deployment finished: %q", v)
	}
	type depResult struct {
		Properties struct {
			ProvisioningState string `json:"provisioningState"`
		} `json:"properties"`
	}
	poller, err := runtime.NewPoller[depResult](resp, c.Pipeline(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// First poll: still running.
	if _, err := poller.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if poller.Done() {
		t.Fatal("deployment finished on the first poll")
	}
	res, err := poller.PollUntilDone(context.Background(), &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("final state = %q", res.Properties.ProvisioningState)
	}
	if v := mustWS(t, s, contosoSub, contosoRG, contosoWS).InstalledPackageVersion(DefenderXDRContentID); v != "3.0.11" {
		t.Fatalf("installed version = %q", v)
	}
	after := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "contentProductPackages/"+defenderXDRPackageID), stableAPI, nil)
	if after.body["properties"].(map[string]any)["installedVersion"] != "3.0.11" {
		t.Fatalf("catalog installedVersion = %v", after.body["properties"].(map[string]any)["installedVersion"])
	}
}

func TestDeploymentValidationAndFailure(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	tpl := defenderProduct(t).template()
	dep := func(name string, params map[string]any) result {
		return do(t, c, http.MethodPut, "/subscriptions/"+contosoSub+"/resourceGroups/"+contosoRG+"/providers/Microsoft.Resources/deployments/"+name,
			"2021-04-01", map[string]any{"properties": map[string]any{"mode": "Incremental", "template": tpl, "parameters": params}})
	}
	wantError(t, dep("no-params", map[string]any{}), http.StatusBadRequest, "InvalidTemplate")
	// a workspace that does not exist: accepted, then the LRO fails
	r := dep("ghost", map[string]any{"workspace": map[string]any{"value": "ghost-ws"}})
	wantStatus(t, r, http.StatusCreated)
	status := r.header.Get("Azure-AsyncOperation")
	var last result
	for i := 0; i < 3; i++ {
		u, _ := url.Parse(status)
		last = do(t, c, http.MethodGet, u.Path+"?"+u.RawQuery, "", nil)
	}
	if last.body["status"] != "Failed" {
		t.Fatalf("status = %v", last.body)
	}
	// unknown resource group (as a subscription Contributor; the app's role is RG-scoped)
	adminTok, _ := s.IssueUserToken(contosoTID, contosoAdmin, appID, AudienceARM+"/.default")
	wantError(t, do(t, armClient(t, s, staticCred{adminTok}, 0), http.MethodPut, "/subscriptions/"+contosoSub+"/resourceGroups/nope/providers/Microsoft.Resources/deployments/x", "2021-04-01",
		map[string]any{"properties": map[string]any{"mode": "Incremental", "template": tpl}}), http.StatusNotFound, "ResourceGroupNotFound")
}

func defenderProduct(t *testing.T) ContentProduct {
	p, ok := catalogByContentID(DefenderXDRContentID)
	if !ok {
		t.Fatal("catalog lacks Defender XDR")
	}
	return p
}

func TestContentPackagePutInstalls(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	p := siPath(contosoSub, contosoRG, contosoWS, "contentPackages/"+defenderXDRPackageID)
	body := map[string]any{"properties": map[string]any{"contentId": DefenderXDRContentID, "contentKind": "Solution", "version": "3.0.10", "displayName": "Microsoft Defender XDR"}}
	r := do(t, c, http.MethodPut, p, stableAPI, body)
	wantStatus(t, r, http.StatusCreated)
	if r.body["properties"].(map[string]any)["installedVersion"] != "3.0.10" {
		t.Fatalf("= %v", r.body)
	}
	body["properties"].(map[string]any)["version"] = "3.0.11"
	wantStatus(t, do(t, c, http.MethodPut, p, stableAPI, body), http.StatusOK)
	if v := mustWS(t, s, contosoSub, contosoRG, contosoWS).InstalledPackageVersion(DefenderXDRContentID); v != "3.0.11" {
		t.Fatalf("version = %q", v)
	}
}

// Template evaluation is bounded: variables that each reference the previous
// one several times grow exponentially ("billion laughs"; here 8 bytes times
// 6^8), and deeply nested calls recurse without limit. Both must be refused
// as invalid templates, not evaluated.
func TestDeploymentTemplateEvaluationIsBounded(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	deploy := func(name string, vars map[string]any, value string) result {
		tpl := map[string]any{"variables": vars, "resources": []any{map[string]any{
			"type": "Microsoft.Web/sites", "name": "site", "properties": map[string]any{"value": value}}}}
		return do(t, c, http.MethodPut, "/subscriptions/"+contosoSub+"/resourceGroups/"+contosoRG+"/providers/Microsoft.Resources/deployments/"+name,
			"2021-04-01", map[string]any{"properties": map[string]any{"mode": "Incremental", "template": tpl}})
	}
	vars := map[string]any{"v0": "xxxxxxxx"}
	for i := 1; i <= 8; i++ {
		ref := fmt.Sprintf("variables('v%d')", i-1)
		vars[fmt.Sprintf("v%d", i)] = "[concat(" + strings.Repeat(ref+",", 5) + ref + ")]"
	}
	r := deploy("laughs", vars, "[variables('v8')]")
	wantError(t, r, http.StatusBadRequest, "InvalidTemplate")
	if !strings.Contains(r.errMessage(), "too large") {
		t.Fatalf("message = %s", r.errMessage())
	}
	wantStatus(t, deploy("laughs-small", vars, "[variables('v2')]"), http.StatusCreated)

	nested := "[" + strings.Repeat("concat(", 100) + "'a'" + strings.Repeat(")", 100) + "]"
	wantError(t, deploy("nested", nil, nested), http.StatusBadRequest, "InvalidTemplate")
	shallow := "[" + strings.Repeat("concat(", 10) + "'a'" + strings.Repeat(")", 10) + "]"
	wantStatus(t, deploy("shallow", nil, shallow), http.StatusCreated)
}
