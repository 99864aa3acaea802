package daemon

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store/storetest"
)

// testMaxBody is small so the oversize cases stay cheap.
const testMaxBody = 64 << 10

// startDaemon runs a real xdrlinkd on loopback ports with a fresh SQLite
// file, and stops it when the test ends.
func startDaemon(t testing.TB, mutate ...func(*Config)) *Daemon {
	t.Helper()
	cfg := Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "xdrlink.db")
	cfg.MaxBodyBytes = testMaxBody
	cfg.ReadinessInterval = 50 * time.Millisecond
	cfg.VerifyInterval = 0 // tests count the operations they start; scheduling is tested on its own
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", ""
	cfg.SandboxSecretKey = filepath.Join(t.TempDir(), "secret.key")
	cfg.SandboxRegister = false
	cfg.RateLimit = 0 // tests with --auth=required call fast with one key; limits are tested on their own
	for _, m := range mutate {
		m(&cfg)
	}
	d, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start daemon: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return d
}

func dial(t testing.TB, d *Daemon) *client.Client {
	t.Helper()
	c, err := client.New(d.GRPCAddr(), client.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// tenantAPI is TenantService as a test sees it, so one test body runs over
// gRPC and over REST alike.
type tenantAPI interface {
	Create(ctx context.Context, r *xdrlinkv1.CreateTenantRequest) (*xdrlinkv1.Tenant, error)
	BatchCreate(ctx context.Context, r *xdrlinkv1.BatchCreateTenantsRequest) (*xdrlinkv1.BatchCreateTenantsResponse, error)
	Get(ctx context.Context, r *xdrlinkv1.GetTenantRequest) (*xdrlinkv1.Tenant, error)
	List(ctx context.Context, r *xdrlinkv1.ListTenantsRequest) (*xdrlinkv1.ListTenantsResponse, error)
	Update(ctx context.Context, r *xdrlinkv1.UpdateTenantRequest) (*xdrlinkv1.Tenant, error)
	Delete(ctx context.Context, r *xdrlinkv1.DeleteTenantRequest) error
}

type grpcAPI struct{ c xdrlinkv1.TenantServiceClient }

func (a grpcAPI) Create(ctx context.Context, r *xdrlinkv1.CreateTenantRequest) (*xdrlinkv1.Tenant, error) {
	return a.c.CreateTenant(ctx, r)
}

func (a grpcAPI) BatchCreate(ctx context.Context, r *xdrlinkv1.BatchCreateTenantsRequest) (*xdrlinkv1.BatchCreateTenantsResponse, error) {
	return a.c.BatchCreateTenants(ctx, r)
}

func (a grpcAPI) Get(ctx context.Context, r *xdrlinkv1.GetTenantRequest) (*xdrlinkv1.Tenant, error) {
	return a.c.GetTenant(ctx, r)
}

func (a grpcAPI) List(ctx context.Context, r *xdrlinkv1.ListTenantsRequest) (*xdrlinkv1.ListTenantsResponse, error) {
	return a.c.ListTenants(ctx, r)
}

func (a grpcAPI) Update(ctx context.Context, r *xdrlinkv1.UpdateTenantRequest) (*xdrlinkv1.Tenant, error) {
	return a.c.UpdateTenant(ctx, r)
}

func (a grpcAPI) Delete(ctx context.Context, r *xdrlinkv1.DeleteTenantRequest) error {
	_, err := a.c.DeleteTenant(ctx, r)
	return err
}

// restAPI calls the REST paths of the API (proto http rules) with net/http and JSON.
type restAPI struct {
	base string
	hc   *http.Client
}

func newREST(d *Daemon) restAPI {
	return restAPI{base: "http://" + d.HTTPAddr(), hc: &http.Client{Timeout: 10 * time.Second}}
}

func (a restAPI) Create(ctx context.Context, r *xdrlinkv1.CreateTenantRequest) (*xdrlinkv1.Tenant, error) {
	out := &xdrlinkv1.Tenant{}
	q := url.Values{"tenant_id": {r.GetTenantId()}}
	return out, a.call(ctx, http.MethodPost, "/v1/tenants?"+q.Encode(), jsonBody(r.GetTenant()), out)
}

func (a restAPI) BatchCreate(ctx context.Context, r *xdrlinkv1.BatchCreateTenantsRequest) (*xdrlinkv1.BatchCreateTenantsResponse, error) {
	out := &xdrlinkv1.BatchCreateTenantsResponse{}
	return out, a.call(ctx, http.MethodPost, "/v1/tenants:batchCreate", jsonBody(r), out)
}

func (a restAPI) Get(ctx context.Context, r *xdrlinkv1.GetTenantRequest) (*xdrlinkv1.Tenant, error) {
	out := &xdrlinkv1.Tenant{}
	return out, a.call(ctx, http.MethodGet, "/v1/"+r.GetName(), "", out)
}

func (a restAPI) List(ctx context.Context, r *xdrlinkv1.ListTenantsRequest) (*xdrlinkv1.ListTenantsResponse, error) {
	q := url.Values{}
	if r.GetPageSize() != 0 {
		q.Set("page_size", fmt.Sprint(r.GetPageSize()))
	}
	if r.GetPageToken() != "" {
		q.Set("page_token", r.GetPageToken())
	}
	if r.GetFilter() != "" {
		q.Set("filter", r.GetFilter())
	}
	out := &xdrlinkv1.ListTenantsResponse{}
	return out, a.call(ctx, http.MethodGet, "/v1/tenants?"+q.Encode(), "", out)
}

func (a restAPI) Update(ctx context.Context, r *xdrlinkv1.UpdateTenantRequest) (*xdrlinkv1.Tenant, error) {
	path := "/v1/" + r.GetTenant().GetName()
	if m := r.GetUpdateMask(); m != nil {
		path += "?" + url.Values{"update_mask": {strings.Join(m.GetPaths(), ",")}}.Encode()
	}
	out := &xdrlinkv1.Tenant{}
	return out, a.call(ctx, http.MethodPatch, path, jsonBody(r.GetTenant()), out)
}

func (a restAPI) Delete(ctx context.Context, r *xdrlinkv1.DeleteTenantRequest) error {
	path := "/v1/" + r.GetName()
	if r.GetEtag() != "" {
		path += "?" + url.Values{"etag": {r.GetEtag()}}.Encode()
	}
	return a.call(ctx, http.MethodDelete, path, "", &emptypb.Empty{})
}

func jsonBody(m proto.Message) string {
	b, err := protojson.Marshal(m)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// restError is a REST failure: the HTTP status and the google.rpc.Status
// body, which it exposes as a gRPC status so assertions are shared.
type restError struct {
	httpStatus int
	st         *status.Status
}

func (e *restError) Error() string              { return fmt.Sprintf("HTTP %d: %v", e.httpStatus, e.st.Message()) }
func (e *restError) GRPCStatus() *status.Status { return e.st }

func (a restAPI) call(ctx context.Context, method, path, body string, out proto.Message) error {
	resp, err := a.raw(ctx, method, path, body)
	if err != nil {
		return err
	}
	return decodeREST(resp, out)
}

func (a restAPI) raw(ctx context.Context, method, path, body string) (*http.Response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return a.hc.Do(req)
}

// decodeREST reads a success body into out, or an error body into a
// *restError. A non-JSON error body is itself a failure of the API.
func decodeREST(resp *http.Response, out proto.Message) error {
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode/100 == 2 {
		return protojson.Unmarshal(b, out)
	}
	st := &spb.Status{}
	if err := protojson.Unmarshal(b, st); err != nil {
		return fmt.Errorf("HTTP %d with a body that is not a google.rpc.Status (%v): %s", resp.StatusCode, err, bytes.TrimSpace(b))
	}
	return &restError{httpStatus: resp.StatusCode, st: status.FromProto(st)}
}

// createRequest creates a valid tenant with the given id.
func createRequest(id string) *xdrlinkv1.CreateTenantRequest {
	return &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: validTenant("Tenant " + id)}
}

// validTenant returns a complete tenant to create.
func validTenant(display string) *xdrlinkv1.Tenant {
	return &xdrlinkv1.Tenant{
		DisplayName:   display,
		EntraTenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
		Workspace: &xdrlinkv1.Workspace{
			SubscriptionId: "3b1f5e2a-7c4d-4e8f-9a0b-1c2d3e4f5a6b",
			ResourceGroup:  "rg-sentinel",
			Name:           "ws-" + strings.ToLower(strings.ReplaceAll(display, " ", "-")),
			Region:         "westeurope",
		},
		Labels: map[string]string{"tier": "gold"},
	}
}

// backends runs f on each store backend: SQLite always, PostgreSQL when
// storetest.PostgresEnv names a server (CI sets it).
func backends(t *testing.T, f func(t *testing.T, db string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, filepath.Join(t.TempDir(), "xdrlink.db")) })
	t.Run("postgres", func(t *testing.T) { f(t, storetest.NewPostgresDatabase(t)) })
}

func withDB(db string) func(*Config) { return func(c *Config) { c.DB = db } }

// transports runs f once per transport, as subtests "grpc" and "rest".
func transports(t *testing.T, d *Daemon, f func(t *testing.T, api tenantAPI)) {
	t.Run("grpc", func(t *testing.T) { f(t, grpcAPI{c: dial(t, d).Tenants}) })
	t.Run("rest", func(t *testing.T) { f(t, newREST(d)) })
}
