package loadbench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/authz"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/graph"
	"github.com/xdrlink/xdrlink/azure/loganalytics"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azure/workspaces"
	"github.com/xdrlink/xdrlink/azuresim"
)

const (
	tenants       = 1000
	requestsEach  = 10 // calls per tenant in one pass; tenants*requestsEach = 10,000
	workers       = 64
	secretEnvName = "XDRLINK_BENCH_SECRET"
)

// tenantClients are the real clients for one customer tenant.
type tenantClients struct {
	tenantID  string
	ws        armclient.Workspace
	customer  string
	sentinel  *sentinel.Client
	workspace *workspaces.Client
	authz     *authz.Client
	graph     *graph.Client
	logs      *loganalytics.Client
}

// calls are the 10 requests of one tenant, in the order an onboarding check
// would make them. Documented refusals (a reader-only principal, an
// unregistered provider, a missing licence, ...) are valid outcomes of a
// generated world; anything else fails the benchmark.
var calls = []struct {
	name string
	do   func(ctx context.Context, c *tenantClients) error
}{
	{"workspace.get", func(ctx context.Context, c *tenantClients) error { _, err := c.workspace.Get(ctx, c.ws); return err }},
	{"authz.permissions", func(ctx context.Context, c *tenantClients) error {
		_, err := c.authz.WorkspacePermissions(ctx, c.ws)
		return err
	}},
	{"onboardingState.get", func(ctx context.Context, c *tenantClients) error {
		_, err := c.sentinel.GetOnboardingState(ctx)
		return err
	}},
	{"onboardingState.put", func(ctx context.Context, c *tenantClients) error {
		_, _, err := c.sentinel.PutOnboardingState(ctx, false)
		return err
	}},
	{"dataConnectors.list", func(ctx context.Context, c *tenantClients) error {
		_, err := c.sentinel.ListDataConnectors(ctx)
		return err
	}},
	{"dataConnectors.checkRequirements", func(ctx context.Context, c *tenantClients) error {
		_, err := c.sentinel.CheckMTPRequirements(ctx, c.tenantID)
		return err
	}},
	{"alertRules.list", func(ctx context.Context, c *tenantClients) error {
		_, err := c.sentinel.ListAlertRules(ctx)
		return err
	}},
	{"settings.get", func(ctx context.Context, c *tenantClients) error {
		_, err := c.sentinel.GetSetting(ctx, sentinel.SettingEntityAnalytics)
		return err
	}},
	{"graph.subscribedSkus", func(ctx context.Context, c *tenantClients) error { _, err := c.graph.SubscribedSkus(ctx); return err }},
	{"logs.incidents", func(ctx context.Context, c *tenantClients) error {
		_, err := c.logs.Daily(ctx, c.customer, loganalytics.IncidentsDailyQuery(loganalytics.NewWindow(time.Now(), 7)))
		return err
	}},
}

// expected are the refusals a generated world produces on purpose.
var expected = []azerr.Kind{azerr.NotFound, azerr.Forbidden, azerr.InvalidRequest, azerr.InvalidLicense, azerr.MissingConsent, azerr.UnifiedPortalLockout}

// BenchmarkMixedRequests1000Tenants runs passes of 10,000 requests over
// 1,000 tenants by 64 workers. "cold" starts every pass with fresh
// credentials, so its latencies include the 3,000 token requests (one per
// tenant and audience) and OpenID discovery; "warm" measures passes after
// one untimed pass has filled the token caches.
func BenchmarkMixedRequests1000Tenants(b *testing.B) {
	if len(calls) != requestsEach {
		b.Fatalf("%d calls per tenant, want %d", len(calls), requestsEach)
	}
	b.Run("cold", func(b *testing.B) {
		var r passResult
		var sims []*azuresim.Sim
		for range b.N {
			b.StopTimer()
			sim, clients := setup(b, tenants)
			sims = append(sims, sim)
			b.StartTimer()
			r.add(runPass(b, clients))
		}
		var tokens, early int64
		for _, s := range sims {
			tokens += s.CountRequests("entra.token", "", 0)
			early += s.EarlyRetryTotal()
		}
		r.report(b, tokens, early)
	})
	b.Run("warm", func(b *testing.B) {
		sim, clients := setup(b, tenants)
		runPass(b, clients)
		tokensBefore := sim.CountRequests("entra.token", "", 0)
		b.ResetTimer()
		var r passResult
		for range b.N {
			r.add(runPass(b, clients))
		}
		r.report(b, sim.CountRequests("entra.token", "", 0)-tokensBefore, sim.EarlyRetryTotal())
	})
}

