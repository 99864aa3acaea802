package daemon

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/prereq"
)

// sandboxTenant registers a tenant pointing at a sandbox-world customer
// whose workspace's subscription has Microsoft.OperationalInsights
// registered, so the workspace GET can pass.
func sandboxTenant(t *testing.T, d *Daemon, api tenantAPI, id string) string {
	t.Helper()
	for _, ts := range d.azure.sandbox.Tenants()[1:] { // [0] is the MSSP's own tenant
		wt := ts.Spec
		ws := wt.Workspaces[0]
		for _, sub := range wt.Subscriptions {
			if sub.ID != ws.SubscriptionID || !slices.Contains(sub.RegisteredProviders, "Microsoft.OperationalInsights") {
				continue
			}
			tn, err := api.Create(context.Background(), &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: &xdrlinkv1.Tenant{
				EntraTenantId: wt.ID,
				Workspace: &xdrlinkv1.Workspace{SubscriptionId: ws.SubscriptionID, ResourceGroup: ws.ResourceGroup,
					Name: ws.Name, Region: ws.Location},
			}})
			if status.Code(err) == codes.AlreadyExists {
				continue // an earlier subtest registered this workspace
			}
			if err != nil {
				t.Fatal(err)
			}
			return tn.GetName()
		}
	}
	t.Fatal("no sandbox tenant with Microsoft.OperationalInsights registered")
	return ""
}

// checkPrerequisites calls the RPC over gRPC or REST.
type checkPrerequisites func(ctx context.Context, name string) (*xdrlinkv1.PrerequisiteReport, error)

func TestCheckPrerequisites(t *testing.T) {
	d := startDaemon(t)
	grpcCheck := func(ctx context.Context, name string) (*xdrlinkv1.PrerequisiteReport, error) {
		return dial(t, d).Onboarding.CheckPrerequisites(ctx, &xdrlinkv1.CheckPrerequisitesRequest{Name: name})
	}
	restCheck := func(ctx context.Context, name string) (*xdrlinkv1.PrerequisiteReport, error) {
		resp, err := newREST(d).raw(ctx, http.MethodPost, "/v1/"+name+":checkPrerequisites", "{}")
		if err != nil {
			return nil, err
		}
		out := &xdrlinkv1.PrerequisiteReport{}
		return out, decodeREST(resp, out)
	}
	for _, tc := range []struct {
		transport string
		api       tenantAPI
		check     checkPrerequisites
	}{
		{"grpc", grpcAPI{c: dial(t, d).Tenants}, grpcCheck},
		{"rest", newREST(d), restCheck},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			ctx := context.Background()
			name := sandboxTenant(t, d, tc.api, "prereq-"+tc.transport)
			r, err := tc.check(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			if r.GetTenant() != name || r.GetCheckTime() == nil || len(r.GetChecks()) == 0 {
				t.Fatalf("report tenant %q, check_time %v, %d checks", r.GetTenant(), r.GetCheckTime(), len(r.GetChecks()))
			}
			anyFailed, workspacePassed := false, false
			for _, c := range r.GetChecks() {
				anyFailed = anyFailed || c.GetResult() == xdrlinkv1.PrerequisiteCheck_RESULT_FAILED
				if c.GetId() == prereq.IDWorkspace {
					workspacePassed = c.GetCategory() == xdrlinkv1.PrerequisiteCheck_CATEGORY_WORKSPACE &&
						c.GetResult() == xdrlinkv1.PrerequisiteCheck_RESULT_PASSED
				}
			}
			if !workspacePassed {
				t.Errorf("no WORKSPACE check PASSED: %v", r.GetChecks())
			}
			if r.GetReady() == anyFailed {
				t.Errorf("ready = %v, a check FAILED = %v", r.GetReady(), anyFailed)
			}

			_, err = tc.check(ctx, "tenants/no-such-tenant")
			if code := status.Code(err); code != codes.NotFound {
				t.Errorf("unknown tenant: %v (%v), want NotFound", code, err)
			}
		})
	}
}
