package credential

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/xdrlink/xdrlink/azure/azerr"
)

// DeviceCodePrompt is what a person needs to complete a device-code sign-in. The workflow
// shows it in the operation's RequiredAction.
type DeviceCodePrompt struct {
	Profile  string
	TenantID string
	// VerificationURL is where the person signs in and UserCode what they type there.
	VerificationURL string
	UserCode        string
	// Message is Entra's instruction text (it repeats URL and code).
	Message string
	// ExpiresAt is when the code stops working (from the device-code response's expires_in).
	ExpiresAt time.Time
}

// LogValue keeps the user code out of logs: it is a short-lived sign-in secret that belongs
// in the operation shown to the right person, not in log storage.
func (d DeviceCodePrompt) LogValue() slog.Value {
	return slog.GroupValue(slog.String("profile", d.Profile), slog.String("tenant", d.TenantID),
		slog.String("verification_url", d.VerificationURL), slog.Time("expires_at", d.ExpiresAt))
}

// PromptFunc receives the device-code prompt; returning an error aborts the sign-in.
type PromptFunc func(context.Context, DeviceCodePrompt) error

// PromptToChannel is a PromptFunc that delivers the prompt on ch (or gives up when ctx ends).
func PromptToChannel(ch chan<- DeviceCodePrompt) PromptFunc {
	return func(ctx context.Context, p DeviceCodePrompt) error {
		select {
		case ch <- p:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// DeviceCodeOptions configure a device-code credential.
type DeviceCodeOptions struct {
	// Prompt receives the URL, user code and expiry. Required: nothing is ever printed.
	Prompt PromptFunc
	// AuthenticationRecord of an earlier sign-in (persisted by the caller; it holds no
	// secret) lets GetToken use cached tokens for that account.
	AuthenticationRecord azidentity.AuthenticationRecord
	// DisableAutomaticAuthentication makes GetToken fail with an InteractionRequired
	// error instead of starting a sign-in; call Authenticate explicitly.
	DisableAutomaticAuthentication bool
}

// UNCONFIRMED: Entra device codes live 15 minutes; used only when the device-code response
// carries no expires_in (azidentity's DeviceCodeMessage has no expiry field, so the expiry is
// read from the response on the way through the transport).
const defaultDeviceCodeLifetime = 15 * time.Minute

// DeviceCodeCredential is a delegated credential that signs a person in with the device-code
// flow of the profile's app (which must allow public client flows).
type DeviceCodeCredential struct {
	profile, tenant string
	dc              *azidentity.DeviceCodeCredential
	transport       *deviceCodeTransport
}

// DeviceCode builds a device-code credential for a person of the customer tenant, using the
// profile's client id. It is not cached: it belongs to one sign-in.
func (p *Provider) DeviceCode(profile, tenantID string, opts DeviceCodeOptions) (*DeviceCodeCredential, error) {
	prof, err := p.profile(profile)
	if err != nil {
		return nil, err
	}
	if prof.ClientID == "" {
		return nil, fmt.Errorf("credential %s: device code needs a client_id", prof)
	}
	tenant, err := tenantKey(tenantID)
	if err != nil {
		return nil, err
	}
	if opts.Prompt == nil {
		return nil, errors.New("credential: device code needs a Prompt (the code is never printed)")
	}
	expiry := &deviceCodeExpiry{}
	transport := &deviceCodeTransport{next: p.base.Transport, expiry: expiry}
	base := p.base
	base.Transport = transport
	prompt := opts.Prompt
	dc, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions:                  base,
		ClientID:                       prof.ClientID,
		TenantID:                       tenant,
		DisableInstanceDiscovery:       p.cloud.IsCustom(),
		AuthenticationRecord:           opts.AuthenticationRecord,
		DisableAutomaticAuthentication: opts.DisableAutomaticAuthentication,
		UserPrompt: func(ctx context.Context, m azidentity.DeviceCodeMessage) error {
			return prompt(ctx, DeviceCodePrompt{
				Profile: prof.Name, TenantID: tenant,
				VerificationURL: m.VerificationURL, UserCode: m.UserCode, Message: m.Message,
				ExpiresAt: expiry.get(),
			})
		},
	})
	if err != nil {
		return nil, fmt.Errorf("credential %s: device code: %w", prof, err)
	}
	return &DeviceCodeCredential{profile: prof.Name, tenant: tenant, dc: dc, transport: transport}, nil
}

// GetToken implements azcore.TokenCredential; it starts a sign-in when none is cached
// (unless DisableAutomaticAuthentication).
func (c *DeviceCodeCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tk, err := c.dc.GetToken(ctx, opts)
	return tk, c.transport.restoreBody(err)
}

// Authenticate runs the sign-in for scopes and returns the record to persist for later
// GetToken calls without a prompt.
func (c *DeviceCodeCredential) Authenticate(ctx context.Context, scopes ...string) (azidentity.AuthenticationRecord, error) {
	rec, err := c.dc.Authenticate(ctx, &policy.TokenRequestOptions{Scopes: scopes})
	return rec, c.transport.restoreBody(err)
}

func (c *DeviceCodeCredential) String() string {
	return fmt.Sprintf("credential(profile=%s kind=device_code tenant=%s)", c.profile, c.tenant)
}

// Format makes every fmt verb print String (never the token cache).
func (c *DeviceCodeCredential) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// deviceCodeExpiry carries expires_in from the transport to the prompt callback.
type deviceCodeExpiry struct {
	mu sync.Mutex
	at time.Time
}

func (e *deviceCodeExpiry) set(t time.Time) {
	e.mu.Lock()
	e.at = t
	e.mu.Unlock()
}

func (e *deviceCodeExpiry) get() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.at.IsZero() {
		return time.Now().Add(defaultDeviceCodeLifetime)
	}
	return e.at
}

