// Package store defines xdrlink's persistence interface, its sentinel errors
// and the helpers its backends share (etags, page tokens, keyset paging).
// Backends live in sub-packages (sqlite, postgres), all pass the shared
// conformance suite in storetest, and storeopen picks one from a DSN.
//
// The store knows nothing of the API types: a tenant is kept as the
// serialized API message (Body) plus the few columns that are queried (id,
// state, labels, workspace key) and the concurrency token (Etag), so the API
// can grow fields without migrations; operations likewise. River's job
// tables live in the same database, migrated with the store's, so that a
// transaction (InTx) can write rows and enqueue jobs atomically.
package store
