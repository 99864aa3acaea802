package credential

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"

	"github.com/xdrlink/xdrlink/azure/internal/guid"
)

// Kind is how a profile authenticates the multi-tenant app.
type Kind string

const (
	// KindClientSecret: a client secret read from ClientSecretEnv or ClientSecretFile.
	KindClientSecret Kind = "client_secret"
	// KindCertificate: a certificate and private key (PEM or PKCS#12) from CertificateFile.
	KindCertificate Kind = "certificate"
	// KindWorkloadIdentity: a federated token file (Kubernetes workload identity) exchanged
	// for tokens of the app in each customer tenant.
	KindWorkloadIdentity Kind = "workload_identity"
	// KindManagedIdentity: an Azure managed identity. With ClientID set, the managed
	// identity's token is the federated client assertion of the multi-tenant app (the only
	// way a managed identity reaches other tenants); without it, the managed identity itself
	// is used, which works only in its own tenant.
	KindManagedIdentity Kind = "managed_identity"
)

// Profile is one credential profile of the server config (YAML/JSON or flags). It holds
// where secrets are, never their values: there is deliberately no field for an inline
// secret, and UnmarshalJSON rejects one.
type Profile struct {
	// Name is how tenants refer to the profile (Tenant.credential_profile).
	Name string `json:"name" yaml:"name"`
	Kind Kind   `json:"kind" yaml:"kind"`
	// ClientID is the application (client) id of the multi-tenant app.
	ClientID string `json:"client_id,omitempty" yaml:"client_id,omitempty"`

	// ClientSecretEnv or ClientSecretFile (exactly one) for KindClientSecret.
	ClientSecretEnv  string `json:"client_secret_env,omitempty" yaml:"client_secret_env,omitempty"`
	ClientSecretFile string `json:"client_secret_file,omitempty" yaml:"client_secret_file,omitempty"`

	// CertificateFile (PEM or PKCS#12, certificate and private key) for KindCertificate,
	// with an optional password from CertificatePasswordEnv or CertificatePasswordFile.
	CertificateFile         string `json:"certificate_file,omitempty" yaml:"certificate_file,omitempty"`
	CertificatePasswordEnv  string `json:"certificate_password_env,omitempty" yaml:"certificate_password_env,omitempty"`
	CertificatePasswordFile string `json:"certificate_password_file,omitempty" yaml:"certificate_password_file,omitempty"`
	// SendCertificateChain sends x5c (subject name / issuer authentication).
	SendCertificateChain bool `json:"send_certificate_chain,omitempty" yaml:"send_certificate_chain,omitempty"`

	// FederatedTokenFile for KindWorkloadIdentity; empty means $AZURE_FEDERATED_TOKEN_FILE.
	FederatedTokenFile string `json:"federated_token_file,omitempty" yaml:"federated_token_file,omitempty"`

	// ManagedIdentityClientID selects a user-assigned managed identity for
	// KindManagedIdentity; empty means the system-assigned identity.
	ManagedIdentityClientID string `json:"managed_identity_client_id,omitempty" yaml:"managed_identity_client_id,omitempty"`
}

var profileNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,62}$`)

// Validate checks that the profile is complete and unambiguous. It never reads secrets.
func (p Profile) Validate() error {
	if !profileNamePattern.MatchString(p.Name) {
		return fmt.Errorf("credential profile %q: name must match %s", p.Name, profileNamePattern)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("credential profile %q: "+format, append([]any{p.Name}, args...)...)
	}
	if p.ClientID != "" && !guid.Valid(p.ClientID) {
		return fail("client_id must be a GUID")
	}
	// Fields that belong to one kind, in declaration order: the first one set on a profile of
	// another kind is reported.
	for _, f := range []struct {
		kind        Kind
		name, value string
	}{
		{KindClientSecret, "client_secret_env", p.ClientSecretEnv},
		{KindClientSecret, "client_secret_file", p.ClientSecretFile},
		{KindCertificate, "certificate_file", p.CertificateFile},
		{KindCertificate, "certificate_password_env", p.CertificatePasswordEnv},
		{KindCertificate, "certificate_password_file", p.CertificatePasswordFile},
		{KindWorkloadIdentity, "federated_token_file", p.FederatedTokenFile},
		{KindManagedIdentity, "managed_identity_client_id", p.ManagedIdentityClientID},
	} {
		if f.value != "" && p.Kind != f.kind {
			return fail("%s is only valid for kind %s", f.name, f.kind)
		}
	}
	switch p.Kind {
	case KindClientSecret:
		if p.ClientID == "" {
			return fail("client_id is required")
		}
		if (p.ClientSecretEnv == "") == (p.ClientSecretFile == "") {
			return fail("exactly one of client_secret_env and client_secret_file is required")
		}
	case KindCertificate:
		if p.ClientID == "" || p.CertificateFile == "" {
			return fail("client_id and certificate_file are required")
		}
		if p.CertificatePasswordEnv != "" && p.CertificatePasswordFile != "" {
			return fail("at most one of certificate_password_env and certificate_password_file")
		}
	case KindWorkloadIdentity:
		if p.ClientID == "" {
			return fail("client_id is required")
		}
	case KindManagedIdentity:
		if p.ManagedIdentityClientID != "" && !guid.Valid(p.ManagedIdentityClientID) {
			return fail("managed_identity_client_id must be a GUID")
		}
	case "":
		return fail("kind is required (client_secret, certificate, workload_identity or managed_identity)")
	default:
		return fail("unknown kind %q", p.Kind)
	}
	return nil
}

// inlineSecretKeys are config keys people write by habit; they would put a secret into the
// config file, so decoding refuses them (without echoing the value).
var inlineSecretKeys = []string{"client_secret", "clientsecret", "secret", "password", "certificate_password", "private_key"}

// UnmarshalJSON decodes a profile, rejecting unknown fields and any inline secret.
func (p *Profile) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return errors.New("credential profile: not a JSON object")
	}
	for k := range raw {
		for _, bad := range inlineSecretKeys {
			if strings.EqualFold(k, bad) {
				return fmt.Errorf("credential profile: %q is not allowed: secrets never go into config; use client_secret_env/client_secret_file or certificate_password_env/certificate_password_file", k)
			}
		}
	}
	type plain Profile
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var v plain
	if err := dec.Decode(&v); err != nil {
		// The decoder's message names the field, not the value.
		return fmt.Errorf("credential profile: %w", err)
	}
	*p = Profile(v)
	return nil
}

// String describes the profile for logs and errors: where its secrets are, not what they are.
func (p Profile) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "profile %s (%s", p.Name, p.Kind)
	if p.ClientID != "" {
		fmt.Fprintf(&b, ", client %s", p.ClientID)
	}
	switch {
	case p.ClientSecretEnv != "":
		fmt.Fprintf(&b, ", secret from env %s", p.ClientSecretEnv)
	case p.ClientSecretFile != "":
		fmt.Fprintf(&b, ", secret from file %s", p.ClientSecretFile)
	case p.CertificateFile != "":
		fmt.Fprintf(&b, ", certificate from file %s", p.CertificateFile)
	case p.FederatedTokenFile != "":
		fmt.Fprintf(&b, ", federated token from file %s", p.FederatedTokenFile)
	}
	b.WriteString(")")
	return b.String()
}

// LogValue makes slog print the same description.
func (p Profile) LogValue() slog.Value {
	return slog.GroupValue(slog.String("name", p.Name), slog.String("kind", string(p.Kind)), slog.String("client_id", p.ClientID))
}
