package azuresim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

// APIError is an error answered the way Azure answers it: an HTTP status and the
// common CloudError body {"error":{"code","message"}}. Handlers return it; the
// caller writes it with Write.
type APIError struct {
	Status  int
	Code    string
	Message string
	// Header holds extra response headers (Retry-After, WWW-Authenticate).
	Header http.Header
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// Write answers the request with the error.
func (e *APIError) Write(w http.ResponseWriter) {
	for k, vs := range e.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	WriteJSON(w, e.Status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message}})
}

// ErrorBody is Azure's CloudError shape.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inner object of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// NewAPIError builds an APIError with a formatted message.
func NewAPIError(status int, code, format string, args ...any) *APIError {
	return &APIError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WriteError writes an Azure error body with the given status and code.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	(&APIError{Status: status, Code: code, Message: message}).Write(w)
}

// WriteAPIError writes err when it is an *APIError and a 500 otherwise.
func WriteAPIError(w http.ResponseWriter, err error) {
	if ae, ok := err.(*APIError); ok {
		ae.Write(w)
		return
	}
	WriteError(w, http.StatusInternalServerError, "InternalServerError", err.Error())
}

// WriteJSON writes v as JSON with the status code.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"InternalServerError","message":"marshal failure"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// errNotFound is ARM's answer for a missing child resource.
func errNotFound(kind, name string) *APIError {
	return NewAPIError(http.StatusNotFound, "NotFound", "%s '%s' was not found.", kind, name)
}

func errBadRequest(format string, args ...any) *APIError {
	return NewAPIError(http.StatusBadRequest, "BadRequest", format, args...)
}
