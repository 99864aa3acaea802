package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/cli/tenantfile"
)

// importChunk is BatchCreateTenants' limit per call.
const importChunk = 1000

func (a *app) tenantsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "tenants",
		Aliases: []string{"tenant"},
		Short:   "Register, list, change and remove customer tenants",
		Example: `  xdrlink tenants import customers.csv
  xdrlink tenants list --filter 'state = FAILED'
  xdrlink tenants update contoso --label tier=gold`,
	}
	cmd.AddCommand(a.tenantsListCommand(), a.tenantsGetCommand(), a.tenantsUpdateCommand(), a.tenantsDeleteCommand(), a.tenantsImportCommand())
	return cmd
}

// listTenants pages through ListTenants.
func listTenants(ctx context.Context, c *client.Client, filter string) ([]*xdrlinkv1.Tenant, error) {
	var out []*xdrlinkv1.Tenant
	req := &xdrlinkv1.ListTenantsRequest{Filter: filter, PageSize: 1000}
	for {
		page, err := c.Tenants.ListTenants(ctx, req)
		if err != nil {
			return nil, err
		}
		out = append(out, page.GetTenants()...)
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			return out, nil
		}
	}
}

func (a *app) tenantsListCommand() *cobra.Command {
	var filter string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List tenants (every page), optionally filtered",
		Long: `list prints every tenant the caller may see. --filter is an AIP-160 conjunction
of equalities on state, last_verification.verdict and labels.<key>.`,
		Example: `  xdrlink tenants list
  xdrlink tenants list --filter 'state = ONBOARDED AND labels.tier = "gold"'
  xdrlink tenants list --filter 'last_verification.verdict = STALE' -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			ts, err := listTenants(cmd.Context(), c, filter)
			if err != nil {
				return err
			}
			return a.printTenants(ts, &xdrlinkv1.ListTenantsResponse{Tenants: ts})
		},
	}
	cmd.Flags().StringVar(&filter, "filter", "", "AIP-160 filter, e.g. 'labels.kind = \"healthy\"'")
	return cmd
}

func (a *app) completeTenants(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	c, err := a.dial(cmd.Context())
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	ts, err := listTenants(cmd.Context(), c, "")
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = strings.TrimPrefix(t.GetName(), "tenants/") + "\t" + t.GetDisplayName()
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

func (a *app) tenantsGetCommand() *cobra.Command {
	return &cobra.Command{
		Use:               "get TENANT",
		Short:             "Show one tenant",
		Example:           "  xdrlink tenants get contoso\n  xdrlink tenants get contoso -o yaml",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			t, err := c.Tenants.GetTenant(cmd.Context(), &xdrlinkv1.GetTenantRequest{Name: tenantName(args[0])})
			if err != nil {
				return err
			}
			return a.printTenant(t)
		},
	}
}

func (a *app) tenantsUpdateCommand() *cobra.Command {
	var displayName, accessGroup, etag string
	var labels []string
	var removeLabels []string
	cmd := &cobra.Command{
		Use:   "update TENANT",
		Short: "Change a tenant's display name, labels or access group (only what is given)",
		Long: `update sends only the fields named by the flags given, with an update_mask
naming them. --label k=v adds or changes a label and --remove-label k drops
one; the other labels stay. --etag makes the change conditional.`,
		Example: `  xdrlink tenants update contoso --display-name "Contoso Ltd"
  xdrlink tenants update contoso --label tier=gold --remove-label trial
  xdrlink tenants update contoso --access-group pod-east`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			t := &xdrlinkv1.Tenant{Name: tenantName(args[0]), Etag: etag}
			var paths []string
			fl := cmd.Flags()
			if fl.Changed("display-name") {
				t.DisplayName, paths = displayName, append(paths, "display_name")
			}
			if fl.Changed("access-group") {
				t.AccessGroup, paths = accessGroup, append(paths, "access_group")
			}
			if len(labels) > 0 || len(removeLabels) > 0 {
				// The mask replaces the whole map, so start from the current one.
				cur, err := c.Tenants.GetTenant(cmd.Context(), &xdrlinkv1.GetTenantRequest{Name: t.GetName()})
				if err != nil {
					return err
				}
				if t.Etag == "" {
					t.Etag = cur.GetEtag() // nobody's label change is lost in between
				}
				t.Labels = map[string]string{}
				for k, v := range cur.GetLabels() {
					t.Labels[k] = v
				}
				for _, kv := range labels {
					k, v, ok := strings.Cut(kv, "=")
					if !ok {
						return fmt.Errorf("--label %q: want key=value", kv)
					}
					t.Labels[k] = v
				}
				for _, k := range removeLabels {
					delete(t.Labels, k)
				}
				paths = append(paths, "labels")
			}
			if len(paths) == 0 {
				return errors.New("nothing to change: give --display-name, --label, --remove-label or --access-group")
			}
			out, err := c.Tenants.UpdateTenant(cmd.Context(), &xdrlinkv1.UpdateTenantRequest{Tenant: t, UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}})
			if err != nil {
				return err
			}
			return a.printTenant(out)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&displayName, "display-name", "", "new display name")
	fl.StringVar(&accessGroup, "access-group", "", "new access group (unscoped admins only)")
	fl.StringArrayVar(&labels, "label", nil, "set a label key=value (repeatable)")
	fl.StringArrayVar(&removeLabels, "remove-label", nil, "remove a label by key (repeatable)")
	fl.StringVar(&etag, "etag", "", "change only if the tenant's etag is still this")
	return cmd
}

func (a *app) tenantsDeleteCommand() *cobra.Command {
	var etag string
	cmd := &cobra.Command{
		Use:   "delete TENANT...",
		Short: "Remove tenants from the registry (offboard first to undo the Azure changes)",
		Example: `  xdrlink tenants delete my-customer
  xdrlink tenants delete my-customer --etag 1f2e3d`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.completeTenants,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := a.dial(cmd.Context())
			if err != nil {
				return err
			}
			for _, n := range args {
				if _, err := c.Tenants.DeleteTenant(cmd.Context(), &xdrlinkv1.DeleteTenantRequest{Name: tenantName(n), Etag: etag}); err != nil {
					return err
				}
				fmt.Fprintf(a.io.Out, "deleted %s\n", tenantName(n))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&etag, "etag", "", "delete only if the tenant's etag is still this")
	return cmd
}

func (a *app) tenantsImportCommand() *cobra.Command {
	var dryRun, skipExisting bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Register many tenants from a CSV or YAML file, all checked first",
		Long: `import reads a CSV file with a header row (or a YAML list, by extension .yaml
or .yml) and checks every row before anything is sent: required columns,
GUIDs, names, workspace fields, tables against the server's catalog, and ids
or workspaces repeated in the file. Any problem is reported with its row and
column, and nothing is created. Then the tenants are registered with
BatchCreateTenants in chunks of 1,000 (each chunk all or nothing); a refused
chunk is reported by file row and the other chunks go on; run it again with
--skip-existing to register the rest.

Columns: id, entra_tenant_id, subscription_id, resource_group, workspace
(required); display_name, region, tables (separated by ; or spaces), labels
(k=v;k=v), access_group, credential_profile, incidents, alerts,
disable_incident_creation_rules, entity_sync (true/false).`,
		Example: `  xdrlink tenants import docs/examples/tenants.csv
  xdrlink tenants import customers.yaml --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			fh, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer fh.Close()
			file, err := tenantfile.Parse(fh, tenantfile.IsYAML(args[0]))
			if err != nil {
				return describeProblems(args[0], err)
			}
			c, err := a.dial(ctx)
			if err != nil {
				return err
			}
			catalog, err := tableCatalog(ctx, c)
			if err != nil {
				return err
			}
			if ps := file.Check(catalog); ps != nil {
				return describeProblems(args[0], ps)
			}
			skipped := 0
			if skipExisting {
				if skipped, err = dropRegistered(ctx, c, file); err != nil {
					return err
				}
			}
			reqs := file.Requests()
			if dryRun {
				fmt.Fprintf(a.io.Out, "%s: %d tenants, no problems found; nothing sent (--dry-run)\n", args[0], len(reqs))
				return nil
			}
			created, refused := 0, 0
			for i, ch := range tenantfile.Chunks(len(reqs), importChunk) {
				resp, err := c.Tenants.BatchCreateTenants(ctx, &xdrlinkv1.BatchCreateTenantsRequest{Requests: reqs[ch[0]:ch[1]]})
				if err != nil {
					refused += ch[1] - ch[0]
					first, last := file.Rows[ch[0]].Line, file.Rows[ch[1]-1].Line
					fmt.Fprintf(a.io.Err, "chunk %d (%ss %d-%d) refused, none of it created:\n", i+1, file.Item, first, last)
					for _, line := range chunkProblems(err, file, ch[0]) {
						fmt.Fprintln(a.io.Err, "  "+line)
					}
					continue
				}
				created += len(resp.GetTenants())
			}
			fmt.Fprintf(a.io.Out, "%d tenants created", created)
			if skipped > 0 {
				fmt.Fprintf(a.io.Out, ", %d already registered and left as they are", skipped)
			}
			if refused > 0 {
				fmt.Fprintf(a.io.Out, ", %d refused\n", refused)
				return exitWith(ExitError, "")
			}
			fmt.Fprintln(a.io.Out)
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check the file against the server's catalog and stop")
	cmd.Flags().BoolVar(&skipExisting, "skip-existing", false,
		"leave out rows whose id is already registered (to finish an import a refused chunk interrupted); they are not updated")
	return cmd
}

