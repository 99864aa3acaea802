package daemon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/workflow/engine"
)

// The ingestion-verification flows, end to end over gRPC and REST: tenants
// whose Azure past is known (azuresim.WorkspaceHistory), verified through
// xdrlink, each report checked signal by signal and day by day against the
// emulator's ground truth (Sim.IngestedRows); table settings changed with
// the customer's sign-in; batches by name and by filter; the scheduled
// verification of the connected fleet.

const day = 24 * time.Hour

// Tables of the flows.
const (
	tProcess   = "DeviceProcessEvents"
	tNetwork   = "DeviceNetworkEvents"
	tLogon     = "DeviceLogonEvents"
	tFile      = "DeviceFileEvents"
	tRegistry  = "DeviceRegistryEvents"
	tImageLoad = "DeviceImageLoadEvents"
	tEmail     = "EmailEvents" // only the portal can turn it on
)

// The verdicts, short.
const (
	vHealthy    = xdrlinkv1.Verdict_VERDICT_HEALTHY
	vGrace      = xdrlinkv1.Verdict_VERDICT_WITHIN_GRACE_PERIOD
	vStale      = xdrlinkv1.Verdict_VERDICT_STALE
	vNoData     = xdrlinkv1.Verdict_VERDICT_NO_DATA
	vNotEnabled = xdrlinkv1.Verdict_VERDICT_NOT_ENABLED
	vPortal     = xdrlinkv1.Verdict_VERDICT_PORTAL_STEP_REQUIRED
)

// flowVolumes are the events per working day of the tenants with a past.
var flowVolumes = map[string]int{
	tProcess: 40000, tNetwork: 30000, tLogon: 5000, tFile: 20000, tRegistry: 15000, tImageLoad: 25000, tEmail: 6000,
	"SecurityIncident": 20, "SecurityAlert": 80,
}

// The three kinds of tenant of the flows.
const (
	// kindStale was connected 10 days ago; DeviceLogonEvents stopped 3 days
	// ago, DeviceFileEvents was turned on an hour ago (its first rows are
	// not due yet).
	kindStale = "t1"
	// kindDrift was connected 10 days ago; 2 days ago someone swapped
	// DeviceRegistryEvents for DeviceImageLoadEvents in the portal. xdrlink
	// never onboarded it.
	kindDrift = "t2"
	// kindNew has no past and no data at all: its tables do not exist yet.
	kindNew = "t3"
)

var flowKinds = []string{kindStale, kindDrift, kindNew}

// desiredTables are what xdrlink is told each kind should stream.
var desiredTables = map[string][]string{
	kindStale: {tProcess, tNetwork, tLogon, tFile},
	kindDrift: {tProcess, tNetwork, tRegistry},
	kindNew:   {tProcess, tNetwork},
}

func history(kind string) *azuresim.WorkspaceHistory {
	d := func(x time.Duration) azuresim.Duration { return azuresim.Duration(x) }
	switch kind {
	case kindStale:
		return &azuresim.WorkspaceHistory{ConnectedAgo: d(10 * day), Tables: []string{tProcess, tNetwork, tLogon},
			Silent:           map[string]azuresim.Duration{tLogon: d(3 * day)},
			StreamingChanges: []azuresim.StreamingChange{{Ago: d(time.Hour), Enable: []string{tFile}}}}
	case kindDrift:
		return &azuresim.WorkspaceHistory{ConnectedAgo: d(10 * day), Tables: []string{tProcess, tNetwork, tRegistry},
			StreamingChanges: []azuresim.StreamingChange{{Ago: d(2 * day), Disable: []string{tRegistry}, Enable: []string{tImageLoad}}}}
	}
	return nil
}

// flowTenant is one tenant of a flow: its registry id and its customer.
type flowTenant struct {
	id, kind string
	c        azuresim.DemoCustomer
	cid      string // the workspace's customerId
}

func (f flowTenant) name() string { return "tenants/" + f.id }

// flowWorld is the demo world's MSSP and app with, per set, one healthy
// customer tenant of each kind, its past and volumes set; tenant ids are
// "<set>-t1" etc. It builds a fresh world on every call, so a restarted
// daemon gets the same one.
func flowWorld(sets ...string) (func() (*azuresim.World, []azuresim.DemoCustomer), map[string]flowTenant) {
	build := func() (*azuresim.World, []azuresim.DemoCustomer, map[string]flowTenant) {
		demo, customers := azuresim.DemoWorld()
		w := &azuresim.World{Tenants: []*azuresim.Tenant{demo.Tenants[0]}, Apps: demo.Apps, RoleDefinitions: demo.RoleDefinitions}
		var cs []azuresim.DemoCustomer
		tenants := map[string]flowTenant{}
		next := 0
		for _, set := range sets {
			for _, kind := range flowKinds {
				for customers[next].Kind != azuresim.DemoHealthy {
					next++
				}
				c, t := customers[next], demo.Tenants[next+1]
				next++
				ws := t.Workspaces[0]
				ws.History = history(kind)
				t.DataVolumes = maps.Clone(flowVolumes)
				if kind == kindNew {
					// Data of a table nobody streams: the desired ones,
					// incidents and alerts have none.
					t.DataVolumes = map[string]int{"DeviceInfo": 2000}
				}
				w.Tenants = append(w.Tenants, t)
				cs = append(cs, c)
				id := set + "-" + kind
				tenants[id] = flowTenant{id: id, kind: kind, c: c, cid: ws.CustomerID}
			}
		}
		return w, cs, tenants
	}
	_, _, tenants := build()
	return func() (*azuresim.World, []azuresim.DemoCustomer) { w, cs, _ := build(); return w, cs }, tenants
}

// startFlowDaemon runs xdrlinkd on db in sandbox mode with world, tuned as
// the other flow tests are (startSandbox), without the sandbox's own
// registrations and with scheduled verification every interval (0: off).
// stop shuts it down (once; the test's end does it otherwise), so another
// can start on db.
func startFlowDaemon(t *testing.T, db string, world func() (*azuresim.World, []azuresim.DemoCustomer), interval time.Duration, mutate ...func(*Config)) (d *Daemon, stop func()) {
	t.Helper()
	cfg := Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB = db
	cfg.MaxBodyBytes = testMaxBody
	cfg.ReadinessInterval = 50 * time.Millisecond
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", ""
	cfg.SandboxSecretKey = filepath.Join(t.TempDir(), "secret.key")
	cfg.SandboxRegister = false
	cfg.JobPollInterval = 50 * time.Millisecond
	cfg.StepTimeout = 30 * time.Second
	cfg.DeploymentPollInterval = 250 * time.Millisecond
	cfg.sandboxWorld = world
	cfg.VerifyInterval = interval
	for _, m := range mutate {
		m(&cfg)
	}
	d, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			if err := d.Shutdown(); err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return d, stop
}

// verifyAPI is the verification and table services as a test sees them,
// so one flow runs over gRPC and over REST alike.
type verifyAPI interface {
	Verify(ctx context.Context, r *xdrlinkv1.VerifyRequest) (*longrunningpb.Operation, error)
	BatchVerify(ctx context.Context, r *xdrlinkv1.BatchVerifyRequest) (*longrunningpb.Operation, error)
	ListVerifications(ctx context.Context, r *xdrlinkv1.ListVerificationsRequest) (*xdrlinkv1.ListVerificationsResponse, error)
	GetVerification(ctx context.Context, name string) (*xdrlinkv1.IngestionReport, error)
	GetTableSettings(ctx context.Context, name string) (*xdrlinkv1.TableSettings, error)
	UpdateTableSettings(ctx context.Context, r *xdrlinkv1.UpdateTableSettingsRequest) (*longrunningpb.Operation, error)
}

