package main

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/jackc/pgx/v5"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store/storetest"
)

// fleetDone bounds the wait for a fleet test's batch to finish. Alone on
// this 2-core machine it takes a minute or less under -race; CI runs other
// packages beside it, and SQLite's one writer slows most under that load.
const fleetDone = 4 * time.Minute

// TestFleetCrash onboards 200 tenants in one batch and SIGKILLs xdrlinkd
// twice at random moments, restarting it on the same database each time:
// every child finishes, none is lost or duplicated, every workspace holds
// exactly one Defender XDR connector and every customer at most one
// streaming entry; every child succeeds (a sign-in whose tokens a kill lost
// is asked for again, and approved). The kill moments come from a seed that
// is logged; XDRLINK_TEST_FLEET_SEED replays one.
func TestFleetCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("onboards 200 tenants through two SIGKILLs of xdrlinkd (about a minute)")
	}
	bin := buildXdrlinkd(t)
	seed := fleetSeed(t)
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		runFleetCrash(t, bin, filepath.Join(t.TempDir(), "xdrlink.db"), seed)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		runFleetCrash(t, bin, storetest.NewPostgresDatabase(t), seed+1)
	})
}

// fleetTenants is the crash test's batch.
const fleetTenants = 200

func runFleetCrash(t *testing.T, bin, db string, seed uint64) {
	began := time.Now()
	since := func() time.Duration { return time.Since(began).Round(100 * time.Millisecond) }
	h, customers := newFleetHarness(t, bin, db, fleetTenants)
	rules := fleetRules(t, h.sim, customers)

	p := h.start()
	runs := []*daemonRun{p}
	lease := riverLease(t, h.ctx, db)
	registerFleet(t, p, customers)
	approveSignIns(t, h.sim)
	batch := p.batchOnboard(customers, 0)
	t.Logf("%v: %d tenants registered, batch %s started", since(), len(customers), batch)

	// Each kill comes once a random number of children have finished, or
	// a random while after the batch's start or the last restart, whichever
	// is first: on a fast machine it lands among children in every state,
	// on a slow one (where all progress together and finish late) it still
	// lands early enough that the rescue of the killed jobs does not make
	// the batch's end wait.
	rng := rand.New(rand.NewPCG(seed, 0))
	first := 5 + rng.IntN(30)
	second := first + 10 + rng.IntN(40)
	within := []time.Duration{randDuration(rng, 4*time.Second, 12*time.Second), randDuration(rng, 4*time.Second, 12*time.Second)}
	t.Logf("seed %d: kills once %d children have finished or after %v, then once %d have or %v after the restart",
		seed, first, within[0], second, within[1])
	var kills []time.Time
	for i, after := range []int{first, second} {
		deadline := time.Now().Add(within[i])
		p.waitBatch(batch, 90*time.Second, fmt.Sprintf("%d children finished", after), func(md *xdrlinkv1.OperationMetadata) bool {
			return finishedChildren(md) >= after || time.Now().After(deadline)
		})
		// Then just after the process renews its River leader lease (every
		// 5s or so). The lease outlives the kill by its whole 15s, so the
		// process restarted at once is elected leader, and rescues the
		// killed one's jobs, only once they are due (restartRescueAfter);
		// killed later in the lease's life, the restarted process would be
		// elected sooner, find the jobs not yet due, and rescue them only
		// at its next look, 30s later. Meanwhile it goes on with the rest.
		lease.waitRenewal(30 * time.Second)
		p.kill()
		kills = append(kills, time.Now())
		t.Logf("%v: kill %d at %s", since(), i+1, kills[i].Format(time.StampMilli))
		p = h.start()
		runs = append(runs, p)
		t.Logf("%v: restarted: %v", since(), p.getOp(batch).GetBatchProgress())
	}

	md := p.waitBatch(batch, fleetDone, "done", isDone)
	t.Logf("%v: batch %v: %v", since(), md.GetState(), md.GetBatchProgress())
	p.checkFleet(batch, customers, rules)
	if n := rescuedJobs(t, runs...); n == 0 {
		t.Errorf("no restarted process rescued a job: the kills interrupted nothing running, and the test proved less than it should")
	} else {
		t.Logf("%d jobs of killed processes rescued", n)
	}
	// A sign-in's refused token requests are its polls before the approval
	// and any redemption of a code already redeemed.
	t.Logf("%v: %d tenants checked; %d device-code sign-ins started, %d token requests refused", since(), len(customers),
		h.sim.CountRequests("entra.devicecode", "", http.StatusOK), h.sim.CountRequests("entra.token", http.MethodPost, http.StatusBadRequest))
	p.stop()
}

