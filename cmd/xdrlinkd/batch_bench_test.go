package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	_ "modernc.org/sqlite" // database/sql driver "sqlite", to read River's table

	"github.com/xdrlink/xdrlink/azuresim"
	"github.com/xdrlink/xdrlink/client"
	"github.com/xdrlink/xdrlink/daemon"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/sealbox"
	"github.com/xdrlink/xdrlink/store/storetest"
)

// Batch onboarding benchmarks. xdrlinkd runs as a subprocess in real-Azure
// mode (--azure-config) against an emulator in the test process, as in
// TestRestartFinishesOperations, so that its peak RSS (VmHWM) and CPU time
// are its own and not the emulator's. Every emulated Azure call (Entra, ARM,
// Graph, Defender streaming, Log Analytics) takes benchLatency; the tenants
// are all healthy, each in its own subscription; every onboarding pauses
// once for a device-code sign-in, which a goroutine approves as soon as the
// code is out.
//
// Run (PostgreSQL runs when XDRLINK_TEST_POSTGRES_DSN is set):
//
//	go test -run '^$' -bench 'BatchOnboard1000$' -benchtime 1x -timeout 30m ./cmd/xdrlinkd/
//	go test -run '^$' -bench 'BatchOnboard10000$' -benchtime 1x -timeout 60m ./cmd/xdrlinkd/
//
// XDRLINK_BENCH_CONCURRENCY, _WORKERS, _AZURE_MAX_CONCURRENT,
// _JOB_POLL_INTERVAL, _PG_MAX_CONNS and _TENANTS override the settings
// below, for trying others without editing the file. XDRLINK_BENCH_LOG_DIR
// keeps xdrlinkd's log there. XDRLINK_BENCH_INPROCESS=1 runs xdrlinkd in
// the test process instead, so that go test's -cpuprofile, -blockprofile,
// -mutexprofile and -trace see it (its RSS and CPU then include the
// emulator's; one backend per go test, as the process trusts only the
// first emulator's certificate); XDRLINK_BENCH_HEAPPROFILE=file then
// writes a heap profile once the batch is done.

// benchLatency is what every emulated Azure call takes.
const benchLatency = 50 * time.Millisecond

// benchSignInInterval is the emulator's device-code polling interval
// (azuresim/entra.go): once the code is out, the first poll, and so the
// sign-in, cannot complete sooner. It is on every tenant's critical path.
const benchSignInInterval = time.Second

// benchTables are what the tenants stream; both are writable by the
// streaming API.
var benchTables = []string{"DeviceProcessEvents", "DeviceNetworkEvents"}

// benchSettings are a run's sizes and xdrlinkd's tuning.
type benchSettings struct {
	tenants int
	// concurrency is the batch's max_concurrency.
	concurrency int
	// workers (--workers): every running child holds a worker while its
	// steps run; children waiting for a sign-in do not, but each of their
	// polls takes one briefly. A fifth more than the concurrency leaves room
	// for those polls and the batch's own job.
	workers int
	// azureMaxConcurrent (--azure-max-concurrent): a running child has one
	// Azure call in flight, up to three during the prerequisite checks
	// (ARM, Graph and Entra are separate throttling scopes). The default
	// (64) would cap the batch at 64 x 20 calls/s whatever the concurrency.
	azureMaxConcurrent int
	// jobPollInterval (--job-poll-interval): a child resuming after its
	// sign-in's poll interval, and on SQLite every child the batch starts,
	// waits for the job queue's next look; River's default (1s) would add
	// up to two seconds to each tenant's critical path.
	jobPollInterval time.Duration
	// pgMaxConns (--postgres-max-conns): the pool the workers and the API
	// share; within the benchmark server's max_connections (300).
	pgMaxConns int
	// probes are tenants onboarded one at a time before the batch: the
	// critical path and the one-at-a-time time come from them.
	probes int
	// sampleList samples ListTenants latency while the batch runs.
	sampleList bool
	// byFilter selects the batch's tenants with a filter instead of names.
	byFilter bool
}

// defaultBenchSettings: max_concurrency 150. Alone, a tenant's onboarding
// takes ~3.2s (40 calls one after the other and the sign-in). On the
// benchmark machine (two cores for xdrlinkd, the emulator and the database)
// a batch tops out at 32-43 tenants/s whatever its concurrency (measured
// on SQLite: 100 places 32/s, 150 36/s, 200 35/s, 250 39/s, 500 43/s, the
// CPUs 80-90% busy throughout): by Little's law ~40/s x 3.2s, about 130
// tenants in flight, keep it busy; 150 leaves room for the children that
// gave their place up while they wait for a sign-in. More places only queue
// work inside xdrlinkd (each tenant slower, more memory) and shorten an
// ideal the CPUs cannot reach; fewer leave them idle.
func defaultBenchSettings(tenants int) benchSettings { return newBenchSettings(tenants, 150) }

