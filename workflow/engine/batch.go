package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/riverqueue/river"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/oprecord"
	"github.com/xdrlink/xdrlink/workflow/tenantrecord"
	"github.com/xdrlink/xdrlink/workflow/verification"
)

// BatchRequest asks for one operation per tenant under a batch operation.
type BatchRequest struct {
	// Kind is the batch's kind (BATCH_ONBOARD); each child is its single-
	// tenant kind (ONBOARD).
	Kind xdrlinkv1.OperationKind
	// Tenants are the tenants' names, "tenants/{id}", unique, in the order
	// their children are created and started.
	Tenants []string
	// MaxConcurrency bounds the children started and unfinished at once,
	// not counting those waiting for a human; 0 means the engine's default.
	MaxConcurrency int
	// Method, Caller, RequestID and Fingerprint: as in Request.
	Method, Caller, RequestID string
	Fingerprint               []byte
	// WindowDays: as in Request, for BATCH_VERIFY.
	WindowDays int
}

// childKind is the kind of a batch's children.
func childKind(batch xdrlinkv1.OperationKind) xdrlinkv1.OperationKind {
	switch batch {
	case xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_ONBOARD:
		return xdrlinkv1.OperationKind_OPERATION_KIND_ONBOARD
	case xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_VERIFY:
		return xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY
	}
	return xdrlinkv1.OperationKind_OPERATION_KIND_UNSPECIFIED
}

// batchArgs are the arguments of a batch's job, which starts children as
// places free up, cancels them when the batch is cancelled, and finishes the
// batch once every child has.
type batchArgs struct {
	OperationID    string `json:"operation_id"`
	MaxConcurrency int    `json:"max_concurrency"`
	// WindowDays is passed on to the children (BATCH_VERIFY).
	WindowDays int `json:"window_days,omitempty"`
}

func (batchArgs) Kind() string { return "xdrlink.batch" }

// batchTick is how often a batch's job looks at its children when nothing
// woke it: it tops up places freed by children that paused for a human and
// notices the last child finishing if that child's wake-up was missed.
const batchTick = time.Second

// batchTailTick is batchTick once every child has started.
const batchTailTick = 250 * time.Millisecond

// A child back from a human step while its batch has no free place waits
// placeWait between tries, holding a lease (placeKey, placeLease long) that
// keeps the batch from starting new children meanwhile: children that
// already ran most of their steps go first.
const (
	placeWait  = time.Second
	placeLease = 5 * time.Second
)

func placeKey(batch, child string) string { return "place/" + batch + "/" + child }

// childID is the id of a batch's i-th child: the batch's id and the index,
// so that id order is request order.
func childID(batch string, i int) string { return fmt.Sprintf("%s-%05d", batch, i) }

var stateActionRequired = xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED.String()

