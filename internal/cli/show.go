package cli

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/cli/render"
)

// describeDetails turns an error's details into lines for people.
func describeDetails(st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				out = append(out, v.GetField()+": "+v.GetDescription())
			}
		case *errdetails.ErrorInfo:
			out = append(out, "reason: "+d.GetReason())
		case *errdetails.RetryInfo:
			out = append(out, "retry after "+d.GetRetryDelay().AsDuration().String())
		}
	}
	return out
}

// short drops an enum's prefix: STATE_ONBOARDED → ONBOARDED.
func short(enum fmt.Stringer, prefix string) string {
	return strings.TrimPrefix(enum.String(), prefix)
}

func when(ts *timestamppb.Timestamp) string {
	if ts == nil {
		return ""
	}
	return ts.AsTime().Local().Format(time.DateTime)
}

func (a *app) tenantState(s xdrlinkv1.Tenant_State) string {
	tone := render.Neutral
	switch s {
	case xdrlinkv1.Tenant_STATE_ONBOARDED:
		tone = render.Good
	case xdrlinkv1.Tenant_STATE_ACTION_REQUIRED, xdrlinkv1.Tenant_STATE_DEGRADED:
		tone = render.Warn
	case xdrlinkv1.Tenant_STATE_FAILED:
		tone = render.Bad
	}
	return a.printer.Paint(short(s, "STATE_"), tone)
}

func (a *app) opState(s xdrlinkv1.OperationState) string {
	tone := render.Neutral
	switch s {
	case xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED:
		tone = render.Good
	case xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED, xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED:
		tone = render.Warn
	case xdrlinkv1.OperationState_OPERATION_STATE_FAILED:
		tone = render.Bad
	}
	return a.printer.Paint(short(s, "OPERATION_STATE_"), tone)
}

func (a *app) verdict(v xdrlinkv1.Verdict) string {
	tone := render.Neutral
	switch v {
	case xdrlinkv1.Verdict_VERDICT_HEALTHY:
		tone = render.Good
	case xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD, xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED:
		tone = render.Warn
	case xdrlinkv1.Verdict_VERDICT_STALE, xdrlinkv1.Verdict_VERDICT_NO_DATA, xdrlinkv1.Verdict_VERDICT_NOT_ENABLED, xdrlinkv1.Verdict_VERDICT_ERROR:
		tone = render.Bad
	}
	return a.printer.Paint(short(v, "VERDICT_"), tone)
}

func labelsString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + "=" + m[k]
	}
	return strings.Join(keys, ",")
}

func (a *app) printTenants(ts []*xdrlinkv1.Tenant, whole *xdrlinkv1.ListTenantsResponse) error {
	if a.printer.Structured() {
		return a.printer.Message(whole)
	}
	rows := make([][]string, len(ts))
	for i, t := range ts {
		v := ""
		if lv := t.GetLastVerification(); lv != nil {
			v = a.verdict(lv.GetVerdict())
		}
		rows[i] = []string{strings.TrimPrefix(t.GetName(), "tenants/"), t.GetDisplayName(), a.tenantState(t.GetState()), v,
			t.GetWorkspace().GetName(), t.GetAccessGroup(), labelsString(t.GetLabels())}
	}
	return a.printer.Rows([]string{"ID", "DISPLAY NAME", "STATE", "VERIFIED", "WORKSPACE", "GROUP", "LABELS"}, rows)
}

func (a *app) printTenant(t *xdrlinkv1.Tenant) error {
	if a.printer.Structured() {
		return a.printer.Message(t)
	}
	w := t.GetWorkspace()
	rows := [][]string{
		{"name", t.GetName()},
		{"display name", t.GetDisplayName()},
		{"state", a.tenantState(t.GetState())},
		{"entra tenant", t.GetEntraTenantId()},
		{"workspace", fmt.Sprintf("%s/%s/%s (%s)", w.GetSubscriptionId(), w.GetResourceGroup(), w.GetName(), w.GetRegion())},
		{"tables", strings.Join(t.GetConnector().GetTables(), ", ")},
		{"labels", labelsString(t.GetLabels())},
		{"access group", t.GetAccessGroup()},
		{"last operation", t.GetLastOperation()},
		{"etag", t.GetEtag()},
	}
	if lv := t.GetLastVerification(); lv != nil {
		rows = append(rows, []string{"last verification", a.verdict(lv.GetVerdict()) + " " + when(lv.GetVerifyTime())})
	}
	if e := t.GetStatus().GetError(); e != nil {
		rows = append(rows, []string{"error", a.printer.Paint(e.GetMessage(), render.Bad)})
	}
	return a.printer.Rows([]string{"FIELD", "VALUE"}, rows)
}

func metadataOf(op *longrunningpb.Operation) *xdrlinkv1.OperationMetadata {
	md := &xdrlinkv1.OperationMetadata{}
	_ = op.GetMetadata().UnmarshalTo(md)
	return md
}

func (a *app) operationRow(op *longrunningpb.Operation) []string {
	md := metadataOf(op)
	progress := ""
	if p := md.GetBatchProgress(); p != nil {
		progress = fmt.Sprintf("%d/%d", p.GetSucceeded()+p.GetFailed()+p.GetCancelled(), p.GetTotal())
	}
	return []string{strings.TrimPrefix(op.GetName(), "operations/"), short(md.GetKind(), "OPERATION_KIND_"),
		strings.TrimPrefix(md.GetTenant(), "tenants/"), a.opState(md.GetState()), progress, when(md.GetCreateTime())}
}

var operationHeader = []string{"OPERATION", "KIND", "TENANT", "STATE", "PROGRESS", "CREATED"}

func (a *app) printOperation(op *longrunningpb.Operation) error {
	if a.printer.Structured() {
		return a.printer.Message(op)
	}
	if err := a.printer.Rows(operationHeader, [][]string{a.operationRow(op)}); err != nil {
		return err
	}
	md := metadataOf(op)
	if len(md.GetSteps()) > 0 {
		fmt.Fprintln(a.io.Out)
		var rows [][]string
		for _, s := range md.GetSteps() {
			msg := s.GetMessage()
			if s.GetError() != nil {
				msg = a.printer.Paint(s.GetError().GetMessage(), render.Bad)
			}
			if ra := s.GetRequiredAction(); ra != nil && s.GetState() == xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED {
				if dc := ra.GetDeviceCode(); dc != nil {
					msg = fmt.Sprintf("%s: open %s, code %s", ra.GetWho(), dc.GetVerificationUri(), dc.GetUserCode())
				} else {
					msg = ra.GetWho() + ": " + ra.GetWhat()
				}
			}
			rows = append(rows, []string{short(s.GetKind(), "STEP_KIND_"), short(s.GetState(), "STEP_STATE_"), msg})
		}
		if err := a.printer.Rows([]string{"STEP", "STATE", "DETAIL"}, rows); err != nil {
			return err
		}
	}
	if e := op.GetError(); e != nil {
		fmt.Fprintln(a.io.Out, a.printer.Paint("error: "+e.GetMessage(), render.Bad))
	}
	return nil
}
