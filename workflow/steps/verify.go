package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/azquery"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/loganalytics"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azure/workspaces"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// xdrAlertProducts are SecurityAlert.ProductName values of alerts that come
// through Defender XDR: the component products, the solution's pre-rename
// name and Learn's current one (azure-api.md §7.2).
var xdrAlertProducts = append(append([]string(nil), sentinel.XDRProducts...), "Microsoft 365 Defender", "Microsoft Defender XDR")

func quotedList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = `"` + s + `"`
	}
	return strings.Join(q, ", ")
}

// verifyQuery counts, in one query, the XDR incidents and alerts of the last
// day. An incident is written once per update, so the first summarize
// collapses incidents by IncidentNumber while every alert (whose
// IncidentNumber is null) falls into one group: per table, Groups then
// counts incidents and Rows counts alerts.
var verifyQuery = "union withsource=Table isfuzzy=true SecurityIncident, SecurityAlert\n" +
	"| where TimeGenerated > ago(1d)\n" +
	"| where (Table == \"SecurityIncident\" and ProviderName in (" + quotedList(loganalytics.ProviderNames) + "))" +
	" or (Table == \"SecurityAlert\" and ProductName in (" + quotedList(xdrAlertProducts) + "))\n" +
	"| summarize Rows = count(), Last = max(TimeGenerated) by Table, IncidentNumber\n" +
	"| summarize Groups = count(), Rows = sum(Rows), Last = max(Last) by Table"

// verify checks that incidents and alerts arrive. No data is not a failure:
// a new connector takes time to deliver (azure-api.md §2.6), and the
// scheduled verification judges ingestion later.
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
	tables, err := logs.Query(ctx, ws.Properties.CustomerID, verifyQuery, azquery.TimeInterval("P1D"))
	if unresolvedTables(err) {
		return Result{Message: "SecurityIncident and SecurityAlert do not exist in the workspace yet (Sentinel creates them when it is onboarded and data first arrives)"}, nil
	}
	if err != nil {
		f := azureFailure("Log Analytics query", err)
		if !f.Transient && azerr.Is(err, azerr.Forbidden) {
			f.Remedy = "grant the app's service principal Microsoft.OperationalInsights/workspaces/query/read on the workspace (Microsoft Sentinel Contributor includes it)"
		}
		return Result{}, f
	}
	incidents, alerts, err := verifyCounts(tables)
	if err != nil {
		return Result{}, &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR, Message: "Log Analytics query: " + err.Error(),
			Remedy: "read the Azure error, fix its cause, then run the operation again"}
	}
	msg := fmt.Sprintf("last 24 hours: %d Defender XDR incident(s), %d Defender XDR alert(s)", incidents, alerts)
	if (s.t.Incidents && incidents == 0) || (s.t.Alerts && alerts == 0) {
		msg += "; none yet is normal right after connecting: data can take a while to arrive, and the scheduled verification checks again"
	}
	return Result{Message: msg}, nil
}

// unresolvedTables recognises the query error of a workspace that has
// neither table yet. The detail sits in the body's innererror, so it is read
// from the raw response.
func unresolvedTables(err error) bool {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) || re.RawResponse == nil || re.ErrorCode != "BadArgumentError" {
		return false
	}
	body, perr := runtime.Payload(re.RawResponse)
	msg := strings.ToLower(string(body))
	return perr == nil && strings.Contains(msg, "resolve") && strings.Contains(msg, "table")
}

// verifyCounts reads verifyQuery's result.
func verifyCounts(tables []*azquery.Table) (incidents, alerts int64, err error) {
	if len(tables) == 0 {
		return 0, 0, fmt.Errorf("no result table")
	}
	t := tables[0]
	idx := map[string]int{}
	for i, c := range t.Columns {
		if c != nil && c.Name != nil {
			idx[*c.Name] = i
		}
	}
	for _, col := range []string{"Table", "Groups", "Rows"} {
		if _, ok := idx[col]; !ok {
			return 0, 0, fmt.Errorf("result has no column %q", col)
		}
	}
	for _, row := range t.Rows {
		if len(row) < len(t.Columns) {
			return 0, 0, fmt.Errorf("short result row")
		}
		name, _ := row[idx["Table"]].(string)
		groups, _ := row[idx["Groups"]].(float64)
		rows, _ := row[idx["Rows"]].(float64)
		switch name {
		case "SecurityIncident":
			incidents = int64(groups)
		case "SecurityAlert":
			alerts = int64(rows)
		}
	}
	return incidents, alerts, nil
}
