package loganalytics

import (
	"strings"
	"time"
)

// The ingestion verification's queries: rows per UTC day within a Window,
// and for signals without rows there, the newest row before it.

// Query is one query exactly as sent.
type Query struct {
	Purpose  string // what it answers, for people
	Text     string // the KQL
	Timespan string // the request's timespan (ISO 8601 interval); "" when none
}

// XDRAlertProducts are the SecurityAlert.ProductName values of alerts that
// come through Defender XDR: the component products, the solution's
// pre-rename name and Learn's current name (docs/azure.md §7.2).
var XDRAlertProducts = []string{
	"Microsoft Defender Advanced Threat Protection",
	"Office 365 Advanced Threat Protection",
	"Azure Advanced Threat Protection",
	"Microsoft Cloud App Security",
	"Microsoft 365 Defender",
	"Microsoft Defender XDR",
}

const (
	dailySummary    = "| summarize Rows = count(), Last = max(TimeGenerated) by "
	dayKey          = "Day = bin(TimeGenerated, 1d)"
	lastSummary     = "| summarize Last = max(TimeGenerated)"
	fuzzyTableUnion = "union withsource=Table isfuzzy=true " // isfuzzy: skip tables the workspace does not have yet
)

func incidentFilter() string { return "| where ProviderName in (" + quoted(ProviderNames) + ")\n" }
func alertFilter() string    { return "| where ProductName in (" + quoted(XDRAlertProducts) + ")\n" }

func inWindow(w Window) string {
	return "| where TimeGenerated >= " + datetime(w.Start) + " and TimeGenerated < " + datetime(w.End) + "\n"
}

func olderThan(t time.Time) string { return "| where TimeGenerated < " + datetime(t) + "\n" }

// IncidentsDailyQuery counts XDR incident rows per UTC day of w.
func IncidentsDailyQuery(w Window) Query {
	return Query{
		Purpose:  "daily rows of XDR incidents",
		Text:     "SecurityIncident\n" + inWindow(w) + incidentFilter() + dailySummary + dayKey,
		Timespan: w.timespan(),
	}
}

// AlertsDailyQuery counts alert rows of the XDRAlertProducts per product
// and UTC day of w.
func AlertsDailyQuery(w Window) Query {
	return Query{
		Purpose:  "daily rows of XDR alerts per product",
		Text:     "SecurityAlert\n" + inWindow(w) + alertFilter() + dailySummary + "ProductName, " + dayKey,
		Timespan: w.timespan(),
	}
}

// TablesDailyQuery counts rows per advanced-hunting table and UTC day of w.
func TablesDailyQuery(w Window, tables []string) (Query, error) {
	if err := checkTables(tables); err != nil {
		return Query{}, err
	}
	return Query{
		Purpose:  "daily rows of the advanced-hunting tables",
		Text:     fuzzyTableUnion + strings.Join(tables, ", ") + "\n" + inWindow(w) + dailySummary + "Table, " + dayKey,
		Timespan: w.timespan(),
	}, nil
}

// IncidentsLastQuery finds the newest XDR incident row older than before,
// the window's start (the purpose says so). No timespan: it looks back as
// far as the workspace keeps data.
func IncidentsLastQuery(before time.Time) Query {
	return Query{
		Purpose: "newest XDR incident row before the window",
		Text:    "SecurityIncident\n" + olderThan(before) + incidentFilter() + lastSummary,
	}
}

// AlertsLastQuery finds the newest alert row per XDR product older than
// before.
func AlertsLastQuery(before time.Time) Query {
	return Query{
		Purpose: "newest XDR alert row per product before the window",
		Text:    "SecurityAlert\n" + olderThan(before) + alertFilter() + lastSummary + " by ProductName",
	}
}

// TablesLastQuery finds the newest row per advanced-hunting table older
// than before.
func TablesLastQuery(before time.Time, tables []string) (Query, error) {
	if err := checkTables(tables); err != nil {
		return Query{}, err
	}
	return Query{
		Purpose: "newest row per advanced-hunting table before the window",
		Text:    fuzzyTableUnion + strings.Join(tables, ", ") + "\n" + olderThan(before) + lastSummary + " by Table",
	}, nil
}