type grpcVerify struct {
	v  xdrlinkv1.VerificationServiceClient
	tb xdrlinkv1.TableServiceClient
}

func (g grpcVerify) Verify(ctx context.Context, r *xdrlinkv1.VerifyRequest) (*longrunningpb.Operation, error) {
	return g.v.Verify(ctx, r)
}

func (g grpcVerify) BatchVerify(ctx context.Context, r *xdrlinkv1.BatchVerifyRequest) (*longrunningpb.Operation, error) {
	return g.v.BatchVerify(ctx, r)
}

func (g grpcVerify) ListVerifications(ctx context.Context, r *xdrlinkv1.ListVerificationsRequest) (*xdrlinkv1.ListVerificationsResponse, error) {
	return g.v.ListVerifications(ctx, r)
}

func (g grpcVerify) GetVerification(ctx context.Context, name string) (*xdrlinkv1.IngestionReport, error) {
	return g.v.GetVerification(ctx, &xdrlinkv1.GetVerificationRequest{Name: name})
}

func (g grpcVerify) GetTableSettings(ctx context.Context, name string) (*xdrlinkv1.TableSettings, error) {
	return g.tb.GetTableSettings(ctx, &xdrlinkv1.GetTableSettingsRequest{Name: name})
}

func (g grpcVerify) UpdateTableSettings(ctx context.Context, r *xdrlinkv1.UpdateTableSettingsRequest) (*longrunningpb.Operation, error) {
	return g.tb.UpdateTableSettings(ctx, r)
}

type restVerify struct{ a restAPI }

func (r restVerify) Verify(ctx context.Context, req *xdrlinkv1.VerifyRequest) (*longrunningpb.Operation, error) {
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodPost, "/v1/"+req.GetName()+":verify", jsonBody(req), out)
}

func (r restVerify) BatchVerify(ctx context.Context, req *xdrlinkv1.BatchVerifyRequest) (*longrunningpb.Operation, error) {
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodPost, "/v1/tenants:batchVerify", jsonBody(req), out)
}

func (r restVerify) ListVerifications(ctx context.Context, req *xdrlinkv1.ListVerificationsRequest) (*xdrlinkv1.ListVerificationsResponse, error) {
	q := url.Values{}
	if req.GetPageSize() != 0 {
		q.Set("page_size", fmt.Sprint(req.GetPageSize()))
	}
	if req.GetPageToken() != "" {
		q.Set("page_token", req.GetPageToken())
	}
	out := &xdrlinkv1.ListVerificationsResponse{}
	return out, r.a.call(ctx, http.MethodGet, "/v1/"+req.GetParent()+"/verifications?"+q.Encode(), "", out)
}

func (r restVerify) GetVerification(ctx context.Context, name string) (*xdrlinkv1.IngestionReport, error) {
	out := &xdrlinkv1.IngestionReport{}
	return out, r.a.call(ctx, http.MethodGet, "/v1/"+name, "", out)
}

func (r restVerify) GetTableSettings(ctx context.Context, name string) (*xdrlinkv1.TableSettings, error) {
	out := &xdrlinkv1.TableSettings{}
	return out, r.a.call(ctx, http.MethodGet, "/v1/"+name, "", out)
}

func (r restVerify) UpdateTableSettings(ctx context.Context, req *xdrlinkv1.UpdateTableSettingsRequest) (*longrunningpb.Operation, error) {
	path := "/v1/" + req.GetTableSettings().GetName()
	if m := req.GetUpdateMask(); m != nil {
		path += "?" + url.Values{"update_mask": {strings.Join(m.GetPaths(), ",")}}.Encode()
	}
	out := &longrunningpb.Operation{}
	return out, r.a.call(ctx, http.MethodPatch, path, jsonBody(req.GetTableSettings()), out)
}

// flowAPI is every service a flow uses, over one transport.
type flowAPI struct {
	transport string
	tenants   tenantAPI
	ops       opsAPI
	v         verifyAPI
}

func flowAPIs(t *testing.T, d *Daemon) map[string]flowAPI {
	c := dial(t, d)
	r := newREST(d)
	return map[string]flowAPI{
		"grpc": {"grpc", grpcAPI{c: c.Tenants}, grpcOps{c}, grpcVerify{c.Verifications, c.Tables}},
		"rest": {"rest", r, restOps{r}, restVerify{r}},
	}
}

// register registers f through api with its kind's desired tables and
// incidents and alerts on.
func register(t *testing.T, api flowAPI, f flowTenant, labels map[string]string) *xdrlinkv1.Tenant {
	t.Helper()
	tn, err := api.tenants.Create(context.Background(), &xdrlinkv1.CreateTenantRequest{TenantId: f.id, Tenant: &xdrlinkv1.Tenant{
		DisplayName: f.c.DisplayName, EntraTenantId: f.c.EntraTenantID,
		Workspace: &xdrlinkv1.Workspace{SubscriptionId: f.c.SubscriptionID, ResourceGroup: f.c.ResourceGroup, Name: f.c.WorkspaceName, Region: f.c.Region},
		Connector: &xdrlinkv1.ConnectorSettings{Incidents: true, Alerts: true,
			// T2 is left as it is; the others have the duplicate rules turned off.
			DisableIncidentCreationRules: f.kind != kindDrift, Tables: desiredTables[f.kind]},
		Labels: labels,
	}})
	if err != nil {
		t.Fatalf("register %s: %v", f.id, err)
	}
	return tn
}

// startOnboard starts onboarding f and returns the operation's name.
func startOnboard(t *testing.T, api flowAPI, f flowTenant) string {
	t.Helper()
	op, err := api.ops.Onboard(context.Background(), &xdrlinkv1.OnboardRequest{Name: f.name()})
	if err != nil {
		t.Fatalf("onboard %s: %v", f.id, err)
	}
	return op.GetName()
}

// finishOnboard: the onboarding pauses for the customer's delegated
// sign-in, which the test approves, then succeeds.
func finishOnboard(t *testing.T, d *Daemon, api flowAPI, name string) *longrunningpb.Operation {
	t.Helper()
	_, md := waitState(t, api.ops, name, opActionRequired)
	approve(t, d, md)
	op, _ := waitState(t, api.ops, name, opSucceeded)
	return op
}

func onboardWithSignIn(t *testing.T, d *Daemon, api flowAPI, f flowTenant) *longrunningpb.Operation {
	t.Helper()
	return finishOnboard(t, d, api, startOnboard(t, api, f))
}

// startVerify starts verifying f and returns the operation's name.
func startVerify(t *testing.T, api flowAPI, f flowTenant) string {
	t.Helper()
	op, err := api.v.Verify(context.Background(), &xdrlinkv1.VerifyRequest{Name: f.name()})
	if err != nil {
		t.Fatalf("verify %s: %v", f.id, err)
	}
	if md := metadata(t, op); md.GetKind() != xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY || md.GetTenant() != f.name() || op.GetDone() {
		t.Fatalf("Verify returned %v", op)
	}
	return op.GetName()
}

// finishVerify waits for the verification to succeed and returns its report.
func finishVerify(t *testing.T, api flowAPI, name string) *xdrlinkv1.IngestionReport {
	t.Helper()
	op, _ := waitState(t, api.ops, name, opSucceeded)
	return reportOf(t, op)
}

