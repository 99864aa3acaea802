package tenantsvc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// Service implements xdrlinkv1.TenantServiceServer.
type Service struct {
	xdrlinkv1.UnimplementedTenantServiceServer
	store store.TenantStore
	// profiles are the credential profiles configured on the server; when
	// empty, any well-formed profile name is accepted.
	profiles []string
}

// New returns the service over st. profiles lists the credential profile
// names the server knows (see Tenant.credential_profile).
func New(st store.TenantStore, profiles []string) *Service {
	return &Service{store: st, profiles: profiles}
}

const namePrefix = tenantrecord.NamePrefix

// updateRetries bounds the read-modify-write retries of an update that came
// without an etag and lost a race with another writer.
const updateRetries = 3

// maxLabels is the most labels a tenant has, as Tenant.labels's
// protovalidate rule says of a request.
const maxLabels = 64

// CreateTenant registers a tenant under the caller's id.
func (s *Service) CreateTenant(ctx context.Context, req *xdrlinkv1.CreateTenantRequest) (*xdrlinkv1.Tenant, error) {
	t := newTenant(req)
	if v := s.createViolations("tenant.", t); len(v) > 0 {
		return nil, apierr.InvalidArgument(v...)
	}
	if err := placeInGroup(ctx, "tenant.access_group", t); err != nil {
		return nil, err
	}
	rec, err := tenantrecord.Spec(req.GetTenantId(), t)
	if err != nil {
		return nil, err
	}
	rec, err = s.store.CreateTenant(ctx, rec)
	if err != nil {
		return nil, s.workspaceTaken(ctx, apierr.ForResource(err, t.Name))
	}
	return tenantrecord.Decode(rec)
}

// placeInGroup checks that ctx's caller may register t in its access
// group; without one, a caller scoped to one group registers it there.
func placeInGroup(ctx context.Context, field string, t *xdrlinkv1.Tenant) error {
	if t.AccessGroup == "" {
		t.AccessGroup = authz.DefaultGroup(ctx, authz.Operator)
	}
	return authz.CheckGroup(ctx, field, t.GetAccessGroup(), authz.Operator)
}

// newTenant is the tenant a create request registers.
func newTenant(req *xdrlinkv1.CreateTenantRequest) *xdrlinkv1.Tenant {
	t := proto.Clone(req.GetTenant()).(*xdrlinkv1.Tenant)
	if t == nil { // only a request protovalidate refused has no tenant
		t = &xdrlinkv1.Tenant{}
	}
	clearOutputOnly(t)
	t.Name = namePrefix + req.GetTenantId()
	if t.Connector == nil {
		t.Connector = defaultConnector()
	}
	t.State = xdrlinkv1.Tenant_STATE_REGISTERED
	return t
}

// GetTenant returns one tenant.
func (s *Service) GetTenant(ctx context.Context, req *xdrlinkv1.GetTenantRequest) (*xdrlinkv1.Tenant, error) {
	return LoadFor(ctx, s.store, req.GetName(), authz.Viewer)
}

// ListTenants returns a page of tenants in id order.
func (s *Service) ListTenants(ctx context.Context, req *xdrlinkv1.ListTenantsRequest) (*xdrlinkv1.ListTenantsResponse, error) {
	q, err := ParseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	q.PageSize = int(req.GetPageSize())
	q.PageToken = req.GetPageToken()
	q.Scope = authz.TenantScope(ctx, authz.Viewer)
	page, err := s.store.ListTenants(ctx, q)
	if err != nil {
		return nil, err
	}
	resp := &xdrlinkv1.ListTenantsResponse{NextPageToken: page.NextPageToken}
	for _, rec := range page.Tenants {
		t, err := tenantrecord.Decode(rec)
		if err != nil {
			return nil, err
		}
		resp.Tenants = append(resp.Tenants, t)
	}
	return resp, nil
}