// newBenchSettings are the settings above with another default
// max_concurrency; the XDRLINK_BENCH_* variables override them.
func newBenchSettings(tenants, concurrency int) benchSettings {
	s := benchSettings{
		tenants:            tenants,
		concurrency:        concurrency,
		azureMaxConcurrent: 1000,
		jobPollInterval:    50 * time.Millisecond,
		pgMaxConns:         200,
		probes:             3,
	}
	s.workers = s.concurrency + s.concurrency/5
	envInt := func(name string, v *int) {
		if e := os.Getenv("XDRLINK_BENCH_" + name); e != "" {
			n, err := strconv.Atoi(e)
			if err != nil {
				panic(fmt.Sprintf("XDRLINK_BENCH_%s: %v", name, err))
			}
			*v = n
		}
	}
	envInt("TENANTS", &s.tenants)
	workersSet := os.Getenv("XDRLINK_BENCH_WORKERS") != ""
	envInt("CONCURRENCY", &s.concurrency)
	if !workersSet {
		s.workers = s.concurrency + s.concurrency/5
	}
	envInt("WORKERS", &s.workers)
	envInt("AZURE_MAX_CONCURRENT", &s.azureMaxConcurrent)
	envInt("PG_MAX_CONNS", &s.pgMaxConns)
	if e := os.Getenv("XDRLINK_BENCH_JOB_POLL_INTERVAL"); e != "" {
		d, err := time.ParseDuration(e)
		if err != nil {
			panic(fmt.Sprintf("XDRLINK_BENCH_JOB_POLL_INTERVAL: %v", err))
		}
		s.jobPollInterval = d
	}
	return s
}

// BenchmarkBatchOnboard1000 onboards 1,000 registered tenants in one batch
// and compares the wall time with the latency-bound ideal for the batch's
// concurrency and with onboarding them one at a time.
func BenchmarkBatchOnboard1000(b *testing.B) {
	s := defaultBenchSettings(1000)
	bin := buildBenchXdrlinkd(b)
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runBatchBench(b, bin, backend, s)
			}
		})
	}
}

// BenchmarkBatchOnboard10000 creates 10,000 tenants (BatchCreateTenants,
// 1,000 a call) and onboards them in one batch selected by filter, while a
// goroutine samples ListTenants (a page of 100, a random page each time).
func BenchmarkBatchOnboard10000(b *testing.B) {
	s := defaultBenchSettings(10000)
	s.sampleList, s.byFilter = true, true
	bin := buildBenchXdrlinkd(b)
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				runBatchBench(b, bin, backend, s)
			}
		})
	}
}

