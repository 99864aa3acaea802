package daemon

import (
	"context"
	"fmt"
	"path"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/google/go-cmp/cmp"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestTenantLifecycle creates, reads, lists with pagination, updates with the
// etag and deletes tenants, over gRPC and over REST against one daemon.
func TestTenantLifecycle(t *testing.T) {
	backends(t, func(t *testing.T, db string) {
		testTenantLifecycle(t, startDaemon(t, withDB(db)))
	})
}

func testTenantLifecycle(t *testing.T, d *Daemon) {
	transports(t, d, func(t *testing.T, api tenantAPI) {
		ctx := t.Context()
		prefix := path.Base(t.Name()) // "grpc" or "rest": disjoint ids per transport

		// Create.
		in := validTenant("Contoso " + prefix)
		created, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: prefix + "-contoso", Tenant: in})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if created.GetName() != "tenants/"+prefix+"-contoso" || created.GetState() != xdrlinkv1.Tenant_STATE_REGISTERED ||
			created.GetEtag() == "" || created.GetCreateTime() == nil || !created.GetUpdateTime().AsTime().Equal(created.GetCreateTime().AsTime()) {
			t.Fatalf("create returned %v", created)
		}
		if diff := cmp.Diff(in.GetWorkspace(), created.GetWorkspace(), protocmp.Transform()); diff != "" {
			t.Errorf("workspace changed on create (-sent +got):\n%s", diff)
		}
		if !proto.Equal(created.GetConnector(), &xdrlinkv1.ConnectorSettings{Incidents: true, Alerts: true, DisableIncidentCreationRules: true}) {
			t.Errorf("default connector = %v", created.GetConnector())
		}

		// Get returns exactly what create returned.
		got, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: created.GetName()})
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
			t.Errorf("get differs from create (-create +get):\n%s", diff)
		}

		// List with pagination: 6 more tenants with another label, walked
		// 4 at a time through a filter.
		var want []string
		for i := range 6 {
			tn := validTenant(fmt.Sprintf("Page %s %d", prefix, i))
			tn.Labels = map[string]string{"batch": prefix}
			c, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: fmt.Sprintf("%s-page-%d", prefix, i), Tenant: tn})
			if err != nil {
				t.Fatalf("create page tenant: %v", err)
			}
			want = append(want, c.GetName())
		}
		var names []string
		var pages int
		req := &xdrlinkv1.ListTenantsRequest{PageSize: 4, Filter: fmt.Sprintf(`labels.batch = "%s" AND state = REGISTERED`, prefix)}
		for {
			resp, err := api.List(ctx, req)
			if err != nil {
				t.Fatalf("list page %d: %v", pages, err)
			}
			pages++
			if len(resp.GetTenants()) > 4 {
				t.Fatalf("page of %d > page_size 4", len(resp.GetTenants()))
			}
			for _, tn := range resp.GetTenants() {
				names = append(names, tn.GetName())
			}
			if resp.GetNextPageToken() == "" {
				break
			}
			req.PageToken = resp.GetNextPageToken()
		}
		if pages != 2 || !cmp.Equal(names, want) {
			t.Errorf("listed %v in %d pages, want %v in 2", names, pages, want)
		}

		// Update with the current etag: the masked field changes, the etag
		// too, nothing else.
		upd := &xdrlinkv1.Tenant{Name: created.GetName(), Etag: created.GetEtag(), DisplayName: "Contoso Ltd",
			Connector: &xdrlinkv1.ConnectorSettings{Tables: []string{"DeviceProcessEvents"}}}
		updated, err := api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: upd,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "connector.tables"}}})
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		wantUpd := proto.Clone(created).(*xdrlinkv1.Tenant)
		wantUpd.DisplayName = "Contoso Ltd"
		wantUpd.Connector.Tables = []string{"DeviceProcessEvents"}
		if diff := cmp.Diff(wantUpd, updated, protocmp.Transform(),
			protocmp.IgnoreFields(&xdrlinkv1.Tenant{}, "etag", "update_time")); diff != "" {
			t.Errorf("update (-want +got):\n%s", diff)
		}
		if updated.GetEtag() == created.GetEtag() || updated.GetUpdateTime().AsTime().Before(created.GetUpdateTime().AsTime()) {
			t.Errorf("etag %q -> %q, update_time %v -> %v", created.GetEtag(), updated.GetEtag(), created.GetUpdateTime(), updated.GetUpdateTime())
		}

		// The old etag is now stale, for update and delete alike.
		upd.DisplayName = "lost update"
		_, err = api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
		if status.Code(err) != codes.Aborted {
			t.Errorf("update with stale etag: %v, want ABORTED", err)
		}
		if err := api.Delete(ctx, &xdrlinkv1.DeleteTenantRequest{Name: created.GetName(), Etag: created.GetEtag()}); status.Code(err) != codes.Aborted {
			t.Errorf("delete with stale etag: %v, want ABORTED", err)
		}

		// Delete with the current etag; then it is gone.
		if err := api.Delete(ctx, &xdrlinkv1.DeleteTenantRequest{Name: created.GetName(), Etag: updated.GetEtag()}); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if _, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: created.GetName()}); status.Code(err) != codes.NotFound {
			t.Errorf("get after delete: %v, want NOT_FOUND", err)
		}
	})
}

