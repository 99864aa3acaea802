package azuresim

import (
	"slices"
	"time"

	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// Ground truth for tests of ingestion verification: what a workspace holds,
// read from the same row synthesis the query API uses but without the KQL
// evaluator, so a wrong query (or a wrong evaluator) cannot agree with it by
// accident.

// IngestedRows is the ground truth of a workspace's table (by customerId):
// rows with from <= TimeGenerated < to per UTC day (map key: the day's 00:00
// UTC; days without rows are absent), and the newest TimeGenerated before to
// (any time, not only after from; zero when none). For SecurityAlert,
// product selects one ProductName ("" = all); for SecurityIncident it counts
// the rows of XDR incidents (ProviderName "Microsoft XDR" or "Microsoft 365
// Defender"). Nothing exists after the sim clock's now. An unknown workspace
// or table holds nothing.
func (s *Sim) IngestedRows(customerID, table, product string, from, to time.Time) (daily map[time.Time]int64, last time.Time) {
	daily = map[time.Time]int64{}
	ws, ok := s.WorkspaceByCustomerID(customerID)
	if !ok {
		return daily, last
	}
	keep := func([]any) bool { return true }
	switch {
	case table == tableSecurityIncident:
		i := columnIndex(incidentColumns, "ProviderName")
		keep = func(v []any) bool { return slices.Contains(xdrIncidentProviders, v[i].(string)) }
	case table == tableSecurityAlert && product != "":
		i := columnIndex(alertColumns, "ProductName")
		keep = func(v []any) bool { return v[i] == product }
	}
	for r := range s.laDatabase(ws).Rows(table, kql.Window{To: to.Add(-time.Nanosecond)}) {
		at := r.Values[0].(time.Time) // TimeGenerated is every table's first column
		if !at.Before(to) || !keep(r.Values) {
			continue
		}
		if at.After(last) {
			last = at
		}
		if !at.Before(from) {
			daily[utcDay(at)] += max(r.Weight, 1)
		}
	}
	return daily, last
}

// AlertProducts lists the SecurityAlert ProductNames the workspace's (by
// customerId) tenant produces; nil for an unknown workspace.
func (s *Sim) AlertProducts(customerID string) []string {
	ws, ok := s.WorkspaceByCustomerID(customerID)
	if !ok {
		return nil
	}
	var out []string
	for _, p := range alertProductsOf(ws.Tenant) {
		out = append(out, p.productName)
	}
	return out
}

func columnIndex(cols []kql.Column, name string) int {
	return slices.IndexFunc(cols, func(c kql.Column) bool { return c.Name == name })
}