// deviceCodeTransport sits below azidentity for one device-code credential. It reads
// expires_in from the device-code response (azidentity's DeviceCodeMessage drops it), and it
// keeps the bodies of failed token responses: MSAL consumes them while polling, so the
// AuthenticationFailedError azidentity returns has an empty body and azerr could not tell a
// declined sign-in from a missing consent. Responses pass through unchanged.
type deviceCodeTransport struct {
	next   policy.Transporter
	expiry *deviceCodeExpiry

	mu       sync.Mutex
	failures map[*http.Response][]byte // bounded by maxKeptFailures
	order    []*http.Response
}

const maxKeptFailures = 8

func (t *deviceCodeTransport) Do(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultClient
	}
	sent := time.Now()
	resp, err := next.Do(req)
	if err != nil {
		return resp, err
	}
	isDeviceCode := resp.StatusCode == http.StatusOK && strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/devicecode")
	isTokenFailure := resp.StatusCode >= 400 && strings.HasSuffix(req.URL.Path, "/oauth2/v2.0/token")
	if !isDeviceCode && !isTokenFailure {
		return resp, nil
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if readErr != nil {
		return resp, nil // let azidentity report the truncated body
	}
	if isTokenFailure {
		t.keepFailure(resp, body)
		return resp, nil
	}
	var v struct {
		ExpiresIn json.Number `json:"expires_in"`
	}
	if json.Unmarshal(body, &v) == nil {
		if secs, convErr := v.ExpiresIn.Int64(); convErr == nil && secs > 0 {
			// Measured from when the request was sent: never later than the server's clock.
			t.expiry.set(sent.Add(time.Duration(secs) * time.Second))
		}
	}
	return resp, nil
}

func (t *deviceCodeTransport) keepFailure(resp *http.Response, body []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failures == nil {
		t.failures = map[*http.Response][]byte{}
	}
	t.failures[resp] = body
	t.order = append(t.order, resp)
	if len(t.order) > maxKeptFailures {
		delete(t.failures, t.order[0])
		t.order = t.order[1:]
	}
}

