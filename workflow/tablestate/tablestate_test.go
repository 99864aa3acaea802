package tablestate

import (
	"strings"
	"testing"
	"time"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

var (
	on      = xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED
	off     = xdrlinkv1.ObservedState_OBSERVED_STATE_NOT_ENABLED
	unknown = xdrlinkv1.ObservedState_OBSERVED_STATE_UNKNOWN
	read    = xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DELEGATED_READ
	wrote   = xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DELEGATED_WRITE
	data    = xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DATA_ARRIVING
	t0      = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
)

func TestCheck(t *testing.T) {
	got := Check("tables", []string{"DeviceProcessEvents", "DeviceTvmSoftwareInventory", "BehaviorInfo", "NoSuchTable", "EmailEvents"})
	if len(got) != 3 {
		t.Fatalf("violations %v, want 3 (TVM, Behavior, unknown)", got)
	}
	for i, want := range []struct{ field, says string }{
		{"tables[1]", "vulnerability-management (TVM)"},
		{"tables[2]", "Behavior tables"},
		{"tables[3]", "not an advanced-hunting table"},
	} {
		if got[i].GetField() != want.field || !strings.Contains(got[i].GetDescription(), want.says) {
			t.Errorf("violation %d = %s: %s, want %s saying %q", i, got[i].GetField(), got[i].GetDescription(), want.field, want.says)
		}
	}
}

func TestDrift(t *testing.T) {
	for _, tc := range []struct {
		desired bool
		state   xdrlinkv1.ObservedState
		want    bool
	}{
		{true, on, false}, {true, off, true}, {true, unknown, false},
		{false, on, true}, {false, off, false}, {false, unknown, false},
	} {
		if got := Drift(tc.desired, tc.state); got != tc.want {
			t.Errorf("Drift(%v, %v) = %v", tc.desired, tc.state, got)
		}
	}
}

func TestMergeKeepsEnableTimeAndIgnoresOlder(t *testing.T) {
	obs := Merge(nil, map[string]*xdrlinkv1.TableObservation{"DeviceInfo": Observe(on, wrote, t0, "op1")})
	if got := obs["DeviceInfo"].GetEnableTime().AsTime(); !got.Equal(t0) {
		t.Fatalf("enable time %v, want the first time it was seen on", got)
	}
	// Data seen later keeps the table on since t0.
	Merge(obs, map[string]*xdrlinkv1.TableObservation{"DeviceInfo": Observe(on, data, t0.Add(time.Hour), "op2")})
	if o := obs["DeviceInfo"]; o.GetSource() != data || !o.GetEnableTime().AsTime().Equal(t0) {
		t.Fatalf("after data: %v", o)
	}
	// Data older than the latest observation changes nothing.
	Merge(obs, map[string]*xdrlinkv1.TableObservation{"DeviceInfo": Observe(off, read, t0.Add(-time.Hour), "op0")})
	if o := obs["DeviceInfo"]; o.GetState() != on || o.GetOperation() != "op2" {
		t.Fatalf("an older observation won: %v", o)
	}
	// Turned off, then on again: the grace period starts again.
	Merge(obs, map[string]*xdrlinkv1.TableObservation{"DeviceInfo": Observe(off, wrote, t0.Add(2*time.Hour), "op3")})
	if o := obs["DeviceInfo"]; o.GetState() != off || o.GetEnableTime() != nil {
		t.Fatalf("after off: %v", o)
	}
	later := t0.Add(3 * time.Hour)
	Merge(obs, map[string]*xdrlinkv1.TableObservation{"DeviceInfo": Observe(on, read, later, "op4")})
	if got := obs["DeviceInfo"].GetEnableTime().AsTime(); !got.Equal(later) {
		t.Fatalf("enable time after re-enabling %v, want %v", got, later)
	}
}

func TestSettings(t *testing.T) {
	tenant := &xdrlinkv1.Tenant{
		Name: "tenants/contoso", EntraTenantId: "4de8e61e-efe6-4c00-8680-a8a602b4b9dd", Etag: "e1",
		Workspace: &xdrlinkv1.Workspace{Name: "ws-contoso"},
		Connector: &xdrlinkv1.ConnectorSettings{Tables: []string{"DeviceProcessEvents", "EmailEvents", "DeviceFileEvents"}},
		Status: &xdrlinkv1.TenantStatus{Tables: map[string]*xdrlinkv1.TableObservation{
			"DeviceProcessEvents":  Observe(on, wrote, t0, "op1"),
			"EmailEvents":          Observe(off, wrote, t0, "op1"),
			"DeviceRegistryEvents": Observe(on, data, t0.Add(time.Hour), "op2"),
			"DeviceInfo":           Observe(off, wrote, t0, "op1"),
			Incidents:              Observe(on, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_AZURE_READ, t0.Add(2*time.Hour), "op2"),
		}},
	}
	s := Settings(tenant)
	if s.GetName() != "tenants/contoso/tableSettings" || s.GetEtag() != "e1" || !s.GetObserveTime().AsTime().Equal(t0.Add(time.Hour)) {
		t.Fatalf("settings %v", s)
	}
	var names []string
	for _, st := range s.GetTables() {
		names = append(names, st.GetTable())
	}
	// Desired ones and the one seen on though not desired; not the connector's data types.
	if got := strings.Join(names, ","); got != "DeviceFileEvents,DeviceProcessEvents,DeviceRegistryEvents,EmailEvents" {
		t.Fatalf("tables %s", got)
	}
	byName := map[string]*xdrlinkv1.TableStatus{}
	for _, st := range s.GetTables() {
		byName[st.GetTable()] = st
	}
	if st := byName["DeviceFileEvents"]; st.GetObservation().GetState() != unknown || st.GetDrift() || st.GetObserved() {
		t.Errorf("never observed: %v", st)
	}
	if st := byName["DeviceProcessEvents"]; !st.GetObserved() || st.GetDrift() {
		t.Errorf("desired and on: %v", st)
	}
	if st := byName["DeviceRegistryEvents"]; st.GetDesired() || !st.GetDrift() || st.GetObservation().GetSource() != data {
		t.Errorf("on but not desired: %v", st)
	}
	st := byName["EmailEvents"]
	if !st.GetDrift() || st.GetEnablement() != xdrlinkv1.Enablement_ENABLEMENT_PORTAL_ONLY ||
		!strings.Contains(st.GetPortalStep().GetPath(), "ws-contoso") || st.GetRequiredAction().GetPortalStep().GetTable() != "EmailEvents" ||
		st.GetRequiredAction().GetCustomerTenantId() != tenant.GetEntraTenantId() {
		t.Errorf("portal-only, desired, off: %v", st)
	}
}
