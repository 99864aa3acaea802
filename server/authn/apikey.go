package authn

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
)

// APIKeyPrefix starts every API key, so that secret scanners and people
// recognise one, and so that a bearer value is told from an OIDC token
// without trying to parse it.
const APIKeyPrefix = "xdrlink_"

// An API key is APIKeyPrefix, the key's id (16 lower-case letters and
// digits: it names the stored record) and "_", then 64 hex digits of
// secret (256 random bits, of which the store keeps the SHA-256 only).
const (
	apiKeyIDLen     = 16
	apiKeySecretLen = 64
)

// NewAPIKey returns a fresh key: its id, the key to give the caller once,
// and the hash to store.
func NewAPIKey() (id, key string, hash []byte) {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, apiKeyIDLen)
	rand.Read(b) // never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	secret := make([]byte, apiKeySecretLen/2)
	rand.Read(secret)
	id = string(b)
	s := hex.EncodeToString(secret)
	sum := sha256.Sum256([]byte(s))
	return id, APIKeyPrefix + id + "_" + s, sum[:]
}

// parseAPIKey splits a presented key into its id and the hash of its
// secret; false when it does not have the shape of a key.
func parseAPIKey(key string) (id string, hash []byte, ok bool) {
	rest, ok := strings.CutPrefix(key, APIKeyPrefix)
	if !ok {
		return "", nil, false
	}
	id, secret, ok := strings.Cut(rest, "_")
	if !ok || len(id) != apiKeyIDLen || len(secret) != apiKeySecretLen {
		return "", nil, false
	}
	if _, err := hex.DecodeString(secret); err != nil {
		return "", nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	return id, sum[:], true
}

// apiKeyCacheTTL is how long a key read from the store is trusted without
// reading it again: a revocation on another replica takes effect within
// it (on the replica that revokes, at once).
const apiKeyCacheTTL = 5 * time.Second

type cachedKey struct {
	rec  *store.APIKey
	key  *xdrlinkv1.ApiKey
	read time.Time
}

// apiKeys verifies API keys against the store.
type apiKeys struct {
	store store.APIKeyStore
	now   func() time.Time
	cache cache[string, cachedKey]
}

// refusal is a key the store holds no valid record of, as opposed to a
// failure to read the store.
type refusal string

func (r refusal) Error() string { return string(r) }

const errBadAPIKey = refusal("unknown or malformed API key")

func (k *apiKeys) lookup(ctx context.Context, id string) (cachedKey, error) {
	now := k.now()
	if c, ok := k.cache.get(id); ok && now.Sub(c.read) < apiKeyCacheTTL {
		return c, nil
	}
	rec, err := k.store.GetAPIKey(ctx, id)
	if err != nil {
		return cachedKey{}, err
	}
	key := &xdrlinkv1.ApiKey{}
	if err := proto.Unmarshal(rec.Body, key); err != nil {
		return cachedKey{}, err
	}
	c := cachedKey{rec: rec, key: key, read: now}
	k.cache.put(id, c)
	return c, nil
}

// Forget drops key id from the cache, so its revocation applies to the
// next call.
func (k *apiKeys) Forget(id string) { k.cache.forget(id) }

func (k *apiKeys) authenticate(ctx context.Context, presented string) (*authz.Principal, error) {
	id, hash, ok := parseAPIKey(presented)
	if !ok {
		return nil, errBadAPIKey
	}
	c, err := k.lookup(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadAPIKey
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(hash, c.rec.SecretHash) != 1 {
		return nil, errBadAPIKey
	}
	if c.rec.Revoked {
		return nil, refusal("API key apiKeys/" + id + " was revoked")
	}
	if exp := c.key.GetExpireTime(); exp != nil && !k.now().Before(exp.AsTime()) {
		return nil, refusal("API key apiKeys/" + id + " expired")
	}
	p := &authz.Principal{ID: "apikey:" + id, DisplayName: c.key.GetDisplayName(), Method: xdrlinkv1.AuthMethod_AUTH_METHOD_API_KEY}
	if len(c.key.GetAccessGroups()) == 0 {
		p.Grants = []authz.Grant{{Role: c.key.GetRole()}}
	}
	for _, g := range c.key.GetAccessGroups() {
		p.Grants = append(p.Grants, authz.Grant{Role: c.key.GetRole(), AccessGroup: g})
	}
	return p, nil
}
