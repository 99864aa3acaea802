package sealbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the key length: AES-256.
const KeySize = 32

// version1 is the first byte of every ciphertext sealed by this version of the package.
const version1 byte = 1

const nonceSize = 12 // GCM's standard nonce; random nonces are safe for far more values than we store

// ErrOpen is returned for any ciphertext that does not open: truncated, tampered, sealed
// with another key or other associated data, or of an unknown version. The causes are
// deliberately not told apart.
var ErrOpen = errors.New("sealbox: cannot open sealed value")

// Box seals and opens values with one key. It is safe for concurrent use.
type Box struct {
	aead cipher.AEAD
}

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("sealbox: key must be %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("sealbox: %w", err)
	}
	return &Box{aead: aead}, nil
}

// ParseKey decodes a base64 key (standard or URL alphabet, padded or not) of 32 bytes.
// Errors never echo the input: it is a key.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s) // keys come from files and environment variables
	if s == "" {
		return nil, errors.New("sealbox: key is empty")
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if key, err := enc.DecodeString(s); err == nil {
			if len(key) != KeySize {
				return nil, fmt.Errorf("sealbox: key must decode to %d bytes, got %d", KeySize, len(key))
			}
			return key, nil
		}
	}
	return nil, errors.New("sealbox: key is not base64")
}

// GenerateKey returns a new random key, base64 (standard alphabet), for ParseKey.
func GenerateKey() string {
	key := make([]byte, KeySize)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (it panics if the OS cannot supply randomness)
	return base64.StdEncoding.EncodeToString(key)
}

// Seal encrypts plaintext bound to associatedData (which is not stored: Open needs the same
// value).
func (b *Box) Seal(plaintext, associatedData []byte) []byte {
	out := make([]byte, 1+nonceSize, 1+nonceSize+len(plaintext)+b.aead.Overhead())
	out[0] = version1
	_, _ = rand.Read(out[1:])
	// The version byte is authenticated too, so it cannot be changed to steer Open.
	return b.aead.Seal(out, out[1:], plaintext, b.ad(out[0], associatedData))
}

// Open decrypts a value sealed with the same key and associated data.
func (b *Box) Open(ciphertext, associatedData []byte) ([]byte, error) {
	if len(ciphertext) < 1+nonceSize+b.aead.Overhead() || ciphertext[0] != version1 {
		return nil, ErrOpen
	}
	nonce, sealed := ciphertext[1:1+nonceSize], ciphertext[1+nonceSize:]
	plain, err := b.aead.Open(nil, nonce, sealed, b.ad(ciphertext[0], associatedData))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// ad is the GCM associated data: the version byte followed by the caller's data.
func (b *Box) ad(version byte, associatedData []byte) []byte {
	return append([]byte{version}, associatedData...)
}
