package azuresim

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// laErrorBody is the Log Analytics error envelope. It differs from ARM's
// CloudError: an innererror chain (lower-case "innererror") and a
// correlationId (azquery.ErrorInfo keeps the raw JSON; azcore reads
// error.code into ResponseError.ErrorCode).
type laErrorBody struct {
	Error laError `json:"error"`
}

type laError struct {
	Code          string             `json:"code"`
	Message       string             `json:"message"`
	CorrelationID string             `json:"correlationId,omitempty"`
	Details       []QueryErrorDetail `json:"details,omitempty"`
	InnerError    *laInnerError      `json:"innererror,omitempty"`
}

type laInnerError struct {
	Code       string        `json:"code"`
	Message    string        `json:"message"`
	Line       int           `json:"line,omitempty"`
	Pos        int           `json:"pos,omitempty"`
	Token      string        `json:"token,omitempty"`
	InnerError *laInnerError `json:"innererror,omitempty"`
}

// writeLAError answers status with the envelope; correlationId is the one
// the middleware put on the response.
func writeLAError(w http.ResponseWriter, status int, e laError) {
	e.CorrelationID = w.Header().Get("x-ms-correlation-request-id")
	WriteJSON(w, status, laErrorBody{Error: e})
}

// laBadArgument is the 400 for a request the service refuses to run.
func laBadArgument(inner *laInnerError) laError {
	return laError{Code: laBadArgumentCode, Message: laBadArgumentMessage, InnerError: inner}
}

// laQueryError maps a kql parse or bind error to the service's shape.
func laQueryError(err error) laError {
	var syn *kql.SyntaxError
	if errors.As(err, &syn) {
		return laBadArgument(&laInnerError{Code: laSyntaxInnerCode, Message: laSyntaxInnerMessage,
			InnerError: &laInnerError{Code: laSyntaxDetailCode,
				Message: fmt.Sprintf("Query could not be parsed at '%s' on line [%d,%d]: %s", syn.Token, syn.Pos.Line, syn.Pos.Col-1, syn.Msg),
				Line:    syn.Pos.Line, Pos: syn.Pos.Col - 1, Token: syn.Token}})
	}
	var sem *kql.SemanticError
	if errors.As(err, &sem) {
		return laBadArgument(&laInnerError{Code: laSemanticInnerCode, Message: laSemanticInnerMsg,
			InnerError: &laInnerError{Code: laSemanticDetailCode, Message: sem.Msg}})
	}
	return laBadArgument(&laInnerError{Code: "QueryError", Message: err.Error()})
}

// laAuthError rewrites the core's token failure into the LA envelope,
// keeping its status, code, message and WWW-Authenticate challenge.
func laAuthError(w http.ResponseWriter, err error) {
	var ae *APIError
	if !errors.As(err, &ae) {
		WriteAPIError(w, err)
		return
	}
	for k, vs := range ae.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	writeLAError(w, ae.Status, laError{Code: ae.Code, Message: ae.Message})
}
