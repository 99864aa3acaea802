package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestOnboardThroughAzureFaults: with 5xx and 429 injected on every Azure
// API, a healthy tenant still onboards, exactly once, and no request is
// sent before the Retry-After it was given.
func TestOnboardThroughAzureFaults(t *testing.T) {
	d := startSandbox(t)
	sim := d.azure.sandbox
	if err := sim.SetFaults(azuresim.FaultConfig{ServerErrorRate: 0.15, ThrottleRate: 0.1,
		ThrottleRetryAfter: azuresim.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	api := grpcOps{dial(t, d)}
	c := customer(t, d, azuresim.DemoHealthy)
	op, err := api.Onboard(context.Background(), &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	_, md := waitState(t, api, op.GetName(), opActionRequired)
	approve(t, d, md)
	waitState(t, api, op.GetName(), opSucceeded)
	if err := sim.SetFaults(azuresim.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	checkOnboarded(t, d, c)
	var injected int64
	for _, rc := range sim.RequestCounts() {
		if rc.Status == 429 || rc.Status >= 500 {
			injected += rc.Count
		}
	}
	if injected == 0 {
		t.Error("no fault was injected: the test proves nothing")
	}
	if n := sim.EarlyRetryTotal(); n != 0 {
		t.Errorf("%d requests arrived before their Retry-After", n)
	}
}

// TestStepRetriedAfterTransientFailure: a step whose Azure calls outlast
// its timeout fails transiently, waits with next_attempt_time shown, and
// succeeds on its next attempt once Azure answers in time.
func TestStepRetriedAfterTransientFailure(t *testing.T) {
	d := startSandbox(t, func(c *Config) { c.StepTimeout = time.Second })
	sim := d.azure.sandbox
	if err := sim.SetFaults(azuresim.FaultConfig{Latency: azuresim.Latency{Fixed: azuresim.Duration(1500 * time.Millisecond)}}); err != nil {
		t.Fatal(err)
	}
	api := grpcOps{dial(t, d)}
	c := customer(t, d, azuresim.DemoNoLicense) // fails for good at the first step once Azure answers
	op, err := api.Onboard(context.Background(), &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := api.Get(context.Background(), op.GetName())
		if err != nil {
			t.Fatal(err)
		}
		md := metadata(t, got)
		st := md.GetSteps()[0]
		if st.GetNextAttemptTime() != nil {
			if md.GetState() != xdrlinkv1.OperationState_OPERATION_STATE_RUNNING || st.GetAttempts() != 1 ||
				st.GetState() != xdrlinkv1.StepState_STEP_STATE_RUNNING || st.GetError() == nil ||
				!st.GetNextAttemptTime().AsTime().After(st.GetStartTime().AsTime()) {
				t.Fatalf("waiting step %v in operation %v", st, md.GetState())
			}
			break
		}
		if got.GetDone() || time.Now().After(deadline) {
			t.Fatalf("no retry scheduled:\n%s", describeSteps(md))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := sim.SetFaults(azuresim.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	_, md := waitState(t, api, op.GetName(), opFailed)
	st := md.GetSteps()[0]
	if st.GetAttempts() != 2 || st.GetNextAttemptTime() != nil || st.GetError() == nil {
		t.Errorf("step after its retry: %v", st)
	}
	if _, meta := errorInfo(t, st.GetError().GetDetails()); meta["step"] != st.GetKind().String() {
		t.Errorf("step error metadata %v", meta)
	}
}
