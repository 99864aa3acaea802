package azuresim

import "net/http"

// Every behaviour below is a choice the emulator makes where docs/azure.md
// could not confirm what Azure does. Each lives here, once, so a single
// edit changes it everywhere.

const (
	// UNCONFIRMED: how an API that needs a user token answers an app-only token
	// (and the reverse). 401 InvalidAuthenticationToken, like other token faults.
	tokenKindMismatchStatus = http.StatusUnauthorized
	tokenKindMismatchCode   = "InvalidAuthenticationToken"

	// UNCONFIRMED: whether Sentinel refuses a second MicrosoftThreatProtection
	// connector in one workspace, and with what. We refuse with 409 Conflict.
	duplicateMTPStatus  = http.StatusConflict
	duplicateMTPCode    = "Conflict"
	duplicateMTPMessage = "A data connector of kind 'MicrosoftThreatProtection' already exists in this workspace ('%s'). Update it instead of creating another one."

	// UNCONFIRMED: the answer to a PUT whose etag (body "etag" or If-Match)
	// does not match the stored one, for dataConnectors, alertRules and
	// settings. 409 or 412 were both possible; we answer 412 PreconditionFailed,
	// the status ARM resource providers use for a failed If-Match.
	etagMismatchStatus = http.StatusPreconditionFailed
	etagMismatchCode   = "PreconditionFailed"

	// UNCONFIRMED: a PUT that creates a resource (none exists under the name)
	// and carries a body "etag", as every official Create example does. The
	// examples document 201, so the body etag is ignored on create and a fresh
	// one assigned. An If-Match header on a missing resource still fails.
	createIgnoresBodyETag = true

	// UNCONFIRMED: status and code of the unified-portal lockout. The message
	// text is documented (docs/azure.md §2.5); status 400 / code BadRequest are ours.
	unifiedPortalStatus  = http.StatusBadRequest
	unifiedPortalCode    = "BadRequest"
	unifiedPortalMessage = "The workspace is enabled through the Microsoft Threat Protection Portal. Changes to the connector in Microsoft Sentinel are disabled."

	// UNCONFIRMED: a tenant without a Defender XDR licence (no "MTP" service
	// plan). Field reports show 401 InvalidLicense; the message is ours.
	noLicenseStatus  = http.StatusUnauthorized
	noLicenseCode    = "InvalidLicense"
	noLicenseMessage = "License is invalid"

	// The documented "Missing consent" answer (docs/azure.md §2.5). UNCONFIRMED:
	// that one delegated connect by a member Security Administrator (or Global
	// Administrator) clears it for later app-only calls.
	missingConsentStatus  = http.StatusUnauthorized
	missingConsentCode    = "InvalidLicense"
	missingConsentMessage = "Missing consent"

	// UNCONFIRMED: a delegated MTP connect by a user who is a guest, or who
	// lacks Security Administrator / Global Administrator, is refused with 403.
	userNotEligibleStatus = http.StatusForbidden
	userNotEligibleCode   = "Forbidden"

	// UNCONFIRMED: EntityAnalytics with the ActiveDirectory provider in a
	// tenant without Defender for Identity sensors. We answer 400 BadRequest.
	noMDISensorStatus  = http.StatusBadRequest
	noMDISensorCode    = "BadRequest"
	noMDISensorMessage = "Entity provider 'ActiveDirectory' requires Microsoft Defender for Identity to be onboarded with at least one sensor in tenant '%s'."

	// UNCONFIRMED: the Content Hub product package id of the Defender XDR
	// solution. Clients must look it up by contentId; the sim names it so.
	defenderXDRPackageID = "azuresentinel.azure-sentinel-solution-microsoft365defender"

	// UNCONFIRMED: ARM page size for list operations that page (dataConnectors,
	// alertRules, contentProductPackages); small enough that paging is exercised.
	armPageSize = 50
)

// UNCONFIRMED: the api-versions each family accepts. Taken from docs/azure.md
// where it names them, plus versions seen in field templates.
var (
	// MicrosoftThreatProtection is preview-only (§2.2); 2020-01-01 is stable
	// and old, kept so the documented "not supported" error can be produced.
	apiVersionsSentinelStable  = []string{"2020-01-01", "2021-10-01", "2022-11-01", "2023-02-01", "2024-03-01", "2025-06-01", "2025-09-01", "2025-12-01"}
	apiVersionsSentinelPreview = []string{"2022-12-01-preview", "2023-06-01-preview", "2024-01-01-preview", "2025-04-01-preview", "2025-07-01-preview", "2025-10-01-preview"}
	apiVersionsWorkspaces      = []string{"2020-08-01", "2021-06-01", "2022-10-01", "2023-09-01", "2025-02-01"}
	apiVersionsPermissions     = []string{"2015-07-01", "2018-01-01-preview", "2022-04-01"}
	apiVersionsResources       = []string{"2019-05-01", "2021-04-01", "2022-09-01", "2024-03-01"}
)

