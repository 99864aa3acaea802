// Package operationsvc serves xdrlink's long-running operations: the
// standard google.longrunning.Operations (get, list, delete, cancel, wait)
// and xdrlink.v1.OperationService (resume, watch).
//
// It reads operation rows from the store and decodes them with
// workflow/oprecord, the codec the workflow engine writes with. Cancel and
// resume change what the engine does, so they go through a Controller the
// engine provides; this package never writes an operation itself, except to
// delete a finished one.
//
// Wait and watch poll the row every Options.PollInterval and compare its
// Version, which the store bumps on every write; there is no change feed to
// subscribe to, and polling one indexed row is cheap.
package operationsvc
