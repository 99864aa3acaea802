package server

import (
	"context"
	"log/slog"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"

	"github.com/xdrlink/xdrlink/server/authn"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/server/ratelimit"
	"github.com/xdrlink/xdrlink/store"
)

// Options configure the gRPC server.
type Options struct {
	Logger *slog.Logger
	// MaxRecvBytes bounds one request message: larger ones get
	// RESOURCE_EXHAUSTED with reason REQUEST_TOO_LARGE. The transport itself
	// refuses twice that before decoding (then without ErrorInfo).
	MaxRecvBytes int
	// SyncCallTimeout bounds each unary call (WaitOperation excepted, which
	// bounds itself) unless the caller's deadline is sooner; a call that
	// runs out answers DEADLINE_EXCEEDED. 0 leaves calls unbounded.
	SyncCallTimeout time.Duration
	// Extra server options, e.g. credentials or stats handlers.
	ServerOptions []grpc.ServerOption
	// Authenticator names the caller of every call but health and
	// reflection; nil lets everyone in as an admin (authn.Options.Disabled).
	Authenticator *authn.Authenticator
	// Audit, when set, records every change (see auditUnary).
	Audit store.AuditStore
	// RateLimiter, when set, bounds each caller's request rate;
	// AuthFailures, when set, each client address's failed authentications
	// (see authenticate).
	RateLimiter  *ratelimit.Limiter
	AuthFailures *ratelimit.Limiter
	// NoReflection leaves the reflection service out.
	NoReflection bool
}

// New returns a gRPC server with xdrlink's interceptor chain and reflection.
// Order, outermost first: recovery (a panic anywhere becomes INTERNAL),
// request id, logging (sees the final code), authentication, the caller's
// rate limit, audit (sees refusals), the method's role, the deadline of
// synchronous calls, error mapping, validation.
func New(opts Options) (*grpc.Server, error) {
	validator, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	auth := opts.Authenticator
	if auth == nil {
		if auth, err = authn.New(context.Background(), authn.Options{Disabled: true}); err != nil {
			return nil, err
		}
	}
	var s *grpc.Server
	authnUnary, authnStream := authenticate(auth, opts.AuthFailures, log)
	authzUnary, authzStream := authorize(log, func() *grpc.Server { return s })
	limitUnary, limitStream := passUnary, passStream
	if opts.RateLimiter.Enabled() {
		limitUnary = opts.RateLimiter.UnaryServerInterceptor(rateKey)
		limitStream = opts.RateLimiter.StreamServerInterceptor(rateKey)
	}
	auditInterceptor := passUnary
	if opts.Audit != nil {
		auditInterceptor = auditUnary(opts.Audit, log)
	}
	logOpts := []logging.Option{
		logging.WithLogOnEvents(logging.FinishCall),
		logging.WithFieldsFromContext(requestIDField),
	}
	recoverOpt := recovery.WithRecoveryHandlerContext(recovery.RecoveryHandlerFuncContext(recovered(log)))
	srvOpts := append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(2 * opts.MaxRecvBytes),
		grpc.UnknownServiceHandler(unknownMethod),
		grpc.ChainUnaryInterceptor(
			recovery.UnaryServerInterceptor(recoverOpt),
			requestIDUnary,
			logging.UnaryServerInterceptor(slogAdapter(log), logOpts...),
			authnUnary,
			limitUnary,
			auditInterceptor,
			authzUnary,
			syncDeadlineUnary(opts.SyncCallTimeout),
			errorsUnary(log),
			sizeLimitUnary(opts.MaxRecvBytes),
			validateUnary(validator),
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(recoverOpt),
			requestIDStream,
			logging.StreamServerInterceptor(slogAdapter(log), logOpts...),
			authnStream,
			limitStream,
			authzStream,
			errorsStream(log),
			validateStream(validator),
		),
	}, opts.ServerOptions...)
	s = grpc.NewServer(srvOpts...)
	if !opts.NoReflection {
		reflection.Register(s)
	}
	return s, nil
}

// rateKey is whom a call's rate counts against: its principal. (Public
// methods have none; the limiter exempts them.)
func rateKey(ctx context.Context) string {
	if p := authz.FromContext(ctx); p != nil {
		return p.ID
	}
	return ""
}

func passUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(ctx, req)
}

func passStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, ss)
}
