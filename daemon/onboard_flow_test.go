package daemon

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

const (
	opSucceeded      = xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED
	opFailed         = xdrlinkv1.OperationState_OPERATION_STATE_FAILED
	opActionRequired = xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED
	opCancelled      = xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED
)

// azureState is what onboarding may change in a customer's Azure, in a
// comparable form: the workspace's connectors, rules and settings, and the
// tenant's streaming entries.
type azureState struct {
	Connectors []string // kind/name/properties
	Rules      []string // name/enabled
	Settings   []string // name/properties
	Streaming  []string // id/categories
}

func snapshot(t testing.TB, d *Daemon, c azuresim.DemoCustomer) azureState {
	t.Helper()
	sim := d.azure.sandbox
	ws, err := sim.WorkspaceSnapshot(c.SubscriptionID, c.ResourceGroup, c.WorkspaceName)
	if err != nil {
		t.Fatal(err)
	}
	var s azureState
	for _, r := range ws.DataConnectors {
		props, _ := json.Marshal(r.Properties)
		s.Connectors = append(s.Connectors, r.Kind+"/"+r.Name+"/"+string(props))
	}
	for _, r := range ws.AlertRules {
		var p struct {
			Enabled bool `json:"enabled"`
		}
		b, _ := json.Marshal(r.Properties)
		_ = json.Unmarshal(b, &p)
		s.Rules = append(s.Rules, r.Name+"/"+map[bool]string{true: "enabled", false: "disabled"}[p.Enabled])
	}
	for _, r := range ws.Settings {
		if r.Name == "Anomalies" || r.Name == "EyesOn" {
			continue // they come with the workspace's Sentinel onboarding, which offboarding keeps
		}
		props, _ := json.Marshal(r.Properties)
		s.Settings = append(s.Settings, r.Name+"/"+string(props))
	}
	entries, err := sim.StreamingEntries(c.EntraTenantID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var cats []string
		for _, l := range e.Logs {
			if l.Enabled {
				cats = append(cats, l.Category)
			}
		}
		slices.Sort(cats)
		s.Streaming = append(s.Streaming, e.ID+"/"+strings.Join(cats, ","))
	}
	for _, l := range [][]string{s.Connectors, s.Rules, s.Settings, s.Streaming} {
		slices.Sort(l)
	}
	return s
}

// TestOnboardAndOffboardHealthyTenant is the product's main path, end to end
// over each transport: onboard, pause for the customer's sign-in, approve it
// (nothing else is called), finish; re-onboard without a write; offboard
// back to where Azure was.
func TestOnboardAndOffboardHealthyTenant(t *testing.T) {
	backends(t, func(t *testing.T, db string) { testOnboardAndOffboard(t, startSandbox(t, withDB(db))) })
}

