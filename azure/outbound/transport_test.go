package outbound

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestNewHTTPClientTrustsExtraCA(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	plain, err := NewHTTPClient(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plain.Get(srv.URL); err == nil {
		t.Fatal("a self-signed server was trusted without its CA")
	}
	plain.CloseIdleConnections()
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	c, err := NewHTTPClient(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if _, err := NewHTTPClient([]byte("not pem")); err == nil {
		t.Fatal("garbage CA accepted")
	}
}
