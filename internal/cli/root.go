package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"google.golang.org/grpc/status"

	"github.com/xdrlink/xdrlink/client"
	"github.com/xdrlink/xdrlink/internal/cli/config"
	"github.com/xdrlink/xdrlink/internal/cli/render"
	"github.com/xdrlink/xdrlink/internal/cli/signin"
)

// IO is what the program reads and writes, so tests run it in-process.
type IO struct {
	In       io.Reader
	Out, Err io.Writer
	// Getenv reads the environment (os.Getenv when nil).
	Getenv func(string) string
}

// app is the state shared by the commands of one run.
type app struct {
	io IO

	configPath  string
	contextName string
	addr        string
	useTLS      bool
	caFile      string
	insecure    bool
	apiKey      string
	output      string
	noColor     bool

	printer render.Printer
	client  *client.Client
}

// Run runs the program with args (without the program name) and returns
// its exit code.
func Run(args []string, stdio IO) int {
	if stdio.Getenv == nil {
		stdio.Getenv = os.Getenv
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	a := &app{io: stdio}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdio.In)
	root.SetOut(stdio.Out)
	root.SetErr(stdio.Err)
	err := root.ExecuteContext(ctx)
	if a.client != nil {
		_ = a.client.Close()
	}
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stdio.Err, ee.msg)
		}
		return ee.code
	}
	if st, ok := status.FromError(err); ok && st.Code() != 0 {
		fmt.Fprintf(stdio.Err, "Error: %s: %s\n", st.Code(), st.Message())
		for _, d := range describeDetails(st) {
			fmt.Fprintln(stdio.Err, "  "+d)
		}
		return ExitError
	}
	fmt.Fprintln(stdio.Err, "Error: "+err.Error())
	return ExitError
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "xdrlink",
		Short: "Operate xdrlink: register, onboard and verify customer tenants",
		Long: `xdrlink talks to an xdrlinkd server over gRPC: it registers customer tenants,
onboards them (one, a filter, or all), follows the operations, and verifies
that Defender XDR data arrives in Sentinel.

Where the server is and how to sign in come from flags, the environment
(XDRLINK_API_KEY), or a named context in the configuration file.`,
		Example: `  xdrlink tenants list
  xdrlink --addr xdrlink.example.com:443 --tls tenants get contoso -o json
  xdrlink onboard --filter 'labels.tier="gold"' --wait`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			f, err := render.ParseFormat(a.output)
			if err != nil {
				return err
			}
			a.printer = render.Printer{Out: a.io.Out, Format: f, Color: a.colorAllowed()}
			return nil
		},
	}
	defPath, _ := config.DefaultPath()
	if p := a.io.Getenv("XDRLINK_CONFIG"); p != "" {
		defPath = p
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.configPath, "config", defPath, "configuration file (env XDRLINK_CONFIG)")
	pf.StringVar(&a.contextName, "context", "", "context of the configuration file to use (default: the current one)")
	pf.StringVar(&a.addr, "addr", "", "server gRPC address host:port (default 127.0.0.1:9090, or the context's)")
	pf.BoolVar(&a.useTLS, "tls", false, "use TLS (the default for non-loopback addresses; loopback is plaintext)")
	pf.StringVar(&a.caFile, "tls-ca-file", "", "PEM CA bundle that signs the server's certificate (implies --tls)")
	pf.BoolVar(&a.insecure, "insecure", false, "plaintext, no TLS, even to a non-loopback address (credentials are then refused)")
	pf.StringVar(&a.apiKey, "api-key", "", "xdrlink API key (env XDRLINK_API_KEY)")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table, json or yaml")
	pf.BoolVar(&a.noColor, "no-color", false, "no colours (also when NO_COLOR is set)")
	_ = root.RegisterFlagCompletionFunc("output", cobra.FixedCompletions([]string{"table", "json", "yaml"}, cobra.ShellCompDirectiveNoFileComp))
	_ = root.RegisterFlagCompletionFunc("context", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		f, err := config.Load(a.configPath)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return f.Names(), cobra.ShellCompDirectiveNoFileComp
	})

	root.AddGroup(&cobra.Group{ID: "fleet", Title: "Tenants and fleet work:"}, &cobra.Group{ID: "setup", Title: "Setup:"})
	for _, c := range []*cobra.Command{a.tenantsCommand(), a.checkCommand(), a.onboardCommand(), a.offboardCommand(),
		a.tablesCommand(), a.verifyCommand(), a.operationsCommand()} {
		c.GroupID = "fleet"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{a.configCommand(), a.loginCommand()} {
		c.GroupID = "setup"
		root.AddCommand(c)
	}
	root.SetCompletionCommandGroupID("setup")
	root.SetHelpCommandGroupID("setup")
	return root
}

