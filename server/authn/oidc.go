package authn

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
)

// OIDCOptions configure bearer-token authentication.
type OIDCOptions struct {
	// Issuer is the issuer URL; its discovery document names the JWKS.
	// For Microsoft Entra ID: https://login.microsoftonline.com/{tenant}/v2.0
	// (with the app's accessTokenAcceptedVersion set to 2, so that access
	// tokens carry this issuer).
	Issuer string
	// Audiences are accepted "aud" values (e.g. "api://xdrlink" and the
	// app's client id); a token must carry one of them.
	Audiences []string
	// RolesClaim names the claim holding the caller's grants ("roles":
	// Entra's app roles), as values authz.ParseGrant reads.
	RolesClaim string
	// HTTPClient fetches discovery and keys (nil: http.DefaultClient).
	HTTPClient *http.Client
	// Now is the clock for expiry (nil: time.Now).
	Now func() time.Time
}

// oidcVerifier verifies bearer tokens. It discovers the issuer on first
// use, and again after a failure, so a server starts while its issuer is
// unreachable and recovers when it is back. go-oidc fetches the issuer's
// keys again when a token names a key id it has not seen (key rotation).
type oidcVerifier struct {
	opts OIDCOptions
	// ctx outlives requests: the key set fetches with it.
	ctx context.Context

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier

	// verified remembers the principal of each token verified, until the
	// token expires: a portal sends the same token with every call, and
	// checking its RSA signature costs far more than a hash.
	verified cache[[sha256.Size]byte, verifiedToken]
}

// verifiedToken is a verified token's principal and the times between
// which go-oidc accepts it (from nbf, less its leeway, to exp).
type verifiedToken struct {
	p         *authz.Principal
	from, exp time.Time
}

// nbfLeeway is go-oidc's allowance for clock skew on nbf.
const nbfLeeway = 5 * time.Minute

func newOIDCVerifier(ctx context.Context, opts OIDCOptions) (*oidcVerifier, error) {
	if opts.Issuer == "" || len(opts.Audiences) == 0 {
		return nil, errors.New("authn: OIDC needs an issuer and at least one audience")
	}
	if opts.RolesClaim == "" {
		opts.RolesClaim = "roles"
	}
	if opts.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, opts.HTTPClient)
	}
	return &oidcVerifier{opts: opts, ctx: ctx}, nil
}

// errIssuerUnavailable: the token could not be checked, not found bad.
var errIssuerUnavailable = errors.New("the token issuer could not be reached")

func (v *oidcVerifier) get() (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	ctx, cancel := context.WithTimeout(v.ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(ctx, v.opts.Issuer)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errIssuerUnavailable, err)
	}
	// The audience is checked below against every accepted value; go-oidc
	// checks one only. Algorithms default to those the issuer advertises,
	// never "none".
	v.verifier = p.VerifierContext(v.ctx, &oidc.Config{SkipClientIDCheck: true, Now: v.opts.Now})
	return v.verifier, nil
}

// claims are those read from a verified token. Entra names users by tid
// and oid (stable across apps); other issuers by sub.
type claims struct {
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	UPN               string `json:"upn"`
	PreferredUsername string `json:"preferred_username"`
	Email             string `json:"email"`
	Name              string `json:"name"`
	AppID             string `json:"azp"`
}

func (v *oidcVerifier) authenticate(ctx context.Context, raw string) (*authz.Principal, error) {
	sum := sha256.Sum256([]byte(raw))
	hit, ok := v.verified.get(sum)
	if now := v.now(); ok && !now.Before(hit.from) && now.Before(hit.exp) {
		return hit.p, nil
	}
	p, valid, err := v.verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	v.verified.put(sum, valid)
	return p, nil
}

func (v *oidcVerifier) now() time.Time {
	if v.opts.Now != nil {
		return v.opts.Now()
	}
	return time.Now()
}

// verify checks raw with the issuer's keys and returns its principal, and
// when it is valid.
func (v *oidcVerifier) verify(ctx context.Context, raw string) (*authz.Principal, verifiedToken, error) {
	verifier, err := v.get()
	if err != nil {
		return nil, verifiedToken{}, err
	}
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		// go-oidc says only in its message ("failed to verify signature:
		// fetching keys ...") that it could not fetch the key set for a
		// key id it had not seen: the issuer is down, the token may be good.
		if strings.Contains(err.Error(), "fetching keys") {
			return nil, verifiedToken{}, fmt.Errorf("%w: %v", errIssuerUnavailable, err)
		}
		return nil, verifiedToken{}, err
	}
	if !slices.ContainsFunc(tok.Audience, func(a string) bool { return slices.Contains(v.opts.Audiences, a) }) {
		return nil, verifiedToken{}, fmt.Errorf("token audience %q is not accepted here", tok.Audience)
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return nil, verifiedToken{}, err
	}
	var all map[string]any
	if err := tok.Claims(&all); err != nil {
		return nil, verifiedToken{}, err
	}
	p := &authz.Principal{Method: xdrlinkv1.AuthMethod_AUTH_METHOD_OIDC, ID: "oidc:" + tok.Subject}
	if c.TenantID != "" && c.ObjectID != "" {
		p.ID = "oidc:" + c.TenantID + "/" + c.ObjectID
	}
	for _, name := range []string{c.UPN, c.PreferredUsername, c.Email, c.Name, c.AppID, tok.Subject} {
		if name != "" {
			p.DisplayName = name
			break
		}
	}
	for _, val := range stringValues(all[v.opts.RolesClaim]) {
		if g, ok := authz.ParseGrant(val); ok && !slices.Contains(p.Grants, g) {
			p.Grants = append(p.Grants, g)
		}
	}
	valid := verifiedToken{p: p, exp: tok.Expiry}
	if nbf, ok := all["nbf"].(float64); ok {
		valid.from = time.Unix(int64(nbf), 0).Add(-nbfLeeway)
	}
	return p, valid, nil
}

// stringValues reads a claim that is a string or an array of strings.
func stringValues(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
