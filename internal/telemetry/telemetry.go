package telemetry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"google.golang.org/grpc/stats"
)

// ServiceName is the default service.name (OTEL_SERVICE_NAME overrides it).
const ServiceName = "xdrlinkd"

// Options configure New.
type Options struct {
	// Metrics builds the Prometheus registry and meter provider; without
	// it metrics are a no-op and MetricsHandler is nil.
	Metrics bool
	// TracerProvider, when set, is used as is and the OTEL_* variables are
	// not read (tests record spans with it).
	TracerProvider trace.TracerProvider
	// Getenv reads the environment (nil: os.Getenv). The OTLP exporters
	// themselves read the process environment for their endpoint, headers,
	// TLS and timeouts.
	Getenv func(string) string
}

// Telemetry holds the providers xdrlinkd instruments itself with.
type Telemetry struct {
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	Propagators    propagation.TextMapPropagator
	// Exporter names the span exporter in use: "none" or "otlp/<protocol>".
	Exporter string

	registry *prometheus.Registry
	shutdown []func(context.Context) error
}

// New builds the providers. Tracing exports over OTLP only when
// OTEL_TRACES_EXPORTER is "otlp", or is unset while an OTLP endpoint
// variable is set; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn
// it off. Without export the tracer provider is a no-op that still carries
// incoming trace context on (W3C traceparent) to the calls it makes.
func New(ctx context.Context, opts Options) (*Telemetry, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	t := &Telemetry{
		Propagators: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		Exporter:    "none",
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(semconv.ServiceName(ServiceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	switch {
	case opts.TracerProvider != nil:
		t.TracerProvider = opts.TracerProvider
	default:
		protocol, err := traceExport(getenv)
		if err != nil {
			return nil, err
		}
		if protocol == "" {
			t.TracerProvider = tracenoop.NewTracerProvider()
			break
		}
		exp, err := newSpanExporter(ctx, protocol)
		if err != nil {
			return nil, err
		}
		// The batcher reads OTEL_BSP_*, the provider OTEL_TRACES_SAMPLER(_ARG).
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
		t.TracerProvider, t.Exporter = tp, "otlp/"+protocol
		t.shutdown = append(t.shutdown, tp.Shutdown)
	}
	if !opts.Metrics {
		t.MeterProvider = metricnoop.NewMeterProvider()
		return t, nil
	}
	// A registry of our own, not Prometheus's global one: several daemons
	// in one test process must not collide.
	t.registry = prometheus.NewRegistry()
	t.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reader, err := otelprom.New(otelprom.WithRegisterer(t.registry))
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	t.MeterProvider = mp
	t.shutdown = append(t.shutdown, mp.Shutdown)
	return t, nil
}

// traceExport is the OTLP protocol to export spans with, or "" for none.
func traceExport(getenv func(string) string) (string, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return "", nil
	}
	switch exporter := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exporter {
	case "none":
		return "", nil
	case "":
		// Unset: the spec's default is otlp, but a daemon that sends to
		// localhost:4317 just because nobody configured it would surprise;
		// an endpoint is the sign someone wants export.
		if getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
			return "", nil
		}
	case "otlp":
	default:
		return "", fmt.Errorf("telemetry: OTEL_TRACES_EXPORTER=%q: only otlp and none are supported", exporter)
	}
	protocol := getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
	if protocol == "" {
		protocol = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	switch protocol = strings.TrimSpace(protocol); protocol {
	case "":
		return "http/protobuf", nil // the spec's default
	case "grpc", "http/protobuf":
		return protocol, nil
	default:
		return "", fmt.Errorf("telemetry: OTLP protocol %q: grpc or http/protobuf", protocol)
	}
}

func newSpanExporter(ctx context.Context, protocol string) (sdktrace.SpanExporter, error) {
	var (
		exp sdktrace.SpanExporter
		err error
	)
	// Both read OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, _HEADERS, _TIMEOUT,
	// _COMPRESSION, _CERTIFICATE and _INSECURE themselves.
	if protocol == "grpc" {
		exp, err = otlptracegrpc.New(ctx)
	} else {
		exp, err = otlptracehttp.New(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP %s exporter: %w", protocol, err)
	}
	return exp, nil
}

// MetricsHandler serves the registry in the Prometheus text format; nil
// when metrics are off.
func (t *Telemetry) MetricsHandler() http.Handler {
	if t.registry == nil {
		return nil
	}
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// Shutdown flushes pending spans and stops the providers.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	var errs []error
	for _, f := range t.shutdown {
		errs = append(errs, f(ctx))
	}
	t.shutdown = nil
	return errors.Join(errs...)
}

// GRPCServerHandler is the gRPC server's stats handler: a server span per
// call (continuing the caller's traceparent) and rpc.server.call.duration
// by method and code. known says whether a full method name is registered:
// calls to other names (any string a client sends) are neither traced nor
// measured, so they cannot grow the metrics without bound.
func (t *Telemetry) GRPCServerHandler(known func(fullMethod string) bool) stats.Handler {
	return otelgrpc.NewServerHandler(
		otelgrpc.WithTracerProvider(t.TracerProvider),
		otelgrpc.WithMeterProvider(t.MeterProvider),
		otelgrpc.WithPropagators(t.Propagators),
		otelgrpc.WithFilter(func(info *stats.RPCTagInfo) bool { return known(info.FullMethodName) }),
	)
}

// GRPCClientHandler is the REST gateway's in-process connection's stats
// handler: it puts the HTTP request's trace context in the call's
// metadata. It records no metrics; the server side does.
func (t *Telemetry) GRPCClientHandler() stats.Handler {
	return otelgrpc.NewClientHandler(
		otelgrpc.WithTracerProvider(t.TracerProvider),
		otelgrpc.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelgrpc.WithPropagators(t.Propagators),
	)
}

// HTTPHandler wraps the REST front door: a server span per request (named
// by its route once the gateway has matched one, see RouteSpan) and
// http.server.request.duration by method, route and status. server names
// the listener on the metrics (the Host header would be unbounded).
func (t *Telemetry) HTTPHandler(h http.Handler, server string) http.Handler {
	return otelhttp.NewHandler(h, "http",
		otelhttp.WithTracerProvider(t.TracerProvider),
		otelhttp.WithMeterProvider(t.MeterProvider),
		otelhttp.WithPropagators(t.Propagators),
		otelhttp.WithServerName(server),
		// Until a route matches, the method alone: the raw path is unbounded.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// RouteSpan names the request's span "METHOD route" and labels its
// metrics with the route (a pattern such as /v1/{name=tenants/*}:onboard,
// never the path), once a router has matched one.
func RouteSpan(r *http.Request, route string) {
	ctx := r.Context()
	trace.SpanFromContext(ctx).SetName(r.Method + " " + route)
	trace.SpanFromContext(ctx).SetAttributes(semconv.HTTPRoute(route))
	if l, ok := otelhttp.LabelerFromContext(ctx); ok {
		l.Add(semconv.HTTPRoute(route))
	}
}
