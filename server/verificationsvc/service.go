package verificationsvc

import (
	"context"
	"fmt"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/server/tenantsvc"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/engine"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// Store holds the tenants and their reports; every store backend is one.
type Store interface {
	store.TenantStore
	store.VerificationReader
}

// Operations starts long-running operations; *engine.Engine implements it.
type Operations interface {
	Submit(ctx context.Context, req engine.Request) (*longrunningpb.Operation, error)
	SubmitBatch(ctx context.Context, req engine.BatchRequest) (*longrunningpb.Operation, error)
}

// Service implements xdrlinkv1.VerificationServiceServer.
type Service struct {
	xdrlinkv1.UnimplementedVerificationServiceServer
	store Store
	ops   Operations
}

// New returns the service over st; ops runs Verify and BatchVerify.
func New(st Store, ops Operations) *Service {
	return &Service{store: st, ops: ops}
}

// Verify starts the verification of one tenant.
func (s *Service) Verify(ctx context.Context, req *xdrlinkv1.VerifyRequest) (*longrunningpb.Operation, error) {
	if _, err := tenantsvc.LoadFor(ctx, s.store, req.GetName(), authz.Operator); err != nil {
		return nil, err
	}
	return s.ops.Submit(ctx, engine.Request{
		Kind: xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY, Tenant: req.GetName(), Method: "Verify",
		Caller: server.Caller(ctx), RequestID: req.GetRequestId(), Fingerprint: server.Fingerprint(req),
		WindowDays: int(req.GetWindowDays()),
	})
}

// BatchVerify starts verifying the tenants named, or those the filter
// selects (in id order), as one batch operation with a child per tenant.
func (s *Service) BatchVerify(ctx context.Context, req *xdrlinkv1.BatchVerifyRequest) (*longrunningpb.Operation, error) {
	tenants, err := tenantsvc.Select(ctx, s.store, req.GetTenants(), req.GetFilter())
	if err != nil {
		return nil, err
	}
	return s.ops.SubmitBatch(ctx, engine.BatchRequest{
		Kind: xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_VERIFY, Tenants: tenants,
		MaxConcurrency: int(req.GetMaxConcurrency()), Method: "BatchVerify", Caller: server.Caller(ctx),
		RequestID: req.GetRequestId(), Fingerprint: server.Fingerprint(req), WindowDays: int(req.GetWindowDays()),
	})
}

// ListVerifications returns a page of a tenant's reports, newest first. The
// store answers an unknown tenant with an empty page, so the tenant is
// looked up first: a mistyped name is NOT_FOUND, not "no reports".
func (s *Service) ListVerifications(ctx context.Context, req *xdrlinkv1.ListVerificationsRequest) (*xdrlinkv1.ListVerificationsResponse, error) {
	id := strings.TrimPrefix(req.GetParent(), tenantrecord.NamePrefix)
	if _, err := tenantsvc.LoadFor(ctx, s.store, req.GetParent(), authz.Viewer); err != nil {
		return nil, err
	}
	page, err := s.store.ListVerifications(ctx, store.VerificationQuery{
		Tenant: id, PageSize: int(req.GetPageSize()), PageToken: req.GetPageToken(),
	})
	if err != nil {
		return nil, err
	}
	resp := &xdrlinkv1.ListVerificationsResponse{NextPageToken: page.NextPageToken}
	for _, v := range page.Verifications {
		r, err := decode(v)
		if err != nil {
			return nil, err
		}
		resp.Verifications = append(resp.Verifications, r)
	}
	return resp, nil
}

// GetVerification returns one report. The tenant is looked up first, so
// that the error names what is missing (the tenant, or only its report) and
// a caller outside the tenant's access group learns neither.
func (s *Service) GetVerification(ctx context.Context, req *xdrlinkv1.GetVerificationRequest) (*xdrlinkv1.IngestionReport, error) {
	parent, id, _ := strings.Cut(strings.TrimPrefix(req.GetName(), tenantrecord.NamePrefix), "/verifications/")
	if _, err := tenantsvc.LoadFor(ctx, s.store, tenantrecord.NamePrefix+parent, authz.Viewer); err != nil {
		return nil, err
	}
	v, err := s.store.GetVerification(ctx, parent, id)
	if err != nil {
		return nil, apierr.ForResource(err, req.GetName())
	}
	return decode(v)
}

// decode reads a stored report; its body already holds its name.
func decode(v *store.Verification) (*xdrlinkv1.IngestionReport, error) {
	r := &xdrlinkv1.IngestionReport{}
	if err := proto.Unmarshal(v.Body, r); err != nil {
		return nil, fmt.Errorf("verification %s/%s: corrupt body: %w", v.Tenant, v.ID, err)
	}
	return r, nil
}
