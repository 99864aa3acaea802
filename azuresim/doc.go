// Package azuresim is an emulator of the Azure HTTP APIs xdrlink drives:
// Entra ID token issuance, Azure Resource Manager (Microsoft.SecurityInsights,
// Microsoft.OperationalInsights workspaces, Microsoft.Authorization
// permissions, resource providers, Microsoft.Resources deployments),
// Microsoft Graph, the Defender XDR streaming API and the Log Analytics query
// API. It is part of the product (sandbox mode: cmd/azuresim, `xdrlinkd sim`)
// and of its tests and benchmarks.
//
// It is an emulator, not a mock: real clients (azidentity credentials, azcore
// arm.Client pipelines and pollers, azquery) talk real HTTPS to it, and every
// answer comes from an emulated world state (World: tenants, licences, users,
// service principals, subscriptions, workspaces, RBAC, app registrations)
// under the services' documented rules.
//
// # Serving
//
// Start opens one HTTPS listener (self-signed ECDSA certificate for
// 127.0.0.1/localhost; trust it via CertPool, CACertPEM or HTTPClient). API
// families share it by path: Entra /{tenant}/oauth2/v2.0/..., /{tenant}/v2.0/
// .well-known/openid-configuration; ARM /subscriptions/...; Graph /v1.0/...;
// Defender /api/...; Log Analytics /v1/...; the admin API /_sim/... (no token).
// Cloud and ClientOptions give azcore the sim's endpoints with the real
// audiences (AudienceARM, AudienceGraph, AudienceDefender,
// AudienceLogAnalytics); azidentity needs DisableInstanceDiscovery.
//
// # Rules enforced
//
//   - Tokens: RS256 signed by a per-sim key (JWKS served), expiry on the sim
//     Clock, audience per API, token kind per API (RequireToken), tenant of the
//     resource (Caller.RequireTenant: 401 InvalidAuthenticationTokenTenant).
//     RotateSigningKey (POST /_sim/signing-keys/rotate) switches to a new
//     key; the JWKS keeps serving the previous one. Tokens carry the roles
//     assigned to the user or service principal for their audience, and
//     tokens for an app with AccessTokenVersion 2 are v2 tokens, so an OIDC
//     library (go-oidc) verifies them against Issuer's discovery document.
//   - Entra grants: client_credentials (secret or certificate assertion; the
//     app needs a service principal in the tenant), device code (public
//     client apps; pending until ApproveDeviceCode), refresh token (issued
//     only for offline_access, redeemable for any audience, a new one on each
//     redemption), on-behalf-of (assertion audience must be the calling app),
//     password (users with a Password in the world; AADSTS50126 when wrong).
//     device_code and refresh_token redemptions need no client credential
//     from a public client, but one that is sent must be valid.
//   - ARM: api-version required and supported per type; RBAC from role
//     assignments (403 AuthorizationFailed; permissions API computed the same
//     way); resource provider registration (409 MissingSubscriptionRegistration,
//     registration completes after Options.RPRegistrationDelay); ETags on
//     update (a create ignores a body etag, as the spec's Create examples
//     show); 200 on update vs 201 on create; 200 vs 204 on delete; systemData
//     from the writer's token; ARM error bodies; x-ms-request-id and
//     x-ms-ratelimit-remaining-* headers; nextLink paging.
//   - Sentinel: connector kinds from the api-version's DataConnectorKind
//     enum, so MicrosoftThreatProtection only at preview api-versions
//     ("Connector kind ... is not supported in api-version"),
//     tenantId must be the workspace's tenant, Defender XDR licence (MTP
//     service plan), one MTP connector per workspace, unified-portal lockout
//     message, "Missing consent" for app-only tokens until a member Security
//     Administrator / Global Administrator connects with a delegated token;
//     checkRequirements from licences and RBAC; incident-creation rules
//     seeded per workspace; settings names, kinds and enums, EntityAnalytics
//     ActiveDirectory needs MDI sensors; Content Hub catalog with $filter;
//     deployments as a real LRO (Azure-AsyncOperation) whose success installs
//     the solution.
//   - Faults (FaultConfig): latency (fixed, jitter, log-normal; one for
//     all faulted families, or per family with FamilyLatency), random
//     5xx and 429 (seeded), ARM token buckets per (subscription or tenant,
//     principal, reads/writes/deletes) plus the 15x all-principals bucket,
//     Retry-After, and a count of requests that arrive before a previous
//     Retry-After elapsed (EarlyRetries).
//
// # Worlds
//
// A World comes from JSON (LoadWorldFile; testdata/world.json shows the
// schema), from GenerateWorld (many numbered tenants with mixed traits, for
// load tests) or from DemoWorld (named customers, one onboarding problem per
// kind, for sandbox mode; pass its customers as Options.Customers so
// GET /_sim/customers describes them). docs/sandbox.md is the sandbox guide.
// Both give the MSSP tenant the staff who sign in to xdrlink itself: the
// xdrlink API app with its app roles and staff users (DemoStaff;
// Sim.StaffIdentity and GET /_sim/staff add the sim's URLs).
// A workspace's History (WorkspaceHistory) says what happened before the
// emulator started; Start turns it into the live state the APIs would have
// left, so Log Analytics has a past. Sim.IngestedRows is the ground truth of
// what the query API returns, computed without the KQL evaluator.
//
// Where docs/azure.md marks a behaviour UNCONFIRMED, the emulator's choice is
// a constant in unconfirmed.go with an "UNCONFIRMED:" comment; that file is
// the list of them.
//
// # Extending
//
// Other API families live in this package (graph*.go, streaming*.go,
// loganalytics*.go). Each registers itself from init with registerAPIFamily
// and adds routes with Sim.Handle; handlers call RequireToken, use
// TenantState / WorkspaceState for world data (per-tenant mutex, short
// sections) and answer errors with APIError / WriteError.
package azuresim
