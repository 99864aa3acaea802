package daemon

import (
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// TestAuthNetworkExposure: the rule of checkNetworkExposure over its
// inputs. Off loopback, --auth=none is refused, and so is sandbox mode
// even with --auth=required (its Azure is an emulator with demo secrets);
// --allow-unauthenticated-network lets either start with a warning; real
// Azure with --auth=required may listen anywhere, silently.
func TestAuthNetworkExposure(t *testing.T) {
	const real = "azure.yaml" // only its being set matters to the rule
	for _, tc := range []struct {
		name                    string
		auth, azure             string
		grpc, http, sandboxAddr string
		allow                   bool
		// refused lists what the error must say; warned, the warning.
		refused, warned []string
	}{
		{name: "sandbox auth none loopback", auth: AuthNone},
		{name: "sandbox auth required loopback", auth: AuthRequired},
		{name: "sandbox auth none network", auth: AuthNone, grpc: "0.0.0.0:0",
			refused: []string{"--grpc-addr 0.0.0.0:0", "no authentication", "sandbox mode", "--allow-unauthenticated-network"}},
		{name: "sandbox auth required network", auth: AuthRequired, grpc: "0.0.0.0:0",
			refused: []string{"--grpc-addr 0.0.0.0:0", "sandbox mode", "--allow-unauthenticated-network"}},
		{name: "sandbox auth required emulator on network", auth: AuthRequired, sandboxAddr: "[::]:0",
			refused: []string{"--sandbox-addr [::]:0", "sandbox mode"}},
		{name: "sandbox auth required network allowed", auth: AuthRequired, http: ":0", allow: true,
			warned: []string{"sandbox mode"}},
		{name: "real azure auth none network", auth: AuthNone, azure: real, http: ":0",
			refused: []string{"--http-addr :0", "no authentication"}},
		{name: "real azure auth none network allowed", auth: AuthNone, azure: real, grpc: "10.0.0.5:0", allow: true,
			warned: []string{"no authentication"}},
		{name: "real azure auth required network", auth: AuthRequired, azure: real, grpc: "0.0.0.0:0", http: ":0"},
		{name: "real azure ignores the sandbox address", auth: AuthNone, azure: real, sandboxAddr: "0.0.0.0:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Auth, cfg.AzureConfigFile, cfg.AllowUnauthenticatedNetwork = tc.auth, tc.azure, tc.allow
			for _, a := range []struct {
				dst *string
				v   string
			}{{&cfg.GRPCAddr, tc.grpc}, {&cfg.HTTPAddr, tc.http}, {&cfg.SandboxAddr, tc.sandboxAddr}} {
				if a.v != "" {
					*a.dst = a.v
				}
			}
			var logs syncbuf.Buffer
			d := &Daemon{cfg: cfg, log: slog.New(slog.NewJSONHandler(&logs, nil))}
			err := d.checkNetworkExposure()
			if len(tc.refused) == 0 && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if len(tc.refused) > 0 && err == nil {
				t.Fatal("not refused")
			}
			for _, want := range tc.refused {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if err != nil && tc.auth == AuthRequired && strings.Contains(err.Error(), "no authentication") {
				t.Errorf("error %q blames authentication, which is on", err)
			}
			if err != nil && tc.azure != "" && strings.Contains(err.Error(), "sandbox") {
				t.Errorf("error %q blames the sandbox with real Azure", err)
			}
			warned := strings.Contains(logs.String(), `"level":"WARN"`)
			if warned != (len(tc.warned) > 0) {
				t.Errorf("warned %v, want %v: %s", warned, len(tc.warned) > 0, logs.String())
			}
			for _, want := range tc.warned {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("warning does not say %q: %s", want, logs.String())
				}
			}
		})
	}

	// Through Start: the sandbox with authentication on is refused off
	// loopback before the store is opened.
	cfg := testConfig(t)
	cfg.Auth, cfg.GRPCAddr = AuthRequired, "0.0.0.0:0"
	d, err := Start(t.Context(), cfg)
	if err == nil {
		_ = d.Shutdown()
		t.Fatal("sandbox with --auth=required started on 0.0.0.0")
	}
	if !strings.Contains(err.Error(), "sandbox mode") || strings.Contains(err.Error(), "no authentication") {
		t.Errorf("error %q", err)
	}
	if _, statErr := os.Stat(cfg.DB); statErr == nil {
		t.Error("the store was opened before the refusal")
	}
}
