package azuresim

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultConfig is what the sim injects. Latency, random 5xx and random 429
// apply to the families in Families (FamilyLatency sets a family's own
// latency); ARM token buckets apply to ARM.
type FaultConfig struct {
	Latency Latency `json:"latency"`
	// ServerErrorRate is the probability (0..1) of a 500/503 answer.
	ServerErrorRate float64 `json:"serverErrorRate,omitempty"`
	// ThrottleRate is the probability (0..1) of a random 429 answer.
	ThrottleRate float64 `json:"throttleRate,omitempty"`
	// ThrottleRetryAfter is the Retry-After of random 429s (default 1s).
	ThrottleRetryAfter Duration `json:"throttleRetryAfter,omitempty"`
	// Families the random faults and latency apply to; empty means
	// arm, graph, defender and loganalytics (not entra, never admin).
	Families []string `json:"families,omitempty"`
	// FamilyLatency replaces Latency for the families it names (e.g.
	// {"loganalytics": {"fixed": "200ms"}}), whether or not Families
	// lists them; Families still decides the random faults. Never admin.
	FamilyLatency map[string]Latency `json:"familyLatency,omitempty"`
	// DisableARMThrottling turns off the ARM token buckets.
	DisableARMThrottling bool `json:"disableArmThrottling,omitempty"`
	// ARMBuckets overrides ARM's documented bucket sizes (nil: the defaults).
	ARMBuckets *BucketLimits `json:"armBuckets,omitempty"`
}

// Latency is added to every request of the faulted families: Fixed plus a
// uniform jitter in [0, Jitter), plus, when LogNormalMedian is set, a
// log-normal sample with that median and LogNormalSigma.
type Latency struct {
	Fixed           Duration `json:"fixed,omitempty"`
	Jitter          Duration `json:"jitter,omitempty"`
	LogNormalMedian Duration `json:"logNormalMedian,omitempty"`
	LogNormalSigma  float64  `json:"logNormalSigma,omitempty"`
}

// BucketLimits are ARM token bucket sizes (tokens) and refill rates
// (tokens/second) per (subscription or tenant, principal, operation type).
type BucketLimits struct {
	ReadCapacity   float64 `json:"readCapacity"`
	ReadRefill     float64 `json:"readRefill"`
	WriteCapacity  float64 `json:"writeCapacity"`
	WriteRefill    float64 `json:"writeRefill"`
	DeleteCapacity float64 `json:"deleteCapacity"`
	DeleteRefill   float64 `json:"deleteRefill"`
	// AllPrincipalsMultiplier sizes the per-subscription bucket shared by all
	// principals (ARM: 15x the per-principal limit).
	AllPrincipalsMultiplier float64 `json:"allPrincipalsMultiplier"`
}

// DefaultARMBuckets are ARM's documented limits (docs/azure.md §10).
var DefaultARMBuckets = BucketLimits{
	ReadCapacity: 250, ReadRefill: 25,
	WriteCapacity: 200, WriteRefill: 10,
	DeleteCapacity: 200, DeleteRefill: 10,
	AllPrincipalsMultiplier: 15,
}

// Duration is a time.Duration that reads and writes JSON as "50ms"; a JSON
// number is taken as milliseconds.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration must be a string like \"50ms\" or milliseconds: %w", err)
	}
	*d = Duration(ms * float64(time.Millisecond))
	return nil
}

var defaultFaultFamilies = []string{FamilyARM, FamilyGraph, FamilyDefender, FamilyLogAnalytics}

func (c FaultConfig) validate() error {
	if c.ServerErrorRate < 0 || c.ServerErrorRate > 1 || c.ThrottleRate < 0 || c.ThrottleRate > 1 {
		return fmt.Errorf("azuresim: fault rates must be within [0,1]")
	}
	if !c.Latency.valid() {
		return fmt.Errorf("azuresim: latency values must not be negative")
	}
	for family, l := range c.FamilyLatency {
		switch family {
		case FamilyEntra, FamilyARM, FamilyGraph, FamilyDefender, FamilyLogAnalytics, FamilyOther:
		default:
			return fmt.Errorf("azuresim: familyLatency: %q is not an API family with latency (entra, arm, graph, defender, loganalytics, other)", family)
		}
		if !l.valid() {
			return fmt.Errorf("azuresim: familyLatency %s: latency values must not be negative", family)
		}
	}
	return nil
}

func (l Latency) valid() bool {
	return l.Fixed >= 0 && l.Jitter >= 0 && l.LogNormalMedian >= 0 && l.LogNormalSigma >= 0
}

