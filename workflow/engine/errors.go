package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/steps"
)

// jobErrors logs a job's unexpected errors and panics, and when its last
// attempt failed, fails its operation: River would discard the job, and the
// operation must not stay RUNNING forever.
type jobErrors struct{ e *Engine }

func (h jobErrors) HandleError(ctx context.Context, job *rivertype.JobRow, err error) *river.ErrorHandlerResult {
	h.e.log.ErrorContext(ctx, "operation job failed", "job", job.ID, "attempt", job.Attempt, "error", err)
	h.giveUp(ctx, job, err.Error())
	return nil
}

func (h jobErrors) HandlePanic(ctx context.Context, job *rivertype.JobRow, panicVal any, trace string) *river.ErrorHandlerResult {
	h.e.log.ErrorContext(ctx, "operation job panicked", "job", job.ID, "attempt", job.Attempt, "panic", panicVal, "trace", trace)
	h.giveUp(ctx, job, fmt.Sprint("panic: ", panicVal))
	return nil
}

func (h jobErrors) giveUp(ctx context.Context, job *rivertype.JobRow, why string) {
	var args runArgs
	if job.Kind != (runArgs{}).Kind() || job.Attempt < job.MaxAttempts || json.Unmarshal(job.EncodedArgs, &args) != nil {
		return
	}
	r, err := h.e.load(ctx, args)
	if err != nil || r.op.Op.GetDone() {
		return
	}
	i := max(nextStep(r.op.Metadata), 0)
	st := r.op.Metadata.GetSteps()[i]
	r.failStep(st, &steps.Failure{Reason: xdrlinkv1.ErrorReason_ERROR_REASON_INTERNAL,
		Message: "the operation could not be advanced after repeated internal errors: " + why,
		Remedy:  "see the server's logs for this operation, fix the cause, and start the operation again"})
	if err := r.finish(ctx, xdrlinkv1.OperationState_OPERATION_STATE_FAILED, st); err != nil {
		h.e.log.ErrorContext(ctx, "could not fail the operation of a discarded job", "operation", r.op.Op.GetName(), "error", err)
	}
}

// retryPolicy runs a job that failed unexpectedly (a store busy past the
// job's deadline, a store outage) again soon: after 1s, 2s, 4s … up to a
// minute, counted by its errors rather than its attempts, which every
// snooze raises too. River's default waits the attempt to the fourth power
// in seconds, which left children of a busy batch idle for minutes.
type retryPolicy struct{}

func (retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(min(time.Second<<min(len(job.Errors), 6), time.Minute))
}