// TestUpdateWithoutMaskOverREST checks that REST derives the mask from the
// body: only the fields sent change.
func TestUpdateWithoutMaskOverREST(t *testing.T) {
	d := startDaemon(t)
	api := newREST(d)
	ctx := t.Context()
	created, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: "fabrikam", Tenant: validTenant("Fabrikam")})
	if err != nil {
		t.Fatal(err)
	}
	updated, err := api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: &xdrlinkv1.Tenant{
		Name: created.GetName(), Connector: &xdrlinkv1.ConnectorSettings{EntitySync: true}}})
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(created).(*xdrlinkv1.Tenant)
	want.Connector.EntitySync = true
	if diff := cmp.Diff(want, updated, protocmp.Transform(), protocmp.IgnoreFields(&xdrlinkv1.Tenant{}, "etag", "update_time")); diff != "" {
		t.Errorf("update (-want +got):\n%s", diff)
	}
}

// TestUpdateSameValuesWritesNothing: an update that changes nothing keeps
// the etag, so a re-run never churns it.
func TestUpdateSameValuesWritesNothing(t *testing.T) {
	d := startDaemon(t)
	api := grpcAPI{c: dial(t, d).Tenants}
	ctx := t.Context()
	created, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: "same", Tenant: validTenant("Same")})
	if err != nil {
		t.Fatal(err)
	}
	again, err := api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{
		Tenant:     &xdrlinkv1.Tenant{Name: created.GetName(), DisplayName: created.GetDisplayName()},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if again.GetEtag() != created.GetEtag() || !again.GetUpdateTime().AsTime().Equal(created.GetUpdateTime().AsTime()) {
		t.Errorf("no-op update changed etag %q -> %q or update_time", created.GetEtag(), again.GetEtag())
	}
}

// TestConcurrentUpdatesSameEtag: of many updates sent at once with the same
// etag, exactly one wins and the rest get ABORTED.
func TestConcurrentUpdatesSameEtag(t *testing.T) {
	backends(t, func(t *testing.T, db string) {
		d := startDaemon(t, withDB(db))
		api := grpcAPI{c: dial(t, d).Tenants}
		created, err := api.Create(t.Context(), &xdrlinkv1.CreateTenantRequest{TenantId: "race", Tenant: validTenant("Race")})
		if err != nil {
			t.Fatal(err)
		}
		const n = 16
		errs := make(chan error, n)
		for i := range n {
			go func() {
				_, err := api.Update(t.Context(), &xdrlinkv1.UpdateTenantRequest{
					Tenant:     &xdrlinkv1.Tenant{Name: created.GetName(), Etag: created.GetEtag(), DisplayName: fmt.Sprint("writer ", i)},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}},
				})
				errs <- err
			}()
		}
		var won, aborted int
		for range n {
			switch err := <-errs; status.Code(err) {
			case codes.OK:
				won++
			case codes.Aborted:
				aborted++
			default:
				t.Errorf("unexpected %v", err)
			}
		}
		if won != 1 || aborted != n-1 {
			t.Errorf("%d won, %d aborted; want 1 and %d", won, aborted, n-1)
		}
	})
}

