package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"maps"
	"slices"
)

// pageTokenKey authenticates page tokens. It is fixed and public: tokens are
// opaque and tamper-evident, not secret, and not an authorization boundary
// (a caller may list anything it could list without the token).
var pageTokenKey = []byte("xdrlink store page token v1")

const pageTokenMACSize = 16

// EncodePageToken returns an opaque token that continues a list after lastID
// with q's filters. The page size is not bound, so it may change between pages.
func EncodePageToken(lastID string, q TenantQuery) string {
	b := append([]byte(lastID), pageTokenMAC(lastID, q)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodePageToken returns the last id carried by token, or ErrInvalidPageToken
// if token is malformed, altered, or was issued for different filters than q's.
// An empty token is the start of the list ("", nil).
func DecodePageToken(token string, q TenantQuery) (lastID string, err error) {
	if token == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < pageTokenMACSize {
		return "", ErrInvalidPageToken
	}
	id, mac := string(b[:len(b)-pageTokenMACSize]), b[len(b)-pageTokenMACSize:]
	if !hmac.Equal(mac, pageTokenMAC(id, q)) {
		return "", ErrInvalidPageToken
	}
	return id, nil
}

// pageTokenMAC binds lastID to q's filters: state and labels sorted by key,
// each length-prefixed so that distinct filters never encode alike.
func pageTokenMAC(lastID string, q TenantQuery) []byte {
	m := hmac.New(sha256.New, pageTokenKey)
	var buf []byte
	put := func(s string) {
		buf = binary.AppendUvarint(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	put(lastID)
	put(q.State)
	keys := slices.Sorted(maps.Keys(q.Labels))
	buf = binary.AppendUvarint(buf, uint64(len(keys)))
	for _, k := range keys {
		put(k)
		put(q.Labels[k])
	}
	m.Write(buf)
	return m.Sum(nil)[:pageTokenMACSize]
}
