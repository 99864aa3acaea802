// Package gateway is xdrlink's REST API: a grpc-gateway mux that dials the
// gRPC server (so authentication, validation, logging and error mapping are
// the same for REST), plus /healthz (the gRPC health service), /openapi.json,
// a request-body limit answered with 413, and errors as google.rpc.Status
// JSON with ErrorInfo and field violations.
//
// WatchOperation (GET /v1/operations/{id}:watch) streams newline-delimited
// JSON (application/x-ndjson): one Operation object per line, flushed as it
// comes. An error before the first line is an ordinary REST error; one after
// it is a last line holding the google.rpc.Status object.
package gateway