// UpdateTenant changes the fields named by the update mask.
func (s *Service) UpdateTenant(ctx context.Context, req *xdrlinkv1.UpdateTenantRequest) (*xdrlinkv1.Tenant, error) {
	in := req.GetTenant()
	paths, v := updateViolations(req)
	if len(v) > 0 {
		return nil, apierr.InvalidArgument(v...)
	}
	// What the caller sent in output-only fields is ignored (AIP-203).
	src := proto.Clone(in).(*xdrlinkv1.Tenant)
	clearOutputOnlyFields(src.ProtoReflect())
	id := strings.TrimPrefix(in.GetName(), namePrefix)
	for attempt := 0; ; attempt++ {
		rec, err := s.store.GetTenant(ctx, id)
		if err != nil {
			return nil, apierr.ForResource(err, in.GetName())
		}
		if err := authz.CheckTenant(ctx, in.GetName(), rec.AccessGroup, authz.Operator); err != nil {
			return nil, err
		}
		// The caller's etag makes the update conditional; without one we
		// still write conditionally on what we read, so a concurrent change
		// is never silently overwritten.
		expected := rec.Etag
		if in.GetEtag() != "" {
			if in.GetEtag() != rec.Etag {
				return nil, apierr.ForResource(store.ErrEtagMismatch, in.GetName())
			}
			expected = in.GetEtag()
		}
		cur, err := tenantrecord.Decode(rec)
		if err != nil {
			return nil, err
		}
		next := proto.Clone(cur).(*xdrlinkv1.Tenant)
		applyMask(next, src, paths)
		keepOutputOnly(next.ProtoReflect(), cur.ProtoReflect())
		if err := s.checkComplete(next); err != nil {
			return nil, err
		}
		if n := len(next.GetLabels()); n > maxLabels {
			// The request's own labels pass the rule; "labels.<key>" merges
			// them into the stored ones, which may pass the limit.
			return nil, apierr.InvalidArgument(apierr.Violation("tenant.labels",
				fmt.Sprintf("a tenant has at most %d labels; this update would leave it %d (%d now): remove some in the same update",
					maxLabels, n, len(cur.GetLabels()))))
		}
		if proto.Equal(next, cur) {
			return cur, nil // nothing differs: no write, etag unchanged
		}
		if next.GetAccessGroup() != cur.GetAccessGroup() {
			if err := authz.CheckMove(ctx, "tenant.access_group"); err != nil {
				return nil, err
			}
		}
		if movesPlacement(cur, next) {
			if err := inAzure(cur, "change its entra_tenant_id or workspace"); err != nil {
				return nil, err
			}
		}
		stateRead := rec.State
		rec, err = tenantrecord.Spec(id, next)
		if err != nil {
			return nil, err
		}
		// Conditional on the state read too: what was checked against it
		// (movesPlacement) must not land after an operation changed it.
		rec.RequireState = stateRead
		out, err := s.store.UpdateTenant(ctx, rec, expected)
		if errors.Is(err, store.ErrEtagMismatch) && attempt < updateRetries {
			// Read again: the caller's etag, if any, is compared with the
			// new one, and the rules with the new state.
			continue
		}
		if err != nil {
			return nil, s.workspaceTaken(ctx, apierr.ForResource(err, in.GetName()))
		}
		return tenantrecord.Decode(out)
	}
}

// DeleteTenant removes a tenant from the registry, unless an operation is
// changing it in Azure right now, or xdrlink has changed its Azure
// configuration (see inAzure): its record of what it applied, which
// offboarding undoes, would be lost.
func (s *Service) DeleteTenant(ctx context.Context, req *xdrlinkv1.DeleteTenantRequest) (*emptypb.Empty, error) {
	id := strings.TrimPrefix(req.GetName(), namePrefix)
	rec, err := s.store.GetTenant(ctx, id)
	if err != nil {
		return nil, apierr.ForResource(err, req.GetName())
	}
	if err := authz.CheckTenant(ctx, req.GetName(), rec.AccessGroup, authz.Operator); err != nil {
		return nil, err
	}
	st, err := tenantrecord.Decode(rec)
	if err != nil {
		return nil, err
	}
	if busy(rec.State) {
		return nil, &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS,
			Message:  req.GetName() + " has an operation in progress (" + st.GetLastOperation() + "): wait for it to finish or cancel it, then delete",
			Metadata: map[string]string{"resource": req.GetName(), "operation": st.GetLastOperation()}}
	}
	if err := inAzure(st, "delete it"); err != nil {
		return nil, err
	}
	err = s.store.DeleteTenant(ctx, id, req.GetEtag())
	if err != nil {
		return nil, apierr.ForResource(err, req.GetName())
	}
	return &emptypb.Empty{}, nil
}

