package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/grpc-ecosystem/grpc-gateway/v2/utilities"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server"
)

// requestIDHeader is server.RequestIDHeader as an HTTP header name.
const requestIDHeader = "X-Request-Id"

// frontDoor is the outermost handler: it gives every request an id (the
// caller's when sane, which the gateway forwards to the gRPC server as
// metadata, so both sides log the same one) and echoes it on every
// response, refuses invalid UTF-8 in the path and query, and writes one
// access log line per request.
func frontDoor(next http.Handler, log *slog.Logger, trusted []netip.Prefix) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get(requestIDHeader)
		if !server.ValidRequestID(id) {
			id = server.NewRequestID()
		}
		r.Header.Set(requestIDHeader, id)
		w.Header().Set(requestIDHeader, id)
		// The server reads the client from the first X-Forwarded-For hop
		// the gateway forwards (grpc-gateway appends the peer's), for the
		// audit log and rate limits: it must be the client as resolved
		// here, never a value the client made up.
		client := clientAddr(r, trusted)
		r.Header.Set("X-Forwarded-For", client)
		sw := &statusWriter{ResponseWriter: w}
		if field, desc := badPathOrQuery(r); field != "" {
			writeStatus(sw, http.StatusBadRequest, apierr.InvalidArgument(apierr.Violation(field, desc)).GRPCStatus())
		} else {
			next.ServeHTTP(sw, r)
		}
		if log == nil {
			return
		}
		code := sw.code
		if code == 0 {
			code = http.StatusOK
		}
		level := slog.LevelInfo
		switch {
		case code >= 500:
			level = slog.LevelWarn
		case code == http.StatusOK && r.URL.Path == "/healthz":
			level = slog.LevelDebug // probes every few seconds would drown the rest
		}
		attrs := []slog.Attr{
			slog.String("http.method", r.Method),
			slog.String("http.path", r.URL.EscapedPath()),
			slog.Int("http.status", code),
			slog.Duration("latency", time.Since(start)),
			slog.String("client", client),
			slog.String("request_id", id),
		}
		if tid := traceID(r); tid != "" {
			attrs = append(attrs, slog.String("trace_id", tid))
		}
		log.LogAttrs(r.Context(), level, "http request", attrs...)
	})
}

// badPathOrQuery names the part of the request that is not valid UTF-8
// ("path", "query" or a query parameter) or a query that does not parse
// ("query"), and says why; or returns "", "".
func badPathOrQuery(r *http.Request) (field, desc string) {
	const notUTF8 = "not valid UTF-8"
	if !utf8.ValidString(r.URL.Path) {
		return "path", notUTF8
	}
	values, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "query", err.Error()
	}
	for key, vs := range values {
		if !utf8.ValidString(key) {
			return "query", notUTF8
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return key, notUTF8
			}
		}
	}
	return "", ""
}

// clientAddr is the peer's address, or, when the peer is a trusted proxy,
// the nearest untrusted address of X-Forwarded-For.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	if !isTrusted(host) {
		return host
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(h, ",") {
			if hop = strings.TrimSpace(hop); hop != "" {
				hops = append(hops, hop)
			}
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		if _, err := netip.ParseAddr(hops[i]); err != nil {
			return host // a forged or garbled hop: trust nothing beyond the proxy
		}
		if !isTrusted(hops[i]) || i == 0 {
			return hops[i]
		}
	}
	return host
}

// traceparent is a W3C Trace Context header: version-traceid-parentid-flags.
var traceparent = regexp.MustCompile(`^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}`)

// traceID is the request's trace: its span's when tracing is on (a new
// trace when the caller sent none), else the caller's traceparent.
func traceID(r *http.Request) string {
	if sc := trace.SpanContextFromContext(r.Context()); sc.HasTraceID() {
		return sc.TraceID().String()
	}
	if m := traceparent.FindStringSubmatch(r.Header.Get("Traceparent")); m != nil {
		return m[1]
	}
	return ""
}

