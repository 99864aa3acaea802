package azuresim

import (
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// DemoKind is what a demo customer's tenant is set up to show.
type DemoKind string

// The demo customer kinds. Every kind but DemoHealthy breaks one
// prerequisite of onboarding and leaves the others in order.
const (
	DemoHealthy          DemoKind = "healthy"
	DemoConsentNeeded    DemoKind = "consent-needed"
	DemoNoLicense        DemoKind = "no-license"
	DemoNoSecurityAdmin  DemoKind = "security-admin-missing"
	DemoRBACMissing      DemoKind = "rbac-missing"
	DemoProviderMissing  DemoKind = "provider-unregistered"
	DemoUnifiedPortal    DemoKind = "unified-portal"
	DemoNoDefenderForIdP DemoKind = "no-defender-for-identity"
)

// demoDescriptions say, per kind, what is wrong and what xdrlink should report.
var demoDescriptions = map[DemoKind]string{
	DemoHealthy:          "Everything is in place: the app's credentials connect incidents and alerts, the Security Administrator's sign-in turns on table streaming, and data starts to flow.",
	DemoConsentNeeded:    "The first Defender XDR connect with app credentials fails with 401 \"Missing consent\"; xdrlink should ask for one delegated sign-in by the customer's Security Administrator, after which app-only updates work.",
	DemoNoLicense:        "The tenant has Microsoft 365 E3 and no Defender XDR (MTP) licence; the connect fails with InvalidLicense and xdrlink should report the missing licence.",
	DemoNoSecurityAdmin:  "No member user holds Security Administrator or Global Administrator, so no delegated sign-in can clear consent or enable streaming; xdrlink should report that the customer must assign the role.",
	DemoRBACMissing:      "The app's service principal has only Reader on the workspace; Sentinel writes fail with 403 AuthorizationFailed and xdrlink should report the missing Microsoft Sentinel Contributor assignment.",
	DemoProviderMissing:  "Microsoft.SecurityInsights is not registered on the subscription and the app may not register it; Sentinel calls fail with 409 MissingSubscriptionRegistration and xdrlink should report it.",
	DemoUnifiedPortal:    "The workspace is managed in the Defender (unified) portal; connector changes are refused with the unified-portal lockout message and xdrlink should report that the portal owns the connector.",
	DemoNoDefenderForIdP: "Defender for Identity has no sensors; enabling entity sync (EntityAnalytics with ActiveDirectory) fails and xdrlink should report MDI as not deployed while the rest onboards.",
}

// DemoCustomer is one customer of the demo world, as a sandbox user sees it.
type DemoCustomer struct {
	ID             string   `json:"id"` // registry id: lower-case letters, digits, hyphens
	DisplayName    string   `json:"displayName"`
	Kind           DemoKind `json:"kind,omitempty"` // empty for tenants of a world not made by DemoWorld
	Description    string   `json:"description,omitempty"`
	EntraTenantID  string   `json:"entraTenantId"`
	SubscriptionID string   `json:"subscriptionId,omitempty"`
	ResourceGroup  string   `json:"resourceGroup,omitempty"`
	WorkspaceName  string   `json:"workspaceName,omitempty"`
	Region         string   `json:"region,omitempty"`
	// AdminUPN is the member Security Administrator who can approve a
	// device-code sign-in; empty when the tenant has none.
	AdminUPN string `json:"adminUpn"`
	// Tables are the advanced-hunting tables the workspace's streaming
	// entry already sends (its history); empty when it has none.
	Tables []string `json:"tables,omitempty"`
}

// demoCustomers are the demo world's customers in order: a majority
// healthy, two of every other kind.
var demoCustomers = []struct {
	id, name string
	kind     DemoKind
}{
	{"contoso", "Contoso", DemoHealthy},
	{"fabrikam", "Fabrikam", DemoHealthy},
	{"northwind-traders", "Northwind Traders", DemoHealthy},
	{"tailspin-toys", "Tailspin Toys", DemoHealthy},
	{"adventure-works", "Adventure Works", DemoHealthy},
	{"litware", "Litware", DemoHealthy},
	{"wingtip-toys", "Wingtip Toys", DemoHealthy},
	{"woodgrove-bank", "Woodgrove Bank", DemoHealthy},
	{"proseware", "Proseware", DemoHealthy},
	{"alpine-ski-house", "Alpine Ski House", DemoHealthy},
	{"coho-winery", "Coho Winery", DemoHealthy},
	{"bellows-college", "Bellows College", DemoHealthy},
	{"nod-publishers", "Nod Publishers", DemoHealthy},
	{"vanarsdel", "VanArsdel", DemoHealthy},
	{"best-for-you-organics", "Best For You Organics", DemoHealthy},
	{"fourth-coffee", "Fourth Coffee", DemoConsentNeeded},
	{"lucerne-publishing", "Lucerne Publishing", DemoConsentNeeded},
	{"margies-travel", "Margie's Travel", DemoNoLicense},
	{"wide-world-importers", "Wide World Importers", DemoNoLicense},
	{"trey-research", "Trey Research", DemoNoSecurityAdmin},
	{"relecloud", "Relecloud", DemoNoSecurityAdmin},
	{"humongous-insurance", "Humongous Insurance", DemoRBACMissing},
	{"adatum", "A. Datum Corporation", DemoRBACMissing},
	{"blue-yonder-airlines", "Blue Yonder Airlines", DemoProviderMissing},
	{"city-power-and-light", "City Power & Light", DemoProviderMissing},
	{"graphic-design-institute", "Graphic Design Institute", DemoUnifiedPortal},
	{"school-of-fine-art", "School of Fine Art", DemoUnifiedPortal},
	{"consolidated-messenger", "Consolidated Messenger", DemoNoDefenderForIdP},
	{"southridge-video", "Southridge Video", DemoNoDefenderForIdP},
}

var demoRegions = []string{"westeurope", "northeurope", "uksouth", "eastus", "westus2"}

// demoHistory is what happened before the sandbox started to the few
// healthy customers that were already connected (nil for the others), so
// the sandbox's ingestion series have a past: a steady customer, one whose
// table stopped a few days ago, one whose streaming was changed in the
// portal.
func demoHistory(slug string) *WorkspaceHistory {
	const day = Duration(24 * time.Hour)
	switch slug {
	case "vanarsdel":
		return &WorkspaceHistory{ConnectedAgo: 9 * day,
			Tables: []string{"DeviceProcessEvents", "DeviceNetworkEvents", "DeviceLogonEvents", "IdentityLogonEvents"}}
	case "best-for-you-organics":
		return &WorkspaceHistory{ConnectedAgo: 12 * day, Tables: []string{"DeviceProcessEvents", "DeviceFileEvents"},
			Silent: map[string]Duration{"DeviceFileEvents": 3 * day}}
	case "nod-publishers":
		return &WorkspaceHistory{ConnectedAgo: 20 * day, Tables: []string{"DeviceProcessEvents"},
			StreamingChanges: []StreamingChange{{Ago: 2 * day, Enable: []string{"DeviceRegistryEvents"}}}}
	}
	return nil
}

// DemoWorld builds the sandbox demo world: the MSSP tenant (Tenants[0]) and
// its multi-tenant app (Apps[0], secret GeneratedAppSecret), consented in
// 29 fictional customer tenants whose kinds each break one onboarding
// prerequisite (DemoKind); three healthy ones were connected before the
// sandbox started (demoHistory). The MSSP tenant also holds the staff who
// sign in to xdrlink itself (DemoStaff, Sim.StaffIdentity). Every id is
// derived from a name, so the world is the same on every run. Pass both
// results to Start:
// Options{World: w, Customers: customers}.
func DemoWorld() (*World, []DemoCustomer) {
	mssp, app := newMSSP(stableUUID("azuresim-demo", "mssp"), stableUUID("azuresim-demo", "app"))
	w := &World{Tenants: []*Tenant{mssp}, Apps: []*AppRegistration{app}, RoleDefinitions: []*RoleDefinition{roleRPRegistrar}}
	addStaff(w, mssp)
	customers := make([]DemoCustomer, 0, len(demoCustomers))
	for i, dc := range demoCustomers {
		t, c := demoTenant(dc.id, dc.name, dc.kind, demoRegions[i%len(demoRegions)], app)
		w.Tenants = append(w.Tenants, t)
		customers = append(customers, c)
	}
	return w, customers
}

// demoTenant builds a healthy customer tenant, then breaks what its kind says.
func demoTenant(slug, name string, kind DemoKind, region string, app *AppRegistration) (*Tenant, DemoCustomer) {
	id := func(part string) string { return stableUUID("azuresim-demo", slug, part) }
	domain := strings.ReplaceAll(slug, "-", "") + ".onmicrosoft.com"
	admin := &User{ID: id("secadmin"), UserPrincipalName: "secadmin@" + domain, DisplayName: name + " Security Admin",
		DirectoryRoles: []string{RoleSecurityAdministrator}}
	analyst := &User{ID: id("analyst"), UserPrincipalName: "analyst@" + domain, DisplayName: name + " Analyst"}
	sp := appServicePrincipal(id("sp"), app)
	sub := &Subscription{ID: id("subscription"), DisplayName: name + " Security", RegisteredProviders: slices.Clone(sentinelProviders)}
	ws := &Workspace{SubscriptionID: sub.ID, ResourceGroup: "rg-sentinel", Name: "ws-" + slug, Location: region, CustomerID: id("workspace"),
		History: demoHistory(slug)}
	h := fnv.New32a()
	h.Write([]byte(slug))
	t := &Tenant{
		ID: id("tenant"), DisplayName: name, Domains: []string{domain},
		Licenses: []License{licenseE5()}, Users: []*User{admin, analyst}, ServicePrincipals: []*ServicePrincipal{sp},
		MDISensors:    []MDISensor{mdiSensor(id("dc01"), 0), mdiSensor(id("dc02"), 1)},
		DataVolumes:   scaledVolumes(0.3 + float64(h.Sum32()%100)/60), // 0.3x to 1.95x, stable per name
		Subscriptions: []*Subscription{sub}, Workspaces: []*Workspace{ws},
		RoleAssignments: customerRoleAssignments(sub.ID, ws.ResourceGroup, sp.ID, "Microsoft Sentinel Contributor", admin.ID, analyst.ID),
	}
	withoutSP := func() []*RoleAssignment {
		return slices.DeleteFunc(t.RoleAssignments, func(ra *RoleAssignment) bool { return ra.PrincipalID == sp.ID })
	}
	switch kind {
	case DemoConsentNeeded:
		t.ConsentNeeded = true
	case DemoNoLicense:
		t.Licenses = []License{licenseE3()}
	case DemoNoSecurityAdmin:
		// The person who looks after Azure holds no Entra role; the app's
		// service principal holds none either (it never does here).
		admin.UserPrincipalName, admin.DisplayName, admin.DirectoryRoles = "itadmin@"+domain, name+" IT Admin", nil
	case DemoRBACMissing:
		t.RoleAssignments = append(withoutSP(), &RoleAssignment{PrincipalID: sp.ID, RoleDefinition: "Reader", Scope: ws.ResourceID()})
	case DemoProviderMissing:
		sub.RegisteredProviders = slices.DeleteFunc(sub.RegisteredProviders, func(p string) bool { return p == "Microsoft.SecurityInsights" })
		t.RoleAssignments = append(withoutSP(), &RoleAssignment{PrincipalID: sp.ID, RoleDefinition: "Microsoft Sentinel Contributor",
			Scope: "/subscriptions/" + sub.ID + "/resourceGroups/" + ws.ResourceGroup})
	case DemoUnifiedPortal:
		t.UnifiedPortal = true
	case DemoNoDefenderForIdP:
		t.MDISensors = nil
	}
	c := DemoCustomer{ID: slug, DisplayName: name, Kind: kind, Description: demoDescriptions[kind], EntraTenantID: t.ID,
		SubscriptionID: sub.ID, ResourceGroup: ws.ResourceGroup, WorkspaceName: ws.Name, Region: region, AdminUPN: upnOf(memberSecurityAdmin(t))}
	if ws.History != nil {
		c.Description = ws.History.describe() + " Everything is in place: xdrlink should reuse the existing connector and streaming entry, and its ingestion series show that past."
		c.Tables = ws.History.Streamed()
	}
	return t, c
}

// memberSecurityAdmin is the tenant's first member user holding Security
// Administrator or Global Administrator: who can approve a sign-in that the
// connector and the streaming API accept.
func memberSecurityAdmin(t *Tenant) *User {
	for _, u := range t.Users {
		if !u.IsGuest() && hasAnyRole(u, RoleSecurityAdministrator, RoleGlobalAdministrator) {
			return u
		}
	}
	return nil
}

func upnOf(u *User) string {
	if u == nil {
		return ""
	}
	return u.UserPrincipalName
}

// Customers lists the sim's customers: Options.Customers when given (the
// demo world's), else one entry per workspace of every tenant (per tenant
// when it has none), with what the world says about it.
func (s *Sim) Customers() []DemoCustomer {
	if s.opts.Customers != nil {
		return slices.Clone(s.opts.Customers)
	}
	var out []DemoCustomer
	for _, t := range s.Tenants() {
		c := DemoCustomer{ID: strings.ToLower(t.Spec.ID), DisplayName: t.Spec.DisplayName, EntraTenantID: t.Spec.ID, AdminUPN: upnOf(memberSecurityAdmin(t.Spec))}
		if len(t.Spec.Domains) > 0 {
			c.ID, _, _ = strings.Cut(strings.ToLower(t.Spec.Domains[0]), ".")
		}
		if len(t.Spec.Workspaces) == 0 {
			out = append(out, c)
		}
		for _, ws := range t.Spec.Workspaces {
			c.SubscriptionID, c.ResourceGroup, c.WorkspaceName, c.Region = ws.SubscriptionID, ws.ResourceGroup, ws.Name, ws.Location
			c.Description, c.Tables = "", ws.History.Streamed()
			if ws.History != nil {
				c.Description = ws.History.describe()
			}
			out = append(out, c)
		}
	}
	return out
}
