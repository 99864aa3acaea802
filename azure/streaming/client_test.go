package streaming_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azure/streaming"
	"github.com/xdrlink/xdrlink/azuresim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newClient(t *testing.T, env *simtest.Env, as simtest.Principal) (*streaming.Client, *simtest.Recorder) {
	t.Helper()
	return simtest.NewClient(t, env, outbound.APIDefenderStreaming, streaming.NewClient, as)
}

func TestClientUpsertListDelete(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	c, rec := newClient(t, env, simtest.User(simtest.ContosoTenant, simtest.ContosoAdmin))
	ctx := context.Background()

	sel := streaming.Select([]string{"DeviceProcessEvents", "IdentityLogonEvents", "EmailEvents"})
	want := streaming.NewSentinelSetting(simtest.Contoso, sel.Categories)
	got, err := c.Upsert(ctx, want)
	if err != nil {
		t.Fatal(err)
	}
	req := rec.Latest(t)
	const wantBody = `{"id":"SentinelExportSettings-ws-contoso","designatedTenantId":null,"eventHubProperties":null,"storageAccountProperties":null,` +
		`"workspaceProperties":{"workspaceResourceId":"/subscriptions/20000000-0000-4000-8000-0000000000c1/resourceGroups/rg-sentinel/providers/Microsoft.OperationalInsights/workspaces/ws-contoso",` +
		`"subscriptionId":"20000000-0000-4000-8000-0000000000c1","resourceGroup":"rg-sentinel","name":"ws-contoso"},` +
		`"logs":[{"category":"AdvancedHunting-DeviceProcessEvents","enabled":true},{"category":"IdentityLogonEvents","enabled":true}]}`
	if req.Method != http.MethodPost || req.URL != env.Sim.URL()+"/api/dataExportSettings" || string(req.RequestBody) != wantBody || !req.Bearer() || req.Accept != "application/json" {
		t.Fatalf("request = %s %s accept=%q bearer=%v\n%s\nwant body\n%s", req.Method, req.URL, req.Accept, req.Bearer(), req.RequestBody, wantBody)
	}
	if got.ID != want.ID || len(got.Logs) != 2 || got.WorkspaceProperties.Name != "ws-contoso" {
		t.Fatalf("stored = %+v", got)
	}
	if sel.PortalOnly[0] != "EmailEvents" {
		t.Fatalf("selection %+v", sel)
	}

	// A second write is a whole-object replace of the same entry.
	if _, err := c.Upsert(ctx, streaming.NewSentinelSetting(simtest.Contoso, []string{"CloudAppEvents"})); err != nil {
		t.Fatal(err)
	}
	list, err := c.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := rec.Latest(t); r.Method != http.MethodGet || r.URL != env.Sim.URL()+"/api/dataExportSettings" || len(r.RequestBody) != 0 {
		t.Fatalf("list request %+v", r)
	}
	entry, ok := streaming.Find(list, "sentinelexportsettings-WS-CONTOSO")
	if len(list) != 1 || !ok || len(entry.Logs) != 1 || entry.EnabledTables()[0] != "CloudAppEvents" {
		t.Fatalf("list = %+v", list)
	}

	if err := c.Delete(ctx, entry.ID); err != nil {
		t.Fatal(err)
	}
	if r := rec.Latest(t); r.Method != http.MethodDelete || r.URL != env.Sim.URL()+"/api/dataExportSettings/SentinelExportSettings-ws-contoso" {
		t.Fatalf("delete request %+v", r)
	}
	if list, err := c.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("after delete: %v %v", list, err)
	}
	simtest.WantKind(t, c.Delete(ctx, entry.ID), azerr.NotFound)
}

func TestClientAppOnlyTokenNeedsDelegatedSignIn(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	c, _ := newClient(t, env, simtest.App(simtest.ContosoTenant))
	_, err := c.Upsert(context.Background(), streaming.NewSentinelSetting(simtest.Contoso, []string{"AdvancedHunting-DeviceInfo"}))
	e := simtest.WantKind(t, err, azerr.MissingConsent)
	if e.StatusCode != http.StatusForbidden {
		t.Fatalf("status %d", e.StatusCode)
	}
	_, err = c.List(context.Background())
	simtest.WantKind(t, err, azerr.MissingConsent)
}

func TestClientDocumentedErrors(t *testing.T) {
	env := simtest.Start(t, simtest.Config{EditWorld: func(w *azuresim.World) {
		w.Tenants[3].Users = append(w.Tenants[3].Users, &azuresim.User{ID: "40000000-0000-4000-8000-0000000000a1",
			UserPrincipalName: "admin@northwind.onmicrosoft.com", DirectoryRoles: []string{azuresim.RoleGlobalAdministrator}})
	}})
	ctx := context.Background()
	admin, _ := newClient(t, env, simtest.User(simtest.ContosoTenant, simtest.ContosoAdmin))

	_, err := admin.Upsert(ctx, streaming.NewSentinelSetting(simtest.Contoso, []string{"AdvancedHunting-EmailEvents"}))
	if e := simtest.WantKind(t, err, azerr.InvalidRequest); e.Message != "Category 'AdvancedHunting-EmailEvents' is not supported." {
		t.Fatalf("message %q", e.Message)
	}
	_, err = admin.Upsert(ctx, streaming.NewSentinelSetting(simtest.Contoso, []string{"AdvancedHunting-IdentityLogonEvents"}))
	simtest.WantKind(t, err, azerr.InvalidRequest)

	_, err = admin.Upsert(ctx, streaming.NewSentinelSetting(simtest.Fabrikam, []string{"AdvancedHunting-DeviceInfo"}))
	if e := simtest.WantKind(t, err, azerr.InvalidRequest); !strings.Contains(e.Message, simtest.ContosoTenant) {
		t.Fatalf("message %q", e.Message)
	}

	for i := range streaming.MaxSettingsPerTenant {
		s := streaming.NewSentinelSetting(simtest.Contoso, []string{"AdvancedHunting-DeviceInfo"})
		s.ID = "entry-" + string(rune('a'+i))
		if _, err := admin.Upsert(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	_, err = admin.Upsert(ctx, streaming.NewSentinelSetting(simtest.Contoso, []string{"AdvancedHunting-DeviceInfo"}))
	simtest.WantKind(t, err, azerr.InvalidRequest)

	analyst, _ := newClient(t, env, simtest.User(simtest.ContosoTenant, simtest.ContosoAnalyst))
	_, err = analyst.List(ctx)
	if e := simtest.WantKind(t, err, azerr.Forbidden); e.MissingPermission != streaming.RequiredRole {
		t.Fatalf("missing permission %q", e.MissingPermission)
	}

	north, _ := newClient(t, env, simtest.User(simtest.NorthwindTenant, "admin@northwind.onmicrosoft.com"))
	_, err = north.List(ctx)
	simtest.WantKind(t, err, azerr.InvalidLicense)
}

func TestNewClientNeedsConfiguredService(t *testing.T) {
	if _, err := streaming.NewClient(cloud.Service{}, nil, nil); err == nil {
		t.Fatal("want an error for an unconfigured service")
	}
}