// TestMixedRequestsPass keeps the benchmark honest in every test run: one
// pass over a small generated world, where every refusal must be one a
// generated world produces on purpose and most calls must succeed.
func TestMixedRequestsPass(t *testing.T) {
	sim, clients := setup(t, 25)
	r := runPass(t, clients)
	if len(r.latencies) != 25*requestsEach || r.refused > len(r.latencies)/2 {
		t.Errorf("%d calls, %d refused", len(r.latencies), r.refused)
	}
	if early := sim.EarlyRetryTotal(); early != 0 {
		t.Errorf("%d requests before Retry-After", early)
	}
}

// passResult accumulates the latencies of passes.
type passResult struct {
	latencies []time.Duration
	refused   int
}

func (r *passResult) add(o passResult) {
	r.latencies = append(r.latencies, o.latencies...)
	r.refused += o.refused
}

// report prints the figures; tokens and early are the sims' token requests
// and requests sent before their Retry-After during the timed passes.
func (r *passResult) report(b *testing.B, tokens, early int64) {
	b.StopTimer()
	slices.Sort(r.latencies)
	pct := func(p float64) float64 {
		return float64(r.latencies[int(p*float64(len(r.latencies)-1))]) / float64(time.Millisecond)
	}
	b.ReportMetric(float64(len(r.latencies))/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(r.refused)/float64(len(r.latencies))*100, "refused-%")
	b.ReportMetric(float64(tokens)/float64(b.N), "token-req/op")
	if early != 0 {
		b.Errorf("%d requests arrived before their Retry-After", early)
	}
}

// runPass sends every tenant's calls, tenants spread over the workers.
func runPass(b testing.TB, clients []*tenantClients) passResult {
	ctx := context.Background()
	var mu sync.Mutex
	var out passResult
	work := make(chan *tenantClients)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			var local passResult
			for c := range work {
				for _, call := range calls {
					start := time.Now()
					err := call.do(ctx, c)
					local.latencies = append(local.latencies, time.Since(start))
					if err != nil {
						if !slices.Contains(expected, azerr.Classify(err)) {
							b.Errorf("%s on tenant %s: unexpected %v (%v)", call.name, c.tenantID, azerr.Classify(err), err)
						}
						local.refused++
					}
				}
			}
			mu.Lock()
			out.add(local)
			mu.Unlock()
		})
	}
	for _, c := range clients {
		work <- c
	}
	close(work)
	wg.Wait()
	return out
}

func setup(b testing.TB, tenants int) (*azuresim.Sim, []*tenantClients) {
	b.Helper()
	world := azuresim.GenerateWorld(tenants, 1)
	sim, err := azuresim.Start(azuresim.Options{World: world, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	endpoints, err := cloud.Resolve(cloud.Setting{Name: cloud.Custom, URL: sim.URL()})
	if err != nil {
		b.Fatal(err)
	}
	ob, err := outbound.New(outbound.Config{Cloud: endpoints, Transport: sim.HTTPClient()})
	if err != nil {
		b.Fatal(err)
	}
	app := world.Apps[0]
	creds, err := credential.NewProvider(credential.Options{
		Cloud:         endpoints,
		ClientOptions: ob.TokenClientOptions(),
		Profiles:      []credential.Profile{{Name: "mssp", Kind: credential.KindClientSecret, ClientID: app.ClientID, ClientSecretEnv: secretEnvName}},
		Getenv:        func(string) string { return azuresim.GeneratedAppSecret },
	})
	if err != nil {
		b.Fatal(err)
	}
	var out []*tenantClients
	for _, t := range world.Tenants[1:] { // [0] is the MSSP's own tenant
		ws := t.Workspaces[0]
		cred, err := creds.Get("mssp", t.ID)
		if err != nil {
			b.Fatal(err)
		}
		armc, err := armclient.New(cred, ob.ARMClientOptions(t.ID, ws.SubscriptionID))
		if err != nil {
			b.Fatal(err)
		}
		c := &tenantClients{
			tenantID:  t.ID,
			ws:        armclient.Workspace{SubscriptionID: ws.SubscriptionID, ResourceGroup: ws.ResourceGroup, Name: ws.Name},
			customer:  ws.CustomerID,
			workspace: workspaces.New(armc),
			authz:     authz.New(armc),
		}
		if c.sentinel, err = sentinel.New(armc, c.ws); err != nil {
			b.Fatal(err)
		}
		gopts := ob.ClientOptions(outbound.APIGraph, t.ID)
		if c.graph, err = graph.NewClient(endpoints.Graph, cred, &gopts); err != nil {
			b.Fatal(err)
		}
		lopts := ob.ClientOptions(outbound.APILogAnalytics, t.ID)
		if c.logs, err = loganalytics.NewClient(endpoints.LogAnalytics, cred, &lopts); err != nil {
			b.Fatal(err)
		}
		out = append(out, c)
	}
	if len(out) != tenants {
		b.Fatal(fmt.Errorf("%d tenants generated, want %d", len(out), tenants))
	}
	return sim, out
}

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
