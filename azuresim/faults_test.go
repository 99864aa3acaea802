package azuresim

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestARMTokenBucketThrottlesWithRetryAfterAndCountsEarlyRetries(t *testing.T) {
	limits := DefaultARMBuckets
	limits.ReadCapacity, limits.ReadRefill = 5, 1
	s := startSim(t, Options{Faults: FaultConfig{ARMBuckets: &limits}})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	ws := wsPath(contosoSub, contosoRG, contosoWS)

	prev := 1 << 30
	for i := 0; i < 5; i++ {
		r := do(t, c, http.MethodGet, ws, "2022-10-01", nil)
		wantStatus(t, r, http.StatusOK)
		rem, err := strconv.Atoi(r.header.Get("x-ms-ratelimit-remaining-subscription-reads"))
		if err != nil || rem >= prev {
			t.Fatalf("remaining reads %q after %d (prev %d)", r.header.Get("x-ms-ratelimit-remaining-subscription-reads"), i, prev)
		}
		prev = rem
	}
	r := do(t, c, http.MethodGet, ws, "2022-10-01", nil)
	wantError(t, r, http.StatusTooManyRequests, "SubscriptionRequestsThrottled")
	if r.header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	if s.EarlyRetryTotal() != 0 {
		t.Fatal("no early request yet")
	}
	// Ignoring Retry-After is counted, per principal and bucket.
	do(t, c, http.MethodGet, ws, "2022-10-01", nil)
	if s.EarlyRetryTotal() != 1 {
		t.Fatalf("early retries = %v", s.EarlyRetries())
	}
	// Writes have their own bucket.
	wantStatus(t, do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "onboardingStates/default"), stableAPI,
		map[string]any{"properties": map[string]any{}}), http.StatusCreated)
	// After Retry-After (sim clock) the bucket has refilled and nothing is early.
	s.AdvanceClock(2 * time.Second)
	wantStatus(t, do(t, c, http.MethodGet, ws, "2022-10-01", nil), http.StatusOK)
	if s.EarlyRetryTotal() != 1 {
		t.Fatalf("early retries = %v", s.EarlyRetries())
	}
	// Another principal in the same subscription has its own bucket.
	adminTok, _ := s.IssueUserToken(contosoTID, contosoAdmin, appID, AudienceARM+"/.default")
	wantStatus(t, do(t, armClient(t, s, staticCred{adminTok}, 0), http.MethodGet, ws, "2022-10-01", nil), http.StatusOK)
}

func TestDefaultARMReadBucketIs250(t *testing.T) {
	s := startSim(t, Options{})
	tok, _ := s.IssueAppToken(contosoTID, appID, AudienceARM)
	url := s.URL() + wsPath(contosoSub, contosoRG, contosoWS) + "?api-version=2022-10-01"
	start := time.Now()
	ok, throttled := 0, 0
	for i := 0; i < 300 && throttled == 0; i++ {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := s.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			ok++
		case http.StatusTooManyRequests:
			throttled++
		}
	}
	refilled := int(time.Since(start).Seconds()*25) + 1
	if throttled == 0 || ok < 250 || ok > 250+refilled {
		t.Fatalf("ok = %d before the first 429 (refill allowance %d)", ok, refilled)
	}
}

// azcore's retry policy honours Retry-After, so a well-behaved client makes
// no early request even when throttled.
func TestAzcoreRetryHonoursRetryAfter(t *testing.T) {
	limits := DefaultARMBuckets
	limits.ReadCapacity, limits.ReadRefill = 1, 1
	s := startSim(t, Options{Faults: FaultConfig{ARMBuckets: &limits}})
	c := armClient(t, s, appCredential(t, s, contosoTID), 3)
	ws := wsPath(contosoSub, contosoRG, contosoWS)
	for i := 0; i < 2; i++ {
		wantStatus(t, do(t, c, http.MethodGet, ws, "2022-10-01", nil), http.StatusOK)
	}
	if s.CountRequests("arm.throttled", http.MethodGet, http.StatusTooManyRequests) == 0 {
		t.Fatal("expected a throttled request")
	}
	if n := s.EarlyRetryTotal(); n != 0 {
		t.Fatalf("early retries = %d", n)
	}
}

// statuses sends n unauthenticated ARM requests (random faults apply before
// authentication) and returns the status sequence.
func statuses(t *testing.T, s *Sim, n int) []int {
	out := make([]int, n)
	for i := range out {
		resp, err := s.HTTPClient().Get(s.URL() + "/subscriptions/" + contosoSub + "/providers?api-version=2019-05-01")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		out[i] = resp.StatusCode
	}
	return out
}

