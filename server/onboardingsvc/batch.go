package onboardingsvc

import (
	"context"
	"strconv"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/tenantsvc"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/engine"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// maxBatch is the most tenants one batch takes, by name (the request's
// max_items) or by filter.
const maxBatch = 10000

// BatchOnboard starts onboarding the tenants named, or those the filter
// selects (in id order), as one batch operation with a child per tenant.
func (s *Service) BatchOnboard(ctx context.Context, req *xdrlinkv1.BatchOnboardRequest) (*longrunningpb.Operation, error) {
	tenants := req.GetTenants()
	switch {
	case len(tenants) == 0 && req.GetFilter() == "":
		return nil, apierr.InvalidArgument(apierr.Violation("tenants", "name the tenants, or select them with filter"))
	case len(tenants) > 0 && req.GetFilter() != "":
		return nil, apierr.InvalidArgument(apierr.Violation("filter", "give either tenants or filter, not both"))
	case req.GetFilter() != "":
		var err error
		if tenants, err = s.selectTenants(ctx, req.GetFilter()); err != nil {
			return nil, err
		}
	}
	return s.ops.SubmitBatch(ctx, engine.BatchRequest{
		Kind: xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_ONBOARD, Tenants: tenants,
		MaxConcurrency: int(req.GetMaxConcurrency()), Method: "BatchOnboard", Caller: server.Caller(ctx),
		RequestID: req.GetRequestId(), Fingerprint: fingerprint(req),
	})
}

// selectTenants returns the names of the tenants filter selects: at least
// one, at most maxBatch.
func (s *Service) selectTenants(ctx context.Context, filter string) ([]string, error) {
	q, err := tenantsvc.ParseFilter(filter)
	if err != nil {
		return nil, err
	}
	q.PageSize = store.MaxPageSize
	var names []string
	for {
		page, err := s.store.ListTenants(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, t := range page.Tenants {
			names = append(names, tenantrecord.NamePrefix+t.ID)
		}
		if len(names) > maxBatch {
			return nil, apierr.InvalidArgument(apierr.Violation("filter",
				"selects more than "+strconv.Itoa(maxBatch)+" tenants, the most one batch takes; narrow it, e.g. with a label"))
		}
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	if len(names) == 0 {
		return nil, apierr.InvalidArgument(apierr.Violation("filter", "selects no tenant"))
	}
	return names, nil
}
