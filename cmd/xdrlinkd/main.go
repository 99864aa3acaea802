// Command xdrlinkd is the xdrlink server: `serve` runs the gRPC and REST API,
// `migrate` brings the store's schema up to date, `health` probes a running
// server, `sim` runs the Azure API emulator. Every flag can also be set
// from the environment as XDRLINK_<FLAG> (e.g. XDRLINK_GRPC_ADDR); a flag on
// the command line wins.
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xdrlink/xdrlink/azuresim"
	"github.com/xdrlink/xdrlink/client"
	"github.com/xdrlink/xdrlink/daemon"
	"github.com/xdrlink/xdrlink/store/storeopen"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "xdrlinkd:", err)
		os.Exit(1)
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "xdrlinkd",
		Short:         "xdrlink server: connects Microsoft Defender XDR to Microsoft Sentinel across customer tenants",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	var logLevel, logFormat string
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&logFormat, "log-format", "json", "log format: json or text")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := bindEnv(cmd.Flags()); err != nil {
			return err
		}
		log, err := newLogger(logLevel, logFormat)
		if err != nil {
			return err
		}
		slog.SetDefault(log)
		return nil
	}
	root.AddCommand(newServeCommand(), newMigrateCommand(), newCreateAPIKeyCommand(), newHealthCommand(), newSimCommand())
	return root
}

