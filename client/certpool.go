package client

import (
	"crypto/x509"
	"errors"
	"os"
)

// CertPool reads the PEM certificates of file (a CA bundle) into a pool,
// for Options.TLS's RootCAs or any HTTPS client. A file without any is an
// error, rather than a pool that trusts nothing.
func CertPool(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New(file + " holds no PEM certificate")
	}
	return pool, nil
}
