package engine

import (
	"strconv"

	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/workflow/steps"
)

// target is what the steps need of a tenant's spec.
func (e *Engine) target(t *xdrlinkv1.Tenant) steps.Target {
	profile := t.GetCredentialProfile()
	if profile == "" {
		profile = e.cfg.DefaultProfile
	}
	ws, c := t.GetWorkspace(), t.GetConnector()
	var providers []string
	for _, p := range c.GetAlertProviderFilter() {
		switch p {
		case xdrlinkv1.ConnectorSettings_ALERT_PROVIDER_DEFENDER_FOR_CLOUD_APPS:
			providers = append(providers, sentinel.ProviderDefenderForCloudApps)
		case xdrlinkv1.ConnectorSettings_ALERT_PROVIDER_DEFENDER_FOR_IDENTITY:
			providers = append(providers, sentinel.ProviderDefenderForIdentity)
		}
	}
	return steps.Target{
		Name: t.GetName(), EntraTenantID: t.GetEntraTenantId(),
		Workspace: armclient.Workspace{SubscriptionID: ws.GetSubscriptionId(), ResourceGroup: ws.GetResourceGroup(), Name: ws.GetName()},
		Region:    ws.GetRegion(), Profile: profile,
		Incidents: c.GetIncidents(), Alerts: c.GetAlerts(), AlertProviders: providers,
		DisableIncidentCreationRules: c.GetDisableIncidentCreationRules(), EntitySync: c.GetEntitySync(),
		Tables: c.GetTables(),
		// What xdrlink last observed: a step that runs first in a job
		// (a verification's only step) judges against it too.
		Observed: t.GetStatus().GetTables(),
	}
}

func appliedFrom(p *xdrlinkv1.AppliedChanges) *steps.Applied {
	a := &steps.Applied{
		ConnectorName: p.GetConnectorName(), ConnectorCreated: p.GetConnectorCreated(),
		EntityProvidersAdded: p.GetEntityProvidersAdded(), EntityAnalyticsCreated: p.GetEntityAnalyticsCreated(),
		StreamingEntryID: p.GetStreamingEntryId(), StreamingEntryCreated: p.GetStreamingEntryCreated(),
		StreamingPreviousCategories: p.GetStreamingPreviousCategories(), StreamingTables: p.GetStreamingTables(),
		SolutionVersion: p.GetSolutionVersion(),
	}
	for _, r := range p.GetDisabledRules() {
		a.DisabledRules = append(a.DisabledRules, steps.DisabledRule{Name: r.GetName(), ProductFilter: r.GetProductFilter(),
			DisplayName: r.GetDisplayName(), PreviousEnabled: r.GetPreviousEnabled()})
	}
	return a
}

func appliedToProto(a *steps.Applied) *xdrlinkv1.AppliedChanges {
	p := &xdrlinkv1.AppliedChanges{
		ConnectorName: a.ConnectorName, ConnectorCreated: a.ConnectorCreated,
		EntityProvidersAdded: a.EntityProvidersAdded, EntityAnalyticsCreated: a.EntityAnalyticsCreated,
		StreamingEntryId: a.StreamingEntryID, StreamingEntryCreated: a.StreamingEntryCreated,
		StreamingPreviousCategories: a.StreamingPreviousCategories, StreamingTables: a.StreamingTables,
		SolutionVersion: a.SolutionVersion,
	}
	for _, r := range a.DisabledRules {
		p.DisabledRules = append(p.DisabledRules, &xdrlinkv1.AppliedChanges_DisabledRule{Name: r.Name, ProductFilter: r.ProductFilter,
			DisplayName: r.DisplayName, PreviousEnabled: r.PreviousEnabled})
	}
	return p
}

// recordResult copies what a step reported into its metadata.
func recordResult(st *xdrlinkv1.Step, res steps.Result) {
	if res.Message != "" {
		st.Message = res.Message
	}
	st.Writes = st.Writes[:0]
	for _, w := range res.Writes {
		st.Writes = append(st.Writes, &xdrlinkv1.AzureWrite{Method: w.Method, Resource: w.Resource, Description: w.Description})
	}
	st.PortalSteps = st.PortalSteps[:0]
	for _, p := range res.PortalSteps {
		st.PortalSteps = append(st.PortalSteps, &xdrlinkv1.PortalStep{Url: p.URL, Path: p.Path, Table: p.Table})
	}
}

// failureStatus is a failed step's error: the reason and Azure's code in the
// ErrorInfo, and the remedy in the message, so a client acts on it.
func failureStatus(kind xdrlinkv1.StepKind, f *steps.Failure) *status.Status {
	msg := f.Message
	if f.Remedy != "" {
		msg += "; remedy: " + f.Remedy
	}
	meta := map[string]string{"step": kind.String()}
	for k, v := range map[string]string{"azure_code": f.AzureCode, "remedy": f.Remedy, "permission": f.Permission} {
		if v != "" {
			meta[k] = v
		}
	}
	if f.AzureStatus != 0 {
		meta["azure_status"] = strconv.Itoa(f.AzureStatus)
	}
	return (&apierr.Error{Code: codeOf(f), Reason: f.Reason, Message: msg, Metadata: meta}).GRPCStatus().Proto()
}

// codeOf: what a person must fix is a precondition; what retries could not
// get past is unavailability; our own faults are internal.
func codeOf(f *steps.Failure) codes.Code {
	switch {
	case f.Reason == xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL:
		return codes.Internal
	case f.Transient:
		return codes.Unavailable
	}
	return codes.FailedPrecondition
}

func cancelledStatus() *status.Status {
	return (&apierr.Error{Code: codes.Canceled, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_CANCELLED,
		Message: "cancelled at the caller's request"}).GRPCStatus().Proto()
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
