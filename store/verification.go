package store

import (
	"context"
	"time"
)

// Verification is one stored ingestion report of a tenant.
type Verification struct {
	ID         string    // unique per tenant, e.g. "20261130t021335-ab12"
	Tenant     string    // tenant id
	Operation  string    // id of the operation that produced it ("" allowed)
	Verdict    string    // its overall verdict's enum name, e.g. "VERDICT_STALE"; indexed through the tenant
	Body       []byte    // serialized report; the store does not read it
	CreateTime time.Time // set by the CALLER (the report's time), stored at microsecond precision, UTC
}

// VerificationQuery pages one tenant's verifications, newest first (CreateTime desc, then ID desc).
type VerificationQuery struct {
	Tenant    string
	PageSize  int
	PageToken string
}

// VerificationPage is one page of verifications.
type VerificationPage struct {
	Verifications []*Verification
	NextPageToken string
}

// VerificationReader reads stored verifications.
type VerificationReader interface {
	// GetVerification returns ErrNotFound if the tenant has no such verification.
	GetVerification(ctx context.Context, tenant, id string) (*Verification, error)
	// ListVerifications returns one page; ErrInvalidPageToken for a bad token. An unknown tenant gives an empty page.
	ListVerifications(ctx context.Context, q VerificationQuery) (*VerificationPage, error)
}

// NewVerification returns what a create of v stores: a copy with
// CreateTime in UTC at microsecond precision (the caller's time may carry
// nanoseconds and a zone) and an empty Body nil, as backends return them on
// reads.
func NewVerification(v *Verification) *Verification {
	out := *v
	out.CreateTime = v.CreateTime.UTC().Truncate(time.Microsecond)
	out.Body = nilIfEmpty(v.Body)
	return &out
}

// PaginateVerifications is PageTokens.PaginateVerifications with
// DefaultPageTokenKey's tokens.
func PaginateVerifications(q VerificationQuery, fetch func(after *Cursor, limit int) ([]*Verification, error)) (*VerificationPage, error) {
	return defaultPageTokens.PaginateVerifications(q, fetch)
}

// PaginateVerifications runs one keyset page of q, newest first. fetch
// returns up to limit of q.Tenant's verifications that come after the
// cursor (all from the start when it is nil), ordered by create time then
// id, both descending.
func (p *PageTokens) PaginateVerifications(q VerificationQuery, fetch func(after *Cursor, limit int) ([]*Verification, error)) (*VerificationPage, error) {
	vs, next, err := paginateNewest(p, q.PageToken, verificationFilters(q), q.PageSize, fetch,
		func(v *Verification) Cursor { return Cursor{CreateTime: v.CreateTime, ID: v.ID} })
	if err != nil {
		return nil, err
	}
	return &VerificationPage{Verifications: vs, NextPageToken: next}, nil
}
