package azuresim

import (
	"fmt"
	"net/http"
)

// PortalStreamTable emulates the portal step for a table the streaming API
// refuses (the Defender for Office 365 tables): a Security Administrator
// ticks it in the Defender portal and its data starts (on) or stops (off)
// flowing into the workspace (by customerId) from now on the sim clock.
func (s *Sim) PortalStreamTable(customerID, table string, on bool) error {
	if _, ok := s.WorkspaceByCustomerID(customerID); !ok {
		return fmt.Errorf("azuresim: workspace %s not found", customerID)
	}
	if !streamingPortalOnlyTables[table] {
		return fmt.Errorf("azuresim: %s is not a portal-only table; use the streaming API", table)
	}
	s.xdr().ledger.workspace(customerID).set(table, on, s.Now())
	return nil
}

func init() {
	registerAPIFamily(func(s *Sim) {
		// POST /_sim/loganalytics/{customerId}/portalTables/{table} {"enabled":bool}
		s.admin.HandleFunc("POST /_sim/loganalytics/{customerId}/portalTables/{table}", func(w http.ResponseWriter, r *http.Request) {
			var in struct {
				Enabled bool `json:"enabled"`
			}
			if !decodeAdmin(w, r, &in) {
				return
			}
			if err := s.PortalStreamTable(r.PathValue("customerId"), r.PathValue("table"), in.Enabled); err != nil {
				WriteError(w, http.StatusBadRequest, "BadRequest", err.Error())
				return
			}
			WriteJSON(w, http.StatusOK, map[string]any{"table": r.PathValue("table"), "enabled": in.Enabled})
		})
	})
}