// dropRegistered removes from file the rows whose tenant id is registered
// already, and says how many it removed.
func dropRegistered(ctx context.Context, c *client.Client, file *tenantfile.File) (int, error) {
	registered := map[string]bool{}
	req := &xdrlinkv1.ListTenantsRequest{PageSize: 1000}
	for {
		page, err := c.Tenants.ListTenants(ctx, req)
		if err != nil {
			return 0, fmt.Errorf("list registered tenants: %w", err)
		}
		for _, t := range page.GetTenants() {
			registered[strings.TrimPrefix(t.GetName(), "tenants/")] = true
		}
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	kept := file.Rows[:0]
	for _, r := range file.Rows {
		if !registered[r.Values[tenantfile.ColID]] {
			kept = append(kept, r)
		}
	}
	dropped := len(file.Rows) - len(kept)
	file.Rows = kept
	return dropped, nil
}

func describeProblems(file string, err error) error {
	var ps tenantfile.Problems
	if errors.As(err, &ps) {
		return exitWith(ExitError, "%s: %d problems, nothing created:\n  %s", file, len(ps), strings.ReplaceAll(ps.Error(), "\n", "\n  "))
	}
	return fmt.Errorf("%s: %w", file, err)
}

// tableCatalog reads ListTables, every page.
func tableCatalog(ctx context.Context, c *client.Client) (tenantfile.Catalog, error) {
	var all []*xdrlinkv1.Table
	req := &xdrlinkv1.ListTablesRequest{PageSize: 1000}
	for {
		page, err := c.Tables.ListTables(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("read the table catalog: %w", err)
		}
		all = append(all, page.GetTables()...)
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			return tenantfile.NewCatalog(all), nil
		}
	}
}

