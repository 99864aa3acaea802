package azerr

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Kind is what the workflow needs to know about a failure.
type Kind string

const (
	// Unknown: not recognised; treat as a permanent failure and surface the details.
	Unknown Kind = "Unknown"
	// NotFound: the resource (or its parent) does not exist.
	NotFound Kind = "NotFound"
	// EtagConflict: the resource changed since it was read; re-read and retry.
	EtagConflict Kind = "EtagConflict"
	// Conflict: the request conflicts with the resource's state in a way a retry does not
	// fix (a second Defender XDR connector, a deployment still running...); re-read and
	// decide.
	Conflict Kind = "Conflict"
	// Throttled: 429 that outlived the retry policy; retry after Error.RetryAfter.
	Throttled Kind = "Throttled"
	// Transient: 5xx, timeouts, connection failures; retry with backoff.
	Transient Kind = "Transient"
	// MissingConsent: the service wants a consent or a delegated (portal) sign-in first —
	// "InvalidLicense: Missing consent" (docs/azure.md §2.5, §11.2) or Entra consent errors.
	MissingConsent Kind = "MissingConsent"
	// InvalidLicense: the tenant lacks the licence ("License is invalid", §2.5).
	InvalidLicense Kind = "InvalidLicense"
	// Forbidden: authenticated but not authorised; Error.MissingPermission names the action
	// when ARM says which.
	Forbidden Kind = "Forbidden"
	// UnifiedPortalLockout: the workspace is managed from the Defender portal and the
	// connector cannot be changed through ARM (§2.5, §11.7).
	UnifiedPortalLockout Kind = "UnifiedPortalLockout"
	// InvalidRequest: the request is wrong (400, unsupported api-version or kind, bad query).
	InvalidRequest Kind = "InvalidRequest"
	// Unauthenticated: the credential itself is rejected (bad or expired secret, wrong
	// tenant, wrong audience); an operator has to fix configuration.
	Unauthenticated Kind = "Unauthenticated"
	// InteractionRequired: a user must sign in again (MFA, expired refresh token, device
	// code not completed); the workflow pauses in ACTION_REQUIRED.
	InteractionRequired Kind = "InteractionRequired"
	// Canceled: the caller's context was canceled; not a service failure.
	Canceled Kind = "Canceled"
)

// Retryable reports whether repeating the same call later can succeed without a human.
func (k Kind) Retryable() bool {
	return k == Throttled || k == Transient || k == EtagConflict
}

