package cli_test

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// buildCLI builds cmd/xdrlink into a temporary directory.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "xdrlink")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/xdrlink/xdrlink/cmd/xdrlink")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runInPTY runs the built CLI with a pseudo-terminal as its stdout and
// stderr, returning everything it drew and its exit code.
func runInPTY(t *testing.T, s *server, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"--addr", s.d.GRPCAddr()}, args...)...)
	cmd.Env = append(os.Environ(), "XDRLINK_CONFIG="+s.config, "TERM=xterm")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
	if err != nil {
		t.Fatal(err)
	}
	var out syncbuf.Buffer
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		_, _ = io.Copy(&out, tty)
	}()
	err = cmd.Wait()
	<-copied // the pty answers EIO once the child has gone and the buffer is drained
	tty.Close()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return out.String(), cmd.ProcessState.ExitCode()
}

// TestOnboardFleet onboards the sandbox's demo customers through the CLI:
// a batch under a pseudo-terminal (a live bar, and a line per sign-in),
// the healthy ones by label in a pipe (plain lines; exit 0), a tenant that
// waits for a person past --timeout (exit 5), and everyone (the broken
// customers fail by design: exit 3, each failure explained); then verifies
// one, drawn as a chart.
func TestOnboardFleet(t *testing.T) {
	bin := buildCLI(t)
	s := startServer(t, true)
	admins := startApprover(t, s)

	// Under a terminal: the bar, and each sign-in as it appears.
	drawn, code := runInPTY(t, s, bin, "onboard", "contoso", "fabrikam", "--wait", "--max-concurrency", "2")
	if code != 0 {
		t.Fatalf("onboard under a pty: exit %d\n%s", code, drawn)
	}
	for _, want := range []string{"onboard", "2/2", "✓ 2", "⚑ tenants/contoso: a Security Administrator", "enter code ", "all 2 succeeded"} {
		if !strings.Contains(drawn, want) {
			t.Errorf("the terminal shows no %q:\n%s", want, drawn)
		}
	}

	// In a pipe: one plain line per change, no escape sequences.
	var progress syncbuf.Buffer
	r := s.run(t, &progress, "onboard", "--filter", `labels.kind = "healthy"`, "--wait", "--max-concurrency", "20")
	if r.code != 0 {
		t.Fatalf("onboard the healthy: %v", r)
	}
	if !regexp.MustCompile(`(?m)^operations/\S+ 15/15 done: 15 succeeded`).MatchString(r.errOut) ||
		!regexp.MustCompile(`(?m)^action required: tenants/\S+: a Security Administrator .*: open https://\S+ and enter code [A-Z0-9]+`).MatchString(r.errOut) ||
		strings.Contains(r.errOut, "\x1b[") || !strings.Contains(r.out, "all 15 succeeded") {
		t.Errorf("plain progress:\n%v", r)
	}

	// Nobody can approve for a customer without an administrator: at
	// --timeout the tenant still needs a person (5); then cancel it (4 on
	// watch once it is cancelled).
	r = s.run(t, nil, "onboard", "trey-research", "--wait", "--timeout", "5s")
	if r.code != 5 || !strings.Contains(r.errOut, "action required: tenants/trey-research") {
		t.Fatalf("onboard trey-research past its timeout: %v", r)
	}
	op := regexp.MustCompile(`\[(operations/[a-z0-9-]+)\]`).FindStringSubmatch(r.errOut)
	if op == nil {
		t.Fatalf("no operation in %q", r.errOut)
	}
	if r := s.run(t, nil, "operations", "cancel", op[1]); r.code != 0 {
		t.Fatalf("cancel: %v", r)
	}
	if r := s.run(t, nil, "operations", "watch", op[1]); r.code != 4 {
		t.Fatalf("watch a cancelled operation: %v", r)
	}

	// Everyone: the broken customers fail; the unapprovable are cancelled.
	var all syncbuf.Buffer
	admins.CancelUnapprovable(all.String)
	r = s.run(t, &all, "onboard", "--all", "--wait", "--max-concurrency", "30")
	if r.code != 3 {
		t.Fatalf("onboard --all: %v", r)
	}
	for _, want := range []string{"margies-travel", "humongous-insurance", "blue-yonder-airlines", "graphic-design-institute", "consolidated-messenger", "relecloud"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("the failures lack %s:\n%s", want, r.out)
		}
	}
	if !strings.Contains(r.errOut, "29/29 done") || !strings.Contains(r.errOut, "failed") {
		t.Errorf("progress of --all:\n%s", r.errOut)
	}

	// A customer whose DeviceFileEvents stopped arriving: its chart and verdicts.
	r = s.run(t, nil, "verify", "best-for-you-organics", "--wait")
	if r.code != 0 {
		t.Fatalf("verify: %v", r)
	}
	if !regexp.MustCompile(`DeviceFileEvents\s+[▁▂▃▄▅▆▇█·]{14,}\s+\d+.*STALE`).MatchString(r.out) || !strings.Contains(r.out, "incidents") {
		t.Errorf("verify report:\n%s", r.out)
	}
	r = s.run(t, nil, "verify", "--filter", `labels.kind = "healthy"`, "--wait")
	if r.code != 0 || !regexp.MustCompile(`(?m)^best-for-you-organics\s+STALE\s`).MatchString(r.out) || !strings.Contains(r.errOut, "15/15 done") {
		t.Errorf("batch verify: %v", r)
	}

	// A preflight that fails exits 3; offboarding undoes a tenant.
	if r := s.run(t, nil, "check", "margies-travel"); r.code != 3 || !regexp.MustCompile(`licenses.mtp\s+FAILED`).MatchString(r.out) {
		t.Errorf("check: %v", r)
	}
	if r := s.run(t, nil, "offboard", "contoso", "--wait"); r.code != 0 {
		t.Errorf("offboard: %v", r)
	}
	if r := s.run(t, nil, "tenants", "get", "contoso"); !regexp.MustCompile(`state\s+OFFBOARDED`).MatchString(r.out) {
		t.Errorf("after offboard: %v", r)
	}
	if admins.Approved() == 0 {
		t.Error("no sign-in was approved")
	}
}
