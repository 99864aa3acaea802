// Package server builds xdrlink's gRPC server: the interceptor chain
// (recovery, request id, logging, error mapping, validation), health that
// follows store readiness, and reflection. Services are registered by the
// caller (package daemon wires everything); the REST gateway lives in
// server/gateway and dials this server, so every interceptor applies to REST
// too.
package server
