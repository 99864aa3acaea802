package prereq

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/graph"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Fixture tenants of azuresim/testdata/world.json.
const (
	contoso   = "20000000-0000-4000-8000-000000000000" // licensed, MDI, Microsoft.Insights unregistered
	fabrikam  = "30000000-0000-4000-8000-000000000000" // Owner, no providers registered, no MDI
	northwind = "40000000-0000-4000-8000-000000000000" // unified portal, no Defender XDR licence (Graph readable, SP is Security Administrator: see startSim)
	contosoSP = "20000000-0000-4000-8000-0000000000b1"
	contosoSb = "20000000-0000-4000-8000-0000000000c1"
)

var (
	contosoWS   = armclient.Workspace{SubscriptionID: contosoSb, ResourceGroup: "rg-sentinel", Name: "ws-contoso"}
	readerWS    = armclient.Workspace{SubscriptionID: contosoSb, ResourceGroup: "rg-readonly", Name: "ws-readonly"}
	fabrikamWS  = armclient.Workspace{SubscriptionID: "30000000-0000-4000-8000-0000000000c1", ResourceGroup: "rg-soc", Name: "ws-fabrikam"}
	northwindWS = armclient.Workspace{SubscriptionID: "40000000-0000-4000-8000-0000000000c1", ResourceGroup: "rg-sec", Name: "ws-northwind"}
)

const (
	P = xdrlinkv1.PrerequisiteCheck_RESULT_PASSED
	F = xdrlinkv1.PrerequisiteCheck_RESULT_FAILED
	W = xdrlinkv1.PrerequisiteCheck_RESULT_WARNING
	S = xdrlinkv1.PrerequisiteCheck_RESULT_SKIPPED
	U = xdrlinkv1.PrerequisiteCheck_RESULT_UNKNOWN
)

