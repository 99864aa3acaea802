package daemon

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/xdrlink/xdrlink/azuresim"
	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// opsAPI is the onboarding and operations API as a test sees it, so one
// test body runs over gRPC and over REST alike.
type opsAPI interface {
	Onboard(ctx context.Context, r *xdrlinkv1.OnboardRequest) (*longrunningpb.Operation, error)
	Offboard(ctx context.Context, r *xdrlinkv1.OffboardRequest) (*longrunningpb.Operation, error)
	BatchOnboard(ctx context.Context, r *xdrlinkv1.BatchOnboardRequest) (*longrunningpb.Operation, error)
	Get(ctx context.Context, name string) (*longrunningpb.Operation, error)
	List(ctx context.Context, filter string, pageSize int32, token string) (*longrunningpb.ListOperationsResponse, error)
	Cancel(ctx context.Context, name string) error
	Delete(ctx context.Context, name string) error
	Wait(ctx context.Context, name string, timeout time.Duration) (*longrunningpb.Operation, error)
	Resume(ctx context.Context, name, assertion string) (*longrunningpb.Operation, error)
}

type grpcOps struct{ c *client.Client }

func (g grpcOps) Onboard(ctx context.Context, r *xdrlinkv1.OnboardRequest) (*longrunningpb.Operation, error) {
	return g.c.Onboarding.Onboard(ctx, r)
}

func (g grpcOps) Offboard(ctx context.Context, r *xdrlinkv1.OffboardRequest) (*longrunningpb.Operation, error) {
	return g.c.Onboarding.Offboard(ctx, r)
}

func (g grpcOps) BatchOnboard(ctx context.Context, r *xdrlinkv1.BatchOnboardRequest) (*longrunningpb.Operation, error) {
	return g.c.Onboarding.BatchOnboard(ctx, r)
}

func (g grpcOps) Get(ctx context.Context, name string) (*longrunningpb.Operation, error) {
	return g.c.Operations.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
}

func (g grpcOps) List(ctx context.Context, filter string, pageSize int32, token string) (*longrunningpb.ListOperationsResponse, error) {
	return g.c.Operations.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: "operations", Filter: filter, PageSize: pageSize, PageToken: token})
}

func (g grpcOps) Cancel(ctx context.Context, name string) error {
	_, err := g.c.Operations.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: name})
	return err
}

func (g grpcOps) Delete(ctx context.Context, name string) error {
	_, err := g.c.Operations.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: name})
	return err
}

func (g grpcOps) Wait(ctx context.Context, name string, timeout time.Duration) (*longrunningpb.Operation, error) {
	return g.c.Operations.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: name, Timeout: durationpb.New(timeout)})
}

func (g grpcOps) Resume(ctx context.Context, name, assertion string) (*longrunningpb.Operation, error) {
	return g.c.OperationControl.ResumeOperation(ctx, &xdrlinkv1.ResumeOperationRequest{Name: name, UserAssertion: assertion})
}

type restOps struct{ a restAPI }

func (r restOps) Onboard(ctx context.Context, req *xdrlinkv1.OnboardRequest) (*longrunningpb.Operation, error) {
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodPost, "/v1/"+req.GetName()+":onboard", jsonBody(req), out)
}

func (r restOps) Offboard(ctx context.Context, req *xdrlinkv1.OffboardRequest) (*longrunningpb.Operation, error) {
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodPost, "/v1/"+req.GetName()+":offboard", jsonBody(req), out)
}

func (r restOps) BatchOnboard(ctx context.Context, req *xdrlinkv1.BatchOnboardRequest) (*longrunningpb.Operation, error) {
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodPost, "/v1/tenants:batchOnboard", jsonBody(req), out)
}

func (r restOps) Get(ctx context.Context, name string) (*longrunningpb.Operation, error) {
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodGet, "/v1/"+name, "", out)
}

func (r restOps) List(ctx context.Context, filter string, pageSize int32, token string) (*longrunningpb.ListOperationsResponse, error) {
	q := url.Values{"filter": {filter}, "page_size": {fmt.Sprint(pageSize)}, "page_token": {token}}
	out := &longrunningpb.ListOperationsResponse{}
	return out, r.a.call(ctx, http.MethodGet, "/v1/operations?"+q.Encode(), "", out)
}

func (r restOps) Cancel(ctx context.Context, name string) error {
	return r.a.call(ctx, http.MethodPost, "/v1/"+name+":cancel", "{}", &emptypb.Empty{})
}

func (r restOps) Delete(ctx context.Context, name string) error {
	return r.a.call(ctx, http.MethodDelete, "/v1/"+name, "", &emptypb.Empty{})
}

