package engine

import (
	"context"
	"errors"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"google.golang.org/grpc/codes"

	"github.com/xdrlink/xdrlink/azure/azerr"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/oprecord"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// Cancel asks the operation to stop at its next step boundary and wakes its
// job, so one waiting for a sign-in or a retry stops now. Cancelling a
// finished operation changes nothing.
func (e *Engine) Cancel(ctx context.Context, id string) (*oprecord.Record, error) {
	for attempt := 0; ; attempt++ {
		rec, err := e.get(ctx, id)
		if err != nil || rec.Op.GetDone() || rec.Metadata.GetCancelRequested() {
			return rec, err
		}
		rec.Metadata.CancelRequested = true
		if err := rec.Encode(); err != nil {
			return nil, err
		}
		row, err := e.st.UpdateOperation(ctx, rec.Row)
		if errors.Is(err, store.ErrEtagMismatch) && attempt < 5 {
			continue // the job wrote a step meanwhile: read it again
		}
		if err != nil {
			return nil, apierr.ForResource(err, oprecord.NamePrefix+id)
		}
		rec.Row = row
		e.wake(ctx, rec)
		e.log.InfoContext(ctx, "operation cancel requested", "operation", rec.Op.GetName())
		return rec, nil
	}
}

// Resume continues an operation waiting for a human step. With a user
// assertion (a token of the signed-in user for the xdrlink app), it is
// exchanged on-behalf-of, within this call, for tokens to every audience the
// operation needs; the assertion itself is never stored.
func (e *Engine) Resume(ctx context.Context, id, userAssertion string) (*oprecord.Record, error) {
	rec, err := e.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if rec.Op.GetDone() || rec.Metadata.GetState() != xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED {
		return nil, &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_RESUMABLE,
			Message:  rec.Op.GetName() + " is " + strings.TrimPrefix(rec.Metadata.GetState().String(), "OPERATION_STATE_") + ", not waiting for a human step",
			Metadata: map[string]string{"resource": rec.Op.GetName()}}
	}
	if userAssertion != "" {
		if err := e.exchange(ctx, rec, userAssertion); err != nil {
			return nil, err
		}
	}
	e.wake(ctx, rec)
	return rec, nil
}

// exchange trades the caller's user token for tokens to ARM and the
// streaming API and keeps them (sealed) for the operation's job.
func (e *Engine) exchange(ctx context.Context, rec *oprecord.Record, assertion string) error {
	trow, err := e.st.GetTenant(ctx, strings.TrimPrefix(rec.Metadata.GetTenant(), tenantrecord.NamePrefix))
	if err != nil {
		return apierr.ForResource(err, rec.Metadata.GetTenant())
	}
	tenant, err := tenantrecord.Decode(trow)
	if err != nil {
		return err
	}
	t := e.target(tenant)
	refused := func(err error) error {
		e := apierr.InvalidArgument(apierr.Violation("user_assertion",
			"could not be exchanged on behalf of the user ("+string(azerr.Classify(err))+"): it must be a current token of "+signInWho(tenant)+" for this server's app"))
		return e
	}
	cred, err := e.cfg.SignIn.OnBehalfOf(t.Profile, t.EntraTenantID, assertion)
	if err != nil {
		return refused(err)
	}
	ep := e.cfg.Access.Endpoints
	tokens := map[string]azcore.AccessToken{}
	for _, scope := range []string{ep.ResourceManager.Scope(), ep.DefenderStreaming.Scope()} {
		tk, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return refused(err)
		}
		tokens[scope] = tk
	}
	return e.saveSecret(ctx, rec.Row.ID, &signInSecret{Tokens: tokens})
}

// wake makes the operation's job run now instead of at its snooze's end.
// Failing to is harmless: the job runs at its scheduled time anyway.
func (e *Engine) wake(ctx context.Context, rec *oprecord.Record) {
	if rec.Row.JobID == 0 {
		return
	}
	if err := e.jobs.Retry(ctx, rec.Row.JobID); err != nil {
		e.log.DebugContext(ctx, "could not wake the operation's job", "operation", rec.Op.GetName(), "error", err)
	}
}

func (e *Engine) get(ctx context.Context, id string) (*oprecord.Record, error) {
	row, err := e.st.GetOperation(ctx, id)
	if err != nil {
		return nil, apierr.ForResource(err, oprecord.NamePrefix+id)
	}
	return oprecord.Decode(row)
}

// Get returns an operation as stored.
func (e *Engine) Get(ctx context.Context, id string) (*longrunningpb.Operation, error) {
	rec, err := e.get(ctx, id)
	if err != nil {
		return nil, err
	}
	return rec.Op, nil
}
