package onboardingsvc

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/tenantsvc"
	"github.com/xdrlink/xdrlink/workflow/engine"
)

// BatchOnboard starts onboarding the tenants named, or those the filter
// selects (in id order), as one batch operation with a child per tenant.
func (s *Service) BatchOnboard(ctx context.Context, req *xdrlinkv1.BatchOnboardRequest) (*longrunningpb.Operation, error) {
	tenants, err := tenantsvc.Select(ctx, s.store, req.GetTenants(), req.GetFilter())
	if err != nil {
		return nil, err
	}
	return s.ops.SubmitBatch(ctx, engine.BatchRequest{
		Kind: xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_ONBOARD, Tenants: tenants,
		MaxConcurrency: int(req.GetMaxConcurrency()), Method: "BatchOnboard", Caller: server.Caller(ctx),
		RequestID: req.GetRequestId(), Fingerprint: server.Fingerprint(req),
	})
}
