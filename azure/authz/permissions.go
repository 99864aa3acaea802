package authz

import (
	"context"
	"fmt"
	"strings"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

// Permission is one entry of the permissions list: what one role assignment grants.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// Permissions are the effective permissions of the caller at a scope.
type Permissions []Permission

// Allowed reports whether the control-plane action is permitted.
func (ps Permissions) Allowed(action string) bool {
	for _, p := range ps {
		if matchesAny(p.Actions, action) && !matchesAny(p.NotActions, action) {
			return true
		}
	}
	return false
}

// DataAllowed reports whether the data-plane action is permitted.
func (ps Permissions) DataAllowed(action string) bool {
	for _, p := range ps {
		if matchesAny(p.DataActions, action) && !matchesAny(p.NotDataActions, action) {
			return true
		}
	}
	return false
}

// Missing returns the actions that are not allowed, in the order given.
func (ps Permissions) Missing(actions ...string) []string {
	var out []string
	for _, a := range actions {
		if !ps.Allowed(a) {
			out = append(out, a)
		}
	}
	return out
}

func matchesAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if Match(p, action) {
			return true
		}
	}
	return false
}

// Match reports whether an RBAC action pattern matches an action. ARM compares
// case-insensitively and '*' matches any run of characters, '/' included
// ("Microsoft.SecurityInsights/*", "*/read", "*").
func Match(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	// Iterative glob with backtracking to the last '*': linear in practice, no regexp.
	pi, ai := 0, 0
	star, mark := -1, 0
	for ai < len(a) {
		switch {
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ai
			pi++
		case pi < len(p) && p[pi] == a[ai]:
			pi++
			ai++
		case star >= 0:
			pi = star + 1
			mark++
			ai = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// RequiredAction is an action the onboarding needs on the workspace and why.
type RequiredAction struct {
	Action string
	For    string
}

// WorkspaceActions are the actions docs/azure.md §8.1 lists to test on the workspace.
var WorkspaceActions = []RequiredAction{
	{"Microsoft.OperationalInsights/workspaces/read", "read the workspace"},
	{"Microsoft.SecurityInsights/dataConnectors/read", "read the Defender XDR connector"},
	{"Microsoft.SecurityInsights/dataConnectors/write", "connect Defender XDR incidents and alerts"},
	{"Microsoft.SecurityInsights/onboardingStates/write", "onboard the workspace to Sentinel"},    // name inferred (§8.1)
	{"Microsoft.SecurityInsights/alertRules/write", "turn off Microsoft incident creation rules"}, // name inferred (§8.1)
	{"Microsoft.SecurityInsights/settings/write", "connect entities (UEBA)"},                      // name inferred (§8.1)
	{"Microsoft.SecurityInsights/contentPackages/write", "install the Content Hub solution"},      // name inferred (§8.1)
	{"Microsoft.Resources/deployments/write", "deploy the solution's ARM template"},
	{"Microsoft.OperationalInsights/workspaces/query/read", "verify that data arrives"},
}

// WorkspaceActionNames is WorkspaceActions' action strings.
func WorkspaceActionNames() []string {
	out := make([]string, len(WorkspaceActions))
	for i, a := range WorkspaceActions {
		out[i] = a.Action
	}
	return out
}

// Client reads permissions through ARM.
type Client struct {
	arm *armclient.Client
}

// New returns a permissions client.
func New(arm *armclient.Client) *Client { return &Client{arm: arm} }

// WorkspacePermissions are the caller's effective permissions on the workspace.
func (c *Client) WorkspacePermissions(ctx context.Context, ws armclient.Workspace) (Permissions, error) {
	if err := ws.Validate(); err != nil {
		return nil, err
	}
	return c.list(ctx, ws.Path())
}

// ResourceGroupPermissions are the caller's effective permissions on a resource group.
func (c *Client) ResourceGroupPermissions(ctx context.Context, subscriptionID, resourceGroup string) (Permissions, error) {
	p, err := armclient.ResourceGroupPath(subscriptionID, resourceGroup)
	if err != nil {
		return nil, err
	}
	return c.list(ctx, p)
}

func (c *Client) list(ctx context.Context, scope string) (Permissions, error) {
	ps, err := armclient.List[Permission](ctx, c.arm, armclient.Request{
		Operation: "authorization.permissions.list", Path: scope + "/providers/Microsoft.Authorization/permissions",
		APIVersion: armclient.AuthorizationPermissions,
	})
	if err != nil {
		return nil, fmt.Errorf("authz: permissions at %s: %w", scope, err)
	}
	return ps, nil
}
