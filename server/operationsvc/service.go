package operationsvc

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/apierr"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
	"github.com/xdrlink/xdrlink/workflow/oprecord"
)

// Controller is the workflow engine's side of cancel and resume.
type Controller interface {
	// Cancel asks the operation to stop at its next step boundary and
	// returns it as now stored.
	Cancel(ctx context.Context, id string) (*oprecord.Record, error)
	// Resume continues an operation waiting for a human step
	// (userAssertion optional, for on-behalf-of).
	Resume(ctx context.Context, id, userAssertion string) (*oprecord.Record, error)
}

// Store is what the service needs of a store backend.
type Store interface {
	store.OperationReader
	// DeleteOperation removes a Done operation: store.ErrNotFound, or an
	// error wrapping store.ErrConflict when it is not Done.
	DeleteOperation(ctx context.Context, id string) error
}

// Options tune waiting and watching.
type Options struct {
	// PollInterval is how often Wait and Watch re-read the operation;
	// default 250ms.
	PollInterval time.Duration
	// MaxWait caps WaitOperation's timeout; default 10m.
	MaxWait time.Duration
}

// Service implements longrunningpb.OperationsServer and
// xdrlinkv1.OperationServiceServer.
type Service struct {
	longrunningpb.UnimplementedOperationsServer
	xdrlinkv1.UnimplementedOperationServiceServer
	store Store
	ctl   Controller
	opts  Options
}

var (
	_ longrunningpb.OperationsServer   = (*Service)(nil)
	_ xdrlinkv1.OperationServiceServer = (*Service)(nil)
)

// New returns the service over st, cancelling and resuming through ctl.
func New(st Store, ctl Controller, opts Options) *Service {
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 10 * time.Minute
	}
	return &Service{store: st, ctl: ctl, opts: opts}
}

// namePattern is the operation name pattern of the API (see
// WatchOperationRequest). The google.longrunning requests carry no
// validation rules, so the service checks names itself.
var namePattern = regexp.MustCompile(`^operations/[a-z0-9][a-z0-9-]{0,62}$`)

// deadlineMargin is how long before the call's deadline WaitOperation
// answers, so the caller gets the operation rather than DEADLINE_EXCEEDED.
const deadlineMargin = 100 * time.Millisecond

// parseName returns the id of an operation name.
func parseName(name string) (string, error) {
	if !namePattern.MatchString(name) {
		return "", apierr.InvalidArgument(apierr.Violation("name",
			"must be operations/{id} with an id of lower-case letters, digits and hyphens (at most 63), got "+quote(name)))
	}
	return strings.TrimPrefix(name, oprecord.NamePrefix), nil
}

// quote keeps a caller's bad value short and printable in a message.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// read returns the operation as stored now, if ctx's caller may see it.
func (s *Service) read(ctx context.Context, id string) (*oprecord.Record, error) {
	row, err := s.authorize(ctx, id, authz.Viewer)
	if err != nil {
		return nil, err
	}
	return s.view(ctx, row)
}

// authorize reads operation id and checks that ctx's caller holds role
// need over it; an operation the caller may not see is not found.
func (s *Service) authorize(ctx context.Context, id string, need authz.Role) (*store.Operation, error) {
	name := oprecord.NamePrefix + id
	row, err := s.store.GetOperation(ctx, id)
	if err != nil {
		return nil, apierr.ForResource(err, name)
	}
	if err := authz.CheckOperation(ctx, name, row, need); err != nil {
		return nil, err
	}
	return row, nil
}

// view decodes a stored operation for a client. An unfinished batch's
// progress is counted from its children now: the batch's own record is
// not rewritten as they change.
func (s *Service) view(ctx context.Context, row *store.Operation) (*oprecord.Record, error) {
	rec, err := oprecord.Decode(row)
	if err != nil || !rec.IsBatch() || rec.Op.GetDone() {
		return rec, err
	}
	counts, err := s.store.CountChildren(ctx, row.ID)
	if err != nil {
		return nil, apierr.ForResource(err, rec.Op.GetName())
	}
	rec.Metadata.BatchProgress = oprecord.Progress(counts)
	return rec, rec.Encode()
}

// next polls until the operation's Version moves past rec's (or, for a
// batch, its progress changes) and returns it as it is then, or ctx's
// error once ctx ends.
func (s *Service) next(ctx context.Context, rec *oprecord.Record) (*oprecord.Record, error) {
	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
		row, err := s.store.GetOperation(ctx, rec.Row.ID)
		if ctx.Err() != nil {
			return nil, ctx.Err() // the read was cut short, not failed
		}
		if err != nil {
			return nil, apierr.ForResource(err, rec.Op.GetName())
		}
		if row.Version != rec.Row.Version {
			return s.view(ctx, row)
		}
		if rec.IsBatch() {
			later, err := s.view(ctx, row)
			if err != nil || !proto.Equal(later.Metadata.GetBatchProgress(), rec.Metadata.GetBatchProgress()) {
				return later, err
			}
		}
	}
}

// controllerErr passes on an error the Controller already made an API
// status (e.g. OPERATION_NOT_RESUMABLE) unchanged, and names the operation
// in any other, so a store sentinel maps to its status (e.g. NOT_FOUND).
// Wrapping a status error would prefix its message with the name.
func controllerErr(err error, name string) error {
	var st interface{ GRPCStatus() *status.Status }
	if errors.As(err, &st) {
		return err
	}
	return apierr.ForResource(err, name)
}