// defaultConnector is what a tenant created without connector settings gets:
// incidents and alerts connected, duplicate-incident rules turned off.
func defaultConnector() *xdrlinkv1.ConnectorSettings {
	return &xdrlinkv1.ConnectorSettings{Incidents: true, Alerts: true, DisableIncidentCreationRules: true}
}

// updateViolations checks an update request apart from the tenant it
// makes: the name, the mask, and the tables it sets. It returns the mask's
// paths resolved (see maskPaths).
func updateViolations(req *xdrlinkv1.UpdateTenantRequest) ([]string, []*errdetails.BadRequest_FieldViolation) {
	in := req.GetTenant()
	var v []*errdetails.BadRequest_FieldViolation
	if in.GetName() == "" {
		v = append(v, apierr.Violation("tenant.name", "required: the tenant to update"))
	}
	paths, err := maskPaths(in, req.GetUpdateMask().GetPaths())
	var bad *apierr.Error
	if errors.As(err, &bad) {
		return nil, append(v, bad.Violations...)
	}
	if slices.Contains(paths, "display_name") {
		v = append(v, displayNameViolations("tenant.", in.GetDisplayName())...)
	}
	return paths, append(v, connectorTables("tenant.", in, paths)...)
}

// createViolations lists what a create refuses in the tenant it would
// register, under the field path prefix of the tenant in its request.
func (s *Service) createViolations(prefix string, t *xdrlinkv1.Tenant) []*errdetails.BadRequest_FieldViolation {
	return slices.Concat(displayNameViolations(prefix, t.GetDisplayName()), s.incomplete(prefix, t),
		CheckTables(prefix+"connector.tables", t.GetConnector().GetTables()))
}

// checkComplete reports the fields a tenant cannot be without. Formats were
// already checked by protovalidate; presence depends on the method, so it is
// checked here against the tenant as it will be stored.
func (s *Service) checkComplete(t *xdrlinkv1.Tenant) error {
	// "tenant." is the field path in both Create and Update requests.
	if v := s.incomplete("tenant.", t); len(v) > 0 {
		return apierr.InvalidArgument(v...)
	}
	return nil
}

// incomplete lists what checkComplete reports, under the field path prefix
// of the tenant in its request.
func (s *Service) incomplete(prefix string, t *xdrlinkv1.Tenant) []*errdetails.BadRequest_FieldViolation {
	var v []*errdetails.BadRequest_FieldViolation
	if t.GetEntraTenantId() == "" {
		v = append(v, apierr.Violation(prefix+"entra_tenant_id", "required: the customer's Entra tenant id (GUID)"))
	}
	ws := t.GetWorkspace()
	if ws.GetSubscriptionId() == "" {
		v = append(v, apierr.Violation(prefix+"workspace.subscription_id", "required: the workspace's Azure subscription id (GUID)"))
	}
	if ws.GetResourceGroup() == "" {
		v = append(v, apierr.Violation(prefix+"workspace.resource_group", "required: the workspace's resource group"))
	}
	if ws.GetName() == "" {
		v = append(v, apierr.Violation(prefix+"workspace.name", "required: the Log Analytics workspace name"))
	}
	if p := t.GetCredentialProfile(); p != "" && len(s.profiles) > 0 && !slices.Contains(s.profiles, p) {
		v = append(v, apierr.Violation(prefix+"credential_profile",
			"unknown credential profile "+p+"; configured: "+strings.Join(s.profiles, ", ")))
	}
	return v
}

