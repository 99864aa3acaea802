package tablestate

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xdrlink/xdrlink/azure/streaming"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
)

// The connector's data types are observed under their tables' names.
const (
	Incidents = "SecurityIncident"
	Alerts    = "SecurityAlert"
)

// Check refuses desired tables the catalog does not know or that never
// reach Sentinel, one violation per table, under field[i].
func Check(field string, tables []string) []*errdetails.BadRequest_FieldViolation {
	var out []*errdetails.BadRequest_FieldViolation
	for i, name := range tables {
		path := fmt.Sprintf("%s[%d]", field, i)
		t, ok := streaming.Lookup(name)
		switch {
		case !ok:
			out = append(out, apierr.Violation(path, fmt.Sprintf("%q is not an advanced-hunting table xdrlink can stream; see ListTables for the catalog (names are case-sensitive)", name)))
		case t.Support == streaming.SupportNone:
			out = append(out, apierr.Violation(path, fmt.Sprintf("%s is never streamed to Microsoft Sentinel: %s; it stays in Defender advanced hunting only", name, whyNotStreamed(name))))
		}
	}
	return out
}

func whyNotStreamed(name string) string {
	if strings.HasPrefix(name, "DeviceTvm") {
		return "the vulnerability-management (TVM) tables are not part of the Defender XDR connector's events"
	}
	return "the Behavior tables are not part of the Defender XDR connector's events"
}

// AdminRole is who may change a customer's Defender XDR settings: grant
// the delegated sign-in, or tick a table in the portal.
const AdminRole = "Security Administrator or Global Administrator"

// AdminWho names that person for a customer tenant.
func AdminWho(entraTenantID string) string {
	return "a " + AdminRole + " who is a member (not a guest) of tenant " + entraTenantID
}

// Where a person turns on a table the streaming API refuses (the Defender
// for Office 365 tables): the connector page's "Connect events" section.
// UNCONFIRMED: a deep link; the portal's start page is the only stable URL,
// and sovereign clouds have their own portal host.
const (
	portalURL  = "https://portal.azure.com"
	portalPath = "Microsoft Sentinel > %s > Configuration > Data connectors > Microsoft Defender XDR > Open connector page > " +
		"Connect events > %s > %s (tick it, then Apply Changes)"
)

var productNames = map[streaming.Product]string{
	streaming.ProductEndpoint: "Microsoft Defender for Endpoint", streaming.ProductOffice: "Microsoft Defender for Office 365",
	streaming.ProductIdentity: "Microsoft Defender for Identity", streaming.ProductCloudApps: "Microsoft Defender for Cloud Apps",
	streaming.ProductXDR: "Microsoft Defender XDR",
}

// PortalStep is the portal step that turns table on in workspace.
func PortalStep(workspace, table string) *xdrlinkv1.PortalStep {
	t, _ := streaming.Lookup(table)
	return &xdrlinkv1.PortalStep{Table: table, Url: portalURL, Path: fmt.Sprintf(portalPath, workspace, productNames[t.Product], table)}
}

var enablements = map[streaming.Support]xdrlinkv1.Enablement{
	streaming.SupportAPI:        xdrlinkv1.Enablement_ENABLEMENT_STREAMING_API,
	streaming.SupportPortalOnly: xdrlinkv1.Enablement_ENABLEMENT_PORTAL_ONLY,
	streaming.SupportNone:       xdrlinkv1.Enablement_ENABLEMENT_NOT_INGESTED,
}

// Enablement says how a catalog table can be turned on.
func Enablement(table string) xdrlinkv1.Enablement {
	t, ok := streaming.Lookup(table)
	if !ok {
		return xdrlinkv1.Enablement_ENABLEMENT_UNSPECIFIED
	}
	return enablements[t.Support]
}

