package azerr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func response(status int, body string, headers ...string) *http.Response {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	u, _ := url.Parse("https://management.azure.com/subscriptions/s/x?api-version=2025-12-01")
	return &http.Response{
		StatusCode: status,
		Status:     fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Header:     h,
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    &http.Request{Method: http.MethodPut, URL: u},
	}
}

func armError(status int, code, msg string, headers ...string) error {
	body := fmt.Sprintf(`{"error":{"code":%q,"message":%q}}`, code, msg)
	return runtime.NewResponseError(response(status, body, headers...))
}

func TestClassifyARM(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"not found", armError(404, "ResourceNotFound", "The Resource 'x' was not found."), NotFound},
		{"workspace not found", armError(404, "WorkspaceNotFound", "nope"), NotFound},
		{"etag 412", armError(412, "PreconditionFailed", "etag mismatch"), EtagConflict},
		{"etag 409", armError(409, "Conflict", "The etag provided does not match"), EtagConflict},
		{"etag 409 code", armError(409, "PreconditionFailed", "stale"), EtagConflict},
		{"duplicate connector 409", armError(409, "Conflict", "A data connector of kind 'MicrosoftThreatProtection' already exists in this workspace ('x')."), Conflict},
		{"deployment active 409", armError(409, "DeploymentActive", "previous deployment is still active"), Conflict},
		{"409 another operation", armError(409, "AnotherOperationInProgress", "busy"), Transient},
		{"409 rp not registered", armError(409, "MissingSubscriptionRegistration", "The subscription is not registered to use namespace 'Microsoft.SecurityInsights'."), InvalidRequest},
		{"throttled", armError(429, "TooManyRequests", "slow down", "Retry-After", "7"), Throttled},
		{"429 retryable op", armError(429, "RetryableErrorDueToAnotherOperation", "retry"), Transient},
		{"503 traffic", armError(503, "ServiceUnavailable", "The request for subscription 's' could not be processed due to an excessive volume of traffic."), Throttled},
		{"503", armError(503, "ServiceUnavailable", "later"), Transient},
		{"500", armError(500, "InternalServerError", "oops"), Transient},
		{"502 no body", runtime.NewResponseError(response(502, "")), Transient},
		{"504", armError(504, "GatewayTimeout", "slow"), Transient},
		{"408", armError(408, "RequestTimeout", "slow"), Transient},
		// docs/azure.md §2.5 / §11.2.
		{"missing consent", armError(401, "InvalidLicense", "Missing consent"), MissingConsent},
		{"license invalid", armError(400, "BadRequest", "License is invalid"), InvalidLicense},
		{"invalid license code", armError(401, "InvalidLicense", "The tenant has no valid license"), InvalidLicense},
		// docs/azure.md §2.5 / §11.7.
		{"unified portal", armError(400, "BadRequest", "The workspace is enabled through the Microsoft Threat Protection Portal. Changes to the connector in Microsoft Sentinel are disabled."), UnifiedPortalLockout},
		{"unified portal 403", armError(403, "Forbidden", "One or more of your workspaces are onboarded to Unified Security Operations Platform. Incidents and alerts configuration is disabled."), UnifiedPortalLockout},
		{"forbidden", armError(403, "AuthorizationFailed", "The client 'c' with object id 'o' does not have authorization to perform action 'Microsoft.SecurityInsights/dataConnectors/write' over scope '/subscriptions/s' or the scope is invalid."), Forbidden},
		{"linked forbidden", armError(403, "LinkedAuthorizationFailed", "no"), Forbidden},
		// docs/azure.md §2.2: old api-version rejects the kind.
		{"kind unsupported", armError(400, "BadRequest", "Connector kind 'MicrosoftThreatProtection' is not supported in api-version: '2020-01-01'"), InvalidRequest},
		{"wrong audience", armError(401, "InvalidAuthenticationToken", "The access token is invalid."), Unauthenticated},
		{"graph odata", runtime.NewResponseError(response(403, `{"odata.error":{"code":"Authorization_RequestDenied","message":{"lang":"en","value":"Insufficient privileges"}}}`)), Forbidden},
		{"x-ms-error-code header", runtime.NewResponseError(response(404, "", "x-ms-error-code", "ResourceNotFound")), NotFound},
		{"wrapped", fmt.Errorf("put connector: %w", armError(404, "NotFound", "x")), NotFound},
		{"501", armError(501, "NotImplemented", "x"), Unknown},
		// Failed LROs end with a 200 poll whose body holds the error.
		{"lro not found", armError(200, "ResourceNotFound", "gone"), NotFound},
		{"lro forbidden", armError(200, "AuthorizationFailed", "no"), Forbidden},
		{"lro invalid template", armError(200, "InvalidTemplate", "bad"), InvalidRequest},
		{"lro deployment failed", armError(200, "DeploymentFailed", "At least one resource deployment operation failed."), Unknown},
		{"deployment failed with details", runtime.NewResponseError(response(200,
			`{"status":"Failed","error":{"code":"DeploymentFailed","message":"At least one resource deployment operation failed.","details":[{"code":"AuthorizationFailed","message":"does not have authorization to perform action 'Microsoft.SecurityInsights/contentPackages/write' over scope"}]}}`)), Forbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Fatalf("Classify = %s, want %s (%v)", got, tc.want, tc.err)
			}
		})
	}
}

