package steps

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/contenthub"
	"github.com/xdrlink/xdrlink/azure/resources"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azure/workspaces"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
)

// siPath is the ARM id of a SecurityInsights child resource of the
// workspace, for Write.Resource.
func siPath(s *session, collection, name string) string {
	return s.t.Workspace.Path() + "/providers/Microsoft.SecurityInsights/" + collection + "/" + name
}

// onboardWorkspace creates onboardingStates/default when it is absent.
// Offboarding never removes it: that would take Sentinel off a workspace
// the customer may use for more than Defender XDR.
func (r *Runner) onboardWorkspace(ctx context.Context, s *session) (Result, error) {
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	_, err = cl.sentinel.GetOnboardingState(ctx)
	switch {
	case err == nil:
		return Result{Skipped: true, Message: "the workspace is already onboarded to Microsoft Sentinel"}, nil
	case !azerr.Is(err, azerr.NotFound):
		return Result{}, azureFailure("GET onboardingStates/default", err)
	}
	w := Write{Method: http.MethodPut, Resource: siPath(s, "onboardingStates", "default"), Description: "onboard the workspace to Microsoft Sentinel"}
	if err := r.write(ctx, s, w, func() error {
		_, _, err := cl.sentinel.PutOnboardingState(ctx, false)
		return err
	}); err != nil {
		return Result{}, azureFailure("PUT onboardingStates/default", err)
	}
	return Result{Message: "the workspace was onboarded to Microsoft Sentinel"}, nil
}

// installSolution installs the "Microsoft Defender XDR" Content Hub
// solution unless its current version is installed. The deployment name is
// deterministic (contenthub.DeploymentName), so a retry redeploys the same
// deployment instead of starting a second one. Offboarding keeps it.
func (r *Runner) installSolution(ctx context.Context, s *session) (Result, error) {
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	pkg, err := cl.sentinel.FindProductPackage(ctx, contenthub.DefenderXDRContentID)
	if err != nil {
		return Result{}, azureFailure("GET contentProductPackages", err)
	}
	if pkg == nil {
		return Result{}, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR,
			Message: "the workspace's Content Hub catalog has no solution " + contenthub.DefenderXDRContentID,
			Remedy:  "check that the workspace's region offers the Microsoft Defender XDR solution, or install it from Content Hub"}
	}
	if pkg.Installed() {
		s.a.SolutionVersion = pkg.Properties.InstalledVersion
		return Result{Skipped: true, Message: "Microsoft Defender XDR solution " + pkg.Properties.InstalledVersion + " is already installed"}, nil
	}
	region, err := r.region(ctx, s, cl)
	if err != nil {
		return Result{}, err
	}
	name := contenthub.DeploymentName(contenthub.DefenderXDRContentID, pkg.Properties.Version)
	ws := s.t.Workspace
	deployments, err := resources.New(cl.arm, ws.SubscriptionID)
	if err != nil {
		return Result{}, azureFailure("deployment "+name, err)
	}
	// An attempt cut short (a step timeout, a crash) may have left the
	// deployment running: wait for it rather than replace it.
	if d, err := deployments.GetDeployment(ctx, ws.ResourceGroup, name); err == nil && deploymentActive(d.Properties.ProvisioningState) {
		return Result{}, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR, Transient: true,
			Message: "deployment " + name + " from an earlier attempt is still " + d.Properties.ProvisioningState,
			Remedy:  "none: the step is retried once it ends"}
	}
	w := Write{Method: http.MethodPut, Resource: ws.ResourceGroupPath() + "/providers/Microsoft.Resources/deployments/" + name,
		Description: "deploy the Microsoft Defender XDR solution " + pkg.Properties.Version}
	if err := r.write(ctx, s, w, func() error {
		freq := r.access.DeploymentPollFrequency
		if freq <= 0 {
			freq = 5 * time.Second
		}
		_, err = contenthub.New(cl.sentinel, deployments).Install(ctx, contenthub.DefenderXDRContentID,
			contenthub.Options{Location: region, DeploymentName: name, PollFrequency: freq})
		return err
	}); err != nil {
		f := azureFailure("deployment "+name, err)
		if azerr.Is(err, azerr.Conflict) {
			// Most likely the same deployment is still running from an
			// earlier attempt; it finishes on its own.
			f.Transient, f.Remedy = true, "none: retried once the running deployment ends"
		}
		return Result{}, f
	}
	s.a.SolutionVersion = pkg.Properties.Version
	msg := "Microsoft Defender XDR solution " + pkg.Properties.Version + " installed"
	if before := pkg.Properties.InstalledVersion; before != "" {
		msg += " (was " + before + ")"
	}
	return Result{Message: msg}, nil
}

