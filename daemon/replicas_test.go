package daemon

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/store/storetest"
)

// TestReplicasShareARMLimits: replicas on one database each keep 1/n of
// ARM's buckets, so that together they stay under the buckets ARM keeps
// for their one app; when a replica stops, the others take its share back.
func TestReplicasShareARMLimits(t *testing.T) {
	db := storetest.NewPostgresDatabase(t)
	beat := func(c *Config) { c.DB, c.ReplicaHeartbeat = db, 100*time.Millisecond }
	a := startDaemon(t, beat)
	whole := waitLimits(t, a, func(l outbound.ARMLimits) bool { return true })
	cfg := Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.SandboxSecretKey, cfg.SandboxRegister = t.TempDir()+"/secret.key", false
	cfg.ReadinessInterval, cfg.Logger = 50*time.Millisecond, slog.New(slog.DiscardHandler)
	beat(&cfg)
	b, err := Start(context.Background(), cfg) // stopped by the test, not at cleanup
	if err != nil {
		t.Fatal(err)
	}
	half := func(l outbound.ARMLimits) bool {
		return l.Write.Burst == whole.Write.Burst/2 && l.Read.RefillPerSecond == whole.Read.RefillPerSecond/2
	}
	waitLimits(t, a, half)
	waitLimits(t, b, half)
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	waitLimits(t, a, func(l outbound.ARMLimits) bool { return l == whole })
}

// waitLimits waits (up to 10 s) until d's ARM limits satisfy ok, and
// returns them.
func waitLimits(t *testing.T, d *Daemon, ok func(outbound.ARMLimits) bool) outbound.ARMLimits {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l := d.azure.outbound.ARMLimits()
		d.engineMu.Lock()
		running := d.engineState == 1
		d.engineMu.Unlock()
		if running && ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("ARM limits %+v did not reach the expected share", l)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
