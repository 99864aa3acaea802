package server

import (
	"context"
	"errors"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
)

// DefaultSyncCallTimeout is the default bound on a synchronous call.
const DefaultSyncCallTimeout = 60 * time.Second

// ownTimeout lists the unary methods that bound themselves and so are left
// alone: WaitOperation waits up to its request's timeout, capped at the
// operations service's MaxWait (10 minutes), and answers the operation as
// it is when that runs out.
var ownTimeout = map[string]bool{
	longrunningpb.Operations_WaitOperation_FullMethodName: true,
}

// errSyncCallTimeout is the cause of a context ended by the server's limit.
var errSyncCallTimeout = errors.New("the server's limit on synchronous calls ran out")

// syncDeadlineUnary bounds every unary call (but those in ownTimeout) by
// timeout, unless the caller's deadline is sooner; 0 leaves calls unbounded.
// Long-running methods return their operation at once and are not
// affected. A call that runs past the limit answers DEADLINE_EXCEEDED with
// reason DEADLINE_EXCEEDED whatever its handler returned, as gRPC does for
// a caller's deadline: what a handler made of a cut context (a report of
// checks that could not run) is not an answer.
func syncDeadlineUnary(timeout time.Duration) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if timeout <= 0 || ownTimeout[info.FullMethod] {
			return h(ctx, req)
		}
		ctx, cancel := context.WithTimeoutCause(ctx, timeout, errSyncCallTimeout)
		defer cancel()
		resp, err := h(ctx, req)
		if errors.Is(context.Cause(ctx), errSyncCallTimeout) {
			return nil, &apierr.Error{
				Code:     codes.DeadlineExceeded,
				Reason:   xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED,
				Message:  "the call ran longer than the server allows (" + timeout.String() + ", --sync-call-timeout); retry later",
				Metadata: map[string]string{"timeout": timeout.String()},
			}
		}
		return resp, err
	}
}
