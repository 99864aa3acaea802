package cli

import (
	"testing"

	"github.com/xdrlink/xdrlink/internal/cli/config"
)

// TestResolve: flags beat the environment, which beats the context; TLS is
// on for non-loopback addresses unless --insecure asks for plaintext.
func TestResolve(t *testing.T) {
	env := noEnv(t)
	f := &config.File{CurrentContext: "prod", Contexts: map[string]*config.Context{
		"prod": {Address: "xdrlink.example:443", APIKey: "xdrlink_ctx"},
		"lab":  {Address: "10.0.0.5:9090", Insecure: true},
	}}
	if err := f.Save(env("XDRLINK_CONFIG")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		a         app
		key       string
		wantAddr  string
		wantTLS   bool
		wantKey   string
		wantError bool
	}{
		{name: "context", wantAddr: "xdrlink.example:443", wantTLS: true, wantKey: "xdrlink_ctx"},
		{name: "env key", key: "xdrlink_env", wantAddr: "xdrlink.example:443", wantTLS: true, wantKey: "xdrlink_env"},
		{name: "flag key", a: app{apiKey: "xdrlink_flag"}, key: "xdrlink_env", wantAddr: "xdrlink.example:443", wantTLS: true, wantKey: "xdrlink_flag"},
		{name: "loopback plaintext", a: app{addr: "127.0.0.1:9090"}, wantAddr: "127.0.0.1:9090", wantKey: "xdrlink_ctx"},
		{name: "lab context", a: app{contextName: "lab"}, wantAddr: "10.0.0.5:9090"},
		{name: "insecure and tls", a: app{insecure: true, useTLS: true}, wantError: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.a
			a.configPath = env("XDRLINK_CONFIG")
			a.io.Getenv = func(k string) string {
				if k == "XDRLINK_API_KEY" {
					return tc.key
				}
				return ""
			}
			s, err := a.resolve()
			if (err != nil) != tc.wantError {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (s.addr != tc.wantAddr || s.tls != tc.wantTLS || s.apiKey != tc.wantKey) {
				t.Errorf("got %+v", s)
			}
		})
	}
}
