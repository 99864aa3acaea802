package daemon

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
)

// testCA is a certificate authority for client certificates.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t testing.TB, name string) testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return testCA{cert: cert, key: key}
}

// writePEM writes the CA's certificate to a file and returns its path.
func (ca testCA) writePEM(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "client-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// clientCert issues a client certificate for subject.
func (ca testCA) clientCert(t testing.TB, subject pkix.Name) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: subject,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestAuthMTLS: with a client CA, a gRPC client presenting a certificate
// it issued is authenticated as cert:{subject} with the grants of its OUs;
// without a certificate (and no token) the call is UNAUTHENTICATED, while
// a token still works on the same TLS listener; a certificate from another
// CA does not get in; REST does not take client certificates.
func TestAuthMTLS(t *testing.T) {
	certFile, keyFile := tlsFiles(t)
	serverCert := writeSelfSigned(t, certFile, keyFile, 1)
	ca := newTestCA(t, "xdrlink test client CA")
	d := startAuthDaemon(t, nil, withTLS(certFile, keyFile), func(c *Config) { c.TLSClientCAFile = ca.writePEM(t) })

	subject := pkix.Name{CommonName: "ticketing", OrganizationalUnit: []string{"Operator.pod-east"}}
	good := ca.clientCert(t, subject)
	other := newTestCA(t, "another CA").clientCert(t, subject)
	caller := func(t *testing.T, certs []tls.Certificate, cred string) (*xdrlinkv1.Caller, error) {
		t.Helper()
		conn, err := grpc.NewClient(d.GRPCAddr(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{
			RootCAs: poolOf(serverCert), ServerName: "127.0.0.1", Certificates: certs})))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return xdrlinkv1.NewAccessServiceClient(conn).GetCaller(bearerCtx(t.Context(), cred), &xdrlinkv1.GetCallerRequest{})
	}

	t.Run("certificate", func(t *testing.T) {
		c, err := caller(t, []tls.Certificate{good}, "")
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(good.Certificate[0])
		if c.GetPrincipal() != "cert:"+leaf.Subject.String() || c.GetAuthMethod() != xdrlinkv1.AuthMethod_AUTH_METHOD_CLIENT_CERTIFICATE ||
			c.GetDisplayName() != "ticketing" || !c.GetScoped() || len(c.GetGrants()) != 1 ||
			c.GetGrants()[0].GetRole() != authz.Operator || c.GetGrants()[0].GetAccessGroup() != "pod-east" {
			t.Errorf("caller %v", c)
		}
	})
	t.Run("no certificate", func(t *testing.T) {
		if _, err := caller(t, nil, ""); status.Code(err) != codes.Unauthenticated {
			t.Errorf("got %v, want UNAUTHENTICATED", err)
		}
		if c, err := caller(t, nil, staffToken(t, d, "viewer")); err != nil || c.GetAuthMethod() != xdrlinkv1.AuthMethod_AUTH_METHOD_OIDC {
			t.Errorf("token over TLS without a certificate: %v %v", c, err)
		}
	})
	t.Run("other CA", func(t *testing.T) {
		c, err := caller(t, []tls.Certificate{other}, "")
		if err == nil {
			t.Fatalf("a certificate of another CA got in as %v", c)
		}
		if code := status.Code(err); code != codes.Unavailable && code != codes.Unauthenticated {
			t.Errorf("got %v, want a failed handshake (UNAVAILABLE) or UNAUTHENTICATED", err)
		}
	})
	t.Run("rest ignores certificates", func(t *testing.T) {
		hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: poolOf(serverCert), Certificates: []tls.Certificate{good}}}}
		defer hc.CloseIdleConnections()
		resp, err := hc.Get("https://" + d.HTTPAddr() + "/v1/caller")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("REST with a client certificate and no bearer: HTTP %d, want 401", resp.StatusCode)
		}
	})
}
