package azuresim

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// RunConfig configures a standalone sim (cmd/azuresim, xdrlinkd sim).
type RunConfig struct {
	Addr            string        // listen address
	WorldFile       string        // JSON world; empty with GenerateTenants = 0 means the example-free empty world
	GenerateTenants int           // generate a world of this many tenants (ignored when WorldFile is set)
	Demo            bool          // serve DemoWorld (ignored when WorldFile or GenerateTenants is set)
	Seed            uint64        // world generation and fault seed
	CAOut           string        // write the sim's CA certificate PEM here ("" = don't)
	TokenLifetime   time.Duration // access token lifetime
	Faults          FaultConfig
	Verbose         bool // log every request
}

// RegisterFlags binds the config to command-line flags.
func (c *RunConfig) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", "127.0.0.1:8443", "listen address (host:port)")
	fs.StringVar(&c.WorldFile, "world", "", "world JSON file (schema: azuresim/testdata/world.json)")
	fs.IntVar(&c.GenerateTenants, "generate", 0, "generate a world with this many customer tenants (when -world is empty)")
	fs.BoolVar(&c.Demo, "demo", false, "serve the demo world of named customers (when -world and -generate are not given); GET /_sim/customers lists them")
	fs.Uint64Var(&c.Seed, "seed", 1, "seed for world generation and fault injection")
	fs.StringVar(&c.CAOut, "ca-out", "azuresim-ca.pem", "write the sim's self-signed CA certificate (PEM) to this file")
	fs.DurationVar(&c.TokenLifetime, "token-lifetime", time.Hour, "lifetime of issued access tokens")
	fs.Func("latency", "fixed latency added to each API request, e.g. 50ms", func(s string) error {
		d, err := time.ParseDuration(s)
		c.Faults.Latency.Fixed = Duration(d)
		return err
	})
	fs.Func("jitter", "uniform latency jitter added on top of -latency, e.g. 10ms", func(s string) error {
		d, err := time.ParseDuration(s)
		c.Faults.Latency.Jitter = Duration(d)
		return err
	})
	fs.Float64Var(&c.Faults.ServerErrorRate, "error-rate", 0, "probability (0..1) of an injected 500/503")
	fs.Float64Var(&c.Faults.ThrottleRate, "throttle-rate", 0, "probability (0..1) of an injected 429")
	fs.BoolVar(&c.Faults.DisableARMThrottling, "no-arm-throttling", false, "disable ARM token-bucket throttling")
	fs.BoolVar(&c.Verbose, "v", false, "log every request")
}

// Run starts a sim from cfg, prints where it listens to out, and serves until
// ctx is done.
func Run(ctx context.Context, cfg RunConfig, out io.Writer) error {
	var world *World
	var customers []DemoCustomer
	switch {
	case cfg.WorldFile != "":
		w, err := LoadWorldFile(cfg.WorldFile)
		if err != nil {
			return err
		}
		world = w
	case cfg.GenerateTenants > 0:
		world = GenerateWorld(cfg.GenerateTenants, cfg.Seed)
	case cfg.Demo:
		world, customers = DemoWorld()
	default:
		return errors.New("azuresim: give -world FILE, -generate N or -demo")
	}
	level := slog.LevelInfo
	if cfg.Verbose {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	s, err := Start(Options{World: world, Customers: customers, Addr: cfg.Addr, Faults: cfg.Faults, Seed: cfg.Seed, TokenLifetime: cfg.TokenLifetime, Logger: logger})
	if err != nil {
		return err
	}
	defer s.Close()
	if cfg.CAOut != "" {
		if err := os.WriteFile(cfg.CAOut, s.CACertPEM(), 0o644); err != nil {
			return fmt.Errorf("azuresim: write CA: %w", err)
		}
	}
	fmt.Fprintf(out, "azuresim listening on %s\n", s.URL())
	if cfg.CAOut != "" {
		fmt.Fprintf(out, "CA certificate: %s\n", cfg.CAOut)
	}
	fmt.Fprintf(out, "tenants: %d, apps: %d; admin API: %s/_sim/health\n", len(world.Tenants), len(world.Apps), s.URL())
	for _, a := range world.Apps {
		fmt.Fprintf(out, "app %s (%s) home tenant %s\n", a.ClientID, a.DisplayName, a.HomeTenant)
	}
	if si, ok := s.StaffIdentity(); ok {
		fmt.Fprintf(out, "staff sign-in (GET %s/_sim/staff): issuer %s, audience %s, public client %s, user %s (and others), password %q\n",
			s.URL(), si.Issuer, si.APIClientID, si.PublicClientID, si.Users[0].UPN, DemoStaffPassword)
	}
	switch {
	case customers != nil:
		fmt.Fprintf(out, "demo world: %d customers (GET %s/_sim/customers); app secret %q\n", len(customers), s.URL(), GeneratedAppSecret)
	case cfg.WorldFile == "":
		fmt.Fprintf(out, "generated world: app secret %q; customers secadmin@customerNNNNN.onmicrosoft.com, workspace rg-sentinel/ws-NNNNN\n", GeneratedAppSecret)
	}
	<-ctx.Done()
	return nil
}