// TestOneTenantPerWorkspace: a workspace names one tenant, whatever the case
// of its parts; the refusal names the tenant that holds it.
func TestOneTenantPerWorkspace(t *testing.T) {
	d := startDaemon(t)
	transports(t, d, func(t *testing.T, api tenantAPI) {
		ctx := context.Background()
		first := createRequest("ws-first-" + t.Name()[len(t.Name())-4:])
		first.Tenant.Workspace.Name = "shared-ws-" + t.Name()[len(t.Name())-4:]
		if _, err := api.Create(ctx, first); err != nil {
			t.Fatal(err)
		}
		second := createRequest("ws-second-" + t.Name()[len(t.Name())-4:])
		second.Tenant.Workspace.Name = strings.ToUpper(first.Tenant.Workspace.Name)
		second.Tenant.Workspace.ResourceGroup = strings.ToUpper(first.Tenant.Workspace.ResourceGroup)
		_, err := api.Create(ctx, second)
		wantReason(t, err, codes.AlreadyExists, xdrlinkv1.ErrorReason_ERROR_REASON_WORKSPACE_ALREADY_REGISTERED)
		if _, meta := errorInfo(t, status.Convert(err).Proto().GetDetails()); meta["tenant"] != "tenants/"+first.TenantId {
			t.Errorf("refusal names %q, want tenants/%s", meta["tenant"], first.TenantId)
		}
		// Moving another tenant onto the workspace is refused the same way.
		second.Tenant.Workspace.Name = "other-ws-" + t.Name()[len(t.Name())-4:]
		created, err := api.Create(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		created.Workspace.Name = first.Tenant.Workspace.Name
		_, err = api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: created, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"workspace.name"}}})
		wantReason(t, err, codes.AlreadyExists, xdrlinkv1.ErrorReason_ERROR_REASON_WORKSPACE_ALREADY_REGISTERED)
	})
}

// TestBatchCreateTenants registers three tenants in one call, over gRPC and
// REST: the answer lists them in request order, and Get and List see them
// as created.
func TestBatchCreateTenants(t *testing.T) {
	backends(t, func(t *testing.T, db string) {
		d := startDaemon(t, withDB(db))
		transports(t, d, func(t *testing.T, api tenantAPI) {
			ctx := t.Context()
			prefix := path.Base(t.Name()) // "grpc" or "rest": disjoint ids per transport
			req := &xdrlinkv1.BatchCreateTenantsRequest{}
			for _, id := range []string{"charlie", "alpha", "bravo"} { // not in id order
				tn := validTenant(prefix + " batch " + id)
				tn.Labels = map[string]string{"batch": prefix}
				req.Requests = append(req.Requests, &xdrlinkv1.CreateTenantRequest{TenantId: prefix + "-" + id, Tenant: tn})
			}
			req.Requests[1].Tenant.Connector = &xdrlinkv1.ConnectorSettings{Incidents: true, Tables: []string{"DeviceInfo"}}
			resp, err := api.BatchCreate(ctx, req)
			if err != nil {
				t.Fatalf("batch create: %v", err)
			}
			if len(resp.GetTenants()) != len(req.GetRequests()) {
				t.Fatalf("batch create returned %d tenants, want %d", len(resp.GetTenants()), len(req.GetRequests()))
			}
			byName := map[string]*xdrlinkv1.Tenant{}
			for i, got := range resp.GetTenants() {
				r := req.GetRequests()[i]
				if got.GetName() != "tenants/"+r.GetTenantId() || got.GetState() != xdrlinkv1.Tenant_STATE_REGISTERED ||
					got.GetEtag() == "" || !got.GetCreateTime().AsTime().Equal(resp.GetTenants()[0].GetCreateTime().AsTime()) {
					t.Errorf("tenant %d: %v", i, got)
				}
				want := proto.Clone(r.GetTenant()).(*xdrlinkv1.Tenant)
				if want.Connector == nil {
					want.Connector = &xdrlinkv1.ConnectorSettings{Incidents: true, Alerts: true, DisableIncidentCreationRules: true}
				}
				if diff := cmp.Diff(want, got, protocmp.Transform(),
					protocmp.IgnoreFields(&xdrlinkv1.Tenant{}, "name", "state", "etag", "create_time", "update_time")); diff != "" {
					t.Errorf("tenant %d (-sent +got):\n%s", i, diff)
				}
				fetched, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: got.GetName()})
				if err != nil {
					t.Fatalf("get: %v", err)
				}
				if diff := cmp.Diff(got, fetched, protocmp.Transform()); diff != "" {
					t.Errorf("get differs from batch create (-create +get):\n%s", diff)
				}
				byName[got.GetName()] = got
			}
			list, err := api.List(ctx, &xdrlinkv1.ListTenantsRequest{Filter: fmt.Sprintf(`labels.batch = "%s"`, prefix)})
			if err != nil {
				t.Fatalf("list: %v", err)
			}
			var names []string
			for _, tn := range list.GetTenants() {
				names = append(names, tn.GetName())
				if diff := cmp.Diff(byName[tn.GetName()], tn, protocmp.Transform()); diff != "" {
					t.Errorf("listed %s differs (-create +list):\n%s", tn.GetName(), diff)
				}
			}
			want := []string{"tenants/" + prefix + "-alpha", "tenants/" + prefix + "-bravo", "tenants/" + prefix + "-charlie"}
			if !cmp.Equal(names, want) {
				t.Errorf("listed %v, want %v", names, want)
			}
		})
	})
}

