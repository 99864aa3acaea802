package outbound

import (
	"errors"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/cloud"
)

// Config configures the process-wide outbound state. Zero values take the defaults.
type Config struct {
	// Cloud is required: ARM client options carry its azcore configuration.
	Cloud cloud.Endpoints
	// Transport sends the HTTP requests (for the emulator: an *http.Client trusting its CA).
	Transport policy.Transporter
	// Retry is azcore's retry policy; the zero value means DefaultRetryOptions.
	Retry policy.RetryOptions
	// ARMLimits are ARM's token buckets per (tenant, subscription), as the service documents
	// them; zero means DefaultARMLimits. The limiter runs ARMHeadroom below them.
	ARMLimits ARMLimits
	// MaxConcurrent bounds requests in flight process-wide; 0 means DefaultMaxConcurrent,
	// negative means unlimited.
	MaxConcurrent int
	// MaxConcurrentPerTenant bounds requests in flight per customer tenant; 0 = unlimited.
	MaxConcurrentPerTenant int
	// MaxConcurrentPerScope bounds requests in flight per throttling scope (tenant + API,
	// and the subscription for ARM); 0 means DefaultMaxConcurrentPerScope, negative means
	// unlimited.
	MaxConcurrentPerScope int
	// ARMHeadroom scales ARMLimits down (0 means DefaultARMHeadroom; 1 means none).
	ARMHeadroom float64
	// TracerProvider and MeterProvider default to the otel globals.
	TracerProvider trace.TracerProvider
	MeterProvider  metric.MeterProvider
	// Logging configures azcore's logging policy (headers and query values are redacted
	// unless allowed here; never allow Authorization).
	Logging policy.LogOptions
	// Clock drives the limiter; nil is the real clock.
	Clock Clock
}

// DefaultMaxConcurrent is the process-wide in-flight limit when Config leaves it zero.
const DefaultMaxConcurrent = 64

// DefaultMaxConcurrentPerScope serialises the requests of one throttling scope.
// UNCONFIRMED: a request already on the wire when another request of its scope gets a 429
// arrives "before Retry-After" and cannot be recalled; only one request in flight per scope
// rules that out. Parallelism comes from the many tenants, not from within one scope. It
// also keeps Log Analytics, whose scope is the customer tenant (the app's principal there,
// and the workspaces it holds), far below the service's 5 concurrent queries per user.
const DefaultMaxConcurrentPerScope = 1

// DefaultARMHeadroom keeps the limiter 10% under ARM's documented buckets.
// UNCONFIRMED: 10% absorbs the offset between our bucket's clock and ARM's (our bucket starts
// when we send, ARM's when requests arrive) and other replicas sharing the principal.
const DefaultARMHeadroom = 0.9

// ApplicationID is added to azcore's User-Agent so service-side logs can tell xdrlink apart.
const ApplicationID = "xdrlink"

// DefaultRetryOptions are azcore's retry options as xdrlink uses them. azcore sleeps for the
// response's Retry-After (retry-after-ms, x-ms-retry-after-ms, Retry-After) when present and
// uses the exponential RetryDelay only when it is absent (docs/azure.md §10); a Retry-After
// longer than MaxRetryDelay is not waited for: the 429 is returned and azerr classifies it
// Throttled with its RetryAfter, so the workflow reschedules instead of holding a worker.
func DefaultRetryOptions() policy.RetryOptions {
	return policy.RetryOptions{
		// UNCONFIRMED: 5 retries (azcore's default is 3): under the fault tests
		// (10% 5xx/429 injected, every tenant finishes) a call then fails only after six
		// faults in a row, a 1e-6 event, instead of four (1e-4, ~1 in 10 batches of 1,000
		// tenants x 100 calls).
		MaxRetries:    5,
		RetryDelay:    time.Second,
		MaxRetryDelay: 60 * time.Second,
		// UNCONFIRMED: a hung connection must not block a worker forever; no ARM call
		// xdrlink makes is documented to take longer than this per try.
		TryTimeout: 2 * time.Minute,
		// nil StatusCodes keeps azcore's 408, 429, 500, 502, 503, 504.
	}
}

// Outbound is the process-wide state behind every Azure client's pipeline.
type Outbound struct {
	cfg       Config
	limiter   *Limiter
	gates     *RetryAfterGates
	slots     *semaphores[GateKey]
	global    *Semaphore
	perTenant *semaphores[string]
	ins       *instruments
}