func reportOf(t testing.TB, op *longrunningpb.Operation) *xdrlinkv1.IngestionReport {
	t.Helper()
	r := &xdrlinkv1.IngestionReport{}
	if err := op.GetResponse().UnmarshalTo(r); err != nil {
		t.Fatalf("response of %s: %v (error %v)", op.GetName(), err, op.GetError())
	}
	return r
}

func getTenant(t testing.TB, api flowAPI, name string) *xdrlinkv1.Tenant {
	t.Helper()
	tn, err := api.tenants.Get(context.Background(), &xdrlinkv1.GetTenantRequest{Name: name})
	if err != nil {
		t.Fatalf("get %s: %v", name, err)
	}
	return tn
}

// signalKey names a signal in a report: kind/table/product.
func signalKey(s *xdrlinkv1.SignalReport) string {
	return strings.TrimPrefix(s.GetKind().String(), "KIND_") + "/" + s.GetTable() + "/" + s.GetProduct()
}

func incidentsKey() string            { return "INCIDENTS/SecurityIncident/" }
func alertsKey(product string) string { return "ALERTS/SecurityAlert/" + product }
func tableKey(table string) string    { return "TABLE/" + table + "/" }

// wantSignals checks that the report has exactly these signals, each with
// its verdict, all desired.
func wantSignals(t *testing.T, r *xdrlinkv1.IngestionReport, want map[string]xdrlinkv1.Verdict) {
	t.Helper()
	got := map[string]xdrlinkv1.Verdict{}
	for _, s := range r.GetSignals() {
		k := signalKey(s)
		if _, dup := got[k]; dup {
			t.Errorf("%s: signal %s twice", r.GetName(), k)
		}
		got[k] = s.GetVerdict()
		if !s.GetDesired() {
			t.Errorf("%s: signal %s not desired", r.GetName(), k)
		}
	}
	if !maps.Equal(got, want) {
		var b strings.Builder
		for _, s := range r.GetSignals() {
			fmt.Fprintf(&b, "  %s %v: %s\n", signalKey(s), s.GetVerdict(), s.GetMessage())
		}
		t.Errorf("%s: signals\n%s want %v", r.GetName(), b.String(), want)
	}
}

// alertSignals is every product the tenant's licences produce alerts of,
// with verdict v.
func alertSignals(sim *azuresim.Sim, f flowTenant, v xdrlinkv1.Verdict, into map[string]xdrlinkv1.Verdict) map[string]xdrlinkv1.Verdict {
	for _, p := range sim.AlertProducts(f.cid) {
		into[alertsKey(p)] = v
	}
	return into
}

func configCheck(t *testing.T, r *xdrlinkv1.IngestionReport, aspect xdrlinkv1.ConfigurationCheck_Aspect) *xdrlinkv1.ConfigurationCheck {
	t.Helper()
	var found *xdrlinkv1.ConfigurationCheck
	for _, c := range r.GetConfiguration() {
		if c.GetAspect() == aspect {
			if found != nil {
				t.Errorf("%s: two %v checks", r.GetName(), aspect)
			}
			found = c
		}
	}
	if found == nil {
		t.Fatalf("%s: no %v check in %v", r.GetName(), aspect, r.GetConfiguration())
	}
	return found
}

// wantConfig checks which configuration checks are not ok.
func wantConfig(t *testing.T, r *xdrlinkv1.IngestionReport, notOK ...xdrlinkv1.ConfigurationCheck_Aspect) {
	t.Helper()
	if len(r.GetConfiguration()) != 4 {
		t.Errorf("%s: %d configuration checks, want one per aspect: %v", r.GetName(), len(r.GetConfiguration()), r.GetConfiguration())
	}
	for _, c := range r.GetConfiguration() {
		if c.GetOk() == slices.Contains(notOK, c.GetAspect()) {
			t.Errorf("%s: %v ok=%v (observed %q: %s); want not ok only for %v", r.GetName(), c.GetAspect(), c.GetOk(), c.GetObserved(), c.GetMessage(), notOK)
		}
	}
}

// checkReport checks what every report must be: its name and operation,
// its window (14 whole UTC days before the day its queries were built,
// then that day so far), every signal's 15 daily counts, total and last
// row against the emulator's ground truth, and the queries it lists.
func checkReport(t *testing.T, sim *azuresim.Sim, f flowTenant, op string, r *xdrlinkv1.IngestionReport) {
	t.Helper()
	id := strings.TrimPrefix(op, "operations/")
	if r.GetName() != f.name()+"/verifications/"+id || r.GetOperation() != op {
		t.Errorf("report %q of operation %q, want %s/verifications/%s", r.GetName(), r.GetOperation(), f.name(), id)
	}
	if r.GetWindowDays() != 14 {
		t.Errorf("%s: window_days %d, want 14", r.GetName(), r.GetWindowDays())
	}
	end := r.GetWindowEndTime().AsTime()
	start := end.Truncate(day).AddDate(0, 0, -14)
	if r.GetWindowEndTime() == nil || !r.GetWindowStartTime().AsTime().Equal(start) {
		t.Fatalf("%s: window %v to %v, want it to start at %v", r.GetName(), r.GetWindowStartTime().AsTime(), end, start)
	}
	if vt := r.GetVerifyTime().AsTime(); vt.Before(end) || vt.Sub(end) >= 100*time.Nanosecond {
		t.Errorf("%s: verify_time %v, window_end_time %v: the window ends when the queries were built", r.GetName(), vt, end)
	}
	if time.Since(end) > 5*time.Minute || end.After(sim.Now()) {
		t.Errorf("%s: window ends at %v, now %v", r.GetName(), end, sim.Now())
	}
	th := r.GetThresholds()
	if th.GetGracePeriod().AsDuration() != day || th.GetTableStaleAfter().AsDuration() != day || th.GetAlertsStaleAfter().AsDuration() != 7*day {
		t.Errorf("%s: thresholds %v, want the defaults", r.GetName(), th)
	}
	if len(r.GetSignals()) == 0 {
		t.Errorf("%s: no signals", r.GetName())
	}
	for _, s := range r.GetSignals() {
		k := signalKey(s)
		if len(s.GetDaily()) != 15 {
			t.Errorf("%s %s: %d daily counts, want 15", r.GetName(), k, len(s.GetDaily()))
			continue
		}
		var sum int64
		for i, dc := range s.GetDaily() {
			dayStart := start.AddDate(0, 0, i)
			if !dc.GetDay().AsTime().Equal(dayStart) {
				t.Errorf("%s %s: day %d is %v, want %v", r.GetName(), k, i, dc.GetDay().AsTime(), dayStart)
			}
			if dc.GetPartial() != (i == 14) {
				t.Errorf("%s %s: day %d partial=%v", r.GetName(), k, i, dc.GetPartial())
			}
			to := dayStart.Add(day)
			if to.After(end) {
				to = end
			}
			daily, _ := sim.IngestedRows(f.cid, s.GetTable(), s.GetProduct(), dayStart, to)
			var want int64
			for _, n := range daily {
				want += n
			}
			if dc.GetCount() != want {
				t.Errorf("%s %s: %d rows on %s, the emulator holds %d", r.GetName(), k, dc.GetCount(), dayStart.Format(time.DateOnly), want)
			}
			sum += dc.GetCount()
		}
		if s.GetTotal() != sum {
			t.Errorf("%s %s: total %d, daily counts add up to %d", r.GetName(), k, s.GetTotal(), sum)
		}
		_, last := sim.IngestedRows(f.cid, s.GetTable(), s.GetProduct(), end, end)
		switch got := s.GetLastReceivedTime(); {
		case last.IsZero() && got != nil:
			t.Errorf("%s %s: last_received_time %v, the emulator holds no row", r.GetName(), k, got.AsTime())
		case !last.IsZero() && (got == nil || !got.AsTime().Equal(last)):
			t.Errorf("%s %s: last_received_time %v, the emulator's newest row is at %v", r.GetName(), k, got.AsTime(), last)
		}
	}
	if len(r.GetQueries()) < 3 {
		t.Errorf("%s: %d queries listed, want at least the 3 daily ones", r.GetName(), len(r.GetQueries()))
	}
	daily := 0
	for _, q := range r.GetQueries() {
		if strings.TrimSpace(q.GetQuery()) == "" || q.GetPurpose() == "" {
			t.Errorf("%s: query without text or purpose: %v", r.GetName(), q)
		}
		if q.GetError() != "" {
			t.Errorf("%s: query %q failed: %s", r.GetName(), q.GetPurpose(), q.GetError())
		}
		if strings.HasPrefix(q.GetPurpose(), "daily") {
			daily++
			if ts := q.GetTimespan(); !strings.Contains(ts, "/") ||
				!strings.HasPrefix(ts, start.Format(time.RFC3339)) {
				t.Errorf("%s: daily query %q has timespan %q, want the window from %v", r.GetName(), q.GetPurpose(), ts, start)
			}
		}
	}
	if daily != 3 {
		t.Errorf("%s: %d daily queries, want incidents, alerts and tables", r.GetName(), daily)
	}
}