func TestFaultRatesHonouredAndDeterministic(t *testing.T) {
	cfg := FaultConfig{ServerErrorRate: 0.2, ThrottleRate: 0.1, ThrottleRetryAfter: Duration(2 * time.Second)}
	a := statuses(t, startSim(t, Options{Faults: cfg, Seed: 42}), 600)
	b := statuses(t, startSim(t, Options{Faults: cfg, Seed: 42}), 600)
	count := map[int]int{}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different outcome at %d: %d vs %d", i, a[i], b[i])
		}
		count[a[i]]++
	}
	fivexx := count[500] + count[503]
	// 20% server errors; 10% of the rest throttled (8%); the others reach auth (401).
	if fivexx < 90 || fivexx > 150 {
		t.Fatalf("5xx = %d of 600, want about 120", fivexx)
	}
	if count[429] < 25 || count[429] > 75 {
		t.Fatalf("429 = %d of 600, want about 48", count[429])
	}
	if count[401] != 600-fivexx-count[429] {
		t.Fatalf("statuses = %v", count)
	}
	c := statuses(t, startSim(t, Options{Faults: cfg, Seed: 7}), 600)
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatal("a different seed gave the same sequence")
	}
}

func TestInjected429CarriesRetryAfterAndIsTracked(t *testing.T) {
	s := startSim(t, Options{Faults: FaultConfig{ThrottleRate: 1, ThrottleRetryAfter: Duration(3 * time.Second)}})
	resp, err := s.HTTPClient().Get(s.URL() + "/subscriptions/" + contosoSub + "/providers?api-version=2019-05-01")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Fatalf("= %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	statuses(t, s, 1)
	if s.EarlyRetryTotal() != 1 {
		t.Fatalf("early = %v", s.EarlyRetries())
	}
	// faults never touch the admin API
	r, err := s.HTTPClient().Get(s.URL() + "/_sim/health")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		t.Fatalf("admin = %d", r.StatusCode)
	}
}

// delayRecorder records, in order, the latency the sim adds to each request
// (FamilyLatency or Latency, by family) before it sleeps it.
type delayRecorder struct {
	mu  sync.Mutex
	got []familyDelay
}

type familyDelay struct {
	family string
	d      time.Duration
}

func recordDelays(s *Sim) *delayRecorder {
	r := &delayRecorder{}
	s.faults.mu.Lock()
	s.faults.onDelay = func(family string, d time.Duration) {
		r.mu.Lock()
		r.got = append(r.got, familyDelay{family, d})
		r.mu.Unlock()
	}
	s.faults.mu.Unlock()
	return r
}