// runBatchBench is one run: a fresh emulator, database and xdrlinkd; the
// tenants registered and the probes onboarded (not timed); then the batch
// (timed).
func runBatchBench(b *testing.B, bin, backend string, s benchSettings) {
	b.StopTimer()
	ctx := b.Context()
	dir := b.TempDir()
	db := filepath.Join(dir, "xdrlink.db")
	if backend == "postgres" {
		db = storetest.NewPostgresDatabase(b)
	}

	spans := &benchSpanLog{}
	world := healthyWorld(s.tenants+s.probes, 1)
	for _, tn := range world.Tenants[1:] {
		tn.Workspaces[0].SentinelOnboarded = false // every step writes
	}
	sim, err := azuresim.Start(azuresim.Options{
		World: world, Seed: 1, Logger: slog.New(spans),
		Faults: azuresim.FaultConfig{Latency: azuresim.Latency{Fixed: azuresim.Duration(benchLatency)},
			Families: []string{azuresim.FamilyEntra, azuresim.FamilyARM, azuresim.FamilyGraph, azuresim.FamilyDefender, azuresim.FamilyLogAnalytics}},
		// The solution's deployment succeeds at its first status poll: the
		// deployment client would otherwise wait 5s before polling again,
		// a fixed pause that is no call's latency.
		DeploymentDuration: time.Nanosecond,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	// The world's first tenant is the MSSP's own, without a workspace.
	customers := slices.DeleteFunc(sim.Customers(), func(c azuresim.DemoCustomer) bool { return c.WorkspaceName == "" })
	probes, tenants := customers[:s.probes], customers[s.probes:]

	p := startBenchDaemon(b, bin, dir, db, sim, world, backend, s)
	benchRegister(b, p.client, customers)
	approveSignIns(b, sim)

	// One tenant at a time: its onboarding's wall time, its Azure calls,
	// and how many of them lie one after the other (the critical path).
	var alone []benchProbe
	for _, c := range probes {
		alone = append(alone, p.onboardAlone(ctx, sim, spans, c))
	}
	oneTenant := benchMedianProbe(alone)

	var (
		sampler  *benchListSampler
		baseline benchLatencies
	)
	if s.sampleList {
		// The same calls with nothing else running first, to tell the
		// query's own latency from what the batch adds.
		sampler = startBenchListSampler(b, p.client)
		time.Sleep(3 * time.Second)
		baseline = sampler.stop()
		sampler = startBenchListSampler(b, p.client)
	}
	req := &xdrlinkv1.BatchOnboardRequest{MaxConcurrency: int32(s.concurrency)}
	if s.byFilter {
		req.Filter = `state=REGISTERED AND labels.bench="batch"`
	} else {
		for _, c := range tenants {
			req.Tenants = append(req.Tenants, "tenants/"+c.ID)
		}
	}
	var waits *benchPGWaits
	if backend == "postgres" {
		waits = startBenchPGWaits(b, db)
	}
	pending0 := sim.CountRequests("entra.token", http.MethodPost, http.StatusBadRequest)
	use := p.startUsage()
	began := time.Now()
	b.StartTimer()
	op, err := p.client.Onboarding.BatchOnboard(ctx, req)
	if err != nil {
		b.Fatalf("BatchOnboard: %v", err)
	}
	op = p.waitBatch(ctx, op.GetName())
	b.StopTimer()
	if path := os.Getenv("XDRLINK_BENCH_HEAPPROFILE"); path != "" && p.inproc != nil {
		// What xdrlinkd (and the emulator, in the same process) keeps once
		// the batch is done.
		runtime.GC()
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			b.Fatal(err)
		}
		_ = f.Close()
	}
	wall := time.Since(began)
	used := use.stop(wall)
	cpu := used.cpu
	pending := sim.CountRequests("entra.token", http.MethodPost, http.StatusBadRequest) - pending0
	var waited map[string]int
	if waits != nil {
		waited = waits.stop()
	}
	var lat benchLatencies
	if sampler != nil {
		lat = sampler.stop()
	}
	p.checkBatch(op, len(tenants))
	rss := p.peakRSS()

	waves := math.Ceil(float64(len(tenants)) / float64(s.concurrency))
	perTenant := time.Duration(oneTenant.critical)*benchLatency + benchSignInInterval
	ideal := time.Duration(waves) * perTenant
	oneAtATime := oneTenant.wall * time.Duration(len(tenants))
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(ideal.Seconds(), "ideal-s")
	b.ReportMetric(wall.Seconds()/ideal.Seconds(), "wall/ideal")
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(oneAtATime.Seconds(), "one-at-a-time-s")
	b.ReportMetric(oneAtATime.Seconds()/wall.Seconds(), "speedup")
	b.ReportMetric(float64(len(tenants))/wall.Seconds(), "tenants/s")
	b.ReportMetric(cpu.Seconds(), "xdrlinkd-CPU-s")
	if sampler != nil {
		b.ReportMetric(float64(lat.quantile(0.50))/1e6, "list-p50-ms")
		b.ReportMetric(float64(lat.quantile(0.99))/1e6, "list-p99-ms")
	}

	var line strings.Builder
	fmt.Fprintf(&line, "%s: %d tenants, max_concurrency %d, --workers %d, --azure-max-concurrent %d, --job-poll-interval %v, %v per Azure call\n",
		backend, len(tenants), s.concurrency, s.workers, s.azureMaxConcurrent, s.jobPollInterval, benchLatency)
	for i, pr := range alone {
		fmt.Fprintf(&line, "  alone %d: %v, %d Azure calls, %d on the critical path (%v of Azure time), sign-in %v after its code\n",
			i+1, pr.wall.Round(time.Millisecond), pr.calls, pr.critical, pr.azure.Round(time.Millisecond), pr.signIn.Round(time.Millisecond))
	}
	fmt.Fprintf(&line, "  ideal %v = (%d calls x %v + %v sign-in poll) x %v waves\n",
		ideal.Round(time.Millisecond), oneTenant.critical, benchLatency, benchSignInInterval, waves)
	fmt.Fprintf(&line, "  wall %v: %.2f x ideal (target <= 1.5); %.1f tenants/s\n", wall.Round(time.Millisecond), wall.Seconds()/ideal.Seconds(), float64(len(tenants))/wall.Seconds())
	fmt.Fprintf(&line, "  one at a time %v (%v x %d): speedup %.0fx (target >= 100x)\n",
		oneAtATime.Round(time.Second), oneTenant.wall.Round(time.Millisecond), len(tenants), oneAtATime.Seconds()/wall.Seconds())
	line.WriteString(used.lines(rss))
	if runs, snoozes, err := benchJobRuns(ctx, backend, db); err == nil {
		// Each child snoozes once when its sign-in starts and once per
		// poll that finds it pending; the rest waited for a place (or
		// chained steps past half the job margin, which these do not reach).
		signIn := int64(len(tenants)) + pending
		fmt.Fprintf(&line, "  job runs: %d operation jobs ran %d times: %d snoozes, %d for the sign-in (%d polls found it pending), %d waiting for a place\n",
			runs, runs+snoozes, snoozes, signIn, pending, snoozes-signIn)
	} else {
		fmt.Fprintf(&line, "  job runs: %v\n", err)
	}
	if waited != nil {
		fmt.Fprintf(&line, "  PostgreSQL server processes: CPU %.1fs (%.2f cores); sessions (sampled every 100ms): %s\n",
			used.pg.Seconds(), used.pg.Seconds()/wall.Seconds(), benchTopWaits(waited, 5))
	}
	if sampler != nil {
		fmt.Fprintf(&line, "  ListTenants (page_size 100, a random page) during the batch: %d samples, p50 %v, p99 %v, max %v (target p99 < 20ms); before it, idle: p50 %v, p99 %v\n",
			len(lat), lat.quantile(0.50).Round(10*time.Microsecond), lat.quantile(0.99).Round(10*time.Microsecond), lat.quantile(1).Round(10*time.Microsecond),
			baseline.quantile(0.50).Round(10*time.Microsecond), baseline.quantile(0.99).Round(10*time.Microsecond))
	}
	line.WriteString(p.breakdown(ctx, op.GetName(), alone))
	// Printed, not logged: go test keeps only a benchmark's last ten log lines.
	fmt.Print("\n" + line.String())
	p.stop()
}

// benchUsage is the CPU xdrlinkd, this process (the emulator), the database
// server and the machine have used since startUsage.
type benchUsage struct {
	p        *benchDaemon
	load     string // before
	wall     time.Duration
	cpu, sim time.Duration // xdrlinkd's, this process's
	pg       time.Duration // the PostgreSQL server processes'
	machine  benchCPUTicks // at the start; after stop, unused
	busy     float64       // share of the machine's CPU time not idle
}

func (p *benchDaemon) startUsage() benchUsage {
	return benchUsage{p: p, load: benchLoadAverage(), cpu: p.cpuTime(), sim: benchSelfCPU(), pg: benchPostgresCPU(), machine: benchMachineCPU()}
}

// stop returns what was used since the start, over wall.
func (u benchUsage) stop(wall time.Duration) benchUsage {
	return benchUsage{p: u.p, load: u.load, wall: wall, cpu: u.p.cpuTime() - u.cpu, sim: benchSelfCPU() - u.sim,
		pg: benchPostgresCPU() - u.pg, busy: benchMachineCPU().busySince(u.machine)}
}

// lines are xdrlinkd's peak RSS and CPU, and the machine's.
func (u benchUsage) lines(rss int64) string {
	var out strings.Builder
	wall := u.wall.Seconds()
	fmt.Fprintf(&out, "  xdrlinkd peak RSS %.0f MiB (target <= 300); CPU %.1fs (%.2f cores); emulator and test process CPU %.1fs (%.2f cores)\n",
		float64(rss)/(1<<20), u.cpu.Seconds(), u.cpu.Seconds()/wall, u.sim.Seconds(), u.sim.Seconds()/wall)
	own := (u.cpu + u.sim).Seconds() / wall / float64(runtime.NumCPU())
	if u.p.inproc != nil {
		own = u.cpu.Seconds() / wall / float64(runtime.NumCPU()) // one process
	}
	fmt.Fprintf(&out, "  machine (%d CPUs) busy %.0f%% during the batch: %.0f%% xdrlinkd and the emulator, %.0f%% the rest (the database server, other processes; load average %s before)\n",
		runtime.NumCPU(), 100*u.busy, 100*own, 100*(u.busy-own), u.load)
	return out.String()
}

// breakdown says where the batch's children spent their time, next to the
// probes (alone): waiting for a place, each step, and between steps (in the
// job queue, or for a place after the sign-in).
func (p *benchDaemon) breakdown(ctx context.Context, batch string, alone []benchProbe) string {
	var (
		queued, service benchLatencies
		steps           = map[xdrlinkv1.StepKind]benchLatencies{}
		gaps            benchLatencies
	)
	p.eachChild(ctx, batch, func(op *longrunningpb.Operation) {
		md := metadata(p.b, op)
		sts := md.GetSteps()
		if len(sts) == 0 || sts[0].GetStartTime() == nil {
			return
		}
		first := sts[0].GetStartTime().AsTime()
		queued = append(queued, first.Sub(md.GetCreateTime().AsTime()))
		service = append(service, md.GetEndTime().AsTime().Sub(first))
		for i, st := range sts {
			if st.GetStartTime() == nil || st.GetEndTime() == nil {
				continue
			}
			steps[st.GetKind()] = append(steps[st.GetKind()], st.GetEndTime().AsTime().Sub(st.GetStartTime().AsTime()))
			if i > 0 && sts[i-1].GetEndTime() != nil {
				gaps = append(gaps, st.GetStartTime().AsTime().Sub(sts[i-1].GetEndTime().AsTime()))
			}
		}
	})
	q := func(l benchLatencies) string {
		return fmt.Sprintf("p50 %v p90 %v max %v", l.quantile(0.5).Round(time.Millisecond), l.quantile(0.9).Round(time.Millisecond), l.quantile(1).Round(time.Millisecond))
	}
	var out strings.Builder
	fmt.Fprintf(&out, "  children: waited for a place %s; first step to done %s (alone: %v)\n", q(queued), q(service), benchMedianProbe(alone).wall.Round(time.Millisecond))
	kinds := make([]xdrlinkv1.StepKind, 0, len(steps))
	for k := range steps {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&out, "    %-42v %s (alone %v)\n", k, q(steps[k]), benchMedianProbe(alone).steps[k].Round(time.Millisecond))
	}
	fmt.Fprintf(&out, "    %-42s %s\n", "between two steps", q(gaps))
	return out.String()
}

