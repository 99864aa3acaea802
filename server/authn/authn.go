package authn

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
)

// Options configure an Authenticator.
type Options struct {
	// Disabled lets every caller in as an unscoped admin
	// (AUTH_METHOD_NONE), named by its address. Only for loopback, or
	// behind a proxy that authenticates.
	Disabled bool
	// OIDC, when set, accepts bearer tokens from its issuer.
	OIDC *OIDCOptions
	// APIKeys, when set, accepts API keys stored there.
	APIKeys store.APIKeyStore
	// ClientCertificates accepts verified TLS client certificates (the
	// server's TLS configuration verifies them against the client CA).
	ClientCertificates bool
	Logger             *slog.Logger
	// RequestID names the request in failure logs.
	RequestID func(context.Context) string
	// Now is the clock for token and key expiry (nil: time.Now).
	Now func() time.Time
}

// Authenticator turns a request's credentials into a principal.
type Authenticator struct {
	opts Options
	oidc *oidcVerifier
	keys *apiKeys
}

// New returns an Authenticator. ctx bounds the background fetches of the
// OIDC issuer's keys.
func New(ctx context.Context, opts Options) (*Authenticator, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.RequestID == nil {
		opts.RequestID = func(context.Context) string { return "" }
	}
	a := &Authenticator{opts: opts}
	if opts.OIDC != nil {
		o := *opts.OIDC
		if o.Now == nil {
			o.Now = opts.Now
		}
		var err error
		if a.oidc, err = newOIDCVerifier(ctx, o); err != nil {
			return nil, err
		}
	}
	if opts.APIKeys != nil {
		a.keys = &apiKeys{store: opts.APIKeys, now: opts.Now}
	}
	return a, nil
}

// ForgetAPIKey makes the next call with API key id read it from the store
// again (after a revocation).
func (a *Authenticator) ForgetAPIKey(id string) {
	if a.keys != nil {
		a.keys.Forget(id)
	}
}

// Authenticate returns the caller of ctx, or UNAUTHENTICATED saying what
// was wrong (never the credential), which it also logs.
func (a *Authenticator) Authenticate(ctx context.Context) (*authz.Principal, error) {
	if a.opts.Disabled {
		return &authz.Principal{ID: "anonymous@" + ClientAddress(ctx), DisplayName: "anonymous",
			Method: xdrlinkv1.AuthMethod_AUTH_METHOD_NONE, Grants: []authz.Grant{{Role: authz.Admin}}}, nil
	}
	p, err := a.authenticate(ctx)
	if err != nil {
		method := ""
		if m, ok := ctx.Value(methodKey{}).(string); ok {
			method = m
		}
		a.opts.Logger.WarnContext(ctx, "authentication failed", "method", method, "client", ClientAddress(ctx),
			"request_id", a.opts.RequestID(ctx), "reason", err.Error())
	}
	return p, err
}

type methodKey struct{}

// WithMethod records the called method in ctx, for the failure log.
func WithMethod(ctx context.Context, method string) context.Context {
	return context.WithValue(ctx, methodKey{}, method)
}

func (a *Authenticator) authenticate(ctx context.Context) (*authz.Principal, error) {
	cred, present, err := bearer(ctx)
	if err != nil {
		return nil, err
	}
	if !present {
		if a.opts.ClientCertificates {
			if p, ok := certPrincipal(ctx); ok {
				return p, nil
			}
		}
		return nil, apierr.Unauthenticated("no credentials: send \"Authorization: Bearer\" with an access token or an API key")
	}
	if strings.HasPrefix(cred, APIKeyPrefix) {
		if a.keys == nil {
			return nil, apierr.Unauthenticated("API keys are not accepted by this server")
		}
		p, err := a.keys.authenticate(ctx, cred)
		if err != nil {
			var r refusal
			if !errors.As(err, &r) {
				return nil, err // reading the store failed: INTERNAL, logged by the error mapping
			}
			return nil, apierr.Unauthenticated(scrub(err.Error(), cred))
		}
		return p, nil
	}
	if a.oidc == nil {
		return nil, apierr.Unauthenticated("bearer tokens are not accepted by this server (no OIDC issuer is configured); use an API key")
	}
	p, err := a.oidc.authenticate(ctx, cred)
	if errors.Is(err, errIssuerUnavailable) {
		e := apierr.Unauthenticated("the token could not be checked now: " + scrub(err.Error(), cred) + "; retry later")
		e.Code = codes.Unavailable
		return nil, e
	}
	if err != nil {
		return nil, apierr.Unauthenticated("invalid bearer token: " + scrub(err.Error(), cred))
	}
	return p, nil
}

// bearer returns the credential of an "Authorization: Bearer" header.
func bearer(ctx context.Context) (string, bool, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return "", false, nil
	}
	if len(vals) > 1 {
		return "", false, apierr.Unauthenticated("more than one Authorization header")
	}
	scheme, cred, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(cred) == "" {
		return "", false, apierr.Unauthenticated(`the Authorization header must be "Bearer " and a token or API key`)
	}
	return strings.TrimSpace(cred), true, nil
}

// scrub removes any part of the credential a library's error might quote,
// so it reaches neither the client nor the log.
func scrub(msg, cred string) string {
	msg = strings.ReplaceAll(msg, cred, "[credential]")
	for _, part := range strings.Split(cred, ".") {
		if len(part) >= 8 {
			msg = strings.ReplaceAll(msg, part, "[credential]")
		}
	}
	return msg
}
