package client

import (
	"os"
	"path/filepath"
	"testing"
)

// A CA file without a certificate is an error, not a pool trusting nothing.
func TestCertPoolRefusesAFileWithoutCertificates(t *testing.T) {
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := CertPool(f); err == nil {
		t.Error("a file without a certificate gave a pool")
	}
	if _, err := CertPool(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("a missing file gave a pool")
	}
}
