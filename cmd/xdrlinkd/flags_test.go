package main

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/xdrlink/xdrlink/daemon"
)

// serveArgs are serve's flags for a start that touches only loopback and
// the test's own directory, should it get that far.
func serveArgs(t *testing.T, more ...string) []string {
	dir := t.TempDir()
	return append([]string{"serve", "--log-format", "text",
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--sandbox-addr", "127.0.0.1:0",
		"--db", filepath.Join(dir, "xdrlink.db"), "--sandbox-secret-key", filepath.Join(dir, "secret.key"),
		"--sandbox-ca-out", ""}, more...)
}

// TestSandboxTenantsNegative: serve refuses a negative --sandbox-tenants,
// given as a flag or through XDRLINK_SANDBOX_TENANTS, before it starts
// anything, and the command exits non-zero saying which flag.
func TestSandboxTenantsNegative(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string
	}{
		{"flag", []string{"--sandbox-tenants", "-1"}, ""},
		{"env", nil, "-5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("XDRLINK_SANDBOX_TENANTS", tc.env)
			}
			root := newRootCommand()
			root.SetArgs(serveArgs(t, tc.args...))
			ran := false
			for _, c := range root.Commands() {
				if c.Name() == "serve" {
					run := c.RunE
					c.RunE = func(cmd *cobra.Command, args []string) error { ran = true; return run(cmd, args) }
				}
			}
			// Were the value taken, serve would run until this deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := root.ExecuteContext(ctx)
			if err == nil || !strings.Contains(err.Error(), "--sandbox-tenants") || ran {
				t.Fatalf("serve with sandbox tenants %v%s: error %v, served %v; want a refusal naming --sandbox-tenants before serving",
					tc.args, tc.env, err, ran)
			}
		})
	}
	// 0 (the demo world) and N > 0 pass the check.
	for _, n := range []int{0, 3} {
		cfg := daemon.Defaults()
		cfg.SandboxTenants = n
		if err := checkServeFlags(&cfg); err != nil {
			t.Errorf("sandbox tenants %d: %v", n, err)
		}
	}
}

// TestSandboxTenantsNegativeExit: the built command exits 1 with the
// message on stderr.
func TestSandboxTenantsNegativeExit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds xdrlinkd")
	}
	bin := buildXdrlinkd(t)
	cmd := exec.Command(bin, serveArgs(t, "--sandbox-tenants", "-1")...)
	cmd.Env = withoutXdrlinkEnv()
	done := make(chan struct{})
	timer := time.AfterFunc(60*time.Second, func() { _ = cmd.Process.Kill(); close(done) })
	out, err := cmd.CombinedOutput()
	if !timer.Stop() {
		<-done
		t.Fatalf("xdrlinkd --sandbox-tenants -1 kept running:\n%s", out)
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(string(out), "xdrlinkd: --sandbox-tenants -1:") {
		t.Fatalf("exit %v, output:\n%s\nwant exit status 1 and the flag named", err, out)
	}
}
