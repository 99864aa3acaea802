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

// NewRecord returns what a write of t stores: a copy of its ID, State, Labels
// and Body, a fresh Etag, and both times Now. Empty Labels and Body are nil, as
// backends return them on reads, so written and read records compare equal.
func NewRecord(t *Tenant) *Tenant {
	now := Now()
	out := &Tenant{ID: t.ID, State: t.State, Etag: NewEtag(), CreateTime: now, UpdateTime: now}
	if len(t.Labels) > 0 {
		out.Labels = maps.Clone(t.Labels)
	}
	if len(t.Body) > 0 {
		out.Body = bytes.Clone(t.Body)
	}
	return out
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

// Paginate runs one keyset page of q. fetch returns up to limit tenants with
// ID > afterID, ordered by ID, that match q's filters.
func Paginate(q TenantQuery, fetch func(afterID string, limit int) ([]*Tenant, error)) (*TenantPage, error) {
	after, err := DecodePageToken(q.PageToken, q)
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
		page.NextPageToken = EncodePageToken(ts[size-1].ID, q)
	}
	return page, nil
}
