package daemon

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store/storetest"
)

// BenchmarkTenantAPI measures CreateTenant and GetTenant through xdrlinkd
// over gRPC and over REST (the gateway dialing gRPC), on the embedded SQLite
// store, next to a bare grpc-go server (no interceptors, an in-memory map) as
// the floor. Run: go test -run '^$' -bench TenantAPI -benchtime 3s ./daemon/
func BenchmarkTenantAPI(b *testing.B) {
	d := startDaemon(b)
	xdr := dial(b, d).Tenants
	rest := newREST(d)
	rest.hc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	bare := dialBare(b)

	apis := []struct {
		name string
		api  tenantAPI
	}{
		{"bare-grpc", grpcAPI{c: bare}},
		{"xdrlinkd-grpc", grpcAPI{c: xdr}},
		{"xdrlinkd-rest", rest},
	}
	var seq atomic.Int64
	for _, a := range apis {
		ctx := context.Background()
		b.Run(a.name+"/CreateTenant", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprintf("bench-%d", seq.Add(1))
					if _, err := a.api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: validTenant(id)}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
		b.Run(a.name+"/GetTenant", func(b *testing.B) {
			id := fmt.Sprintf("bench-get-%d", seq.Add(1))
			if _, err := a.api.Create(ctx, &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: validTenant(id)}); err != nil {
				b.Fatal(err)
			}
			req := &xdrlinkv1.GetTenantRequest{Name: "tenants/" + id}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := a.api.Get(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkBatchCreateTenants measures BatchCreateTenants of 1,000 tenants
// through xdrlinkd over gRPC, next to the same 1,000 as CreateTenant calls
// one after the other, on SQLite and (when storetest.PostgresEnv is set)
// PostgreSQL. Run: go test -run '^$' -bench BatchCreateTenants ./daemon/
func BenchmarkBatchCreateTenants(b *testing.B) {
	const n = 1000
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			db := filepath.Join(b.TempDir(), "xdrlink.db")
			if backend == "postgres" {
				db = storetest.NewPostgresDatabase(b)
			}
			// 1,000 tenants are about 200 KB in protobuf, over the test
			// server's small limit.
			d := startDaemon(b, withDB(db), func(c *Config) { c.MaxBodyBytes = 4 << 20 })
			api := dial(b, d).Tenants
			ctx := context.Background()
			var seq atomic.Int64
			batch := func() *xdrlinkv1.BatchCreateTenantsRequest {
				req := &xdrlinkv1.BatchCreateTenantsRequest{Requests: make([]*xdrlinkv1.CreateTenantRequest, n)}
				for i := range req.Requests {
					id := fmt.Sprintf("bench-%d", seq.Add(1))
					req.Requests[i] = &xdrlinkv1.CreateTenantRequest{TenantId: id, Tenant: validTenant(id)}
				}
				return req
			}
			perTenant := func(b *testing.B) {
				ns := float64(b.Elapsed().Nanoseconds())
				b.ReportMetric(ns/1e6/float64(b.N), "ms/batch")
				b.ReportMetric(ns/1e3/float64(b.N*n), "µs/tenant")
			}
			b.Run("BatchCreateTenants", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					req := batch()
					b.StartTimer()
					if _, err := api.BatchCreateTenants(ctx, req); err != nil {
						b.Fatal(err)
					}
				}
				perTenant(b)
			})
			b.Run("CreateTenant-x1000", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					b.StopTimer()
					req := batch()
					b.StartTimer()
					for _, r := range req.GetRequests() {
						if _, err := api.CreateTenant(ctx, r); err != nil {
							b.Fatal(err)
						}
					}
				}
				perTenant(b)
			})
		})
	}
}

// bareTenants is the baseline: TenantService with nothing but a map.
type bareTenants struct {
	xdrlinkv1.UnimplementedTenantServiceServer
	mu sync.RWMutex
	m  map[string]*xdrlinkv1.Tenant
}

func (s *bareTenants) CreateTenant(_ context.Context, r *xdrlinkv1.CreateTenantRequest) (*xdrlinkv1.Tenant, error) {
	t := proto.Clone(r.GetTenant()).(*xdrlinkv1.Tenant)
	t.Name = "tenants/" + r.GetTenantId()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[t.Name]; ok {
		return nil, status.Error(codes.AlreadyExists, t.Name)
	}
	s.m[t.Name] = t
	return t, nil
}

func (s *bareTenants) GetTenant(_ context.Context, r *xdrlinkv1.GetTenantRequest) (*xdrlinkv1.Tenant, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if t, ok := s.m[r.GetName()]; ok {
		return t, nil
	}
	return nil, status.Error(codes.NotFound, r.GetName())
}

func dialBare(b *testing.B) xdrlinkv1.TenantServiceClient {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer()
	xdrlinkv1.RegisterTenantServiceServer(srv, &bareTenants{m: map[string]*xdrlinkv1.Tenant{}})
	go func() { _ = srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close(); srv.Stop() })
	return xdrlinkv1.NewTenantServiceClient(conn)
}
