package tenantsvc

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// maxBatch is the most tenants one BatchCreateTenants registers, as the
// request's protovalidate rule says.
const maxBatch = 1000

// BatchCreateTenants registers every tenant of the batch or none (AIP-233).
// Each item is checked as CreateTenant checks its request, with field paths
// under requests[i]; an id or workspace twice in the batch is refused before
// the store is asked, so those violations name both items.
func (s *Service) BatchCreateTenants(ctx context.Context, req *xdrlinkv1.BatchCreateTenantsRequest) (*xdrlinkv1.BatchCreateTenantsResponse, error) {
	if v := s.batchViolations(req.GetRequests()); len(v) > 0 {
		return nil, apierr.InvalidArgument(v...)
	}
	recs := make([]*store.Tenant, len(req.GetRequests()))
	for i, r := range req.GetRequests() {
		t := newTenant(r)
		if err := placeInGroup(ctx, fmt.Sprintf("requests[%d].tenant.access_group", i), t); err != nil {
			return nil, err
		}
		rec, err := tenantrecord.Spec(r.GetTenantId(), t)
		if err != nil {
			return nil, err
		}
		recs[i] = rec
	}
	recs, err := s.store.CreateTenants(ctx, recs)
	if err != nil {
		return nil, s.batchConflict(ctx, err, req.GetRequests())
	}
	resp := &xdrlinkv1.BatchCreateTenantsResponse{Tenants: make([]*xdrlinkv1.Tenant, len(recs))}
	for i, rec := range recs {
		if resp.Tenants[i], err = tenantrecord.Decode(rec); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// CheckRequest reports what the service itself checks in a create or
// update request, for the validation interceptor to answer together with
// protovalidate's violations (see server.RequestChecker): a caller learns
// in one answer the malformed and the missing fields and the tables that
// cannot be streamed, in every item of a batch.
func (s *Service) CheckRequest(req any) []*errdetails.BadRequest_FieldViolation {
	switch r := req.(type) {
	case *xdrlinkv1.CreateTenantRequest:
		if r.GetTenant() == nil { // protovalidate reports it missing
			return nil
		}
		return s.createViolations("tenant.", newTenant(r))
	case *xdrlinkv1.BatchCreateTenantsRequest:
		return s.batchViolations(r.GetRequests())
	case *xdrlinkv1.UpdateTenantRequest:
		if r.GetTenant() == nil { // protovalidate reports it missing
			return nil
		}
		_, v := updateViolations(r)
		return v
	}
	return nil
}

// batchViolations checks each item as CreateTenant checks its request, and
// that no two items have the same id or workspace (compared as the store
// compares them). A repeat is reported on the later item, naming the first.
func (s *Service) batchViolations(reqs []*xdrlinkv1.CreateTenantRequest) []*errdetails.BadRequest_FieldViolation {
	if len(reqs) == 0 || len(reqs) > maxBatch {
		return nil // refused as a whole by the size rule; its items are not examined
	}
	var v []*errdetails.BadRequest_FieldViolation
	ids := make(map[string]int, len(reqs))
	workspaces := make(map[string]int, len(reqs))
	for i, r := range reqs {
		prefix := fmt.Sprintf("requests[%d].", i)
		if id := r.GetTenantId(); id != "" {
			if first, ok := ids[id]; ok {
				v = append(v, apierr.Violation(prefix+"tenant_id",
					fmt.Sprintf("same tenant_id as requests[%d]: %s", first, id)))
			} else {
				ids[id] = i
			}
		}
		if r.GetTenant() == nil {
			continue // protovalidate reports it missing
		}
		v = append(v, s.createViolations(prefix+"tenant.", newTenant(r))...)
		if key := tenantrecord.WorkspaceKey(r.GetTenant().GetWorkspace()); key != "" {
			if first, ok := workspaces[key]; ok {
				v = append(v, apierr.Violation(prefix+"tenant.workspace",
					fmt.Sprintf("same workspace as requests[%d]: one tenant per workspace", first)))
			} else {
				workspaces[key] = i
			}
		}
	}
	return v
}

// batchConflict maps the store's refusal of one item to the error
// CreateTenant gives for it (same code and reason), saying which item it
// was: the message starts with requests[i], and the metadata adds "index".
func (s *Service) batchConflict(ctx context.Context, err error, reqs []*xdrlinkv1.CreateTenantRequest) error {
	var item *store.ItemError
	if !errors.As(err, &item) || item.Index < 0 || item.Index >= len(reqs) {
		return err
	}
	name := namePrefix + reqs[item.Index].GetTenantId()
	path := fmt.Sprintf("requests[%d]", item.Index)
	var c *store.ConflictError
	switch {
	case errors.Is(item.Err, store.ErrAlreadyExists):
		return &apierr.Error{Code: codes.AlreadyExists, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_ALREADY_EXISTS,
			Message:  path + ": " + name + " already exists",
			Metadata: map[string]string{"resource": name, "index": strconv.Itoa(item.Index)}}
	case errors.As(item.Err, &c) && c.Rule == store.ConflictWorkspace:
		e := s.workspaceTaken(ctx, item.Err).(*apierr.Error)
		e.Message = path + " (" + name + "): " + e.Message
		e.Metadata["resource"], e.Metadata["index"] = name, strconv.Itoa(item.Index)
		return e
	}
	return err
}