// SubmitBatch creates the batch operation and a child operation for every
// tenant, and starts the first children, all in one transaction; the
// batch's job starts the rest as places free up. A tenant that already has
// an onboard or offboard in progress gets a child that failed at once
// (OPERATION_IN_PROGRESS); the others go on.
func (e *Engine) SubmitBatch(ctx context.Context, req BatchRequest) (*longrunningpb.Operation, error) {
	kind := childKind(req.Kind)
	if stepsOf(kind) == nil || len(req.Tenants) == 0 {
		return nil, errors.New("engine: unsupported batch " + req.Kind.String())
	}
	key := ""
	if req.RequestID != "" {
		key = req.Method + "\x00" + req.Caller + "\x00" + req.RequestID
		if op, err := e.replay(ctx, key, req.Fingerprint); op != nil || err != nil {
			return op, err
		}
	}
	groups, err := e.checkRegistered(ctx, req.Tenants)
	if err != nil {
		return nil, err
	}
	limit := req.MaxConcurrency
	if limit <= 0 {
		limit = e.cfg.BatchConcurrency
	}
	now := timestamppb.Now()
	batch := &oprecord.Record{
		Row: &store.Operation{ID: oprecord.NewID(), RequestKey: key, RequestHash: req.Fingerprint,
			AccessGroup: commonGroup(groups), Caller: req.Caller},
		Op: &longrunningpb.Operation{},
		Metadata: &xdrlinkv1.OperationMetadata{
			Kind: req.Kind, State: xdrlinkv1.OperationState_OPERATION_STATE_RUNNING,
			CreateTime: now, UpdateTime: now, RequestId: req.RequestID, Caller: req.Caller,
			BatchProgress: &xdrlinkv1.BatchProgress{Total: int32(len(req.Tenants)), Pending: int32(len(req.Tenants))},
		},
	}
	if err := batch.Encode(); err != nil {
		return nil, err
	}
	err = e.st.InTx(ctx, func(tx store.Tx) error {
		jobID, err := tx.InsertJob(ctx, batchArgs{OperationID: batch.Row.ID, MaxConcurrency: limit, WindowDays: req.WindowDays}, &river.InsertOpts{MaxAttempts: jobAttempts})
		if err != nil {
			return err
		}
		batch.Row.JobID = jobID
		if batch.Row, err = tx.CreateOperation(ctx, batch.Row); err != nil {
			return err
		}
		for i, name := range req.Tenants {
			if err := e.createChild(ctx, tx, batch, kind, i, name, now); err != nil {
				return err
			}
		}
		_, err = e.startChildren(ctx, tx, batch.Row.ID, limit, req.WindowDays)
		return err
	})
	var conflict *store.ConflictError
	switch {
	case errors.As(err, &conflict) && conflict.Rule == store.ConflictRequestKey:
		return e.replay(ctx, key, req.Fingerprint)
	case err != nil:
		return nil, err
	}
	e.ins.transition(ctx, req.Kind, batch.Metadata.GetState(), 1)
	e.ins.transition(ctx, kind, xdrlinkv1.OperationState_OPERATION_STATE_PENDING, int64(len(req.Tenants)))
	e.log.InfoContext(ctx, "batch started", "operation", batch.Op.GetName(), "kind", req.Kind.String(),
		"tenants", len(req.Tenants), "max_concurrency", limit)
	return batch.Op, nil
}

// checkRegistered refuses a batch naming tenants that are not registered,
// naming them (the first few) in the error, and returns the access group
// of each.
func (e *Engine) checkRegistered(ctx context.Context, names []string) ([]string, error) {
	var missing []string
	groups := make([]string, len(names))
	for i, name := range names {
		rec, err := e.st.GetTenant(ctx, strings.TrimPrefix(name, tenantrecord.NamePrefix))
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return nil, err
		}
		groups[i] = rec.AccessGroup
	}
	if len(missing) == 0 {
		return groups, nil
	}
	shown := missing[:min(len(missing), 5)]
	msg := strings.Join(shown, ", ")
	if len(missing) > len(shown) {
		msg += fmt.Sprintf(" and %d more", len(missing)-len(shown))
	}
	return nil, &apierr.Error{Code: codes.NotFound, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_TENANT_NOT_FOUND,
		Message:  "not registered: " + msg + "; register them first (CreateTenant or BatchCreateTenants) or leave them out",
		Metadata: map[string]string{"resource": shown[0]}}
}

// commonGroup is the access group every tenant of a batch is in, or "" when
// they differ: a batch is then seen only by its creator and unscoped
// callers.
func commonGroup(groups []string) string {
	if len(groups) == 0 || slices.ContainsFunc(groups, func(g string) bool { return g != groups[0] }) {
		return ""
	}
	return groups[0]
}

