package engine

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/riverqueue/river"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/oprecord"
	"github.com/xdrlink/xdrlink/workflow/steps"
	"github.com/xdrlink/xdrlink/workflow/tablestate"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
	"github.com/xdrlink/xdrlink/workflow/verification"
)

// runArgs are the job's arguments: ids only, never a secret.
type runArgs struct {
	OperationID string `json:"operation_id"`
	// PriorState is the tenant's state before the operation, restored if it
	// is cancelled.
	PriorState string `json:"prior_state"`
	// Batch is the id of the batch the operation is a child of, and
	// BatchConcurrency the batch's max_concurrency: when the child finishes,
	// it starts the next queued child in its place.
	Batch            string `json:"batch,omitempty"`
	BatchConcurrency int    `json:"batch_concurrency,omitempty"`
	// WindowDays is a VERIFY's days of daily counts (0: the default).
	WindowDays int `json:"window_days,omitempty"`
}

func (runArgs) Kind() string { return "xdrlink.operation" }

// jobAttempts bounds the job's failed runs (unexpected errors such as a
// store outage). Pauses (snoozes) for retries and sign-ins do not count.
const jobAttempts = 25

type operationWorker struct {
	river.WorkerDefaults[runArgs]
	e *Engine
}

func (w *operationWorker) Timeout(*river.Job[runArgs]) time.Duration { return w.e.cfg.jobTimeout() }

// streamingLease is the lease a step must hold while it runs: the Defender
// streaming API's entries of one Entra tenant have no etag, so two
// operations writing them at once (two workspaces of one customer, on any
// replica) could each overwrite the other's change. "" for other steps.
func streamingLease(kind xdrlinkv1.StepKind, t steps.Target) string {
	switch kind {
	case xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS, xdrlinkv1.StepKind_STEP_KIND_DISCONNECT_EVENTS,
		xdrlinkv1.StepKind_STEP_KIND_APPLY_TABLE_SETTINGS:
		return "streaming/" + strings.ToLower(t.EntraTenantID)
	}
	return ""
}

// releaseLease gives a lease up; one that cannot be released expires.
func (e *Engine) releaseLease(ctx context.Context, key, holder string) {
	if err := e.st.ReleaseLease(context.WithoutCancel(ctx), key, holder); err != nil {
		e.log.WarnContext(ctx, "lease not released; it expires", "key", key, "error", err)
	}
}

// leaseWait is how long a step waits before trying again for a lease
// another operation holds.
const leaseWait = 2 * time.Second

func (w *operationWorker) Work(ctx context.Context, job *river.Job[runArgs]) error {
	return w.e.advance(ctx, job.Args)
}

// run is one job run's view of an operation.
type run struct {
	e        *Engine
	args     runArgs
	op       *oprecord.Record
	tenantID string
	tenant   *xdrlinkv1.Tenant
	target   steps.Target
	applied  *steps.Applied
	// needPlace: the next save moves a batch's child from a human step back
	// to running, which it may do only below the batch's max_concurrency.
	needPlace bool
	// report is a VERIFY step's report, stored by the next save.
	report *xdrlinkv1.IngestionReport
	// savedState is the operation's state as stored, to count transitions.
	savedState xdrlinkv1.OperationState
}

// errNoPlace: a batch's child may not run yet; its batch is at its
// max_concurrency.
var errNoPlace = errors.New("engine: the batch has no free place")

type runKey struct{}

