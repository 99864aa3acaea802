// Package workspaces reads Log Analytics workspaces through ARM
// (Microsoft.OperationalInsights/workspaces): the check that the workspace exists and is
// reachable, and its customerId, which the Log Analytics query API addresses it by
// (docs/azure.md §7.1).
package workspaces
