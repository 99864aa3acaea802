package gateway

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	longrunninggw "github.com/xdrlink/xdrlink/gen/longrunninggw/google/longrunning"
	"github.com/xdrlink/xdrlink/gen/openapiv2"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/internal/telemetry"
	"github.com/xdrlink/xdrlink/server"
)

// Options configure the gateway.
type Options struct {
	// Conn reaches the gRPC server.
	Conn *grpc.ClientConn
	// MaxBodyBytes bounds a request body; larger bodies get 413.
	MaxBodyBytes int64
	// Logger receives one access log line per request (nil: none).
	Logger *slog.Logger
	// TrustedProxies are the peers whose X-Forwarded-For names the client
	// in the access log; others' is ignored.
	TrustedProxies []netip.Prefix
	// Telemetry, when set, traces and measures every request (otelhttp),
	// naming spans and labelling metrics by route; ServerName is the
	// server.address on the metrics (the listen address).
	Telemetry  *telemetry.Telemetry
	ServerName string
}

// marshaler is set explicitly: the gateway's default emits every unset field
// as null or zero, which bloats responses and hides what was set. False
// booleans, zero numbers and zero enums are emitted (a "ready": false must
// not vanish); unset messages are not.
var marshaler = &runtime.JSONPb{
	MarshalOptions:   protojson.MarshalOptions{UseProtoNames: false, EmitUnpopulated: false, EmitDefaultValues: true},
	UnmarshalOptions: protojson.UnmarshalOptions{DiscardUnknown: false},
}

// New returns the REST handler.
func New(ctx context.Context, opts Options) (http.Handler, error) {
	mux := runtime.NewServeMux(
		// The parser is process-wide in grpc-gateway (the option sets a
		// package variable): set it once, before any mux serves.
		setQueryParser(),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, marshaler),
		runtime.WithErrorHandler(errorHandler),
		runtime.WithRoutingErrorHandler(routingError),
		runtime.WithMiddlewares(routeProbe, queryGuard, routeSpan),
		// A form-encoded POST is refused (415), never re-read as a GET.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithHealthzEndpoint(healthpb.NewHealthClient(opts.Conn)),
	)
	// The generated handlers call the server through queryConn, which
	// refuses a query the handler never parsed (see queryGuard).
	conn := queryConn{opts.Conn}
	for _, register := range []func() error{
		// google.longrunning first: grpc-gateway tries the newest
		// registration first, so our more specific operation routes
		// (":resume", ":watch") win over its "operations/**" patterns.
		func() error {
			return longrunninggw.RegisterOperationsHandlerClient(ctx, mux, longrunningpb.NewOperationsClient(conn))
		},
		func() error {
			return xdrlinkv1.RegisterTenantServiceHandlerClient(ctx, mux, xdrlinkv1.NewTenantServiceClient(conn))
		},
		func() error {
			return xdrlinkv1.RegisterOnboardingServiceHandlerClient(ctx, mux, xdrlinkv1.NewOnboardingServiceClient(conn))
		},
		func() error {
			return xdrlinkv1.RegisterTableServiceHandlerClient(ctx, mux, xdrlinkv1.NewTableServiceClient(conn))
		},
		func() error {
			return xdrlinkv1.RegisterVerificationServiceHandlerClient(ctx, mux, xdrlinkv1.NewVerificationServiceClient(conn))
		},
		func() error {
			return xdrlinkv1.RegisterOperationServiceHandlerClient(ctx, mux, xdrlinkv1.NewOperationServiceClient(conn))
		},
		func() error {
			return xdrlinkv1.RegisterAccessServiceHandlerClient(ctx, mux, xdrlinkv1.NewAccessServiceClient(conn))
		},
		func() error {
			return xdrlinkv1.RegisterAuditServiceHandlerClient(ctx, mux, xdrlinkv1.NewAuditServiceClient(conn))
		},
	} {
		if err := register(); err != nil {
			return nil, err
		}
	}
	// Hand-made routes, registered last so they are tried first: see
	// listOperations and watchOperation for why each exists.
	if err := mux.HandlePath(http.MethodGet, "/v1/operations", listOperations(mux, longrunningpb.NewOperationsClient(conn))); err != nil {
		return nil, err
	}
	if err := mux.HandlePath(http.MethodGet, watchPath, watchOperation(mux, xdrlinkv1.NewOperationServiceClient(conn))); err != nil {
		return nil, err
	}
	if err := mux.HandlePath(http.MethodGet, "/openapi.json", serveOpenAPI); err != nil {
		return nil, err
	}
	h := frontDoor(limitBody(mux, opts.MaxBodyBytes), opts.Logger, opts.TrustedProxies)
	if opts.Telemetry != nil {
		// Outermost, so refusals of the front door (413, 415, 400) count too.
		h = opts.Telemetry.HTTPHandler(h, opts.ServerName)
	}
	return h, nil
}

// routeSpan names the request's span and metrics by the matched route.
// After routeProbe: a 405 probe is not a request.
func routeSpan(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if p, ok := runtime.HTTPPattern(r.Context()); ok {
			telemetry.RouteSpan(r, p.String())
		}
		next(w, r, params)
	}
}