// take returns the delays recorded since the last take.
func (r *delayRecorder) take() []familyDelay {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func TestLatencyInjected(t *testing.T) {
	s := startSim(t, Options{Faults: FaultConfig{Latency: Latency{Fixed: Duration(50 * time.Millisecond), Jitter: Duration(10 * time.Millisecond)}}})
	delays := recordDelays(s)
	start := time.Now()
	statuses(t, s, 3)
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("3 requests took %v, want >= 150ms", el)
	}
	got := delays.take()
	if len(got) != 3 {
		t.Fatalf("delays %v, want one per request", got)
	}
	for _, g := range got {
		if g.family != FamilyARM || g.d < 50*time.Millisecond || g.d >= 60*time.Millisecond {
			t.Fatalf("delays %v, want 3 ARM delays of 50ms plus up to 10ms of jitter", got)
		}
	}
	// entra is not delayed by default
	r, err := s.HTTPClient().Get(s.URL() + "/" + contosoTID + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if got := delays.take(); len(got) != 1 || got[0] != (familyDelay{FamilyEntra, 0}) {
		t.Fatalf("entra delays %v, want a single 0", got)
	}
}

// FamilyLatency gives a family its own latency in place of Latency, also
// for a family Families leaves out (entra), and comes through the admin API.
func TestFamilyLatency(t *testing.T) {
	s := startSim(t, Options{Faults: FaultConfig{Latency: Latency{Fixed: Duration(10 * time.Millisecond)},
		FamilyLatency: map[string]Latency{FamilyARM: {Fixed: Duration(150 * time.Millisecond)}, FamilyEntra: {Fixed: Duration(80 * time.Millisecond)}}}})
	delays := recordDelays(s)
	// took gets path and returns how long it took and the one delay the sim
	// added to it.
	took := func(path string) (time.Duration, familyDelay) {
		t.Helper()
		start := time.Now()
		r, err := s.HTTPClient().Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		el := time.Since(start)
		got := delays.take()
		if len(got) != 1 {
			t.Fatalf("%s: delays %v, want one", path, got)
		}
		return el, got[0]
	}
	if el, d := took("/subscriptions/" + contosoSub + "/providers?api-version=2019-05-01"); d != (familyDelay{FamilyARM, 150 * time.Millisecond}) || el < 150*time.Millisecond {
		t.Errorf("arm delayed %v, took %v, want 150ms (its own latency)", d, el)
	}
	if el, d := took("/" + contosoTID + "/v2.0/.well-known/openid-configuration"); d != (familyDelay{FamilyEntra, 80 * time.Millisecond}) || el < 80*time.Millisecond {
		t.Errorf("entra delayed %v, took %v, want 80ms (its own latency, though not a faulted family)", d, el)
	}
	if el, d := took("/v1.0/subscribedSkus"); d != (familyDelay{FamilyGraph, 10 * time.Millisecond}) || el < 10*time.Millisecond {
		t.Errorf("graph delayed %v, took %v, want Latency's 10ms", d, el)
	}

	var fc FaultConfig
	adminCall(t, s, http.MethodPut, "/_sim/faults", map[string]any{"familyLatency": map[string]any{"loganalytics": map[string]any{"fixed": "200ms"}}}, &fc)
	if got := time.Duration(fc.FamilyLatency[FamilyLogAnalytics].Fixed); got != 200*time.Millisecond || len(fc.FamilyLatency) != 1 {
		t.Fatalf("familyLatency after PUT = %+v", fc.FamilyLatency)
	}
	if _, d := took("/subscriptions/" + contosoSub + "/providers?api-version=2019-05-01"); d != (familyDelay{FamilyARM, time.Duration(fc.Latency.Fixed)}) {
		t.Errorf("arm delayed %v after its own latency was removed, want Latency's %v", d, time.Duration(fc.Latency.Fixed))
	}
	for name, bad := range map[string]map[string]Latency{
		"admin":    {FamilyAdmin: {Fixed: Duration(time.Millisecond)}},
		"unknown":  {"logs": {Fixed: Duration(time.Millisecond)}},
		"negative": {FamilyARM: {Jitter: Duration(-1)}},
	} {
		if err := s.SetFaults(FaultConfig{FamilyLatency: bad}); err == nil {
			t.Errorf("%s: familyLatency %v accepted", name, bad)
		}
	}
}

func TestLogNormalLatency(t *testing.T) {
	f, _ := newFaultState(FaultConfig{}, 1)
	l := Latency{LogNormalMedian: Duration(50 * time.Millisecond), LogNormalSigma: 0.5}
	below := 0
	for i := 0; i < 1000; i++ {
		if f.latencyLocked(l) < 50*time.Millisecond {
			below++
		}
	}
	if below < 430 || below > 570 {
		t.Fatalf("%d of 1000 below the median", below)
	}
}

func TestFaultConfigValidated(t *testing.T) {
	if _, err := Start(Options{Faults: FaultConfig{ServerErrorRate: 1.5}}); err == nil {
		t.Fatal("rate > 1 accepted")
	}
	s := startSim(t, Options{})
	if err := s.SetFaults(FaultConfig{Latency: Latency{Fixed: Duration(-1)}}); err == nil {
		t.Fatal("negative latency accepted")
	}
}

// Bucket and Retry-After keys hold the subscription id from the request
// path, which any caller chooses; what a fresh start would recreate (full
// buckets, passed deadlines) must not pile up.
func TestFaultStateDropsRefilledBucketsAndPassedDeadlines(t *testing.T) {
	s := startSim(t, Options{Faults: FaultConfig{ThrottleRate: 1}}) // every ARM request: 2 buckets and a deadline
	tok := appToken(t, s, contosoTID, AudienceARM)
	const n = 1500
	send := func(prefix string) {
		for i := range n {
			r := httptest.NewRequest(http.MethodGet, "/subscriptions/"+prefix+strconv.Itoa(i)+"/providers?api-version=2019-05-01", nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			w := httptest.NewRecorder()
			if !s.faults.inject(w, r, &requestInfo{family: FamilyARM}, s) || w.Code != http.StatusTooManyRequests {
				t.Fatalf("request %s%d: %d, want an injected 429", prefix, i, w.Code)
			}
		}
	}
	send("old-")
	s.AdvanceClock(time.Minute) // every bucket refills, every Retry-After passes
	send("new-")
	f := s.faults
	f.mu.Lock()
	defer f.mu.Unlock()
	for k := range f.buckets {
		if strings.Contains(k, "|old-") {
			t.Fatalf("refilled bucket %s kept (%d buckets)", k, len(f.buckets))
		}
	}
	for k := range f.deadlines {
		if strings.Contains(k, "|old-") {
			t.Fatalf("passed deadline %s kept (%d deadlines)", k, len(f.deadlines))
		}
	}
	if len(f.buckets) > 2*n || len(f.deadlines) > n {
		t.Fatalf("%d buckets, %d deadlines for %d live subscriptions", len(f.buckets), len(f.deadlines), n)
	}
}