// eachChild calls fn with every child operation of the batch.
func (p *benchDaemon) eachChild(ctx context.Context, batch string, fn func(*longrunningpb.Operation)) {
	token := ""
	for {
		page, err := p.client.Operations.ListOperations(ctx, &longrunningpb.ListOperationsRequest{
			Name: "operations", Filter: `parent="` + batch + `"`, PageSize: 200, PageToken: token})
		if err != nil {
			p.b.Fatalf("list children: %v", err)
		}
		for _, op := range page.GetOperations() {
			fn(op)
		}
		if token = page.GetNextPageToken(); token == "" {
			return
		}
	}
}

// benchRegister creates the tenants, 1,000 per BatchCreateTenants call; should
// the server not have it, with CreateTenant calls 32 at a time.
func benchRegister(b *testing.B, c *client.Client, customers []azuresim.DemoCustomer) {
	ctx := b.Context()
	tenant := func(dc azuresim.DemoCustomer) *xdrlinkv1.CreateTenantRequest {
		return &xdrlinkv1.CreateTenantRequest{TenantId: dc.ID, Tenant: &xdrlinkv1.Tenant{
			DisplayName:   dc.DisplayName,
			EntraTenantId: dc.EntraTenantID,
			Workspace: &xdrlinkv1.Workspace{SubscriptionId: dc.SubscriptionID, ResourceGroup: dc.ResourceGroup,
				Name: dc.WorkspaceName, Region: dc.Region},
			Connector: &xdrlinkv1.ConnectorSettings{Incidents: true, Alerts: true, DisableIncidentCreationRules: true,
				EntitySync: true, Tables: benchTables},
			Labels: map[string]string{"bench": "batch"},
		}}
	}
	for start := 0; start < len(customers); start += 1000 {
		chunk := customers[start:min(start+1000, len(customers))]
		req := &xdrlinkv1.BatchCreateTenantsRequest{}
		for _, dc := range chunk {
			req.Requests = append(req.Requests, tenant(dc))
		}
		_, err := c.Tenants.BatchCreateTenants(ctx, req)
		if status.Code(err) == codes.Unimplemented {
			break
		}
		if err != nil {
			b.Fatalf("BatchCreateTenants: %v", err)
		}
		if start+len(chunk) == len(customers) {
			return
		}
	}
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		errs = make(chan error, 32)
	)
	for range 32 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < len(customers); i = int(next.Add(1)) - 1 {
				if _, err := c.Tenants.CreateTenant(ctx, tenant(customers[i])); err != nil && status.Code(err) != codes.AlreadyExists {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("CreateTenant: %v", err)
	}
}

