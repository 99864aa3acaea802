package azuresim

import "time"

// syncMTPLedgerLocked brings the ingest ledger's SecurityIncident/SecurityAlert
// spans in line with the workspace's MicrosoftThreatProtection connector,
// dated at (now, or a moment of the world's history). The dataConnectors PUT
// and DELETE handlers call it in the tenant-locked section that changes the
// connector, so data starts and stops at the ARM change and concurrent writes
// cannot report a stale state. The caller holds ws.Tenant.mu (the ledger has
// its own locks and never takes a tenant's).
func (s *Sim) syncMTPLedgerLocked(ws *WorkspaceState, at time.Time) {
	connected, dataTypes := ws.connectedMTPLocked()
	wl := s.xdr().ledger.workspace(ws.Spec.CustomerID)
	wl.set(tableSecurityIncident, connected && dataTypes["incidents"], at)
	wl.set(tableSecurityAlert, connected && dataTypes["alerts"], at)
}
