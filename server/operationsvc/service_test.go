package operationsvc

import (
	"context"
	"slices"
	"strings"
	"sync"
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
	// "nope" is not found before the controller is asked (the caller may
	// not see it either way).
	if !slices.Equal(cancelled, []string{"a"}) || !slices.Equal(resumed, []string{"d tok", "a "}) {
		t.Errorf("controller got cancel %q, resume %q", cancelled, resumed)
	}
}

// watchedStore is the service's store, telling the test about each read of
// an operation (its ordinal for that id, when it happened and the deadline of
// the context it was made under), so that a wait is checked by what it did
// and in what order, not by how long it took.
type watchedStore struct {
	*sqlite.Store
	mu     sync.Mutex
	reads  map[string]int
	onRead func(id string, n int, at, deadline time.Time)
}

func (w *watchedStore) GetOperation(ctx context.Context, id string) (*store.Operation, error) {
	row, err := w.Store.GetOperation(ctx, id)
	at := time.Now()
	dl, _ := ctx.Deadline()
	w.mu.Lock()
	w.reads[id]++
	n, hook := w.reads[id], w.onRead
	w.mu.Unlock()
	if hook != nil {
		hook(id, n, at, dl)
	}
	return row, err
}

func (w *watchedStore) watch(hook func(id string, n int, at, deadline time.Time)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reads = map[string]int{}
	w.onRead = hook
}

func (w *watchedStore) readsOf(id string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reads[id]
}

