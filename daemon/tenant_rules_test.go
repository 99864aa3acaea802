package daemon

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/api/annotations"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// outputOnlyEcho is a tenant whose every OUTPUT_ONLY field, at every level
// a caller can send, holds a value the server never chose.
func outputOnlyEcho(name, etag string) *xdrlinkv1.Tenant {
	return &xdrlinkv1.Tenant{
		Name: name, Etag: etag,
		State:            xdrlinkv1.Tenant_STATE_ONBOARDED,
		LastOperation:    "operations/forged",
		LastVerification: &xdrlinkv1.VerificationSummary{Verdict: xdrlinkv1.Verdict_VERDICT_HEALTHY},
		CreateTime:       timestamppb.New(timestamppb.Now().AsTime().AddDate(-1, 0, 0)),
		UpdateTime:       timestamppb.New(timestamppb.Now().AsTime().AddDate(-1, 0, 0)),
		Status: &xdrlinkv1.TenantStatus{
			Applied: &xdrlinkv1.AppliedChanges{ConnectorName: "forged"},
			Error:   &spb.Status{Code: int32(codes.Internal), Message: "forged"},
		},
		Workspace: &xdrlinkv1.Workspace{
			SubscriptionId: "3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b", ResourceGroup: "rg-moved", Name: "ws-moved",
			Region: "northeurope", CustomerId: "11111111-2222-3333-4444-555555555555",
		},
	}
}

// unsetOutputOnly lists the OUTPUT_ONLY fields of m's type, and of the
// messages its other singular fields hold, that m leaves unset.
func unsetOutputOnly(m protoreflect.Message, prefix string) []string {
	var missing []string
	fields := m.Descriptor().Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		fb, _ := proto.GetExtension(fd.Options(), annotations.E_FieldBehavior).([]annotations.FieldBehavior)
		switch {
		case slices.Contains(fb, annotations.FieldBehavior_OUTPUT_ONLY):
			if !m.Has(fd) {
				missing = append(missing, prefix+string(fd.Name()))
			}
		case fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			missing = append(missing, unsetOutputOnly(m.Get(fd).Message(), prefix+string(fd.Name())+".")...)
		}
	}
	return missing
}

// TestUpdateIgnoresOutputOnly: an update echoing every OUTPUT_ONLY field of
// Tenant (workspace.customer_id among them) changes none of them, whatever
// the mask, over gRPC and REST (AIP-203): what the caller may set changes,
// the rest stays as the server has it.
func TestUpdateIgnoresOutputOnly(t *testing.T) {
	if missing := unsetOutputOnly(outputOnlyEcho("", "").ProtoReflect(), ""); len(missing) > 0 {
		t.Fatalf("the echo leaves output-only fields unset, so the test would not cover them: %v", missing)
	}
	d := startDaemon(t)
	transports(t, d, func(t *testing.T, api tenantAPI) {
		ctx := context.Background()
		for i, mask := range [][]string{nil, {"workspace"}, {"*"}, {"workspace.region", "workspace.customer_id"}} {
			t.Run(fmt.Sprint(mask), func(t *testing.T) {
				id := fmt.Sprintf("%s-echo-%d", path.Base(path.Dir(t.Name())), i)
				created, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: validTenant("Echo " + id)})
				if err != nil {
					t.Fatal(err)
				}
				in := outputOnlyEcho(created.GetName(), "")
				in.Workspace.Name = "ws-moved-" + id
				if mask == nil || slices.Contains(mask, "*") {
					in.DisplayName, in.EntraTenantId, in.Connector, in.Labels = created.GetDisplayName(), created.GetEntraTenantId(), created.GetConnector(), created.GetLabels()
				}
				req := &xdrlinkv1.UpdateTenantRequest{Tenant: in}
				if mask != nil {
					req.UpdateMask = &fieldmaskpb.FieldMask{Paths: mask}
				}
				updated, err := api.Update(ctx, req)
				if err != nil {
					t.Fatalf("update: %v", err)
				}
				got, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: created.GetName()})
				if err != nil {
					t.Fatal(err)
				}
				want := proto.Clone(created).(*xdrlinkv1.Tenant)
				want.Workspace.Region = "northeurope"
				if !slices.Contains(mask, "workspace.region") {
					want.Workspace.ResourceGroup, want.Workspace.Name = in.GetWorkspace().GetResourceGroup(), in.GetWorkspace().GetName()
				}
				for what, tn := range map[string]*xdrlinkv1.Tenant{"update returned": updated, "get returned": got} {
					if diff := cmp.Diff(want, tn, protocmp.Transform(),
						protocmp.IgnoreFields(&xdrlinkv1.Tenant{}, "etag", "update_time")); diff != "" {
						t.Errorf("%s (-want +got):\n%s", what, diff)
					}
					if tn.GetUpdateTime().AsTime().Before(created.GetUpdateTime().AsTime()) {
						t.Errorf("%s update_time %v, before create", what, tn.GetUpdateTime())
					}
				}
			})
		}
	})
}

