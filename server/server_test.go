package server

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// panicky panics on its first GetTenant and answers normally afterwards.
type panicky struct {
	xdrlinkv1.UnimplementedTenantServiceServer
	calls atomic.Int32
}

func (p *panicky) GetTenant(_ context.Context, r *xdrlinkv1.GetTenantRequest) (*xdrlinkv1.Tenant, error) {
	if p.calls.Add(1) == 1 {
		panic("secret-looking detail that must not reach the client")
	}
	return &xdrlinkv1.Tenant{Name: r.GetName()}, nil
}

func serve(t *testing.T, logs io.Writer) xdrlinkv1.TenantServiceClient {
	t.Helper()
	s, err := New(Options{Logger: slog.New(slog.NewJSONHandler(logs, nil)), MaxRecvBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	xdrlinkv1.RegisterTenantServiceServer(s, &panicky{})
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
	return xdrlinkv1.NewTenantServiceClient(conn)
}

// TestPanicBecomesInternal: a handler panic answers INTERNAL with reason
// INTERNAL and no panic text, is logged with its stack, and the server goes
// on serving.
func TestPanicBecomesInternal(t *testing.T) {
	var logs strings.Builder
	c := serve(t, &logs)
	_, err := c.GetTenant(t.Context(), &xdrlinkv1.GetTenantRequest{Name: "tenants/a"})
	st := status.Convert(err)
	if st.Code() != codes.Internal || strings.Contains(st.Message(), "secret") {
		t.Fatalf("panic answered %v", st)
	}
	if info := errorInfo(st); info == nil || info.GetReason() != xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL.String() {
		t.Errorf("ErrorInfo %v, want reason INTERNAL", info)
	}
	if !strings.Contains(logs.String(), "panic in handler") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("panic not logged with a stack: %s", logs.String())
	}
	if got, err := c.GetTenant(t.Context(), &xdrlinkv1.GetTenantRequest{Name: "tenants/a"}); err != nil || got.GetName() != "tenants/a" {
		t.Errorf("after the panic: %v, %v", got, err)
	}
}

// TestRequestID: a sane caller id is echoed; a missing or unusable one is
// replaced by a generated id; either way it is in the log line.
func TestRequestID(t *testing.T) {
	var logs strings.Builder
	c := serve(t, &logs)
	_, _ = c.GetTenant(t.Context(), &xdrlinkv1.GetTenantRequest{Name: "tenants/warmup"}) // takes the one panic

	for _, tc := range []struct{ sent, want string }{
		{"caller-id-42", "caller-id-42"},
		{"", ""},
		{strings.Repeat("x", 200), ""},
		{"has space", ""},
	} {
		ctx := t.Context()
		if tc.sent != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, RequestIDHeader, tc.sent)
		}
		var hdr metadata.MD
		if _, err := c.GetTenant(ctx, &xdrlinkv1.GetTenantRequest{Name: "tenants/a"}, grpc.Header(&hdr)); err != nil {
			t.Fatal(err)
		}
		got := hdr.Get(RequestIDHeader)
		if len(got) != 1 {
			t.Fatalf("sent %q: response header %v", tc.sent, got)
		}
		if tc.want != "" && got[0] != tc.want {
			t.Errorf("sent %q, echoed %q", tc.sent, got[0])
		}
		if tc.want == "" && (len(got[0]) != 32 || got[0] == tc.sent) {
			t.Errorf("sent %q, got %q; want a generated 32-hex id", tc.sent, got[0])
		}
		if !strings.Contains(logs.String(), `"request_id":"`+got[0]+`"`) {
			t.Errorf("request id %q not in the logs", got[0])
		}
	}
}

func errorInfo(st *status.Status) *errdetails.ErrorInfo {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}
