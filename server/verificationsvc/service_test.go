package verificationsvc

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/store/storeopen"
	"github.com/xdrlink/xdrlink/workflow/engine"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// fakeOps records the requests it was asked to run.
type fakeOps struct {
	one   []engine.Request
	batch []engine.BatchRequest
}

func (f *fakeOps) Submit(_ context.Context, req engine.Request) (*longrunningpb.Operation, error) {
	f.one = append(f.one, req)
	return &longrunningpb.Operation{Name: "operations/x"}, nil
}

func (f *fakeOps) SubmitBatch(_ context.Context, req engine.BatchRequest) (*longrunningpb.Operation, error) {
	f.batch = append(f.batch, req)
	return &longrunningpb.Operation{Name: "operations/b"}, nil
}

// fixture is a store with tenants a (label tier=gold, 3 reports v0, v1, v2,
// one minute apart), b (tier=gold) and c.
func fixture(t *testing.T) (*Service, *fakeOps) {
	t.Helper()
	ctx := t.Context()
	st, err := storeopen.Open(ctx, filepath.Join(t.TempDir(), "x.db"), storeopen.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"a", "b", "c"} {
		tn := &xdrlinkv1.Tenant{State: xdrlinkv1.Tenant_STATE_ONBOARDED, EntraTenantId: "20000000-0000-4000-8000-000000000000",
			Workspace: &xdrlinkv1.Workspace{SubscriptionId: "sub", ResourceGroup: "rg", Name: "ws-" + id}}
		if id != "c" {
			tn.Labels = map[string]string{"tier": "gold"}
		}
		rec, err := tenantrecord.Spec(id, tn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.CreateTenant(ctx, store.NewRecord(rec)); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 3 {
		id := fmt.Sprintf("v%d", i)
		body, err := proto.Marshal(&xdrlinkv1.IngestionReport{Name: "tenants/a/verifications/" + id, WindowDays: 14,
			Verdict: xdrlinkv1.Verdict_VERDICT_HEALTHY, Operation: "operations/o" + id})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateVerification(ctx, &store.Verification{ID: id, Tenant: "a", Operation: "o" + id,
			Verdict: "VERDICT_HEALTHY", Body: body, CreateTime: start.Add(time.Duration(i) * time.Minute)}, 0); err != nil {
			t.Fatal(err)
		}
	}
	ops := &fakeOps{}
	return New(st, ops), ops
}

func TestVerify(t *testing.T) {
	s, ops := fixture(t)
	req := &xdrlinkv1.VerifyRequest{Name: "tenants/a", WindowDays: 7, RequestId: "6f1c1e4e-4a51-4c5e-9f57-000000000001"}
	if _, err := s.Verify(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	got := ops.one[0]
	if got.Kind != xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY || got.Tenant != "tenants/a" || got.Method != "Verify" ||
		got.WindowDays != 7 || got.RequestID != req.GetRequestId() || len(got.Fingerprint) == 0 || got.Caller == "" {
		t.Errorf("submitted %+v", got)
	}
}

func TestBatchVerify(t *testing.T) {
	s, ops := fixture(t)
	ctx := t.Context()
	if _, err := s.BatchVerify(ctx, &xdrlinkv1.BatchVerifyRequest{Filter: "labels.tier = gold", WindowDays: 3, MaxConcurrency: 2}); err != nil {
		t.Fatal(err)
	}
	got := ops.batch[0]
	if got.Kind != xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_VERIFY || !slices.Equal(got.Tenants, []string{"tenants/a", "tenants/b"}) ||
		got.Method != "BatchVerify" || got.WindowDays != 3 || got.MaxConcurrency != 2 || len(got.Fingerprint) == 0 {
		t.Errorf("submitted %+v", got)
	}
	if _, err := s.BatchVerify(ctx, &xdrlinkv1.BatchVerifyRequest{Tenants: []string{"tenants/c"}}); err != nil ||
		!slices.Equal(ops.batch[1].Tenants, []string{"tenants/c"}) {
		t.Errorf("by name: %v, %+v", err, ops.batch[1:])
	}
	if _, err := s.BatchVerify(ctx, &xdrlinkv1.BatchVerifyRequest{Filter: "last_verification.verdict = HEALTHY"}); err != nil ||
		!slices.Equal(ops.batch[2].Tenants, []string{"tenants/a"}) {
		t.Errorf("by verdict: %v, %+v", err, ops.batch[2:])
	}
	for _, tt := range []struct {
		req   *xdrlinkv1.BatchVerifyRequest
		field string
	}{
		{&xdrlinkv1.BatchVerifyRequest{}, "tenants"},
		{&xdrlinkv1.BatchVerifyRequest{Tenants: []string{"tenants/a"}, Filter: "state = ONBOARDED"}, "filter"},
		{&xdrlinkv1.BatchVerifyRequest{Filter: "labels.tier = silver"}, "filter"},
		{&xdrlinkv1.BatchVerifyRequest{Filter: "last_verification.verdict = ROTTEN"}, "filter"},
		{&xdrlinkv1.BatchVerifyRequest{Filter: "last_verification.verdict = STALE"}, "filter"}, // selects none
	} {
		_, err := s.BatchVerify(ctx, tt.req)
		checkError(t, err, codes.InvalidArgument, "", tt.field)
	}
	if len(ops.batch) != 3 {
		t.Errorf("refused requests were submitted: %+v", ops.batch[3:])
	}
}

func TestListVerifications(t *testing.T) {
	s, _ := fixture(t)
	ctx := t.Context()
	var names []string
	req := &xdrlinkv1.ListVerificationsRequest{Parent: "tenants/a", PageSize: 2}
	for range 3 {
		resp, err := s.ListVerifications(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range resp.GetVerifications() {
			names = append(names, r.GetName())
		}
		if req.PageToken = resp.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	want := []string{"tenants/a/verifications/v2", "tenants/a/verifications/v1", "tenants/a/verifications/v0"}
	if !slices.Equal(names, want) {
		t.Errorf("listed %q, want %q (newest first)", names, want)
	}

	resp, err := s.ListVerifications(ctx, &xdrlinkv1.ListVerificationsRequest{Parent: "tenants/b"})
	if err != nil || len(resp.GetVerifications()) != 0 || resp.GetNextPageToken() != "" {
		t.Errorf("tenant without reports: %v, %v", resp, err)
	}
	_, err = s.ListVerifications(ctx, &xdrlinkv1.ListVerificationsRequest{Parent: "tenants/nobody"})
	checkError(t, err, codes.NotFound, "tenants/nobody", "")
	_, err = s.ListVerifications(ctx, &xdrlinkv1.ListVerificationsRequest{Parent: "tenants/a", PageToken: "forged"})
	checkError(t, err, codes.InvalidArgument, "", "page_token")
}

func TestGetVerification(t *testing.T) {
	s, _ := fixture(t)
	ctx := t.Context()
	r, err := s.GetVerification(ctx, &xdrlinkv1.GetVerificationRequest{Name: "tenants/a/verifications/v1"})
	if err != nil || r.GetName() != "tenants/a/verifications/v1" || r.GetOperation() != "operations/ov1" || r.GetWindowDays() != 14 {
		t.Errorf("got %v, %v", r, err)
	}
	_, err = s.GetVerification(ctx, &xdrlinkv1.GetVerificationRequest{Name: "tenants/a/verifications/v9"})
	checkError(t, err, codes.NotFound, "tenants/a/verifications/v9", "")
	_, err = s.GetVerification(ctx, &xdrlinkv1.GetVerificationRequest{Name: "tenants/b/verifications/v1"})
	checkError(t, err, codes.NotFound, "tenants/b/verifications/v1", "")
	_, err = s.GetVerification(ctx, &xdrlinkv1.GetVerificationRequest{Name: "tenants/nobody/verifications/v1"})
	checkError(t, err, codes.NotFound, "tenants/nobody", "")
}

// checkError checks err's code and, when given, the resource its ErrorInfo
// names or the field its one violation names.
func checkError(t *testing.T, err error, code codes.Code, resource, field string) {
	t.Helper()
	st := apierr.Status(err)
	if st.Code() != code {
		t.Fatalf("got %v %q, want %v", st.Code(), st.Message(), code)
	}
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			if resource != "" && d.GetMetadata()["resource"] != resource {
				t.Errorf("resource %q, want %q (%s)", d.GetMetadata()["resource"], resource, st.Message())
			}
		case *errdetails.BadRequest:
			if v := d.GetFieldViolations(); len(v) != 1 || v[0].GetField() != field {
				t.Errorf("violations %v, want one of %s", v, field)
			}
		}
	}
	if field != "" && !strings.Contains(st.Message(), field) {
		t.Errorf("message %q does not name %s", st.Message(), field)
	}
}