// checkStored checks that GetVerification over both transports, and the
// newest of ListVerifications, are the operation's report.
func checkStored(t *testing.T, apis map[string]flowAPI, f flowTenant, r *xdrlinkv1.IngestionReport) {
	t.Helper()
	for _, api := range apis {
		got, err := api.v.GetVerification(context.Background(), r.GetName())
		if err != nil {
			t.Fatalf("%s: GetVerification %s: %v", api.transport, r.GetName(), err)
		}
		if !proto.Equal(got, r) {
			t.Errorf("%s: GetVerification %s differs from the operation's response", api.transport, r.GetName())
		}
		list, err := api.v.ListVerifications(context.Background(), &xdrlinkv1.ListVerificationsRequest{Parent: f.name()})
		if err != nil {
			t.Fatalf("%s: ListVerifications %s: %v", api.transport, f.name(), err)
		}
		if vs := list.GetVerifications(); len(vs) == 0 || !proto.Equal(vs[0], r) {
			t.Errorf("%s: the newest of ListVerifications(%s) is not %s: %d listed", api.transport, f.name(), r.GetName(), len(vs))
		}
	}
}

// summaryOf is the summary a tenant keeps of report r, computed here.
func summaryOf(r *xdrlinkv1.IngestionReport) *xdrlinkv1.VerificationSummary {
	s := &xdrlinkv1.VerificationSummary{Verification: r.GetName(), VerifyTime: r.GetVerifyTime(), Verdict: r.GetVerdict(), SignalVerdicts: map[string]int32{}}
	for _, sg := range r.GetSignals() {
		if sg.GetDesired() {
			s.SignalVerdicts[sg.GetVerdict().String()]++
		}
	}
	for _, c := range r.GetConfiguration() {
		if !c.GetOk() {
			s.ConfigurationDrift++
		}
	}
	return s
}

// listed returns the names of the tenants filter selects among ids.
func listed(t *testing.T, api flowAPI, filter string) []string {
	t.Helper()
	var names []string
	req := &xdrlinkv1.ListTenantsRequest{Filter: filter}
	for {
		page, err := api.tenants.List(context.Background(), req)
		if err != nil {
			t.Fatalf("ListTenants %q: %v", filter, err)
		}
		for _, tn := range page.GetTenants() {
			names = append(names, tn.GetName())
		}
		if req.PageToken = page.GetNextPageToken(); req.PageToken == "" {
			return names
		}
	}
}

func tableStatus(t *testing.T, s *xdrlinkv1.TableSettings, table string) *xdrlinkv1.TableStatus {
	t.Helper()
	for _, ts := range s.GetTables() {
		if ts.GetTable() == table {
			return ts
		}
	}
	t.Fatalf("%s: no status of %s in %v", s.GetName(), table, s.GetTables())
	return nil
}

