package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xdrlink/xdrlink/internal/sealbox"
	"github.com/xdrlink/xdrlink/workflow/engine"
)

// newEngine builds the workflow engine on the store's database.
func (d *Daemon) newEngine() (*engine.Engine, error) {
	box, err := d.secretBox()
	if err != nil {
		return nil, err
	}
	access := d.azure.stepsAccess()
	access.DeploymentPollFrequency = d.cfg.DeploymentPollInterval
	access.Thresholds = d.cfg.Thresholds
	return engine.New(engine.Config{
		Store:             d.store,
		Access:            access,
		SignIn:            d.azure.creds,
		Box:               box,
		DefaultProfile:    d.azure.cfg.DefaultProfile,
		Logger:            d.log,
		Workers:           d.cfg.Workers,
		BatchConcurrency:  d.cfg.BatchConcurrency,
		StepTimeout:       d.cfg.StepTimeout,
		FetchPollInterval: d.cfg.JobPollInterval,
		VerifyInterval:    d.cfg.VerifyInterval,
		VerificationsKept: d.cfg.VerificationsKept,
		TracerProvider:    d.tel.TracerProvider,
		MeterProvider:     d.tel.MeterProvider,
	})
}

// secretBox loads the key that seals secrets at rest. Against real Azure
// it must be configured (a key made up here would be lost with the
// container, and with it every pending sign-in); the sandbox makes one.
func (d *Daemon) secretBox() (*sealbox.Box, error) {
	key, err := secretKey(d.cfg, d.azure.sandbox != nil)
	if err != nil {
		return nil, err
	}
	return sealbox.New(key)
}

// secretKey reads the key of --secret-key-file, or in sandbox mode the
// sandbox's (created on first start).
func secretKey(cfg Config, sandbox bool) ([]byte, error) {
	path := cfg.SecretKeyFile
	if path == "" && !sandbox {
		return nil, errors.New("--secret-key-file is required with --azure-config: a file holding 32 random bytes, base64 (e.g. `head -c 32 /dev/urandom | base64 > key`)")
	}
	if path == "" {
		path = cfg.SandboxSecretKey
		if err := createKeyFile(path); err != nil {
			return nil, fmt.Errorf("sandbox secret key: %w", err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret key: %w", err)
	}
	key, err := sealbox.ParseKey(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("secret key %s: %w", path, err)
	}
	return key, nil
}

// createKeyFile writes a new key to path unless the file exists.
func createKeyFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = f.WriteString(sealbox.GenerateKey() + "\n")
	return errors.Join(err, f.Close())
}

// startWorkflows registers the sandbox's customers (first start only) and
// starts the engine; the store must be migrated.
func (d *Daemon) startWorkflows(ctx context.Context) error {
	d.engineMu.Lock()
	defer d.engineMu.Unlock()
	if d.engineState != 0 {
		return nil
	}
	if d.azure.sandbox != nil && d.cfg.SandboxRegister {
		n, err := registerSandboxCustomers(ctx, d.store, d.azure.sandbox.Customers())
		if err != nil {
			return fmt.Errorf("sandbox: %w", err)
		}
		if n > 0 {
			d.log.Info("sandbox mode: registered the emulator's customer tenants", "tenants", n, "label", "sandbox=true")
		}
	}
	if err := d.engine.Start(ctx); err != nil {
		return fmt.Errorf("start workflow engine: %w", err)
	}
	d.engineState = 1
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	d.replicasDone = make(chan struct{})
	d.stopReplicas = cancel
	go func() {
		defer close(d.replicasDone)
		d.shareARMLimits(rctx)
	}()
	return nil
}

// startWorkflowsWhenReady waits for the store's migrations (applied by a
// separate `xdrlinkd migrate`), then starts the workflows.
func (d *Daemon) startWorkflowsWhenReady(ctx context.Context) {
	t := time.NewTicker(d.cfg.ReadinessInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if d.store.Ready(ctx) != nil {
			continue
		}
		if err := d.startWorkflows(ctx); err != nil {
			d.log.Error("workflows not started", "error", err)
		}
		return
	}
}

// stopWorkflows stops the engine if it runs, and keeps it from starting.
func (d *Daemon) stopWorkflows(ctx context.Context) error {
	d.engineMu.Lock()
	defer d.engineMu.Unlock()
	running := d.engineState == 1
	d.engineState = 2
	if !running {
		return nil
	}
	d.stopReplicas()
	<-d.replicasDone
	return d.engine.Stop(ctx)
}
