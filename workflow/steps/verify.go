package steps

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/loganalytics"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azure/streaming"
	"github.com/xdrlink/xdrlink/azure/workspaces"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
	"github.com/xdrlink/xdrlink/workflow/verification"
)

// DefaultWindowDays is how many whole days of daily counts a verification
// reports when the request leaves it 0, like the connector page's graph.
const DefaultWindowDays = 14

// verify checks the tenant's configuration against its desired settings
// and queries the workspace for every signal, and returns the report. A
// signal without data is a verdict, not a failure; only transient errors
// (throttling, outages) fail the step, so it is retried.
func (r *Runner) verify(ctx context.Context, s *session) (Result, error) {
	cl, err := r.app(s)
	if err != nil {
		return Result{}, err
	}
	ws, err := workspaces.New(cl.arm).Get(ctx, s.t.Workspace)
	if err != nil {
		return Result{}, azureFailure("GET workspace", err)
	}
	if ws.Properties.CustomerID == "" {
		return Result{}, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR, Message: "GET workspace: the workspace has no customerId",
			Remedy: "check the workspace in the Azure portal"}
	}
	logs, err := r.logsClient(s)
	if err != nil {
		return Result{}, err
	}
	days := s.t.WindowDays
	if days <= 0 {
		days = DefaultWindowDays
	}
	now := time.Now().UTC()
	v := &verifier{r: r, s: s, logs: logs, workspaceID: ws.Properties.CustomerID, now: now,
		window: loganalytics.NewWindow(now, days), observed: map[string]*xdrlinkv1.TableObservation{}}
	for name, o := range s.t.Observed {
		v.observed[name] = o
	}
	if err := v.configuration(ctx, cl); err != nil {
		return Result{}, err
	}
	if err := v.data(ctx); err != nil {
		return Result{}, err
	}
	report := v.report(days)
	return Result{Message: v.summary(report), Report: report, Observations: v.seen}, nil
}

// verifier gathers one verification's evidence.
type verifier struct {
	r           *Runner
	s           *session
	logs        *loganalytics.Client
	workspaceID string
	now         time.Time
	window      loganalytics.Window

	// observed is the tenant's observations with what this verification
	// saw merged in; seen is only the latter, for the tenant's status.
	observed, seen map[string]*xdrlinkv1.TableObservation
	config         []*xdrlinkv1.ConfigurationCheck
	queries        []*xdrlinkv1.LogQuery
	signals        []*xdrlinkv1.SignalReport
}

func (v *verifier) observe(table string, o *xdrlinkv1.TableObservation) {
	if v.seen == nil {
		v.seen = map[string]*xdrlinkv1.TableObservation{}
	}
	v.seen[table] = o
	v.observed = tablestate.Merge(v.observed, map[string]*xdrlinkv1.TableObservation{table: o})
}

// transient turns a read's error into the step's failure when running
// again later may succeed; permanent errors are reported in the report.
func transient(call string, err error) error {
	if f := azureFailure(call, err); f.Transient {
		return f
	}
	return nil
}

