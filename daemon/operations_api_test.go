package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/google/uuid"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestCancelWaitingOperation: cancelling an operation paused for a sign-in
// stops it at once: CANCELLED with code CANCELLED, the tenant back where it
// was, and its sign-in secret gone.
func TestCancelWaitingOperation(t *testing.T) {
	d := startSandbox(t)
	var used []string
	opsTransports(t, d, func(t *testing.T, api opsAPI) {
		ctx := context.Background()
		c := customer(t, d, azuresim.DemoConsentNeeded, used...)
		used = append(used, c.ID)
		op, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, api, op.GetName(), opActionRequired)
		id := strings.TrimPrefix(op.GetName(), "operations/")
		if _, err := d.store.GetOperationSecret(ctx, id); err != nil {
			t.Fatalf("waiting operation has no sign-in secret: %v", err)
		}
		// The tenant's record of what the operation applies must not vanish under it.
		_, err = dial(t, d).Tenants.DeleteTenant(ctx, &xdrlinkv1.DeleteTenantRequest{Name: "tenants/" + c.ID})
		wantReason(t, err, codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS)
		if err := api.Cancel(ctx, op.GetName()); err != nil {
			t.Fatal(err)
		}
		op, err = api.Wait(ctx, op.GetName(), 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if md := metadata(t, op); !op.GetDone() || md.GetState() != opCancelled || codes.Code(op.GetError().GetCode()) != codes.Canceled || !md.GetCancelRequested() {
			t.Fatalf("cancelled operation: %v", op)
		}
		if _, err := d.store.GetOperationSecret(ctx, id); err == nil {
			t.Error("the sign-in secret outlived its operation")
		}
		tn, err := dial(t, d).Tenants.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: "tenants/" + c.ID})
		if err != nil {
			t.Fatal(err)
		}
		if tn.GetState() != xdrlinkv1.Tenant_STATE_REGISTERED {
			t.Errorf("tenant state after cancel %v, want REGISTERED (as before)", tn.GetState())
		}
		// Cancelling again is harmless; a finished operation can be deleted.
		if err := api.Cancel(ctx, op.GetName()); err != nil {
			t.Errorf("second cancel: %v", err)
		}
		if err := api.Delete(ctx, op.GetName()); err != nil {
			t.Fatal(err)
		}
		if _, err := api.Get(ctx, op.GetName()); status.Code(err) != codes.NotFound {
			t.Errorf("deleted operation: %v", err)
		}
	})
}

// TestOperationRules: request_id replay, one active operation per tenant,
// deleting only finished operations, validate_only, and list filters.
func TestOperationRules(t *testing.T) {
	d := startSandbox(t)
	var used []string
	opsTransports(t, d, func(t *testing.T, api opsAPI) {
		ctx := context.Background()
		a := customer(t, d, azuresim.DemoConsentNeeded, used...)
		used = append(used, a.ID)
		b := customer(t, d, azuresim.DemoNoLicense, used...)
		used = append(used, b.ID)
		rid := uuid.NewString()

		// validate_only: the plan, nothing stored or written.
		writes := azureWrites(d)
		plan, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + a.ID, ValidateOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		pmd := metadata(t, plan)
		var planned int
		for _, st := range pmd.GetSteps() {
			planned += len(st.GetWrites())
		}
		if !plan.GetDone() || plan.GetName() != "" || !pmd.GetValidateOnly() || len(pmd.GetSteps()) != 8 || planned == 0 {
			t.Fatalf("plan %v", plan)
		}
		if n := azureWrites(d) - writes; n != 0 {
			t.Errorf("validate_only made %d writes", n)
		}
		if l, err := api.List(ctx, `tenant="tenants/`+a.ID+`"`, 0, ""); err != nil || len(l.GetOperations()) != 0 {
			t.Fatalf("validate_only stored an operation: %v %v", l, err)
		}

		op, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + a.ID, RequestId: rid})
		if err != nil {
			t.Fatal(err)
		}
		again, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + a.ID, RequestId: rid})
		if err != nil || again.GetName() != op.GetName() {
			t.Fatalf("replayed request_id: %v, %v; want %s", again.GetName(), err, op.GetName())
		}
		_, err = api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + b.ID, RequestId: rid})
		wantReason(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_ID_REUSED)

		_, err = api.Offboard(ctx, &xdrlinkv1.OffboardRequest{Name: "tenants/" + a.ID})
		wantReason(t, err, codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS)
		if !strings.Contains(status.Convert(err).Message(), op.GetName()) {
			t.Errorf("in-progress error does not name %s: %v", op.GetName(), err)
		}
		err = api.Delete(ctx, op.GetName())
		wantReason(t, err, codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_DONE)

		waitState(t, api, op.GetName(), opActionRequired)
		failed, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + b.ID})
		if err != nil {
			t.Fatal(err)
		}
		waitState(t, api, failed.GetName(), opFailed)

		for _, tc := range []struct {
			filter string
			want   []string
		}{
			{`tenant="tenants/` + a.ID + `"`, []string{op.GetName()}},
			{`tenant="` + b.ID + `" AND state=FAILED`, []string{failed.GetName()}},
			{`state=OPERATION_STATE_ACTION_REQUIRED AND tenant="` + a.ID + `"`, []string{op.GetName()}},
			{`kind=ONBOARD AND tenant="` + b.ID + `"`, []string{failed.GetName()}},
			{`kind=OFFBOARD AND tenant="` + b.ID + `"`, nil},
		} {
			got, err := api.List(ctx, tc.filter, 0, "")
			if err != nil {
				t.Fatalf("%s: %v", tc.filter, err)
			}
			var names []string
			for _, o := range got.GetOperations() {
				names = append(names, o.GetName())
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Errorf("List(%s) = %v, want %v", tc.filter, names, tc.want)
			}
		}
		// Paging: one at a time, newest first, no repeats.
		first, err := api.List(ctx, "", 1, "")
		if err != nil || len(first.GetOperations()) != 1 || first.GetNextPageToken() == "" {
			t.Fatalf("first page %v %v", first, err)
		}
		second, err := api.List(ctx, "", 1, first.GetNextPageToken())
		if err != nil || len(second.GetOperations()) != 1 || second.GetOperations()[0].GetName() == first.GetOperations()[0].GetName() {
			t.Fatalf("second page %v %v", second, err)
		}
		if err := api.Cancel(ctx, op.GetName()); err != nil {
			t.Fatal(err)
		}
		waitState(t, api, op.GetName(), opCancelled)
	})
}

