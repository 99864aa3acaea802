package armclient

// Every ARM api-version xdrlink sends, in one place. Change one here and the request-body
// tests against azuresim tell you what else must change.
const (
	// SecurityInsightsStable is the newest stable SecurityInsights version (docs/azure.md §1):
	// onboardingStates (§1), alertRules incl. MicrosoftSecurityIncidentCreation (§4),
	// contentProductPackages and contentPackages (§6).
	SecurityInsightsStable = "2025-12-01"

	// SecurityInsightsPreview is the newest preview (docs/azure.md §2.2): the
	// MicrosoftThreatProtection data connector and dataConnectorsCheckRequirements for it
	// exist only in previews (§2.2), and so do settings/EntityAnalytics and Ueba (§5).
	// UNCONFIRMED (docs/azure.md §2.2): whether a newer preview exists by now.
	SecurityInsightsPreview = "2025-10-01-preview"

	// AuthorizationPermissions reads effective permissions at a scope (docs/azure.md §8.1).
	AuthorizationPermissions = "2022-04-01"

	// ResourcesDeployments creates ARM template deployments (docs/azure.md §6 step 4).
	ResourcesDeployments = "2021-04-01"

	// UNCONFIRMED: docs/azure.md names no api-version for resource provider get/register
	// (§8.1); 2021-04-01 is the Microsoft.Resources version it already uses for deployments.
	ResourcesProviders = "2021-04-01"

	// UNCONFIRMED: docs/azure.md names no api-version for reading a Log Analytics workspace;
	// 2022-10-01 is the GA version that returns properties.customerId.
	OperationalInsightsWorkspaces = "2022-10-01"
)
