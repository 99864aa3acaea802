package steps

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/loganalytics"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azure/workspaces"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// xdrAlertProducts are SecurityAlert.ProductName values of alerts that come
// through Defender XDR: the component products, the solution's pre-rename
// name and Learn's current one (docs/azure.md §7.2).
var xdrAlertProducts = append(append([]string(nil), sentinel.XDRProducts...), "Microsoft 365 Defender", "Microsoft Defender XDR")

// verify checks that incidents and alerts arrive. No data is not a failure:
// a new connector takes time to deliver (docs/azure.md §2.6), and the
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
	// A table the workspace does not have yet (Sentinel creates it with
	// its first data) is no data, not a failure.
	id := ws.Properties.CustomerID
	inc, err := logs.Incidents(ctx, id, verifyWindow)
	if err != nil && !loganalytics.IsUnresolvedTable(err) {
		return Result{}, queryFailure(err)
	}
	byProduct, err := logs.AlertsByProduct(ctx, id, verifyWindow)
	if err != nil && !loganalytics.IsUnresolvedTable(err) {
		return Result{}, queryFailure(err)
	}
	incidents, alerts := inc.Incidents, int64(0)
	for _, a := range byProduct {
		if slices.Contains(xdrAlertProducts, a.ProductName) {
			alerts += a.Count
		}
	}
	msg := fmt.Sprintf("last 24 hours: %d Defender XDR incident(s), %d Defender XDR alert(s)", incidents, alerts)
	if (s.t.Incidents && incidents == 0) || (s.t.Alerts && alerts == 0) {
		msg += "; none yet is normal right after connecting: data can take a while to arrive, and the scheduled verification checks again"
	}
	return Result{Message: msg}, nil
}

// verifyWindow is how far back the first check looks.
const verifyWindow = 24 * time.Hour

func queryFailure(err error) *Failure {
	f := azureFailure("Log Analytics query", err)
	if !f.Transient && azerr.Is(err, azerr.Forbidden) {
		f.Remedy = "grant the app's service principal Microsoft.OperationalInsights/workspaces/query/read on the workspace (Microsoft Sentinel Contributor includes it)"
	}
	return f
}