// TestBatchCreateStoresNothingOnFailure: a batch refused by the registry (an
// id or a workspace already taken, by its last item) stores none of its
// tenants, and the same batch without the collision then succeeds.
func TestBatchCreateStoresNothingOnFailure(t *testing.T) {
	backends(t, func(t *testing.T, db string) {
		d := startDaemon(t, withDB(db))
		transports(t, d, func(t *testing.T, api tenantAPI) {
			ctx := t.Context()
			prefix := path.Base(t.Name())
			taken, err := api.Create(ctx, createRequest(prefix+"-taken"))
			if err != nil {
				t.Fatal(err)
			}
			batch := func(last func(*xdrlinkv1.CreateTenantRequest)) *xdrlinkv1.BatchCreateTenantsRequest {
				req := &xdrlinkv1.BatchCreateTenantsRequest{}
				for i := range 5 {
					r := createRequest(fmt.Sprintf("%s-new-%d", prefix, i))
					r.Tenant.Labels = map[string]string{"batch": prefix}
					req.Requests = append(req.Requests, r)
				}
				if last != nil {
					last(req.Requests[4])
				}
				return req
			}
			for _, tc := range []struct {
				name   string
				last   func(*xdrlinkv1.CreateTenantRequest)
				reason xdrlinkv1.ErrorReason
			}{
				{"id taken", func(r *xdrlinkv1.CreateTenantRequest) { r.TenantId = prefix + "-taken" },
					xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_ALREADY_EXISTS},
				{"workspace taken", func(r *xdrlinkv1.CreateTenantRequest) { r.Tenant.Workspace = taken.GetWorkspace() },
					xdrlinkv1.ErrorReason_ERROR_REASON_WORKSPACE_ALREADY_REGISTERED},
			} {
				_, err := api.BatchCreate(ctx, batch(tc.last))
				wantReason(t, err, codes.AlreadyExists, tc.reason)
				if _, meta := errorInfo(t, status.Convert(err).Proto().GetDetails()); meta["index"] != "4" {
					t.Errorf("%s: refusal names item %q, want 4 (%v)", tc.name, meta["index"], meta)
				}
				for i := range 5 {
					name := fmt.Sprintf("tenants/%s-new-%d", prefix, i)
					if _, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: name}); status.Code(err) != codes.NotFound {
						t.Errorf("%s: get %s after the failed batch: %v, want NOT_FOUND", tc.name, name, err)
					}
				}
				list, err := api.List(ctx, &xdrlinkv1.ListTenantsRequest{Filter: fmt.Sprintf(`labels.batch = "%s"`, prefix)})
				if err != nil || len(list.GetTenants()) != 0 {
					t.Errorf("%s: list after the failed batch: %d tenants, %v; want none", tc.name, len(list.GetTenants()), err)
				}
			}
			resp, err := api.BatchCreate(ctx, batch(nil))
			if err != nil || len(resp.GetTenants()) != 5 {
				t.Fatalf("the batch without the collision: %d tenants, %v", len(resp.GetTenants()), err)
			}
		})
	})
}
