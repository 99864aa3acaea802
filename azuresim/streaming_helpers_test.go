package azuresim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

// Shared by the Graph, streaming and Log Analytics family tests.

// rawCall sends one request with a bearer token straight to the sim (no SDK
// pipeline), so tests see exactly what the family answers.
func rawCall(t testing.TB, s *Sim, token, method, path string, body any) result {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, ok := body.([]byte)
		if !ok {
			var err error
			if b, err = json.Marshal(body); err != nil {
				t.Fatal(err)
			}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.HTTPClient().Do(req)
	return readResult(t, method, path, resp, err)
}

func userToken(t testing.TB, s *Sim, tenant, user, audience string) string {
	t.Helper()
	tok, err := s.IssueUserToken(tenant, user, appID, audience+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func appToken(t testing.TB, s *Sim, tenant, audience string) string {
	t.Helper()
	tok, err := s.IssueAppToken(tenant, appID, audience)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