// advance moves an operation forward: it runs steps until the operation
// finishes or has to wait (a retry, a sign-in), and returns nil when
// finished or the River snooze that resumes it.
func (e *Engine) advance(ctx context.Context, args runArgs) error {
	r, err := e.load(ctx, args)
	if errors.Is(err, store.ErrNotFound) {
		return nil // deleted (a finished operation, or its tenant): nothing to advance
	}
	if err != nil {
		return err
	}
	if r.op.Op.GetDone() {
		return nil
	}
	annotate(ctx, r)
	ctx = context.WithValue(ctx, runKey{}, r)
	began := time.Now()
	for {
		md := r.op.Metadata
		if md.GetCancelRequested() {
			return r.finish(ctx, xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED, nil)
		}
		i := nextStep(md)
		if i < 0 {
			return r.finish(ctx, xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED, nil)
		}
		if time.Since(began) > r.e.cfg.jobMargin()/2 {
			// Quick steps chain in one run for half the margin; after that
			// the next step gets a fresh job, so it always has its whole
			// timeout and time left to record its outcome.
			return river.JobSnooze(0)
		}
		delegated, err := r.delegated(ctx, md.Steps[i])
		if err == nil {
			err = r.step(ctx, i, delegated)
		}
		if errors.Is(err, errFinished) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// nextStep is the index of the first unfinished step, or -1.
func nextStep(md *xdrlinkv1.OperationMetadata) int {
	for i, st := range md.GetSteps() {
		switch st.GetState() {
		case xdrlinkv1.StepState_STEP_STATE_SUCCEEDED, xdrlinkv1.StepState_STEP_STATE_SKIPPED:
			continue
		}
		return i
	}
	return -1
}

func (e *Engine) load(ctx context.Context, args runArgs) (*run, error) {
	row, err := e.st.GetOperation(ctx, args.OperationID)
	if err != nil {
		return nil, err
	}
	op, err := oprecord.Decode(row)
	if err != nil {
		return nil, err
	}
	r := &run{e: e, args: args, op: op, tenantID: strings.TrimPrefix(op.Metadata.GetTenant(), tenantrecord.NamePrefix),
		savedState: op.Metadata.GetState()}
	trow, err := e.st.GetTenant(ctx, r.tenantID)
	if err != nil {
		return nil, err
	}
	if r.tenant, err = tenantrecord.Decode(trow); err != nil {
		return nil, err
	}
	if r.tenant.Status == nil {
		r.tenant.Status = &xdrlinkv1.TenantStatus{}
	}
	r.target = e.target(r.tenant)
	r.target.Operation, r.target.WindowDays = op.Row.ID, args.WindowDays
	r.applied = appliedFrom(r.tenant.GetStatus().GetApplied())
	return r, nil
}

// step runs step i once. It returns nil to go on with the next step, or
// what the job should return: a snooze, errFinished once the operation
// finished, or an unexpected error (River retries the job).
func (r *run) step(ctx context.Context, i int, delegated azcore.TokenCredential) error {
	md := r.op.Metadata
	st := md.Steps[i]
	if key := streamingLease(st.GetKind(), r.target); key != "" {
		held, err := r.e.st.AcquireLease(ctx, key, r.op.Row.ID, r.e.cfg.jobTimeout())
		if err != nil {
			return err
		}
		if !held {
			return river.JobSnooze(leaseWait)
		}
		defer r.e.releaseLease(ctx, key, r.op.Row.ID)
	}
	now := timestamppb.Now()
	st.State = xdrlinkv1.StepState_STEP_STATE_RUNNING
	st.Attempts++
	if st.StartTime == nil {
		st.StartTime = now
	}
	st.NextAttemptTime, st.RequiredAction = nil, nil
	// A batch's child back from a human step needs a free place again: it
	// gave its place up while it waited.
	r.needPlace = r.args.Batch != "" && md.GetState() == xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED
	md.State = xdrlinkv1.OperationState_OPERATION_STATE_RUNNING
	r.tenant.State = runningState(md.GetKind(), r.args.PriorState)
	r.tenant.Status.RequiredAction = nil
	returning := r.needPlace
	err := r.save(ctx, true, false)
	if errors.Is(err, errNoPlace) {
		// Nothing saved: it still shows the human step, done, waiting. The
		// lease says a child waits to come back, so that the batch starts
		// no new child in the next freed place.
		if _, err := r.e.st.AcquireLease(ctx, placeKey(r.args.Batch, r.op.Row.ID), r.op.Row.ID, placeLease); err != nil {
			return err
		}
		return river.JobSnooze(placeWait)
	}
	if err != nil {
		return err
	}
	if returning {
		r.e.releaseLease(ctx, placeKey(r.args.Batch, r.op.Row.ID), r.op.Row.ID)
	}

	stepCtx, cancel := context.WithTimeout(ctx, r.e.cfg.StepTimeout)
	began := time.Now()
	res, err := r.e.runStep(stepCtx, md.GetKind(), st.GetKind(), r.target, r.applied, delegated, false)
	cancel()
	took := time.Since(began) // the step's work, not the recording below
	if ctx.Err() != nil {
		// The job itself is stopping (shutdown): not the step's fault. The
		// next run starts it again.
		r.e.ins.step(ctx, st.GetKind(), outcomeInterrupted, took)
		return river.JobSnooze(0)
	}
	// The outcome is the state the step is left in, known on return.
	defer func() { r.e.ins.step(ctx, st.GetKind(), stepOutcome(st), took) }()
	recordResult(st, res)
	r.tenant.Status.Applied = appliedToProto(r.applied)
	r.tenant.Status.Tables = tablestate.Merge(r.tenant.Status.Tables, res.Observations)
	r.target.Observed = r.tenant.Status.Tables
	var f *steps.Failure
	if err != nil && !errors.As(err, &f) {
		f = &steps.Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL, Message: err.Error(), Transient: true}
	}
	switch {
	case f == nil:
		st.State = xdrlinkv1.StepState_STEP_STATE_SUCCEEDED
		if res.Skipped {
			st.State = xdrlinkv1.StepState_STEP_STATE_SKIPPED
		}
		st.EndTime, st.Error, st.AzureErrorCode = timestamppb.Now(), nil, ""
		if res.Report != nil {
			r.report = res.Report
			r.tenant.LastVerification = verification.Summary(res.Report)
		}
		return r.save(ctx, true, false)
	case f.SignInRequired:
		return r.requireSignIn(ctx, st, f, delegated != nil)
	case f.Transient && int(st.GetAttempts()) < r.e.cfg.MaxAttempts:
		delay := r.e.backoff(int(st.GetAttempts()), f.RetryAfter)
		st.NextAttemptTime = timestamppb.New(time.Now().Add(delay))
		st.Error, st.AzureErrorCode = failureStatus(st.GetKind(), f), f.AzureCode
		st.Message = "attempt " + itoa(st.GetAttempts()) + " failed, retrying: " + f.Message
		if err := r.save(ctx, false, false); err != nil {
			return err
		}
		return river.JobSnooze(delay)
	default:
		r.failStep(st, f)
		return r.finishErr(ctx, st)
	}
}

// stepOutcome is the metric's outcome of a step run, read from the state
// it left the step in.
func stepOutcome(st *xdrlinkv1.Step) string {
	switch st.GetState() {
	case xdrlinkv1.StepState_STEP_STATE_SUCCEEDED:
		return outcomeSucceeded
	case xdrlinkv1.StepState_STEP_STATE_SKIPPED:
		return outcomeSkipped
	case xdrlinkv1.StepState_STEP_STATE_FAILED:
		return outcomeFailed
	case xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED:
		return outcomeActionRequired
	}
	return outcomeRetry
}

func (r *run) failStep(st *xdrlinkv1.Step, f *steps.Failure) {
	st.State = xdrlinkv1.StepState_STEP_STATE_FAILED
	st.EndTime = timestamppb.Now()
	st.NextAttemptTime = nil
	st.Error, st.AzureErrorCode = failureStatus(st.GetKind(), f), f.AzureCode
	if f.Message != "" {
		st.Message = f.Message
	}
}

// backoff is the wait before attempt n+1: Azure's Retry-After when it gave
// one, else exponential from RetryBackoff, capped at 5 minutes.
func (e *Engine) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	d := e.cfg.RetryBackoff << min(attempt-1, 10)
	return min(d, 5*time.Minute)
}

