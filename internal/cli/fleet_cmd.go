package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/cli/render"
)

func (a *app) checkCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "check TENANT",
		Short:             "Run the prerequisite checks for a tenant now (changes nothing)",
		Long:              "check runs every prerequisite check against Azure and prints each result with its remedy. It exits 3 when the tenant is not ready.",
		Example:           "  xdrlink check contoso\n  xdrlink check margies-travel -o json",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			r, err := c.Onboarding.CheckPrerequisites(cmd.Context(), &xdrlinkv1.CheckPrerequisitesRequest{Name: tenantName(args[0])})
			if err != nil {
				return err
			}
			if a.printer.Structured() {
				if err := a.printer.Message(r); err != nil {
					return err
				}
			} else {
				var rows [][]string
				for _, ch := range r.GetChecks() {
					tone := map[xdrlinkv1.PrerequisiteCheck_Result]render.Tone{
						xdrlinkv1.PrerequisiteCheck_RESULT_PASSED: render.Good, xdrlinkv1.PrerequisiteCheck_RESULT_WARNING: render.Warn,
						xdrlinkv1.PrerequisiteCheck_RESULT_FAILED: render.Bad, xdrlinkv1.PrerequisiteCheck_RESULT_UNKNOWN: render.Warn,
					}[ch.GetResult()]
					detail := ch.GetMessage()
					if ch.GetRemediation() != "" {
						detail += " → " + ch.GetRemediation()
					}
					rows = append(rows, []string{ch.GetId(), a.printer.Paint(short(ch.GetResult(), "RESULT_"), tone), detail})
				}
				if err := a.printer.Rows([]string{"CHECK", "RESULT", "DETAIL"}, rows); err != nil {
					return err
				}
			}
			if !r.GetReady() {
				return exitWith(ExitFailed, "%s is not ready to onboard", r.GetTenant())
			}
			return nil
		},
	}
}

// maxBatch is the most tenants one batch call names.
const maxBatch = 10000

// selection is how a fleet command names its tenants.
type selection struct {
	filter string
	all    bool
}

func (s *selection) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.filter, "filter", "", "select tenants by AIP-160 filter instead of names, e.g. 'labels.kind = \"healthy\"'")
	cmd.Flags().BoolVar(&s.all, "all", false, "every tenant the caller may see")
}

// names resolves the selection: explicit names, or (for --all) every
// tenant listed; filter is passed to the batch call as it is.
func (a *app) batchTargets(cmd *cobra.Command, args []string, s selection) (names []string, filter string, err error) {
	set := 0
	for _, b := range []bool{len(args) > 0, s.filter != "", s.all} {
		if b {
			set++
		}
	}
	if set != 1 {
		return nil, "", errors.New("name the tenants, or give --filter or --all (one of them)")
	}
	if s.filter != "" {
		return nil, s.filter, nil
	}
	if s.all {
		c, err := a.dial(cmd.Context())
		if err != nil {
			return nil, "", err
		}
		ts, err := listTenants(cmd.Context(), c, "")
		if err != nil {
			return nil, "", err
		}
		if len(ts) == 0 {
			return nil, "", errors.New("no tenants registered")
		}
		if len(ts) > maxBatch {
			return nil, "", fmt.Errorf("%d tenants: a batch takes at most %d; select them with --filter instead", len(ts), maxBatch)
		}
		for _, t := range ts {
			names = append(names, t.GetName())
		}
		return names, "", nil
	}
	for _, n := range args {
		names = append(names, tenantName(n))
	}
	return names, "", nil
}

func (a *app) onboardCommand() *cobra.Command {
	var sel selection
	var w waitFlags
	var maxConcurrency int32
	var validateOnly bool
	cmd := &cobra.Command{
		Use:   "onboard [TENANT...]",
		Short: "Connect Defender XDR to Sentinel for one tenant, several, a filter, or all",
		Long: `onboard starts an onboarding operation: one name starts Onboard, several
names, --filter or --all start one BatchOnboard with a child per tenant.
With --wait it shows the progress (a bar on a terminal, lines otherwise) and
prints, as they appear, the tenants that wait for a person: who must act,
where, and the device code. Exit codes with --wait: 0 all succeeded, 3 some
failed, 4 some cancelled, 5 still waiting for a person at --timeout, 6 still
running at --timeout.`,
		Example: `  xdrlink onboard contoso --wait
  xdrlink onboard --filter 'labels.kind = "healthy"' --wait --max-concurrency 10
  xdrlink onboard --all --wait --timeout 30m
  xdrlink onboard fabrikam --validate-only -o yaml`,
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, filter, err := a.batchTargets(cmd, args, sel)
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			var op *longrunningpb.Operation
			if len(names) == 1 && filter == "" && len(args) == 1 {
				op, err = c.Onboarding.Onboard(cmd.Context(), &xdrlinkv1.OnboardRequest{Name: names[0], ValidateOnly: validateOnly})
			} else {
				if validateOnly {
					return errors.New("--validate-only plans one tenant at a time")
				}
				op, err = c.Onboarding.BatchOnboard(cmd.Context(), &xdrlinkv1.BatchOnboardRequest{Tenants: names, Filter: filter, MaxConcurrency: maxConcurrency})
			}
			if err != nil {
				return err
			}
			if validateOnly {
				if a.printer.Structured() {
					return a.printer.Message(op)
				}
				return a.printOperation(op)
			}
			return a.started(cmd.Context(), c, op, w, "onboard", nil)
		},
	}
	sel.register(cmd)
	w.register(cmd)
	cmd.Flags().Int32Var(&maxConcurrency, "max-concurrency", 0, "most tenants onboarded at once in a batch (0: the server's default)")
	cmd.Flags().BoolVar(&validateOnly, "validate-only", false, "plan only: list each step and the Azure writes it would make")
	return cmd
}

