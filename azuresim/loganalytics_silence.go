package azuresim

import (
	"fmt"
	"net/http"
)

// SilenceTable makes a table of the workspace (by customerId) receive no
// more rows from now on the sim clock, although its connection (streaming
// entry, MTP connector) stays as it is: the product stopped sending, e.g.
// its sensors were offboarded. It cannot be undone; the table stays silent.
func (s *Sim) SilenceTable(customerID, table string) error {
	if _, ok := s.WorkspaceByCustomerID(customerID); !ok {
		return fmt.Errorf("azuresim: workspace %s not found", customerID)
	}
	if !isHuntingTable(table) && table != tableSecurityIncident && table != tableSecurityAlert {
		return fmt.Errorf("azuresim: %s is not a table the emulator ingests", table)
	}
	s.xdr().ledger.workspace(customerID).silence(table, s.Now())
	return nil
}

func init() {
	registerAPIFamily(func(s *Sim) {
		// POST /_sim/loganalytics/{customerId}/tables/{table}/silence (no body)
		// answers the table's ingestion entry.
		s.admin.HandleFunc("POST /_sim/loganalytics/{customerId}/tables/{table}/silence", func(w http.ResponseWriter, r *http.Request) {
			if err := s.SilenceTable(r.PathValue("customerId"), r.PathValue("table")); err != nil {
				WriteError(w, http.StatusBadRequest, "BadRequest", err.Error())
				return
			}
			for _, ti := range s.Ingestion(r.PathValue("customerId")) {
				if ti.Table == r.PathValue("table") {
					WriteJSON(w, http.StatusOK, ti)
				}
			}
		})
	})
}
