// Package telemetry sets up xdrlinkd's OpenTelemetry: the tracer provider
// (OTLP export only when the standard OTEL_* environment variables ask for
// it, so nothing leaves the process by default), the W3C trace-context
// propagator, and a meter provider whose only reader is a Prometheus
// registry served at /metrics. It also builds the gRPC and HTTP
// instrumentation with those providers, so the daemon never touches the
// process-wide otel globals (tests run several daemons in one process).
//
// Metric labels must stay bounded: no tenant, operation or request ids, no
// raw paths or unknown method names. Spans may carry a tenant.
package telemetry
