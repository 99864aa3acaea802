// Package loganalytics runs xdrlink's queries against a Log Analytics
// workspace through the Azure SDK's azquery LogsClient (docs/azure.md §7).
//
// The ingestion verification sends two kinds of query, built here and kept
// in its report exactly as sent ([Query]):
//   - daily: rows and newest row per UTC day of a [Window] for XDR
//     incidents, XDR alerts per product, or advanced-hunting tables
//     ([IncidentsDailyQuery], [AlertsDailyQuery], [TablesDailyQuery], run
//     by [Client.Daily]);
//   - last received: the newest row before the window, for signals without
//     rows in it ([IncidentsLastQuery], [AlertsLastQuery],
//     [TablesLastQuery], run by [Client.Last]).
//
// The window's bounds are written into the text as datetime literals, so
// the day buckets do not depend on when the request reaches the service,
// and sent as the request's timespan too. A table the workspace does not have yet (it
// is created with its first data) answers a 400 that [IsUnresolvedTable]
// recognises; Daily and Last read it as no rows.
//
// A query that returns tables together with an error (a "partial error")
// is treated as a failure here: a verification verdict computed from a
// truncated or partly failed result would be wrong. [Client.Query] returns
// *[PartialError] (inside an *azerr.Error) with the tables attached.
//
// Every query string is built by this package from validated table names,
// so no caller-provided text reaches KQL.
package loganalytics
