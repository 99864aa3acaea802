package daemon

import (
	"strings"
	"testing"
)

// TestDSNPasswordNeverShown: the DSN the daemon logs, and the error of a
// store that cannot be opened, hide the password in both DSN forms; a
// key=value DSN is tried as PostgreSQL.
func TestDSNPasswordNeverShown(t *testing.T) {
	for _, dsn := range []string{
		"host=127.0.0.1 port=1 user=xdrlink password=hunter2-secret dbname=xdrlink connect_timeout=1",
		"postgres://xdrlink:hunter2-secret@127.0.0.1:1/xdrlink?connect_timeout=1",
	} {
		if got := redactDSN(dsn); strings.Contains(got, "hunter2") || !strings.Contains(got, "xxxxx") {
			t.Errorf("redactDSN(%q) = %q", dsn, got)
		}
		cfg := Defaults()
		cfg.DB = dsn
		cfg.GRPCAddr, cfg.HTTPAddr, cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", ""
		d, err := Start(t.Context(), cfg)
		if err == nil {
			_ = d.Shutdown()
			t.Fatalf("Start with %q: no error", dsn)
		}
		if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "postgres") {
			t.Errorf("Start with %q: %v; want a postgres error without the password", dsn, err)
		}
	}
}
