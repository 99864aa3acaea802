package daemon

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// autoApprove approves every device-code sign-in the emulator hands out,
// as the customers' administrators would, until the test ends.
func autoApprove(t testing.TB, sim *azuresim.Sim) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, dc := range sim.PendingDeviceCodes() {
				_ = sim.ApproveDeviceCode(dc.UserCode, "") // raced by another approval: harmless
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// children lists a batch's child operations through the API, in pages of
// three, in id (request) order.
func children(t testing.TB, api opsAPI, batch string) []*longrunningpb.Operation {
	t.Helper()
	var out []*longrunningpb.Operation
	token := ""
	for {
		page, err := api.List(context.Background(), `parent="`+batch+`"`, 3, token)
		if err != nil {
			t.Fatalf("list children of %s: %v", batch, err)
		}
		out = append(out, page.GetOperations()...)
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	slices.SortFunc(out, func(a, b *longrunningpb.Operation) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// watchBatch polls the batch until it is done and fails the test if more
// than limit children ever run at once; it returns the done batch.
func watchBatch(t testing.TB, api opsAPI, name string, limit int32, tick ...func()) (*longrunningpb.Operation, *xdrlinkv1.OperationMetadata) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	sawProgress := false
	for {
		op, err := api.Get(context.Background(), name)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		md := metadata(t, op)
		p := md.GetBatchProgress()
		if p.GetRunning() > limit {
			t.Fatalf("%d children running at once, max_concurrency %d: %v", p.GetRunning(), limit, p)
		}
		if sum := p.GetPending() + p.GetRunning() + p.GetSucceeded() + p.GetFailed() + p.GetActionRequired() + p.GetCancelled(); sum != p.GetTotal() {
			t.Fatalf("progress counts add up to %d, total %d: %v", sum, p.GetTotal(), p)
		}
		if !op.GetDone() && p.GetSucceeded()+p.GetFailed() > 0 {
			sawProgress = true
		}
		if op.GetDone() {
			if !sawProgress && p.GetTotal() > limit {
				t.Errorf("never saw the batch part done: progress was not visible while it ran")
			}
			return op, md
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not done after 3 minutes: %v", name, p)
		}
		for _, f := range tick {
			f()
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func batchResponse(t testing.TB, op *longrunningpb.Operation) *xdrlinkv1.BatchOnboardResponse {
	t.Helper()
	resp := &xdrlinkv1.BatchOnboardResponse{}
	if err := op.GetResponse().UnmarshalTo(resp); err != nil {
		t.Fatalf("response of %s: %v (error %v)", op.GetName(), err, op.GetError())
	}
	return resp
}

// TestBatchOnboardDemoWorld onboards the whole demo world in two batches,
// by names over gRPC and by filter over REST: the batch bounds its
// concurrency, shows progress while it runs, pages its children, and ends
// with each tenant's outcome; healthy tenants onboard, the others fail on
// their own without stopping the rest.
func TestBatchOnboardDemoWorld(t *testing.T) {
	d := startSandbox(t)
	autoApprove(t, d.azure.sandbox)
	kinds := map[string]azuresim.DemoKind{}
	var names []string
	for _, c := range d.azure.sandbox.Customers() {
		kinds["tenants/"+c.ID] = c.Kind
		names = append(names, "tenants/"+c.ID)
	}
	// A healthy customer whose history has a table that stopped arriving
	// onboards, and its first verification finds it DEGRADED.
	stopped := map[string]bool{}
	for _, tn := range d.azure.sandbox.Tenants() {
		for _, ws := range tn.Spec.Workspaces {
			if ws.History != nil && len(ws.History.Silent) > 0 {
				stopped[ws.Name] = true
			}
		}
	}
	half := names[:len(names)/2]
	opsTransports(t, d, func(t *testing.T, api opsAPI) {
		req := &xdrlinkv1.BatchOnboardRequest{MaxConcurrency: 3}
		want := half
		if _, rest := api.(restOps); rest {
			// The first half is onboarded (or failed) by now.
			req.Filter, want = "state=REGISTERED", names[len(half):]
			slices.Sort(want)
		} else {
			req.Tenants = half
		}
		op, err := api.BatchOnboard(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if md := metadata(t, op); md.GetKind() != xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_ONBOARD || md.GetBatchProgress().GetTotal() != int32(len(want)) {
			t.Fatalf("batch metadata = %v", md)
		}
		// No one can sign in for a customer without a Security
		// Administrator: the operator cancels those tenants' children.
		cancelNoAdmin := func() {
			for _, kid := range children(t, api, op.GetName()) {
				kmd := metadata(t, kid)
				if kinds[kmd.GetTenant()] == azuresim.DemoNoSecurityAdmin && kmd.GetState() == opActionRequired && !kmd.GetCancelRequested() {
					if err := api.Cancel(context.Background(), kid.GetName()); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		op, md := watchBatch(t, api, op.GetName(), 3, cancelNoAdmin)
		resp := batchResponse(t, op)
		kids := children(t, api, op.GetName())
		if len(resp.GetResults()) != len(want) || len(kids) != len(want) {
			t.Fatalf("%d results and %d children for %d tenants", len(resp.GetResults()), len(kids), len(want))
		}
		failed, cancelled := 0, 0
		for i, r := range resp.GetResults() {
			kid, kmd := kids[i], metadata(t, kids[i])
			if r.GetTenant() != want[i] || r.GetOperation() != kid.GetName() || kmd.GetTenant() != want[i] || kmd.GetParent() != op.GetName() {
				t.Errorf("result %d = %v; child %s of tenant %s, parent %s; want tenant %s", i, r, kid.GetName(), kmd.GetTenant(), kmd.GetParent(), want[i])
			}
			switch kinds[r.GetTenant()] {
			case azuresim.DemoHealthy:
				wantState := xdrlinkv1.Tenant_STATE_ONBOARDED
				if stopped["ws-"+strings.TrimPrefix(r.GetTenant(), "tenants/")] {
					wantState = xdrlinkv1.Tenant_STATE_DEGRADED
				}
				if r.GetState() != wantState || kmd.GetState() != opSucceeded {
					t.Errorf("healthy %s: tenant %v, child %v:\n%s", r.GetTenant(), r.GetState(), kmd.GetState(), describeSteps(kmd))
				}
			}
			if kmd.GetState() == opCancelled {
				cancelled++
				if kinds[r.GetTenant()] != azuresim.DemoNoSecurityAdmin || r.GetState() != xdrlinkv1.Tenant_STATE_REGISTERED {
					t.Errorf("%s (%s) cancelled, result %v", r.GetTenant(), kinds[r.GetTenant()], r.GetState())
				}
			}
			if kmd.GetState() == opFailed {
				failed++
				if r.GetState() != xdrlinkv1.Tenant_STATE_FAILED {
					t.Errorf("%s failed but its result says %v", r.GetTenant(), r.GetState())
				}
			}
		}
		p := md.GetBatchProgress()
		if int(p.GetFailed()) != failed || int(p.GetCancelled()) != cancelled || int(p.GetSucceeded()) != len(want)-failed-cancelled {
			t.Errorf("final progress %v; %d of %d children failed, %d cancelled", p, failed, len(want), cancelled)
		}
		if wantState := map[bool]xdrlinkv1.OperationState{true: opFailed, false: opSucceeded}[failed+cancelled > 0]; md.GetState() != wantState {
			t.Errorf("batch state %v with %d failed and %d cancelled children", md.GetState(), failed, cancelled)
		}
	})
}

// TestBatchOnboardBusyTenantAndCancel: a tenant busy with its own onboard
// fails in the batch at once while the others go on; children waiting for
// a sign-in do not hold the batch's places; cancelling the batch cancels
// every unfinished child, queued or waiting.
func TestBatchOnboardBusyTenantAndCancel(t *testing.T) {
	d := startSandbox(t)
	api := grpcOps{dial(t, d)}
	var healthy []string
	for _, c := range d.azure.sandbox.Customers() {
		if c.Kind == azuresim.DemoHealthy {
			healthy = append(healthy, "tenants/"+c.ID)
		}
	}
	busy, err := api.Onboard(context.Background(), &xdrlinkv1.OnboardRequest{Name: healthy[0]})
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, api, busy.GetName(), opActionRequired) // no approver: it waits for the sign-in

	batch, err := api.BatchOnboard(context.Background(), &xdrlinkv1.BatchOnboardRequest{Tenants: healthy[:8], MaxConcurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Every other child reaches the sign-in although only two places
	// exist: a child waiting for a human gives its place up.
	deadline := time.Now().Add(90 * time.Second)
	for {
		md := metadata(t, must(api.Get(context.Background(), batch.GetName())))
		p := md.GetBatchProgress()
		if p.GetActionRequired() == 7 && p.GetFailed() == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress %v; want 7 children waiting for a sign-in and the busy one failed", p)
		}
		time.Sleep(50 * time.Millisecond)
	}
	kids := children(t, api, batch.GetName())
	first := kids[0]
	if md := metadata(t, first); md.GetState() != opFailed || !strings.Contains(first.GetError().GetMessage(), busy.GetName()) {
		t.Errorf("child of the busy tenant: %v, error %v; want FAILED naming %s", md.GetState(), first.GetError(), busy.GetName())
	}
	if code := codes.Code(first.GetError().GetCode()); code != codes.FailedPrecondition {
		t.Errorf("busy child's error code %v", code)
	}

	if err := api.Cancel(context.Background(), batch.GetName()); err != nil {
		t.Fatal(err)
	}
	op, md := watchBatch(t, api, batch.GetName(), 2)
	if md.GetState() != opCancelled || md.GetBatchProgress().GetCancelled() != 7 {
		t.Fatalf("cancelled batch: %v %v", md.GetState(), md.GetBatchProgress())
	}
	for i, r := range batchResponse(t, op).GetResults() {
		if i > 0 && r.GetState() != xdrlinkv1.Tenant_STATE_REGISTERED {
			t.Errorf("%s is %v after its child was cancelled; want it back to REGISTERED", r.GetTenant(), r.GetState())
		}
	}
	// The busy tenant's own operation was not the batch's to cancel.
	if md := metadata(t, must(api.Get(context.Background(), busy.GetName()))); md.GetState() != opActionRequired {
		t.Errorf("the busy tenant's own operation is %v", md.GetState())
	}
}

// TestBatchOnboardRefusals: a batch over 10,000 names is refused (it
// needs the default body limit to arrive at all; the other refusals are in
// the bad-input table), and no refused batch stored anything.
func TestBatchOnboardRefusals(t *testing.T) {
	d := startSandbox(t, func(c *Config) { c.MaxBodyBytes = 1 << 20 })
	opsTransports(t, d, func(t *testing.T, api opsAPI) {
		_, err := api.BatchOnboard(context.Background(), &xdrlinkv1.BatchOnboardRequest{Tenants: manyNames(10001)})
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || !slices.Contains(violationFields(st), "tenants") {
			t.Errorf("10,001 names: %v %q, violations %v; want INVALID_ARGUMENT on tenants", st.Code(), st.Message(), violationFields(st))
		}
		for _, req := range badBatchOnboardCases() {
			_ = req.grpc(context.Background(), dial(t, d))
		}
		page, err := api.List(context.Background(), `kind=BATCH_ONBOARD`, 10, "")
		if err != nil || len(page.GetOperations()) != 0 {
			t.Errorf("a refused batch stored operations: %v, %v", page.GetOperations(), err)
		}
	})
}

func manyNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("tenants/t%d", i)
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// violationFields lists the BadRequest field violations of st.
func violationFields(st *status.Status) []string {
	var fields []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				fields = append(fields, v.GetField())
			}
		}
	}
	return fields
}

// TestStreamingLeaseSerializesWriters: while another operation holds the
// lease on a customer's streaming settings, the step that writes them
// waits (the steps before it run); once the lease is free it runs.
func TestStreamingLeaseSerializesWriters(t *testing.T) {
	d := startSandbox(t)
	autoApprove(t, d.azure.sandbox)
	api := grpcOps{dial(t, d)}
	c := customer(t, d, azuresim.DemoHealthy)
	key := "streaming/" + strings.ToLower(c.EntraTenantID)
	if held, err := d.store.AcquireLease(context.Background(), key, "another-operation", time.Minute); err != nil || !held {
		t.Fatalf("take the lease: %v %v", held, err)
	}
	op, err := api.Onboard(context.Background(), &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		md := metadata(t, must(api.Get(context.Background(), op.GetName())))
		if stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_CONNECT_ENTITIES).GetState() == xdrlinkv1.StepState_STEP_STATE_SUCCEEDED {
			break
		}
		if time.Now().After(deadline) || md.GetState() == opFailed {
			t.Fatalf("steps before the streaming one did not finish:\n%s", describeSteps(md))
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(3 * time.Second) // longer than a lease wait: the step tried again meanwhile
	md := metadata(t, must(api.Get(context.Background(), op.GetName())))
	if st := stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS); st.GetAttempts() != 0 || md.GetState() == opSucceeded {
		t.Fatalf("the streaming step ran while another operation held the lease:\n%s", describeSteps(md))
	}
	if err := d.store.ReleaseLease(context.Background(), key, "another-operation"); err != nil {
		t.Fatal(err)
	}
	waitState(t, api, op.GetName(), opSucceeded)
}

// TestBatchOnboardRequestID: a repeated request_id returns the batch it
// started; reused for another request, it is refused.
func TestBatchOnboardRequestID(t *testing.T) {
	d := startSandbox(t)
	opsTransports(t, d, func(t *testing.T, api opsAPI) {
		id := fmt.Sprintf("%08x-0000-4000-8000-%012x", rand.Uint32(), rand.Uint64()>>16)
		req := &xdrlinkv1.BatchOnboardRequest{Tenants: []string{"tenants/" + customer(t, d, azuresim.DemoNoLicense).ID}, RequestId: id}
		first, err := api.BatchOnboard(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		again, err := api.BatchOnboard(context.Background(), req)
		if err != nil || again.GetName() != first.GetName() {
			t.Fatalf("replay: %v, %v; want %s", again.GetName(), err, first.GetName())
		}
		other := &xdrlinkv1.BatchOnboardRequest{Filter: "state=REGISTERED", RequestId: id}
		_, err = api.BatchOnboard(context.Background(), other)
		if st := status.Convert(err); st.Code() != codes.InvalidArgument || !slices.Contains(violationFields(st), "request_id") {
			t.Errorf("request_id reused for another batch: %v %q", st.Code(), st.Message())
		}
		watchBatch(t, api, first.GetName(), 100)
	})
}

// TestWatchBatch: watching a batch (gRPC, and REST's newline-delimited
// JSON) sends it again as its children's counts change, although the
// batch's own record does not change until it ends.
func TestWatchBatch(t *testing.T) {
	d := startSandbox(t)
	autoApprove(t, d.azure.sandbox)
	var healthy []string
	for _, c := range d.azure.sandbox.Customers() {
		if c.Kind == azuresim.DemoHealthy {
			healthy = append(healthy, "tenants/"+c.ID)
		}
	}
	ctx := context.Background()
	c := dial(t, d)
	for i, transport := range []string{"grpc", "rest"} {
		batch, err := c.Onboarding.BatchOnboard(ctx, &xdrlinkv1.BatchOnboardRequest{Tenants: healthy[i*6 : i*6+6], MaxConcurrency: 2})
		if err != nil {
			t.Fatal(err)
		}
		var seen []*xdrlinkv1.BatchProgress
		var last *longrunningpb.Operation
		if transport == "grpc" {
			stream, err := c.OperationControl.WatchOperation(ctx, &xdrlinkv1.WatchOperationRequest{Name: batch.GetName()})
			if err != nil {
				t.Fatal(err)
			}
			for {
				m, err := stream.Recv()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				seen, last = append(seen, metadata(t, m).GetBatchProgress()), m
			}
		} else {
			// Not newREST's client: its 10s bound on the whole exchange
			// would cut a watch that lasts longer on a loaded machine.
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+d.HTTPAddr()+"/v1/"+batch.GetName()+":watch", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				m := &longrunningpb.Operation{}
				if err := protojson.Unmarshal(sc.Bytes(), m); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				seen, last = append(seen, metadata(t, m).GetBatchProgress()), m
			}
			resp.Body.Close()
		}
		if !last.GetDone() || last.GetName() != batch.GetName() {
			t.Fatalf("%s: the watch ended on %v", transport, last)
		}
		// Each message but the last (the batch done, with the counts of
		// the one before) differs from the one before, and the children's
		// successes show up one by one, not only at the end.
		partial := 0
		for j, p := range seen {
			if j > 0 && j < len(seen)-1 && proto.Equal(p, seen[j-1]) {
				t.Errorf("%s: message %d repeats the progress %v", transport, j, p)
			}
			if p.GetSucceeded() > 0 && p.GetSucceeded() < 6 {
				partial++
			}
		}
		if partial == 0 || seen[len(seen)-1].GetSucceeded() != 6 {
			t.Errorf("%s: progress seen %v; want some part done before all 6", transport, seen)
		}
	}
}
