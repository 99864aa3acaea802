package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"maps"
	"slices"
	"strconv"
	"time"
)

// PageTokens signs page tokens and checks them with one key. Tokens are
// opaque and tamper-evident; the key keeps anyone without it from forging
// one (a token is still not an authorization boundary: a caller may list
// anything it could list without it). Servers sharing a key accept each
// other's tokens, and a token outlives a restart as long as its key does.
// The zero value and nil use DefaultPageTokenKey.
type PageTokens struct {
	key []byte
}

// DefaultPageTokenKey is the key of stores not given one: fixed and public,
// for tests and tools. A server passes its own (see NewPageTokens).
var DefaultPageTokenKey = []byte("xdrlink store page token v1")

// NewPageTokens returns PageTokens with key (copied); an empty key is
// DefaultPageTokenKey.
func NewPageTokens(key []byte) *PageTokens {
	return &PageTokens{key: bytes.Clone(key)}
}

var defaultPageTokens = &PageTokens{}

func (p *PageTokens) macKey() []byte {
	if p == nil || len(p.key) == 0 {
		return DefaultPageTokenKey
	}
	return p.key
}

const pageTokenMACSize = 16

// EncodePageToken returns an opaque token that continues a list after lastID
// with q's filters, signed with DefaultPageTokenKey. The page size is not
// bound, so it may change between pages.
func EncodePageToken(lastID string, q TenantQuery) string {
	return defaultPageTokens.EncodePageToken(lastID, q)
}

// DecodePageToken checks a token of EncodePageToken; see
// PageTokens.DecodePageToken.
func DecodePageToken(token string, q TenantQuery) (lastID string, err error) {
	return defaultPageTokens.DecodePageToken(token, q)
}

// EncodePageToken returns an opaque token that continues a list after lastID
// with q's filters. The page size is not bound, so it may change between pages.
func (p *PageTokens) EncodePageToken(lastID string, q TenantQuery) string {
	return p.signToken(lastID, tenantFilters(q))
}

// DecodePageToken returns the last id carried by token, or ErrInvalidPageToken
// if token is malformed, altered, signed with another key, or was issued for
// different filters than q's. An empty token is the start of the list ("", nil).
func (p *PageTokens) DecodePageToken(token string, q TenantQuery) (lastID string, err error) {
	return p.verifyToken(token, tenantFilters(q))
}

// tenantFilters lists what a tenant token is bound to: the list it belongs
// to, the state, the verdict and the labels sorted by key.
func tenantFilters(q TenantQuery) []string {
	f := []string{"tenants", q.State}
	if q.Verdict != "" {
		// Another list name rather than one more field, so that tokens
		// issued before the verdict filter existed stay valid.
		f = []string{"tenants by verdict", q.State, q.Verdict}
	}
	for _, k := range slices.Sorted(maps.Keys(q.Labels)) {
		f = append(f, k, q.Labels[k])
	}
	return appendScope(f, q.Scope)
}

// appendScope binds a token to scope s too, so that a token is refused under
// another scope, or without one. Nothing is appended for a nil scope, so
// that tokens issued before scopes existed stay valid. The scope is one
// element (its sorted, deduplicated groups, then the caller, each
// length-prefixed): the labels before it are a variable number of
// elements, and several scope elements could be taken for labels.
func appendScope(f []string, s *Scope) []string {
	if s == nil {
		return f
	}
	groups := slices.Compact(slices.Sorted(slices.Values(s.AccessGroups)))
	b := []byte("scope")
	b = binary.AppendUvarint(b, uint64(len(groups)))
	for _, g := range append(groups, s.Caller) {
		b = binary.AppendUvarint(b, uint64(len(g)))
		b = append(b, g...)
	}
	return append(f, string(b))
}

// Cursor is the last record of a newest-first page (operations,
// verifications, API keys, audit events): the next page starts after it.
type Cursor struct {
	CreateTime time.Time
	ID         string
}

// OperationCursor is the cursor of operation lists.
type OperationCursor = Cursor

// operationFilters binds an operation token to its list and filters.
func operationFilters(q OperationQuery) []string {
	return appendScope([]string{"operations", q.Tenant, q.Kind, q.State, q.Parent}, q.Scope)
}

// apiKeyFilters binds an API key token to its list and whether it shows
// revoked keys.
func apiKeyFilters(q APIKeyQuery) []string {
	return []string{"api keys", strconv.FormatBool(q.ShowRevoked)}
}

// auditFilters binds an audit token to its list and filters.
func auditFilters(q AuditQuery) []string {
	return []string{"audit", q.Principal, q.Method, q.Resource, q.Code}
}

// verificationFilters binds a verification token to its list and tenant.
func verificationFilters(q VerificationQuery) []string {
	return []string{"verifications", q.Tenant}
}

// encodeCursorToken: the cursor is the create time in microseconds (8
// bytes) followed by the id.
func (p *PageTokens) encodeCursorToken(c Cursor, filters []string) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(c.CreateTime.UnixMicro()))
	return p.signToken(string(append(b, c.ID...)), filters)
}

// decodeCursorToken returns nil for an empty token (the first page).
func (p *PageTokens) decodeCursorToken(token string, filters []string) (*Cursor, error) {
	if token == "" {
		return nil, nil
	}
	s, err := p.verifyToken(token, filters)
	if err != nil {
		return nil, err
	}
	if len(s) < 8 {
		return nil, ErrInvalidPageToken
	}
	micros := int64(binary.BigEndian.Uint64([]byte(s[:8])))
	return &Cursor{CreateTime: time.UnixMicro(micros).UTC(), ID: s[8:]}, nil
}

// signToken returns cursor followed by a MAC binding it to filters.
func (p *PageTokens) signToken(cursor string, filters []string) string {
	b := append([]byte(cursor), p.pageTokenMAC(cursor, filters)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// verifyToken returns the cursor of a token from signToken with the same
// filters; "" for an empty token.
func (p *PageTokens) verifyToken(token string, filters []string) (string, error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < pageTokenMACSize {
		return "", ErrInvalidPageToken
	}
	cursor, mac := string(b[:len(b)-pageTokenMACSize]), b[len(b)-pageTokenMACSize:]
	if !hmac.Equal(mac, p.pageTokenMAC(cursor, filters)) {
		return "", ErrInvalidPageToken
	}
	return cursor, nil
}

// pageTokenMAC binds cursor to filters, each length-prefixed (and their
// count too) so that distinct filters never encode alike.
func (p *PageTokens) pageTokenMAC(cursor string, filters []string) []byte {
	var buf []byte
	put := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	put(cursor)
	buf = binary.AppendUvarint(buf, uint64(len(filters)))
	for _, f := range filters {
		put(f)
	}
	m := hmac.New(sha256.New, p.macKey())
	m.Write(buf)
	return m.Sum(nil)[:pageTokenMACSize]
}
