package store

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
)

// More sentinel errors, for operations.
var (
	// ErrConflict: the write would break a uniqueness rule other than the
	// primary key. The *ConflictError in the chain names what it collided with.
	ErrConflict = errors.New("store: conflict")
	// ErrJobsNotStarted: InsertJob was called before OpenJobs.
	ErrJobsNotStarted = errors.New("store: job queue not opened")
)

// ConflictError says which rule a write broke and the record it collided
// with. errors.Is(err, ErrConflict) holds for it.
type ConflictError struct {
	// Rule is one of the Conflict* constants.
	Rule string
	// With is the id of the record already holding the value (a tenant id or
	// an operation id).
	With string
}

// The uniqueness rules a ConflictError names.
const (
	// ConflictWorkspace: another tenant names the same workspace.
	ConflictWorkspace = "workspace"
	// ConflictActiveOperation: the tenant already has an unfinished
	// exclusive operation.
	ConflictActiveOperation = "active_operation"
	// ConflictRequestKey: an operation with the same request key exists.
	ConflictRequestKey = "request_key"
)

func (e *ConflictError) Error() string        { return "store: conflict on " + e.Rule + " with " + e.With }
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// Operation is one long-running operation as stored. The row is the truth a
// client reads; River jobs move it forward.
type Operation struct {
	// ID is the resource id ("abc" in "operations/abc").
	ID string
	// Tenant is the tenant id the operation acts on; empty for batches.
	Tenant string
	// Kind and State are enum names (e.g. "OPERATION_KIND_ONBOARD",
	// "OPERATION_STATE_RUNNING"); indexed for filtering.
	Kind  string
	State string
	// Parent is the parent (batch) operation's id, or empty.
	Parent string
	// AccessGroup is the access group of the operation's tenant: for an
	// operation on a registered tenant, CreateOperation stores the tenant's
	// group, whatever op says (so a concurrent move cannot leave it behind),
	// and UpdateTenant keeps it equal when the tenant's changes. For a batch
	// (no tenant), the group all its tenants share, or "" when they differ.
	AccessGroup string
	// Caller is the principal that created the operation ("" for the
	// server's own, e.g. scheduled verifications).
	Caller string
	// Exclusive operations are the tenant's mutating ones: at most one
	// unfinished exclusive operation per tenant (ConflictActiveOperation).
	Exclusive bool
	// RequestKey identifies the request that created the operation (method,
	// caller and request_id); unique when not empty (ConflictRequestKey).
	RequestKey string
	// RequestHash fingerprints the request, to tell a replay from a reuse of
	// the same request_id with a different request.
	RequestHash []byte
	// JobID is the River job that moves the operation (from Tx.InsertJob);
	// 0 for none. Set on create only.
	JobID int64
	// Done is true once the operation finished (any final state).
	Done bool
	// Body is the serialized google.longrunning.Operation. The store does not
	// read it.
	Body []byte
	// Version increases by one on every write, starting at 1; watchers
	// compare it to see a change.
	Version int64
	// Times are set by the store; EndTime is zero until Done.
	CreateTime, UpdateTime, EndTime time.Time
}

// OperationQuery selects and pages operations, newest first (by create time,
// then id).
type OperationQuery struct {
	PageSize  int
	PageToken string
	// Each non-empty field keeps only operations with that exact value.
	Tenant, Kind, State, Parent string
	// Scope, when not nil, keeps only the operations it allows.
	Scope *Scope
}

// OperationPage is one page of operations.
type OperationPage struct {
	Operations    []*Operation
	NextPageToken string
}

// OperationReader reads operations (and leases).
type OperationReader interface {
	// CountLeases counts the unexpired leases whose key starts with prefix.
	CountLeases(ctx context.Context, prefix string) (int, error)
	// GetOperation returns ErrNotFound if there is no such operation.
	GetOperation(ctx context.Context, id string) (*Operation, error)
	// GetOperationByRequestKey returns ErrNotFound if none has that key.
	GetOperationByRequestKey(ctx context.Context, key string) (*Operation, error)
	// ListOperations returns one page; ErrInvalidPageToken for a bad token.
	ListOperations(ctx context.Context, q OperationQuery) (*OperationPage, error)
	// CountChildren counts the children of batch operation parent.
	CountChildren(ctx context.Context, parent string) (ChildCounts, error)
}

// ChildCounts counts a batch operation's children.
type ChildCounts struct {
	// ByState counts the children per State.
	ByState map[string]int
	// Queued counts the unfinished children without a job yet (JobID 0):
	// waiting for their turn.
	Queued int
	// Total counts them all.
	Total int
}

