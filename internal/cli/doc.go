// Package cli is the xdrlink command line: cobra commands over the Go
// client library (client/) for operators who register, onboard, verify and
// follow customer tenants. Run is the whole program; cmd/xdrlink only calls
// it. The packages below do one job each: config (contexts), signin (OIDC
// device-code sign-in and token cache), render (output formats), tenantfile
// (import files) and progress (following operations).
package cli
