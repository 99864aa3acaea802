package store

import (
	"context"
	"time"
)

// Scope limits a query to what a scoped caller may see. A nil *Scope in a
// query means no limit (unscoped callers and the server itself).
type Scope struct {
	// AccessGroups keeps records whose AccessGroup is one of these. An
	// empty list keeps none (but see Caller); the empty group is never
	// matched, so tenants without a group are for unscoped callers only.
	AccessGroups []string
	// Caller, when not empty, also keeps operations this principal created
	// (Operation.Caller): a scoped caller always sees its own batches, even
	// when they span several access groups. Ignored for tenants.
	Caller string
}

// APIKey is one API key as stored. The secret is never stored, only its
// SHA-256: keys are 256-bit random values, so a fast hash is enough (no
// password hashing needed) and lookups stay cheap.
type APIKey struct {
	// ID is the resource id ("k1" in "apiKeys/k1"); it is also part of the
	// key the caller presents, so a lookup is by primary key.
	ID string
	// SecretHash is the SHA-256 of the key's secret part.
	SecretHash []byte
	// Body is the serialized API message (display name, role, access
	// groups, expiry, creator, revocation). The store does not read it.
	Body []byte
	// Revoked is set by RevokeAPIKey, with RevokeTime.
	Revoked bool
	// Times are set by the store; RevokeTime is zero until revoked.
	CreateTime, RevokeTime time.Time
}

// APIKeyQuery pages API keys, newest first (create time, then id).
type APIKeyQuery struct {
	PageSize  int
	PageToken string
	// ShowRevoked includes revoked keys.
	ShowRevoked bool
}

// APIKeyPage is one page of API keys.
type APIKeyPage struct {
	APIKeys       []*APIKey
	NextPageToken string
}

// APIKeyStore keeps API keys.
type APIKeyStore interface {
	// CreateAPIKey inserts k (ID, SecretHash, Body) and returns it with
	// CreateTime set. ErrAlreadyExists if the ID is taken.
	CreateAPIKey(ctx context.Context, k *APIKey) (*APIKey, error)
	// GetAPIKey returns ErrNotFound if there is no such key.
	GetAPIKey(ctx context.Context, id string) (*APIKey, error)
	// ListAPIKeys returns one page; ErrInvalidPageToken for a bad token.
	ListAPIKeys(ctx context.Context, q APIKeyQuery) (*APIKeyPage, error)
	// RevokeAPIKey marks key id revoked, with RevokeTime now and body as its
	// new Body, and returns it. A key already revoked is returned as it is
	// (body is ignored). ErrNotFound if there is no such key.
	RevokeAPIKey(ctx context.Context, id string, body []byte) (*APIKey, error)
}

// AuditEvent is one audit record as stored.
type AuditEvent struct {
	// ID is unique and chosen by the caller (time-ordered ids read best).
	ID string
	// Time is set by the caller; stored at microsecond precision, UTC.
	Time time.Time
	// Principal, Method, Resource and Code (the outcome's code name, e.g.
	// "OK", "PERMISSION_DENIED") are copied out of Body for filtering.
	Principal, Method, Resource, Code string
	// Body is the serialized API message. The store does not read it.
	Body []byte
}

// AuditQuery selects and pages audit events, newest first (time, then id).
type AuditQuery struct {
	PageSize  int
	PageToken string
	// Each non-empty field keeps only events with that exact value.
	Principal, Method, Resource, Code string
}

// AuditPage is one page of audit events.
type AuditPage struct {
	AuditEvents   []*AuditEvent
	NextPageToken string
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// AppendAuditEvent stores e. ErrAlreadyExists if its ID is taken.
	AppendAuditEvent(ctx context.Context, e *AuditEvent) error
	// ListAuditEvents returns one page; ErrInvalidPageToken for a bad token.
	ListAuditEvents(ctx context.Context, q AuditQuery) (*AuditPage, error)
	// PruneAuditEvents deletes the events older than before and says how
	// many it deleted.
	PruneAuditEvents(ctx context.Context, before time.Time) (int, error)
}