// sameTables: the same tables, in any order.
func sameTables(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func tableNames(s *xdrlinkv1.TableSettings) []string {
	var out []string
	for _, ts := range s.GetTables() {
		out = append(out, ts.GetTable())
	}
	return out
}

// streamedTables are the tables the tenant's Sentinel streaming entry has
// on in the emulator.
func streamedTables(t *testing.T, d *Daemon, f flowTenant) []string {
	t.Helper()
	entries, err := d.azure.sandbox.StreamingEntries(f.c.EntraTenantID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if !strings.EqualFold(e.ID, "SentinelExportSettings-"+f.c.WorkspaceName) {
			continue
		}
		for _, l := range e.Logs {
			if l.Enabled {
				out = append(out, strings.TrimPrefix(l.Category, "AdvancedHunting-"))
			}
		}
	}
	slices.Sort(out)
	return out
}

// codeOf is an error's gRPC code and, over REST, its HTTP status (0 over gRPC).
func codeOf(err error) (codes.Code, int) {
	var re *restError
	if errors.As(err, &re) {
		return status.Code(err), re.httpStatus
	}
	return status.Code(err), 0
}

// TestVerificationFlows: three tenants with a known past, per transport:
// one connected 10 days ago with a stale table and one just turned on, one
// whose streaming was changed behind xdrlink's back, one without any data.
func TestVerificationFlows(t *testing.T) {
	backends(t, func(t *testing.T, db string) {
		world, tenants := flowWorld("grpc", "rest")
		d, _ := startFlowDaemon(t, db, world, 0)
		apis := flowAPIs(t, d)
		for _, transport := range []string{"grpc", "rest"} {
			t.Run(transport, func(t *testing.T) {
				t.Parallel()
				verificationFlow(t, d, apis, apis[transport], tenants[transport+"-"+kindStale], tenants[transport+"-"+kindDrift], tenants[transport+"-"+kindNew])
			})
		}
	})
}

func verificationFlow(t *testing.T, d *Daemon, apis map[string]flowAPI, api flowAPI, t1, t2, t3 flowTenant) {
	ctx := context.Background()
	sim := d.azure.sandbox
	labels := map[string]string{"flow": api.transport}
	for _, f := range []flowTenant{t1, t2, t3} {
		register(t, api, f, labels)
	}

	// T3 before onboarding: nothing is connected, no table exists. The
	// verification succeeds and says so; a missing table is no rows.
	first := startVerify(t, api, t3)
	r3 := finishVerify(t, api, first)
	checkReport(t, sim, t3, first, r3)
	checkStored(t, apis, t3, r3)
	want := map[string]xdrlinkv1.Verdict{incidentsKey(): vNotEnabled, alertsKey(""): vNotEnabled, tableKey(tProcess): vNoData, tableKey(tNetwork): vNoData}
	wantSignals(t, r3, want)
	if r3.GetVerdict() != vNoData {
		t.Errorf("T3 before onboarding: verdict %v, want NO_DATA", r3.GetVerdict())
	}
	wantConfig(t, r3, xdrlinkv1.ConfigurationCheck_ASPECT_CONNECTOR, xdrlinkv1.ConfigurationCheck_ASPECT_INCIDENT_CREATION_RULES)
	if tn := getTenant(t, api, t3.name()); tn.GetState() != xdrlinkv1.Tenant_STATE_REGISTERED || !proto.Equal(tn.GetLastVerification(), summaryOf(r3)) {
		t.Errorf("T3 after its first verification: %v, last_verification %v; want REGISTERED with %v", tn.GetState(), tn.GetLastVerification(), summaryOf(r3))
	}

	// Onboarding T1 reuses the connector and the streaming entry its past
	// left; T3 gets new ones. Both run at once.
	before := snapshot(t, d, t1.c)
	onboards := map[string]string{t1.id: startOnboard(t, api, t1), t3.id: startOnboard(t, api, t3)}
	for _, f := range []flowTenant{t1, t3} {
		op := finishOnboard(t, d, api, onboards[f.id])
		steps := metadata(t, op).GetSteps()
		if len(steps) == 0 || steps[len(steps)-1].GetKind() != xdrlinkv1.StepKind_STEP_KIND_VERIFY {
			t.Fatalf("onboarding of %s does not end with a verification: %v", f.id, steps)
		}
		// Its verification's report is stored under the operation.
		r, err := api.v.GetVerification(ctx, f.name()+"/verifications/"+strings.TrimPrefix(op.GetName(), "operations/"))
		if err != nil {
			t.Fatalf("the report of %s's onboarding: %v", f.id, err)
		}
		checkReport(t, sim, f, op.GetName(), r)
		if tn := getTenant(t, api, f.name()); !proto.Equal(tn.GetLastVerification(), summaryOf(r)) {
			t.Errorf("%s after onboarding: last_verification %v, want %v", f.id, tn.GetLastVerification(), summaryOf(r))
		}
	}
	after := snapshot(t, d, t1.c)
	if !slices.Equal(before.Connectors, after.Connectors) || !slices.Equal(before.Streaming, after.Streaming) {
		t.Errorf("onboarding T1 wrote its connector or streaming entry:\nbefore %v %v\nafter  %v %v", before.Connectors, before.Streaming, after.Connectors, after.Streaming)
	}
	if got, want := streamedTables(t, d, t1), []string{tFile, tLogon, tNetwork, tProcess}; !slices.Equal(got, want) {
		t.Errorf("T1's entry streams %v, want %v as its past left it", got, want)
	}

	// Verify all three at once.
	reports := map[string]*xdrlinkv1.IngestionReport{}
	ops := map[string]string{}
	for _, f := range []flowTenant{t1, t2, t3} {
		ops[f.id] = startVerify(t, api, f)
	}
	for _, f := range []flowTenant{t1, t2, t3} {
		reports[f.id] = finishVerify(t, api, ops[f.id])
		checkReport(t, sim, f, ops[f.id], reports[f.id])
		checkStored(t, apis, f, reports[f.id])
	}

	// T1: incidents and every product's alerts arrive; the two steady
	// tables too; DeviceLogonEvents stopped 3 days ago; DeviceFileEvents'
	// first rows are not due yet.
	r1 := reports[t1.id]
	want = alertSignals(sim, t1, vHealthy, map[string]xdrlinkv1.Verdict{incidentsKey(): vHealthy,
		tableKey(tProcess): vHealthy, tableKey(tNetwork): vHealthy, tableKey(tLogon): vStale, tableKey(tFile): vGrace})
	if len(sim.AlertProducts(t1.cid)) == 0 {
		t.Fatal("the emulator produces no alert products for T1")
	}
	wantSignals(t, r1, want)
	wantConfig(t, r1)
	if r1.GetVerdict() != vStale {
		t.Errorf("T1: verdict %v, want STALE", r1.GetVerdict())
	}
	tn1 := getTenant(t, api, t1.name())
	if tn1.GetState() != xdrlinkv1.Tenant_STATE_DEGRADED || !proto.Equal(tn1.GetLastVerification(), summaryOf(r1)) {
		t.Errorf("T1: %v, last_verification %v; want DEGRADED with %v", tn1.GetState(), tn1.GetLastVerification(), summaryOf(r1))
	}
	wantCounts := map[string]int32{vHealthy.String(): int32(3 + len(sim.AlertProducts(t1.cid))), vStale.String(): 1, vGrace.String(): 1}
	if got := tn1.GetLastVerification().GetSignalVerdicts(); !maps.Equal(got, wantCounts) || tn1.GetLastVerification().GetConfigurationDrift() != 0 {
		t.Errorf("T1's summary counts %v (drift %d), want %v", got, tn1.GetLastVerification().GetConfigurationDrift(), wantCounts)
	}

	// T2: the table someone turned off is stale, and the one turned on
	// instead is drift; T2 stays as it was, registered.
	r2 := reports[t2.id]
	want = alertSignals(sim, t2, vHealthy, map[string]xdrlinkv1.Verdict{incidentsKey(): vHealthy,
		tableKey(tProcess): vHealthy, tableKey(tNetwork): vHealthy, tableKey(tRegistry): vStale})
	wantSignals(t, r2, want)
	wantConfig(t, r2, xdrlinkv1.ConfigurationCheck_ASPECT_STREAMING)
	if c := configCheck(t, r2, xdrlinkv1.ConfigurationCheck_ASPECT_STREAMING); !strings.Contains(c.GetMessage(), "streamed but not desired: "+tImageLoad) ||
		!strings.Contains(c.GetObserved(), tImageLoad) || strings.Contains(c.GetMessage(), "desired but not streamed") {
		t.Errorf("T2's streaming check: observed %q, message %q; want %s streamed but not desired", c.GetObserved(), c.GetMessage(), tImageLoad)
	}
	if r2.GetVerdict() != vStale {
		t.Errorf("T2: verdict %v, want STALE", r2.GetVerdict())
	}
	if tn := getTenant(t, api, t2.name()); tn.GetState() != xdrlinkv1.Tenant_STATE_REGISTERED || !proto.Equal(tn.GetLastVerification(), summaryOf(r2)) ||
		tn.GetLastVerification().GetConfigurationDrift() != 1 {
		t.Errorf("T2: %v, last_verification %v; want REGISTERED with %v", tn.GetState(), tn.GetLastVerification(), summaryOf(r2))
	}

	// T3 onboarded: everything is on and within its grace period.
	r3 = reports[t3.id]
	wantSignals(t, r3, map[string]xdrlinkv1.Verdict{incidentsKey(): vGrace, alertsKey(""): vGrace, tableKey(tProcess): vGrace, tableKey(tNetwork): vGrace})
	wantConfig(t, r3)
	if r3.GetVerdict() != vGrace {
		t.Errorf("T3 onboarded: verdict %v, want WITHIN_GRACE_PERIOD", r3.GetVerdict())
	}
	if tn := getTenant(t, api, t3.name()); tn.GetState() != xdrlinkv1.Tenant_STATE_ONBOARDED || !proto.Equal(tn.GetLastVerification(), summaryOf(r3)) {
		t.Errorf("T3: %v, last_verification %v; want ONBOARDED with %v", tn.GetState(), tn.GetLastVerification(), summaryOf(r3))
	}
	// Its three reports, newest first: this one, onboarding's, the first.
	list, err := api.v.ListVerifications(ctx, &xdrlinkv1.ListVerificationsRequest{Parent: t3.name()})
	if err != nil {
		t.Fatal(err)
	}
	if vs := list.GetVerifications(); len(vs) != 3 || vs[0].GetName() != r3.GetName() || vs[2].GetVerdict() != vNoData ||
		vs[1].GetVerifyTime().AsTime().Before(vs[2].GetVerifyTime().AsTime()) || vs[0].GetVerifyTime().AsTime().Before(vs[1].GetVerifyTime().AsTime()) {
		t.Errorf("T3's reports are not its 3, newest first: %d listed", len(vs))
	}

	// The verdict filter.
	stale, healthy := listed(t, api, "last_verification.verdict = STALE"), listed(t, api, "last_verification.verdict = HEALTHY")
	if !slices.Contains(stale, t1.name()) || !slices.Contains(stale, t2.name()) || slices.Contains(stale, t3.name()) {
		t.Errorf("verdict STALE lists %v; want %s and %s, not %s", stale, t1.name(), t2.name(), t3.name())
	}
	for _, f := range []flowTenant{t1, t2, t3} {
		if slices.Contains(healthy, f.name()) {
			t.Errorf("verdict HEALTHY lists %s", f.name())
		}
	}
	if grace := listed(t, api, `last_verification.verdict = WITHIN_GRACE_PERIOD AND labels.flow = "`+api.transport+`"`); !slices.Equal(grace, []string{t3.name()}) {
		t.Errorf("verdict WITHIN_GRACE_PERIOD of this flow lists %v, want only %s", grace, t3.name())
	}

	// T2's table settings show what its data revealed: the table turned on
	// behind xdrlink's back, as drift.
	s2, err := api.v.GetTableSettings(ctx, t2.name()+"/tableSettings")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tableNames(s2), []string{tImageLoad, tNetwork, tProcess, tRegistry}; !slices.Equal(got, want) ||
		!sameTables(s2.GetDesiredTables(), desiredTables[kindDrift]) {
		t.Errorf("T2's table settings list %v (desired %v), want %v", got, s2.GetDesiredTables(), want)
	}
	for _, ts := range s2.GetTables() {
		o := ts.GetObservation()
		wantDesired := ts.GetTable() != tImageLoad
		if ts.GetDesired() != wantDesired || ts.GetDrift() == wantDesired || o.GetState() != xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED ||
			o.GetSource() != xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DATA_ARRIVING || o.GetOperation() != ops[t2.id] ||
			o.GetEnableTime() == nil || o.GetObserveTime() == nil {
			t.Errorf("T2's %s: desired %v, drift %v, observation %v; want desired %v, drift %v, ENABLED from DATA_ARRIVING by %s",
				ts.GetTable(), ts.GetDesired(), ts.GetDrift(), o, wantDesired, !wantDesired, ops[t2.id])
		}
	}
	// The newest row seen dates a data observation.
	if _, last := sim.IngestedRows(t2.cid, tImageLoad, "", r2.GetWindowEndTime().AsTime(), r2.GetWindowEndTime().AsTime()); !tableStatus(t, s2, tImageLoad).GetObservation().GetObserveTime().AsTime().Equal(last) {
		t.Errorf("T2's %s observed at %v, its newest row is at %v", tImageLoad, tableStatus(t, s2, tImageLoad).GetObservation().GetObserveTime().AsTime(), last)
	}

	tableSettingsFlow(t, d, api, t1, t2)
	batchVerifyFlow(t, d, apis, api, t1, t2, t3)
}

// tableSettingsFlow: T1 adds a table the streaming API turns on and one
// only the portal can; a stale etag and a tenant that is not connected are
// refused and change nothing.
func tableSettingsFlow(t *testing.T, d *Daemon, api flowAPI, t1, t2 flowTenant) {
	ctx := context.Background()
	cur, err := api.v.GetTableSettings(ctx, t1.name()+"/tableSettings")
	if err != nil {
		t.Fatal(err)
	}
	tn := getTenant(t, api, t1.name())
	if cur.GetEtag() == "" || cur.GetEtag() != tn.GetEtag() || !slices.Equal(cur.GetDesiredTables(), tn.GetConnector().GetTables()) {
		t.Fatalf("T1's table settings: etag %q, desired %v; tenant etag %q, connector.tables %v", cur.GetEtag(), cur.GetDesiredTables(), tn.GetEtag(), tn.GetConnector().GetTables())
	}
	newTables := append(slices.Clone(desiredTables[kindStale]), tRegistry, tEmail)
	op, err := api.v.UpdateTableSettings(ctx, &xdrlinkv1.UpdateTableSettingsRequest{
		TableSettings: &xdrlinkv1.TableSettings{Name: cur.GetName(), DesiredTables: newTables, Etag: cur.GetEtag()},
		UpdateMask:    &fieldmaskpb.FieldMask{Paths: []string{"desired_tables"}},
	})
	if err != nil {
		t.Fatalf("UpdateTableSettings: %v", err)
	}
	if md := metadata(t, op); md.GetKind() != xdrlinkv1.OperationKind_OPERATION_KIND_UPDATE_TABLE_SETTINGS || md.GetTenant() != t1.name() {
		t.Fatalf("UpdateTableSettings returned %v", md)
	}
	_, md := waitState(t, api.ops, op.GetName(), opActionRequired)
	st := stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_APPLY_TABLE_SETTINGS)
	if st.GetState() != xdrlinkv1.StepState_STEP_STATE_ACTION_REQUIRED || st.GetRequiredAction().GetDeviceCode().GetUserCode() == "" {
		t.Fatalf("the table change waits with %v, want the delegated sign-in's device code", st)
	}
	approve(t, d, md)
	op, md = waitState(t, api.ops, op.GetName(), opSucceeded)
	resp := &xdrlinkv1.TableSettings{}
	if err := op.GetResponse().UnmarshalTo(resp); err != nil {
		t.Fatalf("response: %v", err)
	}
	if !sameTables(resp.GetDesiredTables(), newTables) {
		t.Errorf("response desired_tables %v, want %v", resp.GetDesiredTables(), newTables)
	}
	reg := tableStatus(t, resp, tRegistry)
	if o := reg.GetObservation(); !reg.GetDesired() || reg.GetDrift() || o.GetState() != xdrlinkv1.ObservedState_OBSERVED_STATE_ENABLED ||
		o.GetSource() != xdrlinkv1.ObservationSource_OBSERVATION_SOURCE_DELEGATED_WRITE || o.GetOperation() != op.GetName() || o.GetEnableTime() == nil {
		t.Errorf("%s after the change: %v; want desired, ENABLED by a DELEGATED_WRITE of %s", tRegistry, reg, op.GetName())
	}
	email := tableStatus(t, resp, tEmail)
	if email.GetEnablement() != xdrlinkv1.Enablement_ENABLEMENT_PORTAL_ONLY || !email.GetDesired() ||
		email.GetPortalStep().GetTable() != tEmail || email.GetPortalStep().GetPath() == "" || email.GetPortalStep().GetUrl() == "" {
		t.Errorf("%s after the change: %v; want desired, portal-only, with its portal step", tEmail, email)
	}
	if ps := stepOf(t, md, xdrlinkv1.StepKind_STEP_KIND_APPLY_TABLE_SETTINGS).GetPortalSteps(); len(ps) != 1 || ps[0].GetTable() != tEmail {
		t.Errorf("the step's portal steps %v, want %s", ps, tEmail)
	}
	if got, want := streamedTables(t, d, t1), []string{tFile, tLogon, tNetwork, tProcess, tRegistry}; !slices.Equal(got, want) {
		t.Errorf("T1's entry streams %v, want %v", got, want)
	}
	tn = getTenant(t, api, t1.name())
	if !sameTables(tn.GetConnector().GetTables(), newTables) || tn.GetEtag() == cur.GetEtag() || tn.GetState() != xdrlinkv1.Tenant_STATE_DEGRADED ||
		tn.GetLastOperation() != op.GetName() {
		t.Errorf("T1 after the change: connector.tables %v, etag %q (was %q), %v, last operation %s; want the new tables, a new etag, still DEGRADED",
			tn.GetConnector().GetTables(), tn.GetEtag(), cur.GetEtag(), tn.GetState(), tn.GetLastOperation())
	}
	now, err := api.v.GetTableSettings(ctx, t1.name()+"/tableSettings")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(now, resp) {
		t.Errorf("GetTableSettings after the change differs from the operation's response:\n%v\n%v", now, resp)
	}
	// The desired tables are kept once: the tenant's connector.tables.
	if !slices.Equal(now.GetDesiredTables(), tn.GetConnector().GetTables()) || now.GetEtag() != tn.GetEtag() {
		t.Errorf("table settings desired %v (etag %s), tenant connector.tables %v (etag %s)", now.GetDesiredTables(), now.GetEtag(), tn.GetConnector().GetTables(), tn.GetEtag())
	}

	// A stale etag: ABORTED (409), nothing changes.
	_, err = api.v.UpdateTableSettings(ctx, &xdrlinkv1.UpdateTableSettingsRequest{
		TableSettings: &xdrlinkv1.TableSettings{Name: cur.GetName(), DesiredTables: []string{tProcess}, Etag: cur.GetEtag()},
		UpdateMask:    &fieldmaskpb.FieldMask{Paths: []string{"desired_tables"}},
	})
	if code, httpStatus := codeOf(err); code != codes.Aborted || (api.transport == "rest" && httpStatus != http.StatusConflict) {
		t.Errorf("stale etag: %v (HTTP %d), want ABORTED / 409", err, httpStatus)
	}
	if after := getTenant(t, api, t1.name()); !sameTables(after.GetConnector().GetTables(), newTables) || after.GetLastOperation() != op.GetName() || after.GetEtag() != tn.GetEtag() {
		t.Errorf("a refused change changed T1: tables %v, last operation %s, etag %s", after.GetConnector().GetTables(), after.GetLastOperation(), after.GetEtag())
	}

	// T2 is not connected: FAILED_PRECONDITION (400), nothing changes.
	before := getTenant(t, api, t2.name())
	_, err = api.v.UpdateTableSettings(ctx, &xdrlinkv1.UpdateTableSettingsRequest{
		TableSettings: &xdrlinkv1.TableSettings{Name: t2.name() + "/tableSettings", DesiredTables: []string{tProcess, tImageLoad}, Etag: before.GetEtag()},
		UpdateMask:    &fieldmaskpb.FieldMask{Paths: []string{"desired_tables"}},
	})
	if code, httpStatus := codeOf(err); code != codes.FailedPrecondition || (api.transport == "rest" && httpStatus != http.StatusBadRequest) {
		t.Errorf("table change of a registered tenant: %v (HTTP %d), want FAILED_PRECONDITION / 400", err, httpStatus)
	}
	if after := getTenant(t, api, t2.name()); !proto.Equal(after, before) {
		t.Errorf("a refused change changed T2:\nbefore %v\nafter  %v", before, after)
	}
}

