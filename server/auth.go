package server

import (
	"context"
	"log/slog"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server/authn"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/server/ratelimit"
)

// authenticate puts the caller's principal in the context of every call
// but those to public methods (health, reflection), or refuses the call.
// failures, when enabled, bounds failed authentications per client address:
// an address past it is refused before its credential is looked at, so
// that nobody can make the server fetch the issuer's keys (a token naming
// an unknown key id) or try keys as fast as it likes.
func authenticate(auth *authn.Authenticator, failures *ratelimit.Limiter, log *slog.Logger) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	check := func(ctx context.Context, method string) (context.Context, error) {
		if authz.Public(method) {
			return ctx, nil
		}
		addr := "address:" + authn.ClientAddress(ctx)
		if blocked, wait := failures.Blocked(addr); blocked {
			return nil, apierr.RateLimited(wait)
		}
		p, err := auth.Authenticate(authn.WithMethod(ctx, method))
		if err != nil {
			if apierr.Status(err).Code() == codes.Unauthenticated {
				failures.Allow(addr)
			}
			return nil, mapError(ctx, log, method, err)
		}
		noteCaller(ctx, p.ID)
		return authz.NewContext(ctx, p), nil
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		ctx, err := check(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		ctx, err := check(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return h(srv, &contextStream{ServerStream: ss, ctx: ctx})
	}
	return unary, stream
}

// authorize checks that the caller holds the role its method needs
// (authz.MethodRule); the services check each tenant the call touches. A
// method of a registered service without a rule is refused: every RPC must
// have one. A method the server does not have is left to unknownMethod.
func authorize(log *slog.Logger, srv func() *grpc.Server) (grpc.UnaryServerInterceptor, grpc.StreamServerInterceptor) {
	// Computed at the first call, after every service is registered.
	registered := sync.OnceValue(func() map[string]bool {
		m := map[string]bool{}
		for svc, info := range srv().GetServiceInfo() {
			for _, meth := range info.Methods {
				m["/"+svc+"/"+meth.Name] = true
			}
		}
		return m
	})
	check := func(ctx context.Context, method string) error {
		p := authz.FromContext(ctx)
		if p == nil { // a public method
			return nil
		}
		rule, ok := authz.MethodRule(method)
		if !ok {
			if registered()[method] {
				log.ErrorContext(ctx, "method has no access rule; refused", "method", method)
				return apierr.PermissionDenied(method, "an access rule (this method has none: a server bug)")
			}
			return nil
		}
		if p.MaxRole() < rule.Role {
			return apierr.PermissionDenied(method, rule.Role.String())
		}
		return nil
	}
	unary := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := check(ctx, info.FullMethod); err != nil {
			return nil, err
		}
		return h(ctx, req)
	}
	stream := func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if err := check(ss.Context(), info.FullMethod); err != nil {
			return err
		}
		return h(srv, ss)
	}
	return unary, stream
}
