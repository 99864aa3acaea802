package azuresim

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// GeneratedAppSecret is the client secret of the MSSP app in generated worlds
// (World.Apps[0]); the same app has a service principal in every tenant.
const GeneratedAppSecret = "xdrlink-sim-secret"

// Generated-world mix: shares of tenants with each trait. Deterministic for a
// seed; tests rely on the mix being non-trivial, not on exact shares.
const (
	genShareNoMTPLicence   = 0.08
	genShareConsentNeeded  = 0.30
	genShareUnifiedPortal  = 0.05
	genShareNoMDI          = 0.25
	genShareUnregisteredRP = 0.20
	genShareOnboarded      = 0.50
	genShareReaderOnly     = 0.04
)

var (
	planE5 = []ServicePlan{
		{ServicePlanID: "bf28f719-7844-4079-9c78-c1307898e192", ServicePlanName: "MTP"},
		{ServicePlanID: "871d91ec-ec1a-452b-a83f-bd76c7d770ef", ServicePlanName: "WINDEFATP"},
		{ServicePlanID: "14ab5db5-e6c4-4b20-b4bc-13e36fd2227f", ServicePlanName: "ATA"},
		{ServicePlanID: "f20fedf3-f3c3-43c3-8267-2bfdd51c0939", ServicePlanName: "ATP_ENTERPRISE"},
		{ServicePlanID: "8e0c0a52-6a6c-4d40-8370-dd62790dcd70", ServicePlanName: "THREAT_INTELLIGENCE"},
		{ServicePlanID: "2e2ddb96-6af9-4b1d-a3f0-d6ecfd22edb2", ServicePlanName: "ADALLOM_S_STANDALONE"},
		{ServicePlanID: "eec0eb4f-6444-4f95-aba0-50c24d67f998", ServicePlanName: "AAD_PREMIUM_P2"},
	}
	planE3 = []ServicePlan{{ServicePlanID: "292cc034-7b7c-4950-aaf5-943befd3f1d4", ServicePlanName: "MDE_LITE"}}

	genTables = map[string]int{
		"DeviceInfo": 2000, "DeviceNetworkInfo": 3000, "DeviceProcessEvents": 40000, "DeviceNetworkEvents": 30000,
		"DeviceFileEvents": 20000, "DeviceRegistryEvents": 15000, "DeviceLogonEvents": 5000, "DeviceImageLoadEvents": 25000,
		"DeviceEvents": 18000, "DeviceFileCertificateInfo": 1000, "EmailEvents": 6000, "EmailAttachmentInfo": 1500,
		"EmailUrlInfo": 4000, "EmailPostDeliveryEvents": 200, "UrlClickEvents": 800, "IdentityLogonEvents": 3000,
		"IdentityQueryEvents": 2500, "IdentityDirectoryEvents": 600, "CloudAppEvents": 7000, "AlertInfo": 50,
		"AlertEvidence": 300, "SecurityIncident": 5, "SecurityAlert": 60,
	}
)

// sentinelProviders are the resource providers a ready subscription has.
var sentinelProviders = []string{"Microsoft.OperationalInsights", "Microsoft.SecurityInsights", "Microsoft.Insights"}

// roleRPRegistrar lets the MSSP app register resource providers.
var roleRPRegistrar = &RoleDefinition{ID: "c0000000-0000-4000-8000-0000000000fe", Name: "Resource Provider Registrar", Actions: []string{"*/register/action"}}

// The building blocks below are shared by GenerateWorld and DemoWorld; the
// caller supplies every id, so each world keeps its own way of making them.

// newMSSP is the MSSP's own tenant and its multi-tenant app (secret
// GeneratedAppSecret, public flows allowed for the device-code sign-in).
func newMSSP(tenantID, clientID string) (*Tenant, *AppRegistration) {
	mssp := &Tenant{ID: tenantID, DisplayName: "MSSP", Domains: []string{"mssp.onmicrosoft.com"}}
	app := &AppRegistration{ClientID: clientID, HomeTenant: mssp.ID, DisplayName: "xdrlink", Secrets: []string{GeneratedAppSecret},
		PublicClient: true, DelegatedScopes: map[string][]string{AudienceGraph: {"User.Read", "RoleManagement.Read.Directory", "Directory.Read.All"}}}
	return mssp, app
}

// licenseE5 has the Defender XDR (MTP) plan; licenseE3 has no Defender SKU
// that carries it.
func licenseE5() License {
	return License{SkuID: "06e2b970-d779-4be0-9168-26d6e502024e", SkuPartNumber: "SPE_E5", Enabled: 50, ServicePlans: planE5}
}

func licenseE3() License {
	return License{SkuID: "00000000-0000-4000-8000-0000000000e3", SkuPartNumber: "SPE_E3", Enabled: 50, ServicePlans: planE3}
}

// appServicePrincipal is the MSSP app's identity in a customer tenant, with
// the Graph permissions xdrlink's prerequisite checks read.
func appServicePrincipal(id string, app *AppRegistration) *ServicePrincipal {
	return &ServicePrincipal{ID: id, AppID: app.ClientID, DisplayName: app.DisplayName,
		AppRoles: map[string][]string{AudienceGraph: {"Directory.Read.All", "Organization.Read.All", "RoleManagement.Read.Directory", "SecurityIdentitiesSensors.Read.All"}}}
}

