package outbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
)

func TestTelemetrySpanAndHistogram(t *testing.T) {
	calls := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if calls == 1 {
			w.Header().Set("retry-after-ms", "10")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer srv.Close()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()

	o := newTestOutbound(t, srv, func(c *Config) { c.TracerProvider = tp; c.MeterProvider = mp })
	opts := o.ARMClientOptions("tenant-1", "sub-1").ClientOptions
	pl := runtime.NewPipeline("xdrlinktest", "v0.0.1", runtime.PipelineOptions{}, &opts)
	ctx := WithOperation(context.Background(), "sentinel.dataConnectors.get")
	req, err := runtime.NewRequest(ctx, http.MethodGet, srv.URL+"/subscriptions/sub-1/dc?api-version=2025-10-01-preview&sig=SECRETQUERY")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pl.Do(req)
	if err != nil || resp.StatusCode != 404 {
		t.Fatalf("%v %v", resp, err)
	}

	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want one per call", len(ended))
	}
	s := ended[0]
	if s.Name() != "arm sentinel.dataConnectors.get" || s.SpanKind() != trace.SpanKindClient {
		t.Fatalf("span %q kind %v", s.Name(), s.SpanKind())
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		attrs[kv.Key] = kv.Value
		if strings.Contains(kv.Value.Emit(), "SECRETQUERY") || strings.Contains(kv.Value.Emit(), "api-version") {
			t.Fatalf("span attribute %s carries the query string: %s", kv.Key, kv.Value.Emit())
		}
	}
	for k, want := range map[attribute.Key]string{
		AttrAPI: "arm", AttrMethod: "GET", AttrTenant: "tenant-1", AttrSubscription: "sub-1",
		AttrOperation: "sentinel.dataConnectors.get", AttrStatusCode: "404", AttrAttempts: "2",
		AttrErrorType: "404", AttrURLPath: "/subscriptions/sub-1/dc",
	} {
		if got := attrs[k].Emit(); got != want {
			t.Errorf("span %s = %q, want %q", k, got, want)
		}
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			found[m.Name] = true
			switch m.Name {
			case MetricRequestDuration:
				h := m.Data.(metricdata.Histogram[float64])
				if len(h.DataPoints) != 1 || h.DataPoints[0].Count != 1 {
					t.Fatalf("histogram points %+v", h.DataPoints)
				}
				set := h.DataPoints[0].Attributes
				for k, want := range map[attribute.Key]string{AttrAPI: "arm", AttrMethod: "GET", AttrStatusCode: "404", AttrOperation: "sentinel.dataConnectors.get"} {
					if v, ok := set.Value(k); !ok || v.Emit() != want {
						t.Errorf("histogram %s = %q, want %q", k, v.Emit(), want)
					}
				}
				for _, k := range []attribute.Key{AttrURLPath, AttrTenant, AttrSubscription} {
					if _, ok := set.Value(k); ok {
						t.Errorf("%s on a metric: unbounded cardinality", k)
					}
				}
			case MetricWaitDuration:
				// The 429's retry-after-ms (10ms) was waited for before the second try.
				h := m.Data.(metricdata.Histogram[float64])
				if len(h.DataPoints) != 1 || h.DataPoints[0].Count != 1 || h.DataPoints[0].Sum < 0.01 {
					t.Fatalf("wait points %+v", h.DataPoints)
				}
				if v, _ := h.DataPoints[0].Attributes.Value(AttrWait); v.Emit() != WaitRetry {
					t.Errorf("wait reason %q", v.Emit())
				}
			case MetricThrottledResponses:
				sum := m.Data.(metricdata.Sum[int64])
				if len(sum.DataPoints) != 1 || sum.DataPoints[0].Value != 1 {
					t.Fatalf("throttled %+v", sum.DataPoints)
				}
			}
		}
	}
	if !found[MetricRequestDuration] || !found[MetricThrottledResponses] || !found[MetricWaitDuration] {
		t.Fatalf("metrics %v", found)
	}
}

func TestTenantFromAuthorityPath(t *testing.T) {
	for path, want := range map[string]string{
		"/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token":                     "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"/organizations/oauth2/v2.0/devicecode":                                       "organizations",
		"/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0/.well-known/openid-configuration": "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"/72f988bf-86f1-41af-91ab-2d7cd011db47/.well-known/openid-configuration":      "72f988bf-86f1-41af-91ab-2d7cd011db47",
		"/common/discovery/instance":                                                  "",
		"/":                                                                           "",
	} {
		if got := tenantFromAuthorityPath(path); got != want {
			t.Errorf("%q: %q", path, got)
		}
	}
}

// Token requests carry their tenant in the URL only; the span names it, the histogram and the
// 429 counter do not (metric labels never carry a tenant).
// counter all attribute them to it.
func TestTokenRequestTelemetryNamesTenantFromURL(t *testing.T) {
	const tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	srv, _ := throttledOnce(t, "retry-after-ms", "10")
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = tp.Shutdown(context.Background()); _ = mp.Shutdown(context.Background()) }()

	o := newTestOutbound(t, srv, func(c *Config) { c.TracerProvider = tp; c.MeterProvider = mp })
	resp, err := do(t, o.TokenClientOptions(), http.MethodPost, srv.URL+"/"+tenant+"/oauth2/v2.0/token")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%v %v", resp, err)
	}
	ended := spans.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans", len(ended))
	}
	for _, kv := range ended[0].Attributes() {
		if kv.Key == AttrTenant && kv.Value.Emit() != tenant {
			t.Errorf("span tenant %q", kv.Value.Emit())
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			var sets []attribute.Set
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					sets = append(sets, p.Attributes)
				}
			}
			for _, set := range sets {
				seen[m.Name] = true
				if v, ok := set.Value(AttrTenant); ok {
					t.Errorf("%s carries tenant %q: metric labels must stay bounded", m.Name, v.Emit())
				}
				if v, _ := set.Value(AttrAPI); v.Emit() != string(APIEntra) {
					t.Errorf("%s api %q", m.Name, v.Emit())
				}
			}
		}
	}
	if !seen[MetricRequestDuration] || !seen[MetricThrottledResponses] {
		t.Fatalf("metrics %v", seen)
	}
}

// A 429's Retry-After is counted once: as azcore's pause before the retry, not again at the
// scope's gate (which it has already waited out), and never with a tenant label.
func TestWaitRecordedOnce(t *testing.T) {
	srv, _ := throttledOnce(t, "retry-after-ms", "50")
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	o := newTestOutbound(t, srv, func(c *Config) { c.MeterProvider = mp })
	resp, err := do(t, o.ClientOptions(APIGraph, "tenant-1"), http.MethodGet, srv.URL+"/v1.0/subscribedSkus")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%v %v", resp, err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var total float64
	reasons := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != MetricWaitDuration {
				continue
			}
			for _, p := range m.Data.(metricdata.Histogram[float64]).DataPoints {
				v, _ := p.Attributes.Value(AttrWait)
				reasons[v.Emit()] += p.Count
				total += p.Sum
				if _, ok := p.Attributes.Value(AttrTenant); ok {
					t.Error("tenant on the wait metric")
				}
			}
		}
	}
	if reasons[WaitRetry] != 1 || reasons[WaitRetryAfter] != 0 || total < 0.05 {
		t.Fatalf("waits %v totalling %.3fs; want one retry wait of at least 50ms", reasons, total)
	}
}
