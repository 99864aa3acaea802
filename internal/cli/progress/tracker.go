package progress

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// Counts are an operation's children by state; a single operation counts
// as a batch of one.
type Counts struct {
	Total, Pending, Running, ActionRequired, Succeeded, Failed, Cancelled int
}

// Finished is how many have ended.
func (c Counts) Finished() int { return c.Succeeded + c.Failed + c.Cancelled }

func (c Counts) String() string {
	return fmt.Sprintf("%d/%d done: %d succeeded, %d failed, %d cancelled, %d running, %d need action, %d pending",
		c.Finished(), c.Total, c.Succeeded, c.Failed, c.Cancelled, c.Running, c.ActionRequired, c.Pending)
}

// Snapshot is where an operation stands.
type Snapshot struct {
	Operation string
	Done      bool
	State     xdrlinkv1.OperationState
	Counts    Counts
}

// Action is a person's step one tenant waits for.
type Action struct {
	Tenant, Operation string
	Who, What         string
	// URI and Code for a device-code sign-in; URI alone for a consent or
	// portal step.
	URI, Code string
	Expires   time.Time
}

func (a Action) String() string {
	s := a.Tenant + ": " + a.Who
	switch {
	case a.Code != "":
		// What repeats the URL and the code; these are what a person needs.
		s += fmt.Sprintf(": open %s and enter code %s", a.URI, a.Code)
	case a.URI != "":
		s += ": " + a.What + ": open " + a.URI
	case a.What != "":
		s += ": " + a.What
	}
	if !a.Expires.IsZero() {
		s += fmt.Sprintf(" (expires %s)", a.Expires.Local().Format("15:04:05"))
	}
	return s + " [" + a.Operation + "]"
}

// Display shows progress.
type Display interface {
	// Update is called on every poll; a display shows what changed.
	Update(Snapshot)
	// NeedsPerson is called once per new required action.
	NeedsPerson(Action)
	// Close ends the display (the bar's last frame is drawn).
	Close()
}

// Tracker polls an operation and feeds a Display.
type Tracker struct {
	Ops      longrunningpb.OperationsClient
	Display  Display
	Interval time.Duration
	seen     map[string]bool
}

// Run follows name until it is done or ctx ends; it returns the last state
// seen, and ctx's error when it ended first.
func (t *Tracker) Run(ctx context.Context, name string) (*longrunningpb.Operation, Snapshot, error) {
	if t.Interval == 0 {
		t.Interval = 500 * time.Millisecond
	}
	t.seen = map[string]bool{}
	defer t.Display.Close()
	var (
		last *longrunningpb.Operation
		snap Snapshot
	)
	for {
		op, err := t.Ops.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
		if err != nil {
			if ctx.Err() != nil && last != nil {
				return last, snap, ctx.Err()
			}
			return last, snap, err
		}
		last = op
		md := &xdrlinkv1.OperationMetadata{}
		if err := op.GetMetadata().UnmarshalTo(md); err != nil {
			return op, snap, fmt.Errorf("metadata of %s: %w", name, err)
		}
		snap = SnapshotOf(op, md)
		if err := t.actions(ctx, op.GetName(), md, snap); err != nil && ctx.Err() == nil {
			return op, snap, err
		}
		t.Display.Update(snap)
		if op.GetDone() {
			return op, snap, nil
		}
		select {
		case <-ctx.Done():
			return op, snap, ctx.Err()
		case <-time.After(t.Interval):
		}
	}
}

// SnapshotOf summarises an operation.
func SnapshotOf(op *longrunningpb.Operation, md *xdrlinkv1.OperationMetadata) Snapshot {
	s := Snapshot{Operation: op.GetName(), Done: op.GetDone(), State: md.GetState()}
	if p := md.GetBatchProgress(); p != nil {
		s.Counts = Counts{Total: int(p.GetTotal()), Pending: int(p.GetPending()), Running: int(p.GetRunning()),
			ActionRequired: int(p.GetActionRequired()), Succeeded: int(p.GetSucceeded()), Failed: int(p.GetFailed()), Cancelled: int(p.GetCancelled())}
		return s
	}
	c := Counts{Total: 1}
	switch md.GetState() {
	case xdrlinkv1.OperationState_OPERATION_STATE_RUNNING:
		c.Running = 1
	case xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED:
		c.ActionRequired = 1
	case xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED:
		c.Succeeded = 1
	case xdrlinkv1.OperationState_OPERATION_STATE_FAILED:
		c.Failed = 1
	case xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED:
		c.Cancelled = 1
	default:
		c.Pending = 1
	}
	s.Counts = c
	return s
}

// actions reports required actions not reported before: the operation's
// own, or for a batch its children's (listed only while some wait).
func (t *Tracker) actions(ctx context.Context, name string, md *xdrlinkv1.OperationMetadata, snap Snapshot) error {
	if md.GetBatchProgress() == nil {
		t.report(name, md)
		return nil
	}
	if snap.Counts.ActionRequired == 0 {
		return nil
	}
	req := &longrunningpb.ListOperationsRequest{Filter: fmt.Sprintf("parent=%q AND state=ACTION_REQUIRED", name), PageSize: 1000}
	for {
		page, err := t.Ops.ListOperations(ctx, req)
		if err != nil {
			return fmt.Errorf("list the children of %s waiting for a person: %w", name, err)
		}
		for _, kid := range page.GetOperations() {
			kmd := &xdrlinkv1.OperationMetadata{}
			if kid.GetMetadata().UnmarshalTo(kmd) == nil {
				t.report(kid.GetName(), kmd)
			}
		}
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			return nil
		}
	}
}

func (t *Tracker) report(op string, md *xdrlinkv1.OperationMetadata) {
	for _, st := range md.GetSteps() {
		ra := st.GetRequiredAction()
		if st.GetState() != xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED || ra == nil {
			continue
		}
		a := Action{Tenant: md.GetTenant(), Operation: op, Who: ra.GetWho(), What: ra.GetWhat(), Expires: ra.GetExpireTime().AsTime()}
		if ra.GetExpireTime() == nil {
			a.Expires = time.Time{}
		}
		switch {
		case ra.GetDeviceCode() != nil:
			a.URI, a.Code = ra.GetDeviceCode().GetVerificationUri(), ra.GetDeviceCode().GetUserCode()
		case ra.GetAdminConsent() != nil:
			a.URI = ra.GetAdminConsent().GetConsentUrl()
		case ra.GetPortalStep() != nil:
			a.URI = ra.GetPortalStep().GetUrl()
		}
		key := op + "|" + a.Code + "|" + a.URI
		if !t.seen[key] {
			t.seen[key] = true
			t.Display.NeedsPerson(a)
		}
	}
}
