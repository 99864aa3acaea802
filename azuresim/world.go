package azuresim

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// World is the emulated estate: Entra tenants with what they own, and the
// app registrations that sign in to them. It is the input of the emulator;
// its JSON form is documented by testdata/world.json. After New, the spec is
// read-only; live state (connectors, rules, flags) lives in TenantState.
type World struct {
	Tenants []*Tenant `json:"tenants"`
	// Apps are app registrations. A multi-tenant app signs in to every tenant
	// that has a service principal for its client id.
	Apps []*AppRegistration `json:"apps,omitempty"`
	// RoleDefinitions adds custom Azure RBAC roles to the built-in ones.
	RoleDefinitions []*RoleDefinition `json:"roleDefinitions,omitempty"`
}

// Tenant is one Entra tenant (a customer) and the Azure resources it owns.
type Tenant struct {
	ID          string   `json:"id"` // Entra tenant id (GUID)
	DisplayName string   `json:"displayName,omitempty"`
	Domains     []string `json:"domains,omitempty"` // e.g. contoso.onmicrosoft.com; also accepted in token URLs

	Licenses          []License           `json:"licenses,omitempty"`
	Users             []*User             `json:"users,omitempty"`
	ServicePrincipals []*ServicePrincipal `json:"servicePrincipals,omitempty"`

	// ConsentNeeded: the first MicrosoftThreatProtection connect must be made
	// with a delegated (user) token; app-only tokens get 401 "Missing consent".
	ConsentNeeded bool `json:"consentNeeded,omitempty"`
	// UnifiedPortal: the tenant's workspaces are primary in the Defender
	// (unified) portal; connector edits through ARM are refused.
	UnifiedPortal bool `json:"unifiedPortal,omitempty"`

	MDISensors []MDISensor `json:"mdiSensors,omitempty"`
	// DataVolumes is events per working day per table (e.g.
	// "DeviceProcessEvents": 12000) that the tenant's Defender products
	// produce once connected; Saturdays and Sundays carry 40% of it (the
	// emulator's model of the week).
	DataVolumes map[string]int `json:"dataVolumes,omitempty"`

	Subscriptions   []*Subscription   `json:"subscriptions,omitempty"`
	Workspaces      []*Workspace      `json:"workspaces,omitempty"`
	RoleAssignments []*RoleAssignment `json:"roleAssignments,omitempty"`
}

// License is one subscribed SKU with its service plans (Graph subscribedSkus).
type License struct {
	SkuID         string        `json:"skuId"`
	SkuPartNumber string        `json:"skuPartNumber"`
	Enabled       int           `json:"enabled,omitempty"` // prepaid units
	ServicePlans  []ServicePlan `json:"servicePlans"`
}

// ServicePlan is one capability inside a SKU.
type ServicePlan struct {
	ServicePlanID      string `json:"servicePlanId"`
	ServicePlanName    string `json:"servicePlanName"`
	ProvisioningStatus string `json:"provisioningStatus,omitempty"` // "Success" when empty
}

// User is an Entra user object in a tenant.
type User struct {
	ID                string `json:"id"` // object id (GUID)
	UserPrincipalName string `json:"userPrincipalName"`
	DisplayName       string `json:"displayName,omitempty"`
	// UserType is "Member" (default) or "Guest" (B2B).
	UserType string `json:"userType,omitempty"`
	// DirectoryRoles are Entra role template ids (see RoleSecurityAdministrator).
	DirectoryRoles []string `json:"directoryRoles,omitempty"`
	// Password enables the resource owner password grant for the user;
	// empty means the user cannot use it (as with MFA enforced).
	Password string `json:"password,omitempty"`
	// AppRoles are app roles assigned to the user, by resource app client
	// id, e.g. {"<api client id>": ["Admin"]}: the values go in the "roles"
	// claim of the user's delegated tokens for that app.
	AppRoles map[string][]string `json:"appRoles,omitempty"`
}

// IsGuest reports whether the user is a B2B guest.
func (u *User) IsGuest() bool { return strings.EqualFold(u.UserType, "Guest") }

// ServicePrincipal is an app's identity in a tenant (exists after consent).
type ServicePrincipal struct {
	ID          string `json:"id"`    // object id (GUID)
	AppID       string `json:"appId"` // client id of the app registration
	DisplayName string `json:"displayName,omitempty"`
	// AppRoles are application permissions granted, by token audience,
	// e.g. {"https://graph.microsoft.com": ["Directory.Read.All"]}.
	AppRoles map[string][]string `json:"appRoles,omitempty"`
	// DirectoryRoles are Entra role template ids held by the service principal.
	DirectoryRoles []string `json:"directoryRoles,omitempty"`
}

// MDISensor is a Defender for Identity sensor (Graph security/identities/sensors).
type MDISensor struct {
	ID           string `json:"id"`
	DisplayName  string `json:"displayName"`
	SensorType   string `json:"sensorType,omitempty"`   // e.g. "domainControllerIntegrated"
	HealthStatus string `json:"healthStatus,omitempty"` // e.g. "healthy"
	Version      string `json:"version,omitempty"`
}

