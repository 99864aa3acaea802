package operationsvc

import (
	"context"
	"errors"
	"sync"
	"testing"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/sqlite"
	"github.com/xdrlink/xdrlink/workflow/oprecord"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.New(t.Context(), sqlite.Memory)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

// seedOp describes one operation to store.
type seedOp struct {
	id, tenant, parent string
	kind               xdrlinkv1.OperationKind
	state              xdrlinkv1.OperationState
}

func seed(t *testing.T, st *sqlite.Store, s seedOp) *store.Operation {
	t.Helper()
	md := &xdrlinkv1.OperationMetadata{Kind: s.kind, State: s.state}
	if s.tenant != "" {
		md.Tenant = tenantrecord.NamePrefix + s.tenant
	}
	if s.parent != "" {
		md.Parent = oprecord.NamePrefix + s.parent
	}
	rec := &oprecord.Record{Row: &store.Operation{ID: s.id}, Op: &longrunningpb.Operation{Done: oprecord.Terminal(s.state)}, Metadata: md}
	if err := rec.Encode(); err != nil {
		t.Fatal(err)
	}
	row, err := st.CreateOperation(context.Background(), rec.Row)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// update applies change to the stored operation id, as the engine would.
// It uses context.Background: it may run in a goroutine after the test's
// context ended.
func update(st *sqlite.Store, id string, change func(*oprecord.Record)) (*store.Operation, error) {
	ctx := context.Background()
	row, err := st.GetOperation(ctx, id)
	if err != nil {
		return nil, err
	}
	rec, err := oprecord.Decode(row)
	if err != nil {
		return nil, err
	}
	change(rec)
	if err := rec.Encode(); err != nil {
		return nil, err
	}
	return st.UpdateOperation(ctx, rec.Row)
}

func mustUpdate(t *testing.T, st *sqlite.Store, id string, change func(*oprecord.Record)) *store.Operation {
	t.Helper()
	row, err := update(st, id, change)
	if err != nil {
		t.Fatal(err)
	}
	return row
}

// finish marks an operation succeeded and done.
func finish(rec *oprecord.Record) {
	rec.Metadata.State = xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED
	rec.Op.Done = true
}

// fakeController records calls and answers with the stored operation.
type fakeController struct {
	st *sqlite.Store

	mu        sync.Mutex
	cancelled []string
	resumed   []string // id + " " + assertion
	resumeErr error    // returned by Resume when set
}

func (f *fakeController) Cancel(ctx context.Context, id string) (*oprecord.Record, error) {
	f.mu.Lock()
	f.cancelled = append(f.cancelled, id)
	f.mu.Unlock()
	return f.read(ctx, id)
}

func (f *fakeController) Resume(ctx context.Context, id, userAssertion string) (*oprecord.Record, error) {
	f.mu.Lock()
	f.resumed = append(f.resumed, id+" "+userAssertion)
	err := f.resumeErr
	f.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return f.read(ctx, id)
}

func (f *fakeController) read(ctx context.Context, id string) (*oprecord.Record, error) {
	row, err := f.st.GetOperation(ctx, id)
	if err != nil {
		return nil, err
	}
	return oprecord.Decode(row)
}

func (f *fakeController) calls() (cancelled, resumed []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cancelled...), append([]string(nil), f.resumed...)
}

// wantErr checks err's status code and ErrorInfo reason, and returns the
// status's field violations by field.
func wantErr(t *testing.T, err error, code codes.Code, reason xdrlinkv1.ErrorReason) map[string]string {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %v", code, reason)
	}
	st := apierr.Status(err)
	if st.Code() != code {
		t.Fatalf("code %v (%v), want %v", st.Code(), err, code)
	}
	fields := map[string]string{}
	var gotReason string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			gotReason = d.GetReason()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				fields[v.GetField()] = v.GetDescription()
			}
		}
	}
	if gotReason != reason.String() {
		t.Fatalf("reason %q (%v), want %v", gotReason, err, reason)
	}
	return fields
}

var errBoom = errors.New("boom: secret detail")
