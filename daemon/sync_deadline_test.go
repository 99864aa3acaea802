package daemon

import (
	"context"
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestSyncCallTimeout: with Azure slower than --sync-call-timeout,
// CheckPrerequisites (synchronous, about 15 Azure calls) answers
// DEADLINE_EXCEEDED with reason DEADLINE_EXCEEDED over gRPC and 504 over
// REST, while Onboard (long-running) still returns its operation.
func TestSyncCallTimeout(t *testing.T) {
	const limit = 2 * time.Second
	d := startSandbox(t, func(c *Config) { c.SyncCallTimeout = limit })
	sim := d.azure.sandbox
	slow := azuresim.Latency{Fixed: azuresim.Duration(3 * limit)}
	if err := sim.SetFaults(azuresim.FaultConfig{Latency: slow, FamilyLatency: map[string]azuresim.Latency{
		azuresim.FamilyEntra: slow, azuresim.FamilyARM: slow, azuresim.FamilyGraph: slow,
	}}); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sim.SetFaults(azuresim.FaultConfig{}) }()
	c := dial(t, d)
	cust := customer(t, d, azuresim.DemoHealthy)
	// A caller's deadline far later than the server's: the server's applies.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_, err := c.Onboarding.CheckPrerequisites(ctx, &xdrlinkv1.CheckPrerequisitesRequest{Name: "tenants/" + cust.ID})
	st := status.Convert(err)
	if info := errorInfoOf(st); st.Code() != codes.DeadlineExceeded || info == nil ||
		info.GetReason() != xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED.String() {
		t.Errorf("gRPC CheckPrerequisites: %v (%v); want DEADLINE_EXCEEDED, reason DEADLINE_EXCEEDED", st, info)
	}

	rest := newREST(d)
	rest.hc.Timeout = time.Minute
	resp, err := rest.raw(ctx, http.MethodPost, "/v1/tenants/"+cust.ID+":checkPrerequisites", "{}")
	if err != nil {
		t.Fatal(err)
	}
	err = decodeREST(resp, &xdrlinkv1.PrerequisiteReport{})
	st = status.Convert(err)
	if info := errorInfoOf(st); resp.StatusCode != http.StatusGatewayTimeout || info == nil ||
		info.GetReason() != xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED.String() {
		t.Errorf("REST checkPrerequisites: HTTP %d %v (%v); want 504, reason DEADLINE_EXCEEDED", resp.StatusCode, st, info)
	}

	op, err := c.Onboarding.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + cust.ID})
	if err != nil || op.GetName() == "" {
		t.Fatalf("Onboard under the same limit: %v, %v; want its operation", op, err)
	}
	if err := (grpcOps{c}).Cancel(ctx, op.GetName()); err != nil {
		t.Error(err)
	}
}
