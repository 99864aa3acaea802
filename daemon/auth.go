package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/xdrlink/xdrlink/azuresim"
	xclient "github.com/xdrlink/xdrlink/client"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/authn"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/server/ratelimit"
)

// Authentication modes (--auth).
const (
	// AuthNone lets every caller in as an admin: loopback only, unless
	// --allow-unauthenticated-network.
	AuthNone = "none"
	// AuthRequired requires an OIDC token, an API key or (gRPC) a client
	// certificate on every call but health and reflection.
	AuthRequired = "required"
)

// checkAuthConfig refuses combinations that cannot work or would be
// silently ignored.
func checkAuthConfig(cfg Config) error {
	switch cfg.Auth {
	case AuthNone:
		if cfg.OIDCIssuer != "" || cfg.TLSClientCAFile != "" {
			return errors.New("--oidc-issuer and --tls-client-ca-file need --auth=required")
		}
	case AuthRequired:
		if cfg.OIDCIssuer != "" && len(cfg.OIDCAudiences) == 0 {
			return errors.New("--oidc-issuer needs --oidc-audience: the audience (aud) of the tokens xdrlink accepts, e.g. api://xdrlink")
		}
	default:
		return fmt.Errorf("--auth must be %q or %q, got %q", AuthNone, AuthRequired, cfg.Auth)
	}
	if cfg.TLSClientCAFile != "" && cfg.TLSCertFile == "" {
		return errors.New("--tls-client-ca-file needs --tls-cert-file: client certificates are checked in the TLS handshake")
	}
	if cfg.RateLimit < 0 || cfg.RateBurst < 0 {
		return errors.New("--rate-limit and --rate-burst must not be negative")
	}
	return nil
}

// newAuthenticator builds the authentication of --auth: the OIDC issuer
// (in sandbox mode without --oidc-issuer, the emulator's Entra with its
// demo MSSP staff), the API keys in the store, client certificates.
func (d *Daemon) newAuthenticator(ctx context.Context) (*authn.Authenticator, error) {
	cfg := d.cfg
	opts := authn.Options{Disabled: cfg.Auth == AuthNone, APIKeys: d.store, Logger: d.log,
		ClientCertificates: cfg.TLSClientCAFile != "", RequestID: server.RequestID}
	if opts.Disabled {
		return authn.New(ctx, opts)
	}
	// Discovery and key fetches must not hang a call for long.
	issuer, audiences, client := cfg.OIDCIssuer, cfg.OIDCAudiences, &http.Client{Timeout: 30 * time.Second}
	if cfg.OIDCCAFile != "" {
		pool, err := xclient.CertPool(cfg.OIDCCAFile)
		if err != nil {
			return nil, fmt.Errorf("--oidc-ca-file: %w", err)
		}
		// The default transport's settings (proxy from the environment,
		// timeouts), with this CA.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		client.Transport = tr
	}
	if staff, ok := d.sandboxStaff(); ok && issuer == "" {
		issuer, audiences, client = staff.Issuer, []string{staff.Audience}, d.azure.sandbox.HTTPClient()
		d.log.Info("sandbox mode: callers sign in at the emulator's Entra as demo MSSP staff (GET /_sim/staff on the emulator lists them)",
			"issuer", issuer, "audience", staff.Audience, "token_endpoint", staff.TokenEndpoint,
			"client_id", staff.PublicClientID, "scope", staff.APIScope)
	}
	if issuer != "" {
		opts.OIDC = &authn.OIDCOptions{Issuer: issuer, Audiences: audiences, RolesClaim: cfg.OIDCRolesClaim, HTTPClient: client}
	}
	return authn.New(ctx, opts)
}

// sandboxStaff is the emulator's MSSP staff identity, in sandbox mode.
func (d *Daemon) sandboxStaff() (azuresim.StaffIdentity, bool) {
	if d.azure.sandbox == nil {
		return azuresim.StaffIdentity{}, false
	}
	return d.azure.sandbox.StaffIdentity()
}

// newRateLimiter is the per-caller limit of --rate-limit; public methods
// (health checks: probes call on their own schedule) are exempt. With
// --auth=none every caller is the same anonymous admin, so there is no
// caller to limit: none.
func newRateLimiter(cfg Config) (*ratelimit.Limiter, error) {
	if cfg.Auth == AuthNone {
		return nil, nil
	}
	return ratelimit.New(ratelimit.Options{Rate: cfg.RateLimit, Burst: cfg.RateBurst, Exempt: authz.Public})
}

// Failed authentications a client address may have: a burst of
// authFailureBurst, then one every 1/authFailureRate seconds. A client
// whose token expired fails once and signs in again; one failing more is
// guessing, or pointing the server at the issuer's keys over and over.
const (
	authFailureRate  = 1.0
	authFailureBurst = 20
)

// newAuthFailureLimiter bounds failed authentications per address
// whenever --rate-limit is on.
func newAuthFailureLimiter(cfg Config) (*ratelimit.Limiter, error) {
	if cfg.RateLimit == 0 || cfg.Auth == AuthNone {
		return nil, nil
	}
	return ratelimit.New(ratelimit.Options{Rate: authFailureRate, Burst: authFailureBurst})
}

// pruneAudit deletes audit events older than the retention, now and then
// hourly, until ctx ends. Every replica does it; deleting is idempotent.
func (d *Daemon) pruneAudit(ctx context.Context) {
	if d.cfg.AuditRetention <= 0 {
		return
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := d.store.PruneAuditEvents(ctx, time.Now().Add(-d.cfg.AuditRetention))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			d.log.Error("pruning the audit log failed", "error", err.Error())
		case n > 0:
			d.log.Info("audit log pruned", "deleted", n, "retention", d.cfg.AuditRetention.String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