// deploymentActive: ARM is still working on the deployment.
func deploymentActive(state string) bool {
	switch strings.ToLower(state) {
	case "accepted", "running", "creating", "updating", "deleting":
		return true
	}
	return false
}

// region is the target's region or, when unset, the workspace's location.
func (r *Runner) region(ctx context.Context, s *session, cl *clients) (string, error) {
	if s.t.Region != "" {
		return s.t.Region, nil
	}
	ws, err := workspaces.New(cl.arm).Get(ctx, s.t.Workspace)
	if err != nil {
		return "", azureFailure("GET workspace", err)
	}
	return ws.Location, nil
}

// disableRules turns off the enabled MicrosoftSecurityIncidentCreation rules
// of the XDR products (they would duplicate the connector's incidents,
// docs/azure.md §4), each with the etag it was read with.
func (r *Runner) disableRules(ctx context.Context, s *session) (Result, error) {
	if !s.t.DisableIncidentCreationRules {
		return Result{Skipped: true, Message: "not requested: incident-creation rules are left as they are"}, nil
	}
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	rules, err := cl.sentinel.ListAlertRules(ctx)
	if err != nil {
		return Result{}, azureFailure("GET alertRules", err)
	}
	var names []string
	for _, rule := range rules {
		if !sentinel.IsXDRIncidentCreationRule(rule) {
			continue
		}
		p, err := sentinel.IncidentCreation(rule)
		if err != nil || !p.Enabled {
			continue // already off: not ours to restore
		}
		next, err := sentinel.WithEnabled(rule, false)
		if err != nil {
			return Result{}, asFailure(err)
		}
		// The record comes first: a rule found disabled on a retry cannot
		// tell that xdrlink disabled it.
		if !slices.ContainsFunc(s.a.DisabledRules, func(d DisabledRule) bool { return strings.EqualFold(d.Name, rule.Name) }) {
			s.a.DisabledRules = append(s.a.DisabledRules, DisabledRule{Name: rule.Name, ProductFilter: p.ProductFilter, DisplayName: p.DisplayName, PreviousEnabled: true})
		}
		w := Write{Method: http.MethodPut, Resource: siPath(s, "alertRules", rule.Name), Description: "disable incident-creation rule " + quote(p.DisplayName)}
		if err := r.write(ctx, s, w, func() error { _, _, err := cl.sentinel.PutAlertRule(ctx, next); return err }); err != nil {
			return Result{}, azureFailure("PUT alertRules/"+rule.Name, err)
		}
		names = append(names, p.ProductFilter)
	}
	if len(names) == 0 {
		return Result{Skipped: true, Message: "no enabled incident-creation rule for the Defender XDR products"}, nil
	}
	return Result{Message: fmt.Sprintf("disabled %d incident-creation rule(s): %s", len(names), strings.Join(names, ", "))}, nil
}

// ConnectorName is the name xdrlink gives the MicrosoftThreatProtection
// connector it creates in a workspace: a name-based (version 5 style) GUID
// of the workspace's resource id. Deterministic, so a retry after a crash
// between the PUT and recording it targets the same connector instead of
// creating a second one, and a connector with this name is known to be
// xdrlink's.
func ConnectorName(workspaceResourceID string) string {
	// A fixed namespace GUID of xdrlink's own, as RFC 4122 §4.3 prescribes.
	ns := [16]byte{0x6b, 0x1e, 0x4a, 0x52, 0x0c, 0x3d, 0x4f, 0x0e, 0x9a, 0x61, 0x53, 0x2d, 0x8f, 0x7c, 0x41, 0x09}
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(strings.ToLower(workspaceResourceID))) // ARM ids are case-insensitive
	var b [16]byte
	copy(b[:], h.Sum(nil))
	b[6] = b[6]&0x0f | 0x50
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func state(on bool) string {
	if on {
		return sentinel.StateEnabled
	}
	return sentinel.StateDisabled
}