// faultState applies a FaultConfig. One mutex guards the RNG (for
// determinism with a seed), the buckets and the retry deadlines; every
// section is a few map operations.
type faultState struct {
	mu        sync.Mutex
	cfg       FaultConfig
	rng       *rand.Rand
	buckets   map[string]*tokenBucket
	deadlines map[string]time.Time // throttle key -> Retry-After deadline (sim clock)
	early     map[string]int64     // throttle key -> requests that arrived before the deadline
	pruneAt   int                  // len(buckets)+len(deadlines) that triggers the next prune
	// onDelay, when set (by tests, before any request), is told each
	// latency inject is about to add and the family it adds it to.
	onDelay func(family string, d time.Duration)
}

// minFaultPrune is the number of buckets and deadlines below which the
// fault state is not pruned.
const minFaultPrune = 1024

func newFaultState(cfg FaultConfig, seed uint64) (*faultState, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.FamilyLatency = maps.Clone(cfg.FamilyLatency) // the caller's map may change later
	return &faultState{
		cfg:       cfg,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		buckets:   map[string]*tokenBucket{},
		deadlines: map[string]time.Time{},
		early:     map[string]int64{},
	}, nil
}

// SetFaults replaces the fault configuration; bucket levels are kept.
func (s *Sim) SetFaults(cfg FaultConfig) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	cfg.FamilyLatency = maps.Clone(cfg.FamilyLatency) // the caller's map may change later
	s.faults.mu.Lock()
	s.faults.cfg = cfg
	s.faults.mu.Unlock()
	return nil
}

// Faults returns the current fault configuration.
func (s *Sim) Faults() FaultConfig {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	cfg := s.faults.cfg
	cfg.FamilyLatency = maps.Clone(cfg.FamilyLatency)
	return cfg
}

// EarlyRetries returns, per throttle key ("principal|family|scope|op"), how
// many requests arrived before the Retry-After of a 429 previously sent to
// that principal for that bucket had elapsed.
func (s *Sim) EarlyRetries() map[string]int64 {
	s.faults.mu.Lock()
	defer s.faults.mu.Unlock()
	out := make(map[string]int64, len(s.faults.early))
	for k, v := range s.faults.early {
		out[k] = v
	}
	return out
}

// EarlyRetryTotal is the sum of EarlyRetries.
func (s *Sim) EarlyRetryTotal() int64 {
	var n int64
	for _, v := range s.EarlyRetries() {
		n += v
	}
	return n
}

func opClass(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return "reads"
	case http.MethodDelete:
		return "deletes"
	}
	return "writes"
}

// throttleScope returns ARM's throttling scope for a request: the
// subscription in the path, else the caller's tenant.
func throttleScope(r *http.Request, principal string) (kind, id string) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "subscriptions") && parts[1] != "" {
		return "subscription", strings.ToLower(parts[1])
	}
	tid, _, _ := strings.Cut(principal, "/")
	return "tenant", strings.ToLower(tid)
}

