package credential

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/cloud"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	appID     = "11111111-2222-3333-4444-555555555555"
	tenantA   = "aaaaaaaa-0000-0000-0000-000000000001"
	tenantB   = "bbbbbbbb-0000-0000-0000-000000000002"
	theSecret = "S3cr3t~VALUE~never-print-me"
)

func TestProfileValidate(t *testing.T) {
	ok := []Profile{
		{Name: "mssp", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "XDR_SECRET"},
		{Name: "mssp-file", Kind: KindClientSecret, ClientID: appID, ClientSecretFile: "/run/secrets/x"},
		{Name: "cert", Kind: KindCertificate, ClientID: appID, CertificateFile: "/c.pem", CertificatePasswordEnv: "P"},
		{Name: "wi", Kind: KindWorkloadIdentity, ClientID: appID},
		{Name: "mi", Kind: KindManagedIdentity},
		{Name: "mi_fic", Kind: KindManagedIdentity, ClientID: appID, ManagedIdentityClientID: appID},
	}
	for _, p := range ok {
		if err := p.Validate(); err != nil {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
	bad := map[string]Profile{
		"no name":           {Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "X"},
		"upper name":        {Name: "MSSP", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "X"},
		"no kind":           {Name: "x", ClientID: appID},
		"unknown kind":      {Name: "x", Kind: "password", ClientID: appID},
		"no secret source":  {Name: "x", Kind: KindClientSecret, ClientID: appID},
		"two sources":       {Name: "x", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "A", ClientSecretFile: "/b"},
		"no client":         {Name: "x", Kind: KindClientSecret, ClientSecretEnv: "A"},
		"client not guid":   {Name: "x", Kind: KindClientSecret, ClientID: "app", ClientSecretEnv: "A"},
		"cert without file": {Name: "x", Kind: KindCertificate, ClientID: appID},
		"two passwords":     {Name: "x", Kind: KindCertificate, ClientID: appID, CertificateFile: "/c", CertificatePasswordEnv: "A", CertificatePasswordFile: "/p"},
		"secret on cert":    {Name: "x", Kind: KindCertificate, ClientID: appID, CertificateFile: "/c", ClientSecretEnv: "A"},
		"token file on mi":  {Name: "x", Kind: KindManagedIdentity, FederatedTokenFile: "/t"},
		"wi without client": {Name: "x", Kind: KindWorkloadIdentity},
		"mi id not guid":    {Name: "x", Kind: KindManagedIdentity, ManagedIdentityClientID: "abc"},
	}
	for name, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A field of another kind is reported by its config name, the first one in field order, the
// same on every run (not whichever a map happens to yield first).
func TestProfileValidateNamesFirstStrayField(t *testing.T) {
	p := Profile{Name: "x", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "A",
		CertificateFile: "/c", CertificatePasswordEnv: "P", CertificatePasswordFile: "/p"}
	const want = `credential profile "x": certificate_file is only valid for kind certificate`
	for range 50 {
		if err := p.Validate(); err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %s", err, want)
		}
	}
}

func TestProfileJSONRejectsInlineSecrets(t *testing.T) {
	var p Profile
	good := `{"name":"mssp","kind":"client_secret","client_id":"` + appID + `","client_secret_env":"XDR_SECRET"}`
	if err := json.Unmarshal([]byte(good), &p); err != nil {
		t.Fatal(err)
	}
	if p.ClientSecretEnv != "XDR_SECRET" || p.Kind != KindClientSecret {
		t.Fatalf("%+v", p)
	}
	for _, key := range []string{"client_secret", "Client_Secret", "password", "secret"} {
		doc := `{"name":"mssp","kind":"client_secret","client_id":"` + appID + `","` + key + `":"` + theSecret + `"}`
		err := json.Unmarshal([]byte(doc), &p)
		if err == nil {
			t.Fatalf("%s accepted", key)
		}
		if strings.Contains(err.Error(), theSecret) {
			t.Fatalf("error echoes the secret: %v", err)
		}
	}
	if err := json.Unmarshal([]byte(`{"name":"x","kind":"client_secret","clientid":"typo"}`), &p); err == nil {
		t.Fatal("unknown field accepted")
	}
}

func newTestProvider(t *testing.T, profiles ...Profile) *Provider {
	t.Helper()
	env := map[string]string{"XDR_SECRET": theSecret}
	p, err := NewProvider(Options{
		Cloud:    cloud.MustResolve(cloud.Setting{Name: cloud.Custom, URL: "https://127.0.0.1:1"}),
		Profiles: profiles,
		Getenv:   func(k string) string { return env[k] },
		ReadFile: func(path string) ([]byte, error) {
			if path == "/secrets/app" {
				return []byte(theSecret + "\n"), nil
			}
			return nil, &os.PathError{Op: "open", Path: path, Err: os.ErrNotExist}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGetCachesPerProfileAndTenant(t *testing.T) {
	p := newTestProvider(t,
		Profile{Name: "env", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "XDR_SECRET"},
		Profile{Name: "file", Kind: KindClientSecret, ClientID: appID, ClientSecretFile: "/secrets/app"},
	)
	const goroutines = 32
	results := make([][3]*Credential, goroutines)
	var wg sync.WaitGroup
	for i := 0; i < goroutines; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j, k := range []struct{ profile, tenant string }{{"env", tenantA}, {"env", strings.ToUpper(tenantB)}, {"file", tenantA}} {
				c, err := p.Get(k.profile, k.tenant)
				if err != nil {
					t.Error(err)
					return
				}
				results[i][j] = c
			}
		}()
	}
	wg.Wait()
	for i := 1; i < goroutines; i++ {
		if results[i] != results[0] {
			t.Fatal("concurrent Gets returned different credentials for the same key")
		}
	}
	r := results[0]
	if r[0] == r[1] || r[0] == r[2] {
		t.Fatal("different tenants or profiles share a credential")
	}
	if r[1].TenantID() != tenantB {
		t.Fatalf("tenant not normalised: %s", r[1].TenantID())
	}
	p.Forget("env")
	again, err := p.Get("env", tenantA)
	if err != nil {
		t.Fatal(err)
	}
	if again == r[0] {
		t.Fatal("Forget kept the cached credential")
	}
	if same, _ := p.Get("file", tenantA); same != r[2] {
		t.Fatal("Forget dropped another profile")
	}
}

func TestGetErrors(t *testing.T) {
	p := newTestProvider(t,
		Profile{Name: "env", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "UNSET_VAR"},
		Profile{Name: "file", Kind: KindClientSecret, ClientID: appID, ClientSecretFile: "/missing"},
		Profile{Name: "cert", Kind: KindCertificate, ClientID: appID, CertificateFile: "/secrets/app"},
		Profile{Name: "ok", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "XDR_SECRET"},
	)
	for _, tc := range []struct{ profile, tenant, want string }{
		{"nope", tenantA, "unknown credential profile"},
		{"ok", "contoso.onmicrosoft.com/../x", "not a GUID"},
		{"env", tenantA, "UNSET_VAR is empty or unset"},
		{"file", tenantA, "/missing"},
		{"cert", tenantA, "parse certificate file"},
	} {
		_, err := p.Get(tc.profile, tc.tenant)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Get(%s, %s) = %v, want %q", tc.profile, tc.tenant, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), theSecret) {
			t.Errorf("error leaks the secret: %v", err)
		}
	}
	if _, err := p.Get("nope", tenantA); !errors.Is(err, ErrUnknownProfile) {
		t.Fatal(err)
	}
	// The failure is not cached: once the variable exists, Get succeeds.
	p.getenv = func(string) string { return "later" }
	if _, err := p.Get("env", tenantA); err != nil {
		t.Fatal(err)
	}
}

func TestNothingFormatsTheSecret(t *testing.T) {
	prof := Profile{Name: "env", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "XDR_SECRET"}
	p := newTestProvider(t, prof, Profile{Name: "file", Kind: KindClientSecret, ClientID: appID, ClientSecretFile: "/secrets/app"})
	c, err := p.Get("env", tenantA)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := p.Get("file", tenantA)
	if err != nil {
		t.Fatal(err)
	}
	obo, err := p.OnBehalfOf("env", tenantA, "user.assertion.token")
	if err != nil {
		t.Fatal(err)
	}
	dc, err := p.DeviceCode("env", tenantA, DeviceCodeOptions{Prompt: func(context.Context, DeviceCodePrompt) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, v := range []any{c, c2, obo, dc, prof, p} {
		fmt.Fprintf(&out, "%v|%+v|%#v|%s\n", v, v, v, v)
	}
	js, err := json.Marshal(map[string]any{"cred": c, "profile": prof})
	if err != nil {
		t.Fatal(err)
	}
	out.Write(js)
	log := slog.New(slog.NewJSONHandler(&out, nil))
	log.Info("credential built", "cred", c, "obo", obo, "profile", prof, "prompt", DeviceCodePrompt{UserCode: "USERCODE1"})
	log.Info("text", slog.Any("cred", c))
	s := out.String()
	for _, secret := range []string{theSecret, "user.assertion.token", "USERCODE1"} {
		if strings.Contains(s, secret) {
			t.Fatalf("%q appears in formatted output:\n%s", secret, s)
		}
	}
	if !strings.Contains(s, "credential(profile=env kind=client_secret tenant="+tenantA+")") {
		t.Fatalf("identity missing from output:\n%s", s)
	}
}

func TestDelegatedArgumentChecks(t *testing.T) {
	p := newTestProvider(t,
		Profile{Name: "env", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "XDR_SECRET"},
		Profile{Name: "mi", Kind: KindManagedIdentity},
	)
	noPrompt := DeviceCodeOptions{}
	if _, err := p.DeviceCode("env", tenantA, noPrompt); err == nil {
		t.Fatal("device code without a prompt")
	}
	if _, err := p.DeviceCode("mi", tenantA, DeviceCodeOptions{Prompt: PromptToChannel(make(chan DeviceCodePrompt))}); err == nil {
		t.Fatal("device code without a client id")
	}
	if _, err := p.OnBehalfOf("env", tenantA, ""); err == nil {
		t.Fatal("on-behalf-of without an assertion")
	}
	if _, err := p.OnBehalfOf("env", "x", "a"); err == nil {
		t.Fatal("on-behalf-of with a bad tenant")
	}
}

func TestPromptToChannel(t *testing.T) {
	ch := make(chan DeviceCodePrompt, 1)
	if err := PromptToChannel(ch)(context.Background(), DeviceCodePrompt{UserCode: "X"}); err != nil {
		t.Fatal(err)
	}
	if (<-ch).UserCode != "X" {
		t.Fatal("prompt not delivered")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := PromptToChannel(make(chan DeviceCodePrompt))(ctx, DeviceCodePrompt{}); !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
