package kql

import (
	"strings"
	"time"
)

// The queries xdrlink sends (docs/azure.md §7.2), shared by the tests.
const (
	incidentsQuery = `SecurityIncident
| where TimeGenerated > ago(7d)
| where ProviderName in ("Microsoft XDR", "Microsoft 365 Defender")
| summarize arg_max(TimeGenerated, *) by IncidentNumber
| summarize Incidents = count(), Last = max(TimeGenerated)`

	alertsQuery = `SecurityAlert | where TimeGenerated > ago(14d) | summarize count() by ProductName, ProviderName`

	volumeQuery = `union withsource=Table isfuzzy=true DeviceInfo, DeviceProcessEvents, EmailEvents, IdentityLogonEvents
| where TimeGenerated > ago(1d)
| summarize Events = count(), Last = max(TimeGenerated) by Table`

	dailyQuery = `union withsource=Table isfuzzy=true DeviceInfo, DeviceProcessEvents, EmailEvents
| where TimeGenerated > ago(14d)
| summarize Events = count() by Table, bin(TimeGenerated, 1d)`

	lastLogQuery = `DeviceInfo | summarize LastLogReceived=max(TimeGenerated)`

	connectedQuery = `DeviceInfo | summarize LastLogReceived=max(TimeGenerated) | project IsConnected = LastLogReceived > ago(7d)`
)

// The ingestion-verification queries: rows and the newest row per UTC day
// over [START, END), and the newest row before START for a signal with none
// in the window. verificationQuery puts datetimes in for START and END.
const (
	dailyIncidentsQuery = `SecurityIncident
| where TimeGenerated >= datetime(START) and TimeGenerated < datetime(END)
| where ProviderName in ("Microsoft XDR", "Microsoft 365 Defender")
| summarize Rows = count(), Last = max(TimeGenerated) by Day = bin(TimeGenerated, 1d)`

	dailyAlertsQuery = `SecurityAlert
| where TimeGenerated >= datetime(START) and TimeGenerated < datetime(END)
| where ProductName in ("Microsoft Defender Advanced Threat Protection", "Office 365 Advanced Threat Protection", "Azure Advanced Threat Protection", "Microsoft Cloud App Security", "Microsoft 365 Defender", "Microsoft Defender XDR")
| summarize Rows = count(), Last = max(TimeGenerated) by ProductName, Day = bin(TimeGenerated, 1d)`

	dailyTablesQuery = `union withsource=Table isfuzzy=true DeviceProcessEvents, DeviceNetworkEvents
| where TimeGenerated >= datetime(START) and TimeGenerated < datetime(END)
| summarize Rows = count(), Last = max(TimeGenerated) by Table, Day = bin(TimeGenerated, 1d)`

	lastIncidentQuery = `SecurityIncident
| where TimeGenerated < datetime(START)
| where ProviderName in ("Microsoft XDR", "Microsoft 365 Defender")
| summarize Last = max(TimeGenerated)`

	lastAlertsQuery = `SecurityAlert
| where TimeGenerated < datetime(START)
| where ProductName in ("Microsoft Defender Advanced Threat Protection", "Office 365 Advanced Threat Protection", "Azure Advanced Threat Protection", "Microsoft Cloud App Security", "Microsoft 365 Defender", "Microsoft Defender XDR")
| summarize Last = max(TimeGenerated) by ProductName`

	lastTablesQuery = `union withsource=Table isfuzzy=true DeviceFileEvents, EmailEvents
| where TimeGenerated < datetime(START)
| summarize Last = max(TimeGenerated) by Table`
)

// verificationQuery writes start and end into q as the verification does:
// RFC 3339 UTC with up to 7 fractional digits.
func verificationQuery(q string, start, end time.Time) string {
	const layout = "2006-01-02T15:04:05.9999999Z"
	return strings.NewReplacer("START", start.UTC().Format(layout), "END", end.UTC().Format(layout)).Replace(q)
}