// GetOperation returns one operation.
func (s *Service) GetOperation(ctx context.Context, req *longrunningpb.GetOperationRequest) (*longrunningpb.Operation, error) {
	id, err := parseName(req.GetName())
	if err != nil {
		return nil, err
	}
	rec, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	return rec.Op, nil
}

// ListOperations returns a page of operations, newest first.
func (s *Service) ListOperations(ctx context.Context, req *longrunningpb.ListOperationsRequest) (*longrunningpb.ListOperationsResponse, error) {
	// google.longrunning names the collection in `name`; ours is the single
	// top-level "operations", which a caller may also leave out.
	if n := req.GetName(); n != "" && n != "operations" {
		return nil, apierr.InvalidArgument(apierr.Violation("name", `must be "operations" or empty, got `+quote(n)))
	}
	if req.GetPageSize() < 0 {
		return nil, apierr.InvalidArgument(apierr.Violation("page_size", "must not be negative"))
	}
	q, err := parseFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	q.PageSize, q.PageToken = int(req.GetPageSize()), req.GetPageToken()
	q.Scope = authz.OperationScope(ctx)
	page, err := s.store.ListOperations(ctx, q)
	if err != nil {
		return nil, apierr.ForResource(err, "operations")
	}
	resp := &longrunningpb.ListOperationsResponse{NextPageToken: page.NextPageToken}
	for _, row := range page.Operations {
		rec, err := s.view(ctx, row)
		if err != nil {
			return nil, err
		}
		resp.Operations = append(resp.Operations, rec.Op)
	}
	return resp, nil
}

// DeleteOperation forgets a finished operation. An unfinished one is
// refused rather than cancelled: google.longrunning's delete never cancels,
// and deleting the row under a running operation would lose its progress.
func (s *Service) DeleteOperation(ctx context.Context, req *longrunningpb.DeleteOperationRequest) (*emptypb.Empty, error) {
	id, err := parseName(req.GetName())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, id, authz.Operator); err != nil {
		return nil, err
	}
	err = s.store.DeleteOperation(ctx, id)
	if errors.Is(err, store.ErrConflict) {
		return nil, &apierr.Error{Code: codes.FailedPrecondition, Reason: xdrlinkv1.ErrorReason_ERROR_REASON_OPERATION_NOT_DONE,
			Message:  req.GetName() + " is not done: cancel it first (CancelOperation, POST /v1/" + req.GetName() + ":cancel), wait until it is done, then delete it",
			Metadata: map[string]string{"resource": req.GetName()}}
	}
	if err != nil {
		return nil, apierr.ForResource(err, req.GetName())
	}
	return &emptypb.Empty{}, nil
}

// CancelOperation asks the operation to stop at its next step boundary. As
// in google.longrunning, it returns at once; the operation becomes done
// (state CANCELLED) later, which Get, Wait or Watch show.
func (s *Service) CancelOperation(ctx context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	id, err := parseName(req.GetName())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, id, authz.Operator); err != nil {
		return nil, err
	}
	if _, err := s.ctl.Cancel(ctx, id); err != nil {
		return nil, controllerErr(err, req.GetName())
	}
	return &emptypb.Empty{}, nil
}

// WaitOperation returns the operation once it is done, or as it is when the
// timeout (capped at MaxWait) or the call's deadline comes first.
func (s *Service) WaitOperation(ctx context.Context, req *longrunningpb.WaitOperationRequest) (*longrunningpb.Operation, error) {
	id, err := parseName(req.GetName())
	if err != nil {
		return nil, err
	}
	wait := s.opts.MaxWait
	if t := req.GetTimeout(); t != nil {
		if err := t.CheckValid(); err != nil {
			return nil, apierr.InvalidArgument(apierr.Violation("timeout", err.Error()))
		}
		if d := t.AsDuration(); d < 0 {
			return nil, apierr.InvalidArgument(apierr.Violation("timeout", "must not be negative"))
		} else if d < wait {
			wait = d
		}
	}
	if dl, ok := ctx.Deadline(); ok {
		wait = max(0, min(wait, time.Until(dl)-deadlineMargin))
	}
	rec, err := s.read(ctx, id)
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	for !rec.Row.Done {
		later, err := s.next(waitCtx, rec)
		if waitCtx.Err() != nil {
			return rec.Op, nil // time is up: the operation as it is
		}
		if err != nil {
			return nil, err
		}
		rec = later
	}
	return rec.Op, nil
}

// ResumeOperation continues an operation paused for a human step.
func (s *Service) ResumeOperation(ctx context.Context, req *xdrlinkv1.ResumeOperationRequest) (*longrunningpb.Operation, error) {
	id, err := parseName(req.GetName())
	if err != nil {
		return nil, err
	}
	if _, err := s.authorize(ctx, id, authz.Operator); err != nil {
		return nil, err
	}
	rec, err := s.ctl.Resume(ctx, id, req.GetUserAssertion())
	if err != nil {
		return nil, controllerErr(err, req.GetName())
	}
	return rec.Op, nil
}

// WatchOperation sends the operation now and after each change, and ends
// after sending it done.
func (s *Service) WatchOperation(req *xdrlinkv1.WatchOperationRequest, stream grpc.ServerStreamingServer[longrunningpb.Operation]) error {
	ctx := stream.Context()
	id, err := parseName(req.GetName())
	if err != nil {
		return err
	}
	rec, err := s.read(ctx, id)
	for ; err == nil; rec, err = s.next(ctx, rec) {
		if err := stream.Send(rec.Op); err != nil {
			return err
		}
		if rec.Row.Done {
			return nil
		}
	}
	return err
}