func (a *app) offboardCommand() *cobra.Command {
	var w waitFlags
	cmd := &cobra.Command{
		Use:   "offboard TENANT",
		Short: "Disconnect a tenant and restore what onboarding turned off",
		Example: `  xdrlink offboard contoso --wait
  xdrlink offboard contoso   # prints the operation and returns`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			op, err := c.Onboarding.Offboard(cmd.Context(), &xdrlinkv1.OffboardRequest{Name: tenantName(args[0])})
			if err != nil {
				return err
			}
			return a.started(cmd.Context(), c, op, w, "offboard", nil)
		},
	}
	w.register(cmd)
	return cmd
}

func (a *app) tablesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tables",
		Short: "The advanced-hunting table catalog and each tenant's table settings",
		Example: `  xdrlink tables list
  xdrlink tables get contoso
  xdrlink tables set contoso DeviceProcessEvents DeviceNetworkEvents --wait`,
	}
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the advanced-hunting tables xdrlink knows",
		Example: "  xdrlink tables list\n  xdrlink tables list -o json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			resp, err := c.Tables.ListTables(cmd.Context(), &xdrlinkv1.ListTablesRequest{PageSize: 1000})
			if err != nil {
				return err
			}
			if a.printer.Structured() {
				return a.printer.Message(resp)
			}
			var rows [][]string
			for _, t := range resp.GetTables() {
				rows = append(rows, []string{t.GetName(), short(t.GetProduct(), "PRODUCT_"), short(t.GetEnablement(), "ENABLEMENT_")})
			}
			return a.printer.Rows([]string{"TABLE", "PRODUCT", "ENABLEMENT"}, rows)
		},
	}
	get := &cobra.Command{
		Use:               "get TENANT",
		Short:             "Show a tenant's desired and observed tables, and drift",
		Example:           "  xdrlink tables get contoso",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := c.Tables.GetTableSettings(cmd.Context(), &xdrlinkv1.GetTableSettingsRequest{Name: tenantName(args[0]) + "/tableSettings"})
			if err != nil {
				return err
			}
			if a.printer.Structured() {
				return a.printer.Message(ts)
			}
			var rows [][]string
			for _, t := range ts.GetTables() {
				drift := ""
				if t.GetDrift() {
					drift = a.printer.Paint("drift", render.Bad)
				}
				rows = append(rows, []string{t.GetTable(), fmt.Sprint(t.GetDesired()), short(t.GetObservation().GetState(), "OBSERVED_STATE_"),
					short(t.GetEnablement(), "ENABLEMENT_"), drift})
			}
			return a.printer.Rows([]string{"TABLE", "DESIRED", "OBSERVED", "ENABLEMENT", "DRIFT"}, rows)
		},
	}
	var w waitFlags
	set := &cobra.Command{
		Use:   "set TENANT [TABLE...]",
		Short: "Replace a tenant's desired tables and apply them (no tables: stream none)",
		Example: `  xdrlink tables set contoso DeviceProcessEvents DeviceNetworkEvents --wait
  xdrlink tables set contoso   # stop streaming every table`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			op, err := c.Tables.UpdateTableSettings(cmd.Context(), &xdrlinkv1.UpdateTableSettingsRequest{
				TableSettings: &xdrlinkv1.TableSettings{Name: tenantName(args[0]) + "/tableSettings", DesiredTables: args[1:]},
				UpdateMask:    &fieldmaskpb.FieldMask{Paths: []string{"desired_tables"}},
			})
			if err != nil {
				return err
			}
			return a.started(cmd.Context(), c, op, w, "tables", nil)
		},
	}
	w.register(set)
	cmd.AddCommand(list, get, set)
	return cmd
}

