package tablesvc

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/storeopen"
	"github.com/xdrlink/xdrlink/workflow/engine"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

func TestMaskViolation(t *testing.T) {
	for _, tt := range []struct {
		paths []string
		ok    bool
	}{
		{nil, true}, // omitted: desired_tables
		{[]string{"desired_tables"}, true},
		{[]string{"*"}, true},
		{[]string{"name", "etag", "desired_tables"}, true}, // REST's mask of a body with the etag
		{[]string{"desired_tables", "tables", "observe_time"}, true},
		{[]string{"etag"}, false}, // nothing to change
		{[]string{"display_name"}, false},
		{[]string{"desired_tables", "connector.tables"}, false},
		{[]string{"desired_tables.x"}, false},
	} {
		v := maskViolation(tt.paths)
		if (v == nil) != tt.ok || (v != nil && v.GetField() != "update_mask") {
			t.Errorf("maskViolation(%q) = %v, want ok %v", tt.paths, v, tt.ok)
		}
	}
}

func fields(v []*errdetails.BadRequest_FieldViolation) []string {
	var out []string
	for _, x := range v {
		out = append(out, x.GetField())
	}
	return out
}

func TestUpdateViolations(t *testing.T) {
	many := make([]string, 65)
	for i := range many {
		many[i] = "NoSuchTable"
	}
	for _, tt := range []struct {
		name   string
		req    *xdrlinkv1.UpdateTableSettingsRequest
		fields []string
		says   string // in the first violation's description
	}{
		{"valid", update("tenants/a/tableSettings", "DeviceInfo", "EmailEvents"), nil, ""},
		{"no tables", update("tenants/a/tableSettings"), nil, ""},
		{"no name", update("", "DeviceInfo"), []string{"table_settings.name"}, "required"},
		{"TVM", update("tenants/a/tableSettings", "DeviceInfo", "DeviceTvmSoftwareInventory"),
			[]string{"table_settings.desired_tables[1]"}, "vulnerability-management"},
		{"Behavior", update("tenants/a/tableSettings", "BehaviorInfo", "BehaviorEntities"),
			[]string{"table_settings.desired_tables[0]", "table_settings.desired_tables[1]"}, "never streamed"},
		{"unknown", update("tenants/a/tableSettings", "DeviceInfos"), []string{"table_settings.desired_tables[0]"}, "ListTables"},
		// The size rule refuses it as a whole; its items are not examined.
		{"65 tables", update("tenants/a/tableSettings", many...), nil, ""},
		{"mask and table", withMask(update("tenants/a/tableSettings", "BehaviorInfo"), "labels"),
			[]string{"update_mask", "table_settings.desired_tables[0]"}, "labels"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := updateViolations(tt.req)
			if got := fields(v); !slices.Equal(got, tt.fields) {
				t.Fatalf("violations %q, want %q", got, tt.fields)
			}
			if tt.says != "" && !strings.Contains(v[0].GetDescription(), tt.says) {
				t.Errorf("description %q does not say %q", v[0].GetDescription(), tt.says)
			}
			if got := fields((&Service{}).CheckRequest(tt.req)); !slices.Equal(got, tt.fields) {
				t.Errorf("CheckRequest: %q, want %q", got, tt.fields)
			}
		})
	}
}

func update(name string, tables ...string) *xdrlinkv1.UpdateTableSettingsRequest {
	return &xdrlinkv1.UpdateTableSettingsRequest{TableSettings: &xdrlinkv1.TableSettings{Name: name, DesiredTables: tables}}
}

func withMask(r *xdrlinkv1.UpdateTableSettingsRequest, paths ...string) *xdrlinkv1.UpdateTableSettingsRequest {
	r.UpdateMask = &fieldmaskpb.FieldMask{Paths: paths}
	return r
}

// fakeOps records the request it was asked to run.
type fakeOps struct{ got []engine.Request }

func (f *fakeOps) Submit(_ context.Context, req engine.Request) (*longrunningpb.Operation, error) {
	f.got = append(f.got, req)
	return &longrunningpb.Operation{Name: "operations/x"}, nil
}

