package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/xdrlink/xdrlink/client"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and
// localhost with the given serial, and its key, as PEM files (replacing
// them, with a modification time that differs from the previous pair's).
func writeSelfSigned(t testing.TB, certFile, keyFile string, serial int64) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: "xdrlink test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), serial)
	replaceFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), serial)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// replaceFile replaces path atomically (as a secret volume or cert-manager
// would) and dates it by serial, so that replacements within one clock
// tick still differ.
func replaceFile(t testing.TB, path string, b []byte, serial int64) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	mtime := time.Now().Add(time.Duration(serial) * time.Second)
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func tlsFiles(t testing.TB) (certFile, keyFile string) {
	dir := t.TempDir()
	return filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
}

func withTLS(certFile, keyFile string) func(*Config) {
	return func(c *Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile }
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

// servedSerial makes one TLS handshake with addr (offering ALPN proto) and
// returns the serial of the certificate the server presented.
func servedSerial(t testing.TB, addr, proto string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", NextProtos: []string{proto}})
	if err != nil {
		t.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

func httpsClient(roots *x509.CertPool) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
}

// TestTLSServesGRPCAndREST: with --tls-cert-file and --tls-key-file both
// listeners serve TLS; gRPC and REST calls (REST through the gateway, which
// reaches the gRPC server in process) work over it, and plaintext is
// refused on both.
func TestTLSServesGRPCAndREST(t *testing.T) {
	certFile, keyFile := tlsFiles(t)
	cert := writeSelfSigned(t, certFile, keyFile, 1)
	d := startDaemon(t, withTLS(certFile, keyFile))
	ctx := t.Context()

	c, err := client.New(d.GRPCAddr(), client.Options{TLS: &tls.Config{RootCAs: poolOf(cert)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Tenants.CreateTenant(ctx, createRequest("tls-grpc")); err != nil {
		t.Fatalf("gRPC over TLS: %v", err)
	}

	rest := restAPI{base: "https://" + d.HTTPAddr(), hc: httpsClient(poolOf(cert))}
	if _, err := rest.Create(ctx, createRequest("tls-rest")); err != nil {
		t.Fatalf("REST over HTTPS: %v", err)
	}
	list, err := rest.List(ctx, &xdrlinkv1.ListTenantsRequest{})
	if err != nil {
		t.Fatalf("REST list over HTTPS: %v", err)
	}
	if len(list.GetTenants()) != 2 {
		t.Errorf("REST lists %d tenants, want the 2 created over gRPC and REST", len(list.GetTenants()))
	}
	resp, err := rest.raw(ctx, http.MethodGet, "/healthz", "")
	if err != nil {
		t.Fatalf("/healthz over HTTPS: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("HTTPS served %s, want HTTP/2", resp.Proto)
	}

	// Plaintext is refused: no gRPC call, no REST answer.
	plain := dial(t, d)
	pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := plain.Health.Check(pctx, &healthpb.HealthCheckRequest{}); err == nil {
		t.Error("a plaintext gRPC call succeeded against the TLS listener")
	}
	if resp, err := (&http.Client{Timeout: 3 * time.Second}).Get("http://" + d.HTTPAddr() + "/healthz"); err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("plaintext HTTP answered 200: %s", b)
		}
	}
}

// TestTLSCertificateReload: replacing the files makes the next handshake,
// on both listeners, serve the new certificate (a new serial); a pair that
// does not load is logged and the last good one goes on being served.
func TestTLSCertificateReload(t *testing.T) {
	certFile, keyFile := tlsFiles(t)
	first := writeSelfSigned(t, certFile, keyFile, 1)
	var logs syncbuf.Buffer
	d := startDaemon(t, withTLS(certFile, keyFile), func(c *Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	for _, l := range []struct{ name, addr, proto string }{{"grpc", d.GRPCAddr(), "h2"}, {"rest", d.HTTPAddr(), "h2"}} {
		if got := servedSerial(t, l.addr, l.proto, poolOf(first)); got != "1" {
			t.Fatalf("%s serves serial %s, want 1", l.name, got)
		}
	}

	second := writeSelfSigned(t, certFile, keyFile, 2)
	for _, l := range []struct{ name, addr string }{{"grpc", d.GRPCAddr()}, {"rest", d.HTTPAddr()}} {
		if got := servedSerial(t, l.addr, "h2", poolOf(second)); got != "2" {
			t.Errorf("after the files were replaced %s serves serial %s, want 2", l.name, got)
		}
	}
	// A call over the reloaded certificate, through both transports.
	c, err := client.New(d.GRPCAddr(), client.Options{TLS: &tls.Config{RootCAs: poolOf(second)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if _, err := c.Tenants.ListTenants(t.Context(), &xdrlinkv1.ListTenantsRequest{}); err != nil {
		t.Errorf("gRPC after the reload: %v", err)
	}
	if _, err := (restAPI{base: "https://" + d.HTTPAddr(), hc: httpsClient(poolOf(second))}).List(t.Context(), &xdrlinkv1.ListTenantsRequest{}); err != nil {
		t.Errorf("REST after the reload: %v", err)
	}
	if !strings.Contains(logs.String(), "certificate reloaded") {
		t.Errorf("no log line says the certificate was reloaded:\n%s", logs.String())
	}

	// A broken key: the last good pair (serial 2) stays, with a warning.
	replaceFile(t, keyFile, []byte("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"), 3)
	for _, l := range []struct{ name, addr string }{{"grpc", d.GRPCAddr()}, {"rest", d.HTTPAddr()}} {
		if got := servedSerial(t, l.addr, "h2", poolOf(second)); got != "2" {
			t.Errorf("with a broken key file %s serves serial %s, want the last good one, 2", l.name, got)
		}
	}
	if !strings.Contains(logs.String(), "serving the previous certificate") || !strings.Contains(logs.String(), `"level":"WARN"`) {
		t.Errorf("no warning says the new pair did not load:\n%s", logs.String())
	}
	// Fixed again: the fixed pair is served.
	fourth := writeSelfSigned(t, certFile, keyFile, 4)
	if got := servedSerial(t, d.HTTPAddr(), "h2", poolOf(fourth)); got != "4" {
		t.Errorf("with the pair fixed REST serves serial %s, want 4", got)
	}
}

// TestTLSFilesRefused: a missing or mismatched pair stops the start.
func TestTLSFilesRefused(t *testing.T) {
	certFile, keyFile := tlsFiles(t)
	writeSelfSigned(t, certFile, keyFile, 1)
	otherCert, otherKey := tlsFiles(t)
	writeSelfSigned(t, otherCert, otherKey, 2)
	for _, tc := range []struct {
		name       string
		cert, key  string
		wantInText string
	}{
		{"cert only", certFile, "", "--tls-key-file"},
		{"key only", "", keyFile, "--tls-cert-file"},
		{"missing file", certFile, keyFile + ".missing", "--tls-key-file"},
		{"mismatched pair", certFile, otherKey, "private key does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.TLSCertFile, cfg.TLSKeyFile = tc.cert, tc.key
			d, err := Start(t.Context(), cfg)
			if err == nil {
				_ = d.Shutdown()
				t.Fatal("started")
			}
			if !strings.Contains(err.Error(), tc.wantInText) {
				t.Errorf("error %q does not mention %q", err, tc.wantInText)
			}
		})
	}
}

// testConfig is startDaemon's configuration, for tests of Start's refusals.
func testConfig(t testing.TB) Config {
	cfg := Defaults()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "xdrlink.db")
	cfg.VerifyInterval = 0
	cfg.Logger = slog.New(slog.DiscardHandler)
	cfg.SandboxAddr, cfg.SandboxCAOut = "127.0.0.1:0", ""
	cfg.SandboxSecretKey = filepath.Join(t.TempDir(), "secret.key")
	cfg.SandboxRegister = false
	return cfg
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9090": true, "127.1.2.3:0": true, "[::1]:8080": true, "localhost:8080": true, "LOCALHOST:1": true,
		"[::ffff:127.0.0.1]:80": true,
		":8080":                 false, "0.0.0.0:8080": false, "[::]:8080": false, "10.0.0.5:9090": false,
		"example.com:443": false, "localhost.example.com:1": false, "127.0.0.1": false,
	} {
		if got := isLoopback(addr); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// TestNonLoopbackRefused: with no authentication, serving gRPC, REST (or
// the sandbox's emulator) on a non-loopback address fails to start with
// an error naming the address and the flag; with
// --allow-unauthenticated-network it starts and warns that every caller
// has full access.
func TestNonLoopbackRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"grpc all interfaces", func(c *Config) { c.GRPCAddr = "0.0.0.0:0" }, "--grpc-addr 0.0.0.0:0"},
		{"http no host", func(c *Config) { c.HTTPAddr = ":0" }, "--http-addr :0"},
		{"sandbox emulator", func(c *Config) { c.SandboxAddr = "[::]:0" }, "--sandbox-addr [::]:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			tc.mutate(&cfg)
			d, err := Start(t.Context(), cfg)
			if err == nil {
				_ = d.Shutdown()
				t.Fatal("started on a non-loopback address without --allow-unauthenticated-network")
			}
			for _, want := range []string{tc.want, "--allow-unauthenticated-network", "no authentication", "sandbox mode"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if _, statErr := os.Stat(cfg.DB); statErr == nil {
				t.Error("the store was opened before the refusal")
			}
		})
	}

	var logs syncbuf.Buffer
	d := startDaemon(t, func(c *Config) {
		c.GRPCAddr, c.HTTPAddr = "0.0.0.0:0", ":0"
		c.AllowUnauthenticatedNetwork = true
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	if !strings.Contains(logs.String(), `"level":"WARN"`) || !strings.Contains(logs.String(), "every caller who can reach it has full access") {
		t.Errorf("started without the warning:\n%s", logs.String())
	}
	_, port, _ := net.SplitHostPort(d.HTTPAddr())
	resp, err := http.Get("http://127.0.0.1:" + port + "/healthz")
	if err != nil {
		t.Fatalf("REST on all interfaces: %v", err)
	}
	resp.Body.Close()
	_, port, _ = net.SplitHostPort(d.GRPCAddr())
	c, err := client.New("127.0.0.1:"+port, client.Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Tenants.ListTenants(t.Context(), &xdrlinkv1.ListTenantsRequest{}); err != nil {
		t.Errorf("gRPC on all interfaces: %v", err)
	}
}
