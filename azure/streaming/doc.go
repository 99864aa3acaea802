// Package streaming is the client of the Microsoft Defender XDR streaming API
// ("data export settings"), the undocumented mechanism behind the Sentinel
// connector's "Connect events": an entry that streams advanced-hunting tables
// into a Log Analytics workspace (docs/azure.md §3).
//
// The API needs a delegated token of a Security Administrator or Global
// Administrator of the tenant that holds a Defender XDR licence; app-only
// tokens are refused. A tenant holds at most five entries. POST is a
// whole-object upsert keyed by id, so [Client.Upsert] always sends the full
// [Setting].
//
// Not every table can be written: Defender for Identity and Cloud Apps take
// short category names, Defender for Office 365 tables can only be turned on
// in the portal, and TVM/Behavior tables never reach Sentinel. [Catalog] and
// [Select] encode those rules so callers can send only writable categories
// and report the rest as portal steps.
package streaming
