package authz

import (
	"slices"
	"testing"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.SecurityInsights/dataConnectors/write", true},
		{"Microsoft.SecurityInsights/*", "Microsoft.SecurityInsights/dataConnectors/write", true},
		{"microsoft.securityinsights/*", "Microsoft.SecurityInsights/dataConnectors/write", true},
		{"Microsoft.SecurityInsights/*", "Microsoft.SecurityInsightsX/a", false},
		{"*/read", "Microsoft.OperationalInsights/workspaces/read", true},
		{"*/read", "Microsoft.OperationalInsights/workspaces/write", false},
		{"*/read", "Microsoft.OperationalInsights/workspaces/query/read", true},
		{"Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.OperationalInsights/workspaces/query/read", true},
		{"Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.OperationalInsights/workspaces/read", false},
		{"Microsoft.Resources/deployments/*", "Microsoft.Resources/deployments/write", true},
		{"Microsoft.Resources/deployments/*", "Microsoft.Resources/deployments", false},
		{"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/roleAssignments/delete", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"**", "", true},
		{"", "", true},
		{"", "x", false},
		{"Microsoft.SecurityInsights/dataConnectors/write", "Microsoft.SecurityInsights/dataConnectors/write", true},
	} {
		if got := Match(tc.pattern, tc.action); got != tc.want {
			t.Errorf("Match(%q, %q) = %v, want %v", tc.pattern, tc.action, got, tc.want)
		}
	}
}

// Role shapes as documented for the built-in roles (actions/notActions).
var (
	owner       = Permission{Actions: []string{"*"}}
	contributor = Permission{Actions: []string{"*"}, NotActions: []string{
		"Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/elevateAccess/Action",
	}}
	reader              = Permission{Actions: []string{"*/read"}}
	sentinelContributor = Permission{Actions: []string{
		"Microsoft.SecurityInsights/*", "Microsoft.OperationalInsights/workspaces/analytics/query/action",
		"Microsoft.OperationalInsights/workspaces/*/read", "Microsoft.OperationalInsights/workspaces/read",
		"Microsoft.Resources/deployments/*",
	}}
)

func TestPermissionsAllowed(t *testing.T) {
	all := WorkspaceActionNames()
	if len(all) != 9 {
		t.Fatalf("docs/azure.md §8.1 lists 9 actions, have %d", len(all))
	}
	for _, tc := range []struct {
		name    string
		perms   Permissions
		missing []string
	}{
		{"owner", Permissions{owner}, nil},
		{"contributor", Permissions{contributor}, nil},
		{"sentinel contributor", Permissions{sentinelContributor}, nil},
		{"reader", Permissions{reader}, []string{
			"Microsoft.SecurityInsights/dataConnectors/write", "Microsoft.SecurityInsights/onboardingStates/write",
			"Microsoft.SecurityInsights/alertRules/write", "Microsoft.SecurityInsights/settings/write",
			"Microsoft.SecurityInsights/contentPackages/write", "Microsoft.Resources/deployments/write",
		}},
		{"none", nil, all},
		// A notActions only removes what its own entry grants; another entry can still grant it.
		{"notActions scoped to entry", Permissions{
			{Actions: []string{"Microsoft.SecurityInsights/*"}, NotActions: []string{"Microsoft.SecurityInsights/dataConnectors/*"}},
			{Actions: []string{"Microsoft.SecurityInsights/dataConnectors/write"}},
		}, []string{
			"Microsoft.OperationalInsights/workspaces/read", "Microsoft.SecurityInsights/dataConnectors/read",
			"Microsoft.Resources/deployments/write", "Microsoft.OperationalInsights/workspaces/query/read",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.perms.Missing(all...); !slices.Equal(got, tc.missing) {
				t.Fatalf("Missing = %v, want %v", got, tc.missing)
			}
		})
	}
	if (Permissions{contributor}).Allowed("Microsoft.Authorization/roleAssignments/write") {
		t.Fatal("contributor's notActions ignored")
	}
	data := Permissions{{DataActions: []string{"Microsoft.OperationalInsights/workspaces/tables/*"}, NotDataActions: []string{"*/delete"}}}
	if !data.DataAllowed("Microsoft.OperationalInsights/workspaces/tables/data/read") || data.DataAllowed("Microsoft.OperationalInsights/workspaces/tables/data/delete") {
		t.Fatal("data actions")
	}
	if data.Allowed("Microsoft.OperationalInsights/workspaces/tables/data/read") {
		t.Fatal("data actions leaked into control-plane evaluation")
	}
}
