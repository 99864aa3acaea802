package simtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azuresim"
)

// Fixture ids of azuresim/testdata/world.json.
const (
	AppID     = "a0000000-0000-4000-8000-00000000000a"
	AppSecret = "xdrlink-secret"
	// SecretEnv is the environment variable the test profile reads the secret from.
	SecretEnv = "XDRLINK_TEST_CLIENT_SECRET"
	// Profile is the client-secret profile name.
	Profile = "mssp"

	ContosoTenant     = "20000000-0000-4000-8000-000000000000"
	ContosoSub        = "20000000-0000-4000-8000-0000000000c1"
	ContosoRG         = "rg-sentinel"
	ContosoWS         = "ws-contoso"
	ContosoAdmin      = "secadmin@contoso.onmicrosoft.com"
	ContosoGuest      = "partner_mssp.example#EXT#@contoso.onmicrosoft.com"
	ContosoAnalyst    = "analyst@contoso.onmicrosoft.com"
	ContosoCustomerID = "20000000-0000-4000-8000-0000000000d1"
	// Object ids of ContosoAdmin, ContosoAnalyst and the MSSP app's service principal.
	ContosoAdminID   = "20000000-0000-4000-8000-0000000000a1"
	ContosoAnalystID = "20000000-0000-4000-8000-0000000000a2"
	ContosoAppSPID   = "20000000-0000-4000-8000-0000000000b1"

	FabrikamTenant = "30000000-0000-4000-8000-000000000000"
	FabrikamSub    = "30000000-0000-4000-8000-0000000000c1"
	FabrikamRG     = "rg-soc"
	FabrikamWS     = "ws-fabrikam"
	FabrikamAdmin  = "admin@fabrikam.onmicrosoft.com"

	NorthwindTenant = "40000000-0000-4000-8000-000000000000"
	NorthwindSub    = "40000000-0000-4000-8000-0000000000c1"
	NorthwindRG     = "rg-sec"
	NorthwindWS     = "ws-northwind"
)

// Workspaces of the fixture tenants.
var (
	Contoso   = armclient.Workspace{SubscriptionID: ContosoSub, ResourceGroup: ContosoRG, Name: ContosoWS}
	Fabrikam  = armclient.Workspace{SubscriptionID: FabrikamSub, ResourceGroup: FabrikamRG, Name: FabrikamWS}
	Northwind = armclient.Workspace{SubscriptionID: NorthwindSub, ResourceGroup: NorthwindRG, Name: NorthwindWS}
)

// Config adjusts an Env before it starts.
type Config struct {
	Sim azuresim.Options
	// EditWorld changes the world (the example world unless Sim.World is set) before the sim
	// starts.
	EditWorld func(*azuresim.World)
	// Outbound mutates the outbound config (retry timings, providers...).
	Outbound func(*outbound.Config)
	// Profiles replaces the default client-secret profile.
	Profiles []credential.Profile
	// Env are extra variables the credential provider sees.
	Env map[string]string
}

// Env is a running sim plus the production wiring pointed at it.
type Env struct {
	Sim      *azuresim.Sim
	Cloud    cloud.Endpoints
	Outbound *outbound.Outbound
	Creds    *credential.Provider
	Recorder *Recorder
}

// WorldFile is the path of azuresim's example world.
func WorldFile() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "azuresim", "testdata", "world.json")
}

// Start starts a sim with the example world (unless cfg.Sim.World is set) and wires the
// azure/... packages to it. Everything is closed by t.Cleanup.
func Start(t testing.TB, cfg Config) *Env {
	t.Helper()
	opts := cfg.Sim
	if opts.World == nil {
		w, err := azuresim.LoadWorldFile(WorldFile())
		if err != nil {
			t.Fatal(err)
		}
		opts.World = w
	}
	if cfg.EditWorld != nil {
		cfg.EditWorld(opts.World)
	}
	s, err := azuresim.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })

	endpoints, err := cloud.Resolve(cloud.Setting{Name: cloud.Custom, URL: s.URL()})
	if err != nil {
		t.Fatal(err)
	}
	rec := &Recorder{next: s.HTTPClient()}
	ocfg := outbound.Config{
		Cloud:     endpoints,
		Transport: rec,
		Retry:     outbound.DefaultRetryOptions(),
	}
	// Short exponential delays keep 5xx retries quick; Retry-After still rules 429s.
	ocfg.Retry.RetryDelay = 20 * time.Millisecond
	ocfg.Retry.MaxRetryDelay = 10 * time.Second
	if cfg.Outbound != nil {
		cfg.Outbound(&ocfg)
	}
	ob, err := outbound.New(ocfg)
	if err != nil {
		t.Fatal(err)
	}
	profiles := cfg.Profiles
	if profiles == nil {
		profiles = []credential.Profile{{Name: Profile, Kind: credential.KindClientSecret, ClientID: AppID, ClientSecretEnv: SecretEnv}}
	}
	env := map[string]string{SecretEnv: AppSecret}
	for k, v := range cfg.Env {
		env[k] = v
	}
	creds, err := credential.NewProvider(credential.Options{
		Cloud:         endpoints,
		ClientOptions: ob.TokenClientOptions(),
		Profiles:      profiles,
		Getenv:        func(k string) string { return env[k] },
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Sim: s, Cloud: endpoints, Outbound: ob, Creds: creds, Recorder: rec}
}

