// Package graph is the Microsoft Graph client for xdrlink's prerequisite
// checks (docs/azure.md §8.2-§8.4): the Entra roles of a principal or of the
// signed-in user, the tenant's licences and service plans, and its Defender
// for Identity sensors.
//
// It is built on an azcore pipeline with the Graph scope, so retries,
// telemetry and concurrency limits come from the same policy.ClientOptions
// as every other xdrlink Azure client. The token's tenant decides whose
// data Graph returns; use one client per customer tenant.
package graph
