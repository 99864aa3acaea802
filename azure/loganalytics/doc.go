// Package loganalytics runs xdrlink's verification queries against a Log
// Analytics workspace through the Azure SDK's azquery LogsClient
// (docs/azure.md §7): did incidents, alerts and each streamed table arrive,
// how many events per day, and when was the last one.
//
// A query that returns tables together with an error (a "partial error")
// is treated as a failure here: a verification verdict computed from a
// truncated or partly failed result would be wrong. [Client.Query] returns
// *[PartialError] (inside an *azerr.Error) with the tables attached.
//
// Every query string is built by this package from validated table names,
// so no caller-provided text reaches KQL.
package loganalytics