func newServeCommand() *cobra.Command {
	cfg := daemon.Defaults()
	var trustedProxies []string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the gRPC API and its REST gateway",
		Args:  cobra.NoArgs,
		// Runs after the root's PersistentPreRunE, so values taken from
		// XDRLINK_* are checked too.
		PreRunE: func(*cobra.Command, []string) error { return checkServeFlags(&cfg) },
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, s := range trustedProxies {
				p, err := netip.ParsePrefix(s)
				if err != nil {
					return fmt.Errorf("--trusted-proxies: %w", err)
				}
				cfg.TrustedProxies = append(cfg.TrustedProxies, p.Masked())
			}
			cfg.Logger = slog.Default()
			return daemon.Run(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.GRPCAddr, "grpc-addr", cfg.GRPCAddr, "gRPC listen address")
	f.StringVar(&cfg.HTTPAddr, "http-addr", cfg.HTTPAddr, "REST listen address")
	f.StringVar(&cfg.MetricsAddr, "metrics-addr", cfg.MetricsAddr, "Prometheus /metrics listen address, unauthenticated (empty: no metrics); traces are exported only as the OTEL_* environment says")
	f.StringVar(&cfg.DB, "db", cfg.DB, "SQLite file path, or a PostgreSQL DSN (postgres:// URL or key=value: host=... user=... dbname=...)")
	f.BoolVar(&cfg.AutoMigrate, "auto-migrate", cfg.AutoMigrate, "apply pending store migrations at start")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest accepted request body or message")
	f.DurationVar(&cfg.SyncCallTimeout, "sync-call-timeout", cfg.SyncCallTimeout, "longest a synchronous call (e.g. CheckPrerequisites) may run unless the caller's deadline is sooner; then DEADLINE_EXCEEDED (0: no limit)")
	f.DurationVar(&cfg.ReadinessInterval, "readiness-interval", cfg.ReadinessInterval, "how often health re-checks the store")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "graceful shutdown limit")
	f.StringVar(&cfg.AzureConfigFile, "azure-config", "", "JSON file with the Azure cloud and credential profiles; empty runs in sandbox mode (embedded Azure emulator)")
	f.IntVar(&cfg.SandboxTenants, "sandbox-tenants", cfg.SandboxTenants, "sandbox mode: 0 serves the demo world of named customers; N > 0 a generated world of N tenants instead")
	f.StringVar(&cfg.SecretKeyFile, "secret-key-file", "", "file with the base64 32-byte key that encrypts secrets at rest (sign-in codes, refresh tokens); required with --azure-config")
	f.StringVar(&cfg.PageTokenKeyFile, "page-token-key-file", cfg.PageTokenKeyFile, "file with the base64 32-byte key that signs list page tokens; empty derives one from the secret key (servers sharing either key accept each other's tokens)")
	f.StringVar(&cfg.SandboxSecretKey, "sandbox-secret-key", cfg.SandboxSecretKey, "sandbox mode: the key file to use, created on first start, when --secret-key-file is empty")
	f.Int32Var(&cfg.PostgresMaxConns, "postgres-max-conns", cfg.PostgresMaxConns, "PostgreSQL: largest connection pool (API and job queue share it); 0 is the driver's default")
	f.IntVar(&cfg.Workers, "workers", cfg.Workers, "operations this process advances at once")
	f.DurationVar(&cfg.DeploymentPollInterval, "deployment-poll-interval", cfg.DeploymentPollInterval, "how often the solution's ARM deployment is polled when ARM gives no Retry-After (0: 5s)")
	f.DurationVar(&cfg.ReplicaHeartbeat, "replica-heartbeat", cfg.ReplicaHeartbeat, "how often this replica tells the others on its database that it runs; replicas share ARM's limits evenly")
	f.IntVar(&cfg.BatchConcurrency, "batch-concurrency", cfg.BatchConcurrency, "tenants a batch onboards at once when its request does not say (0: 100)")
	f.DurationVar(&cfg.JobPollInterval, "job-poll-interval", cfg.JobPollInterval, "how often workers look for due operations (0: the job queue's default, 1s); an operation resuming after a wait (a retry, a sign-in poll), and on SQLite any new one, starts at the next look")
	f.IntVar(&cfg.AzureMaxConcurrent, "azure-max-concurrent", cfg.AzureMaxConcurrent, "Azure requests in flight at once, process-wide (0: 64; negative: unlimited); raise it with --workers")
	f.DurationVar(&cfg.StepTimeout, "step-timeout", cfg.StepTimeout, "longest a workflow step may run, Azure retries included; it is retried later when it runs out")
	f.DurationVar(&cfg.VerifyInterval, "verify-interval", cfg.VerifyInterval, "how often every connected (ONBOARDED or DEGRADED) tenant is verified in one batch; 0 turns it off")
	f.DurationVar(&cfg.Thresholds.GracePeriod, "verify-grace-period", cfg.Thresholds.GracePeriod, "a signal turned on less than this long ago without data yet is within its grace period, not missing")
	f.DurationVar(&cfg.Thresholds.TableStaleAfter, "verify-table-stale-after", cfg.Thresholds.TableStaleAfter, "an advanced-hunting table whose newest row is older than this is stale")
	f.DurationVar(&cfg.Thresholds.AlertsStaleAfter, "verify-alerts-stale-after", cfg.Thresholds.AlertsStaleAfter, "incidents or alerts whose newest row is older than this are stale (they arrive only when something happens)")
	f.IntVar(&cfg.VerificationsKept, "verifications-kept", cfg.VerificationsKept, "ingestion reports kept per tenant, newest first")
	f.StringVar(&cfg.SandboxAddr, "sandbox-addr", cfg.SandboxAddr, "sandbox mode: the emulator's HTTPS listen address")
	f.DurationVar(&cfg.HTTPReadHeaderTimeout, "http-read-header-timeout", cfg.HTTPReadHeaderTimeout, "REST: longest time to read a request's headers (0: none)")
	f.DurationVar(&cfg.HTTPReadTimeout, "http-read-timeout", cfg.HTTPReadTimeout, "REST: longest time to read a whole request, body included (0: none)")
	f.DurationVar(&cfg.HTTPWriteTimeout, "http-write-timeout", cfg.HTTPWriteTimeout, "REST: longest time to answer a request, a :wait call included; operation watches are exempt (0: none)")
	f.DurationVar(&cfg.HTTPIdleTimeout, "http-idle-timeout", cfg.HTTPIdleTimeout, "REST: how long an idle keep-alive connection stays open (0: none)")
	f.StringSliceVar(&trustedProxies, "trusted-proxies", nil, "REST: CIDRs of reverse proxies whose X-Forwarded-For names the client in the access log (default none)")
	f.StringVar(&cfg.SandboxCAOut, "sandbox-ca-out", cfg.SandboxCAOut, "sandbox mode: write the emulator's CA certificate here (empty: don't)")
	f.StringVar(&cfg.TLSCertFile, "tls-cert-file", "", "PEM certificate (chain) both listeners serve TLS with, REST as HTTPS; reloaded when the file changes (with --tls-key-file)")
	f.StringVar(&cfg.TLSKeyFile, "tls-key-file", "", "PEM private key of --tls-cert-file; reloaded when the file changes")
	f.BoolVar(&cfg.AllowUnauthenticatedNetwork, "allow-unauthenticated-network", false,
		"listen on non-loopback addresses with --auth=none (every caller who can reach it has full access: only behind a proxy that authenticates callers), or in sandbox mode")
	f.StringVar(&cfg.Auth, "auth", cfg.Auth, "none: every caller is an admin (loopback only); required: every call but health and reflection needs an OIDC token, an API key or a client certificate")
	f.StringVar(&cfg.OIDCIssuer, "oidc-issuer", "", "with --auth=required: accept bearer tokens from this OIDC issuer (Entra ID: https://login.microsoftonline.com/{tenant}/v2.0); in sandbox mode empty means the emulator's Entra")
	f.StringSliceVar(&cfg.OIDCAudiences, "oidc-audience", nil, "accepted token audience (aud), e.g. api://xdrlink or the app's client id; repeat or comma-separate for several")
	f.StringVar(&cfg.OIDCRolesClaim, "oidc-roles-claim", cfg.OIDCRolesClaim, "token claim with the caller's roles: Admin, Operator, Viewer, or Operator.{access group}, Viewer.{access group}")
	f.StringVar(&cfg.OIDCCAFile, "oidc-ca-file", "", "PEM CA to check the OIDC issuer's HTTPS certificate against (default: the system's)")
	f.StringVar(&cfg.TLSClientCAFile, "tls-client-ca-file", "", "gRPC: accept client certificates issued by this PEM CA as credentials; their OU values are the roles (needs --tls-cert-file and --auth=required)")
	f.Float64Var(&cfg.RateLimit, "rate-limit", cfg.RateLimit, "with --auth=required: calls per second each caller may make, sustained (0: no limit); over it, RESOURCE_EXHAUSTED / 429 with Retry-After")
	f.IntVar(&cfg.RateBurst, "rate-burst", cfg.RateBurst, "calls each caller may make at once above --rate-limit")
	f.DurationVar(&cfg.AuditRetention, "audit-retention", cfg.AuditRetention, "how long audit events are kept (0: forever)")
	f.BoolVar(&cfg.NoReflection, "no-reflection", false, "do not serve gRPC reflection")
	return cmd
}