// finish ends the operation in state. The tenant's state follows, the
// sign-in secret is deleted with the final write, and the job ends.
func (r *run) finish(ctx context.Context, state xdrlinkv1.OperationState, failed *xdrlinkv1.Step) error {
	md := r.op.Metadata
	md.State = state
	md.EndTime = timestamppb.Now()
	r.op.Op.Done = true
	ts := r.tenant.Status
	ts.RequiredAction = nil
	kind := md.GetKind()
	switch state {
	case xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED:
		r.tenant.State = r.succeededState()
		ts.FailedStep, ts.Error = 0, nil
	case xdrlinkv1.OperationState_OPERATION_STATE_FAILED:
		r.op.Op.Result = &longrunningpb.Operation_Error{Error: failed.GetError()}
		if kind != xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD && kind != xdrlinkv1.OperationKind_OPERATION_KIND_OFFBOARD {
			// A failed table change or verification leaves the connection
			// as it was; the operation (last_operation) says what failed.
			r.tenant.State = priorState(r.args.PriorState)
			break
		}
		r.tenant.State = xdrlinkv1.Tenant_STATE_FAILED
		ts.FailedStep, ts.Error = failed.GetKind(), failed.GetError()
	case xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED:
		r.tenant.State = priorState(r.args.PriorState)
		r.op.Op.Result = &longrunningpb.Operation_Error{Error: cancelledStatus()}
		for _, st := range md.Steps {
			if st.GetState() == xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED || st.GetState() == xdrlinkv1.StepState_STEP_STATE_RUNNING {
				st.State, st.RequiredAction, st.NextAttemptTime = xdrlinkv1.StepState_STEP_STATE_PENDING, nil, nil
				st.Message = "cancelled before this step finished"
			}
		}
	}
	if state == xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED {
		resp, err := r.response(ctx)
		if err != nil {
			return err
		}
		r.op.Op.Result = &longrunningpb.Operation_Response{Response: resp}
	}
	if err := r.save(ctx, true, true); err != nil {
		return err
	}
	r.e.log.InfoContext(ctx, "operation finished", "operation", r.op.Op.GetName(), "state", state.String(), "tenant", md.GetTenant())
	return nil
}

