package cli_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/daemon"
	"github.com/xdrlink/xdrlink/internal/cli"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// server is a real xdrlinkd on loopback ports with the sandbox emulator.
type server struct {
	d      *daemon.Daemon
	sim    string // the emulator's base URL
	simHC  *http.Client
	config string // the CLI's configuration file for this test
	ca     string // the emulator's CA certificate file
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer starts xdrlinkd like daemon's own tests do; register says
// whether the sandbox's demo customers are registered at start.
func startServer(t testing.TB, register bool, mutate ...func(*daemon.Config)) *server {
	t.Helper()
	dir := t.TempDir()
	cfg := daemon.Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB = filepath.Join(dir, "xdrlink.db")
	cfg.ReadinessInterval = 50 * time.Millisecond
	cfg.VerifyInterval = 0
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.SandboxAddr = freePort(t)
	cfg.SandboxCAOut = filepath.Join(dir, "sandbox-ca.pem")
	cfg.SandboxSecretKey = filepath.Join(dir, "secret.key")
	cfg.SandboxRegister = register
	cfg.RateLimit = 0
	cfg.JobPollInterval = 50 * time.Millisecond
	cfg.StepTimeout = 30 * time.Second
	cfg.DeploymentPollInterval = 250 * time.Millisecond
	for _, m := range mutate {
		m(&cfg)
	}
	d, err := daemon.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start xdrlinkd: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	pem, err := os.ReadFile(cfg.SandboxCAOut)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &server{
		d:      d,
		sim:    "https://" + cfg.SandboxAddr,
		simHC:  &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}},
		config: filepath.Join(dir, "cli-config.yaml"),
		ca:     cfg.SandboxCAOut,
	}
}

// result is one run of the CLI.
type result struct {
	code        int
	out, errOut string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.out, r.errOut)
}

func (s *server) env(k string) string {
	switch k {
	case "XDRLINK_CONFIG":
		return s.config
	case "NO_COLOR":
		return "1"
	}
	return ""
}

// run runs the CLI in-process against s; stderr may be watched while it runs.
func (s *server) run(t testing.TB, stderr *syncbuf.Buffer, args ...string) result {
	t.Helper()
	var out bytes.Buffer
	if stderr == nil {
		stderr = &syncbuf.Buffer{}
	}
	code := cli.Run(append([]string{"--addr", s.d.GRPCAddr()}, args...), cli.IO{In: strings.NewReader(""), Out: &out, Err: stderr, Getenv: s.env})
	return result{code: code, out: out.String(), errOut: stderr.String()}
}

// pendingCodes lists the emulator's device codes no one has approved yet.
func (s *server) pendingCodes(t testing.TB) []string {
	resp, err := s.simHC.Get(s.sim + "/_sim/devicecodes")
	if err != nil {
		t.Errorf("list device codes: %v", err)
		return nil
	}
	defer resp.Body.Close()
	var body struct {
		Value []struct {
			UserCode string `json:"userCode"`
		} `json:"value"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Errorf("device codes: %v", err)
	}
	var out []string
	for _, v := range body.Value {
		out = append(out, v.UserCode)
	}
	return out
}

// approve approves a code as the tenant's administrator; it returns the
// HTTP status (409: the tenant has no administrator).
func (s *server) approve(t testing.TB, code string) int {
	resp, err := s.simHC.Post(s.sim+"/_sim/devicecodes/"+code+"/approve", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Errorf("approve %s: %v", code, err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// approver plays the customers' administrators until stopped: it approves
// every pending code, and for a code nobody can approve (no administrator)
// it cancels the waiting operation through the CLI, finding the operation
// by the code in the action line the CLI printed to watched.
type approver struct {
	s        *server
	t        testing.TB
	mu       sync.Mutex
	watched  func() string
	refused  map[string]bool
	approved map[string]bool
	stop     chan struct{}
	done     chan struct{}
}

var actionLine = regexp.MustCompile(`code ([A-Z0-9]+) .*\[(operations/[a-z0-9-]+)\]`)

func startApprover(t testing.TB, s *server) *approver {
	a := &approver{s: s, t: t, refused: map[string]bool{}, approved: map[string]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	go a.loop()
	t.Cleanup(a.Stop)
	return a
}

// CancelUnapprovable sets the output to find the operations to cancel in.
func (a *approver) CancelUnapprovable(output func() string) {
	a.mu.Lock()
	a.watched = output
	a.mu.Unlock()
}

func (a *approver) Approved() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.approved)
}

func (a *approver) Stop() {
	select {
	case <-a.stop:
	default:
		close(a.stop)
		<-a.done
	}
}

func (a *approver) loop() {
	defer close(a.done)
	cancelled := map[string]bool{}
	for {
		for _, code := range a.s.pendingCodes(a.t) {
			a.mu.Lock()
			seen := a.refused[code]
			a.mu.Unlock()
			if !seen {
				st := a.s.approve(a.t, code)
				a.mu.Lock()
				if st == http.StatusOK {
					a.approved[code] = true
				} else {
					a.refused[code] = true
				}
				a.mu.Unlock()
			}
		}
		a.mu.Lock()
		watched, refused := a.watched, a.refused
		a.mu.Unlock()
		if watched != nil {
			for _, m := range actionLine.FindAllStringSubmatch(watched(), -1) {
				if refused[m[1]] && !cancelled[m[2]] {
					cancelled[m[2]] = true
					if r := a.s.run(a.t, nil, "operations", "cancel", m[2]); r.code != 0 {
						a.t.Errorf("cancel %s: %v", m[2], r)
					}
				}
			}
		}
		select {
		case <-a.stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}