func randDuration(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	return (lo + time.Duration(rng.Int64N(int64(hi-lo)))).Round(time.Millisecond)
}

// leaseWatch reads River's leader lease from the database.
type leaseWatch struct {
	t    *testing.T
	read func() (string, error) // the lease's expiry, as text: only its changes matter
}

// riverLease watches the leader lease in db, a PostgreSQL DSN or a SQLite
// file (read-only, beside the writer).
func riverLease(t *testing.T, ctx context.Context, db string) *leaseWatch {
	t.Helper()
	const q = "SELECT CAST(expires_at AS TEXT) FROM river_leader"
	if strings.HasPrefix(db, "postgres") {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = conn.Close(context.Background()) })
		return &leaseWatch{t: t, read: func() (string, error) {
			var s string
			err := conn.QueryRow(ctx, q).Scan(&s)
			if errors.Is(err, pgx.ErrNoRows) {
				return "", nil
			}
			return s, err
		}}
	}
	sdb, err := sql.Open("sqlite", "file:"+db+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sdb.Close() })
	return &leaseWatch{t: t, read: func() (string, error) {
		var s string
		err := sdb.QueryRowContext(ctx, q).Scan(&s)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return s, err
	}}
}

// waitRenewal returns once the lease has been taken or renewed.
func (l *leaseWatch) waitRenewal(timeout time.Duration) {
	t := l.t
	t.Helper()
	was, err := l.read()
	if err != nil {
		t.Fatalf("River leader lease: %v", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		now, err := l.read()
		if err != nil {
			t.Fatalf("River leader lease: %v", err)
		}
		if now != was && now != "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("River leader lease not renewed in %v (expires %q)", timeout, now)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fleetSeed is XDRLINK_TEST_FLEET_SEED, or else a new seed; it is logged
// so that a failure can be replayed.
func fleetSeed(t *testing.T) uint64 {
	if s := os.Getenv("XDRLINK_TEST_FLEET_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("XDRLINK_TEST_FLEET_SEED: %v", err)
		}
		return seed
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d (XDRLINK_TEST_FLEET_SEED=%d replays it)", seed, seed)
	return seed
}

// healthyWorld is a generated world of n customer tenants, each given
// every trait onboarding needs: a Defender XDR licence, no consent or
// portal lock, MDI sensors, registered providers and Sentinel Contributor
// for the app. Whether Sentinel is already on varies.
func healthyWorld(n int, seed uint64) *azuresim.World {
	w := azuresim.GenerateWorld(n, seed)
	var e5 []azuresim.License
	for _, tn := range w.Tenants[1:] {
		if tn.Licenses[0].SkuPartNumber == "SPE_E5" {
			e5 = tn.Licenses
			break
		}
	}
	for _, tn := range w.Tenants[1:] {
		tn.Licenses = slices.Clone(e5)
		tn.ConsentNeeded, tn.UnifiedPortal = false, false
		if len(tn.MDISensors) == 0 {
			tn.MDISensors = []azuresim.MDISensor{{ID: tn.ID[:8] + "-0000-4000-8000-0000000000dc", DisplayName: "DC01", HealthStatus: "healthy"}}
		}
		tn.Subscriptions[0].RegisteredProviders = []string{"Microsoft.OperationalInsights", "Microsoft.SecurityInsights", "Microsoft.Insights"}
		tn.RoleAssignments[0].RoleDefinition = "Microsoft Sentinel Contributor"
	}
	return w
}

// newFleetHarness is a restart harness whose emulator serves n healthy
// customers, which it returns in registry order.
func newFleetHarness(t *testing.T, bin, db string, n int) (*restartHarness, []azuresim.DemoCustomer) {
	t.Helper()
	h := newHarness(t, bin, db, azuresim.Options{World: healthyWorld(n, 7)})
	var customers []azuresim.DemoCustomer
	for _, c := range h.sim.Customers() {
		if c.WorkspaceName != "" && c.AdminUPN != "" {
			customers = append(customers, c)
		}
	}
	if len(customers) != n {
		t.Fatalf("%d customers with a workspace and an administrator, want %d", len(customers), n)
	}
	slices.SortFunc(customers, func(a, b azuresim.DemoCustomer) int { return strings.Compare(a.ID, b.ID) })
	return h, customers
}

// fleetRules is every customer's enabled XDR incident-creation rules.
func fleetRules(t *testing.T, sim *azuresim.Sim, customers []azuresim.DemoCustomer) map[string][]string {
	t.Helper()
	rules := map[string][]string{}
	for _, c := range customers {
		rules[c.ID] = enabledXDRRules(t, sim, c)
	}
	return rules
}

// registerFleet registers the customers a few at a time.
func registerFleet(t *testing.T, p *daemonRun, customers []azuresim.DemoCustomer) {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []string
	)
	next := make(chan azuresim.DemoCustomer)
	for range 8 {
		wg.Go(func() {
			for c := range next {
				if _, err := p.client.Tenants.CreateTenant(p.h.ctx, createTenantRequest(c)); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Sprintf("%s: %v", c.ID, err))
					mu.Unlock()
				}
			}
		})
	}
	for _, c := range customers {
		next <- c
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("register: %s", strings.Join(errs, "; "))
	}
}

