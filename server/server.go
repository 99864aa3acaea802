package server

import (
	"log/slog"
	"time"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"google.golang.org/grpc"
	"google.golang.org/grpc/reflection"
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
}

// New returns a gRPC server with xdrlink's interceptor chain and reflection.
// Order, outermost first: recovery (a panic anywhere becomes INTERNAL),
// request id, logging (sees the final code), the deadline of synchronous
// calls, error mapping, validation.
func New(opts Options) (*grpc.Server, error) {
	validator, err := protovalidate.New()
	if err != nil {
		return nil, err
	}
	log := opts.Logger
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
			syncDeadlineUnary(opts.SyncCallTimeout),
			errorsUnary(log),
			sizeLimitUnary(opts.MaxRecvBytes),
			validateUnary(validator),
		),
		grpc.ChainStreamInterceptor(
			recovery.StreamServerInterceptor(recoverOpt),
			requestIDStream,
			logging.StreamServerInterceptor(slogAdapter(log), logOpts...),
			errorsStream(log),
			validateStream(validator),
		),
	}, opts.ServerOptions...)
	s := grpc.NewServer(srvOpts...)
	reflection.Register(s)
	return s, nil
}