// ARM returns an ARM client for the tenant and subscription, authenticated as the MSSP app.
func (e *Env) ARM(t testing.TB, tenant, subscription string) *armclient.Client {
	t.Helper()
	return e.ARMAs(t, App(tenant), subscription)
}

// ARMAs returns an ARM client for the subscription that signs in as: the MSSP app or a user
// of as.Tenant (the ARM counterpart of NewClient).
func (e *Env) ARMAs(t testing.TB, as Principal, subscription string) *armclient.Client {
	t.Helper()
	return e.ARMWith(t, e.Credential(t, as), as.Tenant, subscription)
}

// AppCredential is the MSSP app's credential for the tenant, from the credential provider
// (cached per tenant, like in production: Creds.Forget(Profile) drops it).
func (e *Env) AppCredential(t testing.TB, tenant string) *credential.Credential {
	t.Helper()
	cred, err := e.Creds.Get(Profile, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// ARMWith returns an ARM client that authenticates with cred.
func (e *Env) ARMWith(t testing.TB, cred azcore.TokenCredential, tenant, subscription string) *armclient.Client {
	t.Helper()
	c, err := armclient.New(cred, e.Outbound.ARMClientOptions(tenant, subscription))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Exchange is one recorded HTTP exchange.
type Exchange struct {
	Method        string
	URL           string
	Path          string
	Query         string
	Authorization string
	Accept        string
	RequestBody   []byte
	Status        int
	ResponseBody  []byte
	At            time.Time
}

// Recorder is a policy.Transporter that records every exchange (bodies included) and
// forwards it to the next transport (the sim's client, or the Env's recorder).
type Recorder struct {
	next policy.Transporter
	mu   sync.Mutex
	log  []Exchange
}

// Do implements policy.Transporter.
func (r *Recorder) Do(req *http.Request) (*http.Response, error) {
	ex := Exchange{Method: req.Method, URL: req.URL.String(), Path: req.URL.Path, Query: req.URL.RawQuery,
		Authorization: req.Header.Get("Authorization"), Accept: req.Header.Get("Accept"), At: time.Now()}
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		_ = req.Body.Close()
		ex.RequestBody = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := r.next.Do(req)
	if err == nil {
		b, rerr := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if rerr != nil {
			return nil, rerr
		}
		ex.Status = resp.StatusCode
		ex.ResponseBody = b
	}
	r.mu.Lock()
	r.log = append(r.log, ex)
	r.mu.Unlock()
	return resp, err
}

// Exchanges returns a copy of everything recorded so far.
func (r *Recorder) Exchanges() []Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Exchange(nil), r.log...)
}

// Reset forgets the recorded exchanges.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.log = nil
	r.mu.Unlock()
}

// Find returns the recorded exchanges with the method whose path contains pathPart
// (case-insensitive).
func (r *Recorder) Find(method, pathPart string) []Exchange {
	var out []Exchange
	for _, e := range r.Exchanges() {
		if e.Method == method && strings.Contains(strings.ToLower(e.Path), strings.ToLower(pathPart)) {
			out = append(out, e)
		}
	}
	return out
}

// Latest is the last exchange recorded, or fails the test.
func (r *Recorder) Latest(t testing.TB) Exchange {
	t.Helper()
	all := r.Exchanges()
	if len(all) == 0 {
		t.Fatal("no request was sent")
	}
	return all[len(all)-1]
}

// Last is the last of Find, or fails the test.
func (r *Recorder) Last(t testing.TB, method, pathPart string) Exchange {
	t.Helper()
	all := r.Find(method, pathPart)
	if len(all) == 0 {
		t.Fatalf("no %s request to a path containing %q was sent", method, pathPart)
	}
	return all[len(all)-1]
}

// UserCredential is a real azidentity device-code credential for a user of the tenant; the
// prompt approves the code in the sim as upn (a person completing the sign-in).
func (e *Env) UserCredential(t testing.TB, tenant, upn string) *credential.DeviceCodeCredential {
	t.Helper()
	dc, err := e.Creds.DeviceCode(Profile, tenant, credential.DeviceCodeOptions{
		Prompt: func(_ context.Context, p credential.DeviceCodePrompt) error {
			return e.Sim.ApproveDeviceCode(p.UserCode, upn)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return dc
}

// JSONEqual fails the test unless got and want hold the same JSON value.
func JSONEqual(t testing.TB, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("body mismatch\n got: %s\nwant: %s", got, want)
	}
}

// Bearer reports whether the request carried a bearer token.
func (x Exchange) Bearer() bool {
	return strings.HasPrefix(x.Authorization, "Bearer ") && len(x.Authorization) > len("Bearer ")
}

// APIVersion is the api-version query value of a recorded exchange.
func (x Exchange) APIVersion() string {
	q, _ := url.ParseQuery(x.Query)
	return q.Get("api-version")
}
