package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/daemon"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// TestLoginDeviceCode signs in to a server that requires authentication
// with the emulator's Entra as the OIDC issuer: login prints a code, the
// demo admin approves it, the tokens are cached (0600) and later commands
// use them; without them the server refuses.
func TestLoginDeviceCode(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	s := startServer(t, false, func(c *daemon.Config) { c.Auth = daemon.AuthRequired })

	resp, err := s.simHC.Get(s.sim + "/_sim/staff")
	if err != nil {
		t.Fatal(err)
	}
	var staff struct {
		Issuer         string `json:"issuer"`
		PublicClientID string `json:"publicClientId"`
		APIScope       string `json:"apiScope"`
	}
	err = json.NewDecoder(resp.Body).Decode(&staff)
	resp.Body.Close()
	if err != nil || staff.Issuer == "" {
		t.Fatalf("staff: %v %+v", err, staff)
	}

	if r := s.run(t, nil, "tenants", "list"); r.code != 1 || !strings.Contains(r.errOut, "Unauthenticated") {
		t.Fatalf("list without credentials: %v", r)
	}
	if r := s.run(t, nil, "config", "set-context", "sandbox", "--address", s.d.GRPCAddr(), "--use"); r.code != 0 {
		t.Fatalf("set-context: %v", r)
	}

	var stderr syncbuf.Buffer
	done := make(chan result, 1)
	go func() {
		done <- s.run(t, &stderr, "login", "--issuer", staff.Issuer, "--client-id", staff.PublicClientID,
			"--scope", staff.APIScope, "--scope", "offline_access", "--ca-file", s.ca)
	}()
	code := regexp.MustCompile(`enter the code ([A-Z0-9]+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := code.FindStringSubmatch(stderr.String()); m != nil {
			r, err := s.simHC.Post(s.sim+"/_sim/devicecodes/"+m[1]+"/approve", "application/json", strings.NewReader(`{"user":"admin@mssp.onmicrosoft.com"}`))
			if err != nil || r.StatusCode != 200 {
				t.Fatalf("approve %s: %v %v", m[1], err, r)
			}
			r.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login printed no code: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := <-done
	if r.code != 0 || !strings.Contains(r.out, "signed in") {
		t.Fatalf("login: %v", r)
	}
	cache := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "xdrlink", "tokens", "sandbox.json")
	for _, f := range []string{cache, s.config} {
		fi, err := os.Stat(f)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", f, err, fi.Mode().Perm())
		}
	}
	var tok struct {
		RefreshToken string `json:"refresh_token"`
	}
	if b, err := os.ReadFile(cache); err != nil || json.Unmarshal(b, &tok) != nil || tok.RefreshToken == "" {
		t.Errorf("no refresh token cached: %v", err)
	}

	if r := s.run(t, nil, "tenants", "list"); r.code != 0 {
		t.Fatalf("list when signed in: %v", r)
	}
	if r := s.run(t, nil, "config", "get-contexts"); r.code != 0 || !regexp.MustCompile(`\*\s+sandbox\s.*oidc .*signed in`).MatchString(r.out) {
		t.Fatalf("get-contexts: %v", r)
	}
	if r := s.run(t, nil, "--api-key", "xdrlink_not-a-key", "tenants", "list"); r.code != 1 || !strings.Contains(r.errOut, "Unauthenticated") {
		t.Fatalf("a bad API key: %v", r)
	}
}
