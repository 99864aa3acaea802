package onboardingsvc

import (
	"context"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/server/tenantsvc"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/prereq"
)

// Checker runs the prerequisite checks; *prereq.Checker implements it.
type Checker interface {
	Check(ctx context.Context, t prereq.Tenant) *xdrlinkv1.PrerequisiteReport
}

// Service implements xdrlinkv1.OnboardingServiceServer.
type Service struct {
	xdrlinkv1.UnimplementedOnboardingServiceServer
	store   store.TenantStore
	checker Checker
	ops     Operations
	// defaultProfile is the credential profile of tenants that name none.
	defaultProfile string
}

// New returns the service over st; ops runs Onboard and Offboard.
func New(st store.TenantStore, checker Checker, ops Operations, defaultProfile string) *Service {
	return &Service{store: st, checker: checker, ops: ops, defaultProfile: defaultProfile}
}

// CheckPrerequisites runs the preflight of a registered tenant. Azure's
// answers, refusals included, are in the report; only an unknown tenant or
// a store failure is an error.
func (s *Service) CheckPrerequisites(ctx context.Context, req *xdrlinkv1.CheckPrerequisitesRequest) (*xdrlinkv1.PrerequisiteReport, error) {
	t, err := tenantsvc.LoadFor(ctx, s.store, req.GetName(), authz.Viewer)
	if err != nil {
		return nil, err
	}
	return s.checker.Check(ctx, prereq.TenantFrom(t, s.defaultProfile)), nil
}
