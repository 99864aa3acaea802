package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. The server maps them to gRPC codes in one place.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists: a record with that id exists.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrEtagMismatch: the caller's etag is not the record's current etag.
	ErrEtagMismatch = errors.New("store: etag mismatch")
	// ErrInvalidPageToken: the page token is malformed, forged, or was issued
	// for a different query.
	ErrInvalidPageToken = errors.New("store: invalid page token")
)

const (
	// DefaultPageSize is used when a list asks for page size 0.
	DefaultPageSize = 50
	// MaxPageSize caps a list page; larger requests are coerced to it (AIP-158).
	MaxPageSize = 1000
)

// Tenant is one registered customer tenant as stored.
type Tenant struct {
	// ID is the resource id ("contoso" in "tenants/contoso").
	ID string
	// State is the lifecycle state's enum name, e.g. "REGISTERED"; indexed for filtering.
	State string
	// Labels are copied out of Body so that lists can filter on them.
	Labels map[string]string
	// Body is the serialized API message (proto binary) holding the spec: the
	// fields the etag covers. The store does not read it.
	Body []byte
	// WorkspaceKey identifies the tenant's workspace (lower-cased
	// "subscription/resourcegroup/name"); unique across tenants when not
	// empty: a second tenant with the same key is a *ConflictError
	// (ConflictWorkspace) on create and update.
	WorkspaceKey string
	// Status is the serialized status message, written only by
	// UpdateTenantStatus (and empty on create); it changes neither Etag nor
	// UpdateTime.
	Status []byte
	// Verdict is the enum name of the verdict of the tenant's last
	// verification; indexed for filtering. Read-only for callers: only
	// CreateVerification sets it (changing neither Etag nor UpdateTime), and
	// it is empty before any verification.
	Verdict string
	// AccessGroup is copied out of Body so that scoped lists can filter on
	// it; "" for none. When an update changes it, the tenant's operations
	// follow (Operation.AccessGroup) in the same transaction.
	AccessGroup string
	// RequireState, for UpdateTenant only, makes the update conditional on
	// the stored State (ErrEtagMismatch otherwise): a change checked against
	// the state read (moving a tenant that is not connected to Azure) must
	// not land after an operation changed the state, which leaves the etag
	// alone. Never stored.
	RequireState string
	// Etag is set by the store on every write; callers never choose it.
	Etag string
	// CreateTime and UpdateTime are set by the store (UTC, microsecond precision).
	CreateTime time.Time
	UpdateTime time.Time
}

// TenantQuery selects and pages tenants. Results are ordered by ID.
type TenantQuery struct {
	// PageSize: 0 means DefaultPageSize; above MaxPageSize means MaxPageSize.
	PageSize int
	// PageToken continues a previous list with the same filters.
	PageToken string
	// State, when non-empty, keeps only tenants in that state.
	State string
	// Labels keeps only tenants carrying every one of these key=value pairs.
	Labels map[string]string
	// Verdict, when non-empty, keeps only tenants whose last verification's
	// verdict is this enum name.
	Verdict string
	// Scope, when not nil, keeps only the tenants it allows.
	Scope *Scope
}

// TenantPage is one page of a list.
type TenantPage struct {
	Tenants []*Tenant
	// NextPageToken is empty on the last page.
	NextPageToken string
}

// TenantStore keeps the tenant registry.
type TenantStore interface {
	// CreateTenant inserts t (ID, State, Labels, Body, WorkspaceKey,
	// AccessGroup) and
	// returns it with Etag and times set. ErrAlreadyExists if the ID is taken;
	// a *ConflictError if the WorkspaceKey is.
	CreateTenant(ctx context.Context, t *Tenant) (*Tenant, error)
	// CreateTenants inserts ts in one transaction, all of them or none, and
	// returns them in order with Etag and times set (the same times for
	// all). On a taken ID or WorkspaceKey, whether held by a stored tenant
	// or by an earlier one of ts, it stores nothing and returns the error
	// CreateTenant would, wrapped in an *ItemError naming the first
	// tenant of ts that collided.
	CreateTenants(ctx context.Context, ts []*Tenant) ([]*Tenant, error)
	// GetTenant returns ErrNotFound if there is no such tenant.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// ListTenants returns one page; ErrInvalidPageToken for a bad token.
	ListTenants(ctx context.Context, q TenantQuery) (*TenantPage, error)
	// UpdateTenant replaces Labels, Body, WorkspaceKey and AccessGroup of
	// t.ID (never State or Status, which belong to UpdateTenantStatus) if
	// its current etag equals expectedEtag (an empty expectedEtag skips the
	// check) and, when t.RequireState is not empty, its current State
	// equals it, and returns the new record with a fresh Etag and
	// UpdateTime.
	// ErrNotFound or ErrEtagMismatch otherwise; of concurrent updates with
	// the same etag exactly one succeeds. The tenant's operations move to
	// its new AccessGroup in the same transaction, keeping their Version
	// and UpdateTime.
	UpdateTenant(ctx context.Context, t *Tenant, expectedEtag string) (*Tenant, error)
	// DeleteTenant removes the tenant, and its verifications, if its etag
	// equals expectedEtag (empty skips the check). ErrNotFound or
	// ErrEtagMismatch otherwise.
	DeleteTenant(ctx context.Context, id, expectedEtag string) error
}

// ItemError is the error of one item of a batch write: Index is its
// position in the batch. errors.Is and errors.As see Err through it.
type ItemError struct {
	Index int
	Err   error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %d: %v", e.Index, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// Store is a complete backend.
type Store interface {
	TenantStore
	OperationStore
	VerificationReader
	APIKeyStore
	AuditStore
	// Ready reports whether the backend can serve (reachable, migrated).
	Ready(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}