// statusWriter records the status for the access log. Unwrap lets
// http.ResponseController reach the connection (flushes, deadlines).
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// checkMediaType refuses a body that is not JSON with 415: a browser sends
// text/plain and form posts cross-site without a preflight, so only
// application/json (which needs one) may write. A request without a body
// and without a content type (a body-less POST such as ":cancel") passes.
func checkMediaType(r *http.Request, body []byte) *status.Status {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return nil
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && len(body) == 0 {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && mt == "application/json" {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return (&apierr.Error{
		Code:       codes.InvalidArgument,
		Reason:     xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
		Message:    fmt.Sprintf("unsupported media type %q: request bodies must be application/json", ct),
		Violations: []*errdetails.BadRequest_FieldViolation{apierr.Violation("Content-Type", "must be application/json")},
	}).GRPCStatus()
}

// applyIfMatch moves an If-Match header into the request's etag field: the
// query's etag for DELETE, the body's for PATCH. An etag given both ways
// must agree. "*" (any version) is the same as no precondition.
func applyIfMatch(r *http.Request, body []byte) ([]byte, *status.Status) {
	if r.Method != http.MethodDelete && r.Method != http.MethodPatch {
		return body, nil
	}
	if r.Method == http.MethodDelete && len(bytes.TrimSpace(body)) > 0 {
		// The gateway would ignore it, and with it an etag it holds.
		return body, apierr.InvalidArgument(apierr.Violation("body", `DELETE takes no body: send the etag as If-Match: "<etag>" or ?etag=`)).GRPCStatus()
	}
	raw := strings.TrimSpace(r.Header.Get("If-Match"))
	if raw == "" || raw == "*" {
		return body, nil
	}
	etag := strings.TrimPrefix(raw, "W/")
	if len(etag) < 2 || etag[0] != '"' || etag[len(etag)-1] != '"' || strings.Contains(etag[1:len(etag)-1], `"`) {
		return body, apierr.InvalidArgument(apierr.Violation("If-Match", `must be one quoted etag, e.g. "abc"`)).GRPCStatus()
	}
	etag = etag[1 : len(etag)-1]
	conflict := apierr.InvalidArgument(apierr.Violation("If-Match", "differs from the etag of the request")).GRPCStatus()
	if r.Method == http.MethodDelete {
		q := r.URL.Query()
		if vs, ok := q["etag"]; ok {
			if len(vs) != 1 || vs[0] != etag {
				return body, conflict
			}
			return body, nil
		}
		q.Set("etag", etag)
		r.URL.RawQuery = q.Encode()
		return body, nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		trimmed = []byte("{}")
	}
	var fields map[string]json.RawMessage
	if trimmed[0] != '{' || json.Unmarshal(trimmed, &fields) != nil {
		return body, nil // not an object: the gateway reports it
	}
	if v, ok := fields["etag"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil || s != etag {
			return body, conflict
		}
		return body, nil
	}
	quoted, _ := json.Marshal(etag)
	rest := bytes.TrimSpace(trimmed[1:])
	out := append([]byte(`{"etag":`), quoted...)
	if len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, rest...), nil
}

// strictQueryParser is grpc-gateway's query parser, refusing parameters
// that name no field of the request message (by proto or JSON name, nested
// with dots) instead of ignoring them, naming the parameter in every error,
// and reading a FieldMask's paths in lowerCamelCase too (AIP-161: the JSON
// form of a field mask is camel-cased).
type strictQueryParser struct{ runtime.DefaultQueryParser }

var queryParserOnce sync.Once

// setQueryParser installs strictQueryParser once per process; later muxes
// get a no-op option, so concurrent muxes never race on grpc-gateway's
// package variable.
func setQueryParser() runtime.ServeMuxOption {
	opt := func(*runtime.ServeMux) {}
	queryParserOnce.Do(func() { opt = runtime.SetQueryParameterParser(&strictQueryParser{}) })
	return opt
}

var mapKeyParam = regexp.MustCompile(`^(.*)\[(.*)\]$`)

func (p *strictQueryParser) Parse(msg proto.Message, values url.Values, filter *utilities.DoubleArray) error {
	if st, ok := guardedForms.Load(reflect.ValueOf(values).UnsafePointer()); ok {
		st.(*queryState).parsed.Store(true)
	}
	fixed := make(url.Values, len(values))
	for key, vs := range values {
		fieldKey := key
		if m := mapKeyParam.FindStringSubmatch(key); m != nil {
			fieldKey = m[1]
		}
		fd := lookupField(msg.ProtoReflect().Descriptor(), strings.Split(fieldKey, "."))
		if fd == nil {
			return fmt.Errorf("parsing field %q: unknown query parameter", key)
		}
		if fd.Message() != nil && fd.Message().FullName() == "google.protobuf.FieldMask" {
			vs = camelMaskValues(vs)
		}
		fixed[key] = vs
	}
	for key, vs := range fixed {
		if err := p.DefaultQueryParser.Parse(msg, url.Values{key: vs}, filter); err != nil {
			return fmt.Errorf("parsing field %q: %s", key, queryField.ReplaceAllString(err.Error(), ""))
		}
	}
	// The default parser refuses a field set twice (proto and JSON name):
	// run it once on all of them for that check.
	return p.DefaultQueryParser.Parse(msg.ProtoReflect().New().Interface(), fixed, filter)
}

// lookupField resolves a dotted query parameter to its field, or nil.
func lookupField(md protoreflect.MessageDescriptor, path []string) protoreflect.FieldDescriptor {
	var fd protoreflect.FieldDescriptor
	for i, name := range path {
		if md == nil {
			return nil
		}
		fields := md.Fields()
		if fd = fields.ByTextName(name); fd == nil {
			if fd = fields.ByJSONName(name); fd == nil {
				return nil
			}
		}
		if i < len(path)-1 {
			if fd.Message() == nil || fd.IsList() || fd.IsMap() {
				return nil
			}
			md = fd.Message()
		}
	}
	return fd
}

// camelMaskValues turns lowerCamelCase mask paths into the proto names the
// server takes; a path already in snake_case is kept.
func camelMaskValues(vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		paths := strings.Split(v, ",")
		for j, path := range paths {
			path = strings.TrimSpace(path)
			if !strings.Contains(path, "_") {
				var b strings.Builder
				for _, c := range path {
					if unicode.IsUpper(c) {
						b.WriteByte('_')
						c = unicode.ToLower(c)
					}
					b.WriteRune(c)
				}
				path = b.String()
			}
			paths[j] = path
		}
		out[i] = strings.Join(paths, ",")
	}
	return out
}

