package azuresim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// The Log Analytics query API (docs/azure.md §7.1):
// POST /v1/workspaces/{customerId}/query with {query, timespan}. Queries are
// parsed and evaluated by package kql over laDatabase, so only data the
// world actually connected is ever returned, and queries outside the subset
// fail with the service's BadArgumentError shape.

func init() { registerAPIFamily(registerLogAnalytics) }

func registerLogAnalytics(s *Sim) {
	s.HandleFunc("POST /v1/workspaces/{workspaceId}/query", s.laQuery)
	// Admin additions (no token, like the rest of /_sim/): inject a partial
	// error for a workspace and read its ingestion spans.
	s.admin.HandleFunc("PUT /_sim/loganalytics/{customerId}/partialError", func(w http.ResponseWriter, r *http.Request) {
		var in QueryPartialError
		if !decodeAdmin(w, r, &in) {
			return
		}
		s.SetQueryPartialError(r.PathValue("customerId"), &in)
		WriteJSON(w, http.StatusOK, in)
	})
	s.admin.HandleFunc("DELETE /_sim/loganalytics/{customerId}/partialError", func(w http.ResponseWriter, r *http.Request) {
		s.SetQueryPartialError(r.PathValue("customerId"), nil)
		w.WriteHeader(http.StatusNoContent)
	})
	s.admin.HandleFunc("GET /_sim/loganalytics/{customerId}/ingestion", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]any{"value": s.Ingestion(r.PathValue("customerId"))})
	})
}

type laQueryBody struct {
	Query      *string  `json:"query"`
	Timespan   string   `json:"timespan"`
	Workspaces []string `json:"workspaces"`
}

type laTable struct {
	Name    string       `json:"name"`
	Columns []kql.Column `json:"columns"`
	Rows    [][]any      `json:"rows"`
}

type laResults struct {
	Tables []laTable `json:"tables"`
	Error  *laError  `json:"error,omitempty"`
}

func (s *Sim) laQuery(w http.ResponseWriter, r *http.Request) {
	SetRequestAPI(r, "loganalytics.query")
	c, err := s.RequireToken(r, AudienceLogAnalytics, TokenAny)
	if err != nil {
		laAuthError(w, err)
		return
	}
	customerID := r.PathValue("workspaceId")
	ws, ok := s.WorkspaceByCustomerID(customerID)
	if !ok {
		writeLAError(w, laWorkspaceNotFoundStatus, laError{Code: laWorkspaceNotFoundCode, Message: fmt.Sprintf(laWorkspaceNotFoundMessage, customerID)})
		return
	}
	if !strings.EqualFold(c.TenantID, ws.Tenant.Spec.ID) || !s.allowed(ws.Tenant, c.ObjectID, ws.Spec.ResourceID(), laQueryAction) {
		writeLAError(w, laForbiddenStatus, laError{Code: laForbiddenCode, Message: laForbiddenMessage})
		return
	}
	var body laQueryBody
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body); err != nil {
		writeLAError(w, http.StatusBadRequest, laBadArgument(&laInnerError{Code: "InvalidJson", Message: "The request body is not valid JSON: " + err.Error()}))
		return
	}
	if body.Query == nil || strings.TrimSpace(*body.Query) == "" {
		writeLAError(w, http.StatusBadRequest, laBadArgument(&laInnerError{Code: "MissingQuery", Message: "The 'query' property is required."}))
		return
	}
	if len(body.Workspaces) > 0 {
		// Cross-workspace queries exist in the service; xdrlink never sends them.
		writeLAError(w, http.StatusBadRequest, laBadArgument(&laInnerError{Code: "NotSupported", Message: "Additional workspaces are not supported by this emulator."}))
		return
	}
	now := s.Now()
	window, err := parseTimespan(body.Timespan, now)
	if err != nil {
		writeLAError(w, http.StatusBadRequest, laBadArgument(&laInnerError{Code: "InvalidTimespan", Message: "Invalid timespan '" + body.Timespan + "': " + err.Error()}))
		return
	}
	db := s.laDatabase(ws)
	res, err := kql.Eval(r.Context(), *body.Query, db, kql.Env{Now: now, Timespan: window, MaxRows: laMaxResultRows})
	if err != nil {
		if errors.Is(err, r.Context().Err()) {
			return // client went away
		}
		writeLAError(w, http.StatusBadRequest, laQueryError(err))
		return
	}
	out := laResults{Tables: []laTable{toLATable(res)}}
	if res.Truncated {
		out.Error = &laError{Code: laPartialCode, Message: laPartialMessage,
			Details: []QueryErrorDetail{{Code: laTruncatedDetailCode, Message: laTruncatedDetailMsg}}}
	}
	if pe := s.xdr().partialError(customerID); pe != nil {
		out.Error = injectedPartialError(pe)
	}
	WriteJSON(w, http.StatusOK, out)
}

func toLATable(res *kql.Result) laTable {
	rows := make([][]any, len(res.Rows))
	for i, r := range res.Rows {
		row := make([]any, len(r))
		for j, v := range r {
			row[j] = kql.FormatValue(v)
		}
		rows[i] = row
	}
	return laTable{Name: "PrimaryResult", Columns: res.Columns, Rows: rows}
}

func injectedPartialError(pe *QueryPartialError) *laError {
	e := &laError{Code: pe.Code, Message: pe.Message, Details: pe.Details}
	if e.Code == "" {
		e.Code = laPartialCode
	}
	if e.Message == "" {
		e.Message = laPartialMessage
	}
	if len(e.Details) == 0 {
		e.Details = []QueryErrorDetail{{Code: "EngineError", Message: "Injected by the emulator."}}
	}
	return e
}