// benchDaemon is one xdrlinkd subprocess, or with XDRLINK_BENCH_INPROCESS
// an xdrlinkd in the test process (inproc).
type benchDaemon struct {
	b      *testing.B
	cmd    *exec.Cmd
	inproc *daemon.Daemon
	log    string
	exited chan struct{}
	client *client.Client
}

// startInProcess starts xdrlinkd in this process with the flags' settings.
func (p *benchDaemon) startInProcess(db, config, key, ca, backend string, s benchSettings) {
	b := p.b
	// azcore's default transport trusts the system roots, read once.
	b.Setenv("SSL_CERT_FILE", ca)
	b.Setenv(restartSecretEnv, azuresim.GeneratedAppSecret)
	logFile, err := os.Create(p.log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = logFile.Close() })
	cfg := daemon.Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.DB = "127.0.0.1:0", "127.0.0.1:0", db
	cfg.AzureConfigFile, cfg.SecretKeyFile = config, key
	cfg.Workers, cfg.AzureMaxConcurrent, cfg.JobPollInterval = s.workers, s.azureMaxConcurrent, s.jobPollInterval
	cfg.MaxBodyBytes = 4 << 20
	if backend == "postgres" {
		cfg.PostgresMaxConns = int32(s.pgMaxConns)
	}
	cfg.Logger = slog.New(slog.NewJSONHandler(logFile, nil))
	if p.inproc, err = daemon.Start(b.Context(), cfg); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.stop()
		}
	})
	if p.client, err = client.New(p.inproc.GRPCAddr(), client.Options{Insecure: true}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.client.Close() })
}

// pid is xdrlinkd's process.
func (p *benchDaemon) pid() int {
	if p.inproc != nil {
		return os.Getpid()
	}
	return p.cmd.Process.Pid
}

func startBenchDaemon(b *testing.B, bin, dir, db string, sim *azuresim.Sim, world *azuresim.World, backend string, s benchSettings) *benchDaemon {
	b.Helper()
	ca, key, config := filepath.Join(dir, "azuresim-ca.pem"), filepath.Join(dir, "secret.key"), filepath.Join(dir, "azure.json")
	cfg, err := json.Marshal(map[string]any{
		"cloud": map[string]any{"name": "custom", "url": sim.URL()},
		"credential_profiles": []map[string]any{{
			"name": "sim", "kind": "client_secret", "client_id": world.Apps[0].ClientID, "client_secret_env": restartSecretEnv,
		}},
		"default_profile": "sim",
	})
	if err != nil {
		b.Fatal(err)
	}
	for path, content := range map[string][]byte{ca: sim.CACertPEM(), key: []byte(sealbox.GenerateKey() + "\n"), config: cfg} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	if d := os.Getenv("XDRLINK_BENCH_LOG_DIR"); d != "" {
		dir = d
	}
	p := &benchDaemon{b: b, log: filepath.Join(dir, fmt.Sprintf("xdrlinkd-%s-%d.log", backend, time.Now().Unix())), exited: make(chan struct{})}
	if os.Getenv("XDRLINK_BENCH_INPROCESS") == "1" {
		p.startInProcess(db, config, key, ca, backend, s)
		return p
	}
	logFile, err := os.Create(p.log)
	if err != nil {
		b.Fatal(err)
	}
	args := []string{"serve", "--db", db,
		"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--azure-config", config, "--secret-key-file", key,
		"--workers", strconv.Itoa(s.workers),
		"--azure-max-concurrent", strconv.Itoa(s.azureMaxConcurrent),
		"--job-poll-interval", s.jobPollInterval.String(),
		"--max-body-bytes", strconv.Itoa(4 << 20), // 1,000 tenants a call, 10,000 names a batch
		"--verify-interval", "0", // only the batch measured runs
	}
	if backend == "postgres" {
		args = append(args, "--postgres-max-conns", strconv.Itoa(s.pgMaxConns))
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(withoutXdrlinkEnv(), "SSL_CERT_FILE="+ca, restartSecretEnv+"="+azuresim.GeneratedAppSecret)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	// Killed with the benchmark, should it die without its cleanups.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		b.Fatalf("start xdrlinkd: %v", err)
	}
	_ = logFile.Close()
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	b.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if b.Failed() {
			b.Logf("xdrlinkd log (last lines):\n%s", benchLogTail(p.log, 40))
		}
	})
	addr := p.waitServing(30 * time.Second)
	if p.client, err = client.New(addr, client.Options{Insecure: true}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.client.Close() })
	return p
}

