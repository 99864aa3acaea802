package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestEveryErrorHasErrorInfo: errors made outside apierr (a generated
// Unimplemented stub's, the runtime's unknown service or method) carry an
// ErrorInfo with a reason too.
func TestEveryErrorHasErrorInfo(t *testing.T) {
	var logs strings.Builder
	s, err := New(Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), MaxRecvBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	xdrlinkv1.RegisterTenantServiceServer(s, &panicky{}) // every method but GetTenant unimplemented
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(); s.Stop() })

	for _, tc := range []struct {
		method string
		reason xdrlinkv1.ErrorReason
	}{
		{xdrlinkv1.TenantService_ListTenants_FullMethodName, xdrlinkv1.ErrorReason_ERROR_REASON_NOT_IMPLEMENTED},
		{"/xdrlink.v1.TenantService/NoSuchMethod", xdrlinkv1.ErrorReason_ERROR_REASON_UNKNOWN_METHOD},
		{"/xdrlink.v1.NoSuchService/Get", xdrlinkv1.ErrorReason_ERROR_REASON_UNKNOWN_METHOD},
	} {
		err := conn.Invoke(t.Context(), tc.method, &xdrlinkv1.ListTenantsRequest{}, &emptypb.Empty{})
		st := status.Convert(err)
		if st.Code() != codes.Unimplemented {
			t.Errorf("%s: %v, want UNIMPLEMENTED", tc.method, st)
		}
		if info := errorInfo(st); info == nil || info.GetReason() != tc.reason.String() || info.GetDomain() != "xdrlink.io" {
			t.Errorf("%s: ErrorInfo %v, want reason %v", tc.method, info, tc.reason)
		}
	}
	if !strings.Contains(logs.String(), "NoSuchService") {
		t.Errorf("the unknown service's call is not logged: %s", logs.String())
	}
}

// TestEndedContextIsNotInternal: an error a handler returns once its
// context has ended (a driver's "interrupted") answers CANCELLED or
// DEADLINE_EXCEEDED with their reasons, not INTERNAL, and is not logged as
// an internal error.
func TestEndedContextIsNotInternal(t *testing.T) {
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancel2 := context.WithTimeout(t.Context(), 0)
	defer cancel2()
	for _, tc := range []struct {
		ctx    context.Context
		err    error
		code   codes.Code
		reason xdrlinkv1.ErrorReason
	}{
		{cancelled, errors.New("interrupted"), codes.Canceled, xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_CANCELLED},
		{t.Context(), context.Canceled, codes.Canceled, xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_CANCELLED},
		{t.Context(), status.Error(codes.Canceled, "context canceled"), codes.Canceled, xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_CANCELLED},
		{expired, errors.New("interrupted"), codes.DeadlineExceeded, xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED},
		{t.Context(), context.DeadlineExceeded, codes.DeadlineExceeded, xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED},
		{t.Context(), errors.New("interrupted"), codes.Internal, xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL},
	} {
		st := status.Convert(mapError(tc.ctx, log, "/m", tc.err))
		if info := errorInfo(st); st.Code() != tc.code || info == nil || info.GetReason() != tc.reason.String() {
			t.Errorf("%v (ctx %v): %v %v, want %v %v", tc.err, tc.ctx.Err(), st.Code(), info, tc.code, tc.reason)
		}
	}
	if n := strings.Count(logs.String(), "internal error"); n != 1 {
		t.Errorf("%d internal errors logged, want 1 (the live context's): %s", n, logs.String())
	}
}
