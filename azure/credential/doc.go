// Package credential turns the credential profiles of the server config into azidentity
// credentials, one per (profile, customer tenant), cached and safe for concurrent use.
//
// A [Profile] names where a secret lives (an environment variable or a file), never the
// secret itself. Secrets are read when a credential is built and kept only inside
// azidentity; every type here formats, logs and marshals without them.
//
// Delegated (user) credentials for the steps that need a person — the device-code flow and
// the on-behalf-of exchange — are built per request and not cached: they belong to a
// sign-in, not to a tenant. The device-code prompt is handed to the caller as a value (URL,
// user code, expiry); nothing is printed.
package credential
