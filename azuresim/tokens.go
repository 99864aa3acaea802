package azuresim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The real audiences. The sim serves every API on its own URL, but tokens
// carry the audiences the real services expect, so the product's cloud
// configuration for the sim changes endpoints and keeps audiences.
const (
	AudienceARM          = "https://management.azure.com"
	AudienceGraph        = "https://graph.microsoft.com"
	AudienceDefender     = "https://api.securitycenter.microsoft.com"
	AudienceLogAnalytics = "https://api.loganalytics.io"
)

// knownAudiences maps accepted resource identifiers to the canonical audience.
var knownAudiences = map[string]string{
	"https://management.azure.com":             AudienceARM,
	"https://management.core.windows.net":      AudienceARM,
	"https://graph.microsoft.com":              AudienceGraph,
	"https://api.securitycenter.microsoft.com": AudienceDefender,
	"https://api.security.microsoft.com":       AudienceDefender,
	"https://api.loganalytics.io":              AudienceLogAnalytics,
}

// TokenKind is the kind of principal a token represents.
type TokenKind int

const (
	// TokenAny accepts app-only and delegated tokens.
	TokenAny TokenKind = iota
	// TokenApp is an app-only token (client credentials): idtyp=app, roles.
	TokenApp
	// TokenDelegated is a user token (device code, on-behalf-of): scp, upn.
	TokenDelegated
)

func (k TokenKind) String() string {
	switch k {
	case TokenApp:
		return "app"
	case TokenDelegated:
		return "user"
	default:
		return "any"
	}
}

// tokenClaims are the claims the sim puts in its access tokens, a subset of
// Entra's v1 access token claims.
type tokenClaims struct {
	jwt.RegisteredClaims
	// Aud shadows RegisteredClaims.Audience so a single audience is written
	// as a string, as Entra does (golang-jwt would write an array).
	Aud      string   `json:"aud"`
	TenantID string   `json:"tid"`
	ObjectID string   `json:"oid"`
	AppID    string   `json:"appid,omitempty"`
	AZP      string   `json:"azp,omitempty"`
	IDType   string   `json:"idtyp"`
	Roles    []string `json:"roles,omitempty"`
	Scp      string   `json:"scp,omitempty"`
	UPN      string   `json:"upn,omitempty"`
	Name     string   `json:"name,omitempty"`
	// PreferredUsername is the v2 tokens' user name (the UPN here).
	PreferredUsername string `json:"preferred_username,omitempty"`
	Acct              *int   `json:"acct,omitempty"` // 0 member, 1 guest
	Ver               string `json:"ver,omitempty"`
}

// Caller is the verified identity behind a request's bearer token.
type Caller struct {
	TenantID  string
	ObjectID  string
	AppID     string
	Kind      TokenKind
	UPN       string // delegated tokens only
	Guest     bool   // delegated tokens only: the user is a B2B guest in TenantID
	Roles     []string
	Scopes    []string
	Audience  string
	ExpiresAt time.Time
	Token     string
}

// signingKey is one RSA key of the issuer with its key id.
type signingKey struct {
	key *rsa.PrivateKey
	kid string
}

func newSigningKey() (signingKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return signingKey{}, err
	}
	sum := sha256.Sum256(key.PublicKey.N.Bytes())
	return signingKey{key: key, kid: base64.RawURLEncoding.EncodeToString(sum[:12])}, nil
}

// tokenIssuer signs and verifies the sim's tokens with per-sim RSA keys.
type tokenIssuer struct {
	// keysMu guards keys: the signer first, then the key it replaced (kept
	// so tokens signed before a rotation still verify until they expire).
	keysMu sync.RWMutex
	keys   []signingKey
	clock  *Clock
	base   func() string // sim URL, for iss

	// Verification is split in two so a request's signature check can be
	// done once and its time checks whenever the token is used: parser checks
	// the algorithm and signature only, validator the times (sim clock).
	parser    *jwt.Parser
	validator *jwt.Validator

	// issued records every token signed, and the device codes handed out,
	// for Sim.IssuedSecrets.
	issued issuedLog
}

func newTokenIssuer(clock *Clock, base func() string) (*tokenIssuer, error) {
	k, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	return &tokenIssuer{
		keys: []signingKey{k}, clock: clock, base: base,
		parser:    jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation()),
		validator: jwt.NewValidator(jwt.WithTimeFunc(clock.Now), jwt.WithExpirationRequired()),
	}, nil
}

func (ti *tokenIssuer) issuer(tenantID string) string {
	return ti.base() + "/" + tenantID + "/v2.0"
}

