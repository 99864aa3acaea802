package sentinel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/sentinel"
)

func TestIncidentCreationRules(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c := newClient(t, env, simtest.ContosoTenant, simtest.Contoso)

	rules, err := c.ListAlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if list := env.Recorder.Last(t, http.MethodGet, "/alertRules"); list.APIVersion() != stable {
		t.Fatal(list.APIVersion())
	}
	var xdr []sentinel.AlertRule
	products := map[string]bool{}
	for _, r := range rules {
		if sentinel.IsXDRIncidentCreationRule(r) {
			xdr = append(xdr, r)
			p, _ := sentinel.IncidentCreation(r)
			products[p.ProductFilter] = true
		}
	}
	for _, p := range sentinel.XDRProducts {
		if !products[p] {
			t.Errorf("no seeded incident-creation rule for %s", p)
		}
	}
	if len(xdr) == 0 {
		t.Fatal("no XDR incident creation rules seeded")
	}
	target := xdr[0]

	// Give the rule a property this code does not model; it must survive the toggle.
	var props map[string]any
	if err := json.Unmarshal(target.Properties, &props); err != nil {
		t.Fatal(err)
	}
	props["xdrlinkUnknownField"] = map[string]any{"keep": []any{1.0, "two"}}
	target.Properties, _ = json.Marshal(props)
	seeded, created, err := c.PutAlertRule(ctx, target)
	if err != nil || created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	env.Recorder.Reset()

	updated, changed, err := c.SetAlertRuleEnabled(ctx, target.Name, false)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	put := env.Recorder.Last(t, http.MethodPut, "/alertRules/"+target.Name)
	if put.APIVersion() != stable {
		t.Fatal(put.APIVersion())
	}
	var sent struct {
		Kind       string                     `json:"kind"`
		Etag       string                     `json:"etag"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(put.RequestBody, &sent); err != nil {
		t.Fatal(err)
	}
	if sent.Kind != sentinel.KindIncidentCreation || sent.Etag != seeded.Etag {
		t.Fatalf("kind %q etag %q (read %q)", sent.Kind, sent.Etag, seeded.Etag)
	}
	var read map[string]json.RawMessage
	_ = json.Unmarshal(seeded.Properties, &read)
	for k, v := range read {
		if k == "enabled" {
			continue
		}
		if string(sent.Properties[k]) != string(v) {
			t.Errorf("property %s changed: sent %s, read %s", k, sent.Properties[k], v)
		}
	}
	if string(sent.Properties["enabled"]) != "false" || len(sent.Properties) != len(read) {
		t.Fatalf("sent properties %v", sent.Properties)
	}
	if p, _ := sentinel.IncidentCreation(*updated); p.Enabled {
		t.Fatal("rule still enabled")
	}
	// The emulator stored the unknown property too.
	stored, err := c.GetAlertRule(ctx, target.Name)
	if err != nil || !strings.Contains(string(stored.Properties), "xdrlinkUnknownField") {
		t.Fatalf("%s %v", stored.Properties, err)
	}

	// Idempotent: no second PUT.
	env.Recorder.Reset()
	if _, changed, err := c.SetAlertRuleEnabled(ctx, target.Name, false); err != nil || changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	if n := len(env.Recorder.Find(http.MethodPut, "/alertRules/")); n != 0 {
		t.Fatalf("%d PUTs for an unchanged rule", n)
	}

	// The etag read before the toggle is stale.
	_, _, err = c.PutAlertRule(ctx, *seeded)
	simtest.WantKind(t, err, azerr.EtagConflict)

	_, err = c.GetAlertRule(ctx, "no-such-rule")
	simtest.WantKind(t, err, azerr.NotFound)
}

// TestAlertRulesPaging: more rules than one ARM page (the sim pages at 50) are all listed
// through nextLink.
func TestAlertRulesPaging(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c := newClient(t, env, simtest.ContosoTenant, simtest.Contoso)
	before, err := c.ListAlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 60; i++ {
		r := sentinel.AlertRule{Name: fmt.Sprintf("rule-%02d", i), Kind: "Scheduled", Properties: json.RawMessage(`{"displayName":"r","enabled":false}`)}
		if _, created, err := c.PutAlertRule(ctx, r); err != nil || !created {
			t.Fatalf("created=%v err=%v", created, err)
		}
	}
	env.Recorder.Reset()
	all, err := c.ListAlertRules(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(before)+60 {
		t.Fatalf("listed %d, want %d", len(all), len(before)+60)
	}
	pages := env.Recorder.Find(http.MethodGet, "/alertRules")
	if len(pages) < 2 || !strings.Contains(pages[1].Query, "skipToken") {
		t.Fatalf("%d list requests; nextLink not followed", len(pages))
	}
	names := map[string]bool{}
	for _, r := range all {
		if names[r.Name] {
			t.Fatalf("duplicate %s across pages", r.Name)
		}
		names[r.Name] = true
	}
}

func TestEntityAnalyticsAndUeba(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c := newClient(t, env, simtest.ContosoTenant, simtest.Contoso)

	_, err := c.GetSetting(ctx, sentinel.SettingEntityAnalytics)
	simtest.WantKind(t, err, azerr.NotFound)

	s, changed, err := c.EnsureEntityProviders(ctx, sentinel.EntityProviderAzureActiveDirectory, sentinel.EntityProviderActiveDirectory)
	if err != nil || !changed || s.Etag == "" {
		t.Fatalf("changed=%v %+v %v", changed, s, err)
	}
	put := env.Recorder.Last(t, http.MethodPut, "/settings/EntityAnalytics")
	simtest.JSONEqual(t, put.RequestBody, `{"kind":"EntityAnalytics","properties":{"entityProviders":["AzureActiveDirectory","ActiveDirectory"]}}`)
	if put.APIVersion() != preview {
		t.Fatal(put.APIVersion())
	}

	env.Recorder.Reset()
	if _, changed, err := c.EnsureEntityProviders(ctx, sentinel.EntityProviderActiveDirectory); err != nil || changed {
		t.Fatalf("subset: changed=%v err=%v", changed, err)
	}
	if len(env.Recorder.Find(http.MethodPut, "/settings/")) != 0 {
		t.Fatal("PUT for an unchanged setting")
	}

	u, changed, err := c.EnsureUebaDataSources(ctx, sentinel.UebaSigninLogs, sentinel.UebaAuditLogs)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	u2, changed, err := c.EnsureUebaDataSources(ctx, sentinel.UebaAzureActivity)
	if err != nil || !changed {
		t.Fatalf("changed=%v err=%v", changed, err)
	}
	put = env.Recorder.Last(t, http.MethodPut, "/settings/Ueba")
	simtest.JSONEqual(t, put.RequestBody, `{"kind":"Ueba","etag":`+mustJSON(u.Etag)+`,"properties":{"dataSources":["SigninLogs","AuditLogs","AzureActivity"]}}`)

	// Stale etag.
	_, _, err = c.PutSetting(ctx, *u)
	simtest.WantKind(t, err, azerr.EtagConflict)

	all, err := c.ListSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range all {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"EntityAnalytics", "Ueba"}) || u2.Etag == u.Etag {
		t.Fatalf("%v", names)
	}
}

// TestEntityAnalyticsWithoutMDI: ActiveDirectory needs a Defender for Identity sensor
// (docs/azure.md §5); Fabrikam has none.
func TestEntityAnalyticsWithoutMDI(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	c := newClient(t, env, simtest.FabrikamTenant, simtest.Fabrikam)
	_, _, err := c.EnsureEntityProviders(context.Background(), sentinel.EntityProviderActiveDirectory)
	e := simtest.WantKind(t, err, azerr.InvalidRequest)
	if !strings.Contains(e.Message, "Defender for Identity") {
		t.Fatal(e.Message)
	}
}

func TestContentPackages(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c := newClient(t, env, simtest.ContosoTenant, simtest.Contoso)

	all, err := c.ListContentProductPackages(ctx, "")
	if err != nil || len(all) < 2 {
		t.Fatalf("%d %v", len(all), err)
	}
	const entraID = "azuresentinel.azure-sentinel-solution-azureactivedirectory"
	pkg, err := c.FindProductPackage(ctx, entraID)
	if err != nil || pkg == nil || pkg.Installed() {
		t.Fatalf("%+v %v", pkg, err)
	}
	list := env.Recorder.Last(t, http.MethodGet, "/contentProductPackages")
	if !strings.Contains(list.Query, "%24filter=properties%2FcontentId%20eq%20%27"+entraID+"%27") || list.APIVersion() != stable {
		t.Fatalf("query %s", list.Query)
	}
	if none, err := c.FindProductPackage(ctx, "no.such.solution"); err != nil || none != nil {
		t.Fatalf("%+v %v", none, err)
	}
	full, err := c.GetContentProductPackage(ctx, pkg.Name)
	if err != nil || len(full.Properties.PackagedContent) == 0 {
		t.Fatalf("%v", err)
	}

	_, err = c.GetContentPackage(ctx, entraID)
	simtest.WantKind(t, err, azerr.NotFound)
	props := sentinel.ContentPackageProperties{ContentID: entraID, ContentProductID: pkg.Properties.ContentProductID,
		ContentKind: "Solution", Version: pkg.Properties.Version, DisplayName: pkg.Properties.DisplayName}
	installed, created, err := c.PutContentPackage(ctx, entraID, props)
	if err != nil || !created || installed.Properties.InstalledVersion != pkg.Properties.Version {
		t.Fatalf("created=%v %+v %v", created, installed, err)
	}
	put := env.Recorder.Last(t, http.MethodPut, "/contentPackages/")
	simtest.JSONEqual(t, put.RequestBody, `{"properties":{"contentId":"`+entraID+`","contentProductId":"`+pkg.Properties.ContentProductID+
		`","contentKind":"Solution","version":"`+pkg.Properties.Version+`","displayName":"`+pkg.Properties.DisplayName+`"}}`)
	if _, created, err := c.PutContentPackage(ctx, entraID, props); err != nil || created {
		t.Fatalf("reinstall created=%v err=%v", created, err)
	}
	got, err := c.GetContentPackage(ctx, entraID)
	if err != nil || got.Properties.InstalledVersion != pkg.Properties.Version {
		t.Fatalf("%+v %v", got, err)
	}
	after, err := c.FindProductPackage(ctx, entraID)
	if err != nil || !after.Installed() {
		t.Fatalf("%+v %v", after, err)
	}
}