// restoreBody returns err with the token response body MSAL consumed put back, so that
// azerr can read the Entra error code. Other errors are returned unchanged.
func (t *deviceCodeTransport) restoreBody(err error) error {
	var afe *azidentity.AuthenticationFailedError
	if err == nil || !errors.As(err, &afe) || afe.RawResponse == nil {
		return err
	}
	t.mu.Lock()
	body, ok := t.failures[afe.RawResponse]
	t.mu.Unlock()
	if !ok {
		return err
	}
	if current, _ := runtime.Payload(afe.RawResponse); len(current) > 0 {
		return err
	}
	withBody := *afe.RawResponse
	withBody.Body = io.NopCloser(bytes.NewReader(body))
	classified := azerr.From(&azidentity.AuthenticationFailedError{RawResponse: &withBody})
	classified.Err = err // errors.As still finds the original AuthenticationFailedError
	return classified
}

// OnBehalfOf exchanges userAssertion (a delegated access token whose audience is the
// profile's app, supplied by the caller) for tokens to other APIs as the same person in the
// customer tenant. The app authenticates with the profile's secret or certificate, or with
// its federated assertion for workload/managed identity profiles. Not cached: it belongs to
// one user's assertion.
func (p *Provider) OnBehalfOf(profile, tenantID, userAssertion string) (*Credential, error) {
	prof, err := p.profile(profile)
	if err != nil {
		return nil, err
	}
	if prof.ClientID == "" {
		return nil, fmt.Errorf("credential %s: on-behalf-of needs a client_id", prof)
	}
	tenant, err := tenantKey(tenantID)
	if err != nil {
		return nil, err
	}
	if userAssertion == "" {
		return nil, errors.New("credential: on-behalf-of needs the user's access token")
	}
	opts := &azidentity.OnBehalfOfCredentialOptions{ClientOptions: p.base, DisableInstanceDiscovery: p.cloud.IsCustom()}
	var obo *azidentity.OnBehalfOfCredential
	switch prof.Kind {
	case KindClientSecret:
		secret, serr := p.clientSecret(prof)
		if serr != nil {
			return nil, serr
		}
		obo, err = azidentity.NewOnBehalfOfCredentialWithSecret(tenant, prof.ClientID, userAssertion, secret, opts)
	case KindCertificate:
		certs, key, cerr := p.certificate(prof)
		if cerr != nil {
			return nil, cerr
		}
		opts.SendCertificateChain = prof.SendCertificateChain
		obo, err = azidentity.NewOnBehalfOfCredentialWithCertificate(tenant, prof.ClientID, userAssertion, certs, key, opts)
	case KindWorkloadIdentity:
		obo, err = azidentity.NewOnBehalfOfCredentialWithClientAssertions(tenant, prof.ClientID, userAssertion, p.federatedTokenFileAssertion(prof), opts)
	case KindManagedIdentity:
		p.mu.Lock()
		mi, mierr := p.managedIdentity(prof)
		p.mu.Unlock()
		if mierr != nil {
			return nil, mierr
		}
		obo, err = azidentity.NewOnBehalfOfCredentialWithClientAssertions(tenant, prof.ClientID, userAssertion, p.managedIdentityAssertion(mi), opts)
	default:
		return nil, fmt.Errorf("credential %s: unsupported kind for on-behalf-of", prof)
	}
	if err != nil {
		// azidentity's constructor errors describe arguments, never their values.
		return nil, fmt.Errorf("credential %s: on-behalf-of: %w", prof, err)
	}
	return &Credential{profile: prof.Name, kind: "on_behalf_of", tenant: tenant, tc: obo}, nil
}

// federatedTokenFileAssertion reads the workload identity token file at each use (the
// kubelet rotates it).
func (p *Provider) federatedTokenFileAssertion(prof Profile) func(context.Context) (string, error) {
	path := prof.FederatedTokenFile
	if path == "" {
		path = p.getenv("AZURE_FEDERATED_TOKEN_FILE")
	}
	return func(context.Context) (string, error) {
		b, err := p.readFile(path)
		if err != nil {
			return "", fmt.Errorf("credential %s: read federated token file: %w", prof, pathError(err))
		}
		return strings.TrimSpace(string(b)), nil
	}
}
