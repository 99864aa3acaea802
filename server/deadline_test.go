package server

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestSyncCallDeadline: a unary call is bounded by the server's limit unless
// the caller's deadline is sooner; one that runs out answers
// DEADLINE_EXCEEDED with its ErrorInfo, even when its handler made an answer
// of the cut context; WaitOperation, which bounds itself, is left alone.
func TestSyncCallDeadline(t *testing.T) {
	const limit = 20 * time.Millisecond
	ic := syncDeadlineUnary(limit)
	info := &grpc.UnaryServerInfo{FullMethod: xdrlinkv1.OnboardingService_CheckPrerequisites_FullMethodName}
	// blocking waits for its context, then answers as a checker does: a
	// report of the checks it could not finish.
	blocking := func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		return &xdrlinkv1.PrerequisiteReport{}, nil
	}
	failing := func(ctx context.Context, _ any) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	for name, h := range map[string]grpc.UnaryHandler{"answers anyway": blocking, "fails": failing} {
		resp, err := ic(t.Context(), nil, info, h)
		st := status.Convert(err)
		if resp != nil || st.Code() != codes.DeadlineExceeded {
			t.Errorf("%s: %v, %v; want DEADLINE_EXCEEDED", name, resp, st)
		}
		if ei := errorInfo(st); ei == nil || ei.GetReason() != xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED.String() ||
			ei.GetMetadata()["timeout"] != limit.String() {
			t.Errorf("%s: ErrorInfo %v", name, ei)
		}
	}

	// A call that ends in time is answered as its handler says.
	want := &xdrlinkv1.PrerequisiteReport{Ready: true}
	fast := func(ctx context.Context, _ any) (any, error) {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("no deadline on a synchronous call")
		}
		return want, nil
	}
	if resp, err := ic(t.Context(), nil, info, fast); resp != want || err != nil {
		t.Errorf("fast call: %v, %v", resp, err)
	}

	// The caller's sooner deadline stands; a later one is shortened.
	soon, cancel := context.WithTimeout(t.Context(), time.Millisecond)
	defer cancel()
	callerDL, _ := soon.Deadline()
	_, _ = ic(soon, nil, info, func(ctx context.Context, _ any) (any, error) {
		if dl, _ := ctx.Deadline(); !dl.Equal(callerDL) {
			t.Errorf("deadline %v, want the caller's %v", dl, callerDL)
		}
		return nil, nil
	})
	late, cancel2 := context.WithTimeout(t.Context(), time.Hour)
	defer cancel2()
	lateDL, _ := late.Deadline()
	_, _ = ic(late, nil, info, func(ctx context.Context, _ any) (any, error) {
		if dl, _ := ctx.Deadline(); !dl.Before(lateDL) {
			t.Errorf("deadline %v, want the server's, before the caller's %v", dl, lateDL)
		}
		return nil, nil
	})

	// WaitOperation keeps its own timeout (up to MaxWait, 10 minutes), and
	// 0 turns the limit off.
	unbounded := func(ctx context.Context, _ any) (any, error) {
		if dl, ok := ctx.Deadline(); ok {
			t.Errorf("deadline %v on a call that bounds itself", dl)
		}
		return want, nil
	}
	wait := &grpc.UnaryServerInfo{FullMethod: longrunningpb.Operations_WaitOperation_FullMethodName}
	if resp, err := ic(t.Context(), nil, wait, unbounded); resp != want || err != nil {
		t.Errorf("WaitOperation: %v, %v", resp, err)
	}
	if resp, err := syncDeadlineUnary(0)(t.Context(), nil, info, unbounded); resp != want || err != nil {
		t.Errorf("no limit: %v, %v", resp, err)
	}
}
