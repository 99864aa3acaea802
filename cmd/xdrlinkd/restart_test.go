package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/jackc/pgx/v5"

	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azuresim"
	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/sealbox"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
	"github.com/xdrlink/xdrlink/store/storetest"
)

// TestRestartFinishesOperations kills xdrlinkd with SIGKILL twice, once
// while an onboarding waits for the customer's sign-in and once while a
// step of another onboarding runs, and restarts it on the same database
// each time: both operations finish, with no duplicate connector, streaming
// entry, operation or sign-in. The daemon runs as a subprocess against
// real-Azure mode (--azure-config), pointed at an emulator that lives in
// the test process, so Azure keeps its state across the kills.
func TestRestartFinishesOperations(t *testing.T) {
	if testing.Short() {
		t.Skip("builds xdrlinkd and waits for River to rescue a job of a killed process (half a minute or more)")
	}
	bin := buildXdrlinkd(t)
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		runRestartScenario(t, bin, filepath.Join(t.TempDir(), "xdrlink.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		runRestartScenario(t, bin, storetest.NewPostgresDatabase(t))
	})
}

// restartStepTimeout is the subprocess's --step-timeout. It is short so that
// a job left running by the killed process is rescued soon.
const restartStepTimeout = 5 * time.Second

// restartRescueAfter is when River deems a job the killed process ran stuck
// and hands it on: the step timeout plus twice the engine's margin (which
// is the step timeout, at least 5s and at most 30s).
const restartRescueAfter = restartStepTimeout + 2*restartStepTimeout

