package azuresim

// syncMTPLedger brings the ingest ledger's SecurityIncident/SecurityAlert
// spans in line with the workspace's MicrosoftThreatProtection connector,
// dated now. The dataConnectors PUT and DELETE handlers call it after each
// write, so data starts and stops at the ARM change; Log Analytics queries
// call it too, which changes nothing when the ledger is already in line.
func (s *Sim) syncMTPLedger(ws *WorkspaceState) {
	connected, dataTypes := ws.ConnectedMTP()
	wl := s.xdr().ledger.workspace(ws.Spec.CustomerID)
	now := s.Now()
	wl.set(tableSecurityIncident, connected && dataTypes["incidents"], now)
	wl.set(tableSecurityAlert, connected && dataTypes["alerts"], now)
}
