package sealbox_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/xdrlink/xdrlink/internal/sealbox"
)

func newBox(t *testing.T) *sealbox.Box {
	t.Helper()
	key, err := sealbox.ParseKey(sealbox.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	b, err := sealbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	b := newBox(t)
	ad := []byte("operations/op-1")
	for _, plain := range [][]byte{nil, []byte("x"), []byte("a refresh token"), bytes.Repeat([]byte{0xff}, 4096)} {
		sealed := b.Seal(plain, ad)
		if len(plain) >= 8 && bytes.Contains(sealed, plain) { // shorter ones can occur by chance
			t.Fatal("plaintext visible in the sealed value")
		}
		got, err := b.Open(sealed, ad)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("open: %q, %v", got, err)
		}
	}
	// Random nonces: sealing twice gives different values.
	if bytes.Equal(b.Seal([]byte("same"), ad), b.Seal([]byte("same"), ad)) {
		t.Fatal("two seals of the same value are equal")
	}
}

func TestOpenRejects(t *testing.T) {
	b := newBox(t)
	ad := []byte("operations/op-1")
	sealed := b.Seal([]byte("secret"), ad)
	tampered := func(i int) []byte {
		c := bytes.Clone(sealed)
		c[i] ^= 1
		return c
	}
	cases := map[string]struct {
		box        *sealbox.Box
		ciphertext []byte
		ad         []byte
	}{
		"wrong associated data":   {b, sealed, []byte("operations/op-2")},
		"missing associated data": {b, sealed, nil},
		"wrong key":               {newBox(t), sealed, ad},
		"tampered version":        {b, tampered(0), ad},
		"tampered nonce":          {b, tampered(1), ad},
		"tampered ciphertext":     {b, tampered(14), ad},
		"tampered tag":            {b, tampered(len(sealed) - 1), ad},
		"truncated":               {b, sealed[:len(sealed)-1], ad},
		"short":                   {b, sealed[:12], ad},
		"empty":                   {b, nil, ad},
		"garbage":                 {b, []byte(strings.Repeat("garbage!", 8)), ad},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := tc.box.Open(tc.ciphertext, tc.ad)
			if !errors.Is(err, sealbox.ErrOpen) || got != nil {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb}, 32) // encodes differently in the std and URL alphabets
	for _, s := range []string{
		base64.StdEncoding.EncodeToString(raw), base64.RawStdEncoding.EncodeToString(raw),
		base64.URLEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		base64.StdEncoding.EncodeToString(raw) + "\n",
	} {
		key, err := sealbox.ParseKey(s)
		if err != nil || !bytes.Equal(key, raw) {
			t.Fatalf("ParseKey(%q) = %x, %v", s, key, err)
		}
	}
	for _, s := range []string{"", "   ", "not base64 at all!", base64.StdEncoding.EncodeToString(raw[:16]), base64.StdEncoding.EncodeToString(append(raw, 1))} {
		if _, err := sealbox.ParseKey(s); err == nil {
			t.Fatalf("ParseKey(%q) accepted", s)
		} else if len(s) > 8 && strings.Contains(err.Error(), strings.TrimSpace(s)) {
			t.Fatalf("error echoes the key: %v", err)
		}
	}
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := sealbox.New(make([]byte, n)); err == nil {
			t.Fatalf("New accepted a %d-byte key", n)
		}
	}
	if a, b := sealbox.GenerateKey(), sealbox.GenerateKey(); a == b {
		t.Fatal("GenerateKey repeats")
	}
}