const (
	// UNCONFIRMED: an MTP connector whose properties.tenantId is not the
	// workspace's tenant. Learn requires the same tenant; the answer is ours.
	tenantMismatchStatus  = http.StatusBadRequest
	tenantMismatchCode    = "BadRequest"
	tenantMismatchMessage = "The tenant id '%s' in the connector does not match the tenant '%s' of the workspace. Microsoft Defender XDR can only be connected to a workspace in the same tenant."
)

const (
	// UNCONFIRMED: ARM documents no x-ms-ratelimit-remaining-*-deletes header
	// (docs/azure.md §10); the sim reports the deletes bucket under this suffix.
	rateLimitDeletesSuffix = "deletes"

	// UNCONFIRMED: how a dataConnectors list at an api-version without the
	// MicrosoftThreatProtection kind shows such a connector. We leave it out.
	hideMTPAtOldAPIVersions = true
)

// UNCONFIRMED: the DataConnectorKind enum of each api-version. The sim uses
// the 2025-12-01 enum for every stable version and the 2025-10-01-preview
// enum for every preview; older versions had shorter lists. A kind outside
// the list is refused with 400 "Connector kind ... is not supported".
var (
	dataConnectorKindsStable = []string{
		"AzureActiveDirectory", "AzureSecurityCenter", "MicrosoftCloudAppSecurity", "ThreatIntelligence",
		"MicrosoftThreatIntelligence", "PremiumMicrosoftDefenderForThreatIntelligence", "Office365",
		"AmazonWebServicesCloudTrail", "AzureAdvancedThreatProtection", "MicrosoftDefenderAdvancedThreatProtection",
		"RestApiPoller",
	}
	dataConnectorKindsPreview = append([]string{
		"ThreatIntelligenceTaxii", "OfficeATP", "OfficeIRM", "Office365Project", "MicrosoftPurviewInformationProtection",
		"OfficePowerBI", "AmazonWebServicesS3", "Dynamics365", "MicrosoftThreatProtection", "GenericUI", "APIPolling",
		"IOT", "GCP", "PurviewAudit",
	}, dataConnectorKindsStable...)
)

const (
	// UNCONFIRMED: the password grant for a user who may not use it (no
	// Password in the world, standing for MFA required). Field reports show
	// invalid_grant AADSTS50076; the status and message wording are ours.
	passwordGrantMFAStatus  = http.StatusBadRequest
	passwordGrantMFACode    = "invalid_grant"
	passwordGrantMFAAADSTS  = 50076
	passwordGrantMFAMessage = "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'."
)

// UNCONFIRMED: systemData of resources nobody wrote through ARM (seeded
// rules, settings, onboarding state, the Content Hub catalog). Real values
// are unknown; the sim names Sentinel's own service as their writer.
const (
	seedWriter     = "Microsoft Sentinel"
	seedWriterType = "Application"
)

// Other UNCONFIRMED choices, kept next to the code they shape:
//   - rbac.go builtinRoleDefinitions: built-in role action lists are
//     abbreviated; Microsoft Sentinel Contributor/Reader include
//     Microsoft.Resources/deployments/* and workspaces/read.
//   - seed.go seedDefaultSettings: an onboarded workspace has the EyesOn and
//     Anomalies settings; EntityAnalytics and Ueba start absent (404).
//   - arm_dataconnectors.go armCheckRequirements: authorizationState is the
//     caller's dataConnectors/write RBAC plus tenant match; it stays Valid
//     while "Missing consent" still applies (as field reports describe).
//   - Sentinel operations do not require onboardingStates/default first.
//   - arm_providers.go: registration completes Options.RPRegistrationDelay
//     after POST .../register (default: at once on the next read).
//   - entra.go applyResourceTokenVersion: v2 access tokens for an app
//     (the xdrlink API) keep "upn", which real Entra adds only when the app
//     configures it as an optional claim; "sub" is the object id, where
//     Entra's is a pairwise id per app.
//   - tokens.go rotate: the JWKS serves the signer and the one key before
//     it; Entra publishes several keys and rolls them on its own schedule.
//   - arm_deployments.go: deployments run for Options.DeploymentPolls status
//     polls (or Options.DeploymentDuration); only contentPackages resources
//     in the template have an effect; templateLink is not supported.
