package azuresim

import (
	"regexp"
	"strings"
	"sync"
)

// Entra directory role template ids (docs/azure.md §8.2).
const (
	RoleGlobalAdministrator   = "62e90394-69f5-4237-9190-012177145e10"
	RoleSecurityAdministrator = "194ae4cb-b126-40b2-bd5b-6091b380977d"
	RoleSecurityReader        = "5d6b6bb7-de71-4623-b4af-96380a352509"
)

// builtinRoleDefinitions are the Azure RBAC built-in roles the sim knows, by
// their real ids. Their action lists are abbreviated to what matters for
// the APIs emulated here (UNCONFIRMED in detail; docs/azure.md §8.1 leaves
// open whether Sentinel Contributor includes Microsoft.Resources/deployments/*;
// we include it, as the portal's Content Hub install needs it).
var builtinRoleDefinitions = []*RoleDefinition{
	{ID: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", Name: "Owner", Actions: []string{"*"}},
	{ID: "b24988ac-6180-42a0-ab88-20f7382dd24c", Name: "Contributor", Actions: []string{"*"},
		NotActions: []string{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
			"Microsoft.Blueprint/blueprintAssignments/write", "Microsoft.Blueprint/blueprintAssignments/delete", "Microsoft.Compute/galleries/share/action"}},
	{ID: "acdd72a7-3385-48ef-bd42-f606fba81ae7", Name: "Reader", Actions: []string{"*/read"}},
	{ID: "ab8e14d6-4a74-4a29-9ba8-549422addade", Name: "Microsoft Sentinel Contributor", Actions: []string{
		"Microsoft.SecurityInsights/*", "Microsoft.OperationalInsights/workspaces/read", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
		"Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.OperationalInsights/workspaces/savedSearches/*",
		"Microsoft.OperationsManagement/solutions/read", "Microsoft.OperationalInsights/workspaces/query/read",
		"Microsoft.OperationalInsights/workspaces/query/*/read", "Microsoft.OperationalInsights/workspaces/dataSources/read",
		"Microsoft.OperationalInsights/querypacks/*/read", "Microsoft.Insights/workbooks/*", "Microsoft.Insights/myworkbooks/read",
		"Microsoft.Authorization/*/read", "Microsoft.Insights/alertRules/*", "Microsoft.Resources/deployments/*",
		"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"}},
	{ID: "8d289c81-5878-46d4-8554-54e1e3d8b5cb", Name: "Microsoft Sentinel Reader", Actions: []string{
		"Microsoft.SecurityInsights/*/read", "Microsoft.SecurityInsights/dataConnectorsCheckRequirements/action",
		"Microsoft.SecurityInsights/threatIntelligence/indicators/query/action", "Microsoft.OperationalInsights/workspaces/read", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
		"Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.OperationalInsights/workspaces/LinkedServices/read",
		"Microsoft.OperationalInsights/workspaces/savedSearches/read", "Microsoft.OperationsManagement/solutions/read",
		"Microsoft.OperationalInsights/workspaces/query/read", "Microsoft.OperationalInsights/workspaces/query/*/read",
		"Microsoft.Insights/workbooks/read", "Microsoft.Authorization/*/read", "Microsoft.Resources/deployments/*",
		"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Support/*"}},
	{ID: "92aaf0da-9dab-42b6-94a3-d43ce8d16293", Name: "Log Analytics Contributor", Actions: []string{
		"*/read", "Microsoft.ClassicCompute/virtualMachines/extensions/*", "Microsoft.Compute/virtualMachines/extensions/*",
		"Microsoft.Insights/alertRules/*", "Microsoft.Insights/diagnosticSettings/*", "Microsoft.OperationalInsights/*",
		"Microsoft.OperationsManagement/*", "Microsoft.Resources/deployments/*", "Microsoft.Resources/subscriptions/resourcegroups/deployments/*",
		"Microsoft.Storage/storageAccounts/listKeys/action", "Microsoft.Support/*"}},
	{ID: "73c42c96-874c-492b-b04d-ab87d138a893", Name: "Log Analytics Reader", Actions: []string{"*/read", "Microsoft.OperationalInsights/workspaces/analytics/query/action", "Microsoft.OperationalInsights/workspaces/search/action", "Microsoft.Support/*"},
		NotActions: []string{"Microsoft.OperationalInsights/workspaces/sharedKeys/read"}},
}

var actionPatterns sync.Map // pattern -> *regexp.Regexp

// actionMatches reports whether an RBAC action pattern (with * wildcards)
// matches an action, case-insensitively.
func actionMatches(pattern, action string) bool {
	v, ok := actionPatterns.Load(pattern)
	if !ok {
		q := regexp.QuoteMeta(pattern)
		re := regexp.MustCompile("(?i)^" + strings.ReplaceAll(q, `\*`, ".*") + "$")
		v, _ = actionPatterns.LoadOrStore(pattern, re)
	}
	return v.(*regexp.Regexp).MatchString(action)
}

// scopeCovers reports whether an assignment at scope applies to resource.
func scopeCovers(scope, resource string) bool {
	s := strings.ToLower(strings.TrimRight(scope, "/"))
	r := strings.ToLower(strings.TrimRight(resource, "/"))
	// "resourcegroups" vs "resourceGroups" spelled differently is the same scope.
	return r == s || strings.HasPrefix(r, s+"/")
}

// PermissionEntry is one element of Microsoft.Authorization/permissions.
type PermissionEntry struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// permissionsAt returns one entry per role assignment of principal that
// covers scope (what ARM's permissions API lists).
func (s *Sim) permissionsAt(t *TenantState, principal, scope string) []PermissionEntry {
	out := []PermissionEntry{}
	for _, ra := range t.assignments[strings.ToLower(principal)] {
		if !scopeCovers(ra.Scope, scope) {
			continue
		}
		rd := s.world.roleDefinition(ra.RoleDefinition)
		if rd == nil {
			continue
		}
		out = append(out, PermissionEntry{
			Actions: nonNil(rd.Actions), NotActions: nonNil(rd.NotActions),
			DataActions: nonNil(rd.DataActions), NotDataActions: nonNil(rd.NotDataActions),
		})
	}
	return out
}

// allowed evaluates an action the way ARM does: allowed when some
// assignment's actions match and its notActions do not.
func (s *Sim) allowed(t *TenantState, principal, scope, action string) bool {
	for _, p := range s.permissionsAt(t, principal, scope) {
		if entryAllows(p, action) {
			return true
		}
	}
	return false
}

func entryAllows(p PermissionEntry, action string) bool {
	for _, na := range p.NotActions {
		if actionMatches(na, action) {
			return false
		}
	}
	for _, a := range p.Actions {
		if actionMatches(a, action) {
			return true
		}
	}
	return false
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
