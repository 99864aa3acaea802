package kql

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
