package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/daemon"
)

// writeTestCert writes a self-signed certificate for the name xdrlink.test
// only (not the address the probe dials) and its key, as PEM files.
func writeTestCert(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "xdrlink.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"xdrlink.test"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// runHealth runs `xdrlinkd health` with args.
func runHealth(t *testing.T, args ...string) error {
	t.Helper()
	root := newRootCommand()
	root.SetArgs(append([]string{"health", "--log-format", "text"}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return root.ExecuteContext(ctx)
}

// TestHealthTLS: `xdrlinkd health` probes a TLS server when given the
// server's certificate file (--tls-cert-file, also taken from
// XDRLINK_TLS_CERT_FILE as serve takes it: the certificate is pinned, so
// dialing 127.0.0.1 works although the certificate names another host) or
// a CA (--tls-ca-file, with --tls-server-name when the dialed address is
// not the certificate's name). Plaintext, another certificate, or a name
// the certificate does not carry fail.
func TestHealthTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir, "server")
	otherCert, _ := writeTestCert(t, dir, "other")
	cfg := daemon.Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr, cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", ""
	cfg.DB, cfg.SandboxSecretKey = filepath.Join(dir, "xdrlink.db"), filepath.Join(dir, "secret.key")
	cfg.SandboxRegister, cfg.VerifyInterval, cfg.ReadinessInterval = false, 0, 50*time.Millisecond
	cfg.TLSCertFile, cfg.TLSKeyFile = certFile, keyFile
	cfg.Logger = slog.New(slog.DiscardHandler)
	d, err := daemon.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Shutdown() })
	addr := d.GRPCAddr()

	// Pinned: the first probe may come before the store's readiness.
	deadline := time.Now().Add(20 * time.Second)
	for err = runHealth(t, "--grpc-addr", addr, "--tls-cert-file", certFile); err != nil; err = runHealth(t, "--grpc-addr", addr, "--tls-cert-file", certFile) {
		if time.Now().After(deadline) {
			t.Fatalf("health --tls-cert-file: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := runHealth(t, "--grpc-addr", addr, "--tls-ca-file", certFile, "--tls-server-name", "xdrlink.test"); err != nil {
		t.Errorf("health --tls-ca-file --tls-server-name: %v", err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plaintext", nil},
		{"another pinned certificate", []string{"--tls-cert-file", otherCert}},
		{"CA without the certificate's name", []string{"--tls-ca-file", certFile}},
		{"another CA", []string{"--tls-ca-file", otherCert, "--tls-server-name", "xdrlink.test"}},
	} {
		if err := runHealth(t, append([]string{"--grpc-addr", addr, "--timeout", "2s"}, tc.args...)...); err == nil {
			t.Errorf("health, %s: succeeded against a TLS server it should not accept", tc.name)
		}
	}
	if err := runHealth(t, "--tls-cert-file", certFile, "--tls-ca-file", certFile); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("health with both --tls-cert-file and --tls-ca-file: %v, want a refusal", err)
	}

	// The container's way: the same environment variable as serve's flag.
	t.Setenv("XDRLINK_TLS_CERT_FILE", certFile)
	if err := runHealth(t, "--grpc-addr", addr); err != nil {
		t.Errorf("health with XDRLINK_TLS_CERT_FILE: %v", err)
	}
}

// TestServeRefusesNetworkWithoutFlag: serve on a non-loopback address
// fails, naming the address and --allow-unauthenticated-network; with the
// flag it serves (here until the context ends).
func TestServeRefusesNetworkWithoutFlag(t *testing.T) {
	root := newRootCommand()
	root.SetArgs(serveArgs(t, "--http-addr", "0.0.0.0:0"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	if err == nil || !strings.Contains(err.Error(), "--http-addr 0.0.0.0:0") || !strings.Contains(err.Error(), "--allow-unauthenticated-network") {
		t.Fatalf("serve --http-addr 0.0.0.0:0: %v, want a refusal naming the address and the flag", err)
	}

	root = newRootCommand()
	root.SetArgs(serveArgs(t, "--http-addr", "0.0.0.0:0", "--allow-unauthenticated-network"))
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("serve --http-addr 0.0.0.0:0 --allow-unauthenticated-network: %v", err)
	}
}