// withTenants returns the service over a store holding a tenant in each
// state, named after it ("tenants/onboarded"), with tables DeviceInfo and
// EmailEvents desired.
func withTenants(t *testing.T) (*Service, *fakeOps) {
	t.Helper()
	ctx := t.Context()
	st, err := storeopen.Open(ctx, filepath.Join(t.TempDir(), "x.db"), storeopen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for n, name := range xdrlinkv1.Tenant_State_name {
		if n == 0 {
			continue
		}
		id := strings.ToLower(strings.TrimPrefix(name, "STATE_"))
		rec, err := tenantrecord.Spec(id, &xdrlinkv1.Tenant{
			State: xdrlinkv1.Tenant_State(n), EntraTenantId: "20000000-0000-4000-8000-000000000000",
			Workspace: &xdrlinkv1.Workspace{SubscriptionId: "sub", ResourceGroup: "rg", Name: "ws-" + id},
			Connector: &xdrlinkv1.ConnectorSettings{Tables: []string{"DeviceInfo", "EmailEvents"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateTenant(ctx, store.NewRecord(rec)); err != nil {
			t.Fatal(err)
		}
	}
	ops := &fakeOps{}
	return New(st, ops), ops
}

func TestGetTableSettings(t *testing.T) {
	s, _ := withTenants(t)
	got, err := s.GetTableSettings(t.Context(), &xdrlinkv1.GetTableSettingsRequest{Name: "tenants/onboarded/tableSettings"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetName() != "tenants/onboarded/tableSettings" || !slices.Equal(got.GetDesiredTables(), []string{"DeviceInfo", "EmailEvents"}) ||
		got.GetEtag() == "" {
		t.Errorf("settings %v", got)
	}
	_, err = s.GetTableSettings(t.Context(), &xdrlinkv1.GetTableSettingsRequest{Name: "tenants/nobody/tableSettings"})
	checkError(t, err, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND, "tenants/nobody")
}

// TestUpdateTableSettingsStates: only a connected tenant's tables change;
// the others are refused with the way forward.
func TestUpdateTableSettingsStates(t *testing.T) {
	s, ops := withTenants(t)
	for _, tt := range []struct {
		tenant string
		code   codes.Code
		reason xdrlinkv1.ErrorReason
		says   string
	}{
		{"onboarded", codes.OK, 0, ""},
		{"degraded", codes.OK, 0, ""},
		{"registered", codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_STATE_CONFLICT, "onboarding applies them"},
		{"failed", codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_STATE_CONFLICT, "UpdateTenant"},
		{"offboarded", codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_STATE_CONFLICT, "onboard it"},
		{"onboarding", codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS, "wait for"},
		{"action_required", codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS, "wait for"},
		{"offboarding", codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS, "wait for"},
		{"nobody", codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND, "tenants/nobody"},
	} {
		t.Run(tt.tenant, func(t *testing.T) {
			ops.got = nil
			_, err := s.UpdateTableSettings(t.Context(), update("tenants/"+tt.tenant+"/tableSettings", "DeviceInfo"))
			if tt.code == codes.OK {
				if err != nil || len(ops.got) != 1 {
					t.Fatalf("err %v, %d submitted", err, len(ops.got))
				}
				return
			}
			checkError(t, err, tt.code, tt.reason, tt.says)
			if len(ops.got) != 0 {
				t.Errorf("submitted %+v", ops.got)
			}
		})
	}
}

// TestUpdateTableSettingsRequest: the engine gets the tables in the
// caller's order, the etag and the request id; the same tables in another
// order, with or without a mask, are the same request (one fingerprint).
func TestUpdateTableSettingsRequest(t *testing.T) {
	s, ops := withTenants(t)
	a := update("tenants/onboarded/tableSettings", "EmailEvents", "DeviceInfo", "AlertInfo")
	a.TableSettings.Etag, a.RequestId = "e1", "6f1c1e4e-4a51-4c5e-9f57-000000000001"
	b := withMask(update("tenants/onboarded/tableSettings", "AlertInfo", "DeviceInfo", "EmailEvents"), "desired_tables", "etag")
	b.TableSettings.Etag = "e1"
	c := update("tenants/onboarded/tableSettings", "AlertInfo", "DeviceInfo")
	c.TableSettings.Etag = "e1"
	for _, r := range []*xdrlinkv1.UpdateTableSettingsRequest{a, b, c} {
		if _, err := s.UpdateTableSettings(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	got := ops.got[0]
	if got.Kind != xdrlinkv1.OperationKind_OPERATION_KIND_UPDATE_TABLE_SETTINGS || got.Tenant != "tenants/onboarded" ||
		got.Method != "UpdateTableSettings" || got.RequestID != a.GetRequestId() || got.Etag != "e1" ||
		!slices.Equal(got.Tables, []string{"EmailEvents", "DeviceInfo", "AlertInfo"}) {
		t.Errorf("submitted %+v", got)
	}
	if !bytes.Equal(got.Fingerprint, ops.got[1].Fingerprint) {
		t.Error("the same change has two fingerprints")
	}
	if bytes.Equal(got.Fingerprint, ops.got[2].Fingerprint) {
		t.Error("different tables have one fingerprint")
	}
}

func checkError(t *testing.T, err error, code codes.Code, reason xdrlinkv1.ErrorReason, says string) {
	t.Helper()
	st := apierr.Status(err)
	if st.Code() != code || !strings.Contains(st.Message(), says) {
		t.Fatalf("got %v %q, want %v saying %q", st.Code(), st.Message(), code, says)
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetReason() != reason.String() {
			t.Errorf("reason %s, want %s", info.GetReason(), reason)
		}
	}
}
