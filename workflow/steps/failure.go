package steps

import (
	"errors"
	"strconv"

	"github.com/xdrlink/xdrlink/azure/azerr"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

const (
	rbacRemedy    = "grant the app's service principal Microsoft Sentinel Contributor on the workspace's resource group"
	licenceRemedy = "assign the tenant a licence that includes Microsoft Defender XDR (for example Microsoft 365 E5)"
	lockoutRemedy = "the workspace is managed from the Microsoft Defender (unified) portal: configure the Defender XDR connector there, " +
		"or take the workspace out of the unified portal, then run the operation again"
)

// asFailure returns err as a *Failure, classifying anything else as an
// Azure failure.
func asFailure(err error) *Failure {
	var f *Failure
	if errors.As(err, &f) {
		return f
	}
	return azureFailure("", err)
}

// azureFailure turns an error of an Azure call into a Failure. Transient
// follows azerr's Retryable: throttling, 5xx, timeouts and etag races.
func azureFailure(call string, err error) *Failure {
	var already *Failure
	if errors.As(err, &already) {
		return already
	}
	e := azerr.From(err)
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if call != "" {
		msg = call + ": " + msg
	}
	f := &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_ERROR, Message: msg, AzureCode: e.Code,
		AzureStatus: e.StatusCode, Transient: e.Kind.Retryable(), RetryAfter: e.RetryAfter}
	switch e.Kind {
	case azerr.Throttled:
		f.Reason, f.Remedy = xdrlinkv1.ErrorReason_ERROR_REASON_AZURE_THROTTLED, "none: the step is retried after Azure's Retry-After"
	case azerr.Transient:
		f.Remedy = "none: the step is retried with backoff"
	case azerr.EtagConflict:
		f.Remedy = "none: the resource changed while xdrlink wrote it; the retry reads it again"
	case azerr.Forbidden:
		f.Reason, f.Permission, f.Remedy = xdrlinkv1.ErrorReason_ERROR_REASON_PERMISSION_MISSING, e.MissingPermission, rbacRemedy
	case azerr.InvalidLicense:
		f.Reason, f.Remedy = xdrlinkv1.ErrorReason_ERROR_REASON_LICENSE_MISSING, licenceRemedy
	case azerr.UnifiedPortalLockout:
		f.Reason, f.Remedy = xdrlinkv1.ErrorReason_ERROR_REASON_UNIFIED_PORTAL_LOCKOUT, lockoutRemedy
	case azerr.MissingConsent, azerr.InteractionRequired:
		f.Reason, f.Remedy = xdrlinkv1.ErrorReason_ERROR_REASON_ACTION_REQUIRED, "a Security Administrator who is a member of the customer tenant must sign in"
	case azerr.Unauthenticated:
		f.Remedy = "fix the tenant's credential profile and make sure its app is consented in the customer tenant"
	case azerr.Canceled:
		// The engine stopped the step; it did not fail on its own.
		f.Reason, f.Transient, f.Remedy = xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL, true, "none: the step was cancelled and runs again when resumed"
	default:
		f.Remedy = "read the Azure error, fix its cause, then run the operation again"
	}
	return f
}

// signInRequired pauses a step until a member Security Administrator of the
// customer tenant signs in with the delegated flow for scopes.
func signInRequired(t Target, why string, scopes ...string) *Failure {
	return &Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_ACTION_REQUIRED, Message: why,
		Remedy:         "a Security Administrator (or Global Administrator) who is a member of tenant " + t.EntraTenantID + " must complete the delegated sign-in",
		SignInRequired: true, SignInAudiences: scopes}
}

func quote(s string) string { return strconv.Quote(s) }
