package outbound

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/azerr"
)

// API names the Azure API family of a call; it is the "azure.api" attribute.
type API string

const (
	APIResourceManager   API = "arm"
	APIGraph             API = "graph"
	APIDefenderStreaming API = "defender_streaming"
	APILogAnalytics      API = "log_analytics"
	APIEntra             API = "entra"
)

// Attribute keys. Nothing here ever carries a header, a body or a query string: those are
// where tokens and secrets travel.
const (
	AttrAPI          = attribute.Key("azure.api")
	AttrTenant       = attribute.Key("azure.tenant_id")
	AttrSubscription = attribute.Key("azure.subscription_id")
	AttrOperation    = attribute.Key("azure.operation")
	AttrAttempts     = attribute.Key("azure.attempts")
	AttrMethod       = attribute.Key("http.request.method")
	AttrStatusCode   = attribute.Key("http.response.status_code")
	AttrErrorType    = attribute.Key("error.type")
	AttrServer       = attribute.Key("server.address")
	AttrURLPath      = attribute.Key("url.path")
)

// AttrWait says what a throttling wait waited for (a metric label): WaitRetryAfter, WaitARMBucket
// or WaitRetry.
const AttrWait = attribute.Key("xdrlink.azure.wait")

// Wait reasons.
const (
	// WaitRetryAfter: the scope's Retry-After gate, closed by a 429 of any call of the scope.
	WaitRetryAfter = "retry_after"
	// WaitARMBucket: a token of ARM's (tenant, subscription) bucket, kept by the limiter.
	WaitARMBucket = "arm_bucket"
	// WaitRetry: azcore's pause before a retry (the response's Retry-After, or its backoff).
	WaitRetry = "retry"
)

// Metric names. Their labels never carry a tenant, subscription or path: those are unbounded
// (and a tenant id is the customer's); spans carry them.
const (
	MetricRequestDuration    = "xdrlink.azure.client.request.duration"
	MetricThrottledResponses = "xdrlink.azure.client.throttled_responses"
	MetricWaitDuration       = "xdrlink.azure.client.wait.duration"
)

// minWait is the shortest pause recorded as a wait: an open gate or a full bucket answers in
// microseconds, and counting those would make the histogram's count the number of tries.
const minWait = time.Millisecond

const instrumentationName = "github.com/xdrlink/xdrlink/azure/outbound"

type operationKey struct{}

// WithOperation names the logical operation of the calls made with ctx (for example
// "sentinel.dataConnectors.put"); it becomes the span name and the azure.operation attribute.
// Keep names low-cardinality: no resource names.
func WithOperation(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, operationKey{}, name)
}

func operationFrom(ctx context.Context) string {
	s, _ := ctx.Value(operationKey{}).(string)
	return s
}

type instruments struct {
	tracer    trace.Tracer
	duration  metric.Float64Histogram
	throttled metric.Int64Counter
	wait      metric.Float64Histogram
}

// recordWait records a pause of a call to api, if it was one.
func (ins *instruments) recordWait(ctx context.Context, api API, reason string, d time.Duration) {
	if d < minWait {
		return
	}
	ins.wait.Record(ctx, d.Seconds(), metric.WithAttributes(AttrAPI.String(string(api)), AttrWait.String(reason)))
}