// startSim serves world.json plus a reader-only workspace in Contoso: the
// app's service principal is only Reader on its resource group.
func startSim(t *testing.T) (*azuresim.Sim, *azuresim.World) {
	t.Helper()
	world, err := azuresim.LoadWorldFile("../../azuresim/testdata/world.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range world.Tenants {
		if tn.ID == contoso {
			tn.Workspaces = append(tn.Workspaces, &azuresim.Workspace{SubscriptionID: contosoSb, ResourceGroup: "rg-readonly",
				Name: "ws-readonly", Location: "westeurope", CustomerID: "20000000-0000-4000-8000-0000000000e9", SentinelOnboarded: true})
			tn.RoleAssignments = append(tn.RoleAssignments, &azuresim.RoleAssignment{PrincipalID: contosoSP, RoleDefinition: "Reader",
				Scope: "/subscriptions/" + contosoSb + "/resourceGroups/rg-readonly"})
		}
		if tn.ID == northwind { // so its missing licence and sensors are readable
			tn.ServicePrincipals[0].AppRoles = map[string][]string{"https://graph.microsoft.com": {"Directory.Read.All", "SecurityIdentitiesSensors.Read.All"}}
			tn.ServicePrincipals[0].DirectoryRoles = []string{graph.RoleSecurityAdministrator}
		}
	}
	sim, err := azuresim.Start(azuresim.Options{World: world, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim, world
}

// newChecker wires the real clients to sim, with the app's secret (or a
// wrong one) in profile "mssp" and no retries so injected faults surface.
func newChecker(t *testing.T, sim *azuresim.Sim, world *azuresim.World, secret string) *Checker {
	t.Helper()
	endpoints, err := cloud.Resolve(cloud.Setting{Name: cloud.Custom, URL: sim.URL()})
	if err != nil {
		t.Fatal(err)
	}
	ob, err := outbound.New(outbound.Config{Cloud: endpoints, Transport: sim.HTTPClient(), Retry: policy.RetryOptions{MaxRetries: -1}})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := credential.NewProvider(credential.Options{
		Cloud:         endpoints,
		ClientOptions: ob.TokenClientOptions(),
		Profiles: []credential.Profile{{Name: "mssp", Kind: credential.KindClientSecret,
			ClientID: world.Apps[0].ClientID, ClientSecretEnv: "SECRET"}},
		Getenv: func(string) string { return secret },
	})
	if err != nil {
		t.Fatal(err)
	}
	return New(Access{Endpoints: endpoints, Outbound: ob, Credentials: creds})
}

func TestCheck(t *testing.T) {
	sim, world := startSim(t)
	good := newChecker(t, sim, world, world.Apps[0].Secrets[0])
	rbac := func(action string) string { return RBACID(action) }
	tests := []struct {
		name   string
		tenant Tenant
		want   map[string]xdrlinkv1.PrerequisiteCheck_Result
		remedy map[string]string // id -> a substring of its remediation
	}{
		{"contoso: Microsoft.Insights unregistered", Tenant{EntraTenantID: contoso, Workspace: contosoWS}, map[string]xdrlinkv1.PrerequisiteCheck_Result{
			IDWorkspace: P, ProviderID("Microsoft.SecurityInsights"): P, ProviderID("Microsoft.OperationalInsights"): P,
			ProviderID("Microsoft.Insights"): F, rbac("Microsoft.SecurityInsights/dataConnectors/write"): P,
			IDLicenseMTP: P, IDConnectorLicense: P, IDConnectorAuthorized: P, IDEntraRoles: W, IDMDISensors: P, IDUnifiedPortal: S,
		}, map[string]string{ProviderID("Microsoft.Insights"): "az provider register --namespace Microsoft.Insights", IDEntraRoles: "Security Administrator"}},
		{"contoso reader-only workspace", Tenant{EntraTenantID: contoso, Workspace: readerWS}, map[string]xdrlinkv1.PrerequisiteCheck_Result{
			IDWorkspace: P, rbac("Microsoft.OperationalInsights/workspaces/read"): P,
			rbac("Microsoft.SecurityInsights/dataConnectors/write"): F, rbac("Microsoft.SecurityInsights/onboardingStates/write"): F,
			rbac("Microsoft.Resources/deployments/write"): F, IDLicenseMTP: P, IDConnectorAuthorized: F,
		}, map[string]string{rbac("Microsoft.SecurityInsights/dataConnectors/write"): "Microsoft Sentinel Contributor"}},
		{"contoso missing workspace", Tenant{EntraTenantID: contoso, Workspace: armclient.Workspace{SubscriptionID: contosoSb, ResourceGroup: "rg-sentinel", Name: "ws-gone"}},
			map[string]xdrlinkv1.PrerequisiteCheck_Result{IDWorkspace: F, IDLicenseMTP: P}, map[string]string{IDWorkspace: "create workspace ws-gone"}},
		// Fabrikam's service principal has no Graph application permissions.
		{"fabrikam: providers unregistered, no Graph permissions", Tenant{EntraTenantID: fabrikam, Workspace: fabrikamWS, EntitySync: true}, map[string]xdrlinkv1.PrerequisiteCheck_Result{
			IDWorkspace: F, ProviderID("Microsoft.SecurityInsights"): F, ProviderID("Microsoft.OperationalInsights"): F, ProviderID("Microsoft.Insights"): F,
			rbac("Microsoft.Resources/deployments/write"): P, IDLicenseMTP: F, IDMDISensors: F, IDConnectorLicense: F,
		}, map[string]string{IDWorkspace: "provider.", IDConnectorLicense: "provider.", IDLicenseMTP: "Organization.Read.All", IDMDISensors: "SecurityIdentitiesSensors.Read.All"}},
		{"fabrikam: entity sync off skips the unreadable sensors", Tenant{EntraTenantID: fabrikam, Workspace: fabrikamWS},
			map[string]xdrlinkv1.PrerequisiteCheck_Result{IDMDISensors: S}, nil},
		{"northwind: no MDI sensors with entity sync on", Tenant{EntraTenantID: northwind, Workspace: northwindWS, EntitySync: true},
			map[string]xdrlinkv1.PrerequisiteCheck_Result{IDMDISensors: W}, map[string]string{IDMDISensors: "Defender for Identity sensors"}},
		{"northwind: no licence, unified portal", Tenant{EntraTenantID: northwind, Workspace: northwindWS}, map[string]xdrlinkv1.PrerequisiteCheck_Result{
			IDWorkspace: P, ProviderID("Microsoft.Insights"): P, rbac("Microsoft.SecurityInsights/dataConnectors/write"): P,
			IDLicenseMTP: F, IDConnectorLicense: F, IDConnectorAuthorized: P, IDMDISensors: S, IDUnifiedPortal: S, IDEntraRoles: P,
		}, map[string]string{IDLicenseMTP: "Microsoft Defender XDR", IDConnectorLicense: "Microsoft Defender XDR"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.tenant.Name, tc.tenant.Profile = "tenants/x", "mssp"
			r := good.Check(context.Background(), tc.tenant)
			got := assertReport(t, r)
			for id, want := range tc.want {
				if got[id].GetResult() != want {
					t.Errorf("%s = %v (%q), want %v", id, got[id].GetResult(), got[id].GetMessage(), want)
				}
			}
			for id, want := range tc.remedy {
				if !strings.Contains(got[id].GetRemediation(), want) {
					t.Errorf("%s remediation %q, want it to mention %q", id, got[id].GetRemediation(), want)
				}
			}
		})
	}
}

// assertReport checks what holds for every report and indexes its checks.
func assertReport(t *testing.T, r *xdrlinkv1.PrerequisiteReport) map[string]*xdrlinkv1.PrerequisiteCheck {
	t.Helper()
	if r.GetTenant() != "tenants/x" || r.GetCheckTime() == nil {
		t.Errorf("tenant %q, check_time %v", r.GetTenant(), r.GetCheckTime())
	}
	got := map[string]*xdrlinkv1.PrerequisiteCheck{}
	anyFailed := false
	for _, c := range r.GetChecks() {
		got[c.GetId()] = c
		if c.GetResult() == F {
			anyFailed = true
			if c.GetRemediation() == "" {
				t.Errorf("%s FAILED without remediation", c.GetId())
			}
		}
		if c.GetCategory() == xdrlinkv1.PrerequisiteCheck_CATEGORY_UNSPECIFIED || c.GetMessage() == "" {
			t.Errorf("%s: category %v, message %q", c.GetId(), c.GetCategory(), c.GetMessage())
		}
	}
	if r.GetReady() == anyFailed {
		t.Errorf("ready = %v with a FAILED check: %v", r.GetReady(), anyFailed)
	}
	cat := catalog()
	if len(r.GetChecks()) != len(cat) {
		t.Fatalf("%d checks, want %d", len(r.GetChecks()), len(cat))
	}
	for i, e := range cat {
		if c := r.GetChecks()[i]; c.GetId() != e.id || c.GetCategory() != e.category {
			t.Errorf("check %d = %s/%v, want %s/%v", i, c.GetId(), c.GetCategory(), e.id, e.category)
		}
	}
	return got
}

func TestCheckAllPassedIsReady(t *testing.T) {
	sim, world := startSim(t)
	// Register Microsoft.Insights: then Contoso has no failed check left.
	if err := sim.RegisterProvider(contosoSb, "Microsoft.Insights"); err != nil {
		t.Fatal(err)
	}
	r := newChecker(t, sim, world, world.Apps[0].Secrets[0]).Check(context.Background(),
		Tenant{Name: "tenants/x", EntraTenantID: contoso, Workspace: contosoWS, Profile: "mssp"})
	assertReport(t, r)
	if !r.GetReady() {
		t.Errorf("not ready: %v", r.GetChecks())
	}
}

func TestCheckBadCredential(t *testing.T) {
	sim, world := startSim(t)
	r := newChecker(t, sim, world, "wrong-secret").Check(context.Background(),
		Tenant{Name: "tenants/x", EntraTenantID: contoso, Workspace: contosoWS, Profile: "mssp"})
	assertReport(t, r)
	for _, c := range r.GetChecks() {
		if c.GetResult() != F || !strings.Contains(c.GetRemediation(), `"mssp"`) {
			t.Errorf("%s: %v, remediation %q", c.GetId(), c.GetResult(), c.GetRemediation())
		}
	}
}

func TestCheckTransientIsCouldNotCheck(t *testing.T) {
	sim, world := startSim(t)
	if err := sim.SetFaults(azuresim.FaultConfig{ServerErrorRate: 1, Families: []string{"graph"}}); err != nil {
		t.Fatal(err)
	}
	r := newChecker(t, sim, world, world.Apps[0].Secrets[0]).Check(context.Background(),
		Tenant{Name: "tenants/x", EntraTenantID: contoso, Workspace: contosoWS, Profile: "mssp", EntitySync: true})
	got := assertReport(t, r)
	for _, id := range []string{IDLicenseMTP, IDEntraRoles, IDMDISensors} {
		c := got[id]
		if c.GetResult() != U || !strings.HasPrefix(c.GetMessage(), "could not check: ") || c.GetRemediation() != "retry" {
			t.Errorf("%s = %v %q / %q, want UNKNOWN could not check / retry", id, c.GetResult(), c.GetMessage(), c.GetRemediation())
		}
	}
	if got[IDWorkspace].GetResult() != P {
		t.Errorf("workspace = %v; ARM had no faults", got[IDWorkspace].GetResult())
	}
	if r.GetReady() {
		t.Error("ready with checks that could not run")
	}
}

// A preflight reads only: azcore's automatic provider registration, which
// would write on the 409 of an unregistered provider, must stay off.
func TestCheckDoesNotRegisterProviders(t *testing.T) {
	sim, world := startSim(t)
	newChecker(t, sim, world, world.Apps[0].Secrets[0]).Check(context.Background(),
		Tenant{Name: "tenants/x", EntraTenantID: fabrikam, Workspace: fabrikamWS, Profile: "mssp"})
	for _, ns := range []string{"Microsoft.OperationalInsights", "Microsoft.SecurityInsights", "Microsoft.Insights"} {
		if st := sim.ProviderRegistrationState(fabrikamWS.SubscriptionID, ns); st == "Registered" || st == "Registering" {
			t.Errorf("%s is %s after the preflight", ns, st)
		}
	}
}
