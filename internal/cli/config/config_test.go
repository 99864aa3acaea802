package config

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSaveLoadPrivate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "xdrlink", "config.yaml")
	f, err := Load(p) // missing: empty
	if err != nil || len(f.Contexts) != 0 {
		t.Fatalf("load missing: %v %v", f, err)
	}
	f.Contexts["prod"] = &Context{Address: "x:443", TLS: true, APIKey: "xdrlink_secret", OIDC: &OIDC{Issuer: "https://i", ClientID: "c"}}
	f.CurrentContext = "prod"
	if err := f.Save(p); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, %v", fi.Mode().Perm(), err)
	}
	g, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	c, name, err := g.Current("")
	if err != nil || name != "prod" || c.Address != "x:443" || c.OIDC.ClientID != "c" || c.APIKey != "xdrlink_secret" {
		t.Fatalf("current = %+v %q %v", c, name, err)
	}
	if _, _, err := g.Current("nope"); err == nil {
		t.Fatal("an unknown context was accepted")
	}
	if err := os.WriteFile(p, []byte("contexts: {a: {adress: typo}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil {
		t.Fatal("a misspelt key was accepted")
	}
}
