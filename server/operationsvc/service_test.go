package operationsvc

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/sqlite"
)

const (
	kindOnboard      = xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD
	kindVerify       = xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY
	kindBatchOnboard = xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_ONBOARD
	statePending     = xdrlinkv1.OperationState_OPERATION_STATE_PENDING
	stateRunning     = xdrlinkv1.OperationState_OPERATION_STATE_RUNNING
	stateSucceeded   = xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED
)

func newService(t *testing.T, opts Options) (*Service, *sqlite.Store, *fakeController) {
	t.Helper()
	st := newStore(t)
	ctl := &fakeController{st: st}
	return New(st, ctl, opts), st, ctl
}

// seedFour stores, oldest first: a (contoso onboard, running), b (fabrikam
// verify, succeeded), c (batch onboard, running), d (contoso onboard,
// pending, child of c). Ids ascend too, so newest-first order is d c b a
// even if two create times tie.
func seedFour(t *testing.T, st *sqlite.Store) {
	for _, s := range []seedOp{
		{id: "a", tenant: "contoso", kind: kindOnboard, state: stateRunning},
		{id: "b", tenant: "fabrikam", kind: kindVerify, state: stateSucceeded},
		{id: "c", kind: kindBatchOnboard, state: stateRunning},
		{id: "d", tenant: "contoso", parent: "c", kind: kindOnboard, state: statePending},
	} {
		seed(t, st, s)
	}
}

func names(ops []*longrunningpb.Operation) string {
	var ids []string
	for _, op := range ops {
		ids = append(ids, strings.TrimPrefix(op.GetName(), "operations/"))
	}
	return strings.Join(ids, " ")
}

func TestGetOperation(t *testing.T) {
	ctx := t.Context()
	svc, st, _ := newService(t, Options{})
	seedFour(t, st)

	op, err := svc.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: "operations/d"})
	if err != nil {
		t.Fatal(err)
	}
	md := &xdrlinkv1.OperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatal(err)
	}
	if op.GetName() != "operations/d" || op.GetDone() || md.GetTenant() != "tenants/contoso" ||
		md.GetParent() != "operations/c" || md.GetState() != statePending {
		t.Errorf("got %v with %v", op, md)
	}

	_, err = svc.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: "operations/nope"})
	wantErr(t, err, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)

	for _, name := range []string{"", "operations/", "d", "operations/D", "operations/-d", "tenants/d", "operations/a/b",
		"operations/" + strings.Repeat("a", 64)} {
		_, err := svc.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
		if f := wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT); f["name"] == "" {
			t.Errorf("name %q: violations %v, want one on name", name, f)
		}
	}
}

// A store failure reaches the caller as INTERNAL without its text.
func TestStoreErrorIsHidden(t *testing.T) {
	svc := New(failingStore{}, nil, Options{})
	_, err := svc.GetOperation(t.Context(), &longrunningpb.GetOperationRequest{Name: "operations/a"})
	wantErr(t, err, codes.Internal, xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL)
	if strings.Contains(apierr.Status(err).Message(), "secret") {
		t.Errorf("message %q leaks the cause", apierr.Status(err).Message())
	}
}

type failingStore struct{ Store }

func (failingStore) GetOperation(context.Context, string) (*store.Operation, error) {
	return nil, errBoom
}

