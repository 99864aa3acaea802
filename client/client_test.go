package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// tlsServer serves gRPC health over TLS with a fresh self-signed certificate
// and refuses calls without the bearer token; it returns the address and a
// pool trusting the certificate.
func tlsServer(t *testing.T) (string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	requireToken := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if md, _ := metadata.FromIncomingContext(ctx); len(md.Get("authorization")) == 0 || md.Get("authorization")[0] != "Bearer t0ken" {
			return nil, status.Error(codes.Unauthenticated, "no token")
		}
		return h(ctx, req)
	}
	srv := grpc.NewServer(
		grpc.Creds(credentials.NewServerTLSFromCert(&tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key})),
		grpc.UnaryInterceptor(requireToken),
	)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	return lis.Addr().String(), pool
}

func TestTLSAndPerRPCCredentials(t *testing.T) {
	addr, pool := tlsServer(t)
	check := func(opts Options) error {
		c, err := New(addr, opts)
		if err != nil {
			return err
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		_, err = c.Health.Check(ctx, &healthpb.HealthCheckRequest{})
		return err
	}
	if err := check(Options{TLS: &tls.Config{RootCAs: pool}, PerRPC: Bearer("t0ken", false)}); err != nil {
		t.Errorf("TLS with the right roots and token: %v", err)
	}
	if err := check(Options{TLS: &tls.Config{RootCAs: pool}}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("without per-call credentials: %v, want UNAUTHENTICATED", err)
	}
	if err := check(Options{TLS: &tls.Config{RootCAs: x509.NewCertPool()}, PerRPC: Bearer("t0ken", false)}); status.Code(err) != codes.Unavailable {
		t.Errorf("untrusted server certificate: %v, want UNAVAILABLE", err)
	}
	if err := check(Options{Insecure: true}); err == nil {
		t.Error("plaintext to a TLS server succeeded")
	}
	// A bearer credential is never sent in plaintext unless allowed.
	if err := check(Options{Insecure: true, PerRPC: Bearer("t0ken", false)}); err == nil || status.Code(err) == codes.Unauthenticated {
		t.Errorf("a bearer credential over plaintext: %v, want a refusal before sending", err)
	}
}

func TestNewRejectsEmptyTarget(t *testing.T) {
	if _, err := New("", Options{Insecure: true}); err == nil {
		t.Error("empty target accepted")
	}
}
