package tenantsvc

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestMaskKeepsOutputOnly: replacing workspace through the mask keeps the
// customer_id the server holds, and an echo of output-only fields, in the
// body or named by the mask REST derives from it, changes nothing.
func TestMaskKeepsOutputOnly(t *testing.T) {
	cur := current()
	in := &xdrlinkv1.Tenant{Workspace: &xdrlinkv1.Workspace{SubscriptionId: "s", ResourceGroup: "rg2", Name: "ws", CustomerId: "forged"},
		State: xdrlinkv1.Tenant_STATE_FAILED, Status: &xdrlinkv1.TenantStatus{Applied: &xdrlinkv1.AppliedChanges{ConnectorName: "forged"}}}
	paths, err := maskPaths(in, []string{"workspace", "workspace.customer_id", "status.applied.connector_name", "state"})
	if err != nil {
		t.Fatal(err)
	}
	src := proto.Clone(in).(*xdrlinkv1.Tenant)
	clearOutputOnlyFields(src.ProtoReflect())
	next := proto.Clone(cur).(*xdrlinkv1.Tenant)
	applyMask(next, src, paths)
	keepOutputOnly(next.ProtoReflect(), cur.ProtoReflect())
	want := current()
	want.Workspace = &xdrlinkv1.Workspace{SubscriptionId: "s", ResourceGroup: "rg2", Name: "ws", CustomerId: "c"}
	if diff := cmp.Diff(want, next, protocmp.Transform()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
