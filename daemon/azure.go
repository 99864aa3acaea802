package daemon

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azuresim"
	"github.com/xdrlink/xdrlink/internal/telemetry"
	"github.com/xdrlink/xdrlink/workflow/prereq"
	"github.com/xdrlink/xdrlink/workflow/steps"
)

// AzureConfig is the --azure-config file: which cloud, and the credential
// profiles tenants may name. Secrets are never in it, only where they live
// (an environment variable or a file); see credential.Profile.
type AzureConfig struct {
	Cloud    cloud.Setting        `json:"cloud"`
	Profiles []credential.Profile `json:"credential_profiles"`
	// DefaultProfile is used by tenants that name none; it must be one of Profiles.
	DefaultProfile string `json:"default_profile"`
}

// LoadAzureConfig reads and checks an AzureConfig file. Unknown fields are
// errors, so a misspelt key never silently drops a setting.
func LoadAzureConfig(path string) (*AzureConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cfg AzureConfig
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(cfg.Profiles) == 0 {
		return nil, fmt.Errorf("%s: no credential_profiles", path)
	}
	if cfg.DefaultProfile == "" && len(cfg.Profiles) == 1 {
		cfg.DefaultProfile = cfg.Profiles[0].Name
	}
	if !hasProfile(cfg.Profiles, cfg.DefaultProfile) {
		return nil, fmt.Errorf("%s: default_profile %q is not among credential_profiles", path, cfg.DefaultProfile)
	}
	return &cfg, nil
}

func hasProfile(ps []credential.Profile, name string) bool {
	for _, p := range ps {
		if p.Name == name {
			return true
		}
	}
	return false
}

// azureAccess is the process-wide Azure state the workflows use: one
// outbound pipeline state and one credential provider. In sandbox mode it
// also owns the embedded emulator.
type azureAccess struct {
	cfg       *AzureConfig
	endpoints cloud.Endpoints
	outbound  *outbound.Outbound
	creds     *credential.Provider
	sandbox   *azuresim.Sim
}

// sandboxProfile is the credential profile of sandbox mode: the generated
// world's multi-tenant app, consented in every emulated customer tenant.
const sandboxProfile = "sandbox"

// sandboxSecretEnv is where the sandbox profile's secret would come from; in
// sandbox mode the daemon answers it itself, so nothing needs setting.
const sandboxSecretEnv = "XDRLINK_SANDBOX_CLIENT_SECRET"

// newAzureAccess builds the Azure state from the config file, or, without
// one, starts azuresim on loopback with a generated world (sandbox mode) and
// points everything at it.
func newAzureAccess(cfg Config, log *slog.Logger, tel *telemetry.Telemetry) (*azureAccess, error) {
	a := &azureAccess{}
	getenv := os.Getenv
	var transport policy.Transporter // nil: azcore's default HTTP client
	if cfg.AzureConfigFile != "" {
		ac, err := LoadAzureConfig(cfg.AzureConfigFile)
		if err != nil {
			return nil, err
		}
		a.cfg = ac
	} else {
		// The demo world's named customers, unless a generated world of a
		// given size was asked for (load trials).
		world, customers := azuresim.DemoWorld()
		if cfg.SandboxTenants > 0 {
			world, customers = azuresim.GenerateWorld(cfg.SandboxTenants, 1), nil
		}
		if cfg.sandboxWorld != nil {
			world, customers = cfg.sandboxWorld()
		}
		sim, err := azuresim.Start(azuresim.Options{World: world, Customers: customers, Addr: cfg.SandboxAddr, Seed: 1})
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		a.sandbox = sim
		a.cfg = &AzureConfig{
			Cloud: cloud.Setting{Name: cloud.Custom, URL: sim.URL()},
			Profiles: []credential.Profile{{Name: sandboxProfile, Kind: credential.KindClientSecret,
				ClientID: world.Apps[0].ClientID, ClientSecretEnv: sandboxSecretEnv}},
			DefaultProfile: sandboxProfile,
		}
		getenv = func(k string) string {
			if k == sandboxSecretEnv {
				return azuresim.GeneratedAppSecret
			}
			return os.Getenv(k)
		}
		transport = sim.HTTPClient()
		if cfg.SandboxCAOut != "" {
			if err := writeFile(cfg.SandboxCAOut, sim.CACertPEM()); err != nil {
				return nil, a.closeWith(fmt.Errorf("sandbox CA: %w", err))
			}
		}
		log.Info("sandbox mode: Azure is the embedded emulator", "url", sim.URL(), "ca", cfg.SandboxCAOut,
			"tenants", len(world.Tenants), "customers", sim.URL()+"/_sim/customers")
	}
	endpoints, err := cloud.Resolve(a.cfg.Cloud)
	if err != nil {
		return nil, a.closeWith(err)
	}
	a.endpoints = endpoints
	if a.outbound, err = outbound.New(outbound.Config{Cloud: endpoints, Transport: transport, MaxConcurrent: cfg.AzureMaxConcurrent,
		TracerProvider: tel.TracerProvider, MeterProvider: tel.MeterProvider}); err != nil {
		return nil, a.closeWith(err)
	}
	a.creds, err = credential.NewProvider(credential.Options{
		Cloud:         endpoints,
		ClientOptions: a.outbound.TokenClientOptions(),
		Profiles:      a.cfg.Profiles,
		Getenv:        getenv,
	})
	if err != nil {
		return nil, a.closeWith(err)
	}
	return a, nil
}

func writeFile(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// prereqAccess is what the prerequisite checks build their clients from.
func (a *azureAccess) prereqAccess() prereq.Access {
	return prereq.Access{Endpoints: a.endpoints, Outbound: a.outbound, Credentials: a.creds}
}

// stepsAccess is what the workflow steps build their clients from.
func (a *azureAccess) stepsAccess() steps.Access {
	return steps.Access{Endpoints: a.endpoints, Outbound: a.outbound, Credentials: a.creds}
}

// profileNames are what Tenant.credential_profile may name.
func (a *azureAccess) profileNames() []string {
	names := make([]string, 0, len(a.cfg.Profiles))
	for _, p := range a.cfg.Profiles {
		names = append(names, p.Name)
	}
	return names
}

func (a *azureAccess) closeWith(err error) error {
	a.close()
	return err
}

func (a *azureAccess) close() {
	if a.sandbox != nil {
		_ = a.sandbox.Close()
	}
}
