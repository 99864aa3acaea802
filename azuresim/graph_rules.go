package azuresim

import "net/http"

// Choices the Graph family makes where docs/azure.md is silent.

// graphPermissions are the permissions (app roles or delegated scopes) each
// emulated Graph call accepts, any one of them sufficing. UNCONFIRMED in
// detail: docs/azure.md §8.2-§8.4 name RoleManagement.Read.Directory /
// Directory.Read.All, Organization.Read.All / Directory.Read.All and
// SecurityIdentitiesSensors.Read.All; the ReadWrite variants are general
// Graph knowledge.
var (
	graphRolePermissions    = []string{"RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", "Directory.Read.All", "Directory.ReadWrite.All"}
	graphSkuPermissions     = []string{"Organization.Read.All", "Organization.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "LicenseAssignment.Read.All"}
	graphSensorPermissions  = []string{"SecurityIdentitiesSensors.Read.All", "SecurityIdentitiesSensors.ReadWrite.All"}
	graphMemberOfPermission = []string{"RoleManagement.Read.Directory", "Directory.Read.All", "Directory.ReadWrite.All", "GroupMember.Read.All"}
)

const (
	// Graph's answer to a caller without the permission (general Graph
	// knowledge; UNCONFIRMED for these endpoints).
	graphDeniedStatus  = http.StatusForbidden
	graphDeniedCode    = "Authorization_RequestDenied"
	graphDeniedMessage = "Insufficient privileges to complete the operation."

	// Graph's answer to /me with an app-only token (general Graph knowledge).
	graphMeAppOnlyStatus  = http.StatusBadRequest
	graphMeAppOnlyCode    = "BadRequest"
	graphMeAppOnlyMessage = "/me request is only valid with delegated authentication flow."

	// UNCONFIRMED: Graph's page size for these lists; small enough that a
	// test world can make the client follow @odata.nextLink.
	graphPageSize = 100
)

// graphRoleNames are display names of the directory role templates
// docs/azure.md §8.2 lists.
var graphRoleNames = map[string]string{
	RoleGlobalAdministrator:   "Global Administrator",
	RoleSecurityAdministrator: "Security Administrator",
	RoleSecurityReader:        "Security Reader",
}
