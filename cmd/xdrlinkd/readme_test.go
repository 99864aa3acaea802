package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// TestReadmeTour runs the README's "Try it" tour as a newcomer would: the
// README's run command in a fresh directory, then the tour's shell block
// pasted into bash as it stands. It listens on the README's fixed ports.
func TestReadmeTour(t *testing.T) {
	got := runReadmeBlock(t, "## Try it")
	for _, want := range []string{
		`"tenants/contoso"`,                  // the sandbox's customers are registered
		`"kind":"healthy"`,                   // the emulator's view of them
		`"ready":`,                           // the preflight
		`"userCode":`,                        // the sign-in shown
		`"approved":`,                        // approved as the administrator
		`"state":"STATE_ONBOARDED"`,          // the tenant after onboarding
		`"kind":"MicrosoftThreatProtection"`, // the connector in the emulator
		`"windowDays":14`,                    // a verification's report
		`"desiredTables":`,                   // the table settings
		`"verification":"tenants/best-for-you-organics/verifications/`, // listed as stale
		`"verdict":"VERDICT_STALE"`,                                    // its stale table
		`"validateOnly":true`,                                          // the plan
		`"batchProgress":`,                                             // the batch
		`"parent":"operations/`,                                        // its children
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the tour's output lacks %s:\n%s", want, got)
		}
	}
	// Both waits (onboard, offboard) end in success.
	if n := strings.Count(got, `"state":"OPERATION_STATE_SUCCEEDED"`); n < 2 {
		t.Errorf("%d operations reported SUCCEEDED, want the onboard and the offboard:\n%s", n, got)
	}
}

// runReadmeBlock starts `xdrlinkd serve` with args in a fresh directory,
// waits until it is healthy, runs the shell block under heading with bash
// -e, and returns its output.
func runReadmeBlock(t *testing.T, heading string, args ...string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs xdrlinkd")
	}
	tour := readmeBlock(t, heading)
	bin := buildXdrlinkd(t)
	dir := t.TempDir()

	var serverLog syncbuf.Buffer
	srv := exec.Command(bin, append([]string{"serve", "--log-format", "text"}, args...)...)
	srv.Dir, srv.Stdout, srv.Stderr = dir, &serverLog, &serverLog
	srv.Env = withoutXdrlinkEnv()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://localhost:8080/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("xdrlinkd did not become healthy:\n%s", serverLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-e", "-c", tour)
	sh.Dir = dir
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the tour failed: %v\n%s\nserver:\n%s", err, out, serverLog.String())
	}
	return string(out)
}

// TestReadmeSignIn runs the README's "Sign in" tour against
// `serve --auth=required`: a 401 without credentials, a token from the
// emulator's Entra, an API key scoped to one access group that sees only its
// tenants and may not onboard, and the audit log.
func TestReadmeSignIn(t *testing.T) {
	got := runReadmeBlock(t, "## Sign in", "--auth=required")
	for _, want := range []string{
		"401\n",               // no credentials
		`"principal":"oidc:`,  // the admin's token
		`"role":"ROLE_ADMIN"`, // its grant
		`"tenants/contoso"`,   // pod-east's customer, seen with the key
		`"reason":"ERROR_REASON_PERMISSION_DENIED"`,         // a viewer may not onboard
		`"method":"/xdrlink.v1.AccessService/CreateApiKey"`, // audited
		`"method":"/xdrlink.v1.OnboardingService/Onboard"`,  // the refusal audited too
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the sign-in tour's output lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, `"tenants/fabrikam"`) {
		t.Errorf("the pod-east key saw a pod-west customer:\n%s", got)
	}
	// The key is in the create answer only: the audit log does not hold it.
	if i := strings.Index(got, "xdrlink_"); i >= 0 {
		t.Errorf("an API key appears in the output:\n%s", got)
	}
}

// readmeBlock returns the first ```sh block after heading in README.md.
func readmeBlock(t *testing.T, heading string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no %q section", heading)
	}
	_, rest, ok = strings.Cut(rest, "```sh\n")
	if !ok {
		t.Fatalf("no shell block under %q", heading)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("unterminated shell block under %q", heading)
	}
	return block
}