func (a *app) verifyCommand() *cobra.Command {
	var sel selection
	var w waitFlags
	var windowDays, maxConcurrency int32
	cmd := &cobra.Command{
		Use:   "verify [TENANT...]",
		Short: "Check that Defender XDR data arrives in Sentinel, per signal and day",
		Long: `verify starts a verification: one name starts Verify, several names, --filter
or --all start BatchVerify. With --wait, one tenant's report is drawn: per
signal (incidents, alerts per product, each table) the daily rows over the
window as a sparkline, the total, the newest row and the verdict. Exit codes
as for onboard.`,
		Example: `  xdrlink verify contoso --wait
  xdrlink verify --filter 'state = ONBOARDED' --wait
  xdrlink verify best-for-you-organics --wait -o json`,
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, filter, err := a.batchTargets(cmd, args, sel)
			if err != nil {
				return err
			}
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			if len(names) == 1 && filter == "" && len(args) == 1 {
				op, err := c.Verifications.Verify(cmd.Context(), &xdrlinkv1.VerifyRequest{Name: names[0], WindowDays: windowDays})
				if err != nil {
					return err
				}
				return a.started(cmd.Context(), c, op, w, "verify", a.printVerification)
			}
			op, err := c.Verifications.BatchVerify(cmd.Context(), &xdrlinkv1.BatchVerifyRequest{Tenants: names, Filter: filter, WindowDays: windowDays, MaxConcurrency: maxConcurrency})
			if err != nil {
				return err
			}
			return a.started(cmd.Context(), c, op, w, "verify", a.printBatchVerification)
		},
	}
	sel.register(cmd)
	w.register(cmd)
	cmd.Flags().Int32Var(&windowDays, "window-days", 0, "days of history to judge (0: the server's default, 14)")
	cmd.Flags().Int32Var(&maxConcurrency, "max-concurrency", 0, "most tenants verified at once in a batch")
	return cmd
}

func (a *app) printVerification(op *longrunningpb.Operation) error {
	r := &xdrlinkv1.IngestionReport{}
	if op.GetResponse() == nil || op.GetResponse().UnmarshalTo(r) != nil {
		return nil
	}
	fmt.Fprintf(a.io.Out, "%s  %s  (%d days to %s)\n", r.GetName(), a.verdict(r.GetVerdict()), r.GetWindowDays(), when(r.GetWindowEndTime()))
	var rows [][]string
	for _, s := range r.GetSignals() {
		name := s.GetTable()
		switch s.GetKind() {
		case xdrlinkv1.SignalReport_KIND_INCIDENTS:
			name = "incidents"
		case xdrlinkv1.SignalReport_KIND_ALERTS:
			name = "alerts"
			if s.GetProduct() != "" {
				name += " " + s.GetProduct()
			}
		}
		counts := make([]int64, len(s.GetDaily()))
		for i, d := range s.GetDaily() {
			counts[i] = d.GetCount()
		}
		rows = append(rows, []string{name, render.Sparkline(counts), fmt.Sprint(s.GetTotal()), when(s.GetLastReceivedTime()), a.verdict(s.GetVerdict()), s.GetMessage()})
	}
	if err := a.printer.Rows([]string{"SIGNAL", "DAILY", "TOTAL", "LAST ROW", "VERDICT", "NOTE"}, rows); err != nil {
		return err
	}
	for _, cc := range r.GetConfiguration() {
		if !cc.GetOk() {
			fmt.Fprintln(a.io.Out, a.printer.Paint(fmt.Sprintf("drift %s: %s", short(cc.GetAspect(), "ASPECT_"), cc.GetMessage()), render.Bad))
		}
	}
	return nil
}

func (a *app) printBatchVerification(op *longrunningpb.Operation) error {
	r := &xdrlinkv1.BatchVerifyResponse{}
	if op.GetResponse() == nil || op.GetResponse().UnmarshalTo(r) != nil {
		return nil
	}
	var rows [][]string
	for _, res := range r.GetResults() {
		why := ""
		if res.GetError() != nil {
			why = res.GetError().GetMessage()
		}
		var sv []string
		for k, n := range res.GetSummary().GetSignalVerdicts() {
			sv = append(sv, fmt.Sprintf("%s=%d", strings.TrimPrefix(k, "VERDICT_"), n))
		}
		sort.Strings(sv)
		rows = append(rows, []string{strings.TrimPrefix(res.GetTenant(), "tenants/"), a.verdict(res.GetSummary().GetVerdict()), strings.Join(sv, " "), why})
	}
	return a.printer.Rows([]string{"TENANT", "VERDICT", "SIGNALS", "ERROR"}, rows)
}
