package tenantrecord

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

func tenant() *xdrlinkv1.Tenant {
	return &xdrlinkv1.Tenant{
		Name: "tenants/a", DisplayName: "A", EntraTenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Workspace: &xdrlinkv1.Workspace{SubscriptionId: "3B1F5E2A-7c4d-4e8f-9a0b-1c2d3e4f5a6b", ResourceGroup: "RG-Sentinel", Name: "Contoso-WS"},
		Labels:    map[string]string{"tier": "gold"},
		State:     xdrlinkv1.Tenant_STATE_ONBOARDED, LastOperation: "operations/x", Etag: "e",
		Status: &xdrlinkv1.TenantStatus{Applied: &xdrlinkv1.AppliedChanges{ConnectorName: "c"}},
	}
}

// The spec body holds neither what the store owns (etag, times) nor what
// operations own (state, last operation, status): each has one home.
func TestSpecOmitsStatusAndStoreOwnedFields(t *testing.T) {
	rec, err := Spec("a", tenant())
	if err != nil {
		t.Fatal(err)
	}
	body := &xdrlinkv1.Tenant{}
	if err := proto.Unmarshal(rec.Body, body); err != nil {
		t.Fatal(err)
	}
	if body.GetEtag() != "" || body.GetState() != 0 || body.GetLastOperation() != "" || body.GetStatus() != nil {
		t.Errorf("body holds output-only fields: %v", body)
	}
	if rec.State != "STATE_ONBOARDED" || rec.Labels["tier"] != "gold" {
		t.Errorf("record %+v", rec)
	}
	if want := "3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b/rg-sentinel/contoso-ws"; rec.WorkspaceKey != want {
		t.Errorf("WorkspaceKey = %q, want %q", rec.WorkspaceKey, want)
	}
}

func TestDecodeJoinsSpecAndStatus(t *testing.T) {
	in := tenant()
	rec, err := Spec("a", in)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status, err = Status(in); err != nil {
		t.Fatal(err)
	}
	rec.Etag, rec.CreateTime, rec.UpdateTime = "e", time.Unix(1, 0).UTC(), time.Unix(2, 0).UTC()
	got, err := Decode(rec)
	if err != nil {
		t.Fatal(err)
	}
	in.CreateTime, in.UpdateTime = got.GetCreateTime(), got.GetUpdateTime()
	if !proto.Equal(got, in) {
		t.Errorf("Decode = %v\nwant %v", got, in)
	}
}

func TestDecodeCorruptRow(t *testing.T) {
	if _, err := Decode(&store.Tenant{ID: "a", Body: []byte{0xff}}); err == nil {
		t.Error("corrupt body decoded")
	}
	if _, err := Decode(&store.Tenant{ID: "a", Status: []byte{0xff}}); err == nil {
		t.Error("corrupt status decoded")
	}
}