func newMigrateCommand() *cobra.Command {
	db := daemon.Defaults().DB
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply pending store migrations and exit",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := storeopen.Migrate(cmd.Context(), db); err != nil {
				return err
			}
			slog.Info("store migrated")
			return nil
		},
	}
	cmd.Flags().StringVar(&db, "db", db, "SQLite file path, or a PostgreSQL DSN (postgres:// URL or key=value: host=... user=... dbname=...)")
	return cmd
}

// newSimCommand runs azuresim, the Azure API emulator, standalone (the same
// as cmd/azuresim): sandbox mode, demos, and load tests on loopback.
func newSimCommand() *cobra.Command {
	var cfg azuresim.RunConfig
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Run the Azure API emulator (Entra, ARM, Graph, Defender streaming, Log Analytics) over HTTPS",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return azuresim.Run(cmd.Context(), cfg, cmd.OutOrStdout())
		},
	}
	goFlags := flag.NewFlagSet("sim", flag.ContinueOnError)
	cfg.RegisterFlags(goFlags)
	cmd.Flags().AddGoFlagSet(goFlags)
	return cmd
}

// newHealthCommand is a probe for container HEALTHCHECKs, where no other
// tool exists: exit 0 if the server reports SERVING.
//
// Against a TLS server it dials TLS when given --tls-cert-file (the
// server's own certificate file, so XDRLINK_TLS_CERT_FILE serves both
// commands: the server is accepted when it presents exactly that
// certificate, whatever address the probe dials) or --tls-ca-file (the
// server's chain is verified against that CA, for --tls-server-name or the
// host of --grpc-addr).
func newHealthCommand() *cobra.Command {
	addr := daemon.Defaults().GRPCAddr
	var timeout time.Duration
	var certFile, caFile, serverName string
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check a running server's gRPC health; exit 0 when SERVING",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := healthDialOptions(certFile, caFile, serverName)
			if err != nil {
				return err
			}
			c, err := client.New(addr, opts)
			if err != nil {
				return err
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			resp, err := c.Health.Check(ctx, &healthpb.HealthCheckRequest{})
			if err != nil {
				return err
			}
			if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
				return fmt.Errorf("server reports %v", resp.GetStatus())
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "grpc-addr", addr, "gRPC address of the server")
	cmd.Flags().DurationVar(&timeout, "timeout", 3*time.Second, "how long to wait for an answer")
	cmd.Flags().StringVar(&certFile, "tls-cert-file", "", "dial TLS and accept the server only if it presents this certificate (the server's --tls-cert-file)")
	cmd.Flags().StringVar(&caFile, "tls-ca-file", "", "dial TLS and verify the server's certificate against this PEM CA")
	cmd.Flags().StringVar(&serverName, "tls-server-name", "", "with --tls-ca-file: the name to verify (default: the host of --grpc-addr)")
	return cmd
}

