// Package verification judges a tenant's ingestion from what its Log
// Analytics queries returned and what is known of its Azure configuration.
// It does no I/O: the caller runs the queries (azure/loganalytics), reads
// the configuration, and assembles the IngestionReport from [Signal],
// [Overall], [Healthy] and [Summary].
//
// # Daily counts
//
// A signal's report has one DailyCount per day of the window
// ([loganalytics.Window.DayStarts]), days without rows included, oldest
// first; the last one is today up to the window's end and marked partial.
// Rows of days outside the window are ignored; rows of one day (the same
// key reported twice) are summed. When the signal's query failed its counts
// are unknown, so the report has no daily counts, total or
// last_received_time rather than zeros.
//
// # Verdicts
//
// A signal not requested in the desired settings is NOT_ENABLED ("not
// requested in the desired settings"); its counts are still reported. A
// desired signal gets the first verdict that applies, where last is the
// newest row known (in the window, or before it from a last-received query)
// and the stale threshold is TableStaleAfter for tables and
// AlertsStaleAfter for incidents and alerts (they arrive only when
// something happens):
//
//  1. ERROR: its query failed; the message is the error.
//  2. HEALTHY: last is at most the stale threshold before now (a row exactly
//     that old still counts; clock skew putting last after now too).
//  3. PORTAL_STEP_REQUIRED: a portal-only table with no row ever (the
//     streaming entry cannot include it until a person does the step).
//  4. NOT_ENABLED: Azure is known not to deliver it (the connector's data
//     type is off, the streaming entry lacks the table).
//  5. STALE: rows arrived once, but last is older than the threshold.
//  6. WITHIN_GRACE_PERIOD: no row ever, and it was enabled less than
//     GracePeriod ago (the grace period ends at enable time + GracePeriod,
//     exclusive; an enable time after now is within it).
//  7. NO_DATA: no row ever, past the grace period or enabled at an unknown
//     time.
//
// Recent data beats configuration: a signal whose rows keep arriving is
// HEALTHY whatever xdrlink believes about Azure. The report's verdict
// ([Overall]) is the worst among desired signals, from worst: ERROR,
// NO_DATA, STALE, NOT_ENABLED, PORTAL_STEP_REQUIRED, WITHIN_GRACE_PERIOD,
// HEALTHY; with no desired signal it is NOT_ENABLED.
package verification