// TestLabelMergeLimit: "labels.<key>" merges into the stored labels may
// not leave a tenant more than 64 labels, though the request alone passes
// the rule; INVALID_ARGUMENT on tenant.labels, nothing stored. Removing
// labels in the same update keeps it within the limit.
func TestLabelMergeLimit(t *testing.T) {
	d := startDaemon(t)
	transports(t, d, func(t *testing.T, api tenantAPI) {
		ctx := context.Background()
		id := path.Base(t.Name()) + "-labels"
		tn := validTenant("Labels " + id)
		tn.Labels = map[string]string{}
		for i := range 60 {
			tn.Labels[fmt.Sprintf("k%02d", i)] = "v"
		}
		created, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: tn})
		if err != nil {
			t.Fatal(err)
		}
		upd := &xdrlinkv1.Tenant{Name: created.GetName(), Labels: map[string]string{}}
		var paths []string
		for i := range 5 {
			k := fmt.Sprintf("n%02d", i)
			upd.Labels[k] = "v"
			paths = append(paths, "labels."+k)
		}
		_, err = api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		checkStatus(t, invalid("tenant.labels"), err)
		got, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: created.GetName()})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.GetLabels()) != 60 || got.GetEtag() != created.GetEtag() {
			t.Errorf("refused update changed the tenant: %d labels, etag %s -> %s", len(got.GetLabels()), created.GetEtag(), got.GetEtag())
		}
		// Four new and one removed: 63, within the limit.
		paths = append(paths[:4], "labels.k00")
		delete(upd.Labels, "n04")
		updated, err := api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: upd, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
		if err != nil {
			t.Fatalf("update within the limit: %v", err)
		}
		if len(updated.GetLabels()) != 63 {
			t.Errorf("%d labels, want 63", len(updated.GetLabels()))
		}
	})
}