// configuration reads the connector, the incident-creation rules and
// settings/EntityAnalytics with the app's credentials, and compares the
// streaming entry as last observed (reading it needs a delegated sign-in).
func (v *verifier) configuration(ctx context.Context, cl *clients) error {
	t := v.s.t
	nowTS := timestamppb.New(v.now)

	check := &xdrlinkv1.ConfigurationCheck{Aspect: xdrlinkv1.ConfigurationCheck_ASPECT_CONNECTOR, ObserveTime: nowTS,
		Desired: fmt.Sprintf("incidents %s, alerts %s", state(t.Incidents), state(t.Alerts))}
	conn, err := cl.sentinel.FindMTPDataConnector(ctx)
	switch {
	case err != nil:
		if f := transient("GET dataConnectors", err); f != nil {
			return f
		}
		check.Observed, check.Message = "unknown", "could not read the connector: "+azureFailure("GET dataConnectors", err).Message
	case conn == nil:
		check.Observed = "no Microsoft Defender XDR (MicrosoftThreatProtection) connector"
		check.Ok = !t.Incidents && !t.Alerts
		for name, o := range connectorObservations(nil, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_AZURE_READ, v.now, t.operationName()) {
			v.observe(name, o)
		}
	default:
		p := conn.Properties
		alerts := sentinel.StateDisabled
		if p.DataTypes.Alerts != nil {
			alerts = p.DataTypes.Alerts.State
		}
		check.Observed = fmt.Sprintf("connector %s: incidents %s, alerts %s", conn.Name, p.DataTypes.Incidents.State, alerts)
		check.Ok = strings.EqualFold(p.DataTypes.Incidents.State, state(t.Incidents)) && strings.EqualFold(alerts, state(t.Alerts))
		for name, o := range connectorObservations(&p, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_AZURE_READ, v.now, t.operationName()) {
			v.observe(name, o)
		}
	}
	if !check.Ok && check.Message == "" {
		check.Message = "the connector differs from the desired settings; run Onboard again to put it back"
	}
	v.config = append(v.config, check)

	check = &xdrlinkv1.ConfigurationCheck{Aspect: xdrlinkv1.ConfigurationCheck_ASPECT_INCIDENT_CREATION_RULES, ObserveTime: nowTS, Ok: true}
	if !t.DisableIncidentCreationRules {
		check.Desired, check.Observed, check.Message = "left as they are", "not checked", "not requested"
	} else {
		check.Desired = "no enabled incident-creation rule for the Defender XDR products"
		rules, err := cl.sentinel.ListAlertRules(ctx)
		if err != nil {
			if f := transient("GET alertRules", err); f != nil {
				return f
			}
			check.Ok, check.Observed, check.Message = false, "unknown", "could not read the rules: "+azureFailure("GET alertRules", err).Message
		} else {
			var enabled []string
			for _, rule := range rules {
				if !sentinel.IsXDRIncidentCreationRule(rule) {
					continue
				}
				if p, err := sentinel.IncidentCreation(rule); err == nil && p.Enabled {
					enabled = append(enabled, quote(p.DisplayName))
				}
			}
			check.Observed = "none enabled"
			if len(enabled) > 0 {
				check.Ok, check.Observed = false, "enabled: "+strings.Join(enabled, ", ")
				check.Message = "these rules duplicate the connector's incidents; run Onboard again to turn them off"
			}
		}
	}
	v.config = append(v.config, check)

	check = &xdrlinkv1.ConfigurationCheck{Aspect: xdrlinkv1.ConfigurationCheck_ASPECT_ENTITY_ANALYTICS, ObserveTime: nowTS, Ok: true}
	if !t.EntitySync {
		check.Desired, check.Observed, check.Message = "entity sync off", "not checked", "not requested"
	} else {
		check.Desired = "entity provider " + sentinel.EntityProviderActiveDirectory
		providers, _, err := entityProviders(ctx, cl)
		if err != nil {
			if f, ok := err.(*Failure); ok && f.Transient {
				return f
			}
			check.Ok, check.Observed, check.Message = false, "unknown", "could not read settings/EntityAnalytics: "+err.Error()
		} else {
			check.Observed = "entity providers: " + strings.Join(providers, ", ")
			if len(providers) == 0 {
				check.Observed = "no entity provider"
			}
			if !containsFold(providers, sentinel.EntityProviderActiveDirectory) {
				check.Ok, check.Message = false, "entities do not sync from Defender for Identity; run Onboard again"
			}
		}
	}
	v.config = append(v.config, check)
	return nil
}

// streamingCheck compares the desired tables with what is known of the
// entry, once the data has been seen (data arriving counts as enabled).
func (v *verifier) streamingCheck() *xdrlinkv1.ConfigurationCheck {
	t := v.s.t
	check := &xdrlinkv1.ConfigurationCheck{Aspect: xdrlinkv1.ConfigurationCheck_ASPECT_STREAMING, Ok: true, Desired: "no table"}
	if len(t.Tables) > 0 {
		check.Desired = strings.Join(t.Tables, ", ")
	}
	var on, extra, missing, portal, unknown []string
	var newest time.Time
	for _, tb := range streaming.Catalog() {
		if tb.Support == streaming.SupportNone {
			continue
		}
		o := tablestate.Observation(v.observed, tb.Name)
		want := slices.Contains(t.Tables, tb.Name)
		if ot := o.GetObserveTime().AsTime(); o.GetObserveTime() != nil && ot.After(newest) {
			newest = ot
		}
		switch state := o.GetState(); {
		case state == xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED:
			on = append(on, tb.Name)
			if !want {
				extra = append(extra, tb.Name)
			}
		case !want:
		case tb.Support == streaming.SupportPortalOnly:
			portal = append(portal, tb.Name) // a portal step, not drift
		case state == xdrlinkv1.ObservedState_OBSERVED_STATE_NOT_ENABLED:
			missing = append(missing, tb.Name)
		default:
			unknown = append(unknown, tb.Name)
		}
	}
	check.Observed = "no table"
	if len(on) > 0 {
		check.Observed = strings.Join(on, ", ")
	}
	if !newest.IsZero() {
		check.ObserveTime = timestamppb.New(newest)
	}
	var notes []string
	if len(missing) > 0 {
		notes = append(notes, "desired but not streamed: "+strings.Join(missing, ", "))
	}
	if len(extra) > 0 {
		notes = append(notes, "streamed but not desired: "+strings.Join(extra, ", "))
	}
	if len(notes) > 0 {
		check.Ok = false
		notes = append(notes, "the streaming entry was changed outside xdrlink, or a change was not applied; update the table settings to apply the desired tables")
	}
	if len(portal) > 0 {
		notes = append(notes, "waiting for a portal step (the streaming API cannot turn them on): "+strings.Join(portal, ", "))
	}
	if len(unknown) > 0 {
		notes = append(notes, "not observed yet (reading the streaming entry needs a delegated sign-in, and no data has arrived): "+strings.Join(unknown, ", "))
	}
	check.Message = strings.Join(notes, "; ")
	return check
}

