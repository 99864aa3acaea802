package credential

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"

	"github.com/xdrlink/xdrlink/azure/azerr"
)

// The restart-proof device-code flow (RFC 8628 on the Microsoft identity platform). Unlike
// DeviceCodeCredential, which waits for the person inside one call, every step here is a
// single request whose state the caller keeps: StartDeviceCode returns the device code to
// store, PollDeviceCode is called again and again (by a job, after restarts too) until the
// sign-in is done, and RefreshCredential turns the resulting refresh token into access
// tokens for any audience the app has delegated permissions for.
//
// Client authentication: UNCONFIRMED which way real Entra wants it for a given app, and
// decided here for all three requests. These requests carry only client_id, as a public
// client, for every profile kind. Entra treats the device-code flow as a public-client flow
// when the app has "Allow public client flows" enabled, and then rejects a secret or
// assertion (AADSTS700025); with that setting off it demands one (AADSTS7000218). The
// emulator models the first case (its device-code endpoint refuses apps that are not
// public clients and ignores client credentials on these grants), and DeviceCodeCredential
// already requires public client flows, so one app setting serves both paths. Refresh tokens
// issued to a public client are redeemed as a public client too.

// Errors of PollDeviceCode. Each wraps the classified *azerr.Error (Entra's error code and
// description), so azerr.From still works on them.
var (
	// ErrAuthorizationPending: the person has not finished signing in; poll again after the
	// interval.
	ErrAuthorizationPending = errors.New("credential: device-code sign-in pending")
	// ErrSlowDown: polling too fast; add 5 seconds to the interval (RFC 8628 §3.5) and poll
	// again.
	ErrSlowDown = errors.New("credential: device-code polling too fast")
	// ErrDeviceCodeExpired: the code expired before anyone signed in; start again.
	ErrDeviceCodeExpired = errors.New("credential: device code expired")
	// ErrSignInDeclined: the person declined the sign-in.
	ErrSignInDeclined = errors.New("credential: device-code sign-in declined")
	// ErrBadDeviceCode: Entra does not know the device code (mistyped, for another client or
	// tenant, or already redeemed); start again.
	ErrBadDeviceCode = errors.New("credential: device code not recognised")
)

// ErrSignInRequired is returned by a RefreshCredential's GetToken when Entra rejects the
// refresh token (revoked, expired, password reset, conditional access): only a new
// sign-in helps. azerr classifies it as InteractionRequired.
var ErrSignInRequired = errors.New("credential: refresh token rejected, a new sign-in is required")

// defaultPollInterval is RFC 8628's default when the response names no interval.
const defaultPollInterval = 5 * time.Second