func TestErrorDetails(t *testing.T) {
	err := armError(403, "AuthorizationFailed",
		"The client 'c' with object id 'o' does not have authorization to perform action 'Microsoft.SecurityInsights/dataConnectors/write' over scope '/x'.",
		"x-ms-request-id", "req-1", "x-ms-correlation-request-id", "corr-1")
	e := From(err)
	if e.Kind != Forbidden || e.Code != "AuthorizationFailed" || e.StatusCode != 403 || e.RequestID != "req-1" || e.CorrelationID != "corr-1" {
		t.Fatalf("%+v", e)
	}
	if e.MissingPermission != "Microsoft.SecurityInsights/dataConnectors/write" {
		t.Fatalf("missing permission %q", e.MissingPermission)
	}
	if !strings.Contains(e.Error(), "Forbidden (403 AuthorizationFailed)") || !strings.Contains(e.Error(), "req-1") {
		t.Fatal(e.Error())
	}
	var re *azcore.ResponseError
	if !errors.As(e, &re) || re.StatusCode != 403 {
		t.Fatal("ResponseError not reachable through Unwrap")
	}
	// From on an already classified error keeps it.
	if From(fmt.Errorf("ctx: %w", e)) != e {
		t.Fatal("reclassified")
	}

	dep := From(runtime.NewResponseError(response(200,
		`{"status":"Failed","error":{"code":"DeploymentFailed","message":"outer","details":[{"code":"AuthorizationFailed","message":"does not have authorization to perform action 'Microsoft.Resources/deployments/write' over scope '/x'"}]}}`)))
	if dep.Code != "AuthorizationFailed" || dep.MissingPermission != "Microsoft.Resources/deployments/write" || dep.Kind != Forbidden {
		t.Fatalf("%+v", dep)
	}

	throttled := From(armError(429, "TooManyRequests", "x", "Retry-After", "12"))
	if throttled.RetryAfter != 12*time.Second || !throttled.Kind.Retryable() {
		t.Fatalf("%+v", throttled)
	}
	ms := From(armError(429, "TooManyRequests", "x", "retry-after-ms", "1500", "Retry-After", "9"))
	if ms.RetryAfter != 1500*time.Millisecond {
		t.Fatal(ms.RetryAfter)
	}
}

func entraFailure(status int, body string) error {
	resp := response(status, body)
	resp.Request.URL, _ = url.Parse("https://login.microsoftonline.com/t/oauth2/v2.0/token")
	return &azidentity.AuthenticationFailedError{RawResponse: resp}
}

func TestClassifyEntra(t *testing.T) {
	for _, tc := range []struct {
		name     string
		err      error
		want     Kind
		wantCode string
	}{
		{"consent", entraFailure(400, `{"error":"invalid_grant","error_description":"AADSTS65001: The user or administrator has not consented","error_codes":[65001]}`), MissingConsent, "AADSTS65001"},
		{"app not in tenant", entraFailure(400, `{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'x' was not found in the directory 'y'.","error_codes":[700016]}`), MissingConsent, "AADSTS700016"},
		{"bad secret", entraFailure(401, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215],"trace_id":"trace-1"}`), Unauthenticated, "AADSTS7000215"},
		{"code only in text", entraFailure(400, `{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found."}`), Unauthenticated, "AADSTS90002"},
		{"mfa", entraFailure(400, `{"error":"interaction_required","error_description":"AADSTS50076: MFA","error_codes":[50076]}`), InteractionRequired, "AADSTS50076"},
		{"unknown aadsts, oauth error", entraFailure(400, `{"error":"interaction_required","error_description":"AADSTS1: x","error_codes":[1]}`), InteractionRequired, "AADSTS1"},
		{"entra 503", entraFailure(503, `{"error":"temporarily_unavailable"}`), Transient, "temporarily_unavailable"},
		{"entra 429", entraFailure(429, `{"error":"too_many"}`), Throttled, "too_many"},
		{"wrapped by bearer policy", fmt.Errorf("x: %w", entraFailure(401, `{"error":"invalid_client","error_codes":[7000222]}`)), Unauthenticated, "AADSTS7000222"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := From(tc.err)
			if e.Kind != tc.want || e.Code != tc.wantCode {
				t.Fatalf("got %s %s, want %s %s", e.Kind, e.Code, tc.want, tc.wantCode)
			}
		})
	}
	if e := From(entraFailure(401, `{"error":"invalid_client","error_description":"AADSTS7000215: bad","error_codes":[7000215],"trace_id":"trace-1","correlation_id":"c-1"}`)); e.RequestID != "trace-1" || e.CorrelationID != "c-1" || e.Message != "AADSTS7000215: bad" {
		t.Fatalf("%+v", e)
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassifyTransport(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"refused", &url.Error{Op: "Get", URL: "https://x", Err: &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}}, Transient},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), Transient},
		{"eof", &url.Error{Op: "Get", URL: "https://x", Err: io.EOF}, Transient},
		{"timeout", &url.Error{Op: "Get", URL: "https://x", Err: timeoutErr{}}, Transient},
		{"deadline", context.DeadlineExceeded, Transient},
		{"canceled", fmt.Errorf("x: %w", context.Canceled), Canceled},
		{"dns not found", &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, Unknown},
		{"dns temporary", &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, Transient},
		{"plain", errors.New("boom"), Unknown},
		{"auth no response, network", &azidentity.AuthenticationFailedError{}, Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Classify(tc.err); got != tc.want {
				t.Fatalf("Classify = %s, want %s", got, tc.want)
			}
		})
	}
	if Classify(nil) != "" || Wrap(nil) != nil || From(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	if !Is(armError(404, "NotFound", ""), NotFound) || Is(nil, NotFound) {
		t.Fatal("Is")
	}
}
