package onboardingsvc

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/server/tenantsvc"
	"github.com/xdrlink/xdrlink/workflow/engine"
)

// Operations starts long-running operations; *engine.Engine implements it.
type Operations interface {
	Submit(ctx context.Context, req engine.Request) (*longrunningpb.Operation, error)
	SubmitBatch(ctx context.Context, req engine.BatchRequest) (*longrunningpb.Operation, error)
}

// Onboard starts (or, for validate_only, plans) the onboarding of a tenant.
func (s *Service) Onboard(ctx context.Context, req *xdrlinkv1.OnboardRequest) (*longrunningpb.Operation, error) {
	if _, err := tenantsvc.LoadFor(ctx, s.store, req.GetName(), authz.Operator); err != nil {
		return nil, err
	}
	return s.ops.Submit(ctx, request(ctx, xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD, "Onboard",
		req.GetName(), req.GetRequestId(), req.GetValidateOnly(), req))
}

// Offboard starts (or plans) undoing what onboarding changed in Azure.
func (s *Service) Offboard(ctx context.Context, req *xdrlinkv1.OffboardRequest) (*longrunningpb.Operation, error) {
	if _, err := tenantsvc.LoadFor(ctx, s.store, req.GetName(), authz.Operator); err != nil {
		return nil, err
	}
	return s.ops.Submit(ctx, request(ctx, xdrlinkv1.OperationKind_OPERATION_KIND_OFFBOARD, "Offboard",
		req.GetName(), req.GetRequestId(), req.GetValidateOnly(), req))
}

func request(ctx context.Context, kind xdrlinkv1.OperationKind, method, name, requestID string, validateOnly bool, msg proto.Message) engine.Request {
	return engine.Request{
		Kind: kind, Tenant: name, Method: method, Caller: server.Caller(ctx), RequestID: requestID,
		Fingerprint: server.Fingerprint(msg), ValidateOnly: validateOnly,
	}
}