// batchVerifyFlow: BatchVerify by names, then by a filter that selects two
// of the three; one result per tenant, in order, each the summary of its
// child's report.
func batchVerifyFlow(t *testing.T, d *Daemon, apis map[string]flowAPI, api flowAPI, t1, t2, t3 flowTenant) {
	ctx := context.Background()
	byName := map[string]flowTenant{t1.name(): t1, t2.name(): t2, t3.name(): t3}
	for _, tc := range []struct {
		req  *xdrlinkv1.BatchVerifyRequest
		want []flowTenant
	}{
		{&xdrlinkv1.BatchVerifyRequest{Tenants: []string{t3.name(), t1.name(), t2.name()}}, []flowTenant{t3, t1, t2}},
		// T1 is still stale (DeviceLogonEvents), T2 too (DeviceRegistryEvents).
		{&xdrlinkv1.BatchVerifyRequest{Filter: `labels.flow = "` + api.transport + `" AND last_verification.verdict = STALE`}, []flowTenant{t1, t2}},
	} {
		op, err := api.v.BatchVerify(ctx, tc.req)
		if err != nil {
			t.Fatalf("BatchVerify %v: %v", tc.req, err)
		}
		if md := metadata(t, op); md.GetKind() != xdrlinkv1.OperationKind_OPERATION_KIND_BATCH_VERIFY || md.GetBatchProgress().GetTotal() != int32(len(tc.want)) {
			t.Fatalf("BatchVerify returned %v", md)
		}
		op, _ = watchBatch(t, api.ops, op.GetName(), 100)
		if md := metadata(t, op); md.GetState() != opSucceeded {
			t.Fatalf("batch %s: %v", op.GetName(), md.GetState())
		}
		resp := &xdrlinkv1.BatchVerifyResponse{}
		if err := op.GetResponse().UnmarshalTo(resp); err != nil {
			t.Fatalf("batch response: %v", err)
		}
		kids := children(t, api.ops, op.GetName())
		if len(resp.GetResults()) != len(tc.want) || len(kids) != len(tc.want) {
			t.Fatalf("%d results and %d children for %d tenants", len(resp.GetResults()), len(kids), len(tc.want))
		}
		for i, res := range resp.GetResults() {
			f := tc.want[i]
			if res.GetTenant() != f.name() || res.GetOperation() != kids[i].GetName() || res.GetError() != nil || res.GetSummary() == nil {
				t.Errorf("result %d: %v; want %s's, of child %s", i, res, f.name(), kids[i].GetName())
				continue
			}
			kmd := metadata(t, kids[i])
			if kmd.GetTenant() != f.name() || kmd.GetKind() != xdrlinkv1.OperationKind_OPERATION_KIND_VERIFY || kmd.GetState() != opSucceeded {
				t.Errorf("child %d: %v", i, kmd)
			}
			r := reportOf(t, kids[i])
			checkReport(t, d.azure.sandbox, byName[f.name()], kids[i].GetName(), r)
			checkStored(t, apis, f, r)
			if !proto.Equal(res.GetSummary(), summaryOf(r)) {
				t.Errorf("result %d's summary %v, its report's %v", i, res.GetSummary(), summaryOf(r))
			}
			if tn := getTenant(t, api, f.name()); !proto.Equal(tn.GetLastVerification(), res.GetSummary()) {
				t.Errorf("%s's last_verification %v, the batch's result %v", f.name(), tn.GetLastVerification(), res.GetSummary())
			}
		}
	}
	// T1 after its table change: the new API table is within its grace
	// period, the portal-only one waits for its portal step.
	list, err := api.v.ListVerifications(ctx, &xdrlinkv1.ListVerificationsRequest{Parent: t1.name(), PageSize: 1})
	if err != nil || len(list.GetVerifications()) != 1 || list.GetNextPageToken() == "" {
		t.Fatalf("T1's newest report: %v, %v", list, err)
	}
	sim := d.azure.sandbox
	r1 := list.GetVerifications()[0]
	wantSignals(t, r1, alertSignals(sim, t1, vHealthy, map[string]xdrlinkv1.Verdict{incidentsKey(): vHealthy,
		tableKey(tProcess): vHealthy, tableKey(tNetwork): vHealthy, tableKey(tLogon): vStale, tableKey(tFile): vGrace,
		tableKey(tRegistry): vGrace, tableKey(tEmail): vPortal}))
	wantConfig(t, r1)
}

