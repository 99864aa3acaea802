package tenantsvc

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
)

func withTables(tables ...string) *xdrlinkv1.Tenant {
	t := current()
	t.Name, t.State = "", 0
	t.Connector.Tables = tables
	return t
}

// TestTableChecks: every method that takes connector.tables refuses the
// tables that cannot be streamed, under the table's own path, together with
// the service's other violations.
func TestTableChecks(t *testing.T) {
	s := New(nil, nil)
	named := func(tn *xdrlinkv1.Tenant) *xdrlinkv1.Tenant { tn.Name = "tenants/a"; return tn }
	for _, tt := range []struct {
		name   string
		req    any
		fields []string
	}{
		{"create", &xdrlinkv1.CreateTenantRequest{TenantId: "a", Tenant: withTables("DeviceInfo", "DeviceTvmSoftwareInventory", "Nope")},
			[]string{"tenant.connector.tables[1]", "tenant.connector.tables[2]"}},
		{"create without connector", &xdrlinkv1.CreateTenantRequest{TenantId: "a", Tenant: &xdrlinkv1.Tenant{}},
			[]string{"tenant.entra_tenant_id", "tenant.workspace.subscription_id", "tenant.workspace.resource_group", "tenant.workspace.name"}},
		{"create, 65 tables", &xdrlinkv1.CreateTenantRequest{TenantId: "a", Tenant: withTables(slices.Repeat([]string{"Nope"}, 65)...)}, nil},
		{"batch", &xdrlinkv1.BatchCreateTenantsRequest{Requests: []*xdrlinkv1.CreateTenantRequest{
			{TenantId: "a", Tenant: withTables("DeviceInfo")},
			{TenantId: "b", Tenant: func() *xdrlinkv1.Tenant {
				tn := withTables("BehaviorInfo")
				tn.Workspace.Name = "other"
				return tn
			}()},
		}}, []string{"requests[1].tenant.connector.tables[0]"}},
		{"update connector.tables", &xdrlinkv1.UpdateTenantRequest{Tenant: named(withTables("EmailEvents", "BehaviorEntities")),
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"connector.tables"}}}, []string{"tenant.connector.tables[1]"}},
		{"update connector", &xdrlinkv1.UpdateTenantRequest{Tenant: named(withTables("BehaviorEntities")),
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"connector"}}}, []string{"tenant.connector.tables[0]"}},
		{"update *", &xdrlinkv1.UpdateTenantRequest{Tenant: named(withTables("BehaviorEntities")),
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"*"}}}, []string{"tenant.connector.tables[0]"}},
		{"update without mask", &xdrlinkv1.UpdateTenantRequest{Tenant: named(withTables("BehaviorEntities"))},
			[]string{"tenant.connector.tables[0]"}},
		// Tables the update leaves alone are not its business.
		{"update labels", &xdrlinkv1.UpdateTenantRequest{Tenant: named(withTables("BehaviorEntities")),
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"labels"}}}, nil},
		{"update without name, bad mask", &xdrlinkv1.UpdateTenantRequest{Tenant: withTables("BehaviorEntities"),
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"owner"}}}, []string{"tenant.name", "update_mask"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := s.CheckRequest(tt.req)
			var got []string
			for _, x := range v {
				got = append(got, x.GetField())
			}
			if !slices.Equal(got, tt.fields) {
				t.Fatalf("violations %q, want %q", got, tt.fields)
			}
			for _, x := range v {
				if strings.Contains(x.GetField(), "tables[") && !strings.Contains(x.GetDescription(), "ListTables") &&
					!strings.Contains(x.GetDescription(), "never streamed") {
					t.Errorf("%s: %q says neither why nor where to look", x.GetField(), x.GetDescription())
				}
			}
		})
	}
}

// TestCreateRefusesTables: the handler runs the same checks when the
// request passes protovalidate.
func TestCreateRefusesTables(t *testing.T) {
	s := New(nil, nil)
	_, err := s.CreateTenant(t.Context(), &xdrlinkv1.CreateTenantRequest{TenantId: "a", Tenant: withTables("DeviceTvmSoftwareInventory")})
	st := apierr.Status(err)
	if st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "tenant.connector.tables[0]: DeviceTvmSoftwareInventory is never streamed") {
		t.Errorf("got %v", st)
	}
	_, err = s.UpdateTenant(t.Context(), &xdrlinkv1.UpdateTenantRequest{Tenant: &xdrlinkv1.Tenant{Name: "tenants/a",
		Connector: &xdrlinkv1.ConnectorSettings{Tables: []string{"BehaviorInfo"}}}})
	if st := apierr.Status(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "tenant.connector.tables[0]: BehaviorInfo") {
		t.Errorf("got %v", st)
	}
}

func TestFilterErrorsNameTheChoices(t *testing.T) {
	_, err := ParseFilter("last_verification.verdict = ROTTEN")
	if msg := apierr.Status(err).Message(); !strings.Contains(msg, "unknown verdict ROTTEN; verdicts: HEALTHY, WITHIN_GRACE_PERIOD, STALE") {
		t.Errorf("unknown verdict: %q", msg)
	}
	_, err = ParseFilter("verdict = STALE")
	if msg := apierr.Status(err).Message(); !strings.Contains(msg, "filterable: state, last_verification.verdict, labels.<key>") {
		t.Errorf("unknown field: %q", msg)
	}
}