func runRestartScenario(t *testing.T, bin, db string) {
	began := time.Now()
	h := newRestartHarness(t, bin, db)
	customers := healthyCustomers(t, h.sim, 2)
	a, b := customers[0], customers[1]
	// The XDR incident-creation rules onboarding is to turn off.
	rulesA, rulesB := enabledXDRRules(t, h.sim, a), enabledXDRRules(t, h.sim, b)

	p := h.start()
	for _, c := range customers {
		registerTenant(t, p.client, c)
	}

	// 1. Killed while an operation waits for the customer's sign-in.
	opA, err := p.client.Onboarding.Onboard(h.ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + a.ID})
	if err != nil {
		t.Fatalf("onboard %s: %v", a.ID, err)
	}
	nameA := opA.GetName()
	mdA := p.waitOp(nameA, 60*time.Second, "ACTION_REQUIRED", func(md *xdrlinkv1.OperationMetadata) bool {
		return md.GetState() == opActionRequired
	})
	codeA := userCode(mdA, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS)
	if codeA == "" {
		t.Fatalf("%s waits, but not for a sign-in at CONNECT_EVENTS:\n%s", nameA, describeSteps(mdA))
	}
	// Kill between two polls of the pending sign-in, when the job is parked
	// in the queue, as it is for nearly all of the wait: after a poll, once
	// its snooze is recorded, well before the next (a second later).
	polls := h.sim.CountRequests("entra.token", http.MethodPost, http.StatusBadRequest)
	for h.sim.CountRequests("entra.token", http.MethodPost, http.StatusBadRequest) == polls {
		if h.ctx.Err() != nil {
			t.Fatalf("%s never polled its sign-in", nameA)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	p.kill()
	t.Logf("%v: killed while A waits for its sign-in", time.Since(began).Round(100*time.Millisecond))

	p = h.start()
	restarted := time.Now()
	mdA = p.getOp(nameA)
	if got := userCode(mdA, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS); mdA.GetState() != opActionRequired || got != codeA {
		t.Fatalf("after the restart %s is %v with code %q, want ACTION_REQUIRED with the code %q shown before:\n%s",
			nameA, mdA.GetState(), got, codeA, describeSteps(mdA))
	}
	// The customer signs in with the code shown before the kill; nothing
	// else is asked of xdrlinkd.
	if err := h.sim.ApproveDeviceCode(codeA, ""); err != nil {
		t.Fatalf("approve %s: %v", codeA, err)
	}
	p.waitOp(nameA, 90*time.Second, "done", isDone)
	t.Logf("%v: A finished, %v after the restart", time.Since(began).Round(100*time.Millisecond), time.Since(restarted).Round(100*time.Millisecond))
	// A parked job needs no rescue: the new process takes it up as it is,
	// without River deeming it a job the killed process left stuck.
	if n := h.rescues(nameA); n != 0 {
		t.Errorf("%s's job was rescued %d time(s) as stuck; a parked operation should resume without", nameA, n)
	}

	// 2. Killed while a step runs. Once B's prerequisites have passed (its
	// ONBOARD_WORKSPACE reads the onboarding state), every ARM call takes
	// restartLatency, so the steps that write are slow enough to be caught.
	readsBefore := h.sim.CountRequests("arm.onboardingStates", http.MethodGet, 0)
	opB, err := p.client.Onboarding.Onboard(h.ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + b.ID})
	if err != nil {
		t.Fatalf("onboard %s: %v", b.ID, err)
	}
	nameB := opB.GetName()
	for h.sim.CountRequests("arm.onboardingStates", http.MethodGet, 0) == readsBefore {
		if h.ctx.Err() != nil {
			t.Fatalf("%s never reached ONBOARD_WORKSPACE:\n%s", nameB, describeSteps(p.getOp(nameB)))
		}
		time.Sleep(100 * time.Microsecond)
	}
	if err := h.sim.SetFaults(azuresim.FaultConfig{Latency: azuresim.Latency{Fixed: azuresim.Duration(restartLatency)},
		Families: []string{azuresim.FamilyARM}}); err != nil {
		t.Fatal(err)
	}
	killed := p.killMidStep(nameB, b, rulesB)
	killedAt := time.Now()
	t.Logf("%v: killed mid-step", time.Since(began).Round(100*time.Millisecond))
	if err := h.sim.SetFaults(azuresim.FaultConfig{}); err != nil {
		t.Fatal(err)
	}

	// River's rescuer runs on the elected leader when it is elected and
	// then every 30s; the killed process was the leader, and its lease lasts
	// up to 15s. A process restarted at once is elected 10-20s after the
	// kill and may find the job not yet stuck, which costs another 30s (it
	// works, only slower). Restarting once the job is due, when the lease
	// has run out too, makes the rescue the new leader's first act.
	time.Sleep(time.Until(killedAt.Add(restartRescueAfter + time.Second)))
	p = h.start()
	restarted = time.Now()
	// The operation was recorded mid-step (River retries a rescued job only
	// a second or more after rescuing it, so this read comes first).
	mdB := p.getOp(nameB)
	if st := stepOf(t, mdB, killed); st.GetState() != xdrlinkv1.StepState_STEP_STATE_RUNNING {
		t.Fatalf("after the restart %s's %v is %v, want RUNNING (it was killed mid-step):\n%s", nameB, killed, st.GetState(), describeSteps(mdB))
	}
	// The job the killed process held is handed to this one; the operation
	// goes on with the step it was killed in, then to its sign-in.
	mdB = p.waitOp(nameB, 90*time.Second, "ACTION_REQUIRED", func(md *xdrlinkv1.OperationMetadata) bool {
		return md.GetState() == opActionRequired || isDone(md)
	})
	codeB := userCode(mdB, xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS)
	if codeB == "" {
		t.Fatalf("%s is %v, want waiting for a sign-in at CONNECT_EVENTS:\n%s", nameB, mdB.GetState(), describeSteps(mdB))
	}
	t.Logf("%s went on to its sign-in %v after the restart", nameB, time.Since(restarted).Round(100*time.Millisecond))
	if err := h.sim.ApproveDeviceCode(codeB, ""); err != nil {
		t.Fatalf("approve %s: %v", codeB, err)
	}
	mdB = p.waitOp(nameB, 60*time.Second, "done", isDone)
	t.Logf("%v: B finished", time.Since(began).Round(100*time.Millisecond))
	if st := stepOf(t, mdB, killed); st.GetAttempts() < 2 {
		t.Errorf("%s's %v ran %d time(s), want again after the kill:\n%s", nameB, killed, st.GetAttempts(), describeSteps(mdB))
	}
	// B's job, held by the killed process mid-step, could only be rescued
	// (which also shows that rescues are seen where A's had none).
	if n := h.rescues(nameB); n != 1 {
		t.Errorf("%s's job was rescued %d time(s) as stuck, want once", nameB, n)
	}

	// 3. Both finished, each exactly once.
	p.checkOnboarded(nameA, a, rulesA)
	p.checkOnboarded(nameB, b, rulesB)
	ops, err := p.client.Operations.ListOperations(h.ctx, &longrunningpb.ListOperationsRequest{Name: "operations", PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, op := range ops.GetOperations() {
		names = append(names, op.GetName())
	}
	if slices.Sort(names); !slices.Equal(names, sorted(nameA, nameB)) {
		t.Errorf("operations %v, want exactly %v", names, sorted(nameA, nameB))
	}
	// One sign-in per operation: the restarts did not start another.
	if n := h.sim.CountRequests("entra.devicecode", "", http.StatusOK); n != 2 {
		t.Errorf("%d device-code sign-ins started, want 2 (one per operation)", n)
	}
	t.Logf("%v: both operations checked", time.Since(began).Round(100*time.Millisecond))
	p.stop()
}

// restartLatency is what every ARM call takes while B is to be killed
// mid-step: long enough to catch a step between two of its writes, short
// enough that INSTALL_SOLUTION's few calls fit in restartStepTimeout.
const restartLatency = 500 * time.Millisecond

// killMidStep SIGKILLs the process while a step of the operation that
// writes to Azure runs: DISABLE_INCIDENT_CREATION_RULES after its first
// rule was turned off and before the others are, or, should that moment
// pass unseen, whichever later step is running. It returns the step.
func (p *daemonRun) killMidStep(name string, c azuresim.DemoCustomer, rules []string) xdrlinkv1.StepKind {
	t := p.h.t
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		md := p.getOp(name)
		if isDone(md) || md.GetState() == opActionRequired || time.Now().After(deadline) {
			t.Fatalf("no step of %s caught running; it is %v:\n%s", name, md.GetState(), describeSteps(md))
		}
		for _, st := range md.GetSteps() {
			if st.GetState() != xdrlinkv1.StepState_STEP_STATE_RUNNING || st.GetNextAttemptTime() != nil ||
				!slices.Contains(writeSteps, st.GetKind()) {
				continue
			}
			if st.GetKind() == xdrlinkv1.StepKind_STEP_KIND_DISABLE_INCIDENT_CREATION_RULES {
				if off := len(rules) - len(enabledXDRRules(t, p.h.sim, c)); len(rules) > 1 && off == 0 {
					continue // not yet: wait for the first rule to be turned off
				}
			}
			p.kill()
			t.Logf("killed xdrlinkd while %v of %s ran (%d of %d rules turned off)", st.GetKind(), name,
				len(rules)-len(enabledXDRRules(t, p.h.sim, c)), len(rules))
			return st.GetKind()
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// writeSteps are the steps killMidStep may kill: those that write to the
// customer's Azure with the app's credentials, after INSTALL_SOLUTION.
var writeSteps = []xdrlinkv1.StepKind{
	xdrlinkv1.StepKind_STEP_KIND_DISABLE_INCIDENT_CREATION_RULES,
	xdrlinkv1.StepKind_STEP_KIND_CONNECT_INCIDENTS_AND_ALERTS,
	xdrlinkv1.StepKind_STEP_KIND_CONNECT_ENTITIES,
}

// checkOnboarded asserts the operation succeeded and the customer's Azure
// holds exactly one of everything onboarding creates.
func (p *daemonRun) checkOnboarded(name string, c azuresim.DemoCustomer, rules []string) {
	t := p.h.t
	t.Helper()
	op, err := p.client.Operations.GetOperation(p.h.ctx, &longrunningpb.GetOperationRequest{Name: name})
	if err != nil {
		t.Fatal(err)
	}
	md := metadata(t, op)
	if md.GetState() != opSucceeded || !op.GetDone() || op.GetError() != nil {
		t.Errorf("%s (%s) is %v, error %v, want SUCCEEDED:\n%s", name, c.ID, md.GetState(), op.GetError(), describeSteps(md))
	}
	for _, st := range md.GetSteps() {
		if s := st.GetState(); s != xdrlinkv1.StepState_STEP_STATE_SUCCEEDED && s != xdrlinkv1.StepState_STEP_STATE_SKIPPED {
			t.Errorf("%s: step %v is %v", name, st.GetKind(), s)
		}
	}

	tn, err := p.client.Tenants.GetTenant(p.h.ctx, &xdrlinkv1.GetTenantRequest{Name: "tenants/" + c.ID})
	if err != nil {
		t.Fatal(err)
	}
	applied := tn.GetStatus().GetApplied()
	if tn.GetState() != xdrlinkv1.Tenant_STATE_ONBOARDED || tn.GetLastOperation() != name {
		t.Errorf("tenant %s is %v after %s, want ONBOARDED by it", c.ID, tn.GetState(), tn.GetLastOperation())
	}
	var recorded []string
	for _, r := range applied.GetDisabledRules() {
		recorded = append(recorded, r.GetName())
	}
	// Every rule turned off is on record (offboarding turns them back on),
	// including one turned off just before a kill.
	if slices.Sort(recorded); !slices.Equal(recorded, rules) {
		t.Errorf("tenant %s records disabled rules %v, want %v", c.ID, recorded, rules)
	}
	if left := enabledXDRRules(t, p.h.sim, c); len(left) > 0 {
		t.Errorf("%s: XDR incident-creation rules still enabled: %v", c.ID, left)
	}

	ws, err := p.h.sim.WorkspaceSnapshot(c.SubscriptionID, c.ResourceGroup, c.WorkspaceName)
	if err != nil {
		t.Fatal(err)
	}
	var connectors []string
	for _, r := range ws.DataConnectors {
		if r.Kind != sentinel.KindMicrosoftThreatProtection {
			continue
		}
		connectors = append(connectors, r.Name)
		b, _ := json.Marshal(r.Properties)
		var props sentinel.MTPProperties
		if err := json.Unmarshal(b, &props); err != nil || props.DataTypes.Incidents.State != sentinel.StateEnabled ||
			props.DataTypes.Alerts == nil || props.DataTypes.Alerts.State != sentinel.StateEnabled {
			t.Errorf("%s: connector %s: %s, want incidents and alerts enabled", c.ID, r.Name, b)
		}
	}
	if len(connectors) != 1 || !strings.EqualFold(connectors[0], applied.GetConnectorName()) || !applied.GetConnectorCreated() {
		t.Errorf("%s: MicrosoftThreatProtection connectors %v, want exactly one, the one recorded (%q, created %v)",
			c.ID, connectors, applied.GetConnectorName(), applied.GetConnectorCreated())
	}

	entries, err := p.h.sim.StreamingEntries(c.EntraTenantID)
	if err != nil {
		t.Fatal(err)
	}
	var ours []string
	for _, e := range entries {
		if e.WorkspaceProperties == nil || !strings.EqualFold(e.WorkspaceProperties.WorkspaceResourceID, ws.ResourceID) {
			continue
		}
		ours = append(ours, e.ID)
		var cats []string
		for _, l := range e.Logs {
			if l.Enabled {
				cats = append(cats, l.Category)
			}
		}
		if slices.Sort(cats); !slices.Equal(cats, []string{"AdvancedHunting-DeviceNetworkEvents", "AdvancedHunting-DeviceProcessEvents"}) {
			t.Errorf("%s: streaming entry %s streams %v, want the two tables asked for", c.ID, e.ID, cats)
		}
	}
	if len(ours) != 1 || !strings.EqualFold(ours[0], applied.GetStreamingEntryId()) {
		t.Errorf("%s: streaming entries for the workspace %v, want exactly one, the one recorded (%q)", c.ID, ours, applied.GetStreamingEntryId())
	}
}

// enabledXDRRules are the workspace's enabled incident-creation rules of
// the Defender XDR products, sorted by name.
func enabledXDRRules(t testing.TB, sim *azuresim.Sim, c azuresim.DemoCustomer) []string {
	t.Helper()
	ws, err := sim.WorkspaceSnapshot(c.SubscriptionID, c.ResourceGroup, c.WorkspaceName)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range ws.AlertRules {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var rule sentinel.AlertRule
		if err := json.Unmarshal(b, &rule); err != nil {
			t.Fatal(err)
		}
		if !sentinel.IsXDRIncidentCreationRule(rule) {
			continue
		}
		if p, err := sentinel.IncidentCreation(rule); err == nil && p.Enabled {
			names = append(names, rule.Name)
		}
	}
	slices.Sort(names)
	return names
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

const (
	opSucceeded      = xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED
	opActionRequired = xdrlinkv1.OperationState_OPERATION_STATE_ACTION_REQUIRED
)

func stepOf(t testing.TB, md *xdrlinkv1.OperationMetadata, kind xdrlinkv1.StepKind) *xdrlinkv1.Step {
	t.Helper()
	for _, st := range md.GetSteps() {
		if st.GetKind() == kind {
			return st
		}
	}
	t.Fatalf("no step %v:\n%s", kind, describeSteps(md))
	return nil
}

func isDone(md *xdrlinkv1.OperationMetadata) bool {
	switch md.GetState() {
	case xdrlinkv1.OperationState_OPERATION_STATE_SUCCEEDED, xdrlinkv1.OperationState_OPERATION_STATE_FAILED,
		xdrlinkv1.OperationState_OPERATION_STATE_CANCELLED:
		return true
	}
	return false
}

// restartHarness is one scenario's emulator, files and daemon runs.
// rescues counts how often River's rescuer took the job of the operation
// name as stuck (its process had stopped working it), from River's table:
// each rescue leaves an error on the job.
func (h *restartHarness) rescues(name string) int {
	h.t.Helper()
	id := strings.TrimPrefix(name, "operations/")
	var n int
	if strings.Contains(h.db, "://") {
		conn, err := pgx.Connect(h.ctx, h.db)
		if err != nil {
			h.t.Fatal(err)
		}
		defer conn.Close(context.WithoutCancel(h.ctx))
		err = conn.QueryRow(h.ctx, `SELECT count(*) FROM river_job j, unnest(j.errors) e
			WHERE j.kind = 'xdrlink.operation' AND j.args->>'operation_id' = $1 AND e->>'error' LIKE 'Stuck job rescued%'`, id).Scan(&n)
		if err != nil {
			h.t.Fatal(err)
		}
		return n
	}
	db, err := sql.Open("sqlite", "file:"+h.db+"?mode=ro")
	if err != nil {
		h.t.Fatal(err)
	}
	defer db.Close()
	err = db.QueryRowContext(h.ctx, `SELECT count(*) FROM river_job j, json_each(j.errors) e
		WHERE j.kind = 'xdrlink.operation' AND json_extract(j.args, '$.operation_id') = ? AND json_extract(e.value, '$.error') LIKE 'Stuck job rescued%'`, id).Scan(&n)
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

type restartHarness struct {
	t      *testing.T
	ctx    context.Context
	bin    string
	db     string
	dir    string
	sim    *azuresim.Sim
	config string // --azure-config
	key    string // --secret-key-file
	ca     string // the emulator's CA, as SSL_CERT_FILE
	runs   int
}

// restartSecretEnv holds the app's client secret for the subprocess.
const restartSecretEnv = "XDRLINK_RESTART_TEST_CLIENT_SECRET"

func newRestartHarness(t *testing.T, bin, db string) *restartHarness {
	t.Helper()
	w, cs := azuresim.DemoWorld()
	return newHarness(t, bin, db, azuresim.Options{World: w, Customers: cs})
}

// newHarness starts the emulator with opts (its World's Apps[0] is the
// MSSP app) and writes the files xdrlinkd runs with.
func newHarness(t *testing.T, bin, db string, opts azuresim.Options) *restartHarness {
	t.Helper()
	// Bounds every call of a scenario; a fleet's waits add up to minutes.
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	t.Cleanup(cancel)
	h := &restartHarness{t: t, ctx: ctx, bin: bin, db: db, dir: t.TempDir()}
	w := opts.World
	opts.Addr, opts.Seed = "127.0.0.1:0", 1
	// Deployments finish at their first status poll: the deployment client
	// polls again only after 5s, which a step of restartStepTimeout cannot wait.
	opts.DeploymentDuration = time.Nanosecond
	sim, err := azuresim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			var b strings.Builder
			for _, c := range sim.RequestCounts() {
				fmt.Fprintf(&b, "  %s %s %s %d: %d\n", c.Family, c.Method, c.API, c.Status, c.Count)
			}
			t.Logf("emulator requests:\n%s", b.String())
		}
		_ = sim.Close()
	})
	h.sim = sim

	h.ca = filepath.Join(h.dir, "azuresim-ca.pem")
	h.key = filepath.Join(h.dir, "secret.key")
	h.config = filepath.Join(h.dir, "azure.json")
	cfg, err := json.Marshal(map[string]any{
		"cloud": map[string]any{"name": "custom", "url": sim.URL()},
		"credential_profiles": []map[string]any{{
			"name": "sim", "kind": "client_secret", "client_id": w.Apps[0].ClientID, "client_secret_env": restartSecretEnv,
		}},
		"default_profile": "sim",
	})
	if err != nil {
		t.Fatal(err)
	}
	for path, content := range map[string][]byte{
		h.ca: sim.CACertPEM(), h.key: []byte(sealbox.GenerateKey() + "\n"), h.config: cfg,
	} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// daemonRun is one xdrlinkd process.
type daemonRun struct {
	h      *restartHarness
	n      int
	cmd    *exec.Cmd
	log    *syncbuf.Buffer
	exited chan struct{}
	client *client.Client
}

// start runs xdrlinkd serve on the harness's database and waits until it
// serves. Flags in extra come last, so they override the harness's.
func (h *restartHarness) start(extra ...string) *daemonRun {
	t := h.t
	t.Helper()
	h.runs++
	p := &daemonRun{h: h, n: h.runs, log: &syncbuf.Buffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(h.bin, append([]string{"serve",
		"--db", h.db,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--azure-config", h.config, "--secret-key-file", h.key,
		"--step-timeout", restartStepTimeout.String(),
		"--verify-interval", "0", // the tests count the operations they start
		"--shutdown-timeout", "2s"}, extra...)...)
	p.cmd.Env = append(withoutXdrlinkEnv(), "SSL_CERT_FILE="+h.ca, restartSecretEnv+"="+azuresim.GeneratedAppSecret)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start xdrlinkd: %v", err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		out := p.log.String()
		if strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("xdrlinkd run %d reported a data race", p.n)
		}
		if t.Failed() {
			t.Logf("xdrlinkd run %d output (GetOperation access logs left out):\n%s", p.n, withoutPolls(out))
		}
	})

	addr := p.waitServing(30 * time.Second)
	c, err := client.New(addr, client.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	p.client = c
	return p
}

// waitServing reads the gRPC address from the "xdrlinkd serving" log line.
func (p *daemonRun) waitServing(timeout time.Duration) string {
	t := p.h.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(p.log.String(), "\n") {
			var rec struct {
				Msg  string `json:"msg"`
				GRPC string `json:"grpc"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "xdrlinkd serving" && rec.GRPC != "" {
				return rec.GRPC
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("xdrlinkd run %d exited before serving (%v):\n%s", p.n, p.cmd.ProcessState, p.log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("xdrlinkd run %d not serving after %v:\n%s", p.n, timeout, p.log.String())
		}
	}
}

// kill ends the process with SIGKILL: no shutdown, no cleanup.
func (p *daemonRun) kill() {
	t := p.h.t
	t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill xdrlinkd: %v", err)
	}
	<-p.exited
	_ = p.client.Close()
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("xdrlinkd run %d ended with %v, want killed by SIGKILL", p.n, p.cmd.ProcessState)
	}
}

// stop ends the process as an orchestrator would (SIGTERM) and expects a
// clean exit.
func (p *daemonRun) stop() {
	t := p.h.t
	t.Helper()
	_ = p.client.Close()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM xdrlinkd: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("xdrlinkd run %d still running 30s after SIGTERM", p.n)
	}
	if !p.cmd.ProcessState.Success() {
		t.Errorf("xdrlinkd run %d ended with %v after SIGTERM, want exit status 0", p.n, p.cmd.ProcessState)
	}
}

// withoutPolls drops the test's GetOperation polls from the access log.
func withoutPolls(log string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(log, "\n") {
		if !strings.Contains(line, `"grpc.method":"GetOperation"`) {
			b.WriteString(line)
		}
	}
	return b.String()
}

func (p *daemonRun) getOp(name string) *xdrlinkv1.OperationMetadata {
	t := p.h.t
	t.Helper()
	op, err := p.client.Operations.GetOperation(p.h.ctx, &longrunningpb.GetOperationRequest{Name: name})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return metadata(t, op)
}

// waitOp polls the operation until cond holds.
func (p *daemonRun) waitOp(name string, timeout time.Duration, what string, cond func(*xdrlinkv1.OperationMetadata) bool) *xdrlinkv1.OperationMetadata {
	t := p.h.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		md := p.getOp(name)
		if cond(md) {
			return md
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not %s after %v: %v\n%s", name, what, timeout, md.GetState(), describeSteps(md))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func metadata(t testing.TB, op *longrunningpb.Operation) *xdrlinkv1.OperationMetadata {
	t.Helper()
	md := &xdrlinkv1.OperationMetadata{}
	if err := op.GetMetadata().UnmarshalTo(md); err != nil {
		t.Fatalf("metadata of %s: %v", op.GetName(), err)
	}
	return md
}

func describeSteps(md *xdrlinkv1.OperationMetadata) string {
	var b strings.Builder
	for _, st := range md.GetSteps() {
		var took time.Duration
		if st.GetStartTime() != nil && st.GetEndTime() != nil {
			took = st.GetEndTime().AsTime().Sub(st.GetStartTime().AsTime())
		}
		fmt.Fprintf(&b, "  %v %v attempts=%d took=%v: %s %v\n", st.GetKind(), st.GetState(), st.GetAttempts(), took.Round(time.Millisecond), st.GetMessage(), st.GetError().GetMessage())
	}
	return b.String()
}

// userCode is the device code a step in ACTION_REQUIRED shows.
func userCode(md *xdrlinkv1.OperationMetadata, kind xdrlinkv1.StepKind) string {
	for _, st := range md.GetSteps() {
		if st.GetKind() == kind && st.GetState() == xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED {
			return st.GetRequiredAction().GetDeviceCode().GetUserCode()
		}
	}
	return ""
}

func healthyCustomers(t testing.TB, sim *azuresim.Sim, n int) []azuresim.DemoCustomer {
	t.Helper()
	var out []azuresim.DemoCustomer
	for _, c := range sim.Customers() {
		if c.Kind == azuresim.DemoHealthy && len(out) < n {
			out = append(out, c)
		}
	}
	if len(out) < n {
		t.Fatalf("%d healthy demo customers, want %d", len(out), n)
	}
	return out
}

// restartTables are what the tenants stream (both writable by the
// streaming API, so the entry holds exactly these).
var restartTables = []string{"DeviceProcessEvents", "DeviceNetworkEvents"}

func registerTenant(t testing.TB, c *client.Client, dc azuresim.DemoCustomer) {
	t.Helper()
	if _, err := c.Tenants.CreateTenant(context.Background(), createTenantRequest(dc)); err != nil {
		t.Fatalf("register %s: %v", dc.ID, err)
	}
}

// createTenantRequest registers the customer to onboard incidents, alerts,
// entities and restartTables.
func createTenantRequest(dc azuresim.DemoCustomer) *xdrlinkv1.CreateTenantRequest {
	return &xdrlinkv1.CreateTenantRequest{TenantId: dc.ID, Tenant: &xdrlinkv1.Tenant{
		DisplayName:   dc.DisplayName,
		EntraTenantId: dc.EntraTenantID,
		Workspace: &xdrlinkv1.Workspace{SubscriptionId: dc.SubscriptionID, ResourceGroup: dc.ResourceGroup,
			Name: dc.WorkspaceName, Region: dc.Region},
		Connector: &xdrlinkv1.ConnectorSettings{Incidents: true, Alerts: true, DisableIncidentCreationRules: true,
			EntitySync: true, Tables: restartTables},
	}}
}

// buildXdrlinkd builds this command once, with -race when the test has it.
func buildXdrlinkd(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "xdrlinkd")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build xdrlinkd: %v", err)
	}
	cmd := exec.Command(goTool, append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	return ok && slices.ContainsFunc(bi.Settings, func(s debug.BuildSetting) bool { return s.Key == "-race" && s.Value == "true" })
}

// withoutXdrlinkEnv is the test's environment without XDRLINK_* and
// SSL_CERT_* settings: a daemon under test is configured by its flags alone.
func withoutXdrlinkEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "XDRLINK_") && !strings.HasPrefix(kv, "SSL_CERT_") {
			env = append(env, kv)
		}
	}
	return env
}
