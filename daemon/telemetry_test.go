package daemon

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/engine"
)

// TestOnboardingTelemetry onboards a sandbox customer through the real
// daemon, sign-in approval included, with spans recorded and /metrics on.
// One onboarding is one trace: the gRPC call that started it, the River
// job runs (before and after the sign-in) and their Azure calls share its
// trace id. A REST call's trace reaches the gRPC server through the
// in-process gateway connection. The scrape holds every family the
// operations guide lists, and no label names a tenant or an operation.
func TestOnboardingTelemetry(t *testing.T) {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	d := startSandbox(t, func(c *Config) { c.TracerProvider = tp; c.MetricsAddr = "127.0.0.1:0" })
	ctx := context.Background()
	c := customer(t, d, azuresim.DemoHealthy)
	api := grpcOps{dial(t, d)}

	// Throttle ARM until the first 429, so the wait and 429 series exist:
	// the retry after it (Retry-After: 1s) finds the faults gone.
	sim := d.azure.sandbox
	if err := sim.SetFaults(azuresim.FaultConfig{ThrottleRate: 1, Families: []string{azuresim.FamilyARM}}); err != nil {
		t.Fatal(err)
	}
	op, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "an injected 429", func() bool {
		for _, rc := range sim.RequestCounts() {
			if rc.Status == http.StatusTooManyRequests {
				return true
			}
		}
		return false
	})
	if err := sim.SetFaults(azuresim.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	_, md := waitState(t, api, op.GetName(), opActionRequired)
	approve(t, d, md)
	waitState(t, api, op.GetName(), opSucceeded)
	opID := strings.TrimPrefix(op.GetName(), "operations/")

	// Names a caller makes up never become label values (checked below;
	// sent first, so that they are recorded when the spans below have ended).
	const madeUp = "madeup7f3a"
	if err := dial(t, d).Conn().Invoke(ctx, "/"+madeUp+".Svc/"+madeUp, &emptypb.Empty{}, &emptypb.Empty{}); status.Code(err) != codes.Unimplemented {
		t.Fatalf("unknown method: %v", err)
	}
	if resp, err := http.Get("http://" + d.HTTPAddr() + "/v1/" + madeUp + "/x"); err != nil {
		t.Fatal(err)
	} else {
		_ = resp.Body.Close()
	}

	// The REST front door continues the caller's trace into gRPC.
	const restTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.HTTPAddr()+"/v1/tenants/"+c.ID, nil)
	req.Header.Set("Traceparent", "00-"+restTrace+"-00f067aa0ba902b7-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET tenant: %d", resp.StatusCode)
	}

	var onboard sdktrace.ReadOnlySpan
	var jobRuns, azureCalls, inserts int
	apis := map[string]bool{}
	waitFor(t, "the onboarding's spans", func() bool {
		onboard, jobRuns, azureCalls, inserts, apis = nil, 0, 0, 0, map[string]bool{}
		ended := spans.Ended()
		for _, s := range ended {
			if s.Name() == "xdrlink.v1.OnboardingService/Onboard" && s.SpanKind() == trace.SpanKindServer {
				onboard = s
			}
		}
		if onboard == nil {
			return false
		}
		tid := onboard.SpanContext().TraceID()
		for _, s := range ended {
			attrs := attrMap(s.Attributes())
			switch {
			case strings.HasPrefix(s.Name(), "river.work/xdrlink.operation") && attrs[engine.AttrOperationID] == opID:
				if s.SpanContext().TraceID() != tid {
					t.Fatalf("job run %s in trace %s, the Onboard call in %s", s.Name(), s.SpanContext().TraceID(), tid)
				}
				if attrs[engine.AttrTenant] != c.ID {
					t.Errorf("job run's tenant %q", attrs[engine.AttrTenant])
				}
				jobRuns++
			case s.Name() == "river.insert_many" && s.SpanContext().TraceID() == tid:
				inserts++
			case attrs[outbound.AttrAPI] != "" && s.SpanContext().TraceID() == tid:
				azureCalls++
				apis[attrs[outbound.AttrAPI]] = true
			}
		}
		// Runs before and after the sign-in; ARM and the streaming API.
		return jobRuns >= 2 && inserts >= 1 && apis[string(outbound.APIResourceManager)] && apis[string(outbound.APIDefenderStreaming)]
	})
	t.Logf("trace %s: %d job runs, %d Azure calls (%v)", onboard.SpanContext().TraceID(), jobRuns, azureCalls, apis)

	// The HTTP span ends after the response is sent: wait for it.
	waitFor(t, "the REST call's HTTP and gRPC server spans in the caller's trace", func() bool {
		var httpSpan, grpcSpan bool
		for _, s := range spans.Ended() {
			if s.SpanContext().TraceID().String() != restTrace || s.SpanKind() != trace.SpanKindServer {
				continue
			}
			httpSpan = httpSpan || s.Name() == "GET /v1/{name=tenants/*}"
			grpcSpan = grpcSpan || s.Name() == "xdrlink.v1.TenantService/GetTenant"
		}
		return httpSpan && grpcSpan
	})

	families := scrape(t, d)
	for _, name := range []string{
		"rpc_server_call_duration_seconds",
		"http_server_request_duration_seconds",
		"xdrlink_operations_transitions_total",
		"xdrlink_workflow_step_duration_seconds",
		"xdrlink_azure_client_request_duration_seconds",
		"xdrlink_azure_client_throttled_responses_total",
		"xdrlink_azure_client_wait_duration_seconds",
		"xdrlink_river_jobs",
		"river_work_count_total",
	} {
		if families[name] == nil {
			var have []string
			for n := range families {
				have = append(have, n)
			}
			t.Fatalf("no family %s in /metrics; have %v", name, have)
		}
	}
	if !hasSeries(families["xdrlink_operations_transitions_total"], map[string]string{"xdrlink_operation_kind": "ONBOARD", "xdrlink_operation_state": "SUCCEEDED"}) ||
		!hasSeries(families["xdrlink_workflow_step_duration_seconds"], map[string]string{"xdrlink_step_kind": "CONNECT_EVENTS", "xdrlink_step_outcome": "action_required"}) ||
		!hasSeries(families["rpc_server_call_duration_seconds"], map[string]string{"rpc_method": "xdrlink.v1.OnboardingService/Onboard", "rpc_response_status_code": "OK"}) ||
		!hasSeries(families["http_server_request_duration_seconds"], map[string]string{"http_route": "/v1/{name=tenants/*}", "http_response_status_code": "200"}) ||
		!hasSeries(families["xdrlink_river_jobs"], map[string]string{"river_queue": "default", "river_job_state": "available"}) {
		t.Errorf("expected series missing")
	}

	ids := []string{c.ID, c.EntraTenantID, c.SubscriptionID, opID, op.GetName(), madeUp}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				for _, id := range ids {
					if id != "" && strings.Contains(l.GetValue(), id) {
						t.Errorf("%s{%s=%q} carries the id %q", name, l.GetName(), l.GetValue(), id)
					}
				}
			}
		}
	}
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

// waitFor polls cond for up to 20 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape reads /metrics over HTTP with the Prometheus text parser.
func scrape(t *testing.T, d *Daemon) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + d.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return families
}

// hasSeries says whether f has a series with these label values.
func hasSeries(f *dto.MetricFamily, want map[string]string) bool {
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		ok := true
		for k, v := range want {
			ok = ok && got[k] == v
		}
		if ok {
			return true
		}
	}
	return false
}