func wantReason(t testing.TB, err error, code codes.Code, reason xdrlinkv1.ErrorReason) {
	t.Helper()
	st := status.Convert(err)
	got, _ := errorInfo(t, st.Proto().GetDetails())
	if st.Code() != code || got != reason.String() {
		t.Errorf("error %v (reason %s), want %v %v", err, got, code, reason)
	}
}

// TestWatchOperation streams every change until the operation is done, over
// gRPC and as newline-delimited JSON over REST.
func TestWatchOperation(t *testing.T) {
	d := startSandbox(t)
	ctx := context.Background()
	c := customer(t, d, azuresim.DemoNoLicense)
	op, err := dial(t, d).Onboarding.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	stream, err := dial(t, d).OperationControl.WatchOperation(ctx, &xdrlinkv1.WatchOperationRequest{Name: op.GetName()})
	if err != nil {
		t.Fatal(err)
	}
	var seen []*longrunningpb.Operation
	for {
		m, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, m)
	}
	if len(seen) < 2 || !seen[len(seen)-1].GetDone() || seen[0].GetDone() && len(seen) > 1 {
		t.Fatalf("gRPC watch saw %d messages, last done=%v", len(seen), seen[len(seen)-1].GetDone())
	}

	// REST, once finished: one line, the done operation, then the end.
	resp, err := newREST(d).raw(ctx, http.MethodGet, "/v1/"+op.GetName()+":watch", "")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "ndjson") {
		t.Fatalf("REST watch: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	var lines int
	var last *longrunningpb.Operation
	for sc.Scan() {
		lines++
		last = &longrunningpb.Operation{}
		if err := protojson.Unmarshal(sc.Bytes(), last); err != nil {
			t.Fatalf("line %d is not an Operation: %v: %s", lines, err, sc.Text())
		}
	}
	if lines != 1 || !last.GetDone() || last.GetName() != op.GetName() {
		t.Errorf("REST watch of a finished operation: %d lines, last %v", lines, last)
	}

	// An unknown operation is the ordinary REST error, not a stream.
	resp, err = newREST(d).raw(ctx, http.MethodGet, "/v1/operations/nope:watch", "")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var st struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if resp.StatusCode != 404 || json.Unmarshal(body, &st) != nil || st.Code != int(codes.NotFound) {
		t.Errorf("watch of an unknown operation: %d %s", resp.StatusCode, body)
	}
}

// TestSignInExpiredOrDeclined: a sign-in nobody completes in time, or that
// the administrator declines, fails the step with SIGN_IN_FAILED and says
// how to go on; the secret is gone with the operation.
func TestSignInExpiredOrDeclined(t *testing.T) {
	d := startSandbox(t)
	api := grpcOps{dial(t, d)}
	sim := d.azure.sandbox
	var used []string
	for _, tc := range []struct {
		name string
		end  func(t *testing.T, code string)
		want string
	}{
		{"expired", func(*testing.T, string) { sim.AdvanceClock(16 * time.Minute) }, "expired"},
		{"declined", func(t *testing.T, code string) {
			if err := sim.DeclineDeviceCode(code); err != nil {
				t.Fatal(err)
			}
		}, "declined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			c := customer(t, d, azuresim.DemoConsentNeeded, used...)
			used = append(used, c.ID)
			op, err := api.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
			if err != nil {
				t.Fatal(err)
			}
			_, md := waitState(t, api, op.GetName(), opActionRequired)
			st := stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS)
			tc.end(t, st.GetRequiredAction().GetDeviceCode().GetUserCode())
			if _, err := api.Resume(ctx, op.GetName(), ""); err != nil {
				t.Fatal(err)
			}
			op, md = waitState(t, api, op.GetName(), opFailed)
			st = stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS)
			reason, meta := errorInfo(t, op.GetError().GetDetails())
			if st.GetState() != xdrlinkv1.StepState_STEP_STATE_FAILED || reason != xdrlinkv1.ErrorReason_ERROR_REASON_SIGN_IN_FAILED.String() ||
				!strings.Contains(op.GetError().GetMessage(), tc.want) || !strings.Contains(meta["remedy"], "start the operation again") {
				t.Fatalf("error %v (%s %v):\n%s", op.GetError(), reason, meta, describeSteps(md))
			}
			if _, err := d.store.GetOperationSecret(ctx, strings.TrimPrefix(op.GetName(), "operations/")); err == nil {
				t.Error("the sign-in secret outlived its operation")
			}
		})
	}
}
