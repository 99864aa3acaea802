package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/credential"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/steps"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
)

// signInSecret is what the delegated sign-in keeps between job runs,
// sealed in the operation's secret row (never in job arguments, the
// operation or logs) and deleted when the operation ends. Exactly one of a
// pending device code, a refresh token or on-behalf-of tokens is set.
type signInSecret struct {
	DeviceCode string        `json:"device_code,omitempty"`
	Interval   time.Duration `json:"interval,omitempty"`
	ExpiresAt  time.Time     `json:"expires_at,omitzero"`
	// Scope is what the pending device code was asked for.
	Scope string `json:"scope,omitempty"`
	// RefreshToken serves every audience (Entra refresh tokens are
	// multi-resource): one sign-in for ARM and the streaming API.
	RefreshToken string `json:"refresh_token,omitempty"`
	// Tokens are access tokens by scope, from a :resume on-behalf-of
	// exchange; they are not refreshable.
	Tokens map[string]azcore.AccessToken `json:"tokens,omitempty"`
	// User is who signed in, for the step's message.
	User string `json:"user,omitempty"`
}

func (e *Engine) loadSecret(ctx context.Context, opID string) (*signInSecret, error) {
	sealed, err := e.st.GetOperationSecret(ctx, opID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	plain, err := e.cfg.Box.Open(sealed, []byte(opID))
	if err != nil {
		// A changed key cannot read it: as good as no sign-in yet.
		e.log.WarnContext(ctx, "sign-in secret unreadable (was the secret key changed?); a new sign-in will be asked for", "operation", opID)
		return nil, nil
	}
	var s signInSecret
	if err := json.Unmarshal(plain, &s); err != nil {
		return nil, nil
	}
	return &s, nil
}

func (e *Engine) saveSecret(ctx context.Context, opID string, s *signInSecret) error {
	plain, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return e.st.PutOperationSecret(ctx, opID, e.cfg.Box.Seal(plain, []byte(opID)))
}

// delegated returns the customer user's credential when the sign-in has
// completed, nil when there has been none, or, while a device-code sign-in
// is pending, polls it once and returns the snooze until the next poll.
func (r *run) delegated(ctx context.Context, st *xdrlinkv1.Step) (azcore.TokenCredential, error) {
	id := r.op.Row.ID
	sec, err := r.e.loadSecret(ctx, id)
	if err != nil || sec == nil {
		return nil, err
	}
	switch {
	case sec.RefreshToken != "":
		return r.e.cfg.SignIn.RefreshCredential(r.target.Profile, r.target.EntraTenantID, sec.RefreshToken, func(rotated string) {
			next := *sec
			next.RefreshToken = rotated
			// Detached: the rotation must be kept even if the step's context ends.
			wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := r.e.saveSecret(wctx, id, &next); err != nil {
				r.e.log.WarnContext(ctx, "could not keep the rotated refresh token", "operation", r.op.Op.GetName(), "error", err)
			}
		})
	case len(sec.Tokens) > 0:
		return staticTokens(sec.Tokens), nil
	case sec.DeviceCode == "" || st.GetState() != xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED:
		return nil, nil
	}

	tokens, err := r.e.cfg.SignIn.PollDeviceCode(ctx, r.target.Profile, r.target.EntraTenantID, sec.DeviceCode)
	switch {
	case err == nil:
		next := &signInSecret{RefreshToken: tokens.RefreshToken, User: tokens.UserPrincipalName}
		if err := r.e.saveSecret(ctx, id, next); err != nil {
			return nil, err
		}
		r.e.log.InfoContext(ctx, "delegated sign-in completed", "operation", r.op.Op.GetName(), "user", tokens.UserPrincipalName)
		return r.delegated(ctx, st)
	case errors.Is(err, credential.ErrAuthorizationPending) && time.Now().Before(sec.ExpiresAt):
		return nil, river.JobSnooze(sec.Interval)
	case errors.Is(err, credential.ErrSlowDown):
		sec.Interval += 5 * time.Second
		if err := r.e.saveSecret(ctx, id, sec); err != nil {
			return nil, err
		}
		return nil, river.JobSnooze(sec.Interval)
	case errors.Is(err, credential.ErrBadDeviceCode) && time.Now().Before(sec.ExpiresAt):
		// A live code Entra no longer takes was redeemed already: by a run
		// of this job killed after redeeming it and before keeping its
		// tokens. They are lost; only a new sign-in gets new ones.
		r.e.log.WarnContext(ctx, "the device code was redeemed but its tokens were not kept; asking for a new sign-in", "operation", r.op.Op.GetName())
		return nil, r.requireSignIn(ctx, st, &steps.Failure{SignInAudiences: []string{sec.Scope},
			Message: "go on: the previous sign-in was approved, but xdrlink stopped before it kept the tokens"}, true)
	case errors.Is(err, credential.ErrAuthorizationPending), errors.Is(err, credential.ErrDeviceCodeExpired),
		errors.Is(err, credential.ErrSignInDeclined), errors.Is(err, credential.ErrBadDeviceCode):
		why := "the sign-in code expired before anyone used it"
		if errors.Is(err, credential.ErrSignInDeclined) {
			why = "the sign-in was declined"
		}
		r.failStep(st, &steps.Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_SIGN_IN_FAILED,
			Message: why,
			Remedy:  "start the operation again to get a new code, and have " + signInWho(r.tenant) + " sign in within its lifetime"})
		return nil, r.finishErr(ctx, st)
	case azerr.Classify(err).Retryable():
		return nil, river.JobSnooze(sec.Interval)
	default:
		r.failStep(st, &steps.Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_SIGN_IN_FAILED,
			Message: "the sign-in could not be completed: " + string(azerr.Classify(err)),
			Remedy:  "check that the app allows public client flows and is consented in the customer tenant, then start the operation again"})
		return nil, r.finishErr(ctx, st)
	}
}