func testOnboardAndOffboard(t *testing.T, d *Daemon) {
	used := []string{}
	opsTransports(t, d, func(t *testing.T, api opsAPI) {
		ctx := context.Background()
		c := customer(t, d, azuresim.DemoHealthy, used...)
		used = append(used, c.ID)
		name := "tenants/" + c.ID
		before := snapshot(t, d, c)
		registered, err := dial(t, d).Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}

		op, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if md := metadata(t, op); op.GetName() == "" || op.GetDone() || md.GetTenant() != name ||
			md.GetKind() != xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD || len(md.GetSteps()) != 8 || !strings.HasPrefix(md.GetCaller(), "anonymous@") {
			t.Fatalf("Onboard returned %v", op)
		}
		// The streaming API needs the customer's Security Administrator.
		_, md := waitState(t, api, op.GetName(), opActionRequired)
		st := stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS)
		ra := st.GetRequiredAction()
		if st.GetState() != xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED || ra.GetDeviceCode().GetUserCode() == "" ||
			ra.GetDeviceCode().GetVerificationUri() == "" || ra.GetCustomerTenantId() != c.EntraTenantID ||
			!strings.Contains(ra.GetRole(), "Security Administrator") || ra.GetStep() != st.GetKind() ||
			len(ra.GetAudiences()) != 2 || ra.GetExpireTime() == nil {
			t.Fatalf("required action %v", ra)
		}
		tn, err := dial(t, d).Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if tn.GetState() != xdrlinkv1.Tenant_STATE_ACTION_REQUIRED || tn.GetStatus().GetRequiredAction().GetDeviceCode().GetUserCode() != ra.GetDeviceCode().GetUserCode() {
			t.Fatalf("tenant while waiting: %v", tn)
		}
		// The workflow's progress is status, not spec: a portal editing labels
		// with the etag it read before onboarding is not refused.
		if tn.GetEtag() != registered.GetEtag() {
			t.Errorf("etag moved with the workflow's progress: %s -> %s", registered.GetEtag(), tn.GetEtag())
		}
		if _, err := dial(t, d).Tenants.UpdateTenant(ctx, &xdrlinkv1.UpdateTenantRequest{
			Tenant:     &xdrlinkv1.Tenant{Name: name, Etag: registered.GetEtag(), Labels: map[string]string{"sandbox": "true", "tier": "gold"}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}},
		}); err != nil {
			t.Fatalf("label edit during onboarding: %v", err)
		}

		approve(t, d, md)
		op, md = waitState(t, api, op.GetName(), opSucceeded)
		for _, st := range md.GetSteps() {
			if (st.GetState() != xdrlinkv1.StepState_STEP_STATE_SUCCEEDED && st.GetState() != xdrlinkv1.StepState_STEP_STATE_SKIPPED) ||
				st.GetAttempts() < 1 || st.GetStartTime() == nil || st.GetEndTime() == nil {
				t.Errorf("step %v", st)
			}
		}
		if md.GetEndTime() == nil || md.GetUpdateTime() == nil || op.GetResponse() == nil {
			t.Errorf("finished operation %v", op)
		}
		if got := stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS).GetPortalSteps(); len(got) != 1 || got[0].GetTable() != "EmailEvents" {
			t.Errorf("portal steps %v, want EmailEvents (the streaming API cannot write it)", got)
		}
		checkOnboarded(t, d, c)
		tn, err = dial(t, d).Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		applied := tn.GetStatus().GetApplied()
		if tn.GetState() != xdrlinkv1.Tenant_STATE_ONBOARDED || tn.GetLastOperation() != op.GetName() ||
			applied.GetConnectorName() == "" || !applied.GetConnectorCreated() || len(applied.GetDisabledRules()) == 0 ||
			applied.GetStreamingEntryId() == "" {
			t.Fatalf("onboarded tenant %v", tn)
		}

		// Again: everything is as desired, so nothing is written.
		writes := azureWrites(d)
		again, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		_, md = waitState(t, api, again.GetName(), opActionRequired, opSucceeded)
		if md.GetState() == opActionRequired {
			approve(t, d, md) // reading the streaming entry needs the delegated token too
			waitState(t, api, again.GetName(), opSucceeded)
		}
		if n := azureWrites(d) - writes; n != 0 {
			t.Errorf("re-onboarding an onboarded tenant made %d writes to Azure, want 0", n)
		}

		off, err := api.Offboard(ctx, &xdrlinkv1.OffboardRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		_, md = waitState(t, api, off.GetName(), opActionRequired, opSucceeded)
		if md.GetState() == opActionRequired {
			approve(t, d, md)
			_, md = waitState(t, api, off.GetName(), opSucceeded)
		}
		after := snapshot(t, d, c)
		if !equalJSON(before, after) {
			t.Errorf("offboard left Azure changed:\nbefore %+v\nafter  %+v", before, after)
		}
		tn, err = dial(t, d).Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		if tn.GetState() != xdrlinkv1.Tenant_STATE_OFFBOARDED {
			t.Errorf("tenant after offboard: %v", tn.GetState())
		}
	})
}

