// Package oprecord converts between a stored operation row (store.Operation)
// and the API's google.longrunning.Operation with xdrlink's
// OperationMetadata, so the engine that writes operations and the service
// that serves them agree on one encoding.
package oprecord