// waitServing reads the gRPC address from the "xdrlinkd serving" log line
// and waits until health reports SERVING (the store migrated).
func (p *benchDaemon) waitServing(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	addr := ""
	for addr == "" {
		f, err := os.Open(p.log)
		if err != nil {
			p.b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var rec struct {
				Msg  string `json:"msg"`
				GRPC string `json:"grpc"`
			}
			if json.Unmarshal(sc.Bytes(), &rec) == nil && rec.Msg == "xdrlinkd serving" {
				addr = rec.GRPC
			}
		}
		_ = f.Close()
		select {
		case <-p.exited:
			p.b.Fatalf("xdrlinkd exited before serving (%v):\n%s", p.cmd.ProcessState, benchLogTail(p.log, 40))
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.b.Fatalf("xdrlinkd not serving after %v:\n%s", timeout, benchLogTail(p.log, 40))
		}
	}
	c, err := client.New(addr, client.Options{Insecure: true})
	if err != nil {
		p.b.Fatal(err)
	}
	defer c.Close()
	for {
		resp, err := c.Health.Check(p.b.Context(), &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return addr
		}
		if time.Now().After(deadline) {
			p.b.Fatalf("xdrlinkd not SERVING after %v (%v, %v)", timeout, resp.GetStatus(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// benchProbe is one tenant's operation (an onboarding, a verification) run
// alone.
type benchProbe struct {
	wall     time.Duration // the operation started until it was seen done
	calls    int           // Azure requests the emulator served
	critical int           // of them, the most that ran one after the other
	path     []benchSpan   // those, oldest first
	azure    time.Duration // time with at least one of them in flight
	signIn   time.Duration // the device code handed out until the token was
	steps    map[xdrlinkv1.StepKind]time.Duration
	op       *longrunningpb.Operation // as it ended
}

// onboardAlone onboards one tenant while nothing else runs, recording the
// emulator's requests meanwhile.
func (p *benchDaemon) onboardAlone(ctx context.Context, sim *azuresim.Sim, spans *benchSpanLog, c azuresim.DemoCustomer) benchProbe {
	return p.runAlone(ctx, sim, spans, c.ID, func() (*longrunningpb.Operation, error) {
		return p.client.Onboarding.Onboard(ctx, &xdrlinkv1.OnboardRequest{Name: "tenants/" + c.ID})
	})
}

// runAlone runs one tenant's operation, which start starts, while nothing
// else runs, recording the emulator's requests meanwhile.
func (p *benchDaemon) runAlone(ctx context.Context, sim *azuresim.Sim, spans *benchSpanLog, id string, start func() (*longrunningpb.Operation, error)) benchProbe {
	b := p.b
	before := benchCountRequests(sim)
	spans.start()
	began := time.Now()
	op, err := start()
	if err != nil {
		b.Fatalf("%s: %v", id, err)
	}
	for !op.GetDone() {
		time.Sleep(5 * time.Millisecond)
		if op, err = p.client.Operations.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: op.GetName()}); err != nil {
			b.Fatal(err)
		}
		if time.Since(began) > 2*time.Minute {
			b.Fatalf("%s alone not done after 2 minutes:\n%s", id, describeSteps(metadata(b, op)))
		}
	}
	wall := time.Since(began)
	recorded := spans.stop()
	if md := metadata(b, op); md.GetState() != opSucceeded {
		b.Fatalf("%s alone: %v %v\n%s", id, md.GetState(), op.GetError(), describeSteps(md))
	}
	r := benchProbe{wall: wall, calls: int(benchCountRequests(sim) - before), steps: map[xdrlinkv1.StepKind]time.Duration{}, op: op}
	for _, st := range metadata(b, op).GetSteps() {
		r.steps[st.GetKind()] = st.GetEndTime().AsTime().Sub(st.GetStartTime().AsTime())
	}
	r.path, r.azure = benchCriticalPath(recorded)
	r.critical = len(r.path)
	var codeOut, tokenIn time.Time
	for _, s := range recorded {
		switch {
		case s.api == "entra.devicecode" && codeOut.IsZero():
			codeOut = s.end
		case s.api == "entra.token" && s.status == http.StatusOK && !codeOut.IsZero() && tokenIn.IsZero():
			tokenIn = s.end
		}
	}
	if !codeOut.IsZero() && !tokenIn.IsZero() {
		r.signIn = tokenIn.Sub(codeOut)
	}
	return r
}

// benchMedianProbe is the probe with the median wall time.
func benchMedianProbe(rs []benchProbe) benchProbe {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b benchProbe) int { return int(a.wall - b.wall) })
	return s[len(s)/2]
}

// benchCountRequests is every API request the emulator served (admin excluded).
func benchCountRequests(sim *azuresim.Sim) int64 {
	var n int64
	for _, c := range sim.RequestCounts() {
		n += c.Count
	}
	return n
}

// benchCriticalPath returns the most requests that ran one after the other
// (the longest chain of requests none of which overlap: concurrent
// requests, as the prerequisite checks make, count once), oldest first, and
// how long at least one was in flight.
func benchCriticalPath(spans []benchSpan) ([]benchSpan, time.Duration) {
	s := slices.Clone(spans)
	slices.SortFunc(s, func(a, b benchSpan) int { return a.end.Compare(b.end) })
	var (
		chain []benchSpan
		last  time.Time
	)
	for _, x := range s {
		if !x.start.Before(last) {
			chain = append(chain, x)
			last = x.end
		}
	}
	slices.SortFunc(s, func(a, b benchSpan) int { return a.start.Compare(b.start) })
	var busy time.Duration
	var from, to time.Time
	for _, x := range s {
		if x.start.After(to) {
			busy += to.Sub(from)
			from, to = x.start, x.end
		} else if x.end.After(to) {
			to = x.end
		}
	}
	return chain, busy + to.Sub(from)
}

// benchSpan is one emulated request, as the emulator logged it when it ended.
type benchSpan struct {
	start, end time.Time
	api        string
	status     int
	path       string
	principal  string // "tenant/object" of a bearer token; empty for Entra
}

// benchSpanLog is the emulator's request log (a slog.Handler): while started,
// it keeps every API request's span; otherwise the emulator skips logging.
type benchSpanLog struct {
	on    atomic.Bool
	mu    sync.Mutex
	spans []benchSpan
}

func (l *benchSpanLog) start() {
	l.mu.Lock()
	l.spans = nil
	l.mu.Unlock()
	l.on.Store(true)
}

func (l *benchSpanLog) stop() []benchSpan {
	l.on.Store(false)
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.spans
}

func (l *benchSpanLog) Enabled(context.Context, slog.Level) bool { return l.on.Load() }

func (l *benchSpanLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message != "azuresim request" {
		return nil
	}
	s := benchSpan{end: r.Time}
	path := ""
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "dur":
			s.start = r.Time.Add(-a.Value.Duration())
		case "api":
			s.api = a.Value.String()
		case "status":
			s.status = int(a.Value.Int64())
		case "path":
			path = a.Value.String()
		case "principal":
			s.principal = a.Value.String()
		}
		return true
	})
	if strings.HasPrefix(path, "/_sim/") {
		return nil
	}
	s.path = path
	l.mu.Lock()
	l.spans = append(l.spans, s)
	l.mu.Unlock()
	return nil
}

