package apierr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/types/known/durationpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

// Domain is the ErrorInfo domain of every xdrlink error.
const Domain = "xdrlink.io"

// Error is an API error with everything its status needs.
type Error struct {
	Code       codes.Code
	Reason     xdrlinkv1.ErrorReason
	Message    string
	Metadata   map[string]string
	Violations []*errdetails.BadRequest_FieldViolation
	// RetryAfter, when positive, is sent as RetryInfo.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// GRPCStatus makes *Error usable wherever grpc expects a status error.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Message)
	details := []protoadapt.MessageV1{&errdetails.ErrorInfo{
		Reason:   e.Reason.String(),
		Domain:   Domain,
		Metadata: e.Metadata,
	}}
	if len(e.Violations) > 0 {
		details = append(details, &errdetails.BadRequest{FieldViolations: e.Violations})
	}
	if e.RetryAfter > 0 {
		details = append(details, &errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)})
	}
	withDetails, err := st.WithDetails(details...)
	if err != nil { // only if a detail cannot be marshalled, which these always can
		return st
	}
	return withDetails
}

// Violation is one bad field: its path (e.g. "tenant.workspace.name") and why.
func Violation(field, description string) *errdetails.BadRequest_FieldViolation {
	return &errdetails.BadRequest_FieldViolation{Field: field, Description: description}
}

// maxMessageViolations bounds the violations the message spells out: a
// batch can have thousands, all of them in the BadRequest detail, and the
// message travels a second time in a gRPC trailer.
const maxMessageViolations = 10

// InvalidArgument reports bad fields.
func InvalidArgument(violations ...*errdetails.BadRequest_FieldViolation) *Error {
	msgs := make([]string, 0, min(len(violations), maxMessageViolations+1))
	for _, v := range violations[:min(len(violations), maxMessageViolations)] {
		msgs = append(msgs, v.GetField()+": "+v.GetDescription())
	}
	if more := len(violations) - maxMessageViolations; more > 0 {
		msgs = append(msgs, fmt.Sprintf("and %d more (see the BadRequest details)", more))
	}
	return &Error{
		Code:       codes.InvalidArgument,
		Reason:     xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT,
		Message:    "invalid request: " + strings.Join(msgs, "; "),
		Violations: violations,
	}
}

// InvalidFilter reports a filter that does not parse or names an unknown field.
func InvalidFilter(field string, cause error) *Error {
	e := InvalidArgument(Violation(field, cause.Error()))
	e.Reason = xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_FILTER
	return e
}

// Internal is the status of an unexpected fault. It carries no detail of the
// cause, which the server logs with the request id instead.
func Internal() *Error {
	return &Error{Code: codes.Internal, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL, Message: "internal error"}
}

// RequestTooLarge reports a request body over the server's limit.
func RequestTooLarge(limit int64) *Error {
	return &Error{
		Code:     codes.ResourceExhausted,
		Reason:   xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_TOO_LARGE,
		Message:  fmt.Sprintf("request body exceeds the limit of %d bytes", limit),
		Metadata: map[string]string{"limit_bytes": fmt.Sprint(limit)},
	}
}

// resourceError ties a store error to the resource it was about, so Status
// can name the resource in the message and pick the reason.
type resourceError struct {
	name string
	err  error
}

func (e *resourceError) Error() string { return e.name + ": " + e.err.Error() }
func (e *resourceError) Unwrap() error { return e.err }

// ForResource wraps a store error with the name of the resource concerned,
// e.g. ForResource(err, "tenants/contoso"). A nil err stays nil.
func ForResource(err error, name string) error {
	if err == nil {
		return nil
	}
	return &resourceError{name: name, err: err}
}

// Status turns any error a handler returns into the status sent to the
// client. Unknown errors become INTERNAL without their text, which may hold
// details not meant for callers; the caller logs the original.
func Status(err error) *status.Status {
	if err == nil {
		return nil
	}
	var apiErr *Error
	if errors.As(err, &apiErr) {
		return apiErr.GRPCStatus()
	}
	if st, ok := status.FromError(err); ok {
		return withErrorInfo(st)
	}
	return fromSentinel(err).GRPCStatus()
}

// withErrorInfo returns st, with an ErrorInfo chosen by its code when it has
// none: status errors made outside this package (the gRPC runtime's, a
// generated Unimplemented stub's) must carry a reason too.
func withErrorInfo(st *status.Status) *status.Status {
	if st.Code() == codes.OK {
		return st
	}
	for _, d := range st.Details() {
		if _, ok := d.(*errdetails.ErrorInfo); ok {
			return st
		}
	}
	e := &Error{Code: st.Code(), Reason: ReasonForCode(st.Code()), Message: st.Message()}
	if st.Code() == codes.Unknown { // Unknown says nothing a caller can act on
		e = Internal()
	}
	with, err := st.WithDetails(&errdetails.ErrorInfo{Reason: e.Reason.String(), Domain: Domain})
	if err != nil || st.Code() == codes.Unknown {
		return e.GRPCStatus()
	}
	return with
}

