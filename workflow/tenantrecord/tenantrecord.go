package tenantrecord

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

// NamePrefix starts every tenant's resource name.
const NamePrefix = "tenants/"

var deterministic = proto.MarshalOptions{Deterministic: true}

// Spec is the stored form of t's spec: the message without the output-only
// fields and those the store owns (etag, times), plus the columns the store
// queries. State is set for a create; updates leave the stored state alone.
func Spec(id string, t *xdrlinkv1.Tenant) (*store.Tenant, error) {
	body := proto.Clone(t).(*xdrlinkv1.Tenant)
	ClearStatus(body)
	body.Etag, body.CreateTime, body.UpdateTime = "", nil, nil
	b, err := deterministic.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &store.Tenant{ID: id, State: t.GetState().String(), Labels: t.GetLabels(), Body: b,
		WorkspaceKey: WorkspaceKey(t.GetWorkspace()), AccessGroup: t.GetAccessGroup()}, nil
}

// ClearStatus drops the fields operations own.
func ClearStatus(t *xdrlinkv1.Tenant) {
	t.State = xdrlinkv1.Tenant_STATE_UNSPECIFIED
	t.LastOperation = ""
	t.LastVerification = nil
	t.Status = nil
}

// Status is the stored form of t's status: a Tenant holding only
// last_operation, last_verification and status (the state has its own
// indexed column).
func Status(t *xdrlinkv1.Tenant) ([]byte, error) {
	return deterministic.Marshal(&xdrlinkv1.Tenant{
		LastOperation:    t.GetLastOperation(),
		LastVerification: t.GetLastVerification(),
		Status:           t.GetStatus(),
	})
}

// Decode reads a stored row back into the API message.
func Decode(rec *store.Tenant) (*xdrlinkv1.Tenant, error) {
	t := &xdrlinkv1.Tenant{}
	if err := proto.Unmarshal(rec.Body, t); err != nil {
		return nil, err // corrupt row: INTERNAL, logged with the request id
	}
	ClearStatus(t) // rows written before spec and status were split kept both in the body
	if len(rec.Status) > 0 {
		st := &xdrlinkv1.Tenant{}
		if err := proto.Unmarshal(rec.Status, st); err != nil {
			return nil, err
		}
		t.LastOperation, t.LastVerification, t.Status = st.GetLastOperation(), st.GetLastVerification(), st.GetStatus()
	}
	t.State = xdrlinkv1.Tenant_State(xdrlinkv1.Tenant_State_value[rec.State])
	t.Name = NamePrefix + rec.ID
	t.Etag = rec.Etag
	t.CreateTime = timestamppb.New(rec.CreateTime)
	t.UpdateTime = timestamppb.New(rec.UpdateTime)
	return t, nil
}

// WorkspaceKey identifies a workspace whatever the case its parts were
// written in: Azure resource names and ids compare case-insensitively.
func WorkspaceKey(ws *xdrlinkv1.Workspace) string {
	if ws.GetSubscriptionId() == "" || ws.GetResourceGroup() == "" || ws.GetName() == "" {
		return ""
	}
	return strings.ToLower(ws.GetSubscriptionId() + "/" + ws.GetResourceGroup() + "/" + ws.GetName())
}
