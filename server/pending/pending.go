package pending

import (
	"context"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/apierr"
)

// Capability names, as they appear in the error's ErrorInfo metadata.
const (
	Onboarding   = "onboarding"
	Tables       = "table management"
	Verification = "ingestion verification"
	Operations   = "long-running operations"
)

// Register adds every pending service to s.
func Register(s grpc.ServiceRegistrar) {
	xdrlinkv1.RegisterOnboardingServiceServer(s, onboarding{})
	xdrlinkv1.RegisterTableServiceServer(s, tables{})
	xdrlinkv1.RegisterVerificationServiceServer(s, verification{})
	xdrlinkv1.RegisterOperationServiceServer(s, operations{})
	longrunningpb.RegisterOperationsServer(s, operations{})
}

type onboarding struct {
	xdrlinkv1.UnimplementedOnboardingServiceServer
}

func (onboarding) CheckPrerequisites(context.Context, *xdrlinkv1.CheckPrerequisitesRequest) (*xdrlinkv1.PrerequisiteReport, error) {
	return nil, apierr.NotImplemented(Onboarding)
}

func (onboarding) Onboard(context.Context, *xdrlinkv1.OnboardRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Onboarding)
}

func (onboarding) BatchOnboard(context.Context, *xdrlinkv1.BatchOnboardRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Onboarding)
}

func (onboarding) Offboard(context.Context, *xdrlinkv1.OffboardRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Onboarding)
}

type tables struct {
	xdrlinkv1.UnimplementedTableServiceServer
}

func (tables) ListTables(context.Context, *xdrlinkv1.ListTablesRequest) (*xdrlinkv1.ListTablesResponse, error) {
	return nil, apierr.NotImplemented(Tables)
}

func (tables) GetTableSettings(context.Context, *xdrlinkv1.GetTableSettingsRequest) (*xdrlinkv1.TableSettings, error) {
	return nil, apierr.NotImplemented(Tables)
}

func (tables) UpdateTableSettings(context.Context, *xdrlinkv1.UpdateTableSettingsRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Tables)
}

type verification struct {
	xdrlinkv1.UnimplementedVerificationServiceServer
}

func (verification) Verify(context.Context, *xdrlinkv1.VerifyRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Verification)
}

func (verification) BatchVerify(context.Context, *xdrlinkv1.BatchVerifyRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Verification)
}

func (verification) ListVerifications(context.Context, *xdrlinkv1.ListVerificationsRequest) (*xdrlinkv1.ListVerificationsResponse, error) {
	return nil, apierr.NotImplemented(Verification)
}

func (verification) GetVerification(context.Context, *xdrlinkv1.GetVerificationRequest) (*xdrlinkv1.IngestionReport, error) {
	return nil, apierr.NotImplemented(Verification)
}

// operations serves both xdrlink.v1.OperationService and
// google.longrunning.Operations.
type operations struct {
	xdrlinkv1.UnimplementedOperationServiceServer
	longrunningpb.UnimplementedOperationsServer
}

func (operations) ResumeOperation(context.Context, *xdrlinkv1.ResumeOperationRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Operations)
}

func (operations) WatchOperation(*xdrlinkv1.WatchOperationRequest, grpc.ServerStreamingServer[longrunningpb.Operation]) error {
	return apierr.NotImplemented(Operations)
}

func (operations) ListOperations(context.Context, *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	return nil, apierr.NotImplemented(Operations)
}

func (operations) GetOperation(context.Context, *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Operations)
}

func (operations) DeleteOperation(context.Context, *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	return nil, apierr.NotImplemented(Operations)
}

func (operations) CancelOperation(context.Context, *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	return nil, apierr.NotImplemented(Operations)
}

func (operations) WaitOperation(context.Context, *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	return nil, apierr.NotImplemented(Operations)
}