// mdiSensor is the n-th (from 0) domain controller sensor.
func mdiSensor(id string, n int) MDISensor {
	return MDISensor{ID: id, DisplayName: fmt.Sprintf("DC%02d", n+1), SensorType: "domainControllerIntegrated", HealthStatus: "healthy", Version: "2.230.0"}
}

// scaledVolumes is the Defender tables' daily volumes times scale.
func scaledVolumes(scale float64) map[string]int {
	v := make(map[string]int, len(genTables))
	for table, n := range genTables {
		v[table] = int(float64(n) * scale)
	}
	return v
}

// customerRoleAssignments: the app gets spRole on the workspace resource
// group and may register providers; the admin is subscription Contributor
// and the analyst Sentinel Reader.
func customerRoleAssignments(sub, rg, spID, spRole, adminID, analystID string) []*RoleAssignment {
	rgScope := "/subscriptions/" + sub + "/resourceGroups/" + rg
	return []*RoleAssignment{
		{PrincipalID: spID, RoleDefinition: spRole, Scope: rgScope},
		{PrincipalID: spID, RoleDefinition: roleRPRegistrar.Name, Scope: "/subscriptions/" + sub},
		{PrincipalID: adminID, RoleDefinition: "Contributor", Scope: "/subscriptions/" + sub},
		{PrincipalID: analystID, RoleDefinition: "Microsoft Sentinel Reader", Scope: rgScope},
	}
}

// GenerateWorld builds a deterministic world of n customer tenants plus the
// MSSP's own tenant (Tenants[0]) and app (Apps[0], secret GeneratedAppSecret).
// Each customer has one subscription, one workspace (rg-sentinel/ws-<n>), a
// member Security Administrator (secadmin@<domain>), an analyst, and the app's
// service principal with Microsoft Sentinel Contributor on the resource group.
// Traits (licence, consent, unified portal, MDI, RP registration, onboarding,
// RBAC) vary per tenant with the shares above. The MSSP tenant holds the
// staff apps and users of DemoStaff (with this world's tenant id).
func GenerateWorld(n int, seed uint64) *World {
	rng := rand.New(rand.NewPCG(seed, seed^0xa5a5a5a5deadbeef))
	uuid := func() string {
		var b [16]byte
		x, y := rng.Uint64(), rng.Uint64()
		for i := 0; i < 8; i++ {
			b[i], b[8+i] = byte(x>>(8*i)), byte(y>>(8*i))
		}
		return formatUUID(b)
	}
	mssp, app := newMSSP(uuid(), uuid())
	w := &World{Tenants: make([]*Tenant, 0, n+1), Apps: []*AppRegistration{app}, RoleDefinitions: []*RoleDefinition{roleRPRegistrar}}
	w.Tenants = append(w.Tenants, mssp)
	for i := 0; i < n; i++ {
		w.Tenants = append(w.Tenants, generateTenant(i, rng, uuid, app))
	}
	addStaff(w, mssp) // after the draws: the customers stay as they were
	return w
}

// generateTenant draws ids and traits in a fixed order: changing the order
// changes every generated world.
func generateTenant(i int, rng *rand.Rand, uuid func() string, app *AppRegistration) *Tenant {
	domain := fmt.Sprintf("customer%05d.onmicrosoft.com", i)
	t := &Tenant{ID: uuid(), DisplayName: fmt.Sprintf("Customer %05d", i), Domains: []string{domain}}
	if rng.Float64() < genShareNoMTPLicence {
		t.Licenses = []License{licenseE3()}
	} else {
		t.Licenses = []License{licenseE5()}
	}
	t.ConsentNeeded = rng.Float64() < genShareConsentNeeded
	t.UnifiedPortal = rng.Float64() < genShareUnifiedPortal
	secAdmin := &User{ID: uuid(), UserPrincipalName: "secadmin@" + domain, DisplayName: "Security Admin", DirectoryRoles: []string{RoleSecurityAdministrator}}
	analyst := &User{ID: uuid(), UserPrincipalName: "analyst@" + domain, DisplayName: "Analyst"}
	t.Users = []*User{secAdmin, analyst}
	sp := appServicePrincipal(uuid(), app)
	t.ServicePrincipals = []*ServicePrincipal{sp}
	if rng.Float64() >= genShareNoMDI {
		for s := 0; s < 1+rng.IntN(3); s++ {
			t.MDISensors = append(t.MDISensors, mdiSensor(uuid(), s))
		}
	}
	t.DataVolumes = scaledVolumes(0.2 + rng.Float64()*1.8)
	sub := &Subscription{ID: uuid(), DisplayName: "Security"}
	if rng.Float64() >= genShareUnregisteredRP {
		sub.RegisteredProviders = slices.Clone(sentinelProviders)
	}
	t.Subscriptions = []*Subscription{sub}
	ws := &Workspace{SubscriptionID: sub.ID, ResourceGroup: "rg-sentinel", Name: fmt.Sprintf("ws-%05d", i),
		Location: "westeurope", CustomerID: uuid(), SentinelOnboarded: rng.Float64() < genShareOnboarded}
	t.Workspaces = []*Workspace{ws}
	role := "Microsoft Sentinel Contributor"
	if rng.Float64() < genShareReaderOnly {
		role = "Microsoft Sentinel Reader"
	}
	t.RoleAssignments = customerRoleAssignments(sub.ID, ws.ResourceGroup, sp.ID, role, secAdmin.ID, analyst.ID)
	return t
}