// Settings is t's TableSettings: every desired table and every table
// observed enabled, by name, each with its observation and drift.
func Settings(t *xdrlinkv1.Tenant) *xdrlinkv1.TableSettings {
	desired := t.GetConnector().GetTables()
	observed := t.GetStatus().GetTables()
	names := slices.Clone(desired)
	var newest *timestamppb.Timestamp
	for name, o := range observed {
		if _, ok := streaming.Lookup(name); !ok {
			continue // the connector's data types are not tables to choose
		}
		if o.GetState() == xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED && !slices.Contains(names, name) {
			names = append(names, name)
		}
		if newest == nil || o.GetObserveTime().AsTime().After(newest.AsTime()) {
			newest = o.GetObserveTime()
		}
	}
	slices.Sort(names)
	s := &xdrlinkv1.TableSettings{
		Name: t.GetName() + "/tableSettings", DesiredTables: slices.Clone(desired),
		ObserveTime: newest, Etag: t.GetEtag(),
	}
	for _, name := range names {
		o := Observation(observed, name)
		want := slices.Contains(desired, name)
		st := &xdrlinkv1.TableStatus{
			Table: name, Desired: want, Observed: o.GetState() == xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED,
			Drift: Drift(want, o.GetState()), Enablement: Enablement(name), Observation: o,
		}
		if want && st.Enablement == xdrlinkv1.Enablement_ENABLEMENT_PORTAL_ONLY && !st.Observed {
			st.PortalStep = PortalStep(t.GetWorkspace().GetName(), name)
			st.RequiredAction = &xdrlinkv1.RequiredAction{
				Who: AdminWho(t.GetEntraTenantId()), Role: AdminRole, CustomerTenantId: t.GetEntraTenantId(),
				What: "turn on streaming of " + name + " to Microsoft Sentinel in the portal: the Defender streaming API refuses this table",
				How:  &xdrlinkv1.RequiredAction_PortalStep{PortalStep: st.PortalStep},
				Step: xdrlinkv1.StepKind_STEP_KIND_APPLY_TABLE_SETTINGS,
			}
		}
		s.Tables = append(s.Tables, st)
	}
	return s
}

// Observation is the table's observation, UNKNOWN when there is none.
func Observation(observed map[string]*xdrlinkv1.TableObservation, table string) *xdrlinkv1.TableObservation {
	if o := observed[table]; o != nil {
		return o
	}
	return &xdrlinkv1.TableObservation{State: xdrlinkv1.ObservedState_OBSERVED_STATE_UNKNOWN}
}

// Drift: desired but observed off, or not desired but observed on. An
// unknown state is no drift: nothing says so.
func Drift(desired bool, state xdrlinkv1.ObservedState) bool {
	switch state {
	case xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED:
		return !desired
	case xdrlinkv1.ObservedState_OBSERVED_STATE_NOT_ENABLED:
		return desired
	}
	return false
}

// Observe is one observation of a table's state at a time.
func Observe(state xdrlinkv1.ObservedState, source xdrlinkv1.ObservationSource, at time.Time, operation string) *xdrlinkv1.TableObservation {
	return &xdrlinkv1.TableObservation{State: state, Source: source, ObserveTime: timestamppb.New(at), Operation: operation}
}

// Merge folds observations into a tenant's status.tables (created when
// nil) and returns it. An observation older than the one held is ignored,
// so data seen before a delegated write does not undo it. enable_time
// starts when a table is first seen on and is kept while it stays on.
func Merge(into, obs map[string]*xdrlinkv1.TableObservation) map[string]*xdrlinkv1.TableObservation {
	if into == nil {
		into = map[string]*xdrlinkv1.TableObservation{}
	}
	for name, o := range obs {
		old := into[name]
		if old != nil && o.GetObserveTime().AsTime().Before(old.GetObserveTime().AsTime()) {
			continue
		}
		on := o.GetState() == xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED
		switch {
		case on && old.GetState() == xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED && old.GetEnableTime() != nil:
			o.EnableTime = old.GetEnableTime()
		case on && o.EnableTime == nil:
			o.EnableTime = o.GetObserveTime()
		case !on:
			o.EnableTime = nil
		}
		into[name] = o
	}
	return into
}
