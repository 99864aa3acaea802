package daemon

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"

	"github.com/xdrlink/xdrlink/store/storeopen"
)

// TestHealthFollowsStoreReadiness starts on an unmigrated store: health is
// NOT_SERVING over gRPC and /healthz answers 503. Once the store is migrated
// (as `xdrlinkd migrate` would), both turn healthy without a restart.
func TestHealthFollowsStoreReadiness(t *testing.T) {
	d := startDaemon(t, func(c *Config) { c.AutoMigrate = false })
	c := dial(t, d)
	ctx := t.Context()

	check := func() (healthpb.HealthCheckResponse_ServingStatus, int, string) {
		resp, err := c.Health.Check(ctx, &healthpb.HealthCheckRequest{Service: "xdrlink.v1.TenantService"})
		if err != nil {
			t.Fatal(err)
		}
		hr, err := http.Get("http://" + d.HTTPAddr() + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer hr.Body.Close()
		body, _ := io.ReadAll(hr.Body)
		return resp.GetStatus(), hr.StatusCode, string(body)
	}
	if st, code, body := check(); st != healthpb.HealthCheckResponse_NOT_SERVING || code != http.StatusServiceUnavailable {
		t.Fatalf("unmigrated store: gRPC %v, /healthz %d %s; want NOT_SERVING and 503", st, code, body)
	}

	if err := storeopen.Migrate(ctx, d.cfg.DB); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, code, body := check()
		if st == healthpb.HealthCheckResponse_SERVING && code == http.StatusOK && strings.Contains(body, "SERVING") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after migrating: gRPC %v, /healthz %d %s; want SERVING and 200", st, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShutdownReportsNotServing: a shut-down daemon's health server reports
// NOT_SERVING before the listeners close, so balancers drain it.
func TestShutdownReportsNotServing(t *testing.T) {
	cfg := Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB = t.TempDir() + "/x.db"
	cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", ""
	d, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Shutdown(); err != nil {
		t.Fatal(err)
	}
	resp, err := d.health.Check(context.Background(), &healthpb.HealthCheckRequest{})
	if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("after shutdown: %v, %v; want NOT_SERVING", resp, err)
	}
}

// TestDataSurvivesRestart: a tenant written before a shutdown is there,
// unchanged, after a new daemon opens the same file.
func TestDataSurvivesRestart(t *testing.T) {
	db := t.TempDir() + "/restart.db"
	cfg := Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.DB = "127.0.0.1:0", "127.0.0.1:0", db
	cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", ""
	first, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.New(first.GRPCAddr(), client.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	created, err := c.Tenants.CreateTenant(t.Context(), &xdrlinkv1.CreateTenantRequest{TenantId: "durable", Tenant: validTenant("Durable")})
	_ = c.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Shutdown(); err != nil {
		t.Fatal(err)
	}

	second := startDaemon(t, func(c *Config) { c.DB = db })
	got, err := dial(t, second).Tenants.GetTenant(t.Context(), &xdrlinkv1.GetTenantRequest{Name: "tenants/durable"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(created, got, protocmp.Transform()); diff != "" {
		t.Errorf("after restart (-before +after):\n%s", diff)
	}
}