func (ti *tokenIssuer) sign(c *tokenClaims, lifetime time.Duration) (string, time.Time, error) {
	now := ti.clock.Now()
	exp := now.Add(lifetime)
	c.Issuer = ti.issuer(c.TenantID)
	c.IssuedAt = jwt.NewNumericDate(now)
	c.NotBefore = jwt.NewNumericDate(now.Add(-5 * time.Minute))
	c.ExpiresAt = jwt.NewNumericDate(exp)
	if c.Subject == "" {
		c.Subject = c.ObjectID
	}
	if c.ID == "" {
		c.ID = newUUID()
	}
	if c.Ver == "" {
		c.Ver = "1.0"
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	k := ti.signer()
	tok.Header["kid"] = k.kid
	s, err := tok.SignedString(k.key)
	if err == nil {
		ti.issued.add(s)
	}
	return s, exp, err
}

// errTokenExpired distinguishes expiry from other verification failures.
var errTokenExpired = errors.New("token expired")

// parse verifies signature and expiry (on the sim clock) and returns the
// claims; on expiry it returns them with errTokenExpired.
func (ti *tokenIssuer) parse(raw string) (*tokenClaims, error) {
	c, err := ti.verifySignature(raw)
	if err != nil {
		return nil, err
	}
	return ti.validateTimes(c)
}

// verifySignature decodes raw and checks its algorithm and signature, not
// its times. The claims it returns are shared: callers must not modify them.
func (ti *tokenIssuer) verifySignature(raw string) (*tokenClaims, error) {
	var c tokenClaims
	if _, err := ti.parser.ParseWithClaims(raw, &c, ti.verificationKey); err != nil {
		return nil, err
	}
	return &c, nil
}

// validateTimes checks exp (required) and nbf against the sim clock now,
// failing with the errors jwt.ParseWithClaims would (errTokenExpired for expiry).
func (ti *tokenIssuer) validateTimes(c *tokenClaims) (*tokenClaims, error) {
	if err := ti.validator.Validate(c); err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return c, errTokenExpired
		}
		return nil, fmt.Errorf("%w: %w", jwt.ErrTokenInvalidClaims, err)
	}
	return c, nil
}

// signer is the key that signs new tokens.
func (ti *tokenIssuer) signer() signingKey {
	ti.keysMu.RLock()
	defer ti.keysMu.RUnlock()
	return ti.keys[0]
}

// verificationKey is the jwt.Keyfunc: the published key the token's kid
// names. A token without a kid is checked against the signer.
func (ti *tokenIssuer) verificationKey(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	ti.keysMu.RLock()
	defer ti.keysMu.RUnlock()
	if kid == "" {
		return &ti.keys[0].key.PublicKey, nil
	}
	for _, k := range ti.keys {
		if k.kid == kid {
			return &k.key.PublicKey, nil
		}
	}
	return nil, fmt.Errorf("signing key %q is not published", kid)
}

// rotate makes a new key the signer, keeps the old signer published and
// drops the keys before it. It returns the new key id.
func (ti *tokenIssuer) rotate() (string, error) {
	k, err := newSigningKey()
	if err != nil {
		return "", err
	}
	ti.keysMu.Lock()
	defer ti.keysMu.Unlock()
	ti.keys = []signingKey{k, ti.keys[0]}
	return k.kid, nil
}

// kids are the published key ids, the signer first.
func (ti *tokenIssuer) kids() []string {
	ti.keysMu.RLock()
	defer ti.keysMu.RUnlock()
	ids := make([]string, 0, len(ti.keys))
	for _, k := range ti.keys {
		ids = append(ids, k.kid)
	}
	return ids
}

// jwks is the JSON Web Key Set: the signer, then the previous key if any.
func (ti *tokenIssuer) jwks() map[string]any {
	ti.keysMu.RLock()
	defer ti.keysMu.RUnlock()
	keys := make([]map[string]any, 0, len(ti.keys))
	for _, k := range ti.keys {
		pub := k.key.PublicKey
		keys = append(keys, map[string]any{
			"kty": "RSA", "use": "sig", "alg": "RS256", "kid": k.kid,
			"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		})
	}
	return map[string]any{"keys": keys}
}

// normalizeAudience maps a resource or audience string to the canonical
// audience; ok is false for resources the sim does not know.
func normalizeAudience(resource string, apps func(string) *AppRegistration) (string, bool) {
	r := strings.TrimRight(strings.TrimSpace(resource), "/")
	if a, ok := knownAudiences[strings.ToLower(r)]; ok {
		return a, true
	}
	// Tokens for a registered app (the middle tier of on-behalf-of).
	id := strings.TrimPrefix(strings.ToLower(r), "api://")
	if isGUID(id) && apps(id) != nil {
		return id, true
	}
	return "", false
}

func (c *tokenClaims) caller(raw string) *Caller {
	k := TokenApp
	if c.IDType == "user" {
		k = TokenDelegated
	}
	aud := c.Aud
	var scopes []string
	if c.Scp != "" {
		scopes = strings.Fields(c.Scp)
	}
	var exp time.Time
	if c.ExpiresAt != nil {
		exp = c.ExpiresAt.Time
	}
	return &Caller{
		TenantID: c.TenantID, ObjectID: c.ObjectID, AppID: c.AppID, Kind: k, UPN: c.UPN,
		Guest: c.Acct != nil && *c.Acct == 1, Roles: c.Roles, Scopes: scopes,
		Audience: aud, ExpiresAt: exp, Token: raw,
	}
}
