package sentinel_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azuresim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	stable  = armclient.SecurityInsightsStable
	preview = armclient.SecurityInsightsPreview
)

// newClient is a client for ws as the MSSP app of tenant.
func newClient(t *testing.T, env *simtest.Env, tenant string, ws armclient.Workspace) *sentinel.Client {
	t.Helper()
	return newClientAs(t, env, simtest.App(tenant), ws)
}

// newClientAs is a client for ws that signs in as.
func newClientAs(t *testing.T, env *simtest.Env, as simtest.Principal, ws armclient.Workspace) *sentinel.Client {
	t.Helper()
	c, err := sentinel.New(env.ARMAs(t, as, ws.SubscriptionID), ws)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOnboardingState(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c := newClient(t, env, simtest.ContosoTenant, simtest.Contoso)

	_, err := c.GetOnboardingState(ctx)
	simtest.WantKind(t, err, azerr.NotFound)

	st, created, err := c.PutOnboardingState(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if !created || st.Name != "default" || st.Type != "Microsoft.SecurityInsights/onboardingStates" {
		t.Fatalf("created=%v %+v", created, st)
	}
	put := env.Recorder.Last(t, http.MethodPut, "/providers/Microsoft.SecurityInsights/onboardingStates/default")
	simtest.JSONEqual(t, put.RequestBody, `{"properties":{"customerManagedKey":false}}`)
	if put.APIVersion() != stable {
		t.Fatalf("api-version %s", put.APIVersion())
	}

	_, created, err = c.PutOnboardingState(ctx, false)
	if err != nil || created {
		t.Fatalf("second put: created=%v err=%v", created, err)
	}
	got, err := c.GetOnboardingState(ctx)
	if err != nil || got.Name != "default" || got.Properties.CustomerManagedKey {
		t.Fatalf("%+v %v", got, err)
	}
}

// TestOnboardingRegistersProviders: Fabrikam's subscription has no providers registered;
// azcore's RP-registration policy (kept on by outbound) registers SecurityInsights.
func TestOnboardingRegistersProviders(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	c := newClient(t, env, simtest.FabrikamTenant, simtest.Fabrikam)
	if _, created, err := c.PutOnboardingState(context.Background(), false); err != nil || created {
		t.Fatalf("created=%v err=%v (Fabrikam is already onboarded)", created, err)
	}
	if len(env.Recorder.Find(http.MethodPost, "/providers/Microsoft.SecurityInsights/register")) != 1 {
		t.Fatal("Microsoft.SecurityInsights was not registered")
	}
	if st := env.Sim.ProviderRegistrationState(simtest.FabrikamSub, "Microsoft.SecurityInsights"); st != "Registered" {
		t.Fatalf("registration state %s", st)
	}
}

func mtpProps(tenant string) sentinel.MTPProperties {
	return sentinel.MTPProperties{
		TenantID: tenant,
		DataTypes: sentinel.MTPDataTypes{
			Incidents: sentinel.DataTypeState{State: sentinel.StateEnabled},
			Alerts:    &sentinel.DataTypeState{State: sentinel.StateEnabled},
		},
		FilteredProviders: &sentinel.MTPFilteredProviders{Alerts: []string{sentinel.ProviderDefenderForCloudApps}},
	}
}

func TestMTPDataConnectorLifecycle(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c := newClient(t, env, simtest.ContosoTenant, simtest.Contoso)

	req, err := c.CheckMTPRequirements(ctx, simtest.ContosoTenant)
	if err != nil {
		t.Fatal(err)
	}
	if !req.Satisfied() {
		t.Fatalf("%+v", req)
	}
	chk := env.Recorder.Last(t, http.MethodPost, "/dataConnectorsCheckRequirements")
	simtest.JSONEqual(t, chk.RequestBody, `{"kind":"MicrosoftThreatProtection","properties":{"tenantId":"`+simtest.ContosoTenant+`"}}`)
	if chk.APIVersion() != preview {
		t.Fatal(chk.APIVersion())
	}

	if found, err := c.FindMTPDataConnector(ctx); err != nil || found != nil {
		t.Fatalf("%+v %v", found, err)
	}
	const name = "6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c11"
	dc, created, err := c.PutMTPDataConnector(ctx, name, "", mtpProps(simtest.ContosoTenant))
	if err != nil {
		t.Fatal(err)
	}
	if !created || dc.Name != name || dc.Etag == "" || dc.Kind != sentinel.KindMicrosoftThreatProtection {
		t.Fatalf("created=%v %+v", created, dc)
	}
	put := env.Recorder.Last(t, http.MethodPut, "/dataConnectors/"+name)
	// docs/azure.md §2.3 shape; no etag when creating.
	simtest.JSONEqual(t, put.RequestBody, `{"kind":"MicrosoftThreatProtection","properties":{"tenantId":"`+simtest.ContosoTenant+
		`","dataTypes":{"incidents":{"state":"Enabled"},"alerts":{"state":"Enabled"}},"filteredProviders":{"alerts":["microsoftDefenderForCloudApps"]}}}`)
	if put.APIVersion() != preview {
		t.Fatal(put.APIVersion())
	}
	if ok, types := mustWorkspace(t, env, simtest.Contoso).ConnectedMTP(); !ok || !types["incidents"] || !types["alerts"] {
		t.Fatalf("sim state: connected=%v %v", ok, types)
	}

	found, err := c.FindMTPDataConnector(ctx)
	if err != nil || found == nil || found.Name != name || found.Etag != dc.Etag || found.Properties.TenantID != simtest.ContosoTenant {
		t.Fatalf("%+v %v", found, err)
	}
	if list := env.Recorder.Last(t, http.MethodGet, "/providers/Microsoft.SecurityInsights/dataConnectors"); list.APIVersion() != preview {
		t.Fatalf("list at %s: the stable version omits MTP", list.APIVersion())
	}

	// Update with the etag read: 200, a new etag.
	props := mtpProps(simtest.ContosoTenant)
	props.DataTypes.Alerts = &sentinel.DataTypeState{State: sentinel.StateDisabled}
	props.FilteredProviders = nil
	updated, created, err := c.PutMTPDataConnector(ctx, found.Name, found.Etag, props)
	if err != nil || created || updated.Etag == found.Etag {
		t.Fatalf("update created=%v %+v %v", created, updated, err)
	}
	upd := env.Recorder.Last(t, http.MethodPut, "/dataConnectors/"+name)
	simtest.JSONEqual(t, upd.RequestBody, `{"kind":"MicrosoftThreatProtection","etag":`+mustJSON(found.Etag)+`,"properties":{"tenantId":"`+simtest.ContosoTenant+
		`","dataTypes":{"incidents":{"state":"Enabled"},"alerts":{"state":"Disabled"}}}}`)

	// The etag read before the update is stale now.
	_, _, err = c.PutMTPDataConnector(ctx, found.Name, found.Etag, props)
	simtest.WantKind(t, err, azerr.EtagConflict)

	// A second MTP connector is refused.
	_, _, err = c.PutMTPDataConnector(ctx, "another", "", props)
	simtest.WantKind(t, err, azerr.Conflict)

	got, err := c.GetDataConnector(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	mtp, err := sentinel.DecodeMTP(*got)
	if err != nil || mtp.Properties.DataTypes.Alerts.State != sentinel.StateDisabled {
		t.Fatalf("%+v %v", mtp, err)
	}

	existed, err := c.DeleteDataConnector(ctx, name)
	if err != nil || !existed {
		t.Fatalf("delete existed=%v err=%v", existed, err)
	}
	existed, err = c.DeleteDataConnector(ctx, name)
	if err != nil || existed {
		t.Fatalf("second delete existed=%v err=%v", existed, err)
	}
	_, err = c.GetDataConnector(ctx, name)
	simtest.WantKind(t, err, azerr.NotFound)
}

// TestMTPUpdateKeepsUnknownProperties: an update built from the connector as found sends
// back what this code does not model, a data type included (dropping it would turn it off).
func TestMTPUpdateKeepsUnknownProperties(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c := newClient(t, env, simtest.ContosoTenant, simtest.Contoso)
	const name = "6b0ac3e2-4d84-4ee5-a2a6-1f8a3b8a0c11"
	// Written as another tool (or a newer api-version) would: members xdrlink does not know.
	if _, err := env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub).Do(ctx, armclient.Request{
		Method: http.MethodPut, Path: simtest.Contoso.Path() + "/providers/Microsoft.SecurityInsights/dataConnectors/" + name,
		APIVersion: preview, OK: []int{http.StatusCreated},
		Body: json.RawMessage(`{"kind":"MicrosoftThreatProtection","properties":{"tenantId":"` + simtest.ContosoTenant + `",` +
			`"dataTypes":{"incidents":{"state":"Enabled"},"alerts":{"state":"Enabled"},"futureType":{"state":"Enabled"}},` +
			`"xdrlinkUnknownField":{"keep":[1,"two"]}}}`),
	}); err != nil {
		t.Fatal(err)
	}
	found, err := c.FindMTPDataConnector(ctx)
	if err != nil || found == nil {
		t.Fatalf("%+v %v", found, err)
	}
	props := found.Properties
	props.DataTypes.Alerts = &sentinel.DataTypeState{State: sentinel.StateDisabled}
	if _, _, err := c.PutMTPDataConnector(ctx, found.Name, found.Etag, props); err != nil {
		t.Fatal(err)
	}
	put := env.Recorder.Last(t, http.MethodPut, "/dataConnectors/"+name)
	simtest.JSONEqual(t, put.RequestBody, `{"kind":"MicrosoftThreatProtection","etag":`+mustJSON(found.Etag)+`,"properties":{"tenantId":"`+simtest.ContosoTenant+`",`+
		`"dataTypes":{"incidents":{"state":"Enabled"},"alerts":{"state":"Disabled"},"futureType":{"state":"Enabled"}},`+
		`"xdrlinkUnknownField":{"keep":[1,"two"]}}}`)
}

// TestMTPOldAPIVersion: the documented refusal of the kind at an old api-version (§2.2),
// sent through the same client pipeline.
func TestMTPOldAPIVersion(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	arm := env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub)
	_, err := arm.Do(context.Background(), armclient.Request{
		Method: http.MethodPut, Path: simtest.Contoso.Path() + "/providers/Microsoft.SecurityInsights/dataConnectors/x",
		APIVersion: "2020-01-01", OK: []int{200, 201},
		Body: sentinel.MTPDataConnector{Kind: sentinel.KindMicrosoftThreatProtection, Properties: mtpProps(simtest.ContosoTenant)},
	})
	e := simtest.WantKind(t, err, azerr.InvalidRequest)
	if !strings.Contains(e.Message, "is not supported in api-version") {
		t.Fatal(e.Message)
	}
}

func TestMTPDocumentedErrors(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	props := func(tenant string) sentinel.MTPProperties { p := mtpProps(tenant); p.FilteredProviders = nil; return p }

	t.Run("unified portal lockout", func(t *testing.T) {
		c := newClient(t, env, simtest.NorthwindTenant, simtest.Northwind)
		_, _, err := c.PutMTPDataConnector(ctx, "mtp", "", props(simtest.NorthwindTenant))
		simtest.WantKind(t, err, azerr.UnifiedPortalLockout)
	})
	t.Run("invalid license", func(t *testing.T) {
		off := false
		if _, err := env.Sim.SetTenantFlags(simtest.NorthwindTenant, azuresim.TenantFlags{UnifiedPortal: &off}); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, env, simtest.NorthwindTenant, simtest.Northwind)
		req, err := c.CheckMTPRequirements(ctx, simtest.NorthwindTenant)
		if err != nil {
			t.Fatal(err)
		}
		if req.Satisfied() || req.LicenseState != "Invalid" {
			t.Fatalf("%+v", req)
		}
		_, _, err = c.PutMTPDataConnector(ctx, "mtp", "", props(simtest.NorthwindTenant))
		simtest.WantKind(t, err, azerr.InvalidLicense)
	})
	t.Run("tenant mismatch", func(t *testing.T) {
		c := newClient(t, env, simtest.ContosoTenant, simtest.Contoso)
		_, _, err := c.PutMTPDataConnector(ctx, "mtp", "", props(simtest.FabrikamTenant))
		simtest.WantKind(t, err, azerr.InvalidRequest)
	})
	t.Run("missing consent, then a member admin's delegated connect", func(t *testing.T) {
		app := newClient(t, env, simtest.FabrikamTenant, simtest.Fabrikam)
		_, _, err := app.PutMTPDataConnector(ctx, "mtp", "", props(simtest.FabrikamTenant))
		simtest.WantKind(t, err, azerr.MissingConsent)

		user := newClientAs(t, env, simtest.User(simtest.FabrikamTenant, simtest.FabrikamAdmin), simtest.Fabrikam)
		dc, created, err := user.PutMTPDataConnector(ctx, "mtp", "", props(simtest.FabrikamTenant))
		if err != nil || !created {
			t.Fatalf("delegated connect: created=%v err=%v", created, err)
		}
		// The consent state is cleared: the app may update the connector now.
		if _, _, err := app.PutMTPDataConnector(ctx, "mtp", dc.Etag, props(simtest.FabrikamTenant)); err != nil {
			t.Fatalf("app update after consent: %v", err)
		}
	})
	t.Run("guest is refused", func(t *testing.T) {
		c := newClientAs(t, env, simtest.User(simtest.ContosoTenant, simtest.ContosoGuest), simtest.Contoso)
		_, _, err := c.PutMTPDataConnector(ctx, "mtp", "", props(simtest.ContosoTenant))
		simtest.WantKind(t, err, azerr.Forbidden)
	})
	t.Run("missing RBAC names the action", func(t *testing.T) {
		c := newClientAs(t, env, simtest.User(simtest.ContosoTenant, simtest.ContosoAnalyst), simtest.Contoso)
		_, _, err := c.PutMTPDataConnector(ctx, "mtp", "", props(simtest.ContosoTenant))
		e := simtest.WantKind(t, err, azerr.Forbidden)
		if e.MissingPermission != "Microsoft.SecurityInsights/dataConnectors/write" || e.RequestID == "" {
			t.Fatalf("%+v", e)
		}
	})
}

func mustWorkspace(t *testing.T, env *simtest.Env, ws armclient.Workspace) *azuresim.WorkspaceState {
	t.Helper()
	w, ok := env.Sim.Workspace(ws.SubscriptionID, ws.ResourceGroup, ws.Name)
	if !ok {
		t.Fatalf("workspace %s not in the sim", ws.Name)
	}
	return w
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