// TestConnectedTenantPlacement: a tenant whose Azure xdrlink has changed,
// or is changing (any state but REGISTERED and OFFBOARDED, and FAILED only
// with changes applied), cannot be moved to another Entra tenant or
// workspace, nor deleted: FAILED_PRECONDITION, TENANT_STATE_CONFLICT, and
// the remedy, offboarding. While an operation runs, deletion keeps its own
// answer, OPERATION_IN_PROGRESS. Its other fields stay editable.
func TestConnectedTenantPlacement(t *testing.T) {
	d := startDaemon(t)
	applied := &xdrlinkv1.TenantStatus{Applied: &xdrlinkv1.AppliedChanges{ConnectorName: "xdrlink-defender"}}
	const (
		allowed = iota
		conflict
		running
	)
	cases := []struct {
		state  xdrlinkv1.Tenant_State
		status *xdrlinkv1.TenantStatus
		update int // allowed or conflict
		del    int
	}{
		{xdrlinkv1.Tenant_STATE_REGISTERED, nil, allowed, allowed},
		{xdrlinkv1.Tenant_STATE_ONBOARDING, nil, conflict, running},
		{xdrlinkv1.Tenant_STATE_ACTION_REQUIRED, nil, conflict, running},
		{xdrlinkv1.Tenant_STATE_ONBOARDED, applied, conflict, conflict},
		{xdrlinkv1.Tenant_STATE_DEGRADED, applied, conflict, conflict},
		{xdrlinkv1.Tenant_STATE_FAILED, applied, conflict, conflict},
		{xdrlinkv1.Tenant_STATE_FAILED, nil, allowed, allowed},
		{xdrlinkv1.Tenant_STATE_OFFBOARDING, applied, conflict, running},
		{xdrlinkv1.Tenant_STATE_OFFBOARDED, nil, allowed, allowed},
	}
	transports(t, d, func(t *testing.T, api tenantAPI) {
		ctx := context.Background()
		for i, tc := range cases {
			t.Run(fmt.Sprintf("%v/applied=%v", tc.state, tc.status != nil), func(t *testing.T) {
				id := fmt.Sprintf("%s-placement-%d", path.Base(path.Dir(path.Dir(t.Name()))), i)
				created, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: validTenant("Placement " + id)})
				if err != nil {
					t.Fatal(err)
				}
				st, err := tenantrecord.Status(&xdrlinkv1.Tenant{LastOperation: "operations/op-" + id, Status: tc.status})
				if err != nil {
					t.Fatal(err)
				}
				if err := d.store.UpdateTenantStatus(ctx, id, tc.state.String(), st); err != nil {
					t.Fatal(err)
				}
				name := created.GetName()
				moves := []struct {
					tn   *xdrlinkv1.Tenant
					mask []string
				}{
					{&xdrlinkv1.Tenant{Name: name, EntraTenantId: "0f9c2e8a-1b2c-4d3e-8f4a-5b6c7d8e9f00"}, []string{"entra_tenant_id"}},
					{&xdrlinkv1.Tenant{Name: name, Workspace: &xdrlinkv1.Workspace{Region: "northeurope"}}, []string{"workspace.region"}},
					{&xdrlinkv1.Tenant{Name: name, Workspace: &xdrlinkv1.Workspace{ResourceGroup: "RG-SENTINEL"}}, []string{"workspace.resource_group"}},
					{func() *xdrlinkv1.Tenant {
						tn := proto.Clone(created).(*xdrlinkv1.Tenant)
						tn.Workspace.Name += "-other"
						return tn
					}(), []string{"workspace"}},
					{func() *xdrlinkv1.Tenant { // no mask: every field the body sets
						tn := validTenant("Placement " + id)
						tn.Name, tn.Workspace.SubscriptionId = name, "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
						return tn
					}(), nil},
				}
				if tc.update == allowed {
					moves = moves[:2]
				}
				for _, mv := range moves {
					req := &xdrlinkv1.UpdateTenantRequest{Tenant: mv.tn}
					if mv.mask != nil {
						req.UpdateMask = &fieldmaskpb.FieldMask{Paths: mv.mask}
					}
					_, err := api.Update(ctx, req)
					if tc.update == allowed {
						if err != nil {
							t.Errorf("update %v: %v", mv.mask, err)
						}
						continue
					}
					checkStatus(t, stateConflict(name, tc.state, "change its entra_tenant_id or workspace"), err)
				}
				got, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: name})
				if err != nil {
					t.Fatal(err)
				}
				if tc.update == conflict && (got.GetEtag() != created.GetEtag() || !proto.Equal(got.GetWorkspace(), created.GetWorkspace())) {
					t.Errorf("a refused move changed the tenant: %v", got)
				}
				// What does not move it stays editable.
				edited, err := api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{
					Tenant:     &xdrlinkv1.Tenant{Name: name, DisplayName: "Renamed", Labels: map[string]string{"tier": "silver"}},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name", "labels"}}})
				if err != nil || edited.GetDisplayName() != "Renamed" {
					t.Errorf("rename: %v, %v", edited, err)
				}

				err = api.Delete(ctx, &xdrlinkv1.DeleteTenantRequest{Name: name})
				switch tc.del {
				case allowed:
					if err != nil {
						t.Errorf("delete: %v", err)
					}
				case conflict:
					checkStatus(t, stateConflict(name, tc.state, "delete it"), err)
				case running:
					wantReason(t, err, codes.FailedPrecondition, xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS)
				}
				if _, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: name}); (err == nil) == (tc.del == allowed) {
					t.Errorf("after delete: get says %v", err)
				}
			})
		}
	})
}

