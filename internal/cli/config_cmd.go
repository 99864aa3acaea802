package cli

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/xdrlink/xdrlink/internal/cli/config"
	"github.com/xdrlink/xdrlink/internal/cli/signin"
)

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Manage named contexts (server, TLS, credentials) in the configuration file",
		Example: `  xdrlink config set-context sandbox --address 127.0.0.1:9090
  xdrlink config use-context sandbox
  xdrlink config get-contexts`,
	}
	var c config.Context
	var oidc config.OIDC
	var use bool
	set := &cobra.Command{
		Use:   "set-context NAME",
		Short: "Create or change a context (only the flags given change)",
		Example: `  xdrlink config set-context prod --address xdrlink.mssp.example:443 --tls-ca-file ca.pem \
    --oidc-issuer https://login.microsoftonline.com/<tenant>/v2.0 --oidc-client-id <app> \
    --oidc-scope api://<api>/.default --oidc-scope offline_access --use
  xdrlink config set-context automation --api-key "$XDRLINK_API_KEY"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := config.Load(a.configPath)
			if err != nil {
				return err
			}
			cur := f.Contexts[args[0]]
			if cur == nil {
				cur = &config.Context{}
				f.Contexts[args[0]] = cur
			}
			fl := cmd.Flags()
			if fl.Changed("address") {
				cur.Address = c.Address
			}
			if fl.Changed("tls") {
				cur.TLS = c.TLS
			}
			if fl.Changed("ca-file") {
				cur.TLSCAFile = c.TLSCAFile
			}
			if fl.Changed("insecure") {
				cur.Insecure = c.Insecure
			}
			if fl.Changed("key") {
				cur.APIKey = c.APIKey
			}
			if fl.Changed("oidc-issuer") || fl.Changed("oidc-client-id") || fl.Changed("oidc-scope") || fl.Changed("oidc-ca-file") {
				if cur.OIDC == nil {
					cur.OIDC = &config.OIDC{}
				}
				if fl.Changed("oidc-issuer") {
					cur.OIDC.Issuer = oidc.Issuer
				}
				if fl.Changed("oidc-client-id") {
					cur.OIDC.ClientID = oidc.ClientID
				}
				if fl.Changed("oidc-scope") {
					cur.OIDC.Scopes = oidc.Scopes
				}
				if fl.Changed("oidc-ca-file") {
					cur.OIDC.CAFile = oidc.CAFile
				}
			}
			if use || f.CurrentContext == "" {
				f.CurrentContext = args[0]
			}
			if err := f.Save(a.configPath); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "context %q saved in %s\n", args[0], a.configPath)
			return nil
		},
	}
	sf := set.Flags()
	sf.StringVar(&c.Address, "address", "", "server gRPC address host:port")
	sf.BoolVar(&c.TLS, "tls", false, "use TLS")
	sf.StringVar(&c.TLSCAFile, "ca-file", "", "PEM CA bundle for the server's certificate")
	sf.BoolVar(&c.Insecure, "insecure", false, "plaintext even to a non-loopback address")
	sf.StringVar(&c.APIKey, "key", "", "API key (xdrlink_...)")
	sf.StringVar(&oidc.Issuer, "oidc-issuer", "", "OIDC issuer URL for xdrlink login")
	sf.StringVar(&oidc.ClientID, "oidc-client-id", "", "public client id for the device-code sign-in")
	sf.StringArrayVar(&oidc.Scopes, "oidc-scope", nil, "scope to ask for (repeat)")
	sf.StringVar(&oidc.CAFile, "oidc-ca-file", "", "PEM CA bundle for the issuer's certificate")
	sf.BoolVar(&use, "use", false, "make it the current context")

	useCmd := &cobra.Command{
		Use:               "use-context NAME",
		Short:             "Make a context the current one",
		Example:           `  xdrlink config use-context prod`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := config.Load(a.configPath)
			if err != nil {
				return err
			}
			if _, ok := f.Contexts[args[0]]; !ok {
				return fmt.Errorf("no context %q", args[0])
			}
			f.CurrentContext = args[0]
			if err := f.Save(a.configPath); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "current context: %s\n", args[0])
			return nil
		},
	}
	get := &cobra.Command{
		Use:     "get-contexts",
		Short:   "List the contexts; * marks the current one",
		Example: `  xdrlink config get-contexts`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := config.Load(a.configPath)
			if err != nil {
				return err
			}
			var rows [][]string
			for _, n := range f.Names() {
				c := f.Contexts[n]
				cur, auth := "", "none"
				if n == f.CurrentContext {
					cur = "*"
				}
				switch {
				case c.APIKey != "":
					auth = "api key"
				case c.OIDC != nil:
					auth = "oidc " + c.OIDC.Issuer
					if cache, err := signin.CacheFor(n); err == nil {
						if tok, _ := cache.Load(); tok != nil {
							auth += " (signed in, expires " + tok.Expiry.Local().Format(time.DateTime) + ")"
						}
					}
				}
				rows = append(rows, []string{cur, n, c.Address, fmt.Sprint(c.TLS || c.TLSCAFile != ""), auth})
			}
			return a.printer.Rows([]string{"CURRENT", "NAME", "ADDRESS", "TLS", "AUTH"}, rows)
		},
	}
	cmd.AddCommand(set, useCmd, get)
	return cmd
}

func (a *app) completeContexts(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	f, err := config.Load(a.configPath)
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	return f.Names(), cobra.ShellCompDirectiveNoFileComp
}

func (a *app) loginCommand() *cobra.Command {
	var issuer, clientID, caFile string
	var scopes []string
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in with your identity provider (OIDC device code) and cache the token",
		Long: `login runs an OAuth device-code sign-in against the context's OIDC issuer:
it prints a URL and a code, you approve in a browser, and the access and
refresh tokens are cached (mode 0600) under the user cache directory for
this context. Later commands send the access token and refresh it when it
expires. Flags given here are saved into the context first.`,
		Example: `  xdrlink login
  xdrlink login --issuer https://login.microsoftonline.com/<tenant>/v2.0 --client-id <app> \
    --scope api://<api>/.default --scope offline_access`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := config.Load(a.configPath)
			if err != nil {
				return err
			}
			name := a.contextName
			if name == "" {
				name = f.CurrentContext
			}
			if name == "" {
				name = "default"
			}
			c := f.Contexts[name]
			if c == nil {
				c = &config.Context{}
				f.Contexts[name] = c
			}
			if c.OIDC == nil {
				c.OIDC = &config.OIDC{}
			}
			changed := false
			for flag, dst := range map[string]*string{"issuer": &c.OIDC.Issuer, "client-id": &c.OIDC.ClientID, "ca-file": &c.OIDC.CAFile} {
				if cmd.Flags().Changed(flag) {
					v, _ := cmd.Flags().GetString(flag)
					*dst, changed = v, true
				}
			}
			if cmd.Flags().Changed("scope") {
				c.OIDC.Scopes, changed = scopes, true
			}
			if c.OIDC.Issuer == "" || c.OIDC.ClientID == "" {
				return fmt.Errorf("context %q has no OIDC issuer and client id: give --issuer and --client-id", name)
			}
			if changed || f.CurrentContext == "" {
				if f.CurrentContext == "" {
					f.CurrentContext = name
				}
				if err := f.Save(a.configPath); err != nil {
					return err
				}
			}
			tok, err := signin.Login(cmd.Context(), oidcSettings(c.OIDC), func(uri, code string, exp time.Time) {
				fmt.Fprintf(a.io.Err, "To sign in, open %s and enter the code %s (valid until %s).\n", uri, code, exp.Local().Format("15:04:05"))
			})
			if err != nil {
				return err
			}
			cache, err := signin.CacheFor(name)
			if err != nil {
				return err
			}
			if err := cache.Save(tok); err != nil {
				return err
			}
			fmt.Fprintf(a.io.Out, "signed in (context %q); the token is cached in %s\n", name, cache.Path)
			return nil
		},
	}
	cmd.Flags().StringVar(&issuer, "issuer", "", "OIDC issuer URL (saved into the context)")
	cmd.Flags().StringVar(&clientID, "client-id", "", "public client id (saved into the context)")
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "scope to ask for, repeatable (saved into the context)")
	cmd.Flags().StringVar(&caFile, "ca-file", "", "PEM CA bundle for the issuer (saved into the context)")
	return cmd
}
