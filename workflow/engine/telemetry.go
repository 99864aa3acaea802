package engine

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Metric names (OpenTelemetry; Prometheus shows them with dots as
// underscores and a unit or _total suffix). Labels are enum names only.
const (
	// MetricOperationTransitions counts operations entering a state, by
	// kind and state (PENDING when created, then what the workflow records).
	MetricOperationTransitions = "xdrlink.operations.transitions"
	// MetricStepDuration is one run of one step (its Azure calls and
	// retries within the step), by step kind and outcome.
	MetricStepDuration = "xdrlink.workflow.step.duration"
	// MetricQueueJobs is River's available and running jobs per queue,
	// sampled when the metrics are read.
	MetricQueueJobs = "xdrlink.river.jobs"
)

// Attribute keys. The tenant and operation ids go on spans only.
const (
	AttrOperationKind  = attribute.Key("xdrlink.operation.kind")
	AttrOperationState = attribute.Key("xdrlink.operation.state")
	AttrStepKind       = attribute.Key("xdrlink.step.kind")
	AttrStepOutcome    = attribute.Key("xdrlink.step.outcome")
	AttrQueue          = attribute.Key("river.queue")
	AttrJobState       = attribute.Key("river.job.state")
	AttrOperationID    = attribute.Key("xdrlink.operation.id")
	AttrTenant         = attribute.Key("xdrlink.tenant")
)

// Step outcomes.
const (
	outcomeSucceeded      = "succeeded"
	outcomeSkipped        = "skipped"
	outcomeRetry          = "retry"  // failed transiently; tried again later
	outcomeFailed         = "failed" // failed the operation
	outcomeActionRequired = "action_required"
	outcomeInterrupted    = "interrupted" // the job stopped (shutdown)
)

const instrumentationName = "github.com/xdrlink/xdrlink/workflow/engine"

// queueSampleEvery bounds how often the queue depth is counted in the
// database, however often the metrics are read.
const queueSampleEvery = 5 * time.Second

type instruments struct {
	transitions metric.Int64Counter
	steps       metric.Float64Histogram
}

func newInstruments(mp metric.MeterProvider) (*instruments, error) {
	meter := mp.Meter(instrumentationName)
	transitions, err := meter.Int64Counter(MetricOperationTransitions,
		metric.WithDescription("Operations entering a state, by kind and state."))
	if err != nil {
		return nil, err
	}
	steps, err := meter.Float64Histogram(MetricStepDuration,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of one run of a workflow step, by step kind and outcome."),
		metric.WithExplicitBucketBoundaries(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 180, 600))
	if err != nil {
		return nil, err
	}
	return &instruments{transitions: transitions, steps: steps}, nil
}

// enumName is an enum value without its type prefix ("ONBOARD" for
// OPERATION_KIND_ONBOARD).
func enumName(s, prefix string) string { return strings.TrimPrefix(s, prefix) }

func (ins *instruments) transition(ctx context.Context, kind xdrlinkv1.OperationKind, state xdrlinkv1.OperationState, n int64) {
	ins.transitions.Add(ctx, n, metric.WithAttributes(
		AttrOperationKind.String(enumName(kind.String(), "OPERATION_KIND_")),
		AttrOperationState.String(enumName(state.String(), "OPERATION_STATE_"))))
}

func (ins *instruments) step(ctx context.Context, kind xdrlinkv1.StepKind, outcome string, d time.Duration) {
	ins.steps.Record(ctx, d.Seconds(), metric.WithAttributes(
		AttrStepKind.String(enumName(kind.String(), "STEP_KIND_")),
		AttrStepOutcome.String(outcome)))
}

// queueDepther is what the store's River client can count (store/internal/jobs).
type queueDepther interface {
	QueueDepth(ctx context.Context, queues []string) (available, running map[string]int64, err error)
}

// queueGauge samples River's queue depth for MetricQueueJobs.
type queueGauge struct {
	counter queueDepther
	queues  []string
	working *atomic.Bool // only while the engine works: the store may be closed after

	mu                 sync.Mutex
	at                 time.Time
	available, running map[string]int64
}

func (g *queueGauge) observe(ctx context.Context, o metric.Int64Observer) error {
	if !g.working.Load() {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if time.Since(g.at) >= queueSampleEvery {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		available, running, err := g.counter.QueueDepth(cctx, g.queues)
		cancel()
		if err != nil {
			return err
		}
		g.at, g.available, g.running = time.Now(), available, running
	}
	for _, q := range g.queues {
		o.Observe(g.available[q], metric.WithAttributes(AttrQueue.String(q), AttrJobState.String("available")))
		o.Observe(g.running[q], metric.WithAttributes(AttrQueue.String(q), AttrJobState.String("running")))
	}
	return nil
}

// riverMiddleware instruments River: otelriver's producer span on insert
// (which writes the W3C traceparent into the job's metadata) and consumer
// span per run with its metrics, preceded by continueTrace so that run is
// a child of the trace that enqueued it, not a new trace with a link.
func riverMiddleware(tp trace.TracerProvider, mp metric.MeterProvider) []rivertype.Middleware {
	return []rivertype.Middleware{
		&continueTrace{},
		otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			TracerProvider:              tp,
			MeterProvider:               mp,
			EnableTracePropagation:      true,
			EnableWorkSpanJobKindSuffix: true,
		}),
	}
}

// continueTrace makes a job's run continue the trace of the request that
// inserted the job (one onboarding is one trace, across its snoozes and
// sign-in waits), from the traceparent otelriver put in the metadata.
type continueTrace struct{ river.MiddlewareDefaults }

func (*continueTrace) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	var md struct {
		Traceparent string `json:"traceparent"`
		Tracestate  string `json:"tracestate"`
	}
	if len(job.Metadata) > 0 && json.Unmarshal(job.Metadata, &md) == nil && md.Traceparent != "" {
		ctx = propagation.TraceContext{}.Extract(ctx, propagation.MapCarrier{"traceparent": md.Traceparent, "tracestate": md.Tracestate})
	}
	return doInner(ctx)
}

// annotate puts the operation on the job run's span (traces may name the
// tenant; metrics never do).
func annotate(ctx context.Context, r *run) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(
		AttrOperationID.String(r.op.Row.ID),
		AttrOperationKind.String(enumName(r.op.Metadata.GetKind().String(), "OPERATION_KIND_")),
		AttrTenant.String(r.tenantID),
	)
}

// providers are cfg's, or the otel globals.
func (c *Config) providers() (trace.TracerProvider, metric.MeterProvider) {
	tp, mp := c.TracerProvider, c.MeterProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	return tp, mp
}