// createChild stores the batch's i-th child, queued (no job yet). A tenant
// busy with another operation gets a child that failed at once.
func (e *Engine) createChild(ctx context.Context, tx store.Tx, batch *oprecord.Record, kind xdrlinkv1.OperationKind, i int, tenant string, now *timestamppb.Timestamp) error {
	child := &oprecord.Record{
		// The store gives the child its tenant's access group.
		Row: &store.Operation{ID: childID(batch.Row.ID, i), Parent: batch.Row.ID, Exclusive: true,
			Caller: batch.Row.Caller},
		Op: &longrunningpb.Operation{},
		Metadata: &xdrlinkv1.OperationMetadata{
			Tenant: tenant, Kind: kind, State: xdrlinkv1.OperationState_OPERATION_STATE_PENDING,
			CreateTime: now, UpdateTime: now, Caller: batch.Metadata.GetCaller(), Parent: batch.Op.GetName(),
		},
	}
	for _, k := range stepsOf(kind) {
		child.Metadata.Steps = append(child.Metadata.Steps, &xdrlinkv1.Step{Kind: k, State: xdrlinkv1.StepState_STEP_STATE_PENDING})
	}
	if err := child.Encode(); err != nil {
		return err
	}
	_, err := tx.CreateOperation(ctx, child.Row)
	var conflict *store.ConflictError
	if !errors.As(err, &conflict) || conflict.Rule != store.ConflictActiveOperation {
		return err
	}
	running := oprecord.NamePrefix + conflict.With
	busy := &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_IN_PROGRESS,
		Message:  tenant + " already had an operation in progress: " + running,
		Metadata: map[string]string{"resource": tenant, "operation": running}}
	child.Row.Exclusive = false
	endChild(child, xdrlinkv1.OperationState_OPERATION_STATE_FAILED, busy.GRPCStatus().Proto(), "not started: "+busy.Message)
	if err := child.Encode(); err != nil {
		return err
	}
	_, err = tx.CreateOperation(ctx, child.Row)
	return err
}

// endChild finishes a child that never ran a step.
func endChild(child *oprecord.Record, state xdrlinkv1.OperationState, why *status.Status, msg string) {
	md := child.Metadata
	md.State, md.EndTime, md.UpdateTime = state, timestamppb.Now(), timestamppb.Now()
	child.Op.Done = true
	child.Op.Result = &longrunningpb.Operation_Error{Error: why}
	for _, st := range md.Steps {
		st.Message = msg
	}
}