// succeededState is the tenant's state after its operation succeeded. A
// verification moves a connected tenant between ONBOARDED and DEGRADED
// (onboarding ends with one); a table change leaves the state as it was.
func (r *run) succeededState() xdrlinkv1.Tenant_State {
	prior := priorState(r.args.PriorState)
	switch r.op.Metadata.GetKind() {
	case xdrlinkv1.OperationKind_OPERATION_KIND_OFFBOARD:
		return xdrlinkv1.Tenant_STATE_OFFBOARDED
	case xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD:
	case xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY:
		if prior != xdrlinkv1.Tenant_STATE_ONBOARDED && prior != xdrlinkv1.Tenant_STATE_DEGRADED {
			return prior
		}
	default:
		return prior
	}
	if v := r.tenant.GetLastVerification(); v != nil && !verification.Healthy(v) {
		return xdrlinkv1.Tenant_STATE_DEGRADED
	}
	return xdrlinkv1.Tenant_STATE_ONBOARDED
}

// response is a succeeded operation's response: the tenant for onboarding
// and offboarding, the report for a verification, the table settings for a
// table change.
func (r *run) response(ctx context.Context) (*anypb.Any, error) {
	switch r.op.Metadata.GetKind() {
	case xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY:
		row, err := r.e.st.GetVerification(ctx, r.tenantID, r.op.Row.ID)
		if err != nil {
			return nil, err
		}
		report := &xdrlinkv1.IngestionReport{}
		if err := proto.Unmarshal(row.Body, report); err != nil {
			return nil, err
		}
		return anypb.New(report)
	case xdrlinkv1.OperationKind_OPERATION_KIND_UPDATE_TABLE_SETTINGS:
		return anypb.New(tablestate.Settings(r.tenant))
	}
	return anypb.New(r.tenant)
}

