package azuresim

import (
	"slices"
	"strings"
)

// The MSSP's own staff sign in to xdrlink with OIDC bearer tokens from the
// MSSP tenant. DemoWorld and GenerateWorld register what that needs in the
// MSSP tenant (Tenants[0]): the "xdrlink API" resource app with its app
// roles, a public client for sign-ins, a confidential service app, and
// staff users with role assignments. Every id is fixed (stableUUID), so the
// product's sandbox wiring and tests can name them.

// Demo staff credentials. The sim serves loopback only, so the sandbox may
// publish them.
const (
	// DemoStaffPassword is every demo staff user's password (password grant).
	DemoStaffPassword = "xdrlink-sandbox-staff"
	// DemoServiceSecret is the client secret of the demo service app.
	DemoServiceSecret = "xdrlink-sandbox-service-secret"
)

// The xdrlink API's app role values. Scoped roles are a base role, a dot
// and an access group name ("Operator.pod-east").
const (
	StaffRoleAdmin    = "Admin"
	StaffRoleOperator = "Operator"
	StaffRoleViewer   = "Viewer"
)

// demoAccessGroups are the access groups the API app defines scoped roles
// for; the product decides which customers belong to which.
var demoAccessGroups = []string{"pod-east", "pod-west"}

// demoStaffUsers are the staff users: UPN local part, display name, roles.
// unassigned has no role: Entra still issues its token, without "roles".
var demoStaffUsers = []struct {
	local, name string
	roles       []string
}{
	{"admin", "MSSP Admin", []string{StaffRoleAdmin}},
	{"operator", "MSSP Operator", []string{StaffRoleOperator}},
	{"viewer", "MSSP Viewer", []string{StaffRoleViewer}},
	{"east-operator", "MSSP East Operator", []string{StaffRoleOperator + ".pod-east"}},
	{"west-viewer", "MSSP West Viewer", []string{StaffRoleViewer + ".pod-west"}},
	{"unassigned", "MSSP Unassigned", nil},
}

// demoServiceRoles are the xdrlink API roles of the demo service app.
var demoServiceRoles = []string{StaffRoleOperator}

func staffID(parts ...string) string {
	return stableUUID(append([]string{"azuresim-demo", "staff"}, parts...)...)
}

// StaffUser is one staff user of the MSSP tenant.
type StaffUser struct {
	UPN         string   `json:"upn"`
	ObjectID    string   `json:"objectId"` // also the token's oid and sub
	DisplayName string   `json:"displayName"`
	Password    string   `json:"password"`
	Roles       []string `json:"roles,omitempty"` // xdrlink API app role values
}

// StaffIdentity is what the product needs to accept the MSSP staff's tokens
// and what a person or script needs to get one.
type StaffIdentity struct {
	// TenantID is the MSSP tenant. Issuer, DiscoveryURL and TokenEndpoint
	// depend on the sim's URL: Sim.StaffIdentity fills them, DemoStaff
	// leaves them empty.
	TenantID      string `json:"tenantId"`
	Issuer        string `json:"issuer,omitempty"`       // oidc.NewProvider's issuer; tokens' iss
	DiscoveryURL  string `json:"discoveryUrl,omitempty"` // Issuer + /.well-known/openid-configuration
	TokenEndpoint string `json:"tokenEndpoint,omitempty"`
	// Audience is the aud of tokens for the xdrlink API, the verifier's
	// ClientID: the API app's client id (v2 tokens name the resource so).
	Audience string `json:"audience"`
	// APIClientID is the xdrlink API app's client id (equal to Audience).
	APIClientID      string `json:"apiClientId"`
	APIIdentifierURI string `json:"apiIdentifierUri"` // api://<APIClientID>
	// APIScope is the scope to request: APIIdentifierURI + "/.default".
	APIScope string `json:"apiScope"`
	// PublicClientID is a public client app (device code, password grant).
	PublicClientID string `json:"publicClientId"`
	// ServiceClientID and ServiceClientSecret are a confidential app whose
	// service principal holds ServiceRoles (client credentials grant).
	ServiceClientID     string   `json:"serviceClientId"`
	ServiceClientSecret string   `json:"serviceClientSecret"`
	ServiceRoles        []string `json:"serviceRoles"`
	// Groups are the access groups that scoped roles name.
	Groups []string    `json:"groups"`
	Users  []StaffUser `json:"users"`
}

// User finds a staff user by UPN or by the local part before the "@".
func (si StaffIdentity) User(name string) (StaffUser, bool) {
	for _, u := range si.Users {
		local, _, _ := strings.Cut(u.UPN, "@")
		if strings.EqualFold(u.UPN, name) || strings.EqualFold(local, name) {
			return u, true
		}
	}
	return StaffUser{}, false
}

// DemoStaff describes the staff setup of DemoWorld's (and GenerateWorld's)
// MSSP tenant, without the URLs; the tenant id is DemoWorld's.
func DemoStaff() StaffIdentity {
	return demoStaff(stableUUID("azuresim-demo", "mssp"), "mssp.onmicrosoft.com")
}

