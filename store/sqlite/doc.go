// Package sqlite is the store backend for single-node deployments and tests:
// one file, no server, pure Go (modernc.org/sqlite), WAL mode so that reads
// do not block the writer.
package sqlite