// TestVerificationScheduled: a daemon with scheduled verification verifies
// every connected tenant, and only those, in one batch named for the
// scheduler as soon as it starts; started again within the same interval,
// it does not verify them again.
func TestVerificationScheduled(t *testing.T) {
	// An interval of about 11 years: the two starts below cannot fall in two
	// of its slots (the next boundary is years away), as they could with a
	// day's at midnight.
	const interval = 100000 * time.Hour
	if untilSlot := time.Now().UTC().Truncate(interval).Add(interval).Sub(time.Now()); untilSlot < 10*time.Minute {
		t.Fatalf("%v before the next slot boundary: choose another interval", untilSlot)
	}
	world, tenants := flowWorld("sched")
	t1, t2, t3 := tenants["sched-"+kindStale], tenants["sched-"+kindDrift], tenants["sched-"+kindNew]
	db := t.TempDir() + "/xdrlink.db"

	// First run, no schedule: register the three, onboard T1 and T3.
	first, stopFirst := startFlowDaemon(t, db, world, 0)
	api := flowAPIs(t, first)["grpc"]
	for _, f := range []flowTenant{t1, t2, t3} {
		register(t, api, f, nil)
	}
	onboards := []string{startOnboard(t, api, t1), startOnboard(t, api, t3)}
	for _, op := range onboards {
		finishOnboard(t, first, api, op)
	}
	stopFirst()

	batches := func(api flowAPI) []*longrunningpb.Operation {
		t.Helper()
		page, err := api.ops.List(context.Background(), "kind = BATCH_VERIFY", 100, "")
		if err != nil {
			t.Fatal(err)
		}
		return page.GetOperations()
	}

	// Second run, scheduled: one batch over T1 (DEGRADED) and T3 (ONBOARDED).
	second, stopSecond := startFlowDaemon(t, db, world, interval)
	api = flowAPIs(t, second)["rest"]
	deadline := time.Now().Add(30 * time.Second)
	for len(batches(api)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no scheduled verification 30s after the start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	got := batches(api)
	if len(got) != 1 {
		t.Fatalf("%d scheduled batches, want 1", len(got))
	}
	op, md := watchBatch(t, api.ops, got[0].GetName(), 100)
	if md.GetCaller() != engine.ScheduleCaller || md.GetState() != opSucceeded {
		t.Errorf("scheduled batch: caller %q, %v; want %q, SUCCEEDED", md.GetCaller(), md.GetState(), engine.ScheduleCaller)
	}
	resp := &xdrlinkv1.BatchVerifyResponse{}
	if err := op.GetResponse().UnmarshalTo(resp); err != nil {
		t.Fatal(err)
	}
	var verified []string
	kids := children(t, api.ops, op.GetName())
	if len(kids) != len(resp.GetResults()) {
		t.Fatalf("%d children, %d results", len(kids), len(resp.GetResults()))
	}
	// T1's past is the same in every emulator: still stale. T3's connector
	// and entry were made by the first run's emulator, which this one is
	// not: they are gone, as if someone had removed them, so T3 is
	// DEGRADED now, its incidents and alerts NOT_ENABLED.
	wantState := map[string]xdrlinkv1.Tenant_State{t1.name(): xdrlinkv1.Tenant_STATE_DEGRADED, t3.name(): xdrlinkv1.Tenant_STATE_DEGRADED}
	wantVerdict := map[string]xdrlinkv1.Verdict{t1.name(): vStale, t3.name(): vNotEnabled}
	for i, res := range resp.GetResults() {
		verified = append(verified, res.GetTenant())
		if res.GetSummary() == nil || res.GetOperation() != kids[i].GetName() || metadata(t, kids[i]).GetCaller() != engine.ScheduleCaller {
			t.Errorf("scheduled result %d: %v, child %s", i, res, kids[i].GetName())
		}
		if tn := getTenant(t, api, res.GetTenant()); tn.GetState() != wantState[res.GetTenant()] || !proto.Equal(tn.GetLastVerification(), res.GetSummary()) ||
			res.GetSummary().GetVerdict() != wantVerdict[res.GetTenant()] {
			t.Errorf("%s after the scheduled verification: %v, last_verification %v; want %v, %v, verdict %v",
				res.GetTenant(), tn.GetState(), tn.GetLastVerification(), wantState[res.GetTenant()], res.GetSummary(), wantVerdict[res.GetTenant()])
		}
	}
	slices.Sort(verified)
	if want := []string{t1.name(), t3.name()}; !slices.Equal(verified, want) {
		t.Errorf("the schedule verified %v, want the connected %v", verified, want)
	}
	if tn := getTenant(t, api, t2.name()); tn.GetLastVerification() != nil {
		t.Errorf("the schedule verified the registered T2: %v", tn.GetLastVerification())
	}
	stopSecond()

	// Third run in the same interval: the periodic job's start-up insert
	// happens (and is logged) but finds the interval's job, so no second
	// batch.
	logs := &logRecorder{}
	third, stopThird := startFlowDaemon(t, db, world, interval, func(c *Config) { c.Logger = slog.New(logs) })
	deadline = time.Now().Add(30 * time.Second)
	for !logs.seen("Inserted RunOnStart jobs") {
		if time.Now().After(deadline) {
			t.Fatal("the periodic verification was not enqueued at start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := fleetJobs(t, db); n != 1 {
		t.Errorf("%d scheduled fleet jobs after a restart in the same interval, want 1", n)
	}
	if got := batches(flowAPIs(t, third)["grpc"]); len(got) != 1 {
		t.Errorf("%d scheduled batches after a restart in the same interval, want 1", len(got))
	}
	stopThird()

	// A short interval: a new batch at the start (a new interval) and
	// another each interval after.
	fourth, _ := startFlowDaemon(t, db, world, time.Second)
	api = flowAPIs(t, fourth)["grpc"]
	deadline = time.Now().Add(30 * time.Second)
	for len(batches(api)) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d scheduled batches 30s after a start with a 1s interval, want at least 3 in all", len(batches(api)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, b := range batches(api) {
		if md := metadata(t, b); md.GetCaller() != engine.ScheduleCaller || md.GetBatchProgress().GetTotal() != 2 {
			t.Errorf("batch %s: caller %q, %d tenants; want the scheduler's, over the 2 connected", b.GetName(), md.GetCaller(), md.GetBatchProgress().GetTotal())
		}
	}
}

// fleetJobs counts the scheduled verification's jobs in the SQLite file.
func fleetJobs(t *testing.T, db string) int {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+db+"?_pragma=query_only(1)&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'xdrlink.verify_fleet'`).Scan(&n); err != nil {
		t.Fatalf("count fleet jobs: %v", err)
	}
	return n
}

// logRecorder is a slog handler that keeps every message, at every level.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	l.msgs = append(l.msgs, r.Message)
	l.mu.Unlock()
	return nil
}

func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) seen(part string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.ContainsFunc(l.msgs, func(m string) bool { return strings.Contains(m, part) })
}