// checkOnboarded asserts the emulator's state is exactly what onboarding
// asked for.
func checkOnboarded(t testing.TB, d *Daemon, c azuresim.DemoCustomer) {
	t.Helper()
	ws, err := d.azure.sandbox.WorkspaceSnapshot(c.SubscriptionID, c.ResourceGroup, c.WorkspaceName)
	if err != nil {
		t.Fatal(err)
	}
	var mtp int
	for _, r := range ws.DataConnectors {
		if r.Kind != sentinel.KindMicrosoftThreatProtection {
			continue
		}
		mtp++
		b, _ := json.Marshal(r.Properties)
		var p sentinel.MTPProperties
		if err := json.Unmarshal(b, &p); err != nil || p.DataTypes.Incidents.State != sentinel.StateEnabled ||
			p.DataTypes.Alerts == nil || p.DataTypes.Alerts.State != sentinel.StateEnabled {
			t.Errorf("MTP connector %s: %s", r.Name, b)
		}
	}
	if mtp != 1 {
		t.Errorf("%d MicrosoftThreatProtection connectors, want exactly 1", mtp)
	}
	for _, r := range ws.AlertRules {
		b, _ := json.Marshal(r)
		var rule sentinel.AlertRule
		if err := json.Unmarshal(b, &rule); err != nil {
			t.Fatal(err)
		}
		if sentinel.IsXDRIncidentCreationRule(rule) {
			p, err := sentinel.IncidentCreation(rule)
			if err != nil || p.Enabled {
				t.Errorf("XDR incident-creation rule %s still enabled", r.Name)
			}
		}
	}
	var entity bool
	for _, r := range ws.Settings {
		if r.Name == sentinel.SettingEntityAnalytics {
			b, _ := json.Marshal(r.Properties)
			entity = strings.Contains(string(b), sentinel.EntityProviderActiveDirectory)
		}
	}
	if !entity {
		t.Error("settings/EntityAnalytics does not list ActiveDirectory")
	}
	entries, err := d.azure.sandbox.StreamingEntries(c.EntraTenantID)
	if err != nil {
		t.Fatal(err)
	}
	var ours int
	for _, e := range entries {
		if !strings.EqualFold(e.ID, "SentinelExportSettings-"+c.WorkspaceName) {
			continue
		}
		ours++
		var cats []string
		for _, l := range e.Logs {
			if l.Enabled {
				cats = append(cats, l.Category)
			}
		}
		slices.Sort(cats)
		if want := []string{"AdvancedHunting-DeviceNetworkEvents", "AdvancedHunting-DeviceProcessEvents"}; !slices.Equal(cats, want) {
			t.Errorf("streaming entry categories %v, want %v", cats, want)
		}
	}
	if ours != 1 {
		t.Errorf("%d streaming entries for the workspace, want exactly 1", ours)
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestOnboardUnhealthyTenants: each kind of trouble in the demo world ends
// where a person can act on it, with the reason and the remedy.
func TestOnboardUnhealthyTenants(t *testing.T) {
	d := startSandbox(t)
	api := grpcOps{dial(t, d)}
	for _, tc := range []struct {
		kind   azuresim.DemoKind
		state  xdrlinkv1.OperationState
		step   xdrlinkv1.StepKind
		reason xdrlinkv1.ErrorReason // for FAILED
		remedy string                // in the error's message, for FAILED
	}{
		{azuresim.DemoNoLicense, opFailed, xdrlinkv1.StepKind_STEP_KIND_CHECK_PREREQUISITES, xdrlinkv1.ErrorReason_ERROR_REASON_LICENSE_MISSING, "licen"},
		{azuresim.DemoRBACMissing, opFailed, xdrlinkv1.StepKind_STEP_KIND_CHECK_PREREQUISITES, xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_MISSING, "Sentinel Contributor"},
		{azuresim.DemoProviderMissing, opFailed, xdrlinkv1.StepKind_STEP_KIND_CHECK_PREREQUISITES, xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_MISSING, "Microsoft.SecurityInsights"},
		// No read reveals the lockout, so it shows at the first connector write.
		{azuresim.DemoUnifiedPortal, opFailed, xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS, xdrlinkv1.ErrorReason_ERROR_REASON_UNIFIED_PORTAL_LOCKOUT, "unified"},
		{azuresim.DemoNoDefenderForIdP, opFailed, xdrlinkv1.StepKind_STEP_KIND_CONNECT_ENTITIES, xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR, "Defender for Identity"},
		{azuresim.DemoConsentNeeded, opActionRequired, xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS, 0, ""},
		{azuresim.DemoNoSecurityAdmin, opActionRequired, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS, 0, ""},
	} {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			c := customer(t, d, tc.kind)
			op, err := api.Onboard(context.Background(), &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
			if err != nil {
				t.Fatal(err)
			}
			op, md := waitState(t, api, op.GetName(), tc.state)
			st := stepOf(t, md, tc.step)
			tn, err := dial(t, d).Tenants.GetTenant(context.Background(), &xdrlinkv1.GetTenantRequest{Name: "tenants/" + c.ID})
			if err != nil {
				t.Fatal(err)
			}
			if tc.state == opActionRequired {
				if st.GetState() != xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED || st.GetRequiredAction().GetDeviceCode().GetUserCode() == "" {
					t.Fatalf("step %v, want ACTION_REQUIRED with a device code:\n%s", st, describeSteps(md))
				}
				if tn.GetState() != xdrlinkv1.Tenant_STATE_ACTION_REQUIRED {
					t.Errorf("tenant state %v", tn.GetState())
				}
				return
			}
			reason, meta := errorInfo(t, op.GetError().GetDetails())
			if st.GetState() != xdrlinkv1.StepState_STEP_STATE_FAILED || reason != tc.reason.String() ||
				meta["step"] != tc.step.String() || !strings.Contains(strings.ToLower(op.GetError().GetMessage()), strings.ToLower(tc.remedy)) {
				t.Fatalf("error %v (reason %s, metadata %v); want %v at %v mentioning %q:\n%s", op.GetError(), reason, meta, tc.reason, tc.step, tc.remedy, describeSteps(md))
			}
			if tn.GetState() != xdrlinkv1.Tenant_STATE_FAILED || tn.GetStatus().GetFailedStep() != tc.step ||
				tn.GetStatus().GetError().GetMessage() != op.GetError().GetMessage() {
				t.Errorf("tenant %v", tn)
			}
		})
	}
}

// errorInfo returns the ErrorInfo reason and metadata among details.
func errorInfo(t testing.TB, details []*anypb.Any) (string, map[string]string) {
	t.Helper()
	for _, d := range details {
		info := &errdetails.ErrorInfo{}
		if d.UnmarshalTo(info) == nil {
			return info.GetReason(), info.GetMetadata()
		}
	}
	return "", nil
}

// TestSignInServesBothStepsAndResume: a tenant whose first connect needs
// consent pauses once; the one sign-in serves the connector and the
// streaming API, and :resume continues at once.
func TestSignInServesBothStepsAndResume(t *testing.T) {
	d := startSandbox(t)
	var used []string
	opsTransports(t, d, func(t *testing.T, api opsAPI) {
		c := customer(t, d, azuresim.DemoConsentNeeded, used...)
		used = append(used, c.ID)
		signIns := deviceCodesIssued(d)
		op, err := api.Onboard(context.Background(), &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
		if err != nil {
			t.Fatal(err)
		}
		_, md := waitState(t, api, op.GetName(), opActionRequired)
		if _, err := api.Resume(context.Background(), op.GetName(), ""); err != nil {
			t.Fatal(err) // resuming before the approval is harmless: it polls once more
		}
		approve(t, d, md)
		if _, err := api.Resume(context.Background(), op.GetName(), ""); err != nil {
			t.Fatal(err)
		}
		op, err = api.Wait(context.Background(), op.GetName(), 60e9)
		if err != nil {
			t.Fatal(err)
		}
		md = metadata(t, op)
		if md.GetState() != opSucceeded {
			t.Fatalf("state %v after approval and resume:\n%s", md.GetState(), describeSteps(md))
		}
		if n := deviceCodesIssued(d) - signIns; n != 1 {
			t.Errorf("%d sign-ins for one operation, want 1:\n%s", n, describeSteps(md))
		}
		checkOnboarded(t, d, c)
		// A finished operation cannot be resumed.
		_, err = api.Resume(context.Background(), op.GetName(), "")
		if status.Code(err) != codes.FailedPrecondition {
			t.Errorf("resume of a finished operation: %v", err)
		}
	})
}

// deviceCodesIssued counts the device-code sign-ins the emulator started.
func deviceCodesIssued(d *Daemon) int64 {
	var n int64
	for _, c := range d.azure.sandbox.RequestCounts() {
		if c.API == "entra.devicecode" && c.Status == 200 {
			n += c.Count
		}
	}
	return n
}

// TestLostSignInAsksAgain: when the device code was redeemed but its tokens
// never kept (xdrlinkd killed in between), the next poll finds the code
// used; the operation asks for a new sign-in instead of failing, and goes
// on once that is approved.
func TestLostSignInAsksAgain(t *testing.T) {
	d := startSandbox(t)
	api := grpcOps{dial(t, d)}
	c := customer(t, d, azuresim.DemoHealthy)
	op, err := api.Onboard(context.Background(), &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, md := waitState(t, api, op.GetName(), opActionRequired)
	first := stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS).GetRequiredAction().GetDeviceCode().GetUserCode()
	if err := d.azure.sandbox.LoseDeviceCodeRedemption(first, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		md = metadata(t, must(api.Get(context.Background(), op.GetName())))
		code := stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS).GetRequiredAction().GetDeviceCode().GetUserCode()
		if md.GetState() == opActionRequired && code != "" && code != first {
			break
		}
		if md.GetState() == opFailed || time.Now().After(deadline) {
			t.Fatalf("no new sign-in after the lost one (state %v):\n%s", md.GetState(), describeSteps(md))
		}
		time.Sleep(50 * time.Millisecond)
	}
	approve(t, d, md)
	waitState(t, api, op.GetName(), opSucceeded)
	if n := deviceCodesIssued(d); n != 2 {
		t.Errorf("%d sign-ins, want the lost one and its replacement", n)
	}
}
