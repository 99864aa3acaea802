package store

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"maps"
	"time"
)

// Helpers shared by the backends.

// ErrMigrationsPending is returned by Ready when the schema is behind the
// binary; run the migrate command (or migrate at startup).
var ErrMigrationsPending = errors.New("store: migrations pending")

// NewEtag returns a fresh random etag, so that a deleted and recreated
// record never reuses one.
func NewEtag() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (Go 1.24+)
	return hex.EncodeToString(b)
}

// Now is the store's clock: UTC at microsecond precision, which every backend
// stores exactly.
func Now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// NewRecord returns what a create of t stores: a copy of its ID, State,
// Labels, Body, WorkspaceKey and AccessGroup, no Status or Verdict, a fresh Etag, and
// both times Now. Empty Labels and Body are nil, as backends return them on
// reads, so written and read records compare equal. (An update keeps the
// stored State, Status and Verdict; the backend reads them back.)
func NewRecord(t *Tenant) *Tenant {
	now := Now()
	out := &Tenant{ID: t.ID, State: t.State, WorkspaceKey: t.WorkspaceKey, AccessGroup: t.AccessGroup,
		Etag: NewEtag(), CreateTime: now, UpdateTime: now}
	if len(t.Labels) > 0 {
		out.Labels = maps.Clone(t.Labels)
	}
	if len(t.Body) > 0 {
		out.Body = bytes.Clone(t.Body)
	}
	return out
}

// NewRecords is NewRecord for each of ts, all created in one transaction and
// so at one time.
func NewRecords(ts []*Tenant) []*Tenant {
	out := make([]*Tenant, len(ts))
	now := Now()
	for i, t := range ts {
		out[i] = NewRecord(t)
		out[i].CreateTime, out[i].UpdateTime = now, now
	}
	return out
}

// NewItemError wraps err in an *ItemError for item i of a batch when it is a
// uniqueness rule's error (ErrAlreadyExists, ErrConflict); any other error,
// e.g. the database's, is about no one item and is returned as it is.
func NewItemError(i int, err error) error {
	if errors.Is(err, ErrAlreadyExists) || errors.Is(err, ErrConflict) {
		return &ItemError{Index: i, Err: err}
	}
	return err
}