func newInstruments(tp trace.TracerProvider, mp metric.MeterProvider) (*instruments, error) {
	meter := mp.Meter(instrumentationName)
	duration, err := meter.Float64Histogram(MetricRequestDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of calls to Azure APIs, retries included."),
		metric.WithExplicitBucketBoundaries(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
	if err != nil {
		return nil, err
	}
	throttled, err := meter.Int64Counter(MetricThrottledResponses,
		metric.WithDescription("HTTP 429 responses received from Azure APIs, per try."))
	if err != nil {
		return nil, err
	}
	wait, err := meter.Float64Histogram(MetricWaitDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Pauses of Azure calls for throttling: Retry-After gates, ARM token buckets, and retries."),
		metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300))
	if err != nil {
		return nil, err
	}
	return &instruments{tracer: tp.Tracer(instrumentationName), duration: duration, throttled: throttled, wait: wait}, nil
}

// callInfo is what the per-call telemetryPolicy settles once and the per-try policies read,
// through azcore's per-operation values: the tenant the call is for and its tries.
type callInfo struct {
	tenant string
	tries  atomic.Int32
	// tryEnd is when the last try ended (UnixNano), to time the pause before the next.
	tryEnd atomic.Int64
}

// tenantOf is the tenant a request of api is for: the client's, or for token requests
// (which have no client tenant) the one in the authority path.
func tenantOf(api API, clientTenant string, req *http.Request) string {
	if clientTenant == "" && api == APIEntra {
		return tenantFromAuthorityPath(req.URL.Path)
	}
	return clientTenant
}

// callTenant is the tenant telemetryPolicy settled for the call, or tenantOf when the
// request did not pass it.
func callTenant(req *policy.Request, api API, clientTenant string) (string, *callInfo) {
	var c *callInfo
	if req.OperationValue(&c) {
		return c.tenant, c
	}
	return tenantOf(api, clientTenant, req.Raw()), nil
}

// telemetryPolicy runs once per call: one client span and one histogram sample covering all
// retries, with the final status.
type telemetryPolicy struct {
	ins          *instruments
	api          API
	tenant       string
	subscription string
}

func (p telemetryPolicy) Do(req *policy.Request) (*http.Response, error) {
	raw := req.Raw()
	tenant := tenantOf(p.api, p.tenant, raw)
	op := operationFrom(raw.Context())
	// common are the span's and the metric's attributes, all bounded; the tenant is the span's.
	common := []attribute.KeyValue{
		AttrAPI.String(string(p.api)),
		AttrMethod.String(raw.Method),
	}
	if op != "" {
		common = append(common, AttrOperation.String(op))
	}
	spanName := string(p.api) + " " + raw.Method
	if op != "" {
		spanName = string(p.api) + " " + op
	}
	spanAttrs := append([]attribute.KeyValue{
		AttrTenant.String(tenant),
		AttrServer.String(raw.URL.Hostname()),
		AttrURLPath.String(raw.URL.Path), // the path only: never the query
	}, common...)
	if p.subscription != "" {
		spanAttrs = append(spanAttrs, AttrSubscription.String(p.subscription))
	}
	ctx, span := p.ins.tracer.Start(raw.Context(), spanName,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(spanAttrs...))
	defer span.End()

	call := &callInfo{tenant: tenant}
	req.SetOperationValue(call)
	start := time.Now()
	resp, err := req.WithContext(ctx).Next()
	elapsed := time.Since(start)

	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	attrs := append(common, AttrStatusCode.Int(status))
	switch {
	case err != nil:
		kind := azerr.Classify(err)
		attrs = append(attrs, AttrErrorType.String(string(kind)))
		span.SetStatus(codes.Error, string(kind))
	case status >= 400:
		attrs = append(attrs, AttrErrorType.String(strconv.Itoa(status)))
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.SetAttributes(AttrStatusCode.Int(status), AttrAttempts.Int(int(call.tries.Load())))
	if err != nil || status >= 400 {
		span.SetAttributes(attrs[len(attrs)-1])
	}
	p.ins.duration.Record(ctx, elapsed.Seconds(), metric.WithAttributes(attrs...))
	return resp, err
}

// tryPolicy runs once per try: counts tries and 429s, and notes when the try ended (scopePolicy
// times the pause before the next from it).
type tryPolicy struct {
	ins *instruments
	api API
}

func (p tryPolicy) Do(req *policy.Request) (*http.Response, error) {
	ctx := req.Raw().Context()
	var call *callInfo
	if req.OperationValue(&call) {
		call.tries.Add(1)
	}
	resp, err := req.Next()
	if call != nil {
		call.tryEnd.Store(time.Now().UnixNano())
	}
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		p.ins.throttled.Add(ctx, 1, metric.WithAttributes(AttrAPI.String(string(p.api))))
	}
	return resp, err
}

// tenantFromAuthorityPath reads the tenant of a token request ("/{tenant}/oauth2/v2.0/token")
// or of its authority's metadata ("/{tenant}/v2.0/.well-known/openid-configuration", which
// every new credential reads first). Without it, the metadata requests of all tenants would
// share one throttling scope and so go one at a time, process-wide.
func tenantFromAuthorityPath(path string) string {
	first, rest, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if strings.HasPrefix(rest, "oauth2/") || strings.HasPrefix(strings.TrimPrefix(rest, "v2.0/"), ".well-known/") {
		return first
	}
	return ""
}
