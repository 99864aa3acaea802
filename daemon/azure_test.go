package daemon

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/sealbox"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "azure.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const twoProfiles = `{
  "cloud": {"name": "public"},
  "credential_profiles": [
    {"name": "mssp", "kind": "client_secret", "client_id": "a0000000-0000-4000-8000-00000000000a", "client_secret_env": "MSSP_SECRET"},
    {"name": "mssp-cert", "kind": "certificate", "client_id": "a0000000-0000-4000-8000-00000000000a", "certificate_file": "/etc/xdrlink/app.pem"}
  ],
  "default_profile": "mssp"
}`

func TestLoadAzureConfig(t *testing.T) {
	cfg, err := LoadAzureConfig(writeConfig(t, twoProfiles))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DefaultProfile != "mssp" || len(cfg.Profiles) != 2 {
		t.Errorf("loaded %+v", cfg)
	}
	for name, body := range map[string]string{
		"unknown field":         strings.Replace(twoProfiles, `"default_profile"`, `"default_profil"`, 1),
		"inline secret":         strings.Replace(twoProfiles, `"client_secret_env": "MSSP_SECRET"`, `"client_secret": "hunter2"`, 1),
		"default not a profile": strings.Replace(twoProfiles, `"default_profile": "mssp"`, `"default_profile": "other"`, 1),
		"no profiles":           `{"cloud": {"name": "public"}, "credential_profiles": []}`,
		"not JSON":              `cloud: public`,
		"no default among two": strings.Replace(twoProfiles, `,
  "default_profile": "mssp"`, ``, 1),
	} {
		if _, err := LoadAzureConfig(writeConfig(t, body)); err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error repeats the secret: %v", name, err)
		}
	}
}

// TestTenantProfileMustBeConfigured: a tenant can only name a credential
// profile of the server's Azure config.
func TestTenantProfileMustBeConfigured(t *testing.T) {
	d := startDaemon(t, func(c *Config) {
		c.AzureConfigFile = writeConfig(t, twoProfiles)
		c.SecretKeyFile = writeConfig(t, sealbox.GenerateKey())
	})
	api := grpcAPI{c: dial(t, d).Tenants}
	tn := validTenant("Profiled")
	tn.CredentialProfile = "mssp-cert"
	if _, err := api.Create(t.Context(), &xdrlinkv1.CreateTenantRequest{TenantId: "profiled", Tenant: tn}); err != nil {
		t.Fatalf("configured profile refused: %v", err)
	}
	tn.CredentialProfile = "someone-else"
	_, err := api.Create(t.Context(), &xdrlinkv1.CreateTenantRequest{TenantId: "unprofiled", Tenant: tn})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "tenant.credential_profile") {
		t.Errorf("unknown profile: %v, want INVALID_ARGUMENT on tenant.credential_profile", err)
	}
}

// TestSandboxModeServesTheEmulator: without an Azure config the daemon runs
// the emulator, writes its CA, and the emulator answers over verified TLS.
func TestSandboxModeServesTheEmulator(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca", "sandbox.pem")
	d := startDaemon(t, func(c *Config) { c.SandboxCAOut = ca })
	if d.azure.sandbox == nil {
		t.Fatal("no sandbox emulator without an Azure config")
	}
	pem, err := os.ReadFile(ca)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("CA file holds no certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get(d.azure.sandbox.URL() + "/_sim/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("emulator health: %d", resp.StatusCode)
	}
	if got := d.azure.profileNames(); len(got) != 1 || got[0] != sandboxProfile {
		t.Errorf("sandbox profiles %v", got)
	}
}