// desiredMTP sets the target's choices into props, keeping every other
// property as read; it reports whether anything changed.
func desiredMTP(t Target, props *sentinel.MTPProperties) bool {
	changed := !strings.EqualFold(props.TenantID, t.EntraTenantID)
	props.TenantID = t.EntraTenantID
	if props.DataTypes.Incidents.State != state(t.Incidents) {
		props.DataTypes.Incidents.State, changed = state(t.Incidents), true
	}
	if props.DataTypes.Alerts == nil || props.DataTypes.Alerts.State != state(t.Alerts) {
		props.DataTypes.Alerts, changed = &sentinel.DataTypeState{State: state(t.Alerts)}, true
	}
	var have []string
	if props.FilteredProviders != nil {
		have = props.FilteredProviders.Alerts
	}
	if !sameSet(have, t.AlertProviders) {
		changed = true
		props.FilteredProviders = nil
		if len(t.AlertProviders) > 0 {
			props.FilteredProviders = &sentinel.MTPFilteredProviders{Alerts: slices.Clone(t.AlertProviders)}
		}
	}
	return changed
}

// connectIncidents makes the workspace's single MicrosoftThreatProtection
// connector carry the target's data types and provider filter: the
// existing connector is updated with its etag, otherwise one is created
// under ConnectorName. The app-only credential is tried first; "Missing
// consent" needs the delegated sign-in (docs/azure.md §2.5).
func (r *Runner) connectIncidents(ctx context.Context, s *session) (Result, error) {
	if !s.t.Incidents && !s.t.Alerts {
		return Result{Skipped: true, Message: "not requested: neither incidents nor alerts are selected"}, nil
	}
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	cur, err := cl.sentinel.FindMTPDataConnector(ctx)
	if err != nil {
		return Result{}, azureFailure("GET dataConnectors", err)
	}
	ours := ConnectorName(s.t.Workspace.Path())
	name, etag, props := ours, "", sentinel.MTPProperties{}
	if cur != nil {
		name, etag, props = cur.Name, cur.Etag, cur.Properties
	}
	changed := desiredMTP(s.t, &props)
	// A connector under our name was created by xdrlink, even if the record
	// of it was lost; one under another name was not.
	created := cur == nil || strings.EqualFold(cur.Name, ours) ||
		(s.a.ConnectorCreated && strings.EqualFold(s.a.ConnectorName, cur.Name))
	summary := fmt.Sprintf("incidents %s, alerts %s", props.DataTypes.Incidents.State, props.DataTypes.Alerts.State)
	if props.FilteredProviders != nil {
		summary += ", alerts only from " + strings.Join(props.FilteredProviders.Alerts, ", ")
	}
	if !changed {
		s.a.ConnectorName, s.a.ConnectorCreated = name, created
		res := Result{Skipped: true, Message: "connector " + name + " already as desired: " + summary}
		observeConnector(s, &res, &props, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_AZURE_READ)
		return res, nil
	}
	s.a.ConnectorName, s.a.ConnectorCreated = name, created
	verb := "updated"
	if cur == nil {
		verb = "created"
	}
	w := Write{Method: http.MethodPut, Resource: siPath(s, "dataConnectors", name), Description: "Defender XDR connector " + verb + ": " + summary}
	how := ""
	err = r.write(ctx, s, w, func() error {
		_, _, err := cl.sentinel.PutMTPDataConnector(ctx, name, etag, props)
		if !azerr.Is(err, azerr.MissingConsent) {
			return err
		}
		if s.delegated == nil {
			return signInRequired(s.t, "PUT dataConnectors/"+name+": Azure wants a signed-in user's consent first (InvalidLicense: Missing consent)",
				r.access.Endpoints.ResourceManager.Scope())
		}
		_, user, err := r.sentinelAs(s, s.delegated)
		if err != nil {
			return err
		}
		how = " with the delegated sign-in"
		_, _, err = user.PutMTPDataConnector(ctx, name, etag, props)
		return err
	})
	if err != nil {
		return Result{}, connectorFailure(s, "PUT dataConnectors/"+name, err)
	}
	res := Result{Message: "connector " + name + " " + verb + how + ": " + summary}
	observeConnector(s, &res, &props, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_AZURE_WRITE)
	return res, nil
}

// connectorFailure adds the connector's own remedies to an Azure failure.
func connectorFailure(s *session, call string, err error) *Failure {
	f := azureFailure(call, err)
	switch {
	case f.SignInRequired:
	case azerr.Is(err, azerr.Forbidden):
		// With the delegated sign-in the user, not the app, was refused.
		f.Remedy = rbacRemedy + "; a signed-in user must be a member Security Administrator or Global Administrator of tenant " + s.t.EntraTenantID
	case azerr.Is(err, azerr.MissingConsent):
		// Still "Missing consent" with a user's token (docs/azure.md §2.5).
		f.Remedy = "connect Microsoft Defender XDR once in the portal as a Security Administrator who is a member of tenant " +
			s.t.EntraTenantID + ", then run the operation again"
	}
	return f
}

