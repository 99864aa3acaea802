package azuresim

import (
	"fmt"
	"iter"
	"time"

	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// laDatabase is one workspace's Log Analytics data as the query evaluator
// sees it, synthesized on demand from the world: which tables exist, which
// were connected when (the ingest ledger) and how many events per day the
// tenant produces (Tenant.DataVolumes). Nothing is materialized: rows are
// weighted ingestion batches generated for the requested window only, so a
// 14-day query over 20 tables costs about 80k rows whatever the volumes.
type laDatabase struct {
	ws       *WorkspaceState
	ledger   *workspaceLedger
	now      time.Time
	sentinel bool // onboarded to Sentinel: SecurityIncident/SecurityAlert exist
	products []alertProduct
}

func (s *Sim) laDatabase(ws *WorkspaceState) *laDatabase {
	t := ws.Tenant
	t.mu.Lock()
	sentinel := ws.onboarded != nil
	t.mu.Unlock()
	d := &laDatabase{ws: ws, ledger: s.xdr().ledger.workspace(ws.Spec.CustomerID), now: s.Now(), sentinel: sentinel}
	for _, p := range alertProducts {
		for _, plan := range p.plans {
			if t.HasServicePlan(plan) {
				d.products = append(d.products, p)
				break
			}
		}
	}
	if len(d.products) == 0 {
		d.products = []alertProduct{fallbackAlertProduct}
	}
	return d
}

const (
	tableSecurityIncident = "SecurityIncident"
	tableSecurityAlert    = "SecurityAlert"
)

var (
	colTimeGenerated = kql.Column{Name: "TimeGenerated", Type: kql.TypeDatetime}
	colTenantID      = kql.Column{Name: "TenantId", Type: kql.TypeString}
	colType          = kql.Column{Name: "Type", Type: kql.TypeString}

	incidentColumns = []kql.Column{colTimeGenerated, colTenantID,
		{Name: "IncidentNumber", Type: kql.TypeLong}, {Name: "Title", Type: kql.TypeString},
		{Name: "Severity", Type: kql.TypeString}, {Name: "Status", Type: kql.TypeString},
		{Name: "ProviderName", Type: kql.TypeString}, {Name: "ProviderIncidentId", Type: kql.TypeString}, colType}
	alertColumns = []kql.Column{colTimeGenerated, colTenantID,
		{Name: "AlertName", Type: kql.TypeString}, {Name: "AlertSeverity", Type: kql.TypeString},
		{Name: "ProductName", Type: kql.TypeString}, {Name: "ProviderName", Type: kql.TypeString},
		{Name: "VendorName", Type: kql.TypeString}, colType}
	// Advanced-hunting tables carry only what the verification queries
	// read; their product-specific columns are not emulated.
	huntingColumns = []kql.Column{colTimeGenerated, colTenantID, colType}
)

// Columns implements kql.Catalog. UNCONFIRMED: which tables a workspace
// resolves. We take SecurityIncident/SecurityAlert to exist once Sentinel is
// onboarded, and an advanced-hunting table once it has ever been connected
// (otherwise "Failed to resolve table", which is why xdrlink's volume query
// uses union isfuzzy=true).
func (d *laDatabase) Columns(table string) ([]kql.Column, bool) {
	ever := len(d.ledger.spans(table)) > 0
	switch table {
	case tableSecurityIncident:
		return incidentColumns, d.sentinel || ever
	case tableSecurityAlert:
		return alertColumns, d.sentinel || ever
	}
	if !streamingLongCategoryTables[table] && !streamingShortCategories[table] && !streamingPortalOnlyTables[table] {
		return nil, false
	}
	return huntingColumns, ever
}

// Rows implements kql.Source.
func (d *laDatabase) Rows(table string, w kql.Window) iter.Seq[kql.Row] {
	spans := d.ledger.spans(table)
	volume := int64(d.ws.Tenant.Spec.DataVolumes[table])
	return func(yield func(kql.Row) bool) {
		if volume <= 0 {
			return
		}
		for _, sp := range spans {
			from, to, ok := d.clip(sp, w)
			if !ok {
				continue
			}
			var more bool
			switch table {
			case tableSecurityIncident:
				more = d.incidentRows(volume, sp, from, to, yield)
			case tableSecurityAlert:
				more = batchRows(volume, from, to, len(d.products), d.alertValues, yield)
			default:
				more = batchRows(volume, from, to, 1, d.huntingValues(table), yield)
			}
			if !more {
				return
			}
		}
	}
}

// clip narrows a connected span to the window and to now: rows exist at
// instants t with from < t <= to (data arrives after the connect).
func (d *laDatabase) clip(sp span, w kql.Window) (from, to time.Time, ok bool) {
	from, to = sp.from, sp.to
	if to.IsZero() || to.After(d.now) {
		to = d.now
	}
	if !w.To.IsZero() && w.To.Before(to) {
		to = w.To
	}
	if !w.From.IsZero() && !w.From.Before(from) {
		from = w.From.Add(-time.Nanosecond) // w.From is inclusive
	}
	return from, to, from.Before(to)
}

// batchRows yields the ingestion batches b with from < b <= to, each split
// into parts rows (one per alert product, say). A batch's weight is its
// share of the daily volume; the batches of one UTC day add up to exactly
// volume.
func batchRows(volume int64, from, to time.Time, parts int, values func(b time.Time, part int) []any, yield func(kql.Row) bool) bool {
	const perDay = int64(24 * time.Hour / laBatchInterval)
	for b := from.Truncate(laBatchInterval).Add(laBatchInterval); !b.After(to); b = b.Add(laBatchInterval) {
		k := (b.Unix() % 86400) / int64(laBatchInterval/time.Second)
		n := volume*(k+1)/perDay - volume*k/perDay
		if n == 0 {
			continue
		}
		for p := range parts {
			q := int64((p + int(k)) % parts) // rotate, so small batches reach every part
			w := n*(q+1)/int64(parts) - n*q/int64(parts)
			if w == 0 {
				continue
			}
			if !yield(kql.Row{Values: values(b, p), Weight: w}) {
				return false
			}
		}
	}
	return true
}

func (d *laDatabase) huntingValues(table string) func(time.Time, int) []any {
	tenant, typ := any(d.ws.Spec.CustomerID), any(table) // boxed once, not per row
	return func(b time.Time, _ int) []any {
		return []any{b, tenant, typ}
	}
}

func (d *laDatabase) alertValues(b time.Time, part int) []any {
	p := d.products[part]
	return []any{b, d.ws.Spec.CustomerID, "Emulated " + p.providerName + " alert", "Medium", p.productName, p.providerName, "Microsoft", tableSecurityAlert}
}

var (
	incidentNumberOrigin = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	incidentSeverities   = []string{"Medium", "High", "Low", "Informational"}
)

// incidentRows yields the SecurityIncident rows inside (from, to] of span
// sp: volume incidents per day, each created on a fixed grid (so its
// IncidentNumber is stable) and written twice: New, then Active
// laIncidentUpdateDelay later. An incident counts only if it was created
// while connected.
func (d *laDatabase) incidentRows(volume int64, sp span, from, to time.Time, yield func(kql.Row) bool) bool {
	volume = min(volume, 1440) // at most one incident per minute
	slot := 24 * time.Hour / time.Duration(volume)
	first := from.Add(-laIncidentUpdateDelay).Truncate(slot)
	for c := first; !c.After(to); c = c.Add(slot) {
		if !c.After(sp.from) || (!sp.to.IsZero() && c.After(sp.to)) {
			continue // created while disconnected: never ingested
		}
		n := int64(c.Sub(incidentNumberOrigin)/slot) + 1
		for i, status := range []string{"New", "Active"} {
			at := c.Add(time.Duration(i) * laIncidentUpdateDelay)
			if !at.After(from) || at.After(to) {
				continue
			}
			vals := []any{at, d.ws.Spec.CustomerID, n, fmt.Sprintf("Emulated XDR incident %d", n),
				incidentSeverities[n%int64(len(incidentSeverities))], status, laProviderName, fmt.Sprint(100000 + n), tableSecurityIncident}
			if !yield(kql.Row{Values: vals, Weight: 1}) {
				return false
			}
		}
	}
	return true
}