// Error is a classified failure. It wraps the original error (errors.As still finds
// *azcore.ResponseError or *azidentity.AuthenticationFailedError).
type Error struct {
	Kind Kind
	// Code is the service error code ("AuthorizationFailed", "InvalidLicense", "AADSTS65001"...).
	Code string
	// Message is the service's human-readable message, without the raw response dump.
	Message string
	// StatusCode is the HTTP status, 0 when no response was received.
	StatusCode int
	// RequestID is the service request id (x-ms-request-id, or Entra's trace id), for support.
	RequestID string
	// CorrelationID is ARM's x-ms-correlation-request-id (or Entra's correlation id).
	CorrelationID string
	// MissingPermission is the RBAC action a Forbidden response names, if any.
	MissingPermission string
	// RetryAfter is the server's Retry-After, if any.
	RetryAfter time.Duration
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("azure: ")
	b.WriteString(string(e.Kind))
	if e.StatusCode != 0 || e.Code != "" {
		b.WriteString(" (")
		if e.StatusCode != 0 {
			b.WriteString(strconv.Itoa(e.StatusCode))
			if e.Code != "" {
				b.WriteString(" ")
			}
		}
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	} else if e.Err != nil && e.StatusCode == 0 {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.MissingPermission != "" {
		b.WriteString(" [missing permission ")
		b.WriteString(e.MissingPermission)
		b.WriteString("]")
	}
	if e.RequestID != "" {
		b.WriteString(" [request id ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Classify returns the Kind of err; nil has no kind and returns "".
func Classify(err error) Kind {
	if err == nil {
		return ""
	}
	return From(err).Kind
}

// Is reports whether err classifies as kind.
func Is(err error, kind Kind) bool { return err != nil && Classify(err) == kind }

// Wrap classifies err and returns it as *Error (nil for nil). Clients in azure/... return
// their service failures through Wrap so callers can errors.As(err, **azerr.Error).
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	return From(err)
}

// From classifies err into an *Error. An *Error already in the chain is returned as is.
func From(err error) *Error {
	if err == nil {
		return nil
	}
	var classified *Error
	if errors.As(err, &classified) {
		return classified
	}
	var respErr *azcore.ResponseError
	if errors.As(err, &respErr) {
		return fromResponse(err, respErr.StatusCode, respErr.ErrorCode, respErr.RawResponse)
	}
	var authErr *azidentity.AuthenticationFailedError
	if errors.As(err, &authErr) {
		return fromAuthentication(err, authErr)
	}
	var authRequired *azidentity.AuthenticationRequiredError
	if errors.As(err, &authRequired) {
		return &Error{Kind: InteractionRequired, Err: err}
	}
	return &Error{Kind: classifyTransport(err), Err: err}
}

// FromResponse builds the classified error for a non-success HTTP response; clients call it
// where azcore-generated code would call runtime.NewResponseError.
func FromResponse(resp *http.Response) error {
	return From(runtime.NewResponseError(resp))
}

// Documented symptoms (docs/azure.md §2.5, §10, §11). Matched case-insensitively.
var (
	unifiedPortalMessages = []string{
		"enabled through the microsoft threat protection portal", // §2.5, S15 README
		"onboarded to unified security operations platform",      // §2.5, S15 XDR-DataConnector.md
	}
	missingConsentMessage  = "missing consent"                                              // §2.5: 401 InvalidLicense "Missing consent"
	invalidLicenseMessage  = "license is invalid"                                           // §2.5: New-AzSentinelDataConnector
	excessiveTrafficPhrase = "could not be processed due to an excessive volume of traffic" // §10
	// ARM's AuthorizationFailed message: "... does not have authorization to perform action
	// 'Microsoft.X/y/write' over scope ...".
	missingActionPattern = regexp.MustCompile(`(?i)perform action '([^']+)'`)
)

func fromResponse(err error, status int, code string, resp *http.Response) *Error {
	e := &Error{StatusCode: status, Code: code, Err: err}
	msg := ""
	if resp != nil {
		var bodyCode string
		var inner serviceError
		bodyCode, msg, inner = serviceCodeAndMessage(resp)
		if e.Code == "" {
			e.Code = bodyCode
		}
		// ARM wraps a deployment's real failure in DeploymentFailed + details[0].
		if strings.EqualFold(e.Code, "DeploymentFailed") && inner.Code != "" {
			e.Code, msg = inner.Code, inner.Message
		}
		e.RequestID = firstHeader(resp.Header, "x-ms-request-id", "request-id", "client-request-id")
		e.CorrelationID = resp.Header.Get("x-ms-correlation-request-id")
		e.RetryAfter = RetryAfter(resp.Header)
	}
	e.Message = msg
	e.Kind = classifyResponse(status, e.Code, msg)
	if e.Kind == Forbidden {
		if m := missingActionPattern.FindStringSubmatch(msg); m != nil {
			e.MissingPermission = m[1]
		}
	}
	return e
}

// classifyResponse is the rule table for HTTP failures.
func classifyResponse(status int, code, msg string) Kind {
	lmsg := strings.ToLower(msg)
	lcode := strings.ToLower(code)
	for _, m := range unifiedPortalMessages {
		if strings.Contains(lmsg, m) {
			return UnifiedPortalLockout
		}
	}
	switch {
	case lcode == "invalidlicense" && strings.Contains(lmsg, missingConsentMessage),
		lcode == "missingconsent", lcode == "consentrequired":
		return MissingConsent
	case lcode == "invalidlicense", strings.Contains(lmsg, invalidLicenseMessage):
		return InvalidLicense
	}
	switch status {
	case http.StatusNotFound:
		return NotFound
	case http.StatusPreconditionFailed:
		return EtagConflict
	case http.StatusConflict:
		switch lcode {
		// Another operation holds the resource; ARM documents these as retryable.
		case "anotheroperationinprogress", "retryableerrorduetoanotheroperation":
			return Transient
		// azcore's RP-registration policy gave up; the subscription lacks the provider.
		case "missingsubscriptionregistration", "subscriptionnotregistered":
			return InvalidRequest
		}
		// UNCONFIRMED: docs/azure.md §2.4/§4 leave open whether an etag mismatch is 409 or
		// 412 and with which code. A 409 naming the etag or a precondition is treated as one;
		// any other 409 is a Conflict.
		if strings.Contains(lmsg, "etag") || lcode == "preconditionfailed" || strings.Contains(lcode, "etag") {
			return EtagConflict
		}
		return Conflict
	case http.StatusTooManyRequests:
		// §10: "some RPs use 429 for transient errors, e.g. RetryableErrorDueToAnotherOperation".
		if lcode == "retryableerrorduetoanotheroperation" {
			return Transient
		}
		return Throttled
	case http.StatusServiceUnavailable:
		if strings.Contains(lmsg, excessiveTrafficPhrase) || lcode == "serverbusy" {
			return Throttled
		}
		return Transient
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout:
		return Transient
	case http.StatusForbidden:
		return Forbidden
	case http.StatusUnauthorized:
		return Unauthenticated
	case http.StatusBadRequest, http.StatusMethodNotAllowed, http.StatusUnprocessableEntity,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		return InvalidRequest
	}
	if status < 400 {
		// A failed long-running operation: the terminal poll is a 200 whose body carries the
		// error, so only the code tells what went wrong.
		return classifyOperationCode(lcode)
	}
	return Unknown
}

// classifyOperationCode maps the error code of a failed LRO (a deployment's inner error).
func classifyOperationCode(lcode string) Kind {
	switch {
	case strings.HasSuffix(lcode, "notfound"):
		return NotFound
	case lcode == "authorizationfailed" || lcode == "linkedauthorizationfailed":
		return Forbidden
	case lcode == "conflict" || lcode == "deploymentactive":
		return Conflict
	case lcode == "badrequest" || lcode == "invalidtemplate" || lcode == "invalidrequestcontent" || strings.HasPrefix(lcode, "invalid"):
		return InvalidRequest
	case lcode == "internalservererror" || lcode == "serviceunavailable":
		return Transient
	case lcode == "toomanyrequests" || strings.HasSuffix(lcode, "throttled"):
		return Throttled
	}
	return Unknown
}

// Entra ID (AADSTS) error numbers by kind.
// UNCONFIRMED: this mapping comes from general Entra ID knowledge, not from docs/azure.md.
var aadstsKinds = map[int]Kind{
	65001:   MissingConsent,      // consent not granted for the app in this tenant
	65004:   MissingConsent,      // user declined consent
	650051:  MissingConsent,      // app needs admin consent for a permission
	650052:  MissingConsent,      // app needs access to a service the tenant has not subscribed to
	700016:  MissingConsent,      // app not found in the tenant: never consented there
	90094:   MissingConsent,      // admin consent required
	500011:  MissingConsent,      // resource principal (API) not found in the tenant
	7000215: Unauthenticated,     // invalid client secret
	7000222: Unauthenticated,     // expired client secret
	700027:  Unauthenticated,     // client assertion (certificate) signature invalid
	700024:  Unauthenticated,     // client assertion outside its validity
	700023:  Unauthenticated,     // federated assertion audience invalid
	70021:   Unauthenticated,     // no matching federated identity record
	90002:   Unauthenticated,     // tenant not found
	900023:  Unauthenticated,     // tenant identifier invalid
	50034:   Unauthenticated,     // user account does not exist in the tenant
	50126:   Unauthenticated,     // invalid username or password
	50076:   InteractionRequired, // MFA required
	50079:   InteractionRequired, // MFA registration required
	50158:   InteractionRequired, // external security challenge
	70043:   InteractionRequired, // refresh token expired (conditional access sign-in frequency)
	700082:  InteractionRequired, // refresh token expired due to inactivity
	70016:   InteractionRequired, // device code: authorization pending (surfaced only on timeout)
	70019:   InteractionRequired, // device code expired
	50020:   Forbidden,           // user from another identity provider is not in this tenant
	53003:   Forbidden,           // blocked by Conditional Access
	70011:   InvalidRequest,      // invalid scope
}

// OAuth2 "error" values by kind (RFC 6749 §5.2, RFC 8628 §3.5).
var oauthErrorKinds = map[string]Kind{
	"interaction_required":    InteractionRequired,
	"consent_required":        MissingConsent,
	"login_required":          InteractionRequired,
	"authorization_pending":   InteractionRequired,
	"expired_token":           InteractionRequired,
	"authorization_declined":  InteractionRequired, // the person declined the device-code sign-in
	"access_denied":           Forbidden,
	"invalid_client":          Unauthenticated,
	"unauthorized_client":     Unauthenticated,
	"invalid_grant":           Unauthenticated,
	"invalid_scope":           InvalidRequest,
	"invalid_request":         InvalidRequest,
	"temporarily_unavailable": Transient,
}

// entraError is the body of a failed token request.
type entraError struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ErrorCodes       []int  `json:"error_codes"`
	TraceID          string `json:"trace_id"`
	CorrelationID    string `json:"correlation_id"`
}

var aadstsPattern = regexp.MustCompile(`AADSTS(\d+)`)

func fromAuthentication(err error, authErr *azidentity.AuthenticationFailedError) *Error {
	e := &Error{Err: err}
	resp := authErr.RawResponse
	if resp == nil {
		// No HTTP response: the token request never completed (network, IMDS absent...).
		e.Kind = classifyTransport(err)
		if e.Kind == Unknown {
			e.Kind = classifyTransportMessage(err.Error())
		}
		if e.Kind == Unknown {
			e.Kind = Unauthenticated
		}
		return e
	}
	e.StatusCode = resp.StatusCode
	e.RequestID = resp.Header.Get("x-ms-request-id")
	e.RetryAfter = RetryAfter(resp.Header)
	body, _ := runtime.Payload(resp)
	var ee entraError
	_ = json.Unmarshal(body, &ee)
	e.Message = ee.ErrorDescription
	if ee.TraceID != "" {
		e.RequestID = ee.TraceID
	}
	e.CorrelationID = ee.CorrelationID
	codes := ee.ErrorCodes
	if len(codes) == 0 {
		if m := aadstsPattern.FindStringSubmatch(ee.ErrorDescription); m != nil {
			if n, convErr := strconv.Atoi(m[1]); convErr == nil {
				codes = []int{n}
			}
		}
	}
	e.Code = ee.Error
	for _, c := range codes {
		if k, ok := aadstsKinds[c]; ok {
			e.Code = "AADSTS" + strconv.Itoa(c)
			e.Kind = k
			return e
		}
	}
	if len(codes) > 0 {
		e.Code = "AADSTS" + strconv.Itoa(codes[0])
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Kind = Throttled
	case resp.StatusCode >= 500:
		e.Kind = Transient
	default:
		if k, ok := oauthErrorKinds[ee.Error]; ok {
			e.Kind = k
		} else {
			e.Kind = Unauthenticated
		}
	}
	return e
}

// classifyTransport recognises failures below HTTP.
func classifyTransport(err error) Kind {
	switch {
	case errors.Is(err, context.Canceled):
		return Canceled
	case errors.Is(err, context.DeadlineExceeded):
		// A per-try timeout or the caller's deadline: the service may simply be slow.
		return Transient
	}
	// Certificate problems are configuration, never transient (and never retried).
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var certInvalid x509.CertificateInvalidError
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostnameErr) || errors.As(err, &certInvalid) {
		return Unknown
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return Unknown
		}
		return Transient
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return Transient
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return Transient
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return Transient
	}
	return Unknown
}

