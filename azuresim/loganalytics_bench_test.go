package azuresim

import (
	"context"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// BenchmarkLogAnalyticsDailyQuery measures the 14-day per-table daily query
// over 16 streamed tables for one workspace: the cost the sim pays per
// tenant verification (rows are synthesized, never stored).
func BenchmarkLogAnalyticsDailyQuery(b *testing.B) {
	s := startSim(b, Options{})
	ws, _ := s.WorkspaceByCustomerID(contosoCustomer)
	tables := streamingTables()
	ws.Tenant.Spec.DataVolumes = map[string]int{}
	wl := s.xdr().ledger.workspace(contosoCustomer)
	for _, t := range tables {
		ws.Tenant.Spec.DataVolumes[t] = 50000
		wl.set(t, true, s.Now().Add(-15*24*time.Hour))
	}
	q := "union withsource=Table isfuzzy=true "
	for i, t := range tables {
		if i > 0 {
			q += ", "
		}
		q += t
	}
	q += " | where TimeGenerated > ago(14d) | summarize Events = count() by Table, bin(TimeGenerated, 1d)"
	b.ReportAllocs()
	for b.Loop() {
		res, err := kql.Eval(context.Background(), q, s.laDatabase(ws), kql.Env{Now: s.Now()})
		if err != nil || len(res.Rows) < 14*len(tables) {
			b.Fatalf("%v, %d rows", err, len(res.Rows))
		}
	}
}
