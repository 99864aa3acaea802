package azuresim

import (
	"net/http"
	"testing"
	"time"
)

// Checks against the shapes of the service's official REST examples.

const exampleETag = `"0300bf09-0000-0000-0000-5c37296e0000"`

// The official Create examples send an etag in the body of a create and
// document 201; an update with a stale etag is still refused.
func TestCreateWithBodyETagSucceeds(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	cases := []struct {
		path, api string
		body      map[string]any
	}{
		{siPath(contosoSub, contosoRG, contosoWS, "dataConnectors/73e01a99-5cd7-4139-a149-9f2736ff2ab5"), stableAPI,
			map[string]any{"kind": "Office365", "properties": map[string]any{"tenantId": contosoTID,
				"dataTypes": map[string]any{"exchange": map[string]any{"state": "Enabled"}}}}},
		{siPath(contosoSub, contosoRG, contosoWS, "dataConnectors/m365d"), previewAPI, mtpBody(contosoTID, "")},
		{siPath(contosoSub, contosoRG, contosoWS, "alertRules/microsoftSecurityIncidentCreationRuleExample"), stableAPI,
			map[string]any{"kind": kindIncidentCreation, "properties": map[string]any{
				"productFilter": "Microsoft Cloud App Security", "displayName": "testing displayname", "enabled": true}}},
		{siPath(contosoSub, contosoRG, contosoWS, "settings/EntityAnalytics"), previewAPI,
			map[string]any{"kind": "EntityAnalytics", "properties": map[string]any{"entityProviders": []any{"AzureActiveDirectory"}}}},
	}
	for _, tc := range cases {
		tc.body["etag"] = exampleETag
		r := do(t, c, http.MethodPut, tc.path, tc.api, tc.body)
		wantStatus(t, r, http.StatusCreated)
		if e, _ := r.body["etag"].(string); e == "" || e == exampleETag {
			t.Fatalf("%s: etag = %q, want a fresh one", tc.path, e)
		}
		// now it exists: the example's etag is stale
		wantError(t, do(t, c, http.MethodPut, tc.path, tc.api, tc.body), etagMismatchStatus, etagMismatchCode)
	}
}

func TestDataConnectorUnknownKindRefused(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	p := siPath(contosoSub, contosoRG, contosoWS, "dataConnectors/x")
	body := func(kind string) map[string]any {
		return map[string]any{"kind": kind, "properties": map[string]any{"tenantId": contosoTID}}
	}
	wantError(t, do(t, c, http.MethodPut, p, stableAPI, body("NoSuchKind")), http.StatusBadRequest, "BadRequest")
	wantError(t, do(t, c, http.MethodPut, p, previewAPI, body("NoSuchKind")), http.StatusBadRequest, "BadRequest")
	// preview-only kinds are unknown to stable api-versions
	wantError(t, do(t, c, http.MethodPut, p, stableAPI, body("GenericUI")), http.StatusBadRequest, "BadRequest")
	// the enum is case-insensitive and answered in its canonical spelling
	r := do(t, c, http.MethodPut, p, stableAPI, body("azureactivedirectory"))
	wantStatus(t, r, http.StatusCreated)
	if r.body["kind"] != "AzureActiveDirectory" {
		t.Fatalf("kind = %v", r.body["kind"])
	}
}

func systemDataOf(t *testing.T, r result) map[string]any {
	t.Helper()
	sd, _ := r.body["systemData"].(map[string]any)
	for _, k := range []string{"createdBy", "createdByType", "createdAt", "lastModifiedBy", "lastModifiedByType", "lastModifiedAt"} {
		if v, _ := sd[k].(string); v == "" {
			t.Fatalf("systemData.%s missing: %s", k, r.raw)
		}
	}
	return sd
}