func (r restOps) Wait(ctx context.Context, name string, timeout time.Duration) (*longrunningpb.Operation, error) {
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodPost, "/v1/"+name+":wait", fmt.Sprintf(`{"timeout":"%.3fs"}`, timeout.Seconds()), out)
}

func (r restOps) Resume(ctx context.Context, name, assertion string) (*longrunningpb.Operation, error) {
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodPost, "/v1/"+name+":resume", jsonBody(&xdrlinkv1.ResumeOperationRequest{UserAssertion: assertion}), out)
}

// opsTransports runs f once per transport, as subtests "grpc" and "rest".
func opsTransports(t *testing.T, d *Daemon, f func(t *testing.T, api opsAPI)) {
	t.Run("grpc", func(t *testing.T) { f(t, grpcOps{dial(t, d)}) })
	t.Run("rest", func(t *testing.T) { f(t, restOps{newREST(d)}) })
}

// startSandbox runs xdrlinkd in sandbox mode with the demo customers
// registered and the workflow tuned for tests (fast job pickup).
func startSandbox(t testing.TB, mutate ...func(*Config)) *Daemon {
	t.Helper()
	return startDaemon(t, append([]func(*Config){func(c *Config) {
		c.SandboxRegister = true
		c.JobPollInterval = 50 * time.Millisecond
		c.StepTimeout = 30 * time.Second
		c.DeploymentPollInterval = 250 * time.Millisecond
	}}, mutate...)...)
}

// customer returns the first demo customer of kind, or with id when kind is "".
func customer(t testing.TB, d *Daemon, kind azuresim.DemoKind, skip ...string) azuresim.DemoCustomer {
	t.Helper()
	for _, c := range d.azure.sandbox.Customers() {
		if c.Kind == kind && !slices.Contains(skip, c.ID) {
			return c
		}
	}
	t.Fatalf("no demo customer of kind %q", kind)
	return azuresim.DemoCustomer{}
}

// metadata decodes an operation's metadata.
func metadata(t testing.TB, op *longrunningpb.Operation) *xdrlinkv1.OperationMetadata {
	t.Helper()
	md := &xdrlinkv1.OperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatalf("metadata of %s: %v", op.GetName(), err)
	}
	return md
}

// waitState polls until the operation's state is one of want.
func waitState(t testing.TB, api opsAPI, name string, want ...xdrlinkv1.OperationState) (*longrunningpb.Operation, *xdrlinkv1.OperationMetadata) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		op, err := api.Get(context.Background(), name)
		if err != nil {
			t.Fatalf("get %s: %v", name, err)
		}
		md := metadata(t, op)
		if slices.Contains(want, md.GetState()) {
			return op, md
		}
		if op.GetDone() || time.Now().After(deadline) {
			t.Fatalf("%s is %v (done %v), want %v; steps:\n%s", name, md.GetState(), op.GetDone(), want, describeSteps(md))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// describeSteps is a failure message's view of the steps.
func describeSteps(md *xdrlinkv1.OperationMetadata) string {
	var b strings.Builder
	for _, st := range md.GetSteps() {
		fmt.Fprintf(&b, "  %v %v attempts=%d: %s %v\n", st.GetKind(), st.GetState(), st.GetAttempts(), st.GetMessage(), st.GetError().GetMessage())
	}
	return b.String()
}

// stepOf returns the step of kind.
func stepOf(t testing.TB, md *xdrlinkv1.OperationMetadata, kind xdrlinkv1.StepKind) *xdrlinkv1.Step {
	t.Helper()
	for _, st := range md.GetSteps() {
		if st.GetKind() == kind {
			return st
		}
	}
	t.Fatalf("no step %v", kind)
	return nil
}

// approve approves the sign-in a waiting operation shows, as the customer's
// administrator.
func approve(t testing.TB, d *Daemon, md *xdrlinkv1.OperationMetadata) {
	t.Helper()
	for _, st := range md.GetSteps() {
		if code := st.GetRequiredAction().GetDeviceCode().GetUserCode(); code != "" {
			if err := d.azure.sandbox.ApproveDeviceCode(code, ""); err != nil {
				t.Fatalf("approve %s: %v", code, err)
			}
			return
		}
	}
	t.Fatalf("no device code to approve:\n%s", describeSteps(md))
}

// azureWrites counts the emulator's successful writes to Azure resources:
// ARM and streaming API calls other than reads and requirement checks.
func azureWrites(d *Daemon) int64 {
	var n int64
	for _, c := range d.azure.sandbox.RequestCounts() {
		if (c.Family != azuresim.FamilyARM && c.Family != azuresim.FamilyDefender) ||
			c.Method == http.MethodGet || c.Status >= 300 || strings.Contains(c.API, "CheckRequirements") {
			continue
		}
		n += c.Count
	}
	return n
}
