package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/spf13/cobra"

	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/cli/progress"
	"github.com/xdrlink/xdrlink/internal/cli/render"
)

// waitFlags are the flags of commands that start an operation.
type waitFlags struct {
	wait    bool
	timeout time.Duration
	poll    time.Duration
}

func (w *waitFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&w.wait, "wait", false, "follow the operation until it is done; the exit code says how it ended")
	cmd.Flags().DurationVar(&w.timeout, "timeout", 0, "with --wait, stop waiting after this long (0: no limit)")
	cmd.Flags().DurationVar(&w.poll, "poll-interval", 500*time.Millisecond, "with --wait, how often to read the operation")
	_ = cmd.Flags().MarkHidden("poll-interval")
}

// started prints a started operation, or follows it with --wait. done is
// called with the finished operation to print its result.
func (a *app) started(ctx context.Context, c *client.Client, op *longrunningpb.Operation, w waitFlags, title string, done func(*longrunningpb.Operation) error) error {
	if !w.wait {
		if a.printer.Structured() {
			return a.printer.Message(op)
		}
		fmt.Fprintf(a.io.Out, "started %s\n", op.GetName())
		fmt.Fprintf(a.io.Out, "follow it: xdrlink operations watch %s\n", strings.TrimPrefix(op.GetName(), "operations/"))
		return nil
	}
	if w.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.timeout)
		defer cancel()
	}
	final, snap, err := a.track(ctx, c, op.GetName(), title, w.poll)
	if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		return err
	}
	if err != nil {
		// Stopped waiting: the operation goes on in the server.
		code := ExitTimeout
		switch {
		case snap.Counts.Failed > 0:
			code = ExitFailed
		case snap.Counts.ActionRequired > 0:
			code = ExitActionRequired
		}
		return exitWith(code, "stopped waiting for %s (%s); it goes on in the server", op.GetName(), snap.Counts)
	}
	if a.printer.Structured() {
		if err := a.printer.Message(final); err != nil {
			return err
		}
	} else {
		if err := a.reportFailures(ctx, c, final); err != nil {
			return err
		}
		if done != nil {
			if err := done(final); err != nil {
				return err
			}
		}
	}
	switch {
	case snap.Counts.Failed > 0:
		return exitWith(ExitFailed, "%s: %d of %d failed", final.GetName(), snap.Counts.Failed, snap.Counts.Total)
	case snap.Counts.Cancelled > 0:
		return exitWith(ExitCancelled, "%s: %d of %d cancelled", final.GetName(), snap.Counts.Cancelled, snap.Counts.Total)
	}
	return nil
}

// track follows name with a bar on a terminal, plain lines otherwise. The
// progress goes to stderr so that stdout stays the result.
func (a *app) track(ctx context.Context, c *client.Client, name, title string, poll time.Duration) (*longrunningpb.Operation, progress.Snapshot, error) {
	var d progress.Display = &progress.Plain{W: a.io.Err}
	if isTerminal(a.io.Err) {
		d = progress.NewBar(a.io.Err, title)
	}
	t := &progress.Tracker{Ops: c.Operations, Display: d, Interval: poll}
	return t.Run(ctx, name)
}

// reportFailures prints why each failed tenant failed: the operation's own
// error, or for a batch each failed child's.
func (a *app) reportFailures(ctx context.Context, c *client.Client, op *longrunningpb.Operation) error {
	md := metadataOf(op)
	if md.GetBatchProgress() == nil {
		if e := op.GetError(); e != nil {
			fmt.Fprintf(a.io.Out, "%s %s: %s\n", md.GetTenant(), a.opState(md.GetState()), e.GetMessage())
		}
		return nil
	}
	if md.GetBatchProgress().GetFailed()+md.GetBatchProgress().GetCancelled() == 0 {
		fmt.Fprintf(a.io.Out, "all %d succeeded\n", md.GetBatchProgress().GetTotal())
		return nil
	}
	var rows [][]string
	for _, state := range []string{"FAILED", "CANCELLED"} {
		req := &longrunningpb.ListOperationsRequest{Filter: fmt.Sprintf("parent=%q AND state=%s", op.GetName(), state), PageSize: 1000}
		for {
			page, err := c.Operations.ListOperations(ctx, req)
			if err != nil {
				return err
			}
			for _, kid := range page.GetOperations() {
				kmd := metadataOf(kid)
				step := ""
				for _, s := range kmd.GetSteps() {
					if s.GetState() == xdrlinkv1.StepState_STEP_STATE_FAILED {
						step = short(s.GetKind(), "STEP_KIND_")
					}
				}
				rows = append(rows, []string{strings.TrimPrefix(kmd.GetTenant(), "tenants/"), a.opState(kmd.GetState()), step,
					a.printer.Paint(kid.GetError().GetMessage(), render.Bad)})
			}
			if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
				break
			}
		}
	}
	return a.printer.Rows([]string{"TENANT", "STATE", "STEP", "WHY"}, rows)
}
