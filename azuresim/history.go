package azuresim

import (
	"slices"
	"strings"
	"time"
)

// applyHistory turns every workspace's WorkspaceHistory (validated with the
// world) into live state dated back from start, the same state the live
// APIs would have left had the tenant's Security Administrator made those
// changes at those times: later writes through the APIs then meet existing
// resources (an update with the current etag, the same streaming entry)
// exactly as they would in Azure.
func (s *Sim) applyHistory(start time.Time) {
	for _, t := range s.Tenants() {
		for _, ws := range t.workspaces {
			if ws.Spec.History != nil {
				s.applyWorkspaceHistory(ws, start)
			}
		}
	}
}

func (s *Sim) applyWorkspaceHistory(ws *WorkspaceState, start time.Time) {
	h, t := ws.Spec.History, ws.Tenant
	ago := func(d Duration) time.Time { return start.Add(-time.Duration(d)) }
	connected := ago(h.ConnectedAgo)
	admin := writer{memberSecurityAdmin(t.Spec).UserPrincipalName, "User"} // validate checked there is one

	t.mu.Lock()
	defer t.mu.Unlock()
	ws.onboarded = onboardingResource(ws, newSystemData(admin, connected, nil))
	seedDefaultSettings(ws, connected)

	// The portal names connectors with a GUID; ours is stable per workspace.
	name := stableUUID(ws.Spec.CustomerID, "history", kindMTP)
	ws.connectors[strings.ToLower(name)] = &armResource{
		ID: childID(ws, "dataConnectors", name), Name: name, Type: "Microsoft.SecurityInsights/dataConnectors",
		Kind: kindMTP, Etag: newETag(), SystemData: newSystemData(admin, connected, nil),
		Properties: map[string]any{"tenantId": t.Spec.ID, "dataTypes": map[string]any{
			"incidents": map[string]any{"state": "Enabled"}, "alerts": map[string]any{"state": "Enabled"}}},
	}
	t.consentGranted = true // a member admin's connect clears the consent state
	s.syncMTPLedgerLocked(ws, connected)

	// The entry exists from the first edit that turns on an API-writable
	// table; portal-only tables never need it.
	var entry *StreamingExportSetting
	wl := s.xdr().ledger.workspace(ws.Spec.CustomerID)
	edit := func(at time.Time, enable, disable []string) {
		for _, table := range slices.Concat(enable, disable) {
			on := slices.Contains(enable, table)
			category, viaAPI := streamingCategoryOf(table)
			if !viaAPI {
				wl.set(table, on, at) // as Sim.PortalStreamTable does
				continue
			}
			if entry == nil {
				entry = newSentinelStreamingEntry(ws)
				t.streaming[strings.ToLower(entry.ID)] = entry
			}
			entry.setCategory(category, on)
			entry.LastModified = at
		}
		s.syncStreamingLedger(t, at)
	}
	edit(connected, h.Tables, nil)
	for _, c := range h.StreamingChanges {
		edit(ago(c.Ago), c.Enable, c.Disable)
	}
	for table, d := range h.Silent {
		wl.silence(table, ago(d))
	}
}

// newSentinelStreamingEntry is the streaming entry the portal makes for a
// Sentinel workspace (id SentinelExportSettings-<workspace>, docs/azure.md
// §3.1), in the shape the streaming API stores, with no categories yet.
func newSentinelStreamingEntry(ws *WorkspaceState) *StreamingExportSetting {
	return &StreamingExportSetting{
		ID: "SentinelExportSettings-" + ws.Spec.Name,
		WorkspaceProperties: &StreamingWorkspaceProperties{WorkspaceResourceID: ws.Spec.ResourceID(),
			SubscriptionID: ws.Spec.SubscriptionID, ResourceGroup: ws.Spec.ResourceGroup, Name: ws.Spec.Name},
		Logs: []StreamingLogCategory{},
	}
}

// setCategory ticks or unticks a category as the portal does: a category
// once listed stays listed, with enabled false when turned off.
func (e *StreamingExportSetting) setCategory(category string, on bool) {
	for i := range e.Logs {
		if e.Logs[i].Category == category {
			e.Logs[i].Enabled = on
			return
		}
	}
	e.Logs = append(e.Logs, StreamingLogCategory{Category: category, Enabled: on})
}
