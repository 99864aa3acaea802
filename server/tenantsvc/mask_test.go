package tenantsvc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

func current() *xdrlinkv1.Tenant {
	return &xdrlinkv1.Tenant{
		Name: "tenants/a", DisplayName: "A", EntraTenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Workspace: &xdrlinkv1.Workspace{SubscriptionId: "s", ResourceGroup: "rg", Name: "ws", Region: "westeurope", CustomerId: "c"},
		Connector: defaultConnector(),
		Labels:    map[string]string{"tier": "gold", "env": "prod"},
		State:     xdrlinkv1.Tenant_STATE_ONBOARDED,
	}
}

func TestApplyMask(t *testing.T) {
	tests := []struct {
		name  string
		in    *xdrlinkv1.Tenant
		paths []string
		want  func(*xdrlinkv1.Tenant)
	}{
		{"one sub-field", &xdrlinkv1.Tenant{Workspace: &xdrlinkv1.Workspace{Region: "northeurope"}}, []string{"workspace.region"},
			func(t *xdrlinkv1.Tenant) { t.Workspace.Region = "northeurope" }},
		{"clear a field", &xdrlinkv1.Tenant{}, []string{"display_name"}, func(t *xdrlinkv1.Tenant) { t.DisplayName = "" }},
		{"replace a message", &xdrlinkv1.Tenant{Connector: &xdrlinkv1.ConnectorSettings{EntitySync: true}}, []string{"connector"},
			func(t *xdrlinkv1.Tenant) { t.Connector = &xdrlinkv1.ConnectorSettings{EntitySync: true} }},
		{"set one label, remove another", &xdrlinkv1.Tenant{Labels: map[string]string{"tier": "silver"}}, []string{"labels.tier", "labels.env"},
			func(t *xdrlinkv1.Tenant) { t.Labels = map[string]string{"tier": "silver"} }},
		{"replace labels", &xdrlinkv1.Tenant{Labels: map[string]string{"x": "y"}}, []string{"labels"},
			func(t *xdrlinkv1.Tenant) { t.Labels = map[string]string{"x": "y"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := current(), current()
			tt.want(want)
			applyMask(got, tt.in, tt.paths)
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMaskPaths(t *testing.T) {
	in := &xdrlinkv1.Tenant{Name: "tenants/a", DisplayName: "x", Labels: map[string]string{"a": "b"}}
	for _, tt := range []struct {
		paths   []string
		want    []string
		wantErr bool
	}{
		{nil, []string{"display_name", "labels"}, false}, // omitted: the populated fields
		{[]string{"*"}, topLevelPaths, false},
		{[]string{"etag", "state", "display_name"}, []string{"display_name"}, false}, // ignored ones dropped
		{[]string{"labels.tier"}, []string{"labels.tier"}, false},
		{[]string{"workspace.customer_id"}, nil, false},
		{[]string{"owner"}, nil, true},
		{[]string{"labels."}, nil, true},
		{[]string{"workspace.nope"}, nil, true},
	} {
		got, err := maskPaths(in, tt.paths)
		if (err != nil) != tt.wantErr || !cmp.Equal(got, tt.want) {
			t.Errorf("maskPaths(%q) = %q, %v; want %q, error %v", tt.paths, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseFilter(t *testing.T) {
	for _, tt := range []struct {
		expr    string
		want    store.TenantQuery
		wantErr bool
	}{
		{"", store.TenantQuery{}, false},
		{"state = onboarded", store.TenantQuery{State: "STATE_ONBOARDED"}, false},
		{"state = STATE_FAILED AND labels.tier = gold", store.TenantQuery{State: "STATE_FAILED", Labels: map[string]string{"tier": "gold"}}, false},
		{"state = UNSPECIFIED", store.TenantQuery{}, true},
		{"state = SLEEPING", store.TenantQuery{}, true},
		{"state = FAILED AND state = ONBOARDED", store.TenantQuery{}, true},
		{"last_verification.verdict = STALE", store.TenantQuery{Verdict: "VERDICT_STALE"}, false},
		{"last_verification.verdict = verdict_no_data AND state = DEGRADED",
			store.TenantQuery{Verdict: "VERDICT_NO_DATA", State: "STATE_DEGRADED"}, false},
		{"last_verification.verdict = HEALTHY AND last_verification.verdict = VERDICT_HEALTHY", store.TenantQuery{Verdict: "VERDICT_HEALTHY"}, false},
		{"last_verification.verdict = STALE AND last_verification.verdict = HEALTHY", store.TenantQuery{}, true},
		{"last_verification.verdict = ROTTEN", store.TenantQuery{}, true},
		{"last_verification.verdict = UNSPECIFIED", store.TenantQuery{}, true},
		{"verdict = STALE", store.TenantQuery{}, true},
		{"labels = x", store.TenantQuery{}, true},
		{"display_name = x", store.TenantQuery{}, true},
	} {
		got, err := ParseFilter(tt.expr)
		if (err != nil) != tt.wantErr || (!tt.wantErr && !cmp.Equal(got, tt.want)) {
			t.Errorf("ParseFilter(%q) = %+v, %v; want %+v, error %v", tt.expr, got, err, tt.want, tt.wantErr)
		}
	}
}
