// Package daemon wires xdrlinkd: it opens the store, builds the gRPC server
// and its services, starts the REST gateway dialing that server, keeps health
// in step with the store, and shuts all of it down in order. It is the only
// package that knows every other one; cmd/xdrlinkd only turns flags into a
// Config.
package daemon
