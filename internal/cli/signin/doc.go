// Package signin does the CLI's OIDC device-code sign-in (issuer discovery,
// then the device authorization grant) and keeps the resulting tokens in a
// per-context cache file readable only by the user, refreshing the access
// token with the refresh token when it expires.
package signin
