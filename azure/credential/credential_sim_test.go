package credential_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azuresim"
)

const armScope = "https://management.azure.com/.default"

// appCert is a self-signed certificate registered for the sim's app, with its key.
type appCert struct {
	cert    *x509.Certificate
	key     *rsa.PrivateKey
	pemFile string // certificate and key, as the certificate profile reads them
}

func newAppCert(t *testing.T) appCert {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "xdrlink test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "app.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})...)
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return appCert{cert: cert, key: key, pemFile: file}
}

func (c appCert) certPEM() string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}))
}

// federatedToken is what a workload-identity token file holds, here signed with the app's
// certificate so the sim accepts it as a client assertion (iss = sub = client id, aud = the
// tenant's token endpoint).
func (c appCert) federatedToken(t *testing.T, simURL, tenant string) string {
	t.Helper()
	sum := sha256.Sum256(c.cert.Raw)
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.RegisteredClaims{
		Issuer: simtest.AppID, Subject: simtest.AppID, Audience: jwt.ClaimStrings{simURL + "/" + tenant + "/oauth2/v2.0/token"},
		ExpiresAt: jwt.NewNumericDate(time.Now().Add(10 * time.Minute)), IssuedAt: jwt.NewNumericDate(time.Now()), ID: "jti-1",
	})
	tok.Header["x5t#S256"] = base64.RawURLEncoding.EncodeToString(sum[:])
	s, err := tok.SignedString(c.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// worldWithCert is the example world with cert registered on the app.
func worldWithCert(t *testing.T, cert appCert) *azuresim.World {
	t.Helper()
	w, err := azuresim.LoadWorldFile(simtest.WorldFile())
	if err != nil {
		t.Fatal(err)
	}
	w.Apps[0].Certificates = append(w.Apps[0].Certificates, cert.certPEM())
	return w
}

func getToken(t *testing.T, cred azcore.TokenCredential, scope string) azcore.AccessToken {
	t.Helper()
	tk, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestAppCredentialsAgainstSim: every app-only kind the sim can serve gets a real token and
// drives a real ARM call.
func TestAppCredentialsAgainstSim(t *testing.T) {
	cert := newAppCert(t)
	tokenDir := t.TempDir()
	env := simtest.Start(t, simtest.Config{
		Sim: azuresim.Options{World: worldWithCert(t, cert)},
		Profiles: []credential.Profile{
			{Name: "secret-env", Kind: credential.KindClientSecret, ClientID: simtest.AppID, ClientSecretEnv: simtest.SecretEnv},
			{Name: "cert", Kind: credential.KindCertificate, ClientID: simtest.AppID, CertificateFile: cert.pemFile},
			{Name: "wi", Kind: credential.KindWorkloadIdentity, ClientID: simtest.AppID, FederatedTokenFile: filepath.Join(tokenDir, "token")},
		},
	})
	if err := os.WriteFile(filepath.Join(tokenDir, "token"), []byte(cert.federatedToken(t, env.Sim.URL(), simtest.ContosoTenant)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, profile := range []string{"secret-env", "cert", "wi"} {
		t.Run(profile, func(t *testing.T) {
			cred, err := env.Creds.Get(profile, simtest.ContosoTenant)
			if err != nil {
				t.Fatal(err)
			}
			tk := getToken(t, cred, armScope)
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(tk.Token, claims); err != nil {
				t.Fatal(err)
			}
			if claims["tid"] != simtest.ContosoTenant || claims["appid"] != simtest.AppID || claims["idtyp"] != "app" || claims["aud"] != "https://management.azure.com" {
				t.Fatalf("claims %v", claims)
			}
			c, err := sentinel.New(env.ARMWith(t, cred, simtest.ContosoTenant, simtest.ContosoSub), simtest.Contoso)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.ListAlertRules(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
	// The token request went to the custom authority, with no instance discovery.
	for _, x := range env.Recorder.Exchanges() {
		if strings.Contains(x.Path, "discovery/instance") || !strings.HasPrefix(x.URL, env.Sim.URL()) {
			t.Fatalf("request outside the sim or instance discovery: %s", x.URL)
		}
	}
	if len(env.Recorder.Find(http.MethodPost, "/"+simtest.ContosoTenant+"/oauth2/v2.0/token")) < 3 {
		t.Fatal("token requests not recorded")
	}
}

func TestCredentialFailuresAreClassified(t *testing.T) {
	env := simtest.Start(t, simtest.Config{
		Profiles: []credential.Profile{
			{Name: "good", Kind: credential.KindClientSecret, ClientID: simtest.AppID, ClientSecretEnv: simtest.SecretEnv},
			{Name: "bad", Kind: credential.KindClientSecret, ClientID: simtest.AppID, ClientSecretEnv: "WRONG_SECRET"},
		},
		Env: map[string]string{"WRONG_SECRET": "not-the-secret"},
	})
	for _, tc := range []struct {
		name, profile, tenant string
		kind                  azerr.Kind
		code                  string
	}{
		{"wrong secret", "bad", simtest.ContosoTenant, azerr.Unauthenticated, "AADSTS7000215"},
		// The MSSP tenant has no service principal of the app: never consented there.
		{"app not consented", "good", "10000000-0000-4000-8000-000000000000", azerr.MissingConsent, "AADSTS700016"},
		{"unknown tenant", "good", "99999999-0000-4000-8000-000000000000", azerr.Unauthenticated, "AADSTS90002"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := env.Creds.Get(tc.profile, tc.tenant)
			if err != nil {
				t.Fatal(err)
			}
			// Through an ARM call, as the workflow sees it (the bearer policy wraps the error).
			c, err := sentinel.New(env.ARMWith(t, cred, tc.tenant, simtest.ContosoSub), simtest.Contoso)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListAlertRules(context.Background())
			e := azerr.From(err)
			if e == nil || e.Kind != tc.kind || e.Code != tc.code {
				t.Fatalf("%+v", e)
			}
			if strings.Contains(err.Error(), "not-the-secret") || strings.Contains(err.Error(), simtest.AppSecret) {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestDeviceCodeFlow(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	prompts := make(chan credential.DeviceCodePrompt, 1)
	dc, err := env.Creds.DeviceCode(simtest.Profile, simtest.FabrikamTenant, credential.DeviceCodeOptions{Prompt: credential.PromptToChannel(prompts)})
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		rec azidentity.AuthenticationRecord
		err error
	}
	done := make(chan result, 1)
	started := time.Now()
	go func() {
		rec, err := dc.Authenticate(ctx, armScope)
		done <- result{rec, err}
	}()
	var p credential.DeviceCodePrompt
	select {
	case p = <-prompts:
	case <-ctx.Done():
		t.Fatal("no prompt")
	}
	prompted := time.Now()
	// What the operation shows the person: URL, code, expiry (from expires_in: 15 min).
	if p.VerificationURL != env.Sim.URL()+"/devicelogin" || p.UserCode == "" || p.TenantID != simtest.FabrikamTenant ||
		!strings.Contains(p.Message, p.UserCode) {
		t.Fatalf("%+v", p)
	}
	// expires_in (15 min) counts from when the device-code request was sent:
	// between the start and the prompt, however long that took.
	if d, e := p.ExpiresAt.Sub(started), p.ExpiresAt.Sub(prompted); d < 14*time.Minute || e > 15*time.Minute {
		t.Fatalf("expiry %v after the start, %v after the prompt", d, e)
	}
	if err := env.Sim.ApproveDeviceCode(p.UserCode, simtest.FabrikamAdmin); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.rec.Username != simtest.FabrikamAdmin || r.rec.TenantID != simtest.FabrikamTenant {
		t.Fatalf("%+v", r.rec)
	}
	// The signed-in person's token drives ARM; a second scope comes from the refresh token.
	tk := getToken(t, dc, armScope)
	claims := jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(tk.Token, claims)
	if claims["idtyp"] != "user" || claims["upn"] != simtest.FabrikamAdmin {
		t.Fatalf("%v", claims)
	}
	getToken(t, dc, "https://api.securitycenter.microsoft.com/.default")
	select {
	case extra := <-prompts:
		t.Fatalf("second prompt %+v: the cached account should have been used", extra)
	default:
	}

	// A persisted record without automatic authentication never prompts: it fails with
	// InteractionRequired when no cached token exists (new credential, empty cache).
	quiet, err := env.Creds.DeviceCode(simtest.Profile, simtest.FabrikamTenant, credential.DeviceCodeOptions{
		Prompt: credential.PromptToChannel(prompts), AuthenticationRecord: r.rec, DisableAutomaticAuthentication: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = quiet.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	if azerr.Classify(err) != azerr.InteractionRequired {
		t.Fatalf("%v", err)
	}
}

func TestDeviceCodeDeclined(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dc, err := env.Creds.DeviceCode(simtest.Profile, simtest.ContosoTenant, credential.DeviceCodeOptions{
		Prompt: func(_ context.Context, p credential.DeviceCodePrompt) error {
			return env.Sim.DeclineDeviceCode(p.UserCode)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = dc.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
	// MSAL consumed the token response body; the credential restores it for azerr.
	e := azerr.From(err)
	if e.Kind != azerr.InteractionRequired || e.Code != "AADSTS70000" || !strings.Contains(e.Message, "denied") {
		t.Fatalf("%+v", e)
	}
	var afe *azidentity.AuthenticationFailedError
	if !errors.As(err, &afe) {
		t.Fatal("original AuthenticationFailedError lost")
	}
}

// TestOnBehalfOf: a caller hands xdrlink a user token for the xdrlink app; the OBO
// credential exchanges it for an ARM token of the same person, which connects Defender XDR
// for a tenant that needs a delegated first connect.
func TestOnBehalfOf(t *testing.T) {
	cert := newAppCert(t)
	tokenDir := t.TempDir()
	env := simtest.Start(t, simtest.Config{
		Sim: azuresim.Options{World: worldWithCert(t, cert)},
		Profiles: []credential.Profile{
			{Name: simtest.Profile, Kind: credential.KindClientSecret, ClientID: simtest.AppID, ClientSecretEnv: simtest.SecretEnv},
			{Name: "cert", Kind: credential.KindCertificate, ClientID: simtest.AppID, CertificateFile: cert.pemFile},
			{Name: "wi", Kind: credential.KindWorkloadIdentity, ClientID: simtest.AppID, FederatedTokenFile: filepath.Join(tokenDir, "token")},
		},
	})
	if err := os.WriteFile(filepath.Join(tokenDir, "token"), []byte(cert.federatedToken(t, env.Sim.URL(), simtest.FabrikamTenant)), 0o600); err != nil {
		t.Fatal(err)
	}
	// The caller's token: a real device-code sign-in for the app's own audience.
	signIn := env.UserCredential(t, simtest.FabrikamTenant, simtest.FabrikamAdmin)
	assertion := getToken(t, signIn, "api://"+simtest.AppID+"/.default").Token

	for _, profile := range []string{simtest.Profile, "cert", "wi"} {
		t.Run(profile, func(t *testing.T) {
			obo, err := env.Creds.OnBehalfOf(profile, simtest.FabrikamTenant, assertion)
			if err != nil {
				t.Fatal(err)
			}
			tk := getToken(t, obo, armScope)
			claims := jwt.MapClaims{}
			_, _, _ = jwt.NewParser().ParseUnverified(tk.Token, claims)
			if claims["upn"] != simtest.FabrikamAdmin || claims["aud"] != "https://management.azure.com" {
				t.Fatalf("%v", claims)
			}
		})
	}
	obo, err := env.Creds.OnBehalfOf(simtest.Profile, simtest.FabrikamTenant, assertion)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sentinel.New(env.ARMWith(t, obo, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.Fabrikam)
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := c.PutMTPDataConnector(context.Background(), "mtp", "", sentinel.MTPProperties{
		TenantID: simtest.FabrikamTenant, DataTypes: sentinel.MTPDataTypes{Incidents: sentinel.DataTypeState{State: sentinel.StateEnabled}},
	}); err != nil || !created {
		t.Fatalf("delegated connect through OBO: created=%v err=%v", created, err)
	}

	// An app-only token is not a user assertion.
	appTok, err := env.Sim.IssueAppToken(simtest.FabrikamTenant, simtest.AppID, "api://"+simtest.AppID)
	if err != nil {
		t.Fatal(err)
	}
	bad, err := env.Creds.OnBehalfOf(simtest.Profile, simtest.FabrikamTenant, appTok)
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armScope}})
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) || azerr.Classify(err) != azerr.Unauthenticated {
		t.Fatalf("%v", err)
	}
}

// TestManagedIdentityAsFederatedCredential: a managed_identity profile with the app's client
// id gets a managed-identity token for the token-exchange audience (from a fake App Service
// identity endpoint) and presents it as the app's client assertion in the customer tenant.
// The fake endpoint signs with the app's certificate because that is what the sim trusts.
func TestManagedIdentityAsFederatedCredential(t *testing.T) {
	cert := newAppCert(t)
	var simURL string
	var resources []string
	mi := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-IDENTITY-HEADER") != "fake-header" {
			http.Error(w, "missing identity header", http.StatusUnauthorized)
			return
		}
		resources = append(resources, r.URL.Query().Get("resource")+" as "+r.URL.Query().Get("client_id"))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"access_token": cert.federatedToken(t, simURL, simtest.ContosoTenant),
			"expires_on":   strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
			"resource":     r.URL.Query().Get("resource"), "token_type": "Bearer",
		})
	}))
	defer mi.Close()
	t.Setenv("IDENTITY_ENDPOINT", mi.URL)
	t.Setenv("IDENTITY_HEADER", "fake-header")

	// MSAL caches managed-identity tokens process-wide; a fresh user-assigned identity per run
	// keeps a cached token of an earlier run (signed with another certificate) out of this one.
	miClientID := fmt.Sprintf("%08x-0000-4000-8000-%012x", time.Now().UnixNano()&0xffffffff, time.Now().UnixNano()&0xffffffffffff)
	env := simtest.Start(t, simtest.Config{
		Sim: azuresim.Options{World: worldWithCert(t, cert)},
		Profiles: []credential.Profile{{Name: "mi", Kind: credential.KindManagedIdentity, ClientID: simtest.AppID,
			ManagedIdentityClientID: miClientID}},
	})
	simURL = env.Sim.URL()
	cred, err := env.Creds.Get("mi", simtest.ContosoTenant)
	if err != nil {
		t.Fatal(err)
	}
	tk := getToken(t, cred, armScope)
	claims := jwt.MapClaims{}
	_, _, _ = jwt.NewParser().ParseUnverified(tk.Token, claims)
	if claims["tid"] != simtest.ContosoTenant || claims["appid"] != simtest.AppID {
		t.Fatalf("%v", claims)
	}
	if len(resources) != 1 || resources[0] != "api://AzureADTokenExchange as "+miClientID {
		t.Fatalf("managed identity asked for %v", resources)
	}
}
