package azuresim

import (
	"net/http"
	"strings"
)

func (s *Sim) armGetWorkspace(rq *armRequest) error {
	w := rq.ws.Spec
	return rq.reply(http.StatusOK, map[string]any{
		"id":       w.ResourceID(),
		"name":     w.Name,
		"type":     "Microsoft.OperationalInsights/workspaces",
		"location": w.Location,
		"properties": map[string]any{
			"customerId":        w.CustomerID,
			"provisioningState": "Succeeded",
			"sku":               map[string]any{"name": "PerGB2018"},
			"retentionInDays":   90,
		},
	})
}

// armPermissions lists the caller's effective permissions at the scope, from
// its role assignments in the world (Microsoft.Authorization/permissions).
func (s *Sim) armPermissions(rq *armRequest) error {
	// The route ends in /providers/Microsoft.Authorization/permissions; drop
	// those three segments. (Indexing into strings.ToLower(scope) would not
	// do: lower-casing can change the byte length of non-ASCII names.)
	scope := rq.path.scope()
	for range 3 {
		scope = scope[:strings.LastIndexByte(scope, '/')]
	}
	if rq.path.resourceGroup != "" && rq.ws == nil && !s.resourceGroupExists(rq.tenant, rq.path.subscription, rq.path.resourceGroup) {
		return NewAPIError(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '%s' could not be found.", rq.path.resourceGroup)
	}
	return rq.reply(http.StatusOK, map[string]any{"value": s.permissionsAt(rq.tenant, rq.caller.ObjectID, scope)})
}

// resourceGroupExists: the sim knows a resource group when a workspace lives
// in it (the world has no separate resource group list).
func (s *Sim) resourceGroupExists(t *TenantState, sub, rg string) bool {
	for _, w := range t.workspaces {
		if strings.EqualFold(w.Spec.SubscriptionID, sub) && strings.EqualFold(w.Spec.ResourceGroup, rg) {
			return true
		}
	}
	return false
}