func serveOpenAPI(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(openapiv2.JSON)
}

// limitBody buffers the body up to limit and answers 413 past it. Buffering
// (rather than a streaming limit) lets the 413 be decided before the gateway
// starts decoding, whose errors would otherwise read as a 400. The buffered
// body is then checked to be JSON (415 otherwise), and If-Match is applied.
func limitBody(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody {
			serveBody(next, w, r, nil)
			return
		}
		if r.ContentLength > limit {
			writeTooLarge(w, limit)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			writeStatus(w, http.StatusBadRequest, status.New(codes.InvalidArgument, "reading request body: "+err.Error()))
			return
		}
		if int64(len(body)) > limit {
			writeTooLarge(w, limit)
			return
		}
		serveBody(next, w, r, body)
	})
}

func serveBody(next http.Handler, w http.ResponseWriter, r *http.Request, body []byte) {
	if st := checkMediaType(r, body); st != nil {
		writeStatus(w, http.StatusUnsupportedMediaType, st)
		return
	}
	body, st := applyIfMatch(r, body)
	if st != nil {
		writeStatus(w, http.StatusBadRequest, st)
		return
	}
	if body == nil {
		r.Body = http.NoBody
	} else {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
	}
	next.ServeHTTP(w, r)
}

func writeTooLarge(w http.ResponseWriter, limit int64) {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	writeStatus(w, http.StatusRequestEntityTooLarge, apierr.RequestTooLarge(limit).GRPCStatus())
}

func writeStatus(w http.ResponseWriter, code int, st *status.Status) {
	buf, err := marshaler.Marshal(st.Proto())
	if err != nil {
		buf = []byte(`{"code":13,"message":"internal error"}`)
		code = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	if h := textproto.CanonicalMIMEHeaderKey(server.RequestIDHeader); w.Header().Get(h) == "" {
		w.Header().Set(h, server.NewRequestID())
	}
	w.WriteHeader(code)
	_, _ = w.Write(buf)
}

// unknownField finds the field protojson names when a body has one it does
// not know, e.g. `proto: (line 1:2): unknown field "foo"`.
var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// queryField finds the query parameter grpc-gateway names when it cannot
// parse one, e.g. `parsing field "page_size": strconv.ParseInt: ...`.
var queryField = regexp.MustCompile(`^parsing (?:field|list) "([^"]+)": `)

// errorHandler gives errors the gateway raises itself (bad JSON, a bad query
// parameter) the same shape as the server's: ErrorInfo plus a field
// violation. Errors from the gRPC server already have it.
func errorHandler(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if st, ok := status.FromError(err); ok && st.Code() == codes.InvalidArgument && len(st.Details()) == 0 {
		field, desc := "body", st.Message()
		if sub := unknownField.FindStringSubmatch(st.Message()); sub != nil {
			field, desc = sub[1], "unknown field"
		} else if sub := queryField.FindStringSubmatch(st.Message()); sub != nil {
			field, desc = sub[1], strings.TrimPrefix(st.Message(), sub[0])
		}
		err = apierr.InvalidArgument(apierr.Violation(field, desc)).GRPCStatus().Err()
	}
	if st, ok := status.FromError(err); ok {
		setRetryAfter(w, st)
		if st.Code() == codes.Unauthenticated {
			w = bearerChallenge{w}
		}
	}
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, err)
}

// bearerChallenge makes a 401's WWW-Authenticate the scheme a client
// should use (RFC 6750), replacing what grpc-gateway puts there (the
// status message, which is not a challenge).
type bearerChallenge struct{ http.ResponseWriter }

func (b bearerChallenge) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		b.Header().Set("WWW-Authenticate", `Bearer realm="xdrlink"`)
	}
	b.ResponseWriter.WriteHeader(code)
}

// setRetryAfter turns a status's RetryInfo (e.g. RATE_LIMITED, which is
// RESOURCE_EXHAUSTED and so a 429) into Retry-After. The header holds whole
// seconds, so the delay is rounded up (retrying early would only be refused
// again), and is at least 1: 0 would invite an immediate retry.
func setRetryAfter(w http.ResponseWriter, st *status.Status) {
	for _, d := range st.Details() {
		ri, ok := d.(*errdetails.RetryInfo)
		if !ok {
			continue
		}
		d := ri.GetRetryDelay().AsDuration()
		secs := int64(d / time.Second)
		if d%time.Second > 0 {
			secs++
		}
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
		return
	}
}

func incomingHeader(key string) (string, bool) {
	if strings.EqualFold(key, server.RequestIDHeader) {
		return server.RequestIDHeader, true
	}
	return runtime.DefaultHeaderMatcher(key)
}

func outgoingHeader(key string) (string, bool) {
	switch key {
	case server.RequestIDHeader: // frontDoor set it already, and sent it as the call's
		return "", false
	case "content-type": // gRPC's own, meaningless to a REST caller
		return "", false
	}
	return runtime.MetadataHeaderPrefix + key, true
}