// healthDialOptions: plaintext without TLS flags, else TLS that pins the
// server's certificate file or verifies against a CA.
func healthDialOptions(certFile, caFile, serverName string) (client.Options, error) {
	switch {
	case certFile != "" && caFile != "":
		return client.Options{}, errors.New("health: give --tls-cert-file or --tls-ca-file, not both")
	case certFile != "":
		b, err := os.ReadFile(certFile)
		if err != nil {
			return client.Options{}, fmt.Errorf("health: --tls-cert-file: %w", err)
		}
		block, _ := pemDecode(b)
		if block == nil {
			return client.Options{}, fmt.Errorf("health: --tls-cert-file %s holds no PEM certificate", certFile)
		}
		want := block.Bytes
		return client.Options{TLS: &tls.Config{
			MinVersion: tls.VersionTLS12,
			// The name is not checked: the certificate itself is compared.
			InsecureSkipVerify: true, //nolint:gosec // verified below, by pinning
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 || !bytes.Equal(raw[0], want) {
					return errors.New("the server does not present the certificate of --tls-cert-file")
				}
				return nil
			},
		}}, nil
	case caFile != "":
		pool, err := client.CertPool(caFile)
		if err != nil {
			return client.Options{}, fmt.Errorf("health: --tls-ca-file: %w", err)
		}
		return client.Options{TLS: &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool, ServerName: serverName}}, nil
	case serverName != "":
		return client.Options{}, errors.New("health: --tls-server-name needs --tls-ca-file")
	}
	return client.Options{Insecure: true}, nil
}

// pemDecode returns the first CERTIFICATE block of a PEM file.
func pemDecode(b []byte) (*pem.Block, []byte) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil || block.Type == "CERTIFICATE" {
			return block, b
		}
	}
}

// bindEnv sets each flag not given on the command line from XDRLINK_<FLAG>.
func bindEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		env := "XDRLINK_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !f.Changed && err == nil {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = fmt.Errorf("%s: %w", env, serr)
			}
		}
	})
	return err
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format: want json or text, got %q", format)
}

// checkServeFlags refuses flag values serve cannot run with, before it
// starts anything.
func checkServeFlags(cfg *daemon.Config) error {
	if cfg.SandboxTenants < 0 {
		return fmt.Errorf("--sandbox-tenants %d: want 0 (the demo world) or a number of tenants > 0", cfg.SandboxTenants)
	}
	return nil
}