func TestListOperations(t *testing.T) {
	ctx := t.Context()
	svc, st, _ := newService(t, Options{})
	seedFour(t, st)

	for _, tt := range []struct{ name, filter, want string }{
		{"", "", "d c b a"},
		{"operations", "", "d c b a"},
		{"", `tenant = "tenants/contoso"`, "d a"},
		{"", "tenant = contoso", "d a"},
		{"", "kind = ONBOARD", "d a"},
		{"", "kind = OPERATION_KIND_VERIFY", "b"},
		{"", "kind = batch_onboard", "c"},
		{"", "state = RUNNING", "c a"},
		{"", "state = OPERATION_STATE_SUCCEEDED", "b"},
		{"", `parent = "operations/c"`, "d"},
		{"", "parent = c", "d"},
		{"", "tenant = contoso AND state = PENDING", "d"},
		{"", `tenant = contoso AND tenant = "tenants/contoso"`, "d a"},
		{"", "tenant = nobody", ""},
	} {
		resp, err := svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: tt.name, Filter: tt.filter})
		if err != nil {
			t.Errorf("filter %q: %v", tt.filter, err)
			continue
		}
		if got := names(resp.GetOperations()); got != tt.want || resp.GetNextPageToken() != "" {
			t.Errorf("filter %q: %q (token %q), want %q", tt.filter, got, resp.GetNextPageToken(), tt.want)
		}
	}

	// Pages: unfiltered, then filtered.
	var got []string
	req := &longrunningpb.ListOperationsRequest{PageSize: 2}
	for range 3 {
		resp, err := svc.ListOperations(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, names(resp.GetOperations()))
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	if want := []string{"d c", "b a"}; !slices.Equal(got, want) && !slices.Equal(got, append(want, "")) {
		t.Errorf("pages %q, want %q", got, want)
	}
	resp, err := svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{PageSize: 1, Filter: "tenant = contoso"})
	if err != nil || names(resp.GetOperations()) != "d" || resp.GetNextPageToken() == "" {
		t.Fatalf("first page %v, %v", resp, err)
	}
	token := resp.GetNextPageToken()
	resp, err = svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{PageSize: 1, Filter: `tenant = "tenants/contoso"`, PageToken: token})
	if err != nil || names(resp.GetOperations()) != "a" {
		t.Fatalf("second page (same filter, other spelling) %v, %v", resp, err)
	}

	for _, filter := range []string{"foo = x", "kind = NOPE", "state = ONBOARD", `tenant = "tenants/"`, `parent = "operations/"`, `tenant = "a/b"`,
		"state = RUNNING AND state = PENDING", "tenant =", "kind != ONBOARD"} {
		_, err := svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Filter: filter})
		if f := wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_FILTER); f["filter"] == "" {
			t.Errorf("filter %q: violations %v", filter, f)
		}
	}
	_, err = svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Filter: "foo = x"})
	if msg := apierr.Status(err).Message(); !strings.Contains(msg, "tenant, kind, state, parent") {
		t.Errorf("unknown field message %q does not name the filterable fields", msg)
	}

	for _, pt := range []string{"garbage", token + "x"} {
		_, err = svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{PageToken: pt, Filter: "tenant = contoso"})
		wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN)
	}
	// A token is bound to its filter.
	_, err = svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{PageToken: token, Filter: "tenant = fabrikam"})
	wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN)

	_, err = svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{PageSize: -1})
	if f := wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT); f["page_size"] == "" {
		t.Errorf("negative page size: violations %v", f)
	}
	for _, name := range []string{"operations/a", "tenants", "ops"} {
		_, err = svc.ListOperations(ctx, &longrunningpb.ListOperationsRequest{Name: name})
		if f := wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT); f["name"] == "" {
			t.Errorf("name %q: violations %v", name, f)
		}
	}
}

func TestDeleteOperation(t *testing.T) {
	ctx := t.Context()
	svc, st, _ := newService(t, Options{})
	seedFour(t, st)

	_, err := svc.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: "operations/a"})
	wantErr(t, err, codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_DONE)
	if msg := apierr.Status(err).Message(); !strings.Contains(msg, "cancel") {
		t.Errorf("message %q does not say to cancel first", msg)
	}
	if _, err := st.GetOperation(ctx, "a"); err != nil {
		t.Errorf("running operation gone after refused delete: %v", err)
	}

	if _, err := svc.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: "operations/b"}); err != nil {
		t.Fatal(err)
	}
	_, err = svc.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: "operations/b"})
	wantErr(t, err, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)
	_, err = svc.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: "operations/b"})
	wantErr(t, err, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)
	_, err = svc.DeleteOperation(ctx, &longrunningpb.DeleteOperationRequest{Name: "b"})
	wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT)
}

