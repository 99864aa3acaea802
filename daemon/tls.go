package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"
)

// certReloader serves the certificate in a PEM certificate and key file
// pair and loads it again when either file changes: each handshake stats
// both files (cheap) and reloads only when one differs (another file,
// size or modification time) from the last attempt. A pair that fails to
// load is logged and the last good one stays in use; the next change is
// tried again, so a pair written one file at a time loads once both are.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu       sync.Mutex
	cert     *tls.Certificate
	certStat os.FileInfo
	keyStat  os.FileInfo
}

// newCertReloader loads the pair once; failing that, serve does not start.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	cs, ks, err := r.stat()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load --tls-cert-file %s and --tls-key-file %s: %w", certFile, keyFile, err)
	}
	r.cert, r.certStat, r.keyStat = &cert, cs, ks
	return r, nil
}

func (r *certReloader) stat() (os.FileInfo, os.FileInfo, error) {
	cs, err := os.Stat(r.certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: --tls-cert-file: %w", err)
	}
	ks, err := os.Stat(r.keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("tls: --tls-key-file: %w", err)
	}
	return cs, ks, nil
}

func changed(old, cur os.FileInfo) bool {
	return !os.SameFile(old, cur) || old.Size() != cur.Size() || !old.ModTime().Equal(cur.ModTime())
}

// GetCertificate is tls.Config.GetCertificate.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs, ks, err := r.stat()
	if err != nil {
		// Files being replaced (or gone): serve the last good pair.
		return r.cert, nil
	}
	if !changed(r.certStat, cs) && !changed(r.keyStat, ks) {
		return r.cert, nil
	}
	r.certStat, r.keyStat = cs, ks
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		r.log.Warn("tls: the certificate files changed but do not load; serving the previous certificate",
			"cert_file", r.certFile, "key_file", r.keyFile, "error", err)
		return r.cert, nil
	}
	r.cert = &cert
	r.log.Info("tls: certificate reloaded", "cert_file", r.certFile, "serial", serialOf(&cert))
	return r.cert, nil
}

func serialOf(c *tls.Certificate) string {
	if c.Leaf == nil {
		return ""
	}
	return c.Leaf.SerialNumber.String()
}

// serverTLS is the TLS configuration both listeners serve with.
func (r *certReloader) serverTLS() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

// The REST gateway reaches the gRPC server in process: the same
// grpc.Server (interceptors and all) also serves an in-memory listener,
// which the gateway dials. So there is no network hop between them to
// protect, whatever the TLS settings, and no certificate for the gateway
// to trust or hostname to match.
const inprocTarget = "passthrough:///xdrlink-inprocess"

// inprocListener is a bufconn listener whose connections are marked, so
// that the server's credentials let them through without TLS.
type inprocListener struct{ *bufconn.Listener }

type inprocConn struct{ net.Conn }

func newInprocListener() *inprocListener { return &inprocListener{bufconn.Listen(1 << 20)} }

func (l *inprocListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return inprocConn{c}, nil
}

// dialOptions are the gateway's: the in-memory dialer, and no transport
// security, which only connections of this listener are let in without.
func (l *inprocListener) dialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	}
}

// inprocAuthInfo is the AuthInfo of the gateway's in-process connection.
type inprocAuthInfo struct{ credentials.CommonAuthInfo }

func (inprocAuthInfo) AuthType() string { return "inprocess" }

// tlsOrInproc are the gRPC server's credentials with TLS on: TLS for every
// network connection, none for the gateway's in-process one.
type tlsOrInproc struct {
	credentials.TransportCredentials
}

func (c tlsOrInproc) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if _, ok := conn.(inprocConn); ok {
		return conn, inprocAuthInfo{credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return c.TransportCredentials.ServerHandshake(conn)
}

func (c tlsOrInproc) Clone() credentials.TransportCredentials {
	return tlsOrInproc{c.TransportCredentials.Clone()}
}

// checkTLSFiles: both files or neither.
func checkTLSFiles(cfg Config) error {
	if (cfg.TLSCertFile == "") != (cfg.TLSKeyFile == "") {
		return errors.New("tls: --tls-cert-file and --tls-key-file go together: give both or neither")
	}
	return nil
}
