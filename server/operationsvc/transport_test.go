package operationsvc

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protojson"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/gateway"
	"github.com/xdrlink/xdrlink/store/sqlite"
	"github.com/xdrlink/xdrlink/workflow/oprecord"
)

const pollInterval = 10 * time.Millisecond

// stack is the service behind a real gRPC server (with the server's
// interceptors) on 127.0.0.1 and the real REST gateway dialing it.
type stack struct {
	st   *sqlite.Store
	ctl  *fakeController
	conn *grpc.ClientConn
	rest string // base URL
}

func startStack(t *testing.T) *stack {
	t.Helper()
	st := newStore(t)
	ctl := &fakeController{st: st}
	svc := New(st, ctl, Options{PollInterval: pollInterval, MaxWait: time.Second})
	srv, err := server.New(server.Options{Logger: slog.New(slog.DiscardHandler), MaxRecvBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	longrunningpb.RegisterOperationsServer(srv, svc)
	xdrlinkv1.RegisterOperationServiceServer(srv, svc)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	gwCtx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	gw, err := gateway.New(gwCtx, gateway.Options{Conn: conn, MaxBodyBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(gw)
	t.Cleanup(hs.Close)
	return &stack{st: st, ctl: ctl, conn: conn, rest: hs.URL}
}

func stepMessage(msg string) func(*oprecord.Record) {
	return func(rec *oprecord.Record) {
		rec.Metadata.State = stateRunning
		rec.Metadata.Steps = append(rec.Metadata.Steps, &xdrlinkv1.Step{Message: msg})
	}
}

func steps(t *testing.T, op *longrunningpb.Operation) int {
	t.Helper()
	md := &xdrlinkv1.OperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatal(err)
	}
	return len(md.GetSteps())
}

func TestWatchOperationGRPC(t *testing.T) {
	s := startStack(t)
	seed(t, s.st, seedOp{id: "w", tenant: "contoso", kind: kindOnboard, state: statePending})
	client := xdrlinkv1.NewOperationServiceClient(s.conn)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	stream, err := client.WatchOperation(ctx, &xdrlinkv1.WatchOperationRequest{Name: "operations/w"})
	if err != nil {
		t.Fatal(err)
	}
	recv := func() *longrunningpb.Operation {
		t.Helper()
		op, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		return op
	}
	if op := recv(); op.GetDone() || steps(t, op) != 0 {
		t.Fatalf("initial %v", op)
	}
	// Each change is sent; waiting for it before the next change keeps two
	// changes from falling into one poll.
	mustUpdate(t, s.st, "w", stepMessage("one"))
	if op := recv(); op.GetDone() || steps(t, op) != 1 {
		t.Fatalf("after one change %v", op)
	}
	mustUpdate(t, s.st, "w", stepMessage("two"))
	if op := recv(); op.GetDone() || steps(t, op) != 2 {
		t.Fatalf("after two changes %v", op)
	}
	mustUpdate(t, s.st, "w", finish)
	if op := recv(); !op.GetDone() {
		t.Fatalf("final %v, want done", op)
	}
	if op, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("after done: %v, %v; want EOF", op, err)
	}

	// A done operation: one message, then the end.
	stream, err = client.WatchOperation(ctx, &xdrlinkv1.WatchOperationRequest{Name: "operations/w"})
	if err != nil {
		t.Fatal(err)
	}
	if op := recv(); !op.GetDone() {
		t.Fatalf("watch of done op sent %v", op)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Fatalf("watch of done op: %v, want EOF", err)
	}

	for name, want := range map[string]xdrlinkv1.ErrorReason{
		"operations/nope": xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND,
		"nope":            xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT, // the validation interceptor
	} {
		stream, err := client.WatchOperation(ctx, &xdrlinkv1.WatchOperationRequest{Name: name})
		if err == nil {
			_, err = stream.Recv()
		}
		code := codes.NotFound
		if name == "nope" {
			code = codes.InvalidArgument
		}
		wantErr(t, err, code, want)
	}

	// The watch ends with the caller's context.
	seed(t, s.st, seedOp{id: "x", kind: kindOnboard, state: stateRunning})
	short, cancelShort := context.WithCancel(ctx)
	stream, err = client.WatchOperation(short, &xdrlinkv1.WatchOperationRequest{Name: "operations/x"})
	if err != nil {
		t.Fatal(err)
	}
	if op := recv(); op.GetDone() {
		t.Fatal("x done")
	}
	cancelShort()
	if _, err := stream.Recv(); err == nil {
		t.Fatal("stream went on after cancel")
	}
}

// restCall does one REST request and returns the response with its body read.
func restCall(t *testing.T, method, url, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json") // REST refuses other bodies (415)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// restStatus parses a REST error body and returns its code and reason.
func restStatus(t *testing.T, body []byte) (codes.Code, string) {
	t.Helper()
	st := &spb.Status{}
	if err := protojson.Unmarshal(body, st); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	for _, d := range st.GetDetails() {
		info := &errdetails.ErrorInfo{}
		if d.UnmarshalTo(info) == nil {
			return codes.Code(st.GetCode()), info.GetReason()
		}
	}
	return codes.Code(st.GetCode()), ""
}

func parseOp(t *testing.T, b []byte) *longrunningpb.Operation {
	t.Helper()
	op := &longrunningpb.Operation{}
	if err := protojson.Unmarshal(b, op); err != nil {
		t.Fatalf("operation %s: %v", b, err)
	}
	return op
}

func TestWatchOperationREST(t *testing.T) {
	s := startStack(t)
	seed(t, s.st, seedOp{id: "w", tenant: "contoso", kind: kindOnboard, state: stateRunning})

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.rest+"/v1/operations/w:watch", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "watch-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/x-ndjson" ||
		resp.Header.Get("X-Request-Id") != "watch-1" {
		t.Fatalf("HTTP %d, Content-Type %q, X-Request-Id %q", resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("X-Request-Id"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() *longrunningpb.Operation {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("stream ended early: %v", lines.Err())
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(lines.Bytes(), &raw); err != nil || raw["result"] != nil {
			t.Fatalf("line %s is not a bare Operation object (%v)", lines.Bytes(), err)
		}
		return parseOp(t, lines.Bytes())
	}
	// Each line arrives as it happens (flushed), not when the stream ends.
	if op := next(); op.GetName() != "operations/w" || op.GetDone() {
		t.Fatalf("first line %v", op)
	}
	mustUpdate(t, s.st, "w", stepMessage("one"))
	if op := next(); op.GetDone() || steps(t, op) != 1 {
		t.Fatalf("second line %v", op)
	}
	mustUpdate(t, s.st, "w", finish)
	if op := next(); !op.GetDone() {
		t.Fatalf("last line %v, want done", op)
	}
	if lines.Scan() {
		t.Fatalf("line after done: %s", lines.Bytes())
	}

	resp, body := restCall(t, http.MethodGet, s.rest+"/v1/operations/nope:watch", "", "X-Request-Id", "watch-2")
	if code, reason := restStatus(t, body); resp.StatusCode != http.StatusNotFound || code != codes.NotFound ||
		reason != xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND.String() {
		t.Errorf("unknown operation: HTTP %d, %v %q: %s", resp.StatusCode, code, reason, body)
	}
	if ct, id := resp.Header.Get("Content-Type"), resp.Header.Get("X-Request-Id"); ct != "application/json" || id != "watch-2" {
		t.Errorf("unknown operation: Content-Type %q, X-Request-Id %q", ct, id)
	}
	resp, body = restCall(t, http.MethodGet, s.rest+"/v1/operations/Bad:watch", "")
	if code, reason := restStatus(t, body); resp.StatusCode != http.StatusBadRequest || code != codes.InvalidArgument ||
		reason != xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT.String() {
		t.Errorf("bad name: HTTP %d, %v %q: %s", resp.StatusCode, code, reason, body)
	}

	// An error once streaming started is the last line, a google.rpc.Status:
	// here the call's deadline (grpc-gateway's Grpc-Timeout header).
	seed(t, s.st, seedOp{id: "r", kind: kindOnboard, state: stateRunning})
	resp, body = restCall(t, http.MethodGet, s.rest+"/v1/operations/r:watch", "", "Grpc-Timeout", "200m")
	got := strings.Split(strings.TrimSuffix(string(body), "\n"), "\n")
	if resp.StatusCode != http.StatusOK || len(got) != 2 {
		t.Fatalf("HTTP %d, lines %q; want the operation then an error", resp.StatusCode, got)
	}
	if op := parseOp(t, []byte(got[0])); op.GetName() != "operations/r" {
		t.Errorf("first line %v", op)
	}
	if code, _ := restStatus(t, []byte(got[1])); code != codes.DeadlineExceeded {
		t.Errorf("last line %s: code %v, want DEADLINE_EXCEEDED", got[1], code)
	}
}

// The google.longrunning routes answer over REST, none shadowed by another.
func TestOperationsREST(t *testing.T) {
	s := startStack(t)
	seedFour(t, s.st)
	base := s.rest + "/v1/operations"

	resp, body := restCall(t, http.MethodGet, base+"/d", "")
	if resp.StatusCode != http.StatusOK || parseOp(t, body).GetName() != "operations/d" {
		t.Errorf("get: HTTP %d %s", resp.StatusCode, body)
	}
	resp, body = restCall(t, http.MethodGet, base+"?filter=tenant%3Dcontoso&page_size=1", "")
	list := &longrunningpb.ListOperationsResponse{}
	if err := protojson.Unmarshal(body, list); resp.StatusCode != http.StatusOK || err != nil ||
		names(list.GetOperations()) != "d" || list.GetNextPageToken() == "" {
		t.Errorf("list: HTTP %d %s (%v)", resp.StatusCode, body, err)
	}
	resp, body = restCall(t, http.MethodPost, base+"/a:cancel", "{}")
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "{}" {
		t.Errorf("cancel: HTTP %d %s", resp.StatusCode, body)
	}
	resp, body = restCall(t, http.MethodPost, base+"/d:resume", `{"userAssertion":"tok"}`)
	if resp.StatusCode != http.StatusOK || parseOp(t, body).GetName() != "operations/d" {
		t.Errorf("resume: HTTP %d %s", resp.StatusCode, body)
	}
	if cancelled, resumed := s.ctl.calls(); strings.Join(cancelled, ",") != "a" || strings.Join(resumed, ",") != "d tok" {
		t.Errorf("controller got cancel %q, resume %q", cancelled, resumed)
	}

	start := time.Now()
	resp, body = restCall(t, http.MethodPost, base+"/a:wait", `{"timeout":"0.05s"}`)
	if resp.StatusCode != http.StatusOK || parseOp(t, body).GetDone() || time.Since(start) < 50*time.Millisecond {
		t.Errorf("wait (running): HTTP %d after %v %s", resp.StatusCode, time.Since(start), body)
	}
	resp, body = restCall(t, http.MethodPost, base+"/b:wait", `{"timeout":"5s"}`)
	if resp.StatusCode != http.StatusOK || !parseOp(t, body).GetDone() {
		t.Errorf("wait (done): HTTP %d %s", resp.StatusCode, body)
	}
	resp, body = restCall(t, http.MethodPost, base+"/b:wait", `{"timeout":"-5s"}`)
	if code, _ := restStatus(t, body); resp.StatusCode != http.StatusBadRequest || code != codes.InvalidArgument {
		t.Errorf("wait (negative): HTTP %d %s", resp.StatusCode, body)
	}

	resp, body = restCall(t, http.MethodDelete, base+"/a", "")
	if code, reason := restStatus(t, body); resp.StatusCode != http.StatusBadRequest || code != codes.FailedPrecondition ||
		reason != xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_DONE.String() {
		t.Errorf("delete (running): HTTP %d %s", resp.StatusCode, body)
	}
	resp, body = restCall(t, http.MethodDelete, base+"/b", "")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("delete (done): HTTP %d %s", resp.StatusCode, body)
	}
	resp, body = restCall(t, http.MethodGet, base+"/b", "")
	if code, reason := restStatus(t, body); resp.StatusCode != http.StatusNotFound || code != codes.NotFound ||
		reason != xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND.String() {
		t.Errorf("get (deleted): HTTP %d %s", resp.StatusCode, body)
	}
}
