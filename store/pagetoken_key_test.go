package store

import (
	"errors"
	"testing"
	"time"
)

// TestPageTokenKeys: a token checks only under the key that signed it; a
// nil or keyless PageTokens is the default key's.
func TestPageTokenKeys(t *testing.T) {
	k1, k2 := NewPageTokens([]byte("0123456789abcdef0123456789abcdef")), NewPageTokens([]byte("fedcba9876543210fedcba9876543210"))
	q := TenantQuery{State: "REGISTERED"}
	tok := k1.EncodePageToken("contoso", q)
	if id, err := k1.DecodePageToken(tok, q); id != "contoso" || err != nil {
		t.Fatalf("same key: %q, %v", id, err)
	}
	for name, p := range map[string]*PageTokens{"another key": k2, "the default key": nil, "an empty key": NewPageTokens(nil)} {
		if _, err := p.DecodePageToken(tok, q); !errors.Is(err, ErrInvalidPageToken) {
			t.Errorf("%s: %v, want ErrInvalidPageToken", name, err)
		}
	}
	if id, err := NewPageTokens(nil).DecodePageToken(EncodePageToken("x", q), q); id != "x" || err != nil {
		t.Errorf("an empty key is the default: %q, %v", id, err)
	}
	c := Cursor{CreateTime: time.UnixMicro(1700000000000000).UTC(), ID: "op"}
	ctok := k1.encodeCursorToken(c, operationFilters(OperationQuery{}))
	if _, err := k2.decodeCursorToken(ctok, operationFilters(OperationQuery{})); !errors.Is(err, ErrInvalidPageToken) {
		t.Errorf("cursor token under another key: %v, want ErrInvalidPageToken", err)
	}
}
