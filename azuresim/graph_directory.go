package azuresim

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// principalFilter is the one $filter the roleAssignments call supports:
// principalId eq '<id>' (docs/azure.md §8.2).
var principalFilter = regexp.MustCompile(`^\s*principalId\s+eq\s+'([^']*)'\s*$`)

func (s *Sim) graphRoleAssignments(w http.ResponseWriter, r *http.Request) {
	_, t, ok := s.graphCaller(w, r, "graph.roleAssignments", graphRolePermissions)
	if !ok {
		return
	}
	want := ""
	if f := r.URL.Query().Get("$filter"); f != "" {
		m := principalFilter.FindStringSubmatch(f)
		if m == nil {
			graphError(w, http.StatusBadRequest, "BadRequest", "Invalid filter clause: only principalId eq '<id>' is supported.")
			return
		}
		want = strings.ToLower(m[1])
	}
	var items []map[string]any
	add := func(principalID string, roles []string) {
		if want != "" && strings.ToLower(principalID) != want {
			return
		}
		for _, role := range roles {
			items = append(items, map[string]any{
				"id":               stableUUID(t.Spec.ID, principalID, role),
				"principalId":      principalID,
				"roleDefinitionId": role, // built-in roles: the definition id is the template id
				"directoryScopeId": "/",
			})
		}
	}
	for _, u := range t.Spec.Users {
		add(u.ID, u.DirectoryRoles)
	}
	for _, sp := range t.Spec.ServicePrincipals {
		add(sp.ID, sp.DirectoryRoles)
	}
	for i := range items {
		items[i] = graphSelect(r, items[i])
	}
	s.graphList(w, r, "roleManagement/directory/roleAssignments", items)
}

// graphMyDirectoryRoles answers /me/transitiveMemberOf/microsoft.graph.directoryRole:
// the signed-in user's directory roles. Delegated tokens only.
func (s *Sim) graphMyDirectoryRoles(w http.ResponseWriter, r *http.Request) {
	c, t, ok := s.graphCaller(w, r, "graph.myDirectoryRoles", slices.Concat(graphMemberOfPermission, graphRolePermissions))
	if !ok {
		return
	}
	if c.Kind != TokenDelegated {
		graphError(w, graphMeAppOnlyStatus, graphMeAppOnlyCode, graphMeAppOnlyMessage)
		return
	}
	u, found := t.User(c.ObjectID)
	if !found {
		graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+c.ObjectID+"' does not exist.")
		return
	}
	items := graphItems(r, u.DirectoryRoles, func(role string) map[string]any {
		name := graphRoleNames[strings.ToLower(role)]
		if name == "" {
			name = "Directory role " + role
		}
		return map[string]any{
			"@odata.type":    "#microsoft.graph.directoryRole",
			"id":             stableUUID(t.Spec.ID, "directoryRole", role),
			"displayName":    name,
			"description":    name,
			"roleTemplateId": role,
		}
	})
	s.graphList(w, r, "directoryObjects", items)
}
