package graph

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/xdrlink/xdrlink/azure/internal/guid"
)

// Permissions (application or delegated) each call needs; one suffices.
// They fill azerr.Error.MissingPermission on a 403.
const (
	PermissionRoles   = "Graph RoleManagement.Read.Directory or Directory.Read.All"
	PermissionSkus    = "Graph Organization.Read.All or Directory.Read.All"
	PermissionSensors = "Graph SecurityIdentitiesSensors.Read.All"
)

// RoleAssignment is one Entra role assignment of a principal.
type RoleAssignment struct {
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

// RoleAssignments lists the Entra role assignments of a principal (user or
// service principal object id).
func (c *Client) RoleAssignments(ctx context.Context, principalID string) (out []RoleAssignment, err error) {
	ctx, end := c.pl.StartSpan(ctx, "graph.RoleAssignments")
	defer func() { end(err) }()
	if !guid.Valid(principalID) {
		return nil, fmt.Errorf("graph: principal id %q is not a GUID", principalID)
	}
	q := url.Values{"$filter": {"principalId eq '" + principalID + "'"}}
	return list[RoleAssignment](ctx, c, "/roleManagement/directory/roleAssignments", q, PermissionRoles)
}

// HasRole reports whether the principal holds any of the roles (template
// ids, e.g. RoleSecurityAdministrator), tenant-wide.
func (c *Client) HasRole(ctx context.Context, principalID string, roleTemplateIDs ...string) (bool, error) {
	as, err := c.RoleAssignments(ctx, principalID)
	if err != nil {
		return false, err
	}
	for _, a := range as {
		if a.DirectoryScopeID != "" && a.DirectoryScopeID != "/" {
			continue // scoped to an administrative unit: not tenant-wide
		}
		if slices.ContainsFunc(roleTemplateIDs, func(r string) bool { return strings.EqualFold(r, a.RoleDefinitionID) }) {
			return true, nil
		}
	}
	return false, nil
}

// DirectoryRole is an Entra role the signed-in user holds.
type DirectoryRole struct {
	ID             string `json:"id"`
	DisplayName    string `json:"displayName"`
	RoleTemplateID string `json:"roleTemplateId"`
}

// MyDirectoryRoles lists the signed-in user's directory roles, including
// those held through groups. It needs a delegated token; an app-only token
// gets azerr.InvalidRequest.
func (c *Client) MyDirectoryRoles(ctx context.Context) (out []DirectoryRole, err error) {
	ctx, end := c.pl.StartSpan(ctx, "graph.MyDirectoryRoles")
	defer func() { end(err) }()
	q := url.Values{"$select": {"displayName,roleTemplateId"}}
	return list[DirectoryRole](ctx, c, "/me/transitiveMemberOf/microsoft.graph.directoryRole", q, PermissionRoles)
}
