package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"runtime/debug"
	"slices"

	"buf.build/go/protovalidate"
	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/logging"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/xdrlink/xdrlink/internal/apierr"
)

// RequestIDHeader carries the request id in metadata and HTTP headers.
const RequestIDHeader = "x-request-id"

type requestIDKey struct{}

// RequestID returns the request id of ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// withRequestID takes the caller's request id when it is sane, or makes one,
// and echoes it in the response header so a caller can quote it.
func withRequestID(ctx context.Context) context.Context {
	id := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(RequestIDHeader); len(v) > 0 && ValidRequestID(v[0]) {
			id = v[0]
		}
	}
	if id == "" {
		id = NewRequestID()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(RequestIDHeader, id)) // fails only if headers were sent
	return context.WithValue(context.WithValue(ctx, requestIDKey{}, id), callInfoKey{}, &callInfo{})
}

// callInfo is what inner interceptors learn of a call for the access log,
// which is written by an outer one from the context it started with.
type callInfo struct {
	principal string
}

type callInfoKey struct{}

// noteCaller records the call's principal for its access log line.
func noteCaller(ctx context.Context, principal string) {
	if ci, ok := ctx.Value(callInfoKey{}).(*callInfo); ok {
		ci.principal = principal
	}
}

// NewRequestID returns a random 128-bit id in hex.
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ValidRequestID says whether a caller's request id is usable: 1 to 128
// printable ASCII characters, no spaces (the gateway applies it to
// X-Request-Id too).
func ValidRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	return h(withRequestID(ctx), req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	return h(srv, &contextStream{ServerStream: ss, ctx: withRequestID(ss.Context())})
}

// errorsUnary maps whatever a handler returns to the API's status, once.
// Internal errors are logged here with their cause, which the client never
// sees.
func errorsUnary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		resp, err := h(ctx, req)
		return resp, mapError(ctx, log, info.FullMethod, err)
	}
}

func errorsStream(log *slog.Logger) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return mapError(ss.Context(), log, info.FullMethod, h(srv, ss))
	}
}

func mapError(ctx context.Context, log *slog.Logger, method string, err error) error {
	if err == nil {
		return nil
	}
	st := apierr.Status(err)
	if st.Code() == codes.Internal || st.Code() == codes.Unknown {
		// A driver that gives up on a cancelled or expired context may say
		// so in its own words (SQLite: "interrupted"), not with ctx's error:
		// when the context has ended, that is the cause.
		switch ctx.Err() {
		case context.Canceled:
			return apierr.Cancelled().GRPCStatus().Err()
		case context.DeadlineExceeded:
			return apierr.DeadlineExceeded().GRPCStatus().Err()
		}
		log.ErrorContext(ctx, "internal error", "method", method, "request_id", RequestID(ctx), "error", err.Error())
	}
	return st.Err()
}

// sizeLimitUnary refuses requests over limit with the same error REST gives
// a body over the limit.
func sizeLimitUnary(limit int) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if m, ok := req.(proto.Message); ok && proto.Size(m) > limit {
			return nil, apierr.RequestTooLarge(int64(limit))
		}
		return h(ctx, req)
	}
}

// validateUnary checks every request against its protovalidate rules and
// reports each violation as a BadRequest field violation, with the service's
// own violations when it is a RequestChecker.
func validateUnary(v protovalidate.Validator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if err := validate(v, req); err != nil {
			return nil, withServiceChecks(err, info.Server, req)
		}
		return h(ctx, req)
	}
}

// RequestChecker is a service that checks requests beyond their
// protovalidate rules (presence that depends on the method, repeats within
// a batch). When the rules refuse a request, the service's violations are
// added to theirs, so that one answer names every bad field; when the rules
// pass, the service runs the same checks itself.
type RequestChecker interface {
	CheckRequest(req any) []*errdetails.BadRequest_FieldViolation
}

func withServiceChecks(err error, srv, req any) error {
	c, ok := srv.(RequestChecker)
	var invalid *apierr.Error
	if !ok || !errors.As(err, &invalid) || invalid.Code != codes.InvalidArgument {
		return err
	}
	// A field the rules refused keeps their violation alone: the service's
	// checks may refuse the same value again (a malformed table name is
	// also not in the catalog).
	refused := make(map[string]bool, len(invalid.Violations))
	for _, v := range invalid.Violations {
		refused[v.GetField()] = true
	}
	more := slices.DeleteFunc(c.CheckRequest(req), func(v *errdetails.BadRequest_FieldViolation) bool {
		return refused[v.GetField()]
	})
	if len(more) == 0 {
		return err
	}
	return apierr.InvalidArgument(slices.Concat(invalid.Violations, more)...)
}

// validateStream validates the first (and, for our server-streaming methods,
// only) request message of a stream.
func validateStream(v protovalidate.Validator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		return h(srv, &validatingStream{ServerStream: ss, v: v})
	}
}

type validatingStream struct {
	grpc.ServerStream
	v protovalidate.Validator
}

func (s *validatingStream) RecvMsg(m any) error {
	if err := s.ServerStream.RecvMsg(m); err != nil {
		return err
	}
	return validate(s.v, m)
}

func validate(v protovalidate.Validator, req any) error {
	msg, ok := req.(proto.Message)
	if !ok {
		return nil
	}
	err := v.Validate(msg)
	if err == nil {
		return nil
	}
	verr, ok := err.(*protovalidate.ValidationError)
	if !ok {
		return err // a rule failed to evaluate: a server bug, so INTERNAL
	}
	violations := make([]*errdetails.BadRequest_FieldViolation, 0, len(verr.Violations))
	for _, viol := range verr.Violations {
		violations = append(violations, apierr.Violation(
			protovalidate.FieldPathString(viol.Proto.GetField()), viol.Proto.GetMessage()))
	}
	return apierr.InvalidArgument(violations...)
}

// unknownMethod answers a call to a service or method the server does not
// have; as a stream handler it runs through the stream interceptors, so the
// call is logged and has a request id like any other.
func unknownMethod(_ any, ss grpc.ServerStream) error {
	method, _ := grpc.MethodFromServerStream(ss)
	return apierr.UnknownMethod(method)
}

// recovered turns a panic into INTERNAL, logging the stack; the process and
// other requests carry on.
func recovered(log *slog.Logger) func(ctx context.Context, p any) error {
	return func(ctx context.Context, p any) error {
		log.ErrorContext(ctx, "panic in handler", "request_id", RequestID(ctx), "panic", p, "stack", string(debug.Stack()))
		return apierr.Internal().GRPCStatus().Err()
	}
}

// slogAdapter lets go-grpc-middleware's logging interceptor write to slog.
func slogAdapter(l *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(ctx context.Context, lvl logging.Level, msg string, fields ...any) {
		l.Log(ctx, slog.Level(lvl), msg, fields...)
	})
}

func requestIDField(ctx context.Context) logging.Fields {
	var f logging.Fields
	if id := RequestID(ctx); id != "" {
		f = append(f, "request_id", id)
	}
	if ci, ok := ctx.Value(callInfoKey{}).(*callInfo); ok && ci.principal != "" {
		f = append(f, "principal", ci.principal)
	}
	// The stats handler's span (or the caller's traceparent, when tracing is off).
	if sc := trace.SpanContextFromContext(ctx); sc.HasTraceID() {
		f = append(f, "trace_id", sc.TraceID().String())
	}
	return f
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }
