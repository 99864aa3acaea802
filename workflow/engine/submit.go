package engine

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/riverqueue/river"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/oprecord"
	"github.com/xdrlink/xdrlink/workflow/steps"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
)

// Request asks for an operation on one tenant.
type Request struct {
	Kind xdrlinkv1.OperationKind
	// Tenant is the tenant's resource name, "tenants/{id}".
	Tenant string
	// Method and Caller scope RequestID (AIP-155): the same id from the same
	// caller on the same method names the same operation.
	Method, Caller, RequestID string
	// Fingerprint identifies the request's content (without its request
	// id): a replayed id with another fingerprint is refused.
	Fingerprint []byte
	// ValidateOnly plans instead of running (AIP-163).
	ValidateOnly bool
	// WindowDays is a VERIFY's days of daily counts; 0 means 14.
	WindowDays int
	// Tables, for UPDATE_TABLE_SETTINGS, are the new desired tables. They
	// are written to the tenant's spec (connector.tables) in the
	// transaction that starts the operation, if the tenant's etag is Etag
	// (empty: whatever it is), so the change and its operation are stored
	// together or not at all.
	Tables []string
	Etag   string
}

// stepsOf lists the steps of each kind of operation, in order.
func stepsOf(kind xdrlinkv1.OperationKind) []xdrlinkv1.StepKind {
	switch kind {
	case xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD:
		return steps.OnboardSteps
	case xdrlinkv1.OperationKind_OPERATION_KIND_OFFBOARD:
		return steps.OffboardSteps
	case xdrlinkv1.OperationKind_OPERATION_KIND_UPDATE_TABLE_SETTINGS:
		return steps.TableSettingsSteps
	case xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY:
		return steps.VerifySteps
	}
	return nil
}

// runningState is the tenant's state while an operation of kind runs:
// onboarding and offboarding say so; a table change or a verification
// leaves the state it had (prior, an enum name) as it is.
func runningState(kind xdrlinkv1.OperationKind, prior string) xdrlinkv1.Tenant_State {
	switch kind {
	case xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD:
		return xdrlinkv1.Tenant_STATE_ONBOARDING
	case xdrlinkv1.OperationKind_OPERATION_KIND_OFFBOARD:
		return xdrlinkv1.Tenant_STATE_OFFBOARDING
	}
	return priorState(prior)
}

// priorState reads a runArgs.PriorState.
func priorState(name string) xdrlinkv1.Tenant_State {
	if st := xdrlinkv1.Tenant_State(xdrlinkv1.Tenant_State_value[name]); st != xdrlinkv1.Tenant_STATE_UNSPECIFIED {
		return st
	}
	return xdrlinkv1.Tenant_STATE_REGISTERED
}

// Submit starts an operation and returns it as stored, or, for a replayed
// request id, the operation that id started. For ValidateOnly it returns the
// plan, done, and stores nothing.
func (e *Engine) Submit(ctx context.Context, req Request) (*longrunningpb.Operation, error) {
	return e.submit(ctx, req, 3)
}

// submit is Submit; a table change without the caller's etag that lost a
// race with another writer of the tenant is tried again up to retries times.
func (e *Engine) submit(ctx context.Context, req Request, retries int) (*longrunningpb.Operation, error) {
	if stepsOf(req.Kind) == nil {
		return nil, errors.New("engine: unsupported operation kind " + req.Kind.String())
	}
	key := ""
	if req.RequestID != "" {
		key = req.Method + "\x00" + req.Caller + "\x00" + req.RequestID
		if op, err := e.replay(ctx, key, req.Fingerprint); op != nil || err != nil {
			return op, err
		}
	}
	rec, err := e.st.GetTenant(ctx, strings.TrimPrefix(req.Tenant, tenantrecord.NamePrefix))
	if err != nil {
		return nil, apierr.ForResource(err, req.Tenant)
	}
	tenant, err := tenantrecord.Decode(rec)
	if err != nil {
		return nil, err
	}
	if req.ValidateOnly {
		return e.plan(ctx, req, tenant)
	}

	var spec *store.Tenant // the table change, written with the operation
	etag := req.Etag
	if req.Kind == xdrlinkv1.OperationKind_OPERATION_KIND_UPDATE_TABLE_SETTINGS {
		if tenant.Connector == nil {
			tenant.Connector = &xdrlinkv1.ConnectorSettings{}
		}
		tenant.Connector.Tables = req.Tables
		if spec, err = tenantrecord.Spec(rec.ID, tenant); err != nil {
			return nil, err
		}
		if etag == "" {
			etag = rec.Etag // not the caller's condition, but no lost update of what was read
		}
	}

	now := timestamppb.Now()
	op := &oprecord.Record{
		// The store gives the operation its tenant's access group.
		Row: &store.Operation{ID: oprecord.NewID(), Exclusive: true, RequestKey: key, RequestHash: req.Fingerprint,
			Caller: req.Caller},
		Op: &longrunningpb.Operation{},
		Metadata: &xdrlinkv1.OperationMetadata{
			Tenant: req.Tenant, Kind: req.Kind, State: xdrlinkv1.OperationState_OPERATION_STATE_PENDING,
			CreateTime: now, UpdateTime: now, RequestId: req.RequestID, Caller: req.Caller,
		},
	}
	for _, k := range stepsOf(req.Kind) {
		op.Metadata.Steps = append(op.Metadata.Steps, &xdrlinkv1.Step{Kind: k, State: xdrlinkv1.StepState_STEP_STATE_PENDING})
	}
	if err := op.Encode(); err != nil {
		return nil, err
	}
	args, status, err := startOn(tenant, op)
	if err != nil {
		return nil, err
	}
	args.WindowDays = req.WindowDays
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		jobID, err := tx.InsertJob(ctx, args, &river.InsertOpts{MaxAttempts: jobAttempts})
		if err != nil {
			return err
		}
		op.Row.JobID = jobID
		if op.Row, err = tx.CreateOperation(ctx, op.Row); err != nil {
			return err
		}
		if spec != nil {
			if _, err := tx.UpdateTenant(ctx, spec, etag); err != nil {
				return err
			}
		}
		return tx.UpdateTenantStatus(ctx, rec.ID, tenant.GetState().String(), status)
	})
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &conflict) && conflict.Rule == store.ConflictActiveOperation:
		running := oprecord.NamePrefix + conflict.With
		return nil, &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS,
			Message:  req.Tenant + " already has an operation in progress: " + running + "; wait for it or cancel it",
			Metadata: map[string]string{"resource": req.Tenant, "operation": running}}
	case errors.As(err, &conflict) && conflict.Rule == store.ConflictRequestKey:
		// A concurrent request with the same id won the race: answer as a replay.
		return e.replay(ctx, key, req.Fingerprint)
	case errors.Is(err, store.ErrEtagMismatch) && req.Etag == "" && retries > 0:
		return e.submit(ctx, req, retries-1) // the tenant changed since it was read: read it again
	case err != nil:
		return nil, apierr.ForResource(err, req.Tenant)
	}
	e.ins.transition(ctx, req.Kind, op.Metadata.GetState(), 1)
	e.log.InfoContext(ctx, "operation started", "operation", op.Op.GetName(), "kind", req.Kind.String(), "tenant", req.Tenant)
	return op.Op, nil
}

// startOn marks tenant as taken by op, which is starting, and returns the
// job arguments that advance op and the tenant status to store with it.
func startOn(tenant *xdrlinkv1.Tenant, op *oprecord.Record) (runArgs, []byte, error) {
	args := runArgs{OperationID: op.Row.ID, PriorState: tenant.GetState().String()}
	tenant.State = runningState(op.Metadata.GetKind(), args.PriorState)
	tenant.LastOperation = oprecord.NamePrefix + op.Row.ID
	if tenant.Status == nil {
		tenant.Status = &xdrlinkv1.TenantStatus{}
	}
	tenant.Status.FailedStep, tenant.Status.Error, tenant.Status.RequiredAction = 0, nil, nil
	tenant.Status.UpdateTime = timestamppb.Now()
	status, err := tenantrecord.Status(tenant)
	return args, status, err
}

// replay returns the operation a request key started, nil when there is
// none, or REQUEST_ID_REUSED when it was started by a different request.
func (e *Engine) replay(ctx context.Context, key string, fingerprint []byte) (*longrunningpb.Operation, error) {
	row, err := e.st.GetOperationByRequestKey(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(row.RequestHash, fingerprint) {
		e := apierr.InvalidArgument(apierr.Violation("request_id",
			"already used for a different request (operations/"+row.ID+"); use a new request_id"))
		e.Reason = xdrlinkv1.ErrorReason_ERROR_REASON_REQUEST_ID_REUSED
		return nil, e
	}
	rec, err := oprecord.Decode(row)
	if err != nil {
		return nil, err
	}
	return rec.Op, nil
}

// plan runs every step read-only and returns what each would write.
func (e *Engine) plan(ctx context.Context, req Request, tenant *xdrlinkv1.Tenant) (*longrunningpb.Operation, error) {
	md := &xdrlinkv1.OperationMetadata{
		Tenant: req.Tenant, Kind: req.Kind, State: xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED,
		CreateTime: timestamppb.Now(), Caller: req.Caller, RequestId: req.RequestID, ValidateOnly: true,
	}
	t := e.target(tenant)
	applied := appliedFrom(tenant.GetStatus().GetApplied())
	for _, kind := range stepsOf(req.Kind) {
		stepCtx, cancel := context.WithTimeout(ctx, e.cfg.StepTimeout)
		res, err := e.runStep(stepCtx, req.Kind, kind, t, applied, nil, true)
		cancel()
		st := &xdrlinkv1.Step{Kind: kind, State: xdrlinkv1.StepState_STEP_STATE_PENDING, Message: res.Message}
		recordResult(st, res)
		var f *steps.Failure
		switch {
		case errors.As(err, &f) && f.SignInRequired:
			st.State = xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED
			st.Message = "needs the delegated sign-in of " + signInWho(tenant) + ": " + f.Message
		case errors.As(err, &f):
			st.State = xdrlinkv1.StepState_STEP_STATE_FAILED
			st.Error = failureStatus(kind, f)
			st.AzureErrorCode = f.AzureCode
		case err != nil:
			return nil, err
		case res.Skipped:
			st.State = xdrlinkv1.StepState_STEP_STATE_SKIPPED
		}
		md.Steps = append(md.Steps, st)
	}
	md.UpdateTime = timestamppb.Now()
	mdAny, err := anypb.New(md)
	if err != nil {
		return nil, err
	}
	resp, err := anypb.New(tenant)
	if err != nil {
		return nil, err
	}
	return &longrunningpb.Operation{Done: true, Metadata: mdAny, Result: &longrunningpb.Operation_Response{Response: resp}}, nil
}