// New validates cfg and creates the shared limiter, semaphores and instruments.
func New(cfg Config) (*Outbound, error) {
	if err := cfg.Cloud.Validate(); err != nil {
		return nil, err
	}
	if cfg.Retry.MaxRetries == 0 && cfg.Retry.RetryDelay == 0 && cfg.Retry.MaxRetryDelay == 0 &&
		cfg.Retry.TryTimeout == 0 && cfg.Retry.StatusCodes == nil && cfg.Retry.ShouldRetry == nil {
		cfg.Retry = DefaultRetryOptions()
	}
	if cfg.ARMLimits == (ARMLimits{}) {
		cfg.ARMLimits = DefaultARMLimits()
	}
	for _, b := range []Bucket{cfg.ARMLimits.Read, cfg.ARMLimits.Write, cfg.ARMLimits.Delete} {
		if b.Burst <= 0 || b.RefillPerSecond <= 0 {
			return nil, errors.New("outbound: every ARM bucket needs a positive burst and refill")
		}
	}
	if cfg.MaxConcurrent == 0 {
		cfg.MaxConcurrent = DefaultMaxConcurrent
	}
	if cfg.MaxConcurrentPerScope == 0 {
		cfg.MaxConcurrentPerScope = DefaultMaxConcurrentPerScope
	}
	if cfg.ARMHeadroom == 0 {
		cfg.ARMHeadroom = DefaultARMHeadroom
	}
	if cfg.ARMHeadroom < 0 || cfg.ARMHeadroom > 1 {
		return nil, errors.New("outbound: ARMHeadroom must be within (0, 1]")
	}
	if cfg.TracerProvider == nil {
		cfg.TracerProvider = otel.GetTracerProvider()
	}
	if cfg.MeterProvider == nil {
		cfg.MeterProvider = otel.GetMeterProvider()
	}
	ins, err := newInstruments(cfg.TracerProvider, cfg.MeterProvider)
	if err != nil {
		return nil, err
	}
	return &Outbound{
		cfg:       cfg,
		limiter:   NewLimiter(cfg.ARMLimits.scaled(cfg.ARMHeadroom), cfg.Clock),
		slots:     newSemaphores[GateKey](cfg.MaxConcurrentPerScope),
		gates:     NewRetryAfterGates(cfg.Clock),
		global:    NewSemaphore(cfg.MaxConcurrent),
		perTenant: newSemaphores[string](cfg.MaxConcurrentPerTenant),
		ins:       ins,
	}, nil
}

// SetReplicas shares ARM's limits among n replicas of xdrlink calling ARM
// as the same app: this process keeps 1/n of each bucket (after the
// headroom). n < 1 counts as 1.
func (o *Outbound) SetReplicas(n int) { o.limiter.SetShare(1 / float64(max(n, 1))) }

// ARMLimits returns the ARM limits this process keeps to now.
func (o *Outbound) ARMLimits() ARMLimits { return o.limiter.Limits() }

// ARMClientOptions are the options for arm.NewClient for calls into one customer tenant and
// subscription: the cloud's ARM endpoint and audience, retries, the ARM limiter, concurrency
// limits and telemetry.
//
// Pipeline order (azcore): RP registration → telemetry (per call) → retry → bearer token →
// scope (slot, Retry-After gate, ARM bucket) → tries counter → tenant and global
// concurrency → transport. Everything below the retry policy runs per try, so each try is
// counted and gated and no slot is held while sleeping before a retry.
func (o *Outbound) ARMClientOptions(tenantID, subscriptionID string) *arm.ClientOptions {
	opts := o.clientOptions(APIResourceManager, tenantID, subscriptionID)
	opts.PerRetryPolicies = append([]policy.Policy{scopePolicy{ins: o.ins, api: APIResourceManager, tenant: tenantID, gates: o.gates, slots: o.slots, limiter: o.limiter}}, opts.PerRetryPolicies...)
	return &arm.ClientOptions{ClientOptions: opts}
}

// ClientOptions are the options for a non-ARM API client (Graph, Defender streaming, Log
// Analytics) for one customer tenant: retries, a Retry-After gate per (tenant, API),
// concurrency limits and telemetry, no ARM buckets. Cloud is set too, though those clients
// take their endpoint from cloud.Endpoints.
func (o *Outbound) ClientOptions(api API, tenantID string) policy.ClientOptions {
	opts := o.clientOptions(api, tenantID, "")
	opts.PerRetryPolicies = append([]policy.Policy{scopePolicy{ins: o.ins, api: api, tenant: tenantID, gates: o.gates, slots: o.slots}}, opts.PerRetryPolicies...)
	return opts
}

// TokenClientOptions are the options for azidentity credentials: the cloud's authority,
// the transport, retries and telemetry with api "entra" (the tenant is read from the token
// URL). Token requests are not counted against ARM's buckets.
func (o *Outbound) TokenClientOptions() azcore.ClientOptions {
	opts := o.clientOptions(APIEntra, "", "")
	opts.PerRetryPolicies = append([]policy.Policy{scopePolicy{ins: o.ins, api: APIEntra, gates: o.gates, slots: o.slots}}, opts.PerRetryPolicies...)
	return opts
}

func (o *Outbound) clientOptions(api API, tenantID, subscriptionID string) policy.ClientOptions {
	var tenantSlots *Semaphore // token requests (no tenant) are bound by the global limit only
	if tenantID != "" {
		// Case-folded like the limiter and gate keys: "ABC…" and "abc…" are one tenant.
		tenantSlots = o.perTenant.get(strings.ToLower(tenantID))
	}
	return policy.ClientOptions{
		Cloud:     o.cfg.Cloud.AzCore(),
		Transport: o.cfg.Transport,
		Retry:     o.cfg.Retry,
		Logging:   o.cfg.Logging,
		Telemetry: policy.TelemetryOptions{ApplicationID: ApplicationID},
		PerCallPolicies: []policy.Policy{
			telemetryPolicy{ins: o.ins, api: api, tenant: tenantID, subscription: subscriptionID},
		},
		PerRetryPolicies: []policy.Policy{
			tryPolicy{ins: o.ins, api: api},
			concurrencyPolicy{global: o.global, tenant: tenantSlots},
		},
	}
}
