package azuresim

import (
	"strings"
	"sync"
)

// xdrState is what the Graph, streaming and Log Analytics families keep per
// Sim beyond the core world: when each table of each workspace started and
// stopped receiving data, and injected query faults. It lives in the Sim's
// family-state slot.
type xdrState struct {
	ledger ingestLedger

	mu      sync.Mutex
	partial map[string]*QueryPartialError // lower customerId
}

type xdrStateKey struct{}

// xdr returns the Sim's family state, creating it on first use.
func (s *Sim) xdr() *xdrState {
	return s.FamilyState(xdrStateKey{}, func() any {
		return &xdrState{partial: map[string]*QueryPartialError{}}
	}).(*xdrState)
}

// QueryPartialError is an error the Log Analytics query API returns next to
// its tables (HTTP 200). Tests and the sandbox inject it per workspace with
// Sim.SetQueryPartialError.
type QueryPartialError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Details are the inner errors; empty gets one default detail.
	Details []QueryErrorDetail `json:"details,omitempty"`
}

// QueryErrorDetail is one entry of a partial error's details.
type QueryErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// SetQueryPartialError makes every query of the workspace (by customerId)
// return e alongside its tables; nil clears it.
func (s *Sim) SetQueryPartialError(customerID string, e *QueryPartialError) {
	st := s.xdr()
	st.mu.Lock()
	defer st.mu.Unlock()
	if e == nil {
		delete(st.partial, strings.ToLower(customerID))
		return
	}
	c := *e
	st.partial[strings.ToLower(customerID)] = &c
}

func (st *xdrState) partialError(customerID string) *QueryPartialError {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.partial[strings.ToLower(customerID)]
}
