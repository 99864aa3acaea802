package cli

import (
	"errors"
	"fmt"
	"io"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/spf13/cobra"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

func (a *app) operationsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "operations",
		Aliases: []string{"operation", "ops", "op"},
		Short:   "List, show, cancel, resume and watch long-running operations",
		Example: `  xdrlink operations list --filter 'state = ACTION_REQUIRED'
  xdrlink operations watch 0f3a9c
  xdrlink operations resume 0f3a9c`,
	}
	var filter string
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List operations, newest first, optionally filtered",
		Long:  "--filter takes terms on tenant, kind, state and parent joined by AND, e.g. parent=\"operations/<batch>\" to list a batch's children.",
		Example: `  xdrlink operations list
  xdrlink operations list --filter 'tenant="contoso" AND state=SUCCEEDED'
  xdrlink operations list --filter 'parent="operations/0f3a9c" AND state=FAILED' -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			all := &longrunningpb.ListOperationsResponse{}
			req := &longrunningpb.ListOperationsRequest{Name: "operations", Filter: filter, PageSize: int32(min(limit, 1000))}
			for len(all.Operations) < limit {
				page, err := c.Operations.ListOperations(cmd.Context(), req)
				if err != nil {
					return err
				}
				all.Operations = append(all.Operations, page.GetOperations()...)
				if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
					break
				}
			}
			if len(all.Operations) > limit {
				all.Operations = all.Operations[:limit]
			}
			if a.printer.Structured() {
				return a.printer.Message(all)
			}
			rows := make([][]string, len(all.Operations))
			for i, op := range all.Operations {
				rows[i] = a.operationRow(op)
			}
			return a.printer.Rows(operationHeader, rows)
		},
	}
	list.Flags().StringVar(&filter, "filter", "", "filter on tenant, kind, state, parent")
	list.Flags().IntVar(&limit, "limit", 100, "most operations to list")

	get := &cobra.Command{
		Use:     "get OPERATION",
		Short:   "Show an operation: its steps, what each did, and any required action",
		Example: "  xdrlink operations get 0f3a9c\n  xdrlink operations get operations/0f3a9c -o yaml",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			op, err := c.Operations.GetOperation(cmd.Context(), &longrunningpb.GetOperationRequest{Name: operationName(args[0])})
			if err != nil {
				return err
			}
			return a.printOperation(op)
		},
	}
	cancel := &cobra.Command{
		Use:     "cancel OPERATION...",
		Short:   "Ask operations to stop at their next step boundary",
		Example: "  xdrlink operations cancel 0f3a9c\n  xdrlink operations cancel 0f3a9c 7be210",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			for _, n := range args {
				if _, err := c.Operations.CancelOperation(cmd.Context(), &longrunningpb.CancelOperationRequest{Name: operationName(n)}); err != nil {
					return err
				}
				fmt.Fprintf(a.io.Out, "cancellation requested: %s\n", operationName(n))
			}
			return nil
		},
	}
	var w waitFlags
	resume := &cobra.Command{
		Use:     "resume OPERATION",
		Short:   "Go on with an operation once the person it waited for has acted",
		Example: "  xdrlink operations resume 0f3a9c\n  xdrlink operations resume 0f3a9c --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			op, err := c.OperationControl.ResumeOperation(cmd.Context(), &xdrlinkv1.ResumeOperationRequest{Name: operationName(args[0])})
			if err != nil {
				return err
			}
			return a.started(cmd.Context(), c, op, w, "resume", nil)
		},
	}
	w.register(resume)
	var ww waitFlags
	watch := &cobra.Command{
		Use:   "watch OPERATION",
		Short: "Follow an operation until it is done (with -o json: every change as a JSON line)",
		Long: `watch shows the operation's progress until it is done: a bar on a terminal,
a line per change otherwise, and each tenant that waits for a person. With
-o json it streams WatchOperation instead: one protojson line per change.
Exit codes as for onboard --wait.`,
		Example: `  xdrlink operations watch 0f3a9c
  xdrlink operations watch 0f3a9c -o json | jq .metadata.state`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			name := operationName(args[0])
			if a.printer.Structured() {
				stream, err := c.OperationControl.WatchOperation(cmd.Context(), &xdrlinkv1.WatchOperationRequest{Name: name})
				if err != nil {
					return err
				}
				for {
					op, err := stream.Recv()
					if errors.Is(err, io.EOF) {
						return nil
					}
					if err != nil {
						return err
					}
					if err := a.printer.JSONLine(op); err != nil {
						return err
					}
				}
			}
			ww.wait = true
			op, err := c.Operations.GetOperation(cmd.Context(), &longrunningpb.GetOperationRequest{Name: name})
			if err != nil {
				return err
			}
			return a.started(cmd.Context(), c, op, ww, "watch", nil)
		},
	}
	watch.Flags().DurationVar(&ww.timeout, "timeout", 0, "stop watching after this long (0: no limit)")
	ww.poll = 500 * time.Millisecond
	cmd.AddCommand(list, get, cancel, resume, watch)
	return cmd
}