// ReasonForCode is the reason of an error known only by its code.
func ReasonForCode(c codes.Code) xdrlinkv1.ErrorReason {
	switch c {
	case codes.Canceled:
		return xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_CANCELLED
	case codes.DeadlineExceeded:
		return xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED
	case codes.Unimplemented:
		return xdrlinkv1.ErrorReason_ERROR_REASON_NOT_IMPLEMENTED
	case codes.InvalidArgument:
		return xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_ARGUMENT
	case codes.ResourceExhausted: // the transport's message size limit
		return xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_TOO_LARGE
	}
	return xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL
}

// Cancelled is the status of a request its caller cancelled.
func Cancelled() *Error {
	return &Error{Code: codes.Canceled, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_CANCELLED, Message: "request cancelled"}
}

// DeadlineExceeded is the status of a request that ran out of time.
func DeadlineExceeded() *Error {
	return &Error{Code: codes.DeadlineExceeded, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_DEADLINE_EXCEEDED, Message: "deadline exceeded"}
}

// UnknownMethod is the status of a call to a service or method this server
// does not have.
func UnknownMethod(method string) *Error {
	return &Error{Code: codes.Unimplemented, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_UNKNOWN_METHOD,
		Message: "unknown service or method " + method, Metadata: map[string]string{"method": method}}
}

// Unauthenticated is the status of a call without acceptable credentials.
// why says what was wrong and must never carry the credential.
func Unauthenticated(why string) *Error {
	return &Error{Code: codes.Unauthenticated, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_UNAUTHENTICATED,
		Message: "unauthenticated: " + why}
}

// PermissionDenied is the status of a call the caller's role does not
// allow; required is the role it needs (e.g. "ROLE_OPERATOR").
func PermissionDenied(method, required string) *Error {
	return &Error{Code: codes.PermissionDenied, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_DENIED,
		Message:  fmt.Sprintf("permission denied: %s needs %s", method, required),
		Metadata: map[string]string{"method": method, "required_role": required}}
}

// RateLimited is the status of a call over the caller's rate; the client
// may retry after retryAfter (RetryInfo; REST: Retry-After).
func RateLimited(retryAfter time.Duration) *Error {
	return &Error{Code: codes.ResourceExhausted, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_RATE_LIMITED,
		Message:    fmt.Sprintf("rate limit exceeded: retry after %s", retryAfter.Round(time.Millisecond)),
		RetryAfter: retryAfter}
}

func fromSentinel(err error) *Error {
	name := ""
	var re *resourceError
	if errors.As(err, &re) {
		name = re.name
	}
	meta := map[string]string{}
	if name != "" {
		meta["resource"] = name
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Code: codes.NotFound, Reason: notFoundReason(name), Message: name + " not found", Metadata: meta}
	case errors.Is(err, store.ErrAlreadyExists):
		return &Error{Code: codes.AlreadyExists, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_ALREADY_EXISTS,
			Message: name + " already exists", Metadata: meta}
	case errors.Is(err, store.ErrEtagMismatch):
		return &Error{Code: codes.Aborted, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_ETAG_MISMATCH,
			Message: name + " was changed by someone else (etag mismatch): read it again and retry", Metadata: meta}
	case errors.Is(err, store.ErrInvalidPageToken):
		e := InvalidArgument(Violation("page_token", "malformed, or issued for a different query"))
		e.Reason = xdrlinkv1.ErrorReason_ERROR_REASON_INVALID_PAGE_TOKEN
		return e
	case errors.Is(err, context.Canceled):
		return Cancelled()
	case errors.Is(err, context.DeadlineExceeded):
		return DeadlineExceeded()
	}
	return Internal()
}

func notFoundReason(name string) xdrlinkv1.ErrorReason {
	if strings.HasPrefix(name, "operations/") {
		return xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_FOUND
	}
	if strings.HasPrefix(name, "apiKeys/") {
		return xdrlinkv1.ErrorReason_ERROR_REASON_API_KEY_NOT_FOUND
	}
	if strings.Contains(name, "/verifications/") {
		return xdrlinkv1.ErrorReason_ERROR_REASON_VERIFICATION_NOT_FOUND
	}
	return xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND
}
