// Package authz reads a principal's effective Azure RBAC permissions at a scope
// (Microsoft.Authorization/permissions, docs/azure.md §8.1) and evaluates them: an action is
// allowed when some entry's actions match it and none of that entry's notActions do, with
// ARM's case-insensitive '*' wildcards.
package authz