// stateConflict is the refusal of what a tenant in state cannot do before
// it is offboarded, or, while offboarding, before that finishes.
func stateConflict(name string, state xdrlinkv1.Tenant_State, what string) badInput {
	says := "offboard it first (Offboard undoes those changes where they were made), then " + what
	if state == xdrlinkv1.Tenant_STATE_OFFBOARDING {
		says = "wait for it to finish, then " + what
	}
	return badInput{code: codes.FailedPrecondition, httpStatus: 400, reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_STATE_CONFLICT,
		says: says, metadata: map[string]string{"resource": name, "state": state.String()}}
}

// TestDisplayNameCharacters: display names with control or bidirectional
// formatting characters are refused (INVALID_ARGUMENT on the field's path)
// by create, batch create and update, over gRPC and REST, together with
// what the protovalidate rules refuse in the same request.
func TestDisplayNameCharacters(t *testing.T) {
	d := startDaemon(t)
	transports(t, d, func(t *testing.T, api tenantAPI) {
		ctx := context.Background()
		prefix := path.Base(t.Name())
		created, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: prefix + "-names", Tenant: validTenant("Names " + prefix)})
		if err != nil {
			t.Fatal(err)
		}
		for i, name := range []string{"Contoso\u202Egnp.exe", "Two\nlines", "Bell\a", "C1\u0085", "\u2067Isolate", "Mark\u200F", "\u202AEmbed"} {
			t.Run(fmt.Sprintf("%+q", name), func(t *testing.T) {
				tn := validTenant(fmt.Sprintf("Names %s %d", prefix, i))
				tn.DisplayName = name
				_, err := api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: fmt.Sprintf("%s-name-%d", prefix, i), Tenant: tn})
				checkStatus(t, invalid("tenant.display_name"), err)

				// With a field the rules refuse: one answer names both.
				tn.EntraTenantId = "not-a-guid"
				_, err = api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: fmt.Sprintf("%s-name-%d", prefix, i), Tenant: tn})
				checkStatus(t, invalid("tenant.display_name", "tenant.entra_tenant_id"), err)

				ok := validTenant(fmt.Sprintf("Names ok %s %d", prefix, i))
				tn = validTenant(fmt.Sprintf("Names bad %s %d", prefix, i))
				tn.DisplayName = name
				_, err = api.BatchCreate(ctx, &xdrlinkv1.BatchCreateTenantsRequest{Requests: []*xdrlinkv1.CreateTenantRequest{
					{TenantId: fmt.Sprintf("%s-batch-%d-a", prefix, i), Tenant: ok},
					{TenantId: fmt.Sprintf("%s-batch-%d-b", prefix, i), Tenant: tn},
				}})
				checkStatus(t, invalid("requests[1].tenant.display_name"), err)

				_, err = api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: &xdrlinkv1.Tenant{Name: created.GetName(), DisplayName: name},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}})
				checkStatus(t, invalid("tenant.display_name"), err)
				_, err = api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: &xdrlinkv1.Tenant{Name: created.GetName(), DisplayName: name, Labels: map[string]string{"tier": "UPPER"}}})
				checkStatus(t, invalid("tenant.display_name", "tenant.labels[\"tier\"]"), err)
			})
		}
		list, err := api.List(ctx, &xdrlinkv1.ListTenantsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, tn := range list.GetTenants() {
			if strings.HasPrefix(tn.GetName(), "tenants/"+prefix+"-") && tn.GetName() != created.GetName() {
				t.Errorf("stored %s %q", tn.GetName(), tn.GetDisplayName())
			}
		}
		if got, err := api.Get(ctx, &xdrlinkv1.GetTenantRequest{Name: created.GetName()}); err != nil || got.GetEtag() != created.GetEtag() {
			t.Errorf("the tenant changed: %v, %v", got, err)
		}
		// Text from any script, emoji included, is fine.
		for _, name := range []string{"Müller & Söhne", "株式会社コントソ", "شركة كونتوسو", "🚀 Rocket"} {
			if _, err := api.Update(ctx, &xdrlinkv1.UpdateTenantRequest{Tenant: &xdrlinkv1.Tenant{Name: created.GetName(), DisplayName: name},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"display_name"}}}); err != nil {
				t.Errorf("%q: %v", name, err)
			}
		}
	})
}