// probeKey marks a request that only asks whether a route exists: the
// routeProbe middleware answers it without calling the handler.
type probeKey struct{}

func routeProbe(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if hit, ok := r.Context().Value(probeKey{}).(*bool); ok {
			*hit = true
			return
		}
		next(w, r, params)
	}
}

var probeMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// allowedMethods lists the methods the mux serves r's path with.
func allowedMethods(mux *runtime.ServeMux, r *http.Request) []string {
	var allow []string
	for _, m := range probeMethods {
		hit := false
		pr := r.Clone(context.WithValue(r.Context(), probeKey{}, &hit))
		pr.Method = m
		pr.Body = http.NoBody
		pr.Header.Del("X-HTTP-Method-Override")
		mux.ServeHTTP(discard{}, pr)
		if hit {
			allow = append(allow, m)
		}
	}
	return allow
}

// routingError answers a known path with a wrong method 405 with Allow,
// rather than grpc-gateway's 501, which reads as "not built".
func routingError(ctx context.Context, mux *runtime.ServeMux, m runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	if _, probe := r.Context().Value(probeKey{}).(*bool); probe {
		return
	}
	if httpStatus != http.StatusMethodNotAllowed {
		runtime.DefaultRoutingErrorHandler(ctx, mux, m, w, r, httpStatus)
		return
	}
	allow := allowedMethods(mux, r)
	w.Header().Set("Allow", strings.Join(allow, ", "))
	st := (&apierr.Error{
		Code:     codes.Unimplemented,
		Reason:   xdrlinkv1.ErrorReason_ERROR_REASON_UNKNOWN_METHOD,
		Message:  fmt.Sprintf("method %s not allowed on %s; allowed: %s", r.Method, r.URL.EscapedPath(), strings.Join(allow, ", ")),
		Metadata: map[string]string{"allow": strings.Join(allow, ", ")},
	}).GRPCStatus()
	runtime.DefaultHTTPErrorHandler(ctx, mux, m, w, r, &runtime.HTTPStatusError{HTTPStatus: http.StatusMethodNotAllowed, Err: st.Err()})
}

type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

// A generated handler whose request has no field left for the query (all
// bound to the path, or body "*") never calls the query parser, and would
// ignore any parameter. queryGuard and queryConn close that gap: the guard
// registers the request's parsed form, the parser marks it when it runs,
// and the connection refuses a call whose non-empty query nobody parsed.
type queryState struct {
	form   url.Values
	parsed atomic.Bool
}

type queryStateKey struct{}

// guardedForms maps a request's Form (by map identity: the generated
// handlers pass req.Form to the parser) to its queryState.
var guardedForms sync.Map

func queryGuard(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		if r.URL.RawQuery == "" || r.ParseForm() != nil { // a ParseForm error is the handler's to report
			next(w, r, params)
			return
		}
		st := &queryState{form: r.Form}
		key := reflect.ValueOf(r.Form).UnsafePointer()
		guardedForms.Store(key, st)
		defer guardedForms.Delete(key)
		next(w, r.WithContext(context.WithValue(r.Context(), queryStateKey{}, st)), params)
	}
}

// queryConn is the gateway's connection to the gRPC server.
type queryConn struct{ grpc.ClientConnInterface }

func (c queryConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if err := unparsedQuery(ctx); err != nil {
		return err
	}
	return c.ClientConnInterface.Invoke(ctx, method, args, reply, opts...)
}

func (c queryConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if err := unparsedQuery(ctx); err != nil {
		return nil, err
	}
	return c.ClientConnInterface.NewStream(ctx, desc, method, opts...)
}

func unparsedQuery(ctx context.Context) error {
	st, ok := ctx.Value(queryStateKey{}).(*queryState)
	if !ok || st.parsed.Load() || len(st.form) == 0 {
		return nil
	}
	keys := slices.Sorted(maps.Keys(st.form))
	return status.Errorf(codes.InvalidArgument, "parsing field %q: unknown query parameter (this call takes every field from its path or body)", keys[0])
}