// approveSignIns approves every device-code sign-in the emulator hands
// out, as the customers' administrators would, until the test ends.
func approveSignIns(t testing.TB, sim *azuresim.Sim) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			for _, dc := range sim.PendingDeviceCodes() {
				_ = sim.ApproveDeviceCode(dc.UserCode, "") // raced by another approval: harmless
			}
			select {
			case <-ctx.Done():
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// batchOnboard starts one batch onboarding every customer and returns its
// name.
func (p *daemonRun) batchOnboard(customers []azuresim.DemoCustomer, maxConcurrency int32) string {
	t := p.h.t
	t.Helper()
	req := &xdrlinkv1.BatchOnboardRequest{MaxConcurrency: maxConcurrency}
	for _, c := range customers {
		req.Tenants = append(req.Tenants, "tenants/"+c.ID)
	}
	op, err := p.client.Onboarding.BatchOnboard(p.h.ctx, req)
	if err != nil {
		t.Fatalf("batch onboard: %v", err)
	}
	return op.GetName()
}

func finishedChildren(md *xdrlinkv1.OperationMetadata) int {
	bp := md.GetBatchProgress()
	return int(bp.GetSucceeded() + bp.GetFailed() + bp.GetCancelled())
}

// waitBatch polls the batch until cond holds. Past the timeout it fails,
// listing the children not finished and where each is.
func (p *daemonRun) waitBatch(name string, timeout time.Duration, what string, cond func(*xdrlinkv1.OperationMetadata) bool) *xdrlinkv1.OperationMetadata {
	t := p.h.t
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		md := p.getOp(name)
		if cond(md) {
			return md
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, kid := range p.children(name) {
				kmd := metadata(t, kid)
				if !kid.GetDone() {
					fmt.Fprintf(&b, "%s (%s) %v:\n%s", kid.GetName(), kmd.GetTenant(), kmd.GetState(), describeSteps(kmd))
				}
			}
			t.Fatalf("batch %s not %s after %v: %v %v; unfinished children:\n%s", name, what, timeout,
				md.GetState(), md.GetBatchProgress(), b.String())
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// children lists the batch's children, in id order.
func (p *daemonRun) children(batch string) []*longrunningpb.Operation {
	t := p.h.t
	t.Helper()
	var out []*longrunningpb.Operation
	req := &longrunningpb.ListOperationsRequest{Name: "operations", Filter: `parent="` + batch + `"`, PageSize: 100}
	for {
		page, err := p.client.Operations.ListOperations(p.h.ctx, req)
		if err != nil {
			t.Fatalf("list children of %s: %v", batch, err)
		}
		out = append(out, page.GetOperations()...)
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			break
		}
	}
	slices.SortFunc(out, func(a, b *longrunningpb.Operation) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// checkFleet asserts the batch is done with exactly one child per
// customer, in request order, every child done; that every workspace holds
// exactly one MicrosoftThreatProtection connector and every customer's
// Entra tenant at most one streaming entry; and that the store holds no
// operation but the batch and its children. Every child must have
// succeeded, and is checked by checkOnboarded.
func (p *daemonRun) checkFleet(batch string, customers []azuresim.DemoCustomer, rules map[string][]string) {
	t := p.h.t
	t.Helper()
	op, err := p.client.Operations.GetOperation(p.h.ctx, &longrunningpb.GetOperationRequest{Name: batch})
	if err != nil {
		t.Fatal(err)
	}
	md := metadata(t, op)
	bp := md.GetBatchProgress()
	if !op.GetDone() || md.GetKind() != xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_ONBOARD || !isDone(md) ||
		bp.GetTotal() != int32(len(customers)) || finishedChildren(md) != len(customers) {
		t.Errorf("batch %s: done %v, %v %v, progress %v; want done with %d children done", batch, op.GetDone(),
			md.GetKind(), md.GetState(), bp, len(customers))
	}
	resp := &xdrlinkv1.BatchOnboardResponse{}
	if err := op.GetResponse().UnmarshalTo(resp); err != nil {
		t.Fatalf("response of %s: %v (error %v)", batch, err, op.GetError())
	}
	kids := p.children(batch)
	if len(kids) != len(customers) || len(resp.GetResults()) != len(customers) {
		t.Fatalf("%d children and %d results for %d tenants", len(kids), len(resp.GetResults()), len(customers))
	}
	for i, c := range customers {
		kid, r := kids[i], resp.GetResults()[i]
		kmd := metadata(t, kid)
		want := fmt.Sprintf("%s-%05d", batch, i)
		if kid.GetName() != want || kmd.GetTenant() != "tenants/"+c.ID || kmd.GetParent() != batch ||
			r.GetTenant() != kmd.GetTenant() || r.GetOperation() != want {
			t.Errorf("child %d: %s of %s (parent %s), result %v; want %s of tenants/%s", i, kid.GetName(),
				kmd.GetTenant(), kmd.GetParent(), r, want, c.ID)
			continue
		}
		if !kid.GetDone() {
			t.Errorf("%s (%s) is not done: %v\n%s", kid.GetName(), c.ID, kmd.GetState(), describeSteps(kmd))
			continue
		}
		if r.GetState() != xdrlinkv1.Tenant_STATE_ONBOARDED {
			t.Errorf("result %d: %s is %v, want ONBOARDED", i, r.GetTenant(), r.GetState())
		}
		p.checkOnboarded(kid.GetName(), c, rules[c.ID]) // fails, saying why, unless it succeeded
		entries, err := p.h.sim.StreamingEntries(c.EntraTenantID)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) > 1 {
			t.Errorf("%s: %d streaming entries in its Entra tenant, want at most one", c.ID, len(entries))
		}
	}
	if md.GetState() != opSucceeded || bp.GetSucceeded() != int32(len(customers)) {
		t.Errorf("batch %s is %v with progress %v; want every one of its %d children succeeded", batch, md.GetState(), bp, len(customers))
	}
	// No operation beyond the batch and its children: nothing was
	// submitted twice.
	all, err := p.client.Operations.ListOperations(p.h.ctx, &longrunningpb.ListOperationsRequest{Name: "operations", PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all.GetOperations()); n != len(customers)+1 || all.GetNextPageToken() != "" {
		t.Errorf("%d operations stored (more: %v), want the batch and its %d children", n, all.GetNextPageToken() != "", len(customers))
	}
}

// rescuedJobs is how many jobs River's rescuer handed on, by the
// processes' logs; each rescue is logged, with when it came.
func rescuedJobs(t *testing.T, runs ...*daemonRun) int {
	n := 0
	for _, p := range runs {
		for _, line := range strings.Split(p.log.String(), "\n") {
			var rec struct {
				Time    time.Time `json:"time"`
				Msg     string    `json:"msg"`
				Retried int       `json:"num_jobs_retry_scheduled"`
			}
			if json.Unmarshal([]byte(line), &rec) == nil && strings.Contains(rec.Msg, "JobRescuer") && rec.Retried > 0 {
				t.Logf("xdrlinkd run %d rescued %d jobs at %s", p.n, rec.Retried, rec.Time.Format(time.StampMilli))
				n += rec.Retried
			}
		}
	}
	return n
}

// TestFleetFaults: with the emulator answering 10% of ARM, Graph, Defender
// and Log Analytics calls with a 500 or 503 and as many with a 429 (with a
// Retry-After), a batch of 50 healthy tenants all onboard, each exactly
// once, and no call is sent before the Retry-After it was given.
func TestFleetFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("onboards 50 tenants through injected Azure faults (half a minute or more)")
	}
	bin := buildXdrlinkd(t)
	h, customers := newFleetHarness(t, bin, filepath.Join(t.TempDir(), "xdrlink.db"), 50)
	rules := fleetRules(t, h.sim, customers)
	// A minute lets a step's calls wait out every Retry-After and backoff;
	// with restartStepTimeout steps would run out of time and be tried
	// again later, which only adds waits.
	p := h.start("--step-timeout", "1m")
	registerFleet(t, p, customers)
	approveSignIns(t, h.sim)
	if err := h.sim.SetFaults(azuresim.FaultConfig{ServerErrorRate: 0.1, ThrottleRate: 0.1,
		ThrottleRetryAfter: azuresim.Duration(time.Second)}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	batch := p.batchOnboard(customers, 0)
	md := p.waitBatch(batch, fleetDone, "done", isDone)
	t.Logf("batch %v in %v: %v", md.GetState(), time.Since(began).Round(100*time.Millisecond), md.GetBatchProgress())
	if err := h.sim.SetFaults(azuresim.FaultConfig{}); err != nil {
		t.Fatal(err)
	}
	p.checkFleet(batch, customers, rules)

	var throttled, serverErrors int64
	for _, rc := range h.sim.RequestCounts() {
		switch {
		case rc.Status == http.StatusTooManyRequests:
			throttled += rc.Count
		case rc.Status >= 500:
			serverErrors += rc.Count
		}
	}
	if throttled == 0 || serverErrors == 0 {
		t.Errorf("%d 429s and %d 5xx injected: the test proves nothing", throttled, serverErrors)
	}
	if n := h.sim.EarlyRetryTotal(); n != 0 {
		t.Errorf("%d requests arrived before the Retry-After given for them: %v", n, h.sim.EarlyRetries())
	}
	// CONNECT_EVENTS runs twice in every child: before and after the
	// sign-in. Other attempts are steps that ran out of time.
	retried := 0
	for _, kid := range p.children(batch) {
		for _, st := range metadata(t, kid).GetSteps() {
			if want := map[bool]int32{true: 2, false: 1}[st.GetKind() == xdrlinkv1.StepKind_STEP_KIND_CONNECT_EVENTS]; st.GetAttempts() > want {
				retried++
			}
		}
	}
	t.Logf("%d 429s and %d 5xx injected; %d steps tried again after running out of time", throttled, serverErrors, retried)
	p.stop()
}

// TestFleetReplicas runs two xdrlinkd replicas on one PostgreSQL database
// and one emulator, starts a batch of 80 tenants through replica A and
// SIGKILLs A mid-batch: B finishes every child (River shares the queue; B
// rescues the jobs A was running once they are due), each tenant onboards
// exactly once,
// and no tenant's Azure calls came from both replicas at once. Each replica
// reaches Azure through its own recording proxy, so the calls show which
// replica made them.
func TestFleetReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("two replicas onboard 80 tenants, one of them killed (about a minute)")
	}
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skipf("replicas share a PostgreSQL database: set %s", storetest.PostgresEnv)
	}
	bin := buildXdrlinkd(t)
	db := storetest.NewPostgresDatabase(t)
	began := time.Now()
	since := func() time.Duration { return time.Since(began).Round(100 * time.Millisecond) }
	h, customers := newFleetHarness(t, bin, db, 80)
	rules := fleetRules(t, h.sim, customers)
	calls := &callLog{}
	configA, configB := h.proxiedConfig("a", calls), h.proxiedConfig("b", calls)

	// B first, so that B is River's leader, whose rescuer hands A's jobs on.
	b := h.start("--azure-config", configB)
	electedAt := riverLeaderElected(t, h.ctx, db)
	a := h.start("--azure-config", configA)
	registerFleet(t, a, customers)
	approveSignIns(t, h.sim)
	batch := a.batchOnboard(customers, 0)
	t.Logf("%v: batch %s started through A", since(), batch)

	// The leader's rescuer runs when it is elected and every rescuerInterval
	// after; it hands on jobs started restartRescueAfter ago or more. A is
	// killed in a window that ends just in time for the rescuer's next run
	// to hand its jobs on (rather than the run after, 30s later), once both
	// replicas have called Azure for tenants of the batch, and while A runs
	// a step: it has a call to Azure in flight.
	window := func(k int) (start, end time.Time) {
		end = electedAt.Add(time.Duration(k)*rescuerInterval - restartRescueAfter - time.Second)
		return end.Add(-9 * time.Second), end
	}
	k := 1
	for _, end := window(k); time.Until(end) < 2*time.Second; _, end = window(k) {
		k++
	}
	for ready := false; !ready; k++ {
		start, end := window(k)
		time.Sleep(time.Until(start))
		for time.Now().Before(end) {
			if ready = calls.inFlight("a") > 0 && calls.tenants("a") > 0 && calls.tenants("b") > 0; ready {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		if md := b.getOp(batch); !ready && (isDone(md) || k > 3) {
			t.Fatalf("never caught A running a step after both replicas called Azure (A for %d tenants, B for %d) while the batch ran: %v",
				calls.tenants("a"), calls.tenants("b"), md.GetBatchProgress())
		}
	}
	a.kill()
	killed := time.Now()
	md := b.getOp(batch)
	t.Logf("%v: A killed with %v; tenants called for so far: A %d, B %d", since(), md.GetBatchProgress(),
		calls.tenants("a"), calls.tenants("b"))
	if finishedChildren(md) == len(customers) {
		t.Fatalf("the batch finished before A was killed; nothing was left for B to take over")
	}

	md = b.waitBatch(batch, fleetDone, "done", isDone)
	t.Logf("%v: batch %v, %v after the kill: %v", since(), md.GetState(), time.Since(killed).Round(100*time.Millisecond), md.GetBatchProgress())
	b.checkFleet(batch, customers, rules)
	if n := rescuedJobs(t, b); n == 0 {
		t.Errorf("B rescued no job of A: A was killed with nothing running, and the test proved less than it should")
	} else {
		t.Logf("B rescued %d jobs of A", n)
	}
	all := calls.snapshot()
	if n := len(callsAfter(all, "a", killed)); n > 0 {
		t.Errorf("%d calls through A's proxy began after A was killed", n)
	}
	checkNoOverlap(t, all)
	checkCreatedOnce(t, all)
	b.stop()
}

// rescuerInterval is how often River's leader looks for stuck jobs.
const rescuerInterval = 30 * time.Second

// riverLeaderElected is when the database's current River leader was
// elected, waiting for there to be one.
func riverLeaderElected(t *testing.T, ctx context.Context, dsn string) time.Time {
	t.Helper()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	deadline := time.Now().Add(20 * time.Second)
	for {
		var at time.Time
		err := conn.QueryRow(ctx, "SELECT elected_at FROM river_leader").Scan(&at)
		if err == nil {
			return at
		}
		if !errors.Is(err, pgx.ErrNoRows) || time.Now().After(deadline) {
			t.Fatalf("River leader: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// azureCall is one call a replica made to Azure (Entra's token endpoints
// aside), as its proxy saw it.
type azureCall struct {
	replica      string
	tenant       string // the bearer token's Entra tenant
	method, path string
	status       int
	start, end   time.Time
}

// callLog records the calls of every replica's proxy.
type callLog struct {
	mu       sync.Mutex
	calls    []azureCall
	inflight map[string]int             // by replica
	called   map[string]map[string]bool // replica -> tenants called for
}

func (l *callLog) begin(replica string) {
	l.mu.Lock()
	if l.inflight == nil {
		l.inflight, l.called = map[string]int{}, map[string]map[string]bool{}
	}
	l.inflight[replica]++
	l.mu.Unlock()
}

func (l *callLog) end(c azureCall) {
	l.mu.Lock()
	l.inflight[c.replica]--
	l.calls = append(l.calls, c)
	if c.tenant != "" {
		if l.called[c.replica] == nil {
			l.called[c.replica] = map[string]bool{}
		}
		l.called[c.replica][c.tenant] = true
	}
	l.mu.Unlock()
}

func (l *callLog) inFlight(replica string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inflight[replica]
}

// tenants is how many tenants the replica has called Azure for.
func (l *callLog) tenants(replica string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.called[replica])
}

func (l *callLog) snapshot() []azureCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// proxiedConfig starts a proxy that forwards to the emulator and records
// each call as the replica's, trusts its certificate, and returns an
// --azure-config sending ARM, Graph, Defender and Log Analytics calls
// through it. Entra stays direct: its metadata names the emulator as
// issuer, which the token client checks against the authority.
func (h *restartHarness) proxiedConfig(replica string, log *callLog) string {
	t := h.t
	t.Helper()
	target, err := url.Parse(h.sim.URL())
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: h.sim.HTTPClient().Transport,
		ErrorLog:  stdlog.New(io.Discard, "", 0), // calls cut off by a kill
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := azureCall{replica: replica, tenant: tokenTenant(r), method: r.Method, path: strings.ToLower(r.URL.Path), start: time.Now()}
		sw := &statusWriter{ResponseWriter: w}
		log.begin(replica)
		rp.ServeHTTP(sw, r)
		c.end, c.status = time.Now(), sw.status
		log.end(c)
	}))
	t.Cleanup(srv.Close)

	f, err := os.OpenFile(h.ca, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(pem.Encode(f, &pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), f.Close()); err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	raw, err := os.ReadFile(h.config)
	if err == nil {
		err = json.Unmarshal(raw, &cfg)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg["cloud"] = map[string]any{"name": "custom", "url": srv.URL, "overrides": map[string]any{"authority_host": h.sim.URL()}}
	if raw, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(h.dir, "azure-"+replica+".json")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// tokenTenant is the tid claim of the request's bearer token (read, not
// verified: the emulator verifies it), or "".
func tokenTenant(r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		TID string `json:"tid"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return ""
	}
	return strings.ToLower(claims.TID)
}

func callsAfter(calls []azureCall, replica string, at time.Time) []azureCall {
	var out []azureCall
	for _, c := range calls {
		if c.replica == replica && c.start.After(at) {
			out = append(out, c)
		}
	}
	return out
}

// checkNoOverlap: no tenant's Azure calls from one replica overlap in time
// with its calls from the other. A child's steps run in one job at a time,
// which calls Azure for its tenant only while it runs; when the job passes
// from one replica to the other (after a pause, or a rescue), the first
// replica's calls have ended before the second's begin. Two replicas
// running the same child's steps at once would call for its tenant at the
// same time.
func checkNoOverlap(t *testing.T, calls []azureCall) {
	t.Helper()
	byTenant := map[string][]azureCall{}
	for _, c := range calls {
		if c.tenant != "" {
			byTenant[c.tenant] = append(byTenant[c.tenant], c)
		}
	}
	both := 0
	for tenant, cs := range byTenant {
		slices.SortFunc(cs, func(a, b azureCall) int { return a.start.Compare(b.start) })
		// The latest end of each replica's calls so far.
		lastEnd := map[string]time.Time{}
		replicas := map[string]bool{}
		for _, c := range cs {
			replicas[c.replica] = true
			for r, end := range lastEnd {
				if r != c.replica && end.After(c.start) {
					t.Errorf("tenant %s: %s's call %s %s began at %v, while %s's call, ending at %v, was in flight",
						tenant, strings.ToUpper(c.replica), c.method, c.path, c.start.Format(time.StampMicro),
						strings.ToUpper(r), end.Format(time.StampMicro))
				}
			}
			if c.end.After(lastEnd[c.replica]) {
				lastEnd[c.replica] = c.end
			}
		}
		if len(replicas) == 2 {
			both++
		}
	}
	t.Logf("%d tenants called for by both replicas, never at once", both)
}

// checkCreatedOnce: each tenant's connector, Sentinel onboarding and
// EntityAnalytics setting were created (201) at most once, whichever
// replica ran the step and however often.
func checkCreatedOnce(t *testing.T, calls []azureCall) {
	t.Helper()
	created := map[string]int{}
	for _, c := range calls {
		if c.method != http.MethodPut || c.status != http.StatusCreated {
			continue
		}
		for _, kind := range []string{"/dataconnectors/", "/onboardingstates/", "/settings/"} {
			if strings.Contains(c.path, kind) {
				created[c.path]++
			}
		}
	}
	for path, n := range created {
		if n > 1 {
			t.Errorf("%s created %d times", path, n)
		}
	}
}
