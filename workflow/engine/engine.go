package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/internal/sealbox"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/steps"
)

// Config configures an Engine.
type Config struct {
	Store store.Store
	// Access is how the steps reach Azure; the engine sets its Checkpoint.
	Access steps.Access
	// SignIn runs the delegated sign-in (device code, refresh, on-behalf-of).
	SignIn *credential.Provider
	// Box seals the sign-in's secrets at rest.
	Box *sealbox.Box
	// DefaultProfile is the credential profile of tenants that name none.
	DefaultProfile string
	Logger         *slog.Logger
	// Workers is how many operations advance at once in this process.
	Workers int
	// StepTimeout bounds one step, Azure retries included: the step's calls
	// stop retrying when it ends, and the step is tried again later. Default 3m.
	StepTimeout time.Duration
	// MaxAttempts bounds how often a step is tried after transient errors
	// before it fails. Default 8.
	MaxAttempts int
	// RetryBackoff is the first wait after a transient error without a
	// Retry-After; it doubles per attempt up to 5 minutes. Default 5s.
	RetryBackoff time.Duration
	// BatchConcurrency is a batch's max_concurrency when its request leaves
	// it 0. Default 100.
	BatchConcurrency int
	// FetchPollInterval is how often an idle worker looks for jobs (River's
	// setting; its default when zero).
	FetchPollInterval time.Duration
	// VerificationsKept is how many reports the store keeps per tenant,
	// newest first; older ones are deleted as new ones arrive. Default 100.
	VerificationsKept int
	// VerifyInterval is how often every connected tenant (ONBOARDED or
	// DEGRADED) is verified in one batch; 0 turns that off.
	VerifyInterval time.Duration
	// TracerProvider and MeterProvider instrument River and the workflow
	// (nil: the otel globals).
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Workers <= 0 {
		c.Workers = 32
	}
	if c.StepTimeout <= 0 {
		c.StepTimeout = 3 * time.Minute
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.BatchConcurrency <= 0 {
		c.BatchConcurrency = 100
	}
	if c.RetryBackoff <= 0 {
		c.RetryBackoff = 5 * time.Second
	}
	if c.VerificationsKept <= 0 {
		c.VerificationsKept = 100
	}
}

// jobMargin is how long a job may run past its step's timeout (to record
// the outcome), and how long quick steps may chain in one job run: 30s, or
// the step timeout when that is shorter (at least 5s), so that a short
// --step-timeout also shortens how long a job left running by a killed
// process waits to be rescued.
func (c *Config) jobMargin() time.Duration {
	return min(30*time.Second, max(c.StepTimeout, 5*time.Second))
}

// jobTimeout bounds one run of an operation's job: a step and the margin.
func (c *Config) jobTimeout() time.Duration { return c.StepTimeout + c.jobMargin() }

// Engine starts operations and advances them.
type Engine struct {
	cfg    Config
	st     store.Store
	runner *steps.Runner
	jobs   store.Jobs
	log    *slog.Logger
	ins    *instruments
	// working is true between Start and Stop: the queue gauge reads the
	// database only then.
	working atomic.Bool
}

// New builds the engine and its River client on the store's database. It
// does not work jobs until Start.
func New(cfg Config) (*Engine, error) {
	cfg.defaults()
	if cfg.Store == nil || cfg.SignIn == nil || cfg.Box == nil {
		return nil, errors.New("engine: Store, SignIn and Box are required")
	}
	e := &Engine{cfg: cfg, st: cfg.Store, log: cfg.Logger}
	tp, mp := cfg.providers()
	var err error
	if e.ins, err = newInstruments(mp); err != nil {
		return nil, err
	}
	access := cfg.Access
	access.Checkpoint = e.checkpoint
	e.runner = steps.NewRunner(access)

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, &operationWorker{e: e}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &batchWorker{e: e}); err != nil {
		return nil, err
	}
	if err := river.AddWorkerSafely(workers, &fleetWorker{e: e}); err != nil {
		return nil, err
	}
	var periodic []*river.PeriodicJob
	if job := cfg.verifyFleetJob(); job != nil {
		periodic = append(periodic, job)
	}
	jobTimeout := cfg.jobTimeout()
	jobs, err := cfg.Store.OpenJobs(&river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}},
		Workers:           workers,
		JobTimeout:        jobTimeout,
		FetchPollInterval: cfg.FetchPollInterval,
		FetchCooldown:     min(cfg.FetchPollInterval, 100*time.Millisecond), // River's default, or shorter with a short poll
		// A process killed mid-job leaves its job "running"; River hands it
		// to another worker once it has been running this long. Jobs never
		// run longer (JobTimeout), so this never steals a live one.
		RescueStuckJobsAfter: jobTimeout + cfg.jobMargin(),
		Logger:               cfg.Logger.With("component", "river"),
		ErrorHandler:         jobErrors{e},
		RetryPolicy:          retryPolicy{},
		PeriodicJobs:         periodic,
		Middleware:           riverMiddleware(tp, mp),
	})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e.jobs = jobs
	if counter, ok := jobs.(queueDepther); ok {
		g := &queueGauge{counter: counter, queues: []string{river.QueueDefault}, working: &e.working}
		if _, err := mp.Meter(instrumentationName).Int64ObservableGauge(MetricQueueJobs,
			metric.WithDescription("River jobs available (due, waiting for a worker) and running, per queue; sampled."),
			metric.WithInt64Callback(g.observe)); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Start works jobs until Stop.
func (e *Engine) Start(ctx context.Context) error {
	if err := e.jobs.Start(ctx); err != nil {
		return err
	}
	e.working.Store(true)
	return nil
}

// Stop lets running steps finish until ctx ends, then cancels the rest:
// a cancelled step hands its job back (available at once), so the next
// start, here or on another replica, picks it up without waiting for
// River's rescue of stuck jobs.
func (e *Engine) Stop(ctx context.Context) error {
	e.working.Store(false)
	err := e.jobs.Stop(ctx)
	if err == nil || ctx.Err() == nil {
		return err
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return e.jobs.StopAndCancel(cctx)
}