// Subscription is an Azure subscription owned by the tenant.
type Subscription struct {
	ID          string `json:"id"` // GUID
	DisplayName string `json:"displayName,omitempty"`
	// RegisteredProviders are resource provider namespaces registered at start.
	RegisteredProviders []string `json:"registeredProviders,omitempty"`
}

// Workspace is a Log Analytics workspace (the Sentinel workspace).
type Workspace struct {
	SubscriptionID string `json:"subscriptionId"`
	ResourceGroup  string `json:"resourceGroup"`
	Name           string `json:"name"`
	Location       string `json:"location,omitempty"` // default "westeurope"
	CustomerID     string `json:"customerId"`         // GUID used by the Log Analytics query API
	// SentinelOnboarded: onboardingStates/default exists at start.
	SentinelOnboarded bool `json:"sentinelOnboarded,omitempty"`
	// UnifiedPortal locks this workspace even when the tenant flag is off.
	UnifiedPortal bool `json:"unifiedPortal,omitempty"`
	// AlertRules seeds analytics rules; nil seeds the default Microsoft
	// incident-creation rules (one per product, enabled); empty seeds none.
	AlertRules []json.RawMessage `json:"alertRules,omitempty"`
	// InstalledPackages seeds Content Hub packages: contentId -> version.
	InstalledPackages map[string]string `json:"installedPackages,omitempty"`
	// History is what happened to the workspace before the emulator
	// started; nil when nothing did.
	History *WorkspaceHistory `json:"history,omitempty"`
}

// ResourceID is the ARM id of the workspace.
func (w *Workspace) ResourceID() string {
	return fmt.Sprintf("/subscriptions/%s/resourceGroups/%s/providers/Microsoft.OperationalInsights/workspaces/%s",
		w.SubscriptionID, w.ResourceGroup, w.Name)
}

// RoleAssignment grants an Azure RBAC role to a principal at a scope.
type RoleAssignment struct {
	PrincipalID string `json:"principalId"` // user or service principal object id
	// RoleDefinition is a built-in role name ("Microsoft Sentinel Contributor"),
	// a custom role name, or a role definition GUID.
	RoleDefinition string `json:"roleDefinition"`
	// Scope is an ARM scope: /subscriptions/{id}[/resourceGroups/{rg}[/providers/...]].
	Scope string `json:"scope"`
}

// RoleDefinition is an Azure RBAC role: what it allows.
type RoleDefinition struct {
	ID             string   `json:"id"` // GUID
	Name           string   `json:"roleName"`
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions,omitempty"`
	DataActions    []string `json:"dataActions,omitempty"`
	NotDataActions []string `json:"notDataActions,omitempty"`
}

// AppRegistration is an Entra application (client) and its credentials.
type AppRegistration struct {
	ClientID    string `json:"clientId"`
	HomeTenant  string `json:"homeTenant"`
	DisplayName string `json:"displayName,omitempty"`
	// Secrets are accepted client secrets.
	Secrets []string `json:"secrets,omitempty"`
	// Certificates are PEM certificates whose keys may sign client assertions.
	Certificates []string `json:"certificates,omitempty"`
	// PublicClient allows public flows (device code).
	PublicClient bool `json:"publicClient,omitempty"`
	// DelegatedScopes are the delegated permissions (scp) granted through
	// "/.default", by audience. Missing audiences get "user_impersonation".
	DelegatedScopes map[string][]string `json:"delegatedScopes,omitempty"`
	// IdentifierURIs name the app as a resource (api://<client id>); the
	// sim accepts api://<client id> for every registered app regardless.
	IdentifierURIs []string `json:"identifierUris,omitempty"`
	// AppRoles are the roles the app defines as a resource; users and
	// service principals are assigned their values (User.AppRoles,
	// ServicePrincipal.AppRoles keyed by this app's client id).
	AppRoles []AppRole `json:"appRoles,omitempty"`
	// AccessTokenVersion is the access token version the app accepts as a
	// resource (the manifest's requestedAccessTokenVersion): 2 gives its
	// tokens ver "2.0" and preferred_username; 0 or 1 gives v1 claims.
	AccessTokenVersion int `json:"accessTokenVersion,omitempty"`
}

// AppRole is a role an app defines (the manifest's appRoles entry).
type AppRole struct {
	ID          string `json:"id"` // GUID
	Value       string `json:"value"`
	DisplayName string `json:"displayName,omitempty"`
	Description string `json:"description,omitempty"`
	// AllowedMemberTypes are "User" and/or "Application".
	AllowedMemberTypes []string `json:"allowedMemberTypes,omitempty"`
}

// LoadWorldFile reads a world from a JSON file.
func LoadWorldFile(path string) (*World, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return LoadWorld(f)
}

// LoadWorld decodes a world from JSON, rejecting unknown fields, and validates it.
func LoadWorld(r io.Reader) (*World, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var w World
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("azuresim: decode world: %w", err)
	}
	if _, err := indexWorld(&w); err != nil {
		return nil, err
	}
	return &w, nil
}