// startChildren starts the next queued children of batch, as many as keep
// limit of them running, and returns how many it started.
func (e *Engine) startChildren(ctx context.Context, tx store.Tx, batch string, limit, windowDays int) (int, error) {
	active, err := tx.LockBatch(ctx, batch, stateActionRequired)
	if err != nil || active >= limit {
		return 0, err
	}
	returning, err := tx.CountLeases(ctx, placeKey(batch, ""))
	if err != nil || active+returning >= limit {
		return 0, err
	}
	rows, err := tx.ClaimChildren(ctx, batch, limit-active-returning)
	if err != nil {
		return 0, err
	}
	for _, row := range rows {
		if err := e.startChild(ctx, tx, row, limit, windowDays); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// startChild gives a claimed child its job and takes its tenant, as Submit
// does for a single operation. A tenant deleted while its child was queued
// fails the child.
func (e *Engine) startChild(ctx context.Context, tx store.Tx, row *store.Operation, limit, windowDays int) error {
	child, err := oprecord.Decode(row)
	if err != nil {
		return err
	}
	name := child.Metadata.GetTenant()
	trow, err := tx.GetTenant(ctx, strings.TrimPrefix(name, tenantrecord.NamePrefix))
	if errors.Is(err, store.ErrNotFound) {
		gone := apierr.Status(apierr.ForResource(store.ErrNotFound, name))
		endChild(child, xdrlinkv1.OperationState_OPERATION_STATE_FAILED, gone.Proto(),
			"not started: the tenant was deleted while it waited for its turn")
		if err := child.Encode(); err != nil {
			return err
		}
		_, err = tx.UpdateOperation(ctx, child.Row)
		return err
	}
	if err != nil {
		return err
	}
	tenant, err := tenantrecord.Decode(trow)
	if err != nil {
		return err
	}
	args, status, err := startOn(tenant, child)
	if err != nil {
		return err
	}
	args.Batch, args.BatchConcurrency, args.WindowDays = row.Parent, limit, windowDays
	if child.Row.JobID, err = tx.InsertJob(ctx, args, &river.InsertOpts{MaxAttempts: jobAttempts}); err != nil {
		return err
	}
	if _, err := tx.UpdateOperation(ctx, child.Row); err != nil {
		return err
	}
	return tx.UpdateTenantStatus(ctx, trow.ID, tenant.GetState().String(), status)
}

// childFinished runs in the transaction that finishes a child of batch: it
// starts the next queued child in its place, unless the batch is being
// cancelled. It reports whether the batch's job should look now (nothing
// was started: the queue may be empty and the batch about to end).
func (e *Engine) childFinished(ctx context.Context, tx store.Tx, batch string, limit, windowDays int) (wake bool, err error) {
	row, err := tx.GetOperation(ctx, batch)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	rec, err := oprecord.Decode(row)
	if err != nil {
		return false, err
	}
	if rec.Metadata.GetCancelRequested() || rec.Op.GetDone() {
		return true, nil
	}
	n, err := e.startChildren(ctx, tx, batch, limit, windowDays)
	return n == 0, err
}

// wakeBatch makes the batch's job run now.
func (e *Engine) wakeBatch(ctx context.Context, batch string) {
	if rec, err := e.get(ctx, batch); err == nil {
		e.wake(ctx, rec)
	}
}

type batchWorker struct {
	river.WorkerDefaults[batchArgs]
	e *Engine
}

func (w *batchWorker) Work(ctx context.Context, job *river.Job[batchArgs]) error {
	trace.SpanFromContext(ctx).SetAttributes(AttrOperationID.String(job.Args.OperationID))
	return w.e.tend(ctx, job.Args)
}

// tend is one look of a batch's job at its children: cancel them when the
// batch is being cancelled, start queued ones where places are free, and
// finish the batch once every child has finished.
func (e *Engine) tend(ctx context.Context, args batchArgs) error {
	batch, err := e.get(ctx, args.OperationID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && batch.Op.GetDone()) {
		return nil
	}
	if err != nil {
		return err
	}
	if batch.Metadata.GetCancelRequested() {
		if err := e.cancelChildren(ctx, batch); err != nil {
			return err
		}
	} else if err := e.st.InTx(ctx, func(tx store.Tx) error {
		_, err := e.startChildren(ctx, tx, batch.Row.ID, args.MaxConcurrency, args.WindowDays)
		return err
	}); err != nil {
		return err
	}
	counts, err := e.st.CountChildren(ctx, batch.Row.ID)
	if err != nil {
		return err
	}
	if finished(counts) < counts.Total {
		if counts.Queued == 0 {
			// The last wave: a child's wake-up is lost when it lands while
			// this job runs (River leaves a running job alone), so look
			// more often rather than end up to a tick late.
			return river.JobSnooze(batchTailTick)
		}
		return river.JobSnooze(batchTick)
	}
	return e.finishBatch(ctx, batch, counts)
}

// finished counts the children in a final state.
func finished(c store.ChildCounts) int {
	n := 0
	for state, k := range c.ByState {
		if oprecord.Terminal(xdrlinkv1.OperationState(xdrlinkv1.OperationState_value[state])) {
			n += k
		}
	}
	return n
}

// cancelChildren cancels the queued children outright and asks the started
// ones to stop at their next step boundary.
func (e *Engine) cancelChildren(ctx context.Context, batch *oprecord.Record) error {
	err := e.st.InTx(ctx, func(tx store.Tx) error {
		if _, err := tx.LockBatch(ctx, batch.Row.ID, stateActionRequired); err != nil {
			return err
		}
		rows, err := tx.ClaimChildren(ctx, batch.Row.ID, -1)
		if err != nil {
			return err
		}
		for _, row := range rows {
			child, err := oprecord.Decode(row)
			if err != nil {
				return err
			}
			endChild(child, xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED, cancelledStatus(), "not started: the batch was cancelled")
			if err := child.Encode(); err != nil {
				return err
			}
			if _, err := tx.UpdateOperation(ctx, child.Row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return e.eachChild(ctx, batch.Row.ID, func(child *oprecord.Record) error {
		if child.Op.GetDone() || child.Metadata.GetCancelRequested() {
			return nil
		}
		_, err := e.Cancel(ctx, child.Row.ID)
		return err
	})
}

// eachChild calls fn with every child of batch, in id (request) order.
func (e *Engine) eachChild(ctx context.Context, batch string, fn func(*oprecord.Record) error) error {
	var rows []*store.Operation
	q := store.OperationQuery{Parent: batch, PageSize: store.MaxPageSize}
	for {
		page, err := e.st.ListOperations(ctx, q)
		if err != nil {
			return err
		}
		rows = append(rows, page.Operations...)
		if q.PageToken = page.NextPageToken; q.PageToken == "" {
			break
		}
	}
	slices.SortFunc(rows, func(a, b *store.Operation) int { return strings.Compare(a.ID, b.ID) })
	for _, row := range rows {
		rec, err := oprecord.Decode(row)
		if err != nil {
			return err
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// finishBatch ends the batch with its response, which lists every tenant's
// child and outcome: SUCCEEDED when every child succeeded, CANCELLED when
// the batch was cancelled, FAILED otherwise.
func (e *Engine) finishBatch(ctx context.Context, batch *oprecord.Record, counts store.ChildCounts) error {
	resp, err := e.batchResponse(ctx, batch)
	if err != nil {
		return err
	}
	md := batch.Metadata
	md.BatchProgress = oprecord.Progress(counts)
	switch {
	case md.GetCancelRequested():
		md.State = xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED
	case int(md.BatchProgress.GetSucceeded()) == counts.Total:
		md.State = xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED
	default:
		md.State = xdrlinkv1.OperationState_OPERATION_STATE_FAILED
	}
	md.EndTime, md.UpdateTime = timestamppb.Now(), timestamppb.Now()
	batch.Op.Done, batch.Op.Result = true, &longrunningpb.Operation_Response{Response: resp}
	for attempt := 0; ; attempt++ {
		if err := batch.Encode(); err != nil {
			return err
		}
		_, err := e.st.UpdateOperation(ctx, batch.Row)
		if errors.Is(err, store.ErrEtagMismatch) && attempt < 5 {
			// A cancel request landed meanwhile; the children are all done,
			// so it changes only the batch's final state.
			fresh, ferr := e.get(ctx, batch.Row.ID)
			if ferr != nil {
				return ferr
			}
			batch.Row.Version = fresh.Row.Version
			if fresh.Metadata.GetCancelRequested() {
				md.CancelRequested = true
				md.State = xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED
			}
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	e.ins.transition(ctx, md.GetKind(), md.GetState(), 1)
	e.log.InfoContext(ctx, "batch finished", "operation", batch.Op.GetName(), "state", md.State.String(),
		"succeeded", md.BatchProgress.GetSucceeded(), "failed", md.BatchProgress.GetFailed(), "cancelled", md.BatchProgress.GetCancelled())
	return nil
}

// batchResponse lists every child's outcome in request order: for
// onboarding the tenant's state, for verification the report's summary
// (or the child's error).
func (e *Engine) batchResponse(ctx context.Context, batch *oprecord.Record) (*anypb.Any, error) {
	if batch.Metadata.GetKind() == xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_VERIFY {
		resp := &xdrlinkv1.BatchVerifyResponse{}
		err := e.eachChild(ctx, batch.Row.ID, func(child *oprecord.Record) error {
			res := &xdrlinkv1.BatchVerifyResult{Tenant: child.Metadata.GetTenant(), Operation: child.Op.GetName(), Error: child.Op.GetError()}
			var report xdrlinkv1.IngestionReport
			if r := child.Op.GetResponse(); r != nil && r.UnmarshalTo(&report) == nil {
				res.Summary = verification.Summary(&report)
			}
			resp.Results = append(resp.Results, res)
			return nil
		})
		if err != nil {
			return nil, err
		}
		return anypb.New(resp)
	}
	resp := &xdrlinkv1.BatchOnboardResponse{}
	err := e.eachChild(ctx, batch.Row.ID, func(child *oprecord.Record) error {
		res := &xdrlinkv1.BatchResult{Tenant: child.Metadata.GetTenant(), Operation: child.Op.GetName()}
		var t xdrlinkv1.Tenant
		if r := child.Op.GetResponse(); r != nil && r.UnmarshalTo(&t) == nil {
			res.State = t.GetState()
		} else if row, err := e.st.GetTenant(ctx, strings.TrimPrefix(res.Tenant, tenantrecord.NamePrefix)); err == nil {
			res.State = xdrlinkv1.Tenant_State(xdrlinkv1.Tenant_State_value[row.State])
		}
		resp.Results = append(resp.Results, res)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return anypb.New(resp)
}
