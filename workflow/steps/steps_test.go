package steps

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azure/streaming"
	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// writeLog records the Azure writes that reach the emulator.
type writeLog struct {
	next *http.Client
	mu   sync.Mutex
	log  []string
}

// isWrite: every PUT, PATCH and DELETE, and the POSTs that change state
// (streaming upserts, provider registration); token requests, queries and
// checkRequirements are reads.
func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return false
	case http.MethodPost:
		p := strings.ToLower(r.URL.Path)
		return !strings.Contains(p, "/oauth2/") && !strings.HasSuffix(p, "/query") && !strings.HasSuffix(p, "/dataconnectorscheckrequirements")
	}
	return true
}

func (w *writeLog) Do(r *http.Request) (*http.Response, error) {
	if isWrite(r) {
		w.mu.Lock()
		w.log = append(w.log, r.Method+" "+r.URL.Path)
		w.mu.Unlock()
	}
	return w.next.Do(r)
}

// take returns and forgets the writes recorded so far.
func (w *writeLog) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.log
	w.log = nil
	return out
}

type env struct {
	sim    *azuresim.Sim
	world  *azuresim.World
	creds  *credential.Provider
	runner *Runner
	writes *writeLog
}

// start serves a generated world whose customer tenants are all made
// healthy (then edit adjusts them) and wires a Runner to it.
func start(t *testing.T, edit func(w *azuresim.World)) *env {
	t.Helper()
	world := azuresim.GenerateWorld(4, 7)
	for _, tn := range world.Tenants[1:] {
		healthy(world, tn)
	}
	if edit != nil {
		edit(world)
	}
	sim, err := azuresim.Start(azuresim.Options{World: world, Seed: 1, TokenLifetime: 48 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	endpoints, err := cloud.Resolve(cloud.Setting{Name: cloud.Custom, URL: sim.URL()})
	if err != nil {
		t.Fatal(err)
	}
	wl := &writeLog{next: sim.HTTPClient()}
	ob, err := outbound.New(outbound.Config{Cloud: endpoints, Transport: wl, Retry: policy.RetryOptions{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := credential.NewProvider(credential.Options{
		Cloud: endpoints, ClientOptions: ob.TokenClientOptions(),
		Profiles: []credential.Profile{{Name: "mssp", Kind: credential.KindClientSecret, ClientID: world.Apps[0].ClientID, ClientSecretEnv: "SECRET"}},
		Getenv:   func(string) string { return azuresim.GeneratedAppSecret },
	})
	if err != nil {
		t.Fatal(err)
	}
	r := NewRunner(Access{Endpoints: endpoints, Outbound: ob, Credentials: creds, DeploymentPollFrequency: 10 * time.Millisecond})
	return &env{sim: sim, world: world, creds: creds, runner: r, writes: wl}
}

// healthy gives a generated tenant every trait onboarding needs: a Defender
// XDR licence, no consent or portal lock, MDI sensors, registered providers,
// Sentinel Contributor for the app, and Sentinel already on.
func healthy(w *azuresim.World, tn *azuresim.Tenant) {
	for _, other := range w.Tenants[1:] {
		if other.Licenses[0].SkuPartNumber == "SPE_E5" {
			tn.Licenses = other.Licenses
		}
	}
	tn.ConsentNeeded, tn.UnifiedPortal = false, false
	if len(tn.MDISensors) == 0 {
		tn.MDISensors = []azuresim.MDISensor{{ID: tn.ID[:8] + "-0000-4000-8000-0000000000dc", DisplayName: "DC01", HealthStatus: "healthy"}}
	}
	tn.Subscriptions[0].RegisteredProviders = []string{"Microsoft.OperationalInsights", "Microsoft.SecurityInsights", "Microsoft.Insights"}
	tn.RoleAssignments[0].RoleDefinition = "Microsoft Sentinel Contributor"
	tn.Workspaces[0].SentinelOnboarded = true
}

func target(tn *azuresim.Tenant) Target {
	ws := tn.Workspaces[0]
	return Target{
		Name: "tenants/x", EntraTenantID: tn.ID, Region: "westeurope", Profile: "mssp",
		Workspace: armclient.Workspace{SubscriptionID: ws.SubscriptionID, ResourceGroup: ws.ResourceGroup, Name: ws.Name},
		Incidents: true, Alerts: true, DisableIncidentCreationRules: true, EntitySync: true,
		Tables: []string{"DeviceProcessEvents", "IdentityLogonEvents", "EmailEvents"},
	}
}

// signIn is the delegated credential of the tenant's member Security
// Administrator, approved in the emulator as a person would.
func (e *env) signIn(t *testing.T, tn *azuresim.Tenant) azcore.TokenCredential {
	t.Helper()
	dc, err := e.creds.DeviceCode("mssp", tn.ID, credential.DeviceCodeOptions{
		Prompt: func(_ context.Context, p credential.DeviceCodePrompt) error {
			return e.sim.ApproveDeviceCode(p.UserCode, "secadmin@"+tn.Domains[0])
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// snapshot is the workspace's Sentinel state without what onboarding keeps
// (onboarding state, content packages) and without what every write
// changes (etags, modification times, systemData).
func (e *env) snapshot(t *testing.T, tn *azuresim.Tenant) any {
	t.Helper()
	ws := tn.Workspaces[0]
	snap, err := e.sim.WorkspaceSnapshot(ws.SubscriptionID, ws.ResourceGroup, ws.Name)
	if err != nil {
		t.Fatal(err)
	}
	snap.OnboardingState, snap.ContentPackages = nil, nil
	b, err := json.Marshal(snap)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, coll := range []string{"dataConnectors", "alertRules", "settings"} {
		list, _ := v[coll].([]any)
		for _, r := range list {
			m := r.(map[string]any)
			delete(m, "etag")
			delete(m, "systemData")
			if p, ok := m["properties"].(map[string]any); ok {
				delete(p, "lastModifiedUtc")
			}
		}
	}
	return v
}

func (e *env) streamingEntries(t *testing.T, tn *azuresim.Tenant) []azuresim.StreamingExportSetting {
	t.Helper()
	entries, err := e.sim.StreamingEntries(tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

// run runs steps in order and fails the test on any failure.
func (e *env) run(t *testing.T, off bool, kinds []xdrlinkv1.StepKind, tg Target, a *Applied, delegated azcore.TokenCredential, plan bool) map[xdrlinkv1.StepKind]Result {
	t.Helper()
	out := map[xdrlinkv1.StepKind]Result{}
	for _, k := range kinds {
		fn := e.runner.Onboard
		if off {
			fn = e.runner.Offboard
		}
		res, err := fn(context.Background(), k, tg, a, delegated, plan)
		if err != nil {
			t.Fatalf("%v: %v", k, err)
		}
		out[k] = res
	}
	return out
}

func failure(t *testing.T, err error) *Failure {
	t.Helper()
	var f *Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T), want a *Failure", err, err)
	}
	if f.Message == "" || f.Remedy == "" {
		t.Errorf("failure without message or remedy: %+v", f)
	}
	return f
}

func TestOnboardTwiceThenOffboardRestores(t *testing.T) {
	e := start(t, nil)
	tn := e.world.Tenants[1]
	tg, ctx := target(tn), context.Background()
	before, entriesBefore := e.snapshot(t, tn), e.streamingEntries(t, tn)
	user := e.signIn(t, tn)
	var a Applied

	res := e.run(t, false, OnboardSteps, tg, &a, user, false)
	for _, k := range OnboardSteps {
		t.Logf("%v: skipped=%v %s", k, res[k].Skipped, res[k].Message)
	}
	if got := res[xdrlinkv1.StepKind_STEP_KIND_ONBOARD_WORKSPACE]; !got.Skipped {
		t.Errorf("onboard workspace: %+v, want skipped (already onboarded)", got)
	}
	if got := res[xdrlinkv1.StepKind_STEP_KIND_DISABLE_INCIDENT_CREATION_RULES]; len(got.Writes) != len(sentinel.XDRProducts) {
		t.Errorf("disabled %d rules, want one per XDR product (%d): %+v", len(got.Writes), len(sentinel.XDRProducts), got)
	}
	if got := res[xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS]; len(got.PortalSteps) != 1 || got.PortalSteps[0].Table != "EmailEvents" ||
		!strings.Contains(got.PortalSteps[0].Path, "Connect events") {
		t.Errorf("portal steps %+v", got.PortalSteps)
	}
	want := Applied{
		ConnectorName: ConnectorName(tg.Workspace.Path()), ConnectorCreated: true,
		EntityProvidersAdded: []string{sentinel.EntityProviderActiveDirectory}, EntityAnalyticsCreated: true,
		StreamingEntryID: streaming.SentinelSettingID(tg.Workspace.Name), StreamingEntryCreated: true,
		StreamingTables: []string{"DeviceProcessEvents", "IdentityLogonEvents"}, SolutionVersion: "3.0.11",
	}
	got := a
	got.DisabledRules = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("applied %+v\nwant %+v", got, want)
	}
	for _, d := range a.DisabledRules {
		if !d.PreviousEnabled || d.ProductFilter == sentinel.ProductSecurityCenter || d.Name == "" {
			t.Errorf("disabled rule record %+v", d)
		}
	}
	firstWrites := e.writes.take()
	if len(firstWrites) == 0 {
		t.Fatal("the first run made no write")
	}
	// Data starts flowing once connected; verification reads it.
	e.sim.AdvanceClock(12 * time.Hour)
	if res, err := e.runner.Onboard(ctx, xdrlinkv1.StepKind_STEP_KIND_VERIFY, tg, &a, user, false); err != nil || strings.Contains(res.Message, " 0 Defender XDR") {
		t.Fatalf("verify: %+v %v", res, err)
	} else {
		t.Logf("verify after 12h: %s", res.Message)
	}

	// A second run finds everything as desired: zero writes.
	recorded := a
	recorded.DisabledRules = slices.Clone(a.DisabledRules)
	res = e.run(t, false, OnboardSteps, tg, &a, user, false)
	if w := e.writes.take(); len(w) != 0 {
		t.Fatalf("second run wrote %v", w)
	}
	for _, k := range OnboardSteps[1:7] {
		if !res[k].Skipped && k != xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS {
			t.Errorf("%v not skipped on the second run: %+v", k, res[k])
		}
	}
	if !reflect.DeepEqual(a, recorded) {
		t.Errorf("second run changed the records:\n%+v\nwas %+v", a, recorded)
	}

	// Offboarding undoes exactly what was recorded.
	res = e.run(t, true, OffboardSteps, tg, &a, user, false)
	for _, k := range OffboardSteps {
		t.Logf("%v: skipped=%v %s", k, res[k].Skipped, res[k].Message)
	}
	if !reflect.DeepEqual(a, Applied{SolutionVersion: "3.0.11"}) {
		t.Errorf("records left after offboarding: %+v", a)
	}
	if after := e.snapshot(t, tn); !reflect.DeepEqual(after, before) {
		b1, _ := json.MarshalIndent(before, "", " ")
		b2, _ := json.MarshalIndent(after, "", " ")
		t.Errorf("workspace not restored\nbefore %s\nafter %s", b1, b2)
	}
	if entries := e.streamingEntries(t, tn); !reflect.DeepEqual(entries, entriesBefore) {
		t.Errorf("streaming entries %+v, want %+v", entries, entriesBefore)
	}
	e.writes.take()
	// And offboarding again is a no-op.
	res = e.run(t, true, OffboardSteps, tg, &a, user, false)
	if w := e.writes.take(); len(w) != 0 {
		t.Fatalf("second offboard wrote %v", w)
	}
	for _, k := range OffboardSteps {
		if !res[k].Skipped {
			t.Errorf("%v not skipped: %+v", k, res[k])
		}
	}
}

func TestPlanModeWritesNothing(t *testing.T) {
	e := start(t, func(w *azuresim.World) { w.Tenants[1].Workspaces[0].SentinelOnboarded = false })
	tn := e.world.Tenants[1]
	tg := target(tn)
	user := e.signIn(t, tn)
	var a Applied
	res := e.run(t, false, OnboardSteps, tg, &a, user, true)
	if w := e.writes.take(); len(w) != 0 {
		t.Fatalf("plan mode wrote %v", w)
	}
	if !reflect.DeepEqual(a, Applied{}) {
		t.Errorf("plan mode changed the records: %+v", a)
	}
	methods := map[xdrlinkv1.StepKind]string{
		xdrlinkv1.StepKind_STEP_KIND_ONBOARD_WORKSPACE:            "PUT onboardingStates/default",
		xdrlinkv1.StepKind_STEP_KIND_INSTALL_SOLUTION:             "PUT deployments/xdrlink-microsoft365defender-3.0.11",
		xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS: "PUT dataConnectors/" + ConnectorName(tg.Workspace.Path()),
		xdrlinkv1.StepKind_STEP_KIND_CONNECT_ENTITIES:             "PUT settings/EntityAnalytics",
		xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS:               "POST dataExportSettings/SentinelExportSettings-" + tg.Workspace.Name,
	}
	for k, want := range methods {
		ws := res[k].Writes
		if len(ws) != 1 {
			t.Errorf("%v: writes %+v, want one", k, ws)
			continue
		}
		method, suffix, _ := strings.Cut(want, " ")
		if ws[0].Method != method || !strings.HasSuffix(ws[0].Resource, "/"+suffix) || ws[0].Description == "" {
			t.Errorf("%v: write %+v, want %s", k, ws[0], want)
		}
	}
	if n := len(res[xdrlinkv1.StepKind_STEP_KIND_DISABLE_INCIDENT_CREATION_RULES].Writes); n != len(sentinel.XDRProducts) {
		t.Errorf("plan lists %d rule writes", n)
	}
	// Without a sign-in, plan mode still lists the streaming write.
	r, err := e.runner.Onboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS, tg, &a, nil, true)
	if err != nil || len(r.Writes) != 1 {
		t.Errorf("plan without sign-in: %+v %v", r, err)
	}
	if w := e.writes.take(); len(w) != 0 {
		t.Fatalf("plan mode wrote %v", w)
	}
}

func TestOnboardWorkspaceCreatesOnce(t *testing.T) {
	e := start(t, func(w *azuresim.World) { w.Tenants[1].Workspaces[0].SentinelOnboarded = false })
	tg := target(e.world.Tenants[1])
	var a Applied
	res := e.run(t, false, OnboardSteps[1:2], tg, &a, nil, false)
	if w := e.writes.take(); len(w) != 1 || !strings.HasSuffix(w[0], "/onboardingStates/default") || res[OnboardSteps[1]].Skipped {
		t.Fatalf("writes %v, result %+v", w, res)
	}
	res = e.run(t, false, OnboardSteps[1:2], tg, &a, nil, false)
	if w := e.writes.take(); len(w) != 0 || !res[OnboardSteps[1]].Skipped {
		t.Fatalf("second run: writes %v, result %+v", w, res)
	}
}

func TestConsentNeededAsksForSignIn(t *testing.T) {
	e := start(t, func(w *azuresim.World) { w.Tenants[1].ConsentNeeded = true })
	tn := e.world.Tenants[1]
	tg, ctx := target(tn), context.Background()
	var a Applied
	_, err := e.runner.Onboard(ctx, xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS, tg, &a, nil, false)
	f := failure(t, err)
	if !f.SignInRequired || f.Reason != xdrlinkv1.ErrorReason_ERROR_REASON_ACTION_REQUIRED || f.Transient ||
		!reflect.DeepEqual(f.SignInAudiences, []string{"https://management.azure.com/.default"}) {
		t.Fatalf("failure %+v", f)
	}
	e.writes.take()
	res, err := e.runner.Onboard(ctx, xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS, tg, &a, e.signIn(t, tn), false)
	if err != nil || res.Skipped || !strings.Contains(res.Message, "delegated") || !a.ConnectorCreated {
		t.Fatalf("with the sign-in: %+v %v, applied %+v", res, err, a)
	}
	if w := e.writes.take(); len(w) != 2 { // the app's refused PUT, then the user's
		t.Errorf("writes %v", w)
	}
	ws := tn.Workspaces[0]
	snap, _ := e.sim.WorkspaceSnapshot(ws.SubscriptionID, ws.ResourceGroup, ws.Name)
	if len(snap.DataConnectors) != 1 || snap.DataConnectors[0].Name != a.ConnectorName {
		t.Errorf("connectors %+v", snap.DataConnectors)
	}
}

func TestUnifiedPortalLockout(t *testing.T) {
	e := start(t, func(w *azuresim.World) { w.Tenants[1].UnifiedPortal = true })
	tn := e.world.Tenants[1]
	_, err := e.runner.Onboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS, target(tn), &Applied{}, e.signIn(t, tn), false)
	f := failure(t, err)
	if f.Reason != xdrlinkv1.ErrorReason_ERROR_REASON_UNIFIED_PORTAL_LOCKOUT || f.Transient || f.SignInRequired || !strings.Contains(f.Remedy, "Defender") {
		t.Fatalf("failure %+v", f)
	}
}

func TestNoLicenceFailsPrerequisites(t *testing.T) {
	e := start(t, func(w *azuresim.World) {
		w.Tenants[1].Licenses = []azuresim.License{{SkuID: "00000000-0000-4000-8000-0000000000e3", SkuPartNumber: "SPE_E3",
			ServicePlans: []azuresim.ServicePlan{{ServicePlanID: "292cc034-7b7c-4950-aaf5-943befd3f1d4", ServicePlanName: "MDE_LITE"}}}}
	})
	for _, plan := range []bool{false, true} {
		_, err := e.runner.Onboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_CHECK_PREREQUISITES, target(e.world.Tenants[1]), &Applied{}, nil, plan)
		f := failure(t, err)
		if f.Reason != xdrlinkv1.ErrorReason_ERROR_REASON_LICENSE_MISSING || f.Transient || !strings.Contains(f.Remedy, "Microsoft Defender XDR") {
			t.Fatalf("plan=%v: failure %+v", plan, f)
		}
	}
	if w := e.writes.take(); len(w) != 0 {
		t.Fatalf("prerequisites wrote %v", w)
	}
	// A healthy tenant passes.
	res, err := e.runner.Onboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_CHECK_PREREQUISITES, target(e.world.Tenants[2]), &Applied{}, nil, false)
	if err != nil || res.Skipped {
		t.Fatalf("healthy: %+v %v", res, err)
	}
}

func TestStreamingEntryLimit(t *testing.T) {
	e := start(t, nil)
	tn := e.world.Tenants[1]
	tg, ctx := target(tn), context.Background()
	user := e.signIn(t, tn)
	opts := e.runner.access.Outbound.ClientOptions(outbound.APIDefenderStreaming, tn.ID)
	c, err := streaming.NewClient(e.runner.access.Endpoints.DefenderStreaming, user, &opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range streaming.MaxSettingsPerTenant {
		s := streaming.NewSentinelSetting(tg.Workspace, []string{"AdvancedHunting-DeviceInfo"})
		s.ID = "other-" + string(rune('a'+i))
		if _, err := c.Upsert(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	e.writes.take()
	var a Applied
	_, err = e.runner.Onboard(ctx, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS, tg, &a, user, false)
	f := failure(t, err)
	if f.Transient || f.SignInRequired || !strings.Contains(f.Remedy, "delete an unused entry") {
		t.Fatalf("failure %+v", f)
	}
	if w := e.writes.take(); len(w) != 0 || len(e.streamingEntries(t, tn)) != streaming.MaxSettingsPerTenant || a.StreamingEntryID != "" {
		t.Fatalf("writes %v, applied %+v", w, a)
	}
	// Without the sign-in the step asks for one, for the streaming audience.
	_, err = e.runner.Onboard(ctx, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS, tg, &a, nil, false)
	if f := failure(t, err); !f.SignInRequired || !reflect.DeepEqual(f.SignInAudiences, []string{"https://api.securitycenter.microsoft.com/.default"}) {
		t.Fatalf("failure %+v", f)
	}
}

// An entry that existed before xdrlink is updated, then put back.
func TestExistingStreamingEntryRestored(t *testing.T) {
	e := start(t, nil)
	tn := e.world.Tenants[1]
	tg, ctx := target(tn), context.Background()
	user := e.signIn(t, tn)
	opts := e.runner.access.Outbound.ClientOptions(outbound.APIDefenderStreaming, tn.ID)
	c, err := streaming.NewClient(e.runner.access.Endpoints.DefenderStreaming, user, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Upsert(ctx, streaming.NewSentinelSetting(tg.Workspace, []string{"AdvancedHunting-DeviceInfo", "CloudAppEvents"})); err != nil {
		t.Fatal(err)
	}
	before := e.streamingEntries(t, tn)
	var a Applied
	if _, err := e.runner.Onboard(ctx, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS, tg, &a, user, false); err != nil {
		t.Fatal(err)
	}
	if a.StreamingEntryCreated || !reflect.DeepEqual(a.StreamingPreviousCategories, []string{"AdvancedHunting-DeviceInfo", "CloudAppEvents"}) {
		t.Fatalf("applied %+v", a)
	}
	if _, err := e.runner.Offboard(ctx, xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_EVENTS, tg, &a, user, false); err != nil {
		t.Fatal(err)
	}
	after := e.streamingEntries(t, tn)
	for i := range after {
		after[i].LastModified = time.Time{}
	}
	for i := range before {
		before[i].LastModified = time.Time{}
	}
	if !reflect.DeepEqual(after, before) || a.StreamingEntryID != "" {
		t.Fatalf("entries %+v\nwant %+v; applied %+v", after, before, a)
	}
}

func TestEntitySyncWithoutSensorsFails(t *testing.T) {
	e := start(t, func(w *azuresim.World) { w.Tenants[1].MDISensors = nil })
	var a Applied
	_, err := e.runner.Onboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_CONNECT_ENTITIES, target(e.world.Tenants[1]), &a, nil, false)
	f := failure(t, err)
	if f.Transient || !strings.Contains(f.Remedy, "Defender for Identity") {
		t.Fatalf("failure %+v", f)
	}
	// The record of intent is harmless: undoing it finds nothing to undo.
	res, err := e.runner.Offboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_ENTITIES, target(e.world.Tenants[1]), &a, nil, false)
	if err != nil || !res.Skipped || len(a.EntityProvidersAdded) != 0 {
		t.Fatalf("undo: %+v %v %+v", res, err, a)
	}
}

func TestConnectorNameIsStableGUID(t *testing.T) {
	a := ConnectorName("/subscriptions/S/resourceGroups/RG/providers/Microsoft.OperationalInsights/workspaces/WS")
	b := ConnectorName("/subscriptions/s/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/ws")
	if a != b || len(a) != 36 || a[14] != '5' || !strings.ContainsRune("89ab", rune(a[19])) {
		t.Fatalf("%s vs %s", a, b)
	}
	if a == ConnectorName("/subscriptions/s/resourcegroups/rg/providers/microsoft.operationalinsights/workspaces/ws2") {
		t.Fatal("two workspaces share a name")
	}
}

// A crash between the connector PUT and persisting Applied loses the record;
// the retry finds the connector by its deterministic name, creates no second
// one, and still knows xdrlink created it.
func TestConnectRetryAfterLostRecord(t *testing.T) {
	e := start(t, nil)
	tn := e.world.Tenants[1]
	tg, ctx := target(tn), context.Background()
	if _, err := e.runner.Onboard(ctx, xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS, tg, &Applied{}, nil, false); err != nil {
		t.Fatal(err)
	}
	var a Applied // the record that never got persisted
	res, err := e.runner.Onboard(ctx, xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS, tg, &a, nil, false)
	if err != nil || !res.Skipped || !a.ConnectorCreated || a.ConnectorName != ConnectorName(tg.Workspace.Path()) {
		t.Fatalf("retry: %+v %v, applied %+v", res, err, a)
	}
	ws := tn.Workspaces[0]
	if snap, _ := e.sim.WorkspaceSnapshot(ws.SubscriptionID, ws.ResourceGroup, ws.Name); len(snap.DataConnectors) != 1 {
		t.Fatalf("connectors %+v", snap.DataConnectors)
	}
}

// Checkpoint sees the record of intent before the write, and its failure
// stops the write.
func TestCheckpointBeforeWrite(t *testing.T) {
	e := start(t, nil)
	tg := target(e.world.Tenants[1])
	var seen []Applied
	e.runner.access.Checkpoint = func(_ context.Context, got Target, a Applied) error {
		if got.Name != tg.Name {
			t.Errorf("checkpoint for %q", got.Name)
		}
		seen = append(seen, a)
		return errors.New("store down")
	}
	var a Applied
	_, err := e.runner.Onboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_CONNECT_ENTITIES, tg, &a, nil, false)
	if f := failure(t, err); !f.Transient {
		t.Fatalf("failure %+v", f)
	}
	if len(seen) != 1 || !seen[0].EntityAnalyticsCreated || len(seen[0].EntityProvidersAdded) != 1 {
		t.Fatalf("checkpoints %+v", seen)
	}
	if w := e.writes.take(); len(w) != 0 {
		t.Fatalf("wrote %v despite the failed checkpoint", w)
	}
}

// Checks that could not be run (Graph failing) make the step worth trying
// again without a human; they are not a verdict on the tenant.
func TestPrerequisitesUnknownRetry(t *testing.T) {
	e := start(t, nil)
	if err := e.sim.SetFaults(azuresim.FaultConfig{ServerErrorRate: 1, Families: []string{"graph"}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.runner.Onboard(context.Background(), xdrlinkv1.StepKind_STEP_KIND_CHECK_PREREQUISITES, target(e.world.Tenants[1]), &Applied{}, nil, false)
	f := failure(t, err)
	if !f.Transient || !strings.HasPrefix(f.Message, "prerequisites could not be checked: ") {
		t.Fatalf("failure %+v, want a transient one that says the checks could not run", f)
	}
}