// DeviceCodeGrant is a started device-code sign-in. DeviceCode is the secret the poller
// redeems: store it encrypted, and never log or show it. UserCode and VerificationURI are
// shown to the person who signs in (the operation's required action). fmt, slog and JSON
// leave DeviceCode out; fmt and slog leave the user code and message out too, like
// DeviceCodePrompt.
type DeviceCodeGrant struct {
	DeviceCode      string `json:"-"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	// Message is Entra's instruction text; it repeats the URI and the user code.
	Message string `json:"message"`
	// ExpiresAt is when the device code stops working, measured from when the request was
	// sent.
	ExpiresAt time.Time `json:"expires_at"`
	// Interval is the minimum time between polls.
	Interval time.Duration `json:"interval"`
}

func (g DeviceCodeGrant) String() string {
	return fmt.Sprintf("device-code grant(verification_uri=%s expires_at=%s interval=%s)",
		g.VerificationURI, g.ExpiresAt.Format(time.RFC3339), g.Interval)
}

// Format makes every fmt verb print String.
func (g DeviceCodeGrant) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(g.String())) }

// LogValue keeps the device code, user code and message out of logs.
func (g DeviceCodeGrant) LogValue() slog.Value {
	return slog.GroupValue(slog.String("verification_uri", g.VerificationURI),
		slog.Time("expires_at", g.ExpiresAt), slog.Duration("interval", g.Interval))
}

// UserTokens is the result of a completed device-code sign-in: an access token for the
// audience of the scopes it was started with, and the refresh token for RefreshCredential.
// fmt, slog and JSON never include the tokens.
type UserTokens struct {
	AccessToken string    `json:"-"`
	ExpiresOn   time.Time `json:"expires_on"`
	// Scope is the scope Entra granted, as it answered it.
	Scope        string `json:"scope"`
	RefreshToken string `json:"-"`
	// UserObjectID and UserPrincipalName identify who signed in. They are read from the
	// tokens without verifying them: for display and bookkeeping, never for a decision.
	UserObjectID      string `json:"user_object_id"`
	UserPrincipalName string `json:"user_principal_name"`
}

func (u UserTokens) String() string {
	return fmt.Sprintf("user tokens(user=%s oid=%s scope=%q expires_on=%s refresh_token=%t)",
		u.UserPrincipalName, u.UserObjectID, u.Scope, u.ExpiresOn.Format(time.RFC3339), u.RefreshToken != "")
}

// Format makes every fmt verb print String.
func (u UserTokens) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(u.String())) }

// LogValue keeps the tokens out of logs.
func (u UserTokens) LogValue() slog.Value {
	return slog.GroupValue(slog.String("user", u.UserPrincipalName), slog.String("oid", u.UserObjectID),
		slog.String("scope", u.Scope), slog.Time("expires_on", u.ExpiresOn), slog.Bool("refresh_token", u.RefreshToken != ""))
}

// StartDeviceCode starts a device-code sign-in for a person of the customer tenant with
// the profile's app. offline_access is added to scopes so that the sign-in yields a refresh
// token; scopes must name one resource (Entra issues one audience per access token).
func (p *Provider) StartDeviceCode(ctx context.Context, profile, tenantID string, scopes []string) (*DeviceCodeGrant, error) {
	prof, tenant, err := p.delegatedTarget(profile, tenantID)
	if err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		return nil, errors.New("credential: device code needs at least one scope")
	}
	form := url.Values{"client_id": {prof.ClientID}, "scope": {withOfflineAccess(scopes)}}
	var v struct {
		DeviceCode      string      `json:"device_code"`
		UserCode        string      `json:"user_code"`
		VerificationURI string      `json:"verification_uri"`
		VerificationURL string      `json:"verification_url"` // Entra's v1 endpoint spelling
		Message         string      `json:"message"`
		ExpiresIn       json.Number `json:"expires_in"`
		Interval        json.Number `json:"interval"`
	}
	sent := time.Now()
	if _, err := p.postForm(ctx, p.entraURL(tenant, "devicecode"), form, &v); err != nil {
		return nil, fmt.Errorf("credential %s: start device code: %w", prof, err)
	}
	if v.DeviceCode == "" || v.UserCode == "" {
		return nil, fmt.Errorf("credential %s: device-code response without device or user code", prof)
	}
	g := &DeviceCodeGrant{DeviceCode: v.DeviceCode, UserCode: v.UserCode, VerificationURI: v.VerificationURI,
		Message: v.Message, ExpiresAt: sent.Add(defaultDeviceCodeLifetime), Interval: defaultPollInterval}
	if g.VerificationURI == "" {
		g.VerificationURI = v.VerificationURL
	}
	if secs, err := v.ExpiresIn.Int64(); err == nil && secs > 0 {
		g.ExpiresAt = sent.Add(time.Duration(secs) * time.Second)
	}
	if secs, err := v.Interval.Int64(); err == nil && secs > 0 {
		g.Interval = time.Duration(secs) * time.Second
	}
	return g, nil
}

// PollDeviceCode asks once whether the sign-in of deviceCode is complete. Until it is, the
// error is ErrAuthorizationPending or ErrSlowDown; ErrDeviceCodeExpired, ErrSignInDeclined
// and ErrBadDeviceCode are final. Other failures are classified *azerr.Error values. On
// success the device code is used up.
func (p *Provider) PollDeviceCode(ctx context.Context, profile, tenantID, deviceCode string) (*UserTokens, error) {
	prof, tenant, err := p.delegatedTarget(profile, tenantID)
	if err != nil {
		return nil, err
	}
	if deviceCode == "" {
		return nil, errors.New("credential: poll needs the device code")
	}
	form := url.Values{
		"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id":   {prof.ClientID},
		"device_code": {deviceCode},
	}
	var tr tokenResponse
	code, err := p.postForm(ctx, p.entraURL(tenant, "token"), form, &tr)
	if err != nil {
		var sentinel error
		switch code {
		case "authorization_pending":
			sentinel = ErrAuthorizationPending
		case "slow_down":
			sentinel = ErrSlowDown
			azerr.From(err).Kind = azerr.Throttled // azerr does not know the device-flow code
		case "expired_token", "code_expired":
			sentinel = ErrDeviceCodeExpired
		case "authorization_declined", "access_denied":
			sentinel = ErrSignInDeclined
		case "bad_verification_code":
			sentinel = ErrBadDeviceCode
		case "invalid_grant":
			// invalid_grant also carries consent and policy failures (AADSTS65001...); only
			// the generic one means the code itself is bad.
			if azerr.Classify(err) == azerr.Unauthenticated {
				sentinel = ErrBadDeviceCode
			}
		}
		if sentinel != nil {
			return nil, fmt.Errorf("%w: %w", sentinel, err)
		}
		return nil, fmt.Errorf("credential %s: poll device code: %w", prof, err)
	}
	if tr.AccessToken == "" {
		return nil, fmt.Errorf("credential %s: token response without access token", prof)
	}
	u := &UserTokens{AccessToken: tr.AccessToken, ExpiresOn: tr.expiresOn(), Scope: tr.Scope, RefreshToken: tr.RefreshToken}
	u.UserObjectID, u.UserPrincipalName = userIdentity(tr.AccessToken, tr.IDToken)
	return u, nil
}

// RefreshCredential returns a delegated credential that redeems refreshToken (from
// PollDeviceCode, or as stored after the last rotation) for access tokens of whatever scope
// GetToken is asked for. Access tokens are cached per scope until shortly before they
// expire. When Entra returns a new refresh token the credential uses it from then on and
// calls onRotate (if not nil) with it, while holding the credential's lock, so calls arrive
// in order and the last one is the newest; onRotate must not call GetToken. A rejected
// refresh token fails GetToken with ErrSignInRequired. Not cached by the Provider: it
// belongs to one sign-in.
func (p *Provider) RefreshCredential(profile, tenantID, refreshToken string, onRotate func(newRefreshToken string)) (*Credential, error) {
	prof, tenant, err := p.delegatedTarget(profile, tenantID)
	if err != nil {
		return nil, err
	}
	if refreshToken == "" {
		return nil, errors.New("credential: refresh credential needs a refresh token")
	}
	rc := &refreshCredential{
		p: p, prof: prof, tokenURL: p.entraURL(tenant, "token"), onRotate: onRotate,
		lock: make(chan struct{}, 1), refreshToken: refreshToken, cache: map[string]azcore.AccessToken{},
	}
	return &Credential{profile: prof.Name, kind: "delegated_refresh", tenant: tenant, tc: rc}, nil
}

// refreshEarly is how long before expiry a cached access token is replaced (azidentity's
// margin too), so a request never leaves with a token about to expire.
const refreshEarly = 5 * time.Minute

type refreshCredential struct {
	p        *Provider
	prof     Profile
	tokenURL string
	onRotate func(string)

	// lock (a channel, so that waiting honours ctx) guards the fields below and serialises
	// redemptions: two concurrent ones would both spend the same refresh token and could
	// store an older rotation last.
	lock         chan struct{}
	refreshToken string
	cache        map[string]azcore.AccessToken
}

func (c *refreshCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if len(opts.Scopes) == 0 {
		return azcore.AccessToken{}, errors.New("credential: GetToken needs a scope")
	}
	key := strings.Join(opts.Scopes, " ")
	select {
	case c.lock <- struct{}{}:
	case <-ctx.Done():
		return azcore.AccessToken{}, ctx.Err()
	}
	defer func() { <-c.lock }()
	// A claims challenge (CAE) needs a new token even when the cached one looks valid.
	if tk, ok := c.cache[key]; ok && opts.Claims == "" && time.Until(tk.ExpiresOn) > refreshEarly {
		return tk, nil
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {c.prof.ClientID},
		"refresh_token": {c.refreshToken},
		"scope":         {withOfflineAccess(opts.Scopes)}, // offline_access keeps the rotation going
	}
	if opts.Claims != "" {
		form.Set("claims", opts.Claims)
	}
	var tr tokenResponse
	code, err := c.p.postForm(ctx, c.tokenURL, form, &tr)
	if err != nil {
		switch code {
		case "invalid_grant", "interaction_required", "login_required":
			if e := azerr.From(err); e.Kind == azerr.Unauthenticated {
				e.Kind = azerr.InteractionRequired // a person can fix it by signing in again
			}
			return azcore.AccessToken{}, fmt.Errorf("%w: %w", ErrSignInRequired, err)
		}
		return azcore.AccessToken{}, fmt.Errorf("credential %s: refresh token: %w", c.prof, err)
	}
	if tr.AccessToken == "" {
		return azcore.AccessToken{}, fmt.Errorf("credential %s: token response without access token", c.prof)
	}
	if tr.RefreshToken != "" && tr.RefreshToken != c.refreshToken {
		c.refreshToken = tr.RefreshToken
		if c.onRotate != nil {
			c.onRotate(tr.RefreshToken)
		}
	}
	tk := azcore.AccessToken{Token: tr.AccessToken, ExpiresOn: tr.expiresOn()}
	if opts.Claims == "" {
		c.cache[key] = tk
	}
	return tk, nil
}

// delegatedTarget validates the profile and tenant of a delegated request.
func (p *Provider) delegatedTarget(profile, tenantID string) (Profile, string, error) {
	prof, err := p.profile(profile)
	if err != nil {
		return Profile{}, "", err
	}
	if prof.ClientID == "" {
		return Profile{}, "", fmt.Errorf("credential %s: a delegated sign-in needs a client_id", prof)
	}
	tenant, err := tenantKey(tenantID)
	if err != nil {
		return Profile{}, "", err
	}
	return prof, tenant, nil
}

// entraURL is the tenant's OAuth2 v2.0 endpoint ("devicecode" or "token"); the authority
// host ends in a slash.
func (p *Provider) entraURL(tenant, endpoint string) string {
	return p.cloud.AuthorityHost + tenant + "/oauth2/v2.0/" + endpoint
}

// withOfflineAccess joins scopes for the form, adding offline_access when absent.
func withOfflineAccess(scopes []string) string {
	if !slices.ContainsFunc(scopes, func(s string) bool { return strings.EqualFold(s, "offline_access") }) {
		scopes = append(slices.Clip(scopes), "offline_access")
	}
	return strings.Join(scopes, " ")
}

// tokenResponse is a successful token endpoint answer. expires_in is a number on the v2.0
// endpoint and a string on v1, so it is decoded as json.Number.
type tokenResponse struct {
	AccessToken  string      `json:"access_token"`
	RefreshToken string      `json:"refresh_token"`
	IDToken      string      `json:"id_token"`
	Scope        string      `json:"scope"`
	ExpiresIn    json.Number `json:"expires_in"`
	received     time.Time
}

func (tr *tokenResponse) expiresOn() time.Time {
	secs, err := tr.ExpiresIn.Int64()
	if err != nil || secs <= 0 {
		secs = 0 // unknown: treat as already expiring, so it is not cached
	}
	return tr.received.Add(time.Duration(secs) * time.Second)
}

// postForm sends one form POST to Entra and decodes a 200 answer into out. A failed answer
// comes back as a classified *azerr.Error together with the OAuth2 "error" value (e.g.
// "authorization_pending"); a failure to reach Entra as a classified error and "".
func (p *Provider) postForm(ctx context.Context, endpoint string, form url.Values, out any) (string, error) {
	req, err := runtime.NewRequest(ctx, http.MethodPost, endpoint)
	if err != nil {
		return "", err
	}
	body := streaming.NopCloser(strings.NewReader(form.Encode()))
	if err := req.SetBody(body, "application/x-www-form-urlencoded"); err != nil {
		return "", err
	}
	req.Raw().Header.Set("Accept", "application/json")
	sent := time.Now()
	resp, err := p.pl.Do(req)
	if err != nil {
		return "", azerr.Wrap(err)
	}
	payload, err := runtime.Payload(resp)
	if err != nil {
		return "", azerr.Wrap(err)
	}
	if resp.StatusCode != http.StatusOK {
		var v struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(payload, &v)
		return v.Error, classifyFailure(resp)
	}
	if err := json.Unmarshal(payload, out); err != nil {
		// The body may hold tokens: say what failed, not what was in it.
		return "", fmt.Errorf("credential: %s answered 200 with a body that is not the expected JSON", endpoint)
	}
	if tr, ok := out.(*tokenResponse); ok {
		tr.received = sent // expiry measured from the request: never later than Entra's
	}
	return "", nil
}

// classifyFailure classifies a failed Entra response the way the rest of the package
// does (azerr reads AuthenticationFailedError's body for the AADSTS code). The request is
// detached first: its body holds the refresh token or device code, and
// AuthenticationFailedError prints whatever request it is given.
func classifyFailure(resp *http.Response) error {
	r := *resp
	if resp.Request != nil {
		rq := &http.Request{Method: resp.Request.Method, URL: resp.Request.URL, Header: http.Header{}}
		r.Request = rq
	}
	return azerr.From(&azidentity.AuthenticationFailedError{RawResponse: &r})
}

// userIdentity reads who signed in from the access token, falling back to the id token.
// Unverified on purpose: the tokens came straight from Entra over TLS and the values are
// only displayed and recorded.
func userIdentity(tokens ...string) (oid, upn string) {
	for _, tok := range tokens {
		var c struct {
			jwt.RegisteredClaims
			OID               string `json:"oid"`
			UPN               string `json:"upn"`
			UniqueName        string `json:"unique_name"`
			PreferredUsername string `json:"preferred_username"`
		}
		if tok == "" {
			continue
		}
		if _, _, err := jwt.NewParser().ParseUnverified(tok, &c); err != nil {
			continue
		}
		if oid == "" {
			oid = c.OID
		}
		if upn == "" {
			upn = cmp.Or(c.UPN, c.UniqueName, c.PreferredUsername)
		}
	}
	return oid, upn
}
