// Package authn authenticates callers of the API: OIDC bearer tokens from
// the configured issuer (people, portals), xdrlink API keys (internal
// services) and, on gRPC, TLS client certificates. Each becomes an
// authz.Principal with its grants; what a principal may do is package
// authz's business. Failures are logged without the credential.
package authn