// inject applies latency, the early-retry accounting, ARM buckets and random
// faults. It reports whether it answered the request itself.
func (f *faultState) inject(w http.ResponseWriter, r *http.Request, ri *requestInfo, s *Sim) bool {
	principal := s.principalHint(r)
	op := opClass(r.Method)
	scopeKind, scopeID := "", ""
	if ri.family == FamilyARM {
		scopeKind, scopeID = throttleScope(r, principal)
	}
	key := principal + "|" + ri.family + "|" + scopeID + "|" + op
	now := s.clock.Now()

	f.mu.Lock()
	cfg := f.cfg
	if dl, ok := f.deadlines[key]; ok {
		if now.Before(dl) {
			f.early[key]++
		} else {
			delete(f.deadlines, key)
		}
	}
	faulted := slices.Contains(defaultFaultFamilies, ri.family)
	if len(cfg.Families) > 0 {
		faulted = slices.Contains(cfg.Families, ri.family)
	}
	var delay time.Duration
	var roll5xx, roll429, rollKind float64
	if l, ok := cfg.FamilyLatency[ri.family]; ok {
		delay = f.latencyLocked(l)
	} else if faulted {
		delay = f.latencyLocked(cfg.Latency)
	}
	if faulted {
		roll5xx, roll429, rollKind = f.rng.Float64(), f.rng.Float64(), f.rng.Float64()
	}
	onDelay := f.onDelay
	f.mu.Unlock()

	if onDelay != nil {
		onDelay(ri.family, delay)
	}

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	now = s.clock.Now()

	// ARM token buckets: per principal and per subscription for all principals.
	if ri.family == FamilyARM && !cfg.DisableARMThrottling && principal != "anonymous" && principal != "invalid" {
		limits := DefaultARMBuckets
		if cfg.ARMBuckets != nil {
			limits = *cfg.ARMBuckets
		}
		capacity, refill := limits.forOp(op)
		f.mu.Lock()
		remaining, wait := f.takeLocked(key, capacity, refill, now)
		if wait == 0 && scopeKind == "subscription" && limits.AllPrincipalsMultiplier > 0 {
			m := limits.AllPrincipalsMultiplier
			if _, w2 := f.takeLocked("*|arm|"+scopeID+"|"+op, capacity*m, refill*m, now); w2 > 0 {
				f.refundLocked(key)
				wait = w2
			}
		}
		var retryAfter int
		if wait > 0 {
			retryAfter = int(math.Ceil(wait.Seconds()))
			f.deadlines[key] = now.Add(time.Duration(retryAfter) * time.Second)
		}
		f.pruneLocked(now)
		f.mu.Unlock()
		suffix := op
		if op == "deletes" {
			suffix = rateLimitDeletesSuffix
		}
		w.Header().Set(fmt.Sprintf("x-ms-ratelimit-remaining-%s-%s", scopeKind, suffix), strconv.Itoa(int(remaining)))
		if wait > 0 {
			ri.api = "arm.throttled"
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			WriteError(w, http.StatusTooManyRequests, "SubscriptionRequestsThrottled",
				fmt.Sprintf("Number of '%s' requests for %s '%s' actor '%s' exceeded. Please try again after '%d' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.",
					strings.TrimSuffix(op, "s"), scopeKind, scopeID, principal, retryAfter))
			return true
		}
	}

	if !faulted {
		return false
	}
	if roll5xx < cfg.ServerErrorRate {
		ri.api = ri.family + ".injected5xx"
		if rollKind < 0.5 {
			WriteError(w, http.StatusInternalServerError, "InternalServerError", "Encountered internal server error. (injected by azuresim)")
		} else {
			WriteError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "The service is temporarily unavailable. (injected by azuresim)")
		}
		return true
	}
	if roll429 < cfg.ThrottleRate {
		ri.api = ri.family + ".injected429"
		ra := time.Duration(cfg.ThrottleRetryAfter)
		if ra <= 0 {
			ra = time.Second
		}
		secs := int(math.Ceil(ra.Seconds()))
		f.mu.Lock()
		f.deadlines[key] = now.Add(time.Duration(secs) * time.Second)
		f.pruneLocked(now)
		f.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		WriteError(w, http.StatusTooManyRequests, "TooManyRequests", "The request was throttled. (injected by azuresim)")
		return true
	}
	return false
}

func (l BucketLimits) forOp(op string) (capacity, refill float64) {
	switch op {
	case "reads":
		return l.ReadCapacity, l.ReadRefill
	case "deletes":
		return l.DeleteCapacity, l.DeleteRefill
	}
	return l.WriteCapacity, l.WriteRefill
}

func (f *faultState) latencyLocked(l Latency) time.Duration {
	d := time.Duration(l.Fixed)
	if l.Jitter > 0 {
		d += time.Duration(f.rng.Int64N(int64(l.Jitter)))
	}
	if l.LogNormalMedian > 0 {
		d += time.Duration(float64(l.LogNormalMedian) * math.Exp(l.LogNormalSigma*f.rng.NormFloat64()))
	}
	return d
}

type tokenBucket struct {
	tokens           float64
	last             time.Time
	capacity, refill float64 // as of the last take
}

// takeLocked takes one token; it returns the tokens left and, when empty,
// how long until one token is available.
func (f *faultState) takeLocked(key string, capacity, refill float64, now time.Time) (float64, time.Duration) {
	b, ok := f.buckets[key]
	if !ok {
		b = &tokenBucket{tokens: capacity, last: now}
		f.buckets[key] = b
	}
	b.capacity, b.refill = capacity, refill
	if el := now.Sub(b.last).Seconds(); el > 0 {
		b.tokens = math.Min(capacity, b.tokens+el*refill)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return math.Floor(b.tokens), 0
	}
	if refill <= 0 {
		return 0, time.Hour
	}
	return 0, time.Duration((1 - b.tokens) / refill * float64(time.Second))
}

// pruneLocked drops what a fresh start would recreate identically: buckets
// that have refilled to capacity and Retry-After deadlines that have passed.
// Keys hold the subscription id from the request path, so without it any
// caller could grow the maps without bound. It runs when they have doubled
// since the last prune, which keeps its cost amortized O(1) per request.
func (f *faultState) pruneLocked(now time.Time) {
	if len(f.buckets)+len(f.deadlines) < f.pruneAt {
		return
	}
	for k, b := range f.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.refill >= b.capacity {
			delete(f.buckets, k)
		}
	}
	for k, dl := range f.deadlines {
		if !now.Before(dl) {
			delete(f.deadlines, k)
		}
	}
	f.pruneAt = max(minFaultPrune, 2*(len(f.buckets)+len(f.deadlines)))
}

func (f *faultState) refundLocked(key string) {
	if b, ok := f.buckets[key]; ok {
		b.tokens++
	}
}
