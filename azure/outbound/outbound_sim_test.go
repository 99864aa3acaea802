package outbound_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azuresim"
)

func count429(env *simtest.Env) int {
	n := 0
	for _, x := range env.Recorder.Exchanges() {
		if x.Status == http.StatusTooManyRequests {
			n++
		}
	}
	return n
}

// readConcurrently lists alert rules from several goroutines, as parallel workflow steps
// for one tenant would.
func readConcurrently(t *testing.T, env *simtest.Env, goroutines, each int) {
	t.Helper()
	c, err := sentinel.New(env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub), simtest.Contoso)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := c.GetOnboardingState(context.Background()); err != nil && !azerr.Is(err, azerr.NotFound) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestSimBucketsRetryAfterHonoured: the sim's ARM buckets are far smaller than ARM's, so it
// answers 429 with Retry-After; every call still succeeds and no request arrives before a
// Retry-After has elapsed (the sim counts them).
func TestSimBucketsRetryAfterHonoured(t *testing.T) {
	env := simtest.Start(t, simtest.Config{Sim: azuresim.Options{Faults: azuresim.FaultConfig{
		ARMBuckets: &azuresim.BucketLimits{ReadCapacity: 5, ReadRefill: 10, WriteCapacity: 5, WriteRefill: 10, DeleteCapacity: 5, DeleteRefill: 10, AllPrincipalsMultiplier: 15},
	}}})
	readConcurrently(t, env, 4, 6)
	if n := count429(env); n == 0 {
		t.Fatal("the sim never throttled; the test proves nothing")
	}
	if early := env.Sim.EarlyRetryTotal(); early != 0 {
		t.Fatalf("%d requests arrived before Retry-After elapsed: %v", early, env.Sim.EarlyRetries())
	}
}

// TestLimiterMatchingBucketsAvoids429: with the limiter sized like the service's buckets,
// the service never has to throttle.
func TestLimiterMatchingBucketsAvoids429(t *testing.T) {
	env := simtest.Start(t, simtest.Config{
		Sim: azuresim.Options{Faults: azuresim.FaultConfig{
			ARMBuckets: &azuresim.BucketLimits{ReadCapacity: 5, ReadRefill: 10, WriteCapacity: 5, WriteRefill: 10, DeleteCapacity: 5, DeleteRefill: 10, AllPrincipalsMultiplier: 15},
		}},
		Outbound: func(c *outbound.Config) {
			c.ARMLimits = outbound.ARMLimits{Read: outbound.Bucket{Burst: 5, RefillPerSecond: 10}, Write: outbound.Bucket{Burst: 5, RefillPerSecond: 10}, Delete: outbound.Bucket{Burst: 5, RefillPerSecond: 10}}
		},
	})
	start := time.Now()
	readConcurrently(t, env, 4, 6)
	if n := count429(env); n != 0 {
		t.Fatalf("%d responses were 429 although the limiter mirrors the buckets", n)
	}
	// 24 reads, 5 at once then 10/s: at least 1.9 s.
	if d := time.Since(start); d < 1800*time.Millisecond {
		t.Fatalf("24 reads took %v: the limiter did not hold them back", d)
	}
}

// TestInjectedFaultsAllFinish: random 429s (Retry-After 1s) and 5xx on ARM; every call
// finishes and none is early.
func TestInjectedFaultsAllFinish(t *testing.T) {
	env := simtest.Start(t, simtest.Config{Sim: azuresim.Options{Seed: 7, Faults: azuresim.FaultConfig{
		ThrottleRate: 0.15, ServerErrorRate: 0.15, ThrottleRetryAfter: azuresim.Duration(time.Second), Families: []string{"arm"},
	}}})
	readConcurrently(t, env, 3, 8)
	var throttled, serverErrors int
	for _, x := range env.Recorder.Exchanges() {
		switch {
		case x.Status == http.StatusTooManyRequests:
			throttled++
		case x.Status >= 500:
			serverErrors++
		}
	}
	if throttled == 0 || serverErrors == 0 {
		t.Fatalf("faults not injected: %d 429, %d 5xx", throttled, serverErrors)
	}
	if early := env.Sim.EarlyRetryTotal(); early != 0 {
		t.Fatalf("%d early requests: %v", early, env.Sim.EarlyRetries())
	}
}