// finishErr fails the operation at st and returns what the job returns:
// nil once it is recorded (errFinished keeps the step loop from going on).
func (r *run) finishErr(ctx context.Context, st *xdrlinkv1.Step) error {
	if err := r.finish(ctx, xdrlinkv1.OperationState_OPERATION_STATE_FAILED, st); err != nil {
		return err
	}
	return errFinished
}

// errFinished stops the step loop after the operation was finished; the job
// then completes.
var errFinished = errors.New("operation finished")

// requireSignIn starts a device-code sign-in for the step's audience and
// pauses the operation until it completes. stale: the stored sign-in no
// longer works (refresh token revoked, tokens expired).
func (r *run) requireSignIn(ctx context.Context, st *xdrlinkv1.Step, f *steps.Failure, stale bool) error {
	id := r.op.Row.ID
	if stale {
		if err := r.e.st.DeleteOperationSecret(ctx, id); err != nil {
			return err
		}
	}
	scope := r.e.cfg.Access.Endpoints.ResourceManager.Scope()
	if len(f.SignInAudiences) > 0 && f.SignInAudiences[0] != "" {
		scope = f.SignInAudiences[0]
	}
	grant, err := r.e.cfg.SignIn.StartDeviceCode(ctx, r.target.Profile, r.target.EntraTenantID, []string{scope})
	if err != nil {
		if azerr.Classify(err).Retryable() && int(st.GetAttempts()) < r.e.cfg.MaxAttempts {
			return river.JobSnooze(r.e.backoff(int(st.GetAttempts()), azerr.From(err).RetryAfter))
		}
		r.failStep(st, &steps.Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_SIGN_IN_FAILED,
			Message: "could not start the delegated sign-in: " + string(azerr.Classify(err)),
			Remedy:  "check that the credential profile's app allows public client flows (device code) and is consented in tenant " + r.target.EntraTenantID})
		return r.finishErr(ctx, st)
	}
	if err := r.e.saveSecret(ctx, id, &signInSecret{DeviceCode: grant.DeviceCode, Interval: grant.Interval, ExpiresAt: grant.ExpiresAt, Scope: scope}); err != nil {
		return err
	}
	ep := r.e.cfg.Access.Endpoints
	action := &xdrlinkv1.RequiredAction{
		Who:  signInWho(r.tenant),
		What: fmt.Sprintf("sign in at %s with the code %s (why: %s); one sign-in serves every step of this operation", grant.VerificationURI, grant.UserCode, f.Message),
		How: &xdrlinkv1.RequiredAction_DeviceCode{DeviceCode: &xdrlinkv1.DeviceCodeSignIn{
			VerificationUri: grant.VerificationURI, UserCode: grant.UserCode}},
		ExpireTime:       timestamppb.New(grant.ExpiresAt),
		Role:             tablestate.AdminRole,
		CustomerTenantId: r.target.EntraTenantID,
		Step:             st.GetKind(),
		Audiences:        []string{ep.ResourceManager.Audience, ep.DefenderStreaming.Audience},
	}
	st.State = xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED
	st.RequiredAction = action
	st.Message = "waiting for the delegated sign-in: " + f.Message
	r.op.Metadata.State = xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED
	r.tenant.State = xdrlinkv1.Tenant_STATE_ACTION_REQUIRED
	r.tenant.Status.RequiredAction = action
	if err := r.save(ctx, true, false); err != nil {
		return err
	}
	r.e.log.InfoContext(ctx, "delegated sign-in required", "operation", r.op.Op.GetName(), "tenant", r.op.Metadata.GetTenant(),
		"step", st.GetKind().String(), "verification_uri", grant.VerificationURI, "expires_at", grant.ExpiresAt)
	return river.JobSnooze(grant.Interval)
}

func signInWho(t *xdrlinkv1.Tenant) string { return tablestate.AdminWho(t.GetEntraTenantId()) }

// staticTokens is a credential over on-behalf-of access tokens by scope.
type staticTokens map[string]azcore.AccessToken

func (s staticTokens) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	for _, scope := range opts.Scopes {
		if tk, ok := s[scope]; ok && time.Until(tk.ExpiresOn) > time.Minute {
			return tk, nil
		}
	}
	return azcore.AccessToken{}, credential.ErrSignInRequired
}
