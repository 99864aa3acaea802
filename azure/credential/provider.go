package credential

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/internal/guid"
)

// moduleName and moduleVersion go into the User-Agent of the token requests sent directly.
const (
	moduleName    = "credential"
	moduleVersion = "v0.1.0"
)

// Options configure a Provider.
type Options struct {
	// Cloud supplies the authority host; for the custom cloud, instance discovery is off.
	Cloud cloud.Endpoints
	// ClientOptions is the base pipeline configuration of every credential (transport with
	// the emulator's CA, retry, telemetry policies: outbound.TokenClientOptions). Its Cloud
	// is replaced by Cloud.AzCore().
	ClientOptions azcore.ClientOptions
	// Profiles are the configured credential profiles; names must be unique.
	Profiles []Profile
	// Getenv and ReadFile read secrets; nil means os.Getenv and os.ReadFile.
	Getenv   func(string) string
	ReadFile func(string) ([]byte, error)
}

// Provider hands out one credential per (profile, customer tenant). It is safe for
// concurrent use; concurrent Gets of the same key build the credential once.
type Provider struct {
	cloud    cloud.Endpoints
	base     azcore.ClientOptions
	profiles map[string]Profile
	getenv   func(string) string
	readFile func(string) ([]byte, error)
	// pl sends the token requests this package makes itself (devicecodeflow.go).
	pl runtime.Pipeline

	mu    sync.Mutex
	creds map[credKey]*Credential
	// managedIdentities are shared by every tenant of a managed_identity profile: the
	// identity is the MSSP's, only the app assertion it signs differs per tenant.
	managedIdentities map[string]azcore.TokenCredential
}

type credKey struct{ profile, tenant string }

// NewProvider validates the profiles. It does not read secrets: a missing secret surfaces at
// the first Get of that profile, with the profile and the source named.
func NewProvider(opts Options) (*Provider, error) {
	if err := opts.Cloud.Validate(); err != nil {
		return nil, err
	}
	p := &Provider{
		cloud:             opts.Cloud,
		base:              opts.ClientOptions,
		profiles:          map[string]Profile{},
		getenv:            opts.Getenv,
		readFile:          opts.ReadFile,
		creds:             map[credKey]*Credential{},
		managedIdentities: map[string]azcore.TokenCredential{},
	}
	if p.getenv == nil {
		p.getenv = os.Getenv
	}
	if p.readFile == nil {
		p.readFile = os.ReadFile
	}
	p.base.Cloud = opts.Cloud.AzCore()
	plOpts := p.base
	plOpts.Logging.IncludeBody = false // token request and response bodies carry secrets
	p.pl = runtime.NewPipeline(moduleName, moduleVersion, runtime.PipelineOptions{}, &plOpts)
	for _, prof := range opts.Profiles {
		if err := prof.Validate(); err != nil {
			return nil, err
		}
		if _, dup := p.profiles[prof.Name]; dup {
			return nil, fmt.Errorf("credential profile %q defined twice", prof.Name)
		}
		p.profiles[prof.Name] = prof
	}
	return p, nil
}

// Profile returns a configured profile by name.
func (p *Provider) Profile(name string) (Profile, bool) {
	prof, ok := p.profiles[name]
	return prof, ok
}

// ErrUnknownProfile is returned for a profile name that is not configured.
var ErrUnknownProfile = errors.New("unknown credential profile")

// profile is Profile with the error every credential constructor returns for a name that is
// not configured.
func (p *Provider) profile(name string) (Profile, error) {
	prof, ok := p.profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("%w %q", ErrUnknownProfile, name)
	}
	return prof, nil
}

// tenantKey validates a customer tenant id and lower-cases it, the form credentials are
// keyed and built with. The tenant becomes part of the authority URL; only GUIDs get that far.
func tenantKey(tenantID string) (string, error) {
	if !guid.Valid(tenantID) {
		return "", fmt.Errorf("credential: tenant id %q is not a GUID", tenantID)
	}
	return strings.ToLower(tenantID), nil
}

// Get returns the app-only credential of profile for the customer tenant, building it on
// first use. Construction errors are not cached: fixing the secret file is enough.
func (p *Provider) Get(profile, tenantID string) (*Credential, error) {
	prof, err := p.profile(profile)
	if err != nil {
		return nil, err
	}
	tenant, err := tenantKey(tenantID)
	if err != nil {
		return nil, err
	}
	k := credKey{profile: profile, tenant: tenant}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.creds[k]; ok {
		return c, nil
	}
	tc, err := p.build(prof, k.tenant)
	if err != nil {
		return nil, err
	}
	c := &Credential{profile: prof.Name, kind: prof.Kind, tenant: k.tenant, tc: tc}
	p.creds[k] = c
	return c, nil
}

// Forget drops the cached credentials of a profile (all tenants), e.g. after the secret
// behind it was rotated; the next Get reads the secret again.
func (p *Provider) Forget(profile string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.creds {
		if k.profile == profile {
			delete(p.creds, k)
		}
	}
	delete(p.managedIdentities, profile)
}