func (l *benchSpanLog) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *benchSpanLog) WithGroup(string) slog.Handler      { return l }

// waitBatch polls the batch until it is done.
func (p *benchDaemon) waitBatch(ctx context.Context, name string) *longrunningpb.Operation {
	deadline := time.Now().Add(45 * time.Minute)
	for {
		op, err := p.client.Operations.GetOperation(ctx, &longrunningpb.GetOperationRequest{Name: name})
		if err != nil {
			p.b.Fatalf("get %s: %v", name, err)
		}
		if op.GetDone() {
			return op
		}
		if time.Now().After(deadline) {
			p.b.Fatalf("%s not done after 45 minutes: %v", name, metadata(p.b, op).GetBatchProgress())
		}
		select {
		case <-p.exited:
			p.b.Fatalf("xdrlinkd exited during the batch")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// checkBatch fails the benchmark unless every child succeeded.
func (p *benchDaemon) checkBatch(op *longrunningpb.Operation, want int) {
	md := metadata(p.b, op)
	pr := md.GetBatchProgress()
	if md.GetState() != opSucceeded || int(pr.GetSucceeded()) != want {
		p.b.Fatalf("batch %s: %v, progress %v, error %v; want all %d children succeeded", op.GetName(), md.GetState(), pr, op.GetError(), want)
	}
}

// peakRSS is xdrlinkd's peak resident set size (VmHWM), in bytes.
func (p *benchDaemon) peakRSS() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid()))
	if err != nil {
		p.b.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				p.b.Fatal(err)
			}
			return kb << 10
		}
	}
	p.b.Fatal("no VmHWM in /proc/<pid>/status")
	return 0
}