// classifyTransportMessage is the fallback for errors that lost their type on the way, as MSAL
// network failures do inside azidentity (only the message survives).
func classifyTransportMessage(msg string) Kind {
	msg = strings.ToLower(msg)
	for _, s := range []string{"connection refused", "connection reset", "i/o timeout", "timeout awaiting", "unexpected eof", ": eof", "tls handshake timeout", "no route to host"} {
		if strings.Contains(msg, s) {
			return Transient
		}
	}
	return Unknown
}

// serviceError is one {"code","message"} object.
type serviceError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// serviceCodeAndMessage reads {"error":{"code","message","details"}} (ARM, Graph, Defender,
// Log Analytics) or an OData {"odata.error":...} body; it also returns the first detail.
func serviceCodeAndMessage(resp *http.Response) (string, string, serviceError) {
	var none serviceError
	body, err := runtime.Payload(resp)
	if err != nil || len(body) == 0 {
		return "", "", none
	}
	var envelope struct {
		Error      json.RawMessage `json:"error"`
		ODataError json.RawMessage `json:"odata.error"`
		Code       string          `json:"code"`
		Message    string          `json:"message"`
	}
	if json.Unmarshal(body, &envelope) != nil {
		return "", "", none
	}
	inner := envelope.Error
	if len(inner) == 0 {
		inner = envelope.ODataError
	}
	if len(inner) == 0 {
		return envelope.Code, envelope.Message, none
	}
	var detail struct {
		Code    string          `json:"code"`
		Message json.RawMessage `json:"message"`
		Details []serviceError  `json:"details"`
	}
	if json.Unmarshal(inner, &detail) != nil {
		return "", "", none
	}
	first := none
	if len(detail.Details) > 0 {
		first = detail.Details[0]
	}
	// OData errors nest the message: {"message":{"lang":"en","value":"..."}}.
	var msg string
	if json.Unmarshal(detail.Message, &msg) != nil {
		var nested struct {
			Value string `json:"value"`
		}
		_ = json.Unmarshal(detail.Message, &nested)
		msg = nested.Value
	}
	return detail.Code, msg, first
}

func firstHeader(h http.Header, names ...string) string {
	for _, n := range names {
		if v := h.Get(n); v != "" {
			return v
		}
	}
	return ""
}

// RetryAfter reads the server's requested delay with azcore's header precedence:
// retry-after-ms, x-ms-retry-after-ms, Retry-After (seconds or HTTP date). 0 means none.
func RetryAfter(h http.Header) time.Duration {
	for _, n := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if v := h.Get(n); v != "" {
			if ms, err := strconv.Atoi(v); err == nil && ms > 0 {
				return time.Duration(ms) * time.Millisecond
			}
		}
	}
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// String names the kind; handy in logs and metrics.
func (k Kind) String() string { return string(k) }

var _ fmt.Stringer = Kind("")