// build creates the azidentity credential; called with p.mu held.
func (p *Provider) build(prof Profile, tenant string) (azcore.TokenCredential, error) {
	noDiscovery := p.cloud.IsCustom()
	switch prof.Kind {
	case KindClientSecret:
		secret, err := p.clientSecret(prof)
		if err != nil {
			return nil, err
		}
		return azidentity.NewClientSecretCredential(tenant, prof.ClientID, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions: p.base, DisableInstanceDiscovery: noDiscovery,
		})
	case KindCertificate:
		certs, key, err := p.certificate(prof)
		if err != nil {
			return nil, err
		}
		return azidentity.NewClientCertificateCredential(tenant, prof.ClientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
			ClientOptions: p.base, DisableInstanceDiscovery: noDiscovery, SendCertificateChain: prof.SendCertificateChain,
		})
	case KindWorkloadIdentity:
		return azidentity.NewWorkloadIdentityCredential(&azidentity.WorkloadIdentityCredentialOptions{
			ClientOptions: p.base, DisableInstanceDiscovery: noDiscovery,
			ClientID: prof.ClientID, TenantID: tenant, TokenFilePath: prof.FederatedTokenFile,
		})
	case KindManagedIdentity:
		mi, err := p.managedIdentity(prof)
		if err != nil {
			return nil, err
		}
		if prof.ClientID == "" {
			return mi, nil
		}
		return azidentity.NewClientAssertionCredential(tenant, prof.ClientID, p.managedIdentityAssertion(mi), &azidentity.ClientAssertionCredentialOptions{
			ClientOptions: p.base, DisableInstanceDiscovery: noDiscovery,
		})
	}
	return nil, fmt.Errorf("credential %s: unsupported kind", prof)
}

func (p *Provider) managedIdentity(prof Profile) (azcore.TokenCredential, error) {
	if mi, ok := p.managedIdentities[prof.Name]; ok {
		return mi, nil
	}
	opts := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: p.base}
	if prof.ManagedIdentityClientID != "" {
		opts.ID = azidentity.ClientID(prof.ManagedIdentityClientID)
	}
	mi, err := azidentity.NewManagedIdentityCredential(opts)
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", prof, err)
	}
	p.managedIdentities[prof.Name] = mi
	return mi, nil
}

// managedIdentityAssertion returns the managed identity's token for the token-exchange
// audience, used as the app's client assertion ("managed identity as a federated identity
// credential"); azidentity calls it whenever it needs a fresh app token.
func (p *Provider) managedIdentityAssertion(mi azcore.TokenCredential) func(context.Context) (string, error) {
	scope := p.cloud.TokenExchangeAudience + "/.default"
	return func(ctx context.Context) (string, error) {
		tk, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", err
		}
		return tk.Token, nil
	}
}

// clientSecret reads the profile's client secret. Errors name the source, never the value.
func (p *Provider) clientSecret(prof Profile) (string, error) {
	var secret string
	switch {
	case prof.ClientSecretEnv != "":
		secret = p.getenv(prof.ClientSecretEnv)
		if secret == "" {
			return "", fmt.Errorf("credential %s: environment variable %s is empty or unset", prof, prof.ClientSecretEnv)
		}
	default:
		b, err := p.readFile(prof.ClientSecretFile)
		if err != nil {
			return "", fmt.Errorf("credential %s: read secret file: %w", prof, pathError(err))
		}
		secret = strings.TrimSpace(string(b)) // files written by editors end in a newline
		if secret == "" {
			return "", fmt.Errorf("credential %s: secret file %s is empty", prof, prof.ClientSecretFile)
		}
	}
	return secret, nil
}

func (p *Provider) certificate(prof Profile) ([]*x509.Certificate, crypto.PrivateKey, error) {
	data, err := p.readFile(prof.CertificateFile)
	if err != nil {
		return nil, nil, fmt.Errorf("credential %s: read certificate file: %w", prof, pathError(err))
	}
	var password []byte
	switch {
	case prof.CertificatePasswordEnv != "":
		password = []byte(p.getenv(prof.CertificatePasswordEnv))
	case prof.CertificatePasswordFile != "":
		b, err := p.readFile(prof.CertificatePasswordFile)
		if err != nil {
			return nil, nil, fmt.Errorf("credential %s: read certificate password file: %w", prof, pathError(err))
		}
		password = []byte(strings.TrimSpace(string(b)))
	}
	certs, key, err := azidentity.ParseCertificates(data, password)
	if err != nil {
		// ParseCertificates' messages describe the format problem, not the key material.
		return nil, nil, fmt.Errorf("credential %s: parse certificate file: %w", prof, err)
	}
	return certs, key, nil
}

// pathError keeps the operation and path of a file error but drops anything else a custom
// ReadFile might have wrapped.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return &os.PathError{Op: pe.Op, Path: pe.Path, Err: pe.Err}
	}
	return errors.New("cannot read file")
}

// Credential is an azcore.TokenCredential for one (profile, tenant). It formats, logs and
// marshals as its identity only, never the secret or a token inside the wrapped azidentity
// credential (fmt's %+v would otherwise walk into unexported fields).
type Credential struct {
	profile string
	kind    Kind
	tenant  string
	tc      azcore.TokenCredential
}

// GetToken implements azcore.TokenCredential.
func (c *Credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return c.tc.GetToken(ctx, opts)
}

// Profile and TenantID identify the credential.
func (c *Credential) Profile() string  { return c.profile }
func (c *Credential) TenantID() string { return c.tenant }

func (c *Credential) String() string {
	return fmt.Sprintf("credential(profile=%s kind=%s tenant=%s)", c.profile, c.kind, c.tenant)
}

// Format makes every fmt verb (%v, %+v, %#v, %s) print String.
func (c *Credential) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue makes slog print the identity only.
func (c *Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("profile", c.profile), slog.String("kind", string(c.kind)), slog.String("tenant", c.tenant))
}

// MarshalJSON marshals the identity only.
func (c *Credential) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, `{"profile":%q,"kind":%q,"tenant":%q}`, c.profile, c.kind, c.tenant), nil
}

var _ azcore.TokenCredential = (*Credential)(nil)
