package tablesvc

import (
	"context"
	"slices"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/server/tenantsvc"
	"github.com/xdrlink/xdrlink/workflow/engine"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
)

// settingsSuffix ends a TableSettings name, "tenants/{id}/tableSettings".
const settingsSuffix = "/tableSettings"

// GetTableSettings returns a tenant's desired tables, each with what xdrlink
// last observed of it in Azure.
func (s *Service) GetTableSettings(ctx context.Context, req *xdrlinkv1.GetTableSettingsRequest) (*xdrlinkv1.TableSettings, error) {
	tenant := strings.TrimSuffix(req.GetName(), settingsSuffix)
	t, err := tenantsvc.LoadFor(ctx, s.store, tenant, authz.Viewer)
	if err != nil {
		return nil, err
	}
	return tablestate.Settings(t), nil
}

// UpdateTableSettings starts the operation that changes a connected
// tenant's desired tables and applies them in Azure. The engine stores the
// new tables with the operation, conditional on the etag when one is given
// (ABORTED otherwise), so the request is checked here but written there.
func (s *Service) UpdateTableSettings(ctx context.Context, req *xdrlinkv1.UpdateTableSettingsRequest) (*longrunningpb.Operation, error) {
	if v := updateViolations(req); len(v) > 0 {
		return nil, apierr.InvalidArgument(v...)
	}
	in := req.GetTableSettings()
	tenant := strings.TrimSuffix(in.GetName(), settingsSuffix)
	t, err := tenantsvc.LoadFor(ctx, s.store, tenant, authz.Operator)
	if err != nil {
		return nil, err
	}
	if err := connected(t); err != nil {
		return nil, err
	}
	c := change(req)
	return s.ops.Submit(ctx, engine.Request{
		Kind: xdrlinkv1.OperationKind_OPERATION_KIND_UPDATE_TABLE_SETTINGS, Tenant: tenant,
		Method: "UpdateTableSettings", Caller: server.Caller(ctx), RequestID: req.GetRequestId(),
		Fingerprint: server.Fingerprint(c), Tables: in.GetDesiredTables(), Etag: in.GetEtag(),
	})
}

// CheckRequest reports what the service itself checks in an update, for the
// validation interceptor to answer together with protovalidate's
// violations (see server.RequestChecker).
func (s *Service) CheckRequest(req any) []*errdetails.BadRequest_FieldViolation {
	if r, ok := req.(*xdrlinkv1.UpdateTableSettingsRequest); ok && r.GetTableSettings() != nil {
		return updateViolations(r)
	}
	return nil
}

// updateViolations checks what protovalidate cannot: the name's presence
// (its rule only checks a name that is set), the mask, and the tables
// against the catalog.
func updateViolations(req *xdrlinkv1.UpdateTableSettingsRequest) []*errdetails.BadRequest_FieldViolation {
	in := req.GetTableSettings()
	var v []*errdetails.BadRequest_FieldViolation
	if in.GetName() == "" {
		v = append(v, apierr.Violation("table_settings.name", "required: the tenant's settings, tenants/{id}/tableSettings"))
	}
	if bad := maskViolation(req.GetUpdateMask().GetPaths()); bad != nil {
		v = append(v, bad)
	}
	return append(v, tenantsvc.CheckTables("table_settings.desired_tables", in.GetDesiredTables())...)
}

// ignoredPaths may appear in a mask but change nothing: REST derives the
// mask from the body, which names the etag precondition and may echo the
// name and the output-only fields of a TableSettings it read (AIP-203).
var ignoredPaths = []string{"name", "etag", "tables", "observe_time"}

// maskViolation refuses a mask that names anything to change but
// desired_tables, the one mutable field. An omitted mask, or "*", means
// desired_tables (AIP-134).
func maskViolation(paths []string) *errdetails.BadRequest_FieldViolation {
	changes := len(paths) == 0
	for _, p := range paths {
		switch {
		case p == "desired_tables" || p == "*":
			changes = true
		case slices.Contains(ignoredPaths, p):
		default:
			return apierr.Violation("update_mask", "unknown or immutable field "+p+"; only desired_tables can be changed")
		}
	}
	if !changes {
		return apierr.Violation("update_mask", "names no field to change; only desired_tables can be changed")
	}
	return nil
}

// change is the request as it is fingerprinted: the tables sorted, nothing
// but the name, the tables and the etag, so a retry that lists the same
// tables in another order, or names them in a mask, is the same request.
func change(req *xdrlinkv1.UpdateTableSettingsRequest) *xdrlinkv1.UpdateTableSettingsRequest {
	in := req.GetTableSettings()
	return &xdrlinkv1.UpdateTableSettingsRequest{TableSettings: &xdrlinkv1.TableSettings{
		Name: in.GetName(), DesiredTables: slices.Sorted(slices.Values(in.GetDesiredTables())), Etag: in.GetEtag(),
	}}
}

// connected refuses the update of a tenant that is not connected: before
// onboarding (or after offboarding) there is nothing in Azure to apply the
// tables to, and while an operation runs it owns the tenant.
func connected(t *xdrlinkv1.Tenant) error {
	name, state := t.GetName(), t.GetState()
	meta := map[string]string{"resource": name, "state": state.String()}
	switch state {
	case xdrlinkv1.Tenant_STATE_ONBOARDED, xdrlinkv1.Tenant_STATE_DEGRADED:
		return nil
	case xdrlinkv1.Tenant_STATE_ONBOARDING, xdrlinkv1.Tenant_STATE_ACTION_REQUIRED, xdrlinkv1.Tenant_STATE_OFFBOARDING:
		op := t.GetLastOperation()
		meta["operation"] = op
		if op == "" {
			op = "its operation"
		}
		return &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS,
			Message:  name + " is " + stateName(state) + ": wait for " + op + " to finish (or cancel it), then update its table settings",
			Metadata: meta}
	}
	return &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_STATE_CONFLICT,
		Message: name + " is " + stateName(state) + ", not connected: set connector.tables with UpdateTenant and onboard it; " +
			"onboarding applies them",
		Metadata: meta}
}

func stateName(s xdrlinkv1.Tenant_State) string { return strings.TrimPrefix(s.String(), "STATE_") }