// NormalizePageSize applies DefaultPageSize and MaxPageSize; a negative size
// is treated as 0.
func NormalizePageSize(n int) int {
	switch {
	case n <= 0:
		return DefaultPageSize
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// Paginate runs one keyset page of q with DefaultPageTokenKey's tokens; see
// PageTokens.Paginate.
func Paginate(q TenantQuery, fetch func(afterID string, limit int) ([]*Tenant, error)) (*TenantPage, error) {
	return defaultPageTokens.Paginate(q, fetch)
}

// Paginate runs one keyset page of q. fetch returns up to limit tenants with
// ID > afterID, ordered by ID, that match q's filters.
func (p *PageTokens) Paginate(q TenantQuery, fetch func(afterID string, limit int) ([]*Tenant, error)) (*TenantPage, error) {
	after, err := p.DecodePageToken(q.PageToken, q)
	if err != nil {
		return nil, err
	}
	size := NormalizePageSize(q.PageSize)
	ts, err := fetch(after, size+1)
	if err != nil {
		return nil, err
	}
	page := &TenantPage{Tenants: ts}
	if len(ts) > size {
		page.Tenants = ts[:size]
		page.NextPageToken = p.EncodePageToken(ts[size-1].ID, q)
	}
	return page, nil
}

// NewOperation returns what a create of op stores: a copy of its fields,
// Version 1, both times Now, and EndTime Now if it is created Done (zero
// otherwise). Empty byte slices are nil, as backends return them on reads.
func NewOperation(op *Operation) *Operation {
	now := Now()
	out := *op
	out.Version, out.CreateTime, out.UpdateTime, out.EndTime = 1, now, now, time.Time{}
	if op.Done {
		out.EndTime = now
	}
	out.RequestHash, out.Body = nilIfEmpty(op.RequestHash), nilIfEmpty(op.Body)
	return &out
}

func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return bytes.Clone(b)
}

// PaginateOperations is PageTokens.PaginateOperations with
// DefaultPageTokenKey's tokens.
func PaginateOperations(q OperationQuery, fetch func(after *OperationCursor, limit int) ([]*Operation, error)) (*OperationPage, error) {
	return defaultPageTokens.PaginateOperations(q, fetch)
}

// PaginateOperations runs one keyset page of q, newest first. fetch returns
// up to limit operations matching q's filters that come after the cursor
// (all from the start when it is nil), ordered by create time then id, both
// descending.
func (p *PageTokens) PaginateOperations(q OperationQuery, fetch func(after *OperationCursor, limit int) ([]*Operation, error)) (*OperationPage, error) {
	ops, next, err := paginateNewest(p, q.PageToken, operationFilters(q), q.PageSize, fetch,
		func(op *Operation) Cursor { return Cursor{CreateTime: op.CreateTime, ID: op.ID} })
	if err != nil {
		return nil, err
	}
	return &OperationPage{Operations: ops, NextPageToken: next}, nil
}

// NewAPIKey returns what a create of k stores: a copy of its ID,
// SecretHash and Body (empty ones nil, as backends read them back), not
// revoked, created Now.
func NewAPIKey(k *APIKey) *APIKey {
	return &APIKey{ID: k.ID, SecretHash: nilIfEmpty(k.SecretHash), Body: nilIfEmpty(k.Body), CreateTime: Now()}
}

// NewAuditEvent returns what an append of e stores: a copy with Time in UTC
// at microsecond precision (the caller's time may carry nanoseconds and a
// zone) and an empty Body nil.
func NewAuditEvent(e *AuditEvent) *AuditEvent {
	out := *e
	out.Time = e.Time.UTC().Truncate(time.Microsecond)
	out.Body = nilIfEmpty(e.Body)
	return &out
}

// PruneBound returns the stored time that PruneAuditEvents compares with:
// before rounded up to the microsecond, since stored times are whole
// microseconds and one just under a fractional before is older than it.
func PruneBound(before time.Time) time.Time {
	b := before.UTC().Truncate(time.Microsecond)
	if b.Before(before) {
		b = b.Add(time.Microsecond)
	}
	return b
}

// PaginateAPIKeys runs one keyset page of q, newest first. fetch returns up
// to limit keys (revoked ones only if q.ShowRevoked) that come after the
// cursor (all from the start when it is nil), ordered by create time then
// id, both descending.
func (p *PageTokens) PaginateAPIKeys(q APIKeyQuery, fetch func(after *Cursor, limit int) ([]*APIKey, error)) (*APIKeyPage, error) {
	ks, next, err := paginateNewest(p, q.PageToken, apiKeyFilters(q), q.PageSize, fetch,
		func(k *APIKey) Cursor { return Cursor{CreateTime: k.CreateTime, ID: k.ID} })
	if err != nil {
		return nil, err
	}
	return &APIKeyPage{APIKeys: ks, NextPageToken: next}, nil
}

// PaginateAuditEvents runs one keyset page of q, newest first. fetch returns
// up to limit events matching q's filters that come after the cursor (all
// from the start when it is nil; its CreateTime is the event's Time),
// ordered by time then id, both descending.
func (p *PageTokens) PaginateAuditEvents(q AuditQuery, fetch func(after *Cursor, limit int) ([]*AuditEvent, error)) (*AuditPage, error) {
	es, next, err := paginateNewest(p, q.PageToken, auditFilters(q), q.PageSize, fetch,
		func(e *AuditEvent) Cursor { return Cursor{CreateTime: e.Time, ID: e.ID} })
	if err != nil {
		return nil, err
	}
	return &AuditPage{AuditEvents: es, NextPageToken: next}, nil
}

// ScopeGroups returns the access groups a (non-nil) scope can match: its
// groups without the empty one, which is never matched. The result is
// never nil, so that backends bind an empty array (matching nothing), not
// NULL.
func ScopeGroups(s *Scope) []string {
	out := []string{}
	for _, g := range s.AccessGroups {
		if g != "" {
			out = append(out, g)
		}
	}
	return out
}

// paginateNewest runs one keyset page of a newest-first list whose tokens
// are bound to filters. It fetches one more item than the page holds to
// learn whether another page follows; cursor gives an item's position.
func paginateNewest[T any](p *PageTokens, token string, filters []string, pageSize int,
	fetch func(after *Cursor, limit int) ([]T, error), cursor func(T) Cursor) (items []T, next string, err error) {
	after, err := p.decodeCursorToken(token, filters)
	if err != nil {
		return nil, "", err
	}
	size := NormalizePageSize(pageSize)
	if items, err = fetch(after, size+1); err != nil {
		return nil, "", err
	}
	if len(items) > size {
		next = p.encodeCursorToken(cursor(items[size-1]), filters)
		items = items[:size]
	}
	return items, next, nil
}

// UniqueRule is a uniqueness rule an insert may break: Query selects the id
// of the row holding Arg, and Err says what the caller gets when one does.
type UniqueRule struct {
	Query string
	Arg   any
	Err   func(with string) error
}

// Unique is a UniqueRule.
func Unique(query string, arg any, err func(with string) error) UniqueRule {
	return UniqueRule{Query: query, Arg: arg, Err: err}
}

// AlreadyExists is the Err of a primary-key rule.
func AlreadyExists(string) error { return ErrAlreadyExists }

// Conflict is the Err of a rule whose breach is a *ConflictError.
func Conflict(rule string) func(with string) error {
	return func(with string) error { return &ConflictError{Rule: rule, With: with} }
}