// run runs one query and records it in the report. A transient error is
// returned (the step fails and is retried); a permanent one is left in
// *failed for the signals the query serves.
func (v *verifier) run(q loganalytics.Query, do func() error, failed *error) error {
	lq := &xdrlinkv1.LogQuery{Purpose: q.Purpose, Query: q.Text, Timespan: q.Timespan}
	v.queries = append(v.queries, lq)
	err := do()
	if err == nil {
		return nil
	}
	if f := transient("Log Analytics query", err); f != nil {
		return f
	}
	lq.Error = queryFailure(err).Message
	*failed = err
	return nil
}

// daily runs a daily query (see run) and groups its rows by key.
func (v *verifier) daily(ctx context.Context, q loganalytics.Query, failed *error) (map[string]*signalData, error) {
	var rows []loganalytics.DailyRows
	err := v.run(q, func() (err error) { rows, err = v.logs.Daily(ctx, v.workspaceID, q); return err }, failed)
	out := map[string]*signalData{}
	for _, row := range rows {
		d := out[row.Key]
		if d == nil {
			d = &signalData{}
			out[row.Key] = d
		}
		d.rows = append(d.rows, row)
	}
	return out, err
}

// before runs a query for the newest row before the window (see run) and
// records it per key in into.
func (v *verifier) before(ctx context.Context, q loganalytics.Query, failed *error, into map[string]*signalData) error {
	var last map[string]time.Time
	if err := v.run(q, func() (err error) { last, err = v.logs.Last(ctx, v.workspaceID, q); return err }, failed); err != nil {
		return err
	}
	for key, at := range last {
		if into[key] == nil {
			into[key] = &signalData{}
		}
		into[key].last = at
	}
	return nil
}

// signalData is one signal's query results.
type signalData struct {
	rows []loganalytics.DailyRows
	last time.Time // before the window
	err  error
}

// data runs the daily queries for incidents, alerts and every table the
// catalog can stream (desired or not: data of a table nobody wanted is
// drift), then asks for the last row before the window of desired signals
// that had none in it.
func (v *verifier) data(ctx context.Context) error {
	t := v.s.t
	var incidentsErr, alertsErr, tablesErr error
	incidents, err := v.daily(ctx, loganalytics.IncidentsDailyQuery(v.window), &incidentsErr)
	if err != nil {
		return err
	}
	alerts, err := v.daily(ctx, loganalytics.AlertsDailyQuery(v.window), &alertsErr)
	if err != nil {
		return err
	}
	var names []string
	for _, tb := range streaming.Catalog() {
		if tb.Support != streaming.SupportNone {
			names = append(names, tb.Name)
		}
	}
	q, err := loganalytics.TablesDailyQuery(v.window, names)
	if err != nil {
		return asFailure(err)
	}
	tables, err := v.daily(ctx, q, &tablesErr)
	if err != nil {
		return err
	}

	// Look further back only for desired signals without a row in the window.
	start := v.window.Start
	if t.Incidents && incidentsErr == nil && len(incidents) == 0 {
		if err := v.before(ctx, loganalytics.IncidentsLastQuery(start), &incidentsErr, incidents); err != nil {
			return err
		}
	}
	if t.Alerts && alertsErr == nil && len(alerts) == 0 {
		if err := v.before(ctx, loganalytics.AlertsLastQuery(start), &alertsErr, alerts); err != nil {
			return err
		}
	}
	var quiet []string
	for _, name := range t.Tables {
		if _, ok := streaming.Lookup(name); ok && tables[name] == nil {
			quiet = append(quiet, name)
		}
	}
	if len(quiet) > 0 && tablesErr == nil {
		q, err := loganalytics.TablesLastQuery(start, quiet)
		if err != nil {
			return asFailure(err)
		}
		if err := v.before(ctx, q, &tablesErr, tables); err != nil {
			return err
		}
	}

	// Data seen arriving is an observation: the table is on.
	for name, d := range tables {
		v.sawData(name, d)
	}
	v.sawData(tablestate.Incidents, incidents[""])
	for _, d := range alerts {
		v.sawData(tablestate.Alerts, d)
	}

	inc := incidents[""]
	if inc == nil {
		inc = &signalData{}
	}
	inc.err = incidentsErr
	v.signals = append(v.signals, v.signal(xdrlinkv1.SignalReport_KIND_INCIDENTS, tablestate.Incidents, "", t.Incidents, inc, false))
	products := slices.Sorted(maps.Keys(alerts))
	if len(products) == 0 {
		v.signals = append(v.signals, v.signal(xdrlinkv1.SignalReport_KIND_ALERTS, tablestate.Alerts, "", t.Alerts, &signalData{err: alertsErr}, false))
	}
	for _, p := range products {
		d := alerts[p]
		d.err = alertsErr
		v.signals = append(v.signals, v.signal(xdrlinkv1.SignalReport_KIND_ALERTS, tablestate.Alerts, p, t.Alerts, d, false))
	}
	for _, name := range t.Tables {
		d := tables[name]
		if d == nil {
			d = &signalData{}
		}
		d.err = tablesErr
		tb, _ := streaming.Lookup(name)
		v.signals = append(v.signals, v.signal(xdrlinkv1.SignalReport_KIND_TABLE, name, "", true, d, tb.Support == streaming.SupportPortalOnly))
	}
	return nil
}