// cpuTime is the CPU time xdrlinkd has used (user and system).
func (p *benchDaemon) cpuTime() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid()))
	if err != nil {
		p.b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses: utime and
	// stime are the 12th and 13th, in clock ticks (100 a second on Linux).
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	ut, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// benchLoadAverage is /proc/loadavg's 1, 5 and 15 minute load averages: the
// machine may be shared with other work, which the figures then include.
func benchLoadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

// benchCPUTicks is /proc/stat's first line: all CPUs' time, and how much of it
// was idle (idle and iowait), in clock ticks.
type benchCPUTicks struct{ total, idle int64 }

func benchMachineCPU() benchCPUTicks {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return benchCPUTicks{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	var t benchCPUTicks
	for i, f := range strings.Fields(line)[1:] {
		n, _ := strconv.ParseInt(f, 10, 64)
		t.total += n
		if i == 3 || i == 4 {
			t.idle += n
		}
	}
	return t
}

// busySince is the share of CPU time not idle since then.
func (t benchCPUTicks) busySince(then benchCPUTicks) float64 {
	if t.total == then.total {
		return 0
	}
	return 1 - float64(t.idle-then.idle)/float64(t.total-then.total)
}

// benchJobRuns counts the operation jobs (one per child) and how often River
// snoozed them, from River's table: each snooze is one more run.
func benchJobRuns(ctx context.Context, backend, db string) (jobs, snoozes int64, err error) {
	const q = `SELECT count(*), coalesce(sum(%s), 0) FROM river_job WHERE kind = 'xdrlink.operation'`
	if backend == "postgres" {
		conn, err := pgx.Connect(ctx, db)
		if err != nil {
			return 0, 0, err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		err = conn.QueryRow(ctx, fmt.Sprintf(q, "(metadata->>'snoozes')::bigint")).Scan(&jobs, &snoozes)
		return jobs, snoozes, err
	}
	sdb, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
	if err != nil {
		return 0, 0, err
	}
	defer sdb.Close()
	err = sdb.QueryRowContext(ctx, fmt.Sprintf(q, "json_extract(metadata, '$.snoozes')")).Scan(&jobs, &snoozes)
	return jobs, snoozes, err
}

// benchPGWaits samples what the database's sessions do (pg_stat_activity:
// running, idle in a transaction, or waiting for a lock, and on which).
type benchPGWaits struct {
	cancel context.CancelFunc
	done   chan struct{}
	counts map[string]int
}

func startBenchPGWaits(b *testing.B, dsn string) *benchPGWaits {
	ctx, cancel := context.WithCancel(b.Context())
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	s := &benchPGWaits{cancel: cancel, done: make(chan struct{}), counts: map[string]int{}}
	go func() {
		defer close(s.done)
		defer conn.Close(context.WithoutCancel(ctx))
		for ctx.Err() == nil {
			// A session waiting for a lock is named with its statement's
			// start, to tell which row it queues for.
			rows, err := conn.Query(ctx, `SELECT state || coalesce(' ' || wait_event_type || ':' || wait_event, '') ||
					CASE WHEN wait_event_type = 'Lock' THEN ' [' || left(regexp_replace(query, '\s+', ' ', 'g'), 50) || ']' ELSE '' END, count(*)
				FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle' GROUP BY 1`)
			if err != nil {
				return
			}
			for rows.Next() {
				var what string
				var n int
				if rows.Scan(&what, &n) == nil {
					s.counts[what] += n
				}
			}
			rows.Close()
			select {
			case <-ctx.Done():
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *benchPGWaits) stop() map[string]int {
	s.cancel()
	<-s.done
	return s.counts
}

// benchTopWaits lists the n most sampled session states, with their share.
func benchTopWaits(counts map[string]int, n int) string {
	type kv struct {
		k string
		v int
	}
	var all []kv
	total := 0
	for k, v := range counts {
		all = append(all, kv{k, v})
		total += v
	}
	slices.SortFunc(all, func(a, b kv) int { return b.v - a.v })
	var parts []string
	for _, e := range all[:min(n, len(all))] {
		parts = append(parts, fmt.Sprintf("%s %.0f%%", e.k, 100*float64(e.v)/float64(total)))
	}
	return fmt.Sprintf("%d session samples: %s", total, strings.Join(parts, ", "))
}

// benchPostgresCPU is the CPU time of the machine's PostgreSQL server
// processes that run now (a backend that exits meanwhile takes its share
// with it; the pool keeps them).
func benchPostgresCPU() time.Duration {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var ticks int64
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil || !strings.Contains(string(b), "(postgres)") {
			continue
		}
		fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		ut, _ := strconv.ParseInt(fields[11], 10, 64)
		st, _ := strconv.ParseInt(fields[12], 10, 64)
		ticks += ut + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

// benchSelfCPU is the CPU time of this process: the emulator, mostly.
func benchSelfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// stop ends xdrlinkd with SIGTERM and waits for it.
func (p *benchDaemon) stop() {
	if p.inproc != nil {
		if err := p.inproc.Shutdown(); err != nil {
			p.b.Errorf("shutdown: %v", err)
		}
		close(p.exited)
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// benchListSampler calls ListTenants (page_size 100) one call after another, on
// a random page each time, and keeps each call's latency.
type benchListSampler struct {
	cancel context.CancelFunc
	done   chan struct{}
	lat    benchLatencies
	err    error
}

func startBenchListSampler(b *testing.B, c *client.Client) *benchListSampler {
	ctx := b.Context()
	// Page tokens name the page's position, so the pages of the registry
	// as it is now can be fetched again in any order.
	tokens := []string{""}
	for {
		page, err := c.Tenants.ListTenants(ctx, &xdrlinkv1.ListTenantsRequest{PageSize: 100, PageToken: tokens[len(tokens)-1]})
		if err != nil {
			b.Fatal(err)
		}
		if page.GetNextPageToken() == "" {
			break
		}
		tokens = append(tokens, page.GetNextPageToken())
	}
	sctx, cancel := context.WithCancel(ctx)
	s := &benchListSampler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for sctx.Err() == nil {
			req := &xdrlinkv1.ListTenantsRequest{PageSize: 100, PageToken: tokens[rand.IntN(len(tokens))]}
			began := time.Now()
			_, err := c.Tenants.ListTenants(sctx, req)
			if sctx.Err() != nil {
				return
			}
			if err != nil {
				s.err = err
				return
			}
			s.lat = append(s.lat, time.Since(began))
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return s
}

func (s *benchListSampler) stop() benchLatencies {
	s.cancel()
	<-s.done
	if s.err != nil {
		panic(fmt.Sprintf("ListTenants: %v", s.err))
	}
	return s.lat
}

type benchLatencies []time.Duration

// quantile is the q-quantile (nearest rank) of the latencies.
func (l benchLatencies) quantile(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// buildBenchXdrlinkd builds this command once, without the race detector.
func buildBenchXdrlinkd(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "xdrlinkd")
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Fatalf("the go command is needed to build xdrlinkd: %v", err)
	}
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// benchLogTail is the file's last n lines.
func benchLogTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