func TestSystemDataNamesCreatorAndLastWriter(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	p := siPath(contosoSub, contosoRG, contosoWS, "alertRules/r1")
	rule := map[string]any{"kind": kindIncidentCreation, "properties": map[string]any{
		"productFilter": "Microsoft Cloud App Security", "displayName": "r1", "enabled": true}}
	created := do(t, c, http.MethodPut, p, stableAPI, rule)
	wantStatus(t, created, http.StatusCreated)
	sd := systemDataOf(t, created)
	if sd["createdBy"] != appID || sd["createdByType"] != "Application" {
		t.Fatalf("created systemData = %v", sd)
	}
	s.AdvanceClock(time.Minute)
	user := userToken(t, s, contosoTID, contosoAdmin, AudienceARM)
	upd := rawCall(t, s, user, http.MethodPut, p+"?api-version="+stableAPI, rule)
	wantStatus(t, upd, http.StatusOK)
	sd2 := systemDataOf(t, upd)
	if sd2["createdBy"] != appID || sd2["createdAt"] != sd["createdAt"] ||
		sd2["lastModifiedBy"] != contosoAdmin || sd2["lastModifiedByType"] != "User" || sd2["lastModifiedAt"] == sd["lastModifiedAt"] {
		t.Fatalf("updated systemData = %v (was %v)", sd2, sd)
	}
	// seeded and catalog resources carry it too
	for _, path := range []string{"alertRules", "settings", "onboardingStates", "contentProductPackages"} {
		api := stableAPI
		if path == "settings" {
			api = previewAPI
		}
		r := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, path), api, nil)
		wantStatus(t, r, http.StatusOK)
		for _, v := range r.body["value"].([]any) {
			systemDataOf(t, result{body: v.(map[string]any), raw: r.raw})
		}
	}
}

func TestIncidentCreationRuleExampleShape(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	p := siPath(contosoSub, contosoRG, contosoWS, "alertRules/ex")
	r := do(t, c, http.MethodPut, p, stableAPI, map[string]any{"kind": kindIncidentCreation, "properties": map[string]any{
		"productFilter": "Microsoft Cloud App Security", "displayName": "testing displayname", "enabled": true}})
	wantStatus(t, r, http.StatusCreated)
	props := r.body["properties"].(map[string]any)
	for _, k := range []string{"severitiesFilter", "displayNamesFilter", "displayNamesExcludeFilter", "description", "alertRuleTemplateName", "lastModifiedUtc"} {
		if _, ok := props[k]; !ok {
			t.Fatalf("properties.%s missing: %s", k, r.raw)
		}
	}
	if props["severitiesFilter"] != nil || props["lastModifiedUtc"] == nil {
		t.Fatalf("properties = %v", props)
	}
}

func TestContentPackageExampleFields(t *testing.T) {
	s := startSim(t, Options{})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	fields := []string{"contentId", "contentProductId", "contentKind", "contentSchemaVersion", "version", "displayName",
		"source", "author", "support", "dependencies", "providers", "categories", "firstPublishDate", "lastPublishDate",
		"isNew", "isPreview", "isFeatured", "isDeprecated", "publisherDisplayName", "description", "icon"}
	want := func(r result, extra ...string) {
		t.Helper()
		props := r.body["properties"].(map[string]any)
		for _, k := range append(fields, extra...) {
			if _, ok := props[k]; !ok {
				t.Fatalf("properties.%s missing: %s", k, r.raw)
			}
		}
		if r.body["etag"] == nil {
			t.Fatalf("etag missing: %s", r.raw)
		}
		systemDataOf(t, r)
	}
	prod := do(t, c, http.MethodGet, siPath(contosoSub, contosoRG, contosoWS, "contentProductPackages/"+defenderXDRPackageID), stableAPI, nil)
	wantStatus(t, prod, http.StatusOK)
	want(prod, "packagedContent")
	props := prod.body["properties"].(map[string]any)
	inst := do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "contentPackages/"+defenderXDRPackageID), stableAPI,
		map[string]any{"properties": map[string]any{"contentId": props["contentId"], "contentProductId": props["contentProductId"],
			"contentKind": "Solution", "version": props["version"], "displayName": props["displayName"]}})
	wantStatus(t, inst, http.StatusCreated)
	want(inst, "installedVersion")
}