// connectEntities adds the ActiveDirectory entity provider to
// settings/EntityAnalytics: that provider is the connector's "Connect
// entities" (docs/azure.md §5). AzureActiveDirectory and the UEBA data
// sources are separate Sentinel features (UEBA, billed), not part of the
// connector, so xdrlink leaves them alone.
//
// Without Defender for Identity sensors Azure refuses the provider; the
// step then fails for good instead of skipping, because entity sync was
// asked for and skipping would report it connected when it is not.
func (r *Runner) connectEntities(ctx context.Context, s *session) (Result, error) {
	if !s.t.EntitySync {
		return Result{Skipped: true, Message: "not requested: entity sync is off"}, nil
	}
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	providers, exists, err := entityProviders(ctx, cl)
	if err != nil {
		return Result{}, err
	}
	const want = sentinel.EntityProviderActiveDirectory
	if containsFold(providers, want) {
		return Result{Skipped: true, Message: "entity provider " + want + " is already on"}, nil
	}
	if !containsFold(s.a.EntityProvidersAdded, want) {
		s.a.EntityProvidersAdded = append(s.a.EntityProvidersAdded, want)
	}
	if !exists {
		s.a.EntityAnalyticsCreated = true
	}
	w := Write{Method: http.MethodPut, Resource: siPath(s, "settings", sentinel.SettingEntityAnalytics), Description: "add entity provider " + want}
	if err := r.write(ctx, s, w, func() error { _, _, err := cl.sentinel.EnsureEntityProviders(ctx, want); return err }); err != nil {
		f := azureFailure("PUT settings/EntityAnalytics", err)
		if azerr.Is(err, azerr.InvalidRequest) {
			f.Remedy = "Connect entities needs Microsoft Defender for Identity with at least one sensor: deploy a sensor on a domain controller of the tenant, or turn entity sync off; then run the operation again"
		}
		return Result{}, f
	}
	return Result{Message: "entity provider " + want + " added (entities sync from Defender for Identity)"}, nil
}

// entityProviders reads settings/EntityAnalytics' providers; exists is
// false when the setting is absent.
func entityProviders(ctx context.Context, cl *clients) (providers []string, exists bool, err error) {
	cur, err := cl.sentinel.GetSetting(ctx, sentinel.SettingEntityAnalytics)
	if azerr.Is(err, azerr.NotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, azureFailure("GET settings/EntityAnalytics", err)
	}
	var p struct {
		EntityProviders []string `json:"entityProviders"`
	}
	if len(cur.Properties) > 0 {
		if err := json.Unmarshal(cur.Properties, &p); err != nil {
			return nil, true, asFailure(fmt.Errorf("decode settings/EntityAnalytics: %w", err))
		}
	}
	return p.EntityProviders, true, nil
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, s) })
}

// sameSet compares two string lists as case-insensitive sets.
func sameSet(a, b []string) bool {
	for _, x := range a {
		if !containsFold(b, x) {
			return false
		}
	}
	for _, x := range b {
		if !containsFold(a, x) {
			return false
		}
	}
	return true
}

// observeConnector records the connector's incidents and alerts data types
// as observations of SecurityIncident and SecurityAlert (nil props: no
// connector), so verification knows since when each has been on.
func observeConnector(s *session, res *Result, props *sentinel.MTPProperties, source xdrlinkv1.ObservationSource) {
	if s.plan {
		return
	}
	res.Observations = connectorObservations(props, source, time.Now(), s.t.operationName())
}

func connectorObservations(props *sentinel.MTPProperties, source xdrlinkv1.ObservationSource, at time.Time, operation string) map[string]*xdrlinkv1.TableObservation {
	on := func(d *sentinel.DataTypeState) xdrlinkv1.ObservedState {
		if d != nil && strings.EqualFold(d.State, sentinel.StateEnabled) {
			return xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED
		}
		return xdrlinkv1.ObservedState_OBSERVED_STATE_NOT_ENABLED
	}
	var incidents, alerts *sentinel.DataTypeState
	if props != nil {
		incidents, alerts = &props.DataTypes.Incidents, props.DataTypes.Alerts
	}
	return map[string]*xdrlinkv1.TableObservation{
		tablestate.Incidents: tablestate.Observe(on(incidents), source, at, operation),
		tablestate.Alerts:    tablestate.Observe(on(alerts), source, at, operation),
	}
}
