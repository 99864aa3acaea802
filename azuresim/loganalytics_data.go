package azuresim

import (
	"fmt"
	"iter"
	"slices"
	"time"

	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// laDatabase is one workspace's Log Analytics data as the query evaluator
// sees it, synthesized on demand from the world: which tables exist, which
// were connected when and which fell silent (the ingest ledger), how many
// events per day the tenant produces (Tenant.DataVolumes scaled by
// dailyVolume) and when a streamed table's first rows arrive
// (laStreamingFirstDataDelay). Nothing is materialized: rows are
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
	return &laDatabase{ws: ws, ledger: s.xdr().ledger.workspace(ws.Spec.CustomerID), now: s.Now(), sentinel: sentinel,
		products: alertProductsOf(t)}
}

// alertProductsOf lists the SecurityAlert products the tenant's licences
// produce, in alertProducts order (the fallback pair when none).
func alertProductsOf(t *TenantState) []alertProduct {
	var out []alertProduct
	for _, p := range alertProducts {
		if slices.ContainsFunc(p.plans, t.HasServicePlan) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return []alertProduct{fallbackAlertProduct}
	}
	return out
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
// onboarded, and an advanced-hunting table once its first data has arrived
// (otherwise "Failed to resolve table", which is why xdrlink's volume query
// uses union isfuzzy=true).
func (d *laDatabase) Columns(table string) ([]kql.Column, bool) {
	switch table {
	case tableSecurityIncident:
		return incidentColumns, d.sentinel || d.received(table)
	case tableSecurityAlert:
		return alertColumns, d.sentinel || d.received(table)
	}
	if !isHuntingTable(table) {
		return nil, false
	}
	return huntingColumns, d.received(table)
}

// isHuntingTable reports whether table is an advanced-hunting table the
// workspace can receive (through the streaming API or the portal).
func isHuntingTable(table string) bool {
	return streamingLongCategoryTables[table] || streamingShortCategories[table] || streamingPortalOnlyTables[table]
}

// received reports whether the table's data has started to arrive by now.
func (d *laDatabase) received(table string) bool {
	spans, silentSince := d.ledger.table(table)
	for _, sp := range spans {
		if ds, ok := dataSpan(table, sp, silentSince); ok && ds.from.Before(d.now) {
			return true
		}
	}
	return false
}

// Rows implements kql.Source.
func (d *laDatabase) Rows(table string, w kql.Window) iter.Seq[kql.Row] {
	spans, silentSince := d.ledger.table(table)
	base := int64(d.ws.Tenant.Spec.DataVolumes[table])
	return func(yield func(kql.Row) bool) {
		if base <= 0 {
			return
		}
		for _, sp := range spans {
			ds, ok := dataSpan(table, sp, silentSince)
			if !ok {
				continue
			}
			from, to, ok := d.clip(ds, w)
			if !ok {
				continue
			}
			var more bool
			switch table {
			case tableSecurityIncident:
				more = d.incidentRows(base, ds, from, to, yield)
			case tableSecurityAlert:
				more = batchRows(base, from, to, len(d.products), d.alertValues, yield)
			default:
				more = batchRows(base, from, to, 1, d.huntingValues(table), yield)
			}
			if !more {
				return
			}
		}
	}
}

// dataSpan narrows a connected span to when the table's rows arrive: a
// streamed table's first rows come laStreamingFirstDataDelay after the
// connect, and no table's rows come after it fell silent (silentSince, zero
// when it did not). ok=false when nothing is left.
func dataSpan(table string, sp span, silentSince time.Time) (ds span, ok bool) {
	if isHuntingTable(table) {
		sp.from = sp.from.Add(laStreamingFirstDataDelay)
	}
	if !silentSince.IsZero() && (sp.to.IsZero() || silentSince.Before(sp.to)) {
		sp.to = silentSince
	}
	return sp, sp.to.IsZero() || sp.from.Before(sp.to)
}

// clip narrows a data span to the window and to now: rows exist at
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

// utcDay is the start (00:00 UTC) of t's UTC day.
func utcDay(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// batchRows yields the ingestion batches b with from < b <= to, each split
// into parts rows (one per alert product, say). A batch's weight is its
// share of its UTC day's volume (dailyVolume of base); the batches of one
// UTC day add up to exactly that volume.
func batchRows(base int64, from, to time.Time, parts int, values func(b time.Time, part int) []any, yield func(kql.Row) bool) bool {
	const perDay = int64(24 * time.Hour / laBatchInterval)
	var day time.Time
	var volume int64
	for b := from.UTC().Truncate(laBatchInterval).Add(laBatchInterval); !b.After(to); b = b.Add(laBatchInterval) {
		if bd := utcDay(b); !bd.Equal(day) {
			day, volume = bd, dailyVolume(base, bd)
		}
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
	// incidentNumberOrigin is where IncidentNumber counting starts: the
	// emulated incidents created since then are numbered 1, 2, ...
	incidentNumberOrigin = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	incidentSeverities   = []string{"Medium", "High", "Low", "Informational"}
)

// incidentsOn is how many incidents are created on the UTC day that starts
// at day: the day's volume, at most one a minute.
func incidentsOn(base int64, day time.Time) int64 {
	return min(dailyVolume(base, day), 24*60)
}

// incidentsBefore counts the incidents created from incidentNumberOrigin to
// the start of day, whole weeks at a time.
func incidentsBefore(base int64, day time.Time) int64 {
	const dayLen = 24 * time.Hour
	days := int64(day.Sub(incidentNumberOrigin) / dayLen)
	var week int64
	for i := range int64(7) {
		week += incidentsOn(base, incidentNumberOrigin.Add(time.Duration(i)*dayLen))
	}
	n := days / 7 * week
	for i := days / 7 * 7; i < days; i++ {
		n += incidentsOn(base, incidentNumberOrigin.Add(time.Duration(i)*dayLen))
	}
	return n
}

// incidentRows yields the SecurityIncident rows inside (from, to] of data
// span ds: incidentsOn(day) incidents a UTC day, created evenly over it (so
// an incident's IncidentNumber is stable), each written twice: New, then
// Active laIncidentUpdateDelay later. An incident counts only if it was
// created inside ds (connected and not silent).
func (d *laDatabase) incidentRows(base int64, ds span, from, to time.Time, yield func(kql.Row) bool) bool {
	for day := utcDay(from.Add(-laIncidentUpdateDelay)); !day.After(to); day = day.Add(24 * time.Hour) {
		count := incidentsOn(base, day)
		if count == 0 {
			continue
		}
		slot := 24 * time.Hour / time.Duration(count)
		n := incidentsBefore(base, day)
		for i := range count {
			n++
			c := day.Add(time.Duration(i) * slot)
			if c.After(to) {
				break
			}
			if !c.After(ds.from) || (!ds.to.IsZero() && c.After(ds.to)) {
				continue // created while disconnected or silent: never ingested
			}
			for j, status := range []string{"New", "Active"} {
				at := c.Add(time.Duration(j) * laIncidentUpdateDelay)
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
	}
	return true
}
