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
//
// DeviceCodeCredential waits for the person inside one call, so a restart loses the
// sign-in. The restart-proof flow splits it into single requests whose state the caller
// stores: StartDeviceCode (device code to keep, URL and user code to show), PollDeviceCode
// (called by a job at the grant's interval until it returns tokens or a final error), and
// RefreshCredential, which redeems the sign-in's refresh token for any audience (ARM,
// Defender streaming...) and reports each rotated refresh token so it can be stored again.
package credential