// sawData records rows of table as a DATA_ARRIVING observation dated by
// its newest row, so it outranks only observations older than that row.
func (v *verifier) sawData(table string, d *signalData) {
	if d == nil || d.err != nil {
		return
	}
	last := d.last
	for _, row := range d.rows {
		if row.Last.After(last) {
			last = row.Last
		}
	}
	if last.IsZero() {
		return
	}
	if prev := v.seen[table]; prev != nil && prev.GetSource() == xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DATA_ARRIVING && prev.GetObserveTime().AsTime().After(last) {
		return
	}
	v.observe(table, tablestate.Observe(xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED, xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DATA_ARRIVING, last, v.s.t.operationName()))
}

func (v *verifier) signal(kind xdrlinkv1.SignalReport_Kind, table, product string, desired bool, d *signalData, portalOnly bool) *xdrlinkv1.SignalReport {
	o := tablestate.Observation(v.observed, table) // for incidents and alerts: the connector's data type, read just now
	ev := verification.Evidence{
		Kind: kind, Table: table, Product: product, Desired: desired, Observed: o.GetState(),
		PortalOnly: portalOnly, Rows: d.rows, LastBefore: d.last, Err: d.err,
	}
	if o.GetEnableTime() != nil {
		ev.EnableTime = o.GetEnableTime().AsTime()
	}
	return verification.Signal(v.now, v.window, v.r.access.Thresholds, ev)
}

func (v *verifier) report(days int) *xdrlinkv1.IngestionReport {
	v.config = append(v.config, v.streamingCheck())
	return &xdrlinkv1.IngestionReport{
		Name:            v.s.t.Name + "/verifications/" + v.s.t.Operation,
		VerifyTime:      timestamppb.New(v.now),
		WindowDays:      int32(days),
		Verdict:         verification.Overall(v.signals),
		Signals:         v.signals,
		Configuration:   v.config,
		WindowStartTime: timestamppb.New(v.window.Start),
		WindowEndTime:   timestamppb.New(v.window.End),
		Queries:         v.queries,
		Thresholds:      v.r.access.Thresholds.Proto(),
		Operation:       v.s.t.operationName(),
	}
}

// summary is the step's message: the verdict and what is not healthy.
func (v *verifier) summary(r *xdrlinkv1.IngestionReport) string {
	var bad []string
	for _, sg := range r.GetSignals() {
		switch sg.GetVerdict() {
		case xdrlinkv1.Verdict_VERDICT_HEALTHY, xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD:
			continue
		}
		if !sg.GetDesired() {
			continue
		}
		name := sg.GetTable()
		if sg.GetProduct() != "" {
			name += " (" + sg.GetProduct() + ")"
		}
		bad = append(bad, name+" "+strings.TrimPrefix(sg.GetVerdict().String(), "VERDICT_"))
	}
	for _, c := range r.GetConfiguration() {
		if !c.GetOk() {
			bad = append(bad, strings.TrimPrefix(c.GetAspect().String(), "ASPECT_")+" differs from the desired settings")
		}
	}
	msg := fmt.Sprintf("%s, %d signal(s) over %d day(s)", strings.TrimPrefix(r.GetVerdict().String(), "VERDICT_"), len(r.GetSignals()), r.GetWindowDays())
	if len(bad) > 0 {
		msg += ": " + strings.Join(bad, "; ")
	}
	return msg
}

func queryFailure(err error) *Failure {
	f := azureFailure("Log Analytics query", err)
	if !f.Transient && azerr.Is(err, azerr.Forbidden) {
		f.Remedy = "grant the app's service principal Microsoft.OperationalInsights/workspaces/query/read on the workspace (Microsoft Sentinel Contributor includes it)"
	}
	return f
}
