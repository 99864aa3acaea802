// Package apierr is the one place where errors become API errors: a gRPC
// status with a google.rpc.ErrorInfo (reason from the xdrlinkv1.ErrorReason
// enum, domain "xdrlink.io") and, for bad input, google.rpc.BadRequest field
// violations (AIP-193). Handlers return plain or wrapped errors; the server's
// error interceptor calls Status once on the way out.
package apierr
