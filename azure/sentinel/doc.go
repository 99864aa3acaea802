// Package sentinel is the client for Microsoft Sentinel's ARM API (Microsoft.SecurityInsights)
// on one workspace: onboarding state, the Microsoft Defender XDR data connector
// (MicrosoftThreatProtection), Microsoft incident-creation alert rules, UEBA / entity
// analytics settings and Content Hub packages (docs/azure.md §1, §2, §4, §5, §6).
//
// Writes are read-modify-write with etags; reads of resources xdrlink changes keep their
// raw properties so that fields this code does not know survive an update.
package sentinel
