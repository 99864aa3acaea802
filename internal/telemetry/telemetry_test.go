package telemetry

import (
	"context"
	"strings"
	"testing"

	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// Export is off unless the environment asks for it: the spec's default
// exporter is otlp, but without an endpoint xdrlinkd sends nothing.
func TestTraceExportFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string // protocol, "" for none, "error"
	}{
		{"nothing set", nil, ""},
		{"endpoint", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, "http/protobuf"},
		{"traces endpoint", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, "http/protobuf"},
		{"otlp without endpoint", map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, "http/protobuf"},
		{"grpc", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "grpc"},
		{"traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "x", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, "http/protobuf"},
		{"none", map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"}, ""},
		{"sdk disabled", map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, ""},
		{"unsupported exporter", map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "error"},
		{"unsupported protocol", map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := traceExport(env(tc.env))
			if tc.want == "error" {
				if err == nil {
					t.Fatalf("got %q, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// The default: no exporter, no metrics handler, and a tracer that still
// carries a caller's trace context.
func TestDefaultsExportNothing(t *testing.T) {
	tel, err := New(context.Background(), Options{Getenv: env(nil)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tel.Shutdown(context.Background()) }()
	if _, ok := tel.TracerProvider.(tracenoop.TracerProvider); !ok || tel.Exporter != "none" {
		t.Fatalf("tracer provider %T, exporter %s; want a no-op", tel.TracerProvider, tel.Exporter)
	}
	if tel.MetricsHandler() != nil {
		t.Fatal("metrics handler without Metrics")
	}
	if fields := strings.Join(tel.Propagators.Fields(), ","); !strings.Contains(fields, "traceparent") {
		t.Fatalf("propagates %s; want W3C trace context", fields)
	}
}

// An OTLP endpoint builds the exporter without connecting: export happens
// in the background, and New must not block on a collector.
func TestOTLPExporterBuilds(t *testing.T) {
	for _, protocol := range []string{"grpc", "http/protobuf"} {
		t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
		tel, err := New(context.Background(), Options{Getenv: env(map[string]string{
			"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1", "OTEL_EXPORTER_OTLP_PROTOCOL": protocol})})
		if err != nil {
			t.Fatal(err)
		}
		if tel.Exporter != "otlp/"+protocol {
			t.Fatalf("exporter %s", tel.Exporter)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // nothing was recorded; do not wait for the unreachable collector
		_ = tel.Shutdown(ctx)
	}
}