// movesPlacement: next points the tenant at another customer directory or
// another workspace (any part of it) than cur.
func movesPlacement(cur, next *xdrlinkv1.Tenant) bool {
	return cur.GetEntraTenantId() != next.GetEntraTenantId() || !proto.Equal(cur.GetWorkspace(), next.GetWorkspace())
}

// inAzure refuses to do what (deleting the tenant, or moving it to another
// directory or workspace) while xdrlink has changes in the tenant's Azure
// that offboarding must undo where they were made: the tenant is connected
// or being connected or disconnected, or it FAILED with changes applied.
// REGISTERED and OFFBOARDED tenants, and FAILED ones that changed nothing,
// hold nothing there.
func inAzure(t *xdrlinkv1.Tenant, what string) error {
	state := t.GetState()
	meta := map[string]string{"resource": t.GetName(), "state": state.String()}
	is := t.GetName() + " is " + strings.TrimPrefix(state.String(), "STATE_")
	const offboard = "offboard it first (Offboard undoes those changes where they were made), then "
	msg := ""
	switch state {
	case xdrlinkv1.Tenant_STATE_UNSPECIFIED, xdrlinkv1.Tenant_STATE_REGISTERED, xdrlinkv1.Tenant_STATE_OFFBOARDED:
		return nil
	case xdrlinkv1.Tenant_STATE_FAILED:
		if proto.Size(t.GetStatus().GetApplied()) == 0 {
			return nil
		}
		msg = is + " with changes applied in its Azure: " + offboard + what
	case xdrlinkv1.Tenant_STATE_ONBOARDING, xdrlinkv1.Tenant_STATE_ACTION_REQUIRED:
		meta["operation"] = t.GetLastOperation()
		msg = is + " (" + t.GetLastOperation() + " is changing its Azure): let it finish or cancel it, " + offboard + what
	case xdrlinkv1.Tenant_STATE_OFFBOARDING:
		meta["operation"] = t.GetLastOperation()
		msg = is + " (" + t.GetLastOperation() + " is undoing the changes in its Azure): wait for it to finish, then " + what
	default:
		msg = is + ", connected: xdrlink has changed its Azure configuration; " + offboard + what
	}
	return &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_STATE_CONFLICT,
		Message: msg, Metadata: meta}
}

// busy: the tenant's state says an onboard or offboard is under way.
func busy(state string) bool {
	switch state {
	case xdrlinkv1.Tenant_STATE_ONBOARDING.String(), xdrlinkv1.Tenant_STATE_OFFBOARDING.String(),
		xdrlinkv1.Tenant_STATE_ACTION_REQUIRED.String():
		return true
	}
	return false
}

// workspaceTaken names the tenant that already holds the workspace.
func (s *Service) workspaceTaken(ctx context.Context, err error) error {
	var c *store.ConflictError
	if !errors.As(err, &c) || c.Rule != store.ConflictWorkspace {
		return err
	}
	e := &apierr.Error{Code: codes.AlreadyExists, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_WORKSPACE_ALREADY_REGISTERED,
		Message: "the workspace is already registered to another tenant: one tenant per workspace", Metadata: map[string]string{}}
	// Workspaces are unique across access groups, so a caller may learn
	// that one is taken, but not by which tenant unless it may see that
	// tenant.
	if c.With == "" {
		return e
	}
	other := namePrefix + c.With
	if holder, err := s.store.GetTenant(ctx, c.With); err != nil || authz.CheckTenant(ctx, other, holder.AccessGroup, authz.Viewer) != nil {
		return e
	}
	e.Message = "the workspace is already registered as " + other + ": one tenant per workspace"
	e.Metadata["tenant"] = other
	return e
}

// clearOutputOnly drops what callers may not set (AIP-203: ignored on input).
func clearOutputOnly(t *xdrlinkv1.Tenant) {
	clearOutputOnlyFields(t.ProtoReflect())
	t.Etag = ""
}