func TestCancelAndResume(t *testing.T) {
	ctx := t.Context()
	svc, st, ctl := newService(t, Options{})
	seedFour(t, st)

	if _, err := svc.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: "operations/a"}); err != nil {
		t.Fatal(err)
	}
	_, err := svc.CancelOperation(ctx, &longrunningpb.CancelOperationRequest{Name: "operations/nope"})
	wantErr(t, err, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)
	op, err := svc.ResumeOperation(ctx, &xdrlinkv1.ResumeOperationRequest{Name: "operations/d", UserAssertion: "tok"})
	if err != nil || op.GetName() != "operations/d" {
		t.Fatalf("resume: %v, %v", op, err)
	}
	_, err = svc.ResumeOperation(ctx, &xdrlinkv1.ResumeOperationRequest{Name: "Operations/d"})
	wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT)

	// The controller's own API errors reach the caller unchanged.
	notResumable := &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_RESUMABLE,
		Message: "operations/a is not waiting for an action"}
	ctl.mu.Lock()
	ctl.resumeErr = notResumable
	ctl.mu.Unlock()
	_, err = svc.ResumeOperation(ctx, &xdrlinkv1.ResumeOperationRequest{Name: "operations/a"})
	wantErr(t, err, codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_RESUMABLE)
	if msg := apierr.Status(err).Message(); msg != notResumable.Message {
		t.Errorf("message %q, want %q", msg, notResumable.Message)
	}

	cancelled, resumed := ctl.calls()
	if !slices.Equal(cancelled, []string{"a", "nope"}) || !slices.Equal(resumed, []string{"d tok", "a "}) {
		t.Errorf("controller got cancel %q, resume %q", cancelled, resumed)
	}
}

func TestWaitOperation(t *testing.T) {
	ctx := t.Context()
	svc, st, _ := newService(t, Options{PollInterval: 10 * time.Millisecond, MaxWait: 200 * time.Millisecond})
	seedFour(t, st)
	wait := func(ctx context.Context, id string, timeout *durationpb.Duration) (*longrunningpb.Operation, time.Duration, error) {
		start := time.Now()
		op, err := svc.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: "operations/" + id, Timeout: timeout})
		return op, time.Since(start), err
	}

	t.Run("done already", func(t *testing.T) {
		op, took, err := wait(ctx, "b", durationpb.New(time.Hour))
		if err != nil || !op.GetDone() || took > 100*time.Millisecond {
			t.Errorf("got %v after %v, %v; want done at once", op, took, err)
		}
	})
	t.Run("becomes done", func(t *testing.T) {
		errc := make(chan error, 1)
		go func() {
			time.Sleep(50 * time.Millisecond)
			_, err := update(st, "a", finish)
			errc <- err
		}()
		op, took, err := wait(ctx, "a", durationpb.New(10*time.Second))
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if err != nil || !op.GetDone() || took < 40*time.Millisecond || took > 2*time.Second {
			t.Errorf("got %v after %v, %v; want done after about 50ms", op, took, err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		op, took, err := wait(ctx, "c", durationpb.New(30*time.Millisecond))
		if err != nil || op.GetDone() || op.GetName() != "operations/c" || took < 30*time.Millisecond || took > time.Second {
			t.Errorf("got %v after %v, %v; want not done after 30ms", op, took, err)
		}
	})
	t.Run("capped at MaxWait", func(t *testing.T) {
		op, took, err := wait(ctx, "c", durationpb.New(time.Hour))
		if err != nil || op.GetDone() || took < 200*time.Millisecond || took > 2*time.Second {
			t.Errorf("got %v after %v, %v; want not done after MaxWait (200ms)", op, took, err)
		}
	})
	t.Run("call deadline", func(t *testing.T) {
		dctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		defer cancel()
		op, took, err := wait(dctx, "c", nil)
		if err != nil || op.GetDone() || took >= 150*time.Millisecond {
			t.Errorf("got %v after %v, %v; want not done before the 150ms deadline", op, took, err)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		_, _, err := wait(ctx, "c", durationpb.New(-time.Second))
		if f := wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT); f["timeout"] == "" {
			t.Errorf("negative timeout: violations %v", f)
		}
		_, _, err = wait(ctx, "nope", nil)
		wantErr(t, err, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)
		_, _, err = wait(ctx, "", nil)
		wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT)
	})
}