// colorAllowed: a terminal, and neither --no-color nor NO_COLOR.
func (a *app) colorAllowed() bool {
	if a.noColor || a.io.Getenv("NO_COLOR") != "" {
		return false
	}
	return isTerminal(a.io.Out)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// settings resolves the connection from flags, environment and context.
type settings struct {
	addr, caFile, contextName string
	tls, insecure             bool
	apiKey                    string
	oidc                      *config.OIDC
}

func (a *app) resolve() (settings, error) {
	f, err := config.Load(a.configPath)
	if err != nil {
		return settings{}, err
	}
	ctx, name, err := f.Current(a.contextName)
	if err != nil {
		return settings{}, err
	}
	s := settings{addr: "127.0.0.1:9090", contextName: name}
	if ctx != nil {
		if ctx.Address != "" {
			s.addr = ctx.Address
		}
		s.tls, s.caFile, s.insecure, s.apiKey, s.oidc = ctx.TLS, ctx.TLSCAFile, ctx.Insecure, ctx.APIKey, ctx.OIDC
	}
	if a.addr != "" {
		s.addr = a.addr
	}
	if a.useTLS {
		s.tls = true
	}
	if a.caFile != "" {
		s.caFile, s.tls = a.caFile, true
	}
	if a.insecure {
		if a.useTLS || a.caFile != "" {
			return settings{}, errors.New("--insecure (plaintext) contradicts --tls and --tls-ca-file")
		}
		s.insecure, s.tls = true, false
	}
	if k := a.io.Getenv("XDRLINK_API_KEY"); k != "" {
		s.apiKey = k
	}
	if a.apiKey != "" {
		s.apiKey = a.apiKey
	}
	if s.caFile != "" && !s.insecure {
		s.tls = true
	}
	if !s.tls && !s.insecure && !isLoopback(s.addr) {
		s.tls = true // credentials never cross a network in plaintext unless asked
	}
	return s, nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// dial connects lazily (the first call connects) with the resolved settings.
func (a *app) dial(ctx context.Context) (*client.Client, error) {
	if a.client != nil {
		return a.client, nil
	}
	s, err := a.resolve()
	if err != nil {
		return nil, err
	}
	opts := client.Options{Insecure: !s.tls}
	if s.tls {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if s.caFile != "" {
			pool, err := client.CertPool(s.caFile)
			if err != nil {
				return nil, err
			}
			tc.RootCAs = pool
		}
		opts.TLS = tc
	}
	cred := s.apiKey
	if cred == "" && s.oidc != nil {
		cache, err := signin.CacheFor(s.contextName)
		if err != nil {
			return nil, err
		}
		if cred, err = signin.AccessToken(ctx, oidcSettings(s.oidc), cache); err != nil {
			return nil, err
		}
	}
	if cred != "" {
		opts.PerRPC = client.Bearer(cred, isLoopback(s.addr))
	}
	c, err := client.New(s.addr, opts)
	if err != nil {
		return nil, err
	}
	a.client = c
	return c, nil
}

func oidcSettings(o *config.OIDC) signin.Settings {
	return signin.Settings{Issuer: o.Issuer, ClientID: o.ClientID, Scopes: o.Scopes, CAFile: o.CAFile}
}

// tenantName accepts "contoso" or "tenants/contoso".
func tenantName(s string) string {
	if strings.HasPrefix(s, "tenants/") {
		return s
	}
	return "tenants/" + s
}

// operationName accepts "abc" or "operations/abc".
func operationName(s string) string {
	if strings.HasPrefix(s, "operations/") {
		return s
	}
	return "operations/" + s
}