func demoStaff(tenantID, domain string) StaffIdentity {
	api := staffID("xdrlink-api")
	si := StaffIdentity{
		TenantID: tenantID, Audience: api, APIClientID: api, APIIdentifierURI: "api://" + api, APIScope: "api://" + api + "/.default",
		PublicClientID: staffID("xdrlink-console"), ServiceClientID: staffID("xdrlink-automation"),
		ServiceClientSecret: DemoServiceSecret, ServiceRoles: slices.Clone(demoServiceRoles),
		Groups: slices.Clone(demoAccessGroups),
	}
	for _, u := range demoStaffUsers {
		si.Users = append(si.Users, StaffUser{UPN: u.local + "@" + domain, ObjectID: staffID("user", u.local),
			DisplayName: u.name, Password: DemoStaffPassword, Roles: slices.Clone(u.roles)})
	}
	return si
}

// staffAppRoles are the xdrlink API's app roles: the three base roles and
// one scoped Operator and Viewer role per access group.
func staffAppRoles() []AppRole {
	var roles []AppRole
	add := func(value, desc string) {
		roles = append(roles, AppRole{ID: staffID("role", value), Value: value, DisplayName: value, Description: desc,
			AllowedMemberTypes: []string{"User", "Application"}})
	}
	add(StaffRoleAdmin, "Administers xdrlink and every customer.")
	add(StaffRoleOperator, "Operates every customer.")
	add(StaffRoleViewer, "Reads every customer.")
	for _, g := range demoAccessGroups {
		add(StaffRoleOperator+"."+g, "Operates the customers of access group "+g+".")
		add(StaffRoleViewer+"."+g, "Reads the customers of access group "+g+".")
	}
	return roles
}

// addStaff registers the staff apps in w and adds the staff users and the
// apps' service principals to the MSSP tenant mssp.
func addStaff(w *World, mssp *Tenant) {
	si := demoStaff(mssp.ID, mssp.Domains[0])
	api := &AppRegistration{ClientID: si.APIClientID, HomeTenant: mssp.ID, DisplayName: "xdrlink API",
		IdentifierURIs: []string{si.APIIdentifierURI}, AppRoles: staffAppRoles(), AccessTokenVersion: 2}
	console := &AppRegistration{ClientID: si.PublicClientID, HomeTenant: mssp.ID, DisplayName: "xdrlink console",
		PublicClient: true, DelegatedScopes: map[string][]string{si.APIClientID: {"access_as_user"}}}
	service := &AppRegistration{ClientID: si.ServiceClientID, HomeTenant: mssp.ID, DisplayName: "xdrlink automation",
		Secrets: []string{si.ServiceClientSecret}}
	w.Apps = append(w.Apps, api, console, service)
	for _, a := range []*AppRegistration{api, console, service} {
		sp := &ServicePrincipal{ID: staffID("sp", a.DisplayName), AppID: a.ClientID, DisplayName: a.DisplayName}
		if a == service {
			sp.AppRoles = map[string][]string{api.ClientID: slices.Clone(si.ServiceRoles)}
		}
		mssp.ServicePrincipals = append(mssp.ServicePrincipals, sp)
	}
	for _, su := range si.Users {
		u := &User{ID: su.ObjectID, UserPrincipalName: su.UPN, DisplayName: su.DisplayName, Password: su.Password}
		if len(su.Roles) > 0 {
			u.AppRoles = map[string][]string{api.ClientID: slices.Clone(su.Roles)}
		}
		mssp.Users = append(mssp.Users, u)
	}
}

// StaffIdentity describes the staff sign-in setup of the sim's world, with
// the sim's URLs; ok is false when the world has none (a world not made by
// DemoWorld or GenerateWorld).
func (s *Sim) StaffIdentity() (si StaffIdentity, ok bool) {
	api := s.world.app(staffID("xdrlink-api"))
	if api == nil {
		return StaffIdentity{}, false
	}
	t := s.world.tenant(api.HomeTenant)
	if t == nil || len(t.Spec.Domains) == 0 {
		return StaffIdentity{}, false
	}
	si = demoStaff(t.Spec.ID, t.Spec.Domains[0])
	si.Issuer = s.Issuer(t.Spec.ID)
	si.DiscoveryURL = si.Issuer + "/.well-known/openid-configuration"
	si.TokenEndpoint = s.URL() + "/" + t.Spec.ID + "/oauth2/v2.0/token"
	return si, true
}

// Staff is StaffIdentity for a world known to have the staff setup (the
// sandbox's); it is the zero StaffIdentity otherwise.
func (s *Sim) Staff() StaffIdentity {
	si, _ := s.StaffIdentity()
	return si
}

// Issuer is the OIDC issuer of a tenant (by id): the "iss" of its tokens
// and the "issuer" of its discovery document, <sim URL>/<tenant id>/v2.0.
func (s *Sim) Issuer(tenantID string) string {
	if t := s.world.tenant(tenantID); t != nil {
		tenantID = t.Spec.ID // a domain names the tenant, the issuer its id
	}
	return s.tokens.issuer(tenantID)
}

// RotateSigningKey makes a new RSA key (new kid) the token signer. The
// JWKS serves it at once with the previous key, so tokens signed before the
// rotation still verify; keys older than that are dropped, and tokens they
// signed fail. It returns the new key id.
func (s *Sim) RotateSigningKey() (string, error) {
	return s.tokens.rotate()
}

// SigningKeyIDs are the key ids the JWKS serves, the signer first.
func (s *Sim) SigningKeyIDs() []string { return s.tokens.kids() }