// save writes the operation (and, with tenant, the tenant's status; with
// dropSecret, deletes the sign-in secret) in one transaction. A concurrent
// writer (only Cancel writes an operation the job owns) moved the version:
// its cancel request is merged and the write retried.
func (r *run) save(ctx context.Context, tenant, dropSecret bool) error {
	now := timestamppb.Now()
	r.op.Metadata.UpdateTime = now
	if tenant {
		r.tenant.LastOperation = r.op.Op.GetName()
		r.tenant.Status.UpdateTime = now
	}
	for attempt := 0; ; attempt++ {
		if err := r.op.Encode(); err != nil {
			return err
		}
		var status []byte
		if tenant {
			var err error
			if status, err = tenantrecord.Status(r.tenant); err != nil {
				return err
			}
		}
		var (
			saved     *store.Operation
			wakeBatch bool
		)
		err := r.e.st.InTx(ctx, func(tx store.Tx) error {
			if r.needPlace {
				active, err := tx.LockBatch(ctx, r.args.Batch, stateActionRequired)
				if err != nil {
					return err
				}
				if active >= r.args.BatchConcurrency {
					return errNoPlace
				}
			}
			var err error
			if saved, err = tx.UpdateOperation(ctx, r.op.Row); err != nil {
				return err
			}
			if tenant {
				if err := tx.UpdateTenantStatus(ctx, r.tenantID, r.tenant.GetState().String(), status); err != nil {
					return err
				}
			}
			if r.report != nil {
				if err := r.e.storeReport(ctx, tx, r.tenantID, r.op.Row.ID, r.report); err != nil {
					return err
				}
			}
			if dropSecret {
				if err := tx.DeleteOperationSecret(ctx, r.op.Row.ID); err != nil {
					return err
				}
			}
			if saved.Done && r.args.Batch != "" {
				// Last: it locks the batch (on PostgreSQL until the commit),
				// and every finishing child of the batch waits for that lock.
				wakeBatch, err = r.e.childFinished(ctx, tx, r.args.Batch, r.args.BatchConcurrency, r.args.WindowDays)
			}
			return err
		})
		if errors.Is(err, store.ErrEtagMismatch) && attempt < 5 {
			fresh, ferr := r.e.st.GetOperation(ctx, r.op.Row.ID)
			if ferr != nil {
				return ferr
			}
			rec, ferr := oprecord.Decode(fresh)
			if ferr != nil {
				return ferr
			}
			r.op.Row.Version = fresh.Version
			if rec.Metadata.GetCancelRequested() {
				r.op.Metadata.CancelRequested = true
			}
			continue
		}
		if err != nil {
			return err
		}
		r.op.Row, r.needPlace, r.report = saved, false, nil
		if state := r.op.Metadata.GetState(); state != r.savedState {
			r.savedState = state
			r.e.ins.transition(ctx, r.op.Metadata.GetKind(), state, 1)
		}
		if wakeBatch {
			r.e.wakeBatch(ctx, r.args.Batch)
		}
		return nil
	}
}

// checkpoint persists the tenant's Applied before a step writes to Azure
// (steps.Access.Checkpoint), so a crash right after the write cannot lose
// the record of what to undo.
func (e *Engine) checkpoint(ctx context.Context, _ steps.Target, a steps.Applied) error {
	r, ok := ctx.Value(runKey{}).(*run)
	if !ok {
		return nil // plan mode: nothing is written
	}
	r.tenant.Status.Applied = appliedToProto(&a)
	r.tenant.Status.UpdateTime = timestamppb.Now()
	status, err := tenantrecord.Status(r.tenant)
	if err != nil {
		return err
	}
	return e.st.UpdateTenantStatus(ctx, r.tenantID, r.tenant.GetState().String(), status)
}

func (e *Engine) runStep(ctx context.Context, op xdrlinkv1.OperationKind, kind xdrlinkv1.StepKind, t steps.Target, a *steps.Applied, delegated azcore.TokenCredential, plan bool) (steps.Result, error) {
	if op == xdrlinkv1.OperationKind_OPERATION_KIND_OFFBOARD {
		return e.runner.Offboard(ctx, kind, t, a, delegated, plan)
	}
	return e.runner.Onboard(ctx, kind, t, a, delegated, plan)
}