// chunkProblems maps a refused chunk's error to file rows: field violations
// name requests[i].field, conflicts carry ErrorInfo metadata "index".
func chunkProblems(err error, file *tenantfile.File, offset int) []string {
	st, ok := status.FromError(err)
	if !ok {
		return []string{err.Error()}
	}
	at := func(i int) string {
		if i+offset < len(file.Rows) {
			return fmt.Sprintf("%s %d", file.Item, file.Rows[i+offset].Line)
		}
		return fmt.Sprintf("item %d of the chunk", i)
	}
	var out []string
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				i, rest, ok := tenantfile.SplitItemPath(v.GetField())
				if !ok {
					out = append(out, v.GetField()+": "+v.GetDescription())
					continue
				}
				where := at(i)
				if col := tenantfile.ColumnOf(rest); col != "" {
					where += ", column " + col
				}
				out = append(out, where+": "+v.GetDescription())
			}
		case *errdetails.ErrorInfo:
			if s, ok := d.GetMetadata()["index"]; ok {
				if i, err := strconv.Atoi(s); err == nil {
					msg := st.Message()
					if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "requests[") {
						msg = rest
					}
					out = append(out, at(i)+": "+msg)
				}
			}
		}
	}
	if len(out) == 0 {
		out = append(out, st.Code().String()+": "+st.Message())
	}
	return out
}