// OperationWriter writes operations and what they maintain of a tenant: its
// status and its verifications.
type OperationWriter interface {
	// CreateOperation inserts op (all fields but Version and times) and
	// returns it with Version 1 and times set. ErrAlreadyExists for a taken
	// ID; a *ConflictError for a taken RequestKey or a second unfinished
	// exclusive operation on the same tenant.
	CreateOperation(ctx context.Context, op *Operation) (*Operation, error)
	// UpdateOperation replaces State, Done and Body of op.ID (and JobID,
	// when op.JobID is not 0) if its stored Version equals op.Version, and returns it with Version+1, UpdateTime
	// now and EndTime set when it became Done. ErrNotFound, or
	// ErrEtagMismatch when the version moved (someone else wrote it).
	UpdateOperation(ctx context.Context, op *Operation) (*Operation, error)
	// DeleteOperation removes a Done operation (and its secret).
	// ErrNotFound; ErrConflict when it is not Done.
	DeleteOperation(ctx context.Context, id string) error
	// UpdateTenantStatus replaces a tenant's State and Status without
	// touching its spec, Etag or UpdateTime. ErrNotFound if absent.
	UpdateTenantStatus(ctx context.Context, id, state string, status []byte) error
	// PutOperationSecret stores the (already encrypted) secret of an
	// operation, replacing any; DeleteOperationSecret removes it (no error
	// when absent); GetOperationSecret returns ErrNotFound when there is none.
	PutOperationSecret(ctx context.Context, id string, sealed []byte) error
	GetOperationSecret(ctx context.Context, id string) ([]byte, error)
	DeleteOperationSecret(ctx context.Context, id string) error
	// CreateVerification stores v and sets its tenant's last verdict (TenantQuery.Verdict) to v.Verdict, then
	// deletes the tenant's oldest verifications beyond the newest keep (keep <= 0 keeps all).
	// ErrNotFound if the tenant does not exist; ErrAlreadyExists if the tenant already has v.ID.
	CreateVerification(ctx context.Context, v *Verification, keep int) error
}

// Tx is a transaction: everything in it commits or rolls back together,
// including the jobs it inserts.
type Tx interface {
	OperationReader
	OperationWriter
	// GetTenant reads a tenant inside the transaction.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// UpdateTenant is TenantStore.UpdateTenant inside the transaction, so
	// a spec change and the operation that applies it commit together.
	UpdateTenant(ctx context.Context, t *Tenant, expectedEtag string) (*Tenant, error)
	// InsertJob enqueues a River job in this transaction (River InsertTx)
	// and returns its id; ErrJobsNotStarted before OpenJobs.
	InsertJob(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (jobID int64, err error)
	// LockBatch serializes the transactions that start children of batch
	// operation parent (on PostgreSQL it locks the batch's row until the
	// transaction ends; on SQLite the transaction already holds the only
	// writer) and returns how many of its children are started (JobID not
	// 0) and unfinished, not counting those in state idle (waiting for a
	// human).
	LockBatch(ctx context.Context, parent, idle string) (active int, err error)
	// ClaimChildren returns, in id order, the next n queued children of
	// batch operation parent (unfinished, JobID 0); all of them when n < 0.
	// Call it after LockBatch; the caller gives each a job (UpdateOperation
	// with JobID) or finishes it.
	ClaimChildren(ctx context.Context, parent string, n int) ([]*Operation, error)
}

// Jobs is River running on the store's own database.
type Jobs interface {
	// Start begins working the configured queues; an insert-only client
	// (no Queues in its config) need not be started.
	Start(ctx context.Context) error
	// Stop waits for running jobs to finish (until ctx ends).
	Stop(ctx context.Context) error
	// StopAndCancel cancels running jobs' contexts and waits for them to
	// return.
	StopAndCancel(ctx context.Context) error
	// Insert enqueues a job outside any transaction.
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error
	// Retry makes job jobID available to run now (River JobRetry), e.g. to
	// wake a snoozed job early.
	Retry(ctx context.Context, jobID int64) error
}

// OperationStore is the workflow side of a backend.
type OperationStore interface {
	OperationReader
	OperationWriter
	// InTx runs fn in one transaction, committing when it returns nil. fn
	// must use only its Tx, never the store: on SQLite the transaction
	// holds the only connection, so a store call inside fn blocks until
	// ctx ends.
	InTx(ctx context.Context, fn func(Tx) error) error
	// AcquireLease takes or extends lease key for holder until ttl from now:
	// true when holder now has it, false when another holder's lease has not
	// expired. Leases coordinate replicas on one database; one that is not
	// released (a crash) frees itself when it expires.
	AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives up holder's lease key; no error when it is not
	// holder's (anymore).
	ReleaseLease(ctx context.Context, key, holder string) error
	// OpenJobs creates the backend's River client with cfg (its workers,
	// queues and hooks) on the store's database; after it, Tx.InsertJob
	// works. Call once, before Start.
	OpenJobs(cfg *river.Config) (Jobs, error)
}