func TestWaitOperation(t *testing.T) {
	ctx := t.Context()
	st := newStore(t)
	seedFour(t, st)
	ws := &watchedStore{Store: st}
	ws.watch(nil)
	ctl := &fakeController{st: st}
	// MaxWait is far beyond anything here: a wait that returned did so for
	// its own reason (done, timeout, the call's deadline), not the cap.
	svc := New(ws, ctl, Options{PollInterval: 10 * time.Millisecond, MaxWait: time.Hour})
	type result struct {
		op   *longrunningpb.Operation
		took time.Duration
		err  error
	}
	// waitOn calls svc's WaitOperation. Every wait here ends by itself; a
	// minute bounds how long the test waits for one that does not.
	waitOn := func(t *testing.T, svc *Service, ctx context.Context, id string, timeout *durationpb.Duration) (*longrunningpb.Operation, time.Duration, error) {
		t.Helper()
		res := make(chan result, 1)
		go func() {
			start := time.Now()
			op, err := svc.WaitOperation(ctx, &longrunningpb.WaitOperationRequest{Name: "operations/" + id, Timeout: timeout})
			res <- result{op, time.Since(start), err}
		}()
		select {
		case r := <-res:
			return r.op, r.took, r.err
		case <-time.After(time.Minute):
			t.Fatalf("WaitOperation(%s, %v) had not returned after a minute", id, timeout.AsDuration())
			return nil, 0, nil
		}
	}
	wait := func(t *testing.T, ctx context.Context, id string, timeout *durationpb.Duration) (*longrunningpb.Operation, time.Duration, error) {
		t.Helper()
		return waitOn(t, svc, ctx, id, timeout)
	}

	t.Run("done already", func(t *testing.T) {
		// A second read would be a poll: it ends the call at once.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		ws.watch(func(id string, n int, _, _ time.Time) {
			if n > 1 {
				cancel()
			}
		})
		op, _, err := wait(t, cctx, "b", durationpb.New(time.Hour))
		if n := ws.readsOf("b"); err != nil || !op.GetDone() || n != 1 {
			t.Errorf("got %v after %d reads, %v; want done at once (one read, no poll)", op, n, err)
		}
	})
	t.Run("becomes done", func(t *testing.T) {
		// a is finished once the wait has polled it and found it running.
		// The second read that starts after the change must see it and end
		// the wait: a third ends the call.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		polled, updated := make(chan struct{}), 0
		ws.watch(func(id string, n int, _, _ time.Time) {
			if id != "a" {
				return
			}
			if n == 2 {
				close(polled)
			}
			ws.mu.Lock()
			after := updated
			ws.mu.Unlock()
			if after > 0 && n > after+2 {
				cancel()
			}
		})
		errc := make(chan error, 1)
		go func() {
			<-polled
			_, err := update(st, "a", finish)
			ws.mu.Lock()
			updated = ws.reads["a"]
			ws.mu.Unlock()
			errc <- err
		}()
		op, _, err := wait(t, cctx, "a", durationpb.New(time.Hour))
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if n := ws.readsOf("a"); err != nil || !op.GetDone() || n < 3 {
			t.Errorf("got %v after %d reads, %v; want done, seen by a poll after the change", op, n, err)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		// A poll bounded by anything but the 30ms timeout ends the call.
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		before := time.Now()
		var pollDeadline time.Time
		ws.watch(func(id string, n int, _, dl time.Time) {
			if id == "c" && n >= 2 && (dl.IsZero() || dl.Sub(before) > time.Minute) {
				pollDeadline = dl
				cancel()
			}
		})
		op, took, err := wait(t, cctx, "c", durationpb.New(30*time.Millisecond))
		if err != nil || op.GetDone() || op.GetName() != "operations/c" || took < 30*time.Millisecond {
			t.Errorf("got %v after %v, %v; want not done after 30ms", op, took, err)
		}
		if cctx.Err() != nil {
			t.Errorf("polled until %v: the 30ms timeout did not bound the wait", pollDeadline)
		}
	})
	t.Run("capped at MaxWait", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		before := time.Now()
		var pollDeadline time.Time
		ws.watch(func(id string, n int, _, dl time.Time) {
			if id == "c" && n >= 2 && (dl.IsZero() || dl.Sub(before) > time.Minute) {
				pollDeadline = dl
				cancel()
			}
		})
		capped := New(ws, ctl, Options{PollInterval: 10 * time.Millisecond, MaxWait: 50 * time.Millisecond})
		op, took, err := waitOn(t, capped, cctx, "c", durationpb.New(time.Hour))
		if err != nil || op.GetDone() || took < 50*time.Millisecond {
			t.Errorf("got %v after %v, %v; want not done after MaxWait (50ms)", op, took, err)
		}
		if cctx.Err() != nil {
			t.Errorf("polled until %v: MaxWait (50ms) did not bound the wait", pollDeadline)
		}
	})
	t.Run("call deadline", func(t *testing.T) {
		// The wait plans to end deadlineMargin before the call's deadline,
		// so the reply reaches the caller in time; the first poll shows the
		// plan and ends the call.
		dctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		defer cancel()
		callDeadline, _ := dctx.Deadline()
		var polledAt, pollDeadline time.Time
		ws.watch(func(id string, n int, at, dl time.Time) {
			if id == "c" && n == 2 {
				polledAt, pollDeadline = at, dl
				cancel()
			}
		})
		start := time.Now()
		op, _, err := wait(t, dctx, "c", nil)
		if err != nil || op.GetDone() || polledAt.IsZero() {
			t.Fatalf("got %v, %v (polled at %v); want not done, after a poll", op, err, polledAt)
		}
		// The wait computes its end from the time left, a moment before it
		// starts: its end is at most that moment later than the plan.
		planned := callDeadline.Add(-deadlineMargin)
		if pollDeadline.Before(planned) || pollDeadline.Sub(planned) > polledAt.Sub(start) {
			t.Errorf("waited until %v, %v before the call's deadline; want %v before it", pollDeadline, callDeadline.Sub(pollDeadline), deadlineMargin)
		}
	})
	t.Run("bad requests", func(t *testing.T) {
		_, _, err := wait(t, ctx, "c", durationpb.New(-time.Second))
		if f := wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT); f["timeout"] == "" {
			t.Errorf("negative timeout: violations %v", f)
		}
		_, _, err = wait(t, ctx, "nope", nil)
		wantErr(t, err, codes.NotFound, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND)
		_, _, err = wait(t, ctx, "", nil)
		wantErr(t, err, codes.InvalidArgument, xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT)
	})
}
