package azuresim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/golang-jwt/jwt/v5"
)

// claimsOf decodes a token's claims without verifying (the sim verifies).
func claimsOf(t *testing.T, tok string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClientSecretTokenClaims(t *testing.T) {
	s := startSim(t, Options{})
	tk, err := appCredential(t, s, contosoTID).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceGraph + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, tk.Token)
	for k, want := range map[string]any{"aud": AudienceGraph, "tid": contosoTID, "oid": "20000000-0000-4000-8000-0000000000b1", "appid": appID, "idtyp": "app"} {
		if c[k] != want {
			t.Errorf("claim %s = %v, want %v", k, c[k], want)
		}
	}
	if roles, _ := c["roles"].([]any); len(roles) != 2 || roles[0] != "Directory.Read.All" {
		t.Errorf("roles = %v, want the service principal's Graph app roles", c["roles"])
	}
	if _, ok := c["scp"]; ok {
		t.Error("app-only token must not carry scp")
	}
}

func TestClientCredentialsRefused(t *testing.T) {
	s := startSim(t, Options{})
	cases := []struct {
		name, tenant, secret, scope, want string
	}{
		{"wrong secret", contosoTID, "nope", AudienceARM + "/.default", "AADSTS7000215"},
		{"no service principal in tenant", "10000000-0000-4000-8000-000000000000", appSecret, AudienceARM + "/.default", "AADSTS700016"},
		{"unknown tenant", "99999999-0000-4000-8000-000000000000", appSecret, AudienceARM + "/.default", "AADSTS90002"},
		{"unknown resource", contosoTID, appSecret, "https://vault.example.net/.default", "AADSTS500011"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewClientSecretCredential(tc.tenant, appID, tc.secret, &azidentity.ClientSecretCredentialOptions{
				ClientOptions: s.ClientOptions(), DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{tc.scope}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}

func TestTenantByDomainInAuthority(t *testing.T) {
	s := startSim(t, Options{})
	tk, err := appCredential(t, s, "contoso.onmicrosoft.com").GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceARM + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if tid := claimsOf(t, tk.Token)["tid"]; tid != contosoTID {
		t.Fatalf("tid = %v", tid)
	}
}

func selfSignedCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "xdrlink"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestClientCertificateCredential(t *testing.T) {
	w := loadTestWorld(t)
	cert, key, certPEM := selfSignedCert(t)
	w.Apps[0].Certificates = []string{certPEM}
	s := startSim(t, Options{World: w})
	newCred := func(c *x509.Certificate, k *rsa.PrivateKey) *azidentity.ClientCertificateCredential {
		cred, err := azidentity.NewClientCertificateCredential(contosoTID, appID, []*x509.Certificate{c}, k,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: s.ClientOptions(), DisableInstanceDiscovery: true})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	tk, err := newCred(cert, key).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceARM + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if claimsOf(t, tk.Token)["idtyp"] != "app" {
		t.Fatal("want app token")
	}
	otherCert, otherKey, _ := selfSignedCert(t)
	_, err = newCred(otherCert, otherKey).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceARM + "/.default"}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("unregistered certificate: err = %v, want AADSTS700027", err)
	}
}

func TestDeviceCodePendingUntilApprovedThenDelegatedToken(t *testing.T) {
	s := startSim(t, Options{})
	var mu sync.Mutex
	var userCode string
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		TenantID: contosoTID, ClientID: appID, ClientOptions: s.ClientOptions(), DisableInstanceDiscovery: true,
		UserPrompt: func(ctx context.Context, m azidentity.DeviceCodeMessage) error {
			mu.Lock()
			userCode = m.UserCode
			mu.Unlock()
			if !strings.Contains(m.Message, m.UserCode) {
				t.Errorf("message %q lacks the user code", m.Message)
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	type res struct {
		tok string
		err error
	}
	done := make(chan res, 1)
	go func() {
		tk, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceARM + "/.default"}})
		done <- res{tk.Token, err}
	}()
	// Wait until the client has polled and been told authorization_pending.
	deadline := time.Now().Add(10 * time.Second)
	for s.CountRequests("entra.token", http.MethodPost, http.StatusBadRequest) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("client never polled the token endpoint")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case r := <-done:
		t.Fatalf("token issued before approval: %+v %v", r, r.err)
	default:
	}
	if p := s.PendingDeviceCodes(); len(p) != 1 {
		t.Fatalf("pending = %v", p)
	}
	mu.Lock()
	code := userCode
	mu.Unlock()
	if err := s.ApproveDeviceCode(code, "nobody@contoso.onmicrosoft.com"); err == nil {
		t.Fatal("approving as a user outside the tenant must fail")
	}
	if err := s.ApproveDeviceCode(code, contosoAdmin); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	c := claimsOf(t, r.tok)
	if c["idtyp"] != "user" || c["upn"] != contosoAdmin || c["scp"] != "user_impersonation" || c["tid"] != contosoTID || c["aud"] != AudienceARM {
		t.Fatalf("claims = %v", c)
	}
	// A second resource comes from the refresh token, without a new prompt.
	tk, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceGraph + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, tk.Token); c["aud"] != AudienceGraph || !strings.Contains(c["scp"].(string), "RoleManagement.Read.Directory") {
		t.Fatalf("graph claims = %v", c)
	}
}

func TestDeviceCodeDeclined(t *testing.T) {
	s := startSim(t, Options{})
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		TenantID: contosoTID, ClientID: appID, ClientOptions: s.ClientOptions(), DisableInstanceDiscovery: true,
		UserPrompt: func(ctx context.Context, m azidentity.DeviceCodeMessage) error {
			return s.DeclineDeviceCode(m.UserCode)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceARM + "/.default"}})
	var authErr *azidentity.AuthenticationFailedError
	if !errors.As(err, &authErr) || authErr.RawResponse == nil || authErr.RawResponse.StatusCode != http.StatusBadRequest {
		t.Fatalf("err = %v, want a 400 authentication failure", err)
	}
	// A declined code ends the flow: exactly one poll, no token.
	if n := s.CountRequests("entra.token", http.MethodPost, 0); n != 1 {
		t.Fatalf("token endpoint polled %d times, want 1", n)
	}
}

func TestOnBehalfOfExchangesDelegatedToken(t *testing.T) {
	s := startSim(t, Options{})
	incoming, err := s.IssueUserToken(contosoTID, contosoAdmin, appID, "api://"+appID+"/.default")
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewOnBehalfOfCredentialWithSecret(contosoTID, appID, incoming, appSecret,
		&azidentity.OnBehalfOfCredentialOptions{ClientOptions: s.ClientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tk, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceDefender + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	c := claimsOf(t, tk.Token)
	if c["aud"] != AudienceDefender || c["idtyp"] != "user" || c["oid"] != "20000000-0000-4000-8000-0000000000a1" {
		t.Fatalf("claims = %v", c)
	}
	// An assertion for another audience (here: ARM) is not the app's to exchange.
	wrongAud, _ := s.IssueUserToken(contosoTID, contosoAdmin, appID, AudienceARM+"/.default")
	cred2, _ := azidentity.NewOnBehalfOfCredentialWithSecret(contosoTID, appID, wrongAud, appSecret,
		&azidentity.OnBehalfOfCredentialOptions{ClientOptions: s.ClientOptions(), DisableInstanceDiscovery: true})
	if _, err := cred2.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceDefender + "/.default"}}); err == nil {
		t.Fatal("OBO with an assertion for another audience must fail")
	}
	// An app-only token cannot be exchanged.
	appTok, _ := s.IssueAppToken(contosoTID, appID, appID)
	cred3, _ := azidentity.NewOnBehalfOfCredentialWithSecret(contosoTID, appID, appTok, appSecret,
		&azidentity.OnBehalfOfCredentialOptions{ClientOptions: s.ClientOptions(), DisableInstanceDiscovery: true})
	var authErr *azidentity.AuthenticationFailedError
	if _, err := cred3.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{AudienceDefender + "/.default"}}); !errors.As(err, &authErr) {
		t.Fatalf("OBO with an app token: err = %v, want AuthenticationFailedError", err)
	}
}

func TestJWKSPublishesSigningKey(t *testing.T) {
	s := startSim(t, Options{})
	tok, _ := s.IssueAppToken(contosoTID, appID, AudienceARM)
	resp, err := s.HTTPClient().Get(s.URL() + "/" + contosoTID + "/discovery/v2.0/keys")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := jsonDecode(resp, &jwks); err != nil || len(jwks.Keys) != 1 {
		t.Fatalf("jwks: %v %v", err, jwks)
	}
	parsed, _, _ := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if parsed.Header["kid"] != jwks.Keys[0].Kid {
		t.Fatalf("token kid %v not in JWKS %v", parsed.Header["kid"], jwks.Keys[0].Kid)
	}
}

// Anyone who knows a public client id can request device codes, so codes
// abandoned long enough are pruned; a code that expired recently is kept,
// so a late poll still gets expired_token.
func TestAbandonedDeviceCodesArePruned(t *testing.T) {
	st := newDeviceCodeStore()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	add := func(n int, at time.Time) map[string]bool {
		codes := map[string]bool{}
		for range n {
			dc := &DeviceCode{ExpiresAt: at.Add(deviceCodeLifetime)}
			st.add(dc, at)
			codes[dc.deviceCode] = true
		}
		return codes
	}
	abandoned := add(300, t0)
	recent := add(300, t0.Add(deviceCodeLifetime+time.Minute)) // the first 300 have just expired
	for c := range abandoned {
		if st.byDevice[c] == nil {
			t.Fatal("a code expired a minute ago was pruned")
		}
	}
	add(1500, t0.Add(2*deviceCodeLifetime+time.Minute)) // the store doubles at least once
	for c := range abandoned {
		if st.byDevice[c] != nil {
			t.Fatalf("a code abandoned for %v is still stored (%d codes)", deviceCodeLifetime+time.Minute, len(st.byDevice))
		}
	}
	for c := range recent {
		if st.byDevice[c] == nil {
			t.Fatal("a code within its grace period was pruned")
		}
	}
	if len(st.byUser) != len(st.byDevice) {
		t.Fatalf("byUser %d, byDevice %d", len(st.byUser), len(st.byDevice))
	}
}

// A device-code sign-in that asks for offline_access yields a refresh token
// that another audience's scope can redeem, returning a new refresh token
// each time; without offline_access there is none.
func TestDeviceCodeRefreshTokenForAnotherAudience(t *testing.T) {
	s := startSim(t, Options{})
	userCode, deviceCode := requestDeviceCode(t, s, contosoTID, appID, AudienceARM+"/.default offline_access")
	if err := s.ApproveDeviceCode(userCode, contosoAdmin); err != nil {
		t.Fatal(err)
	}
	poll := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {appID}, "device_code": {deviceCode}}
	st, first := postToken(t, s, contosoTID, poll)
	rt, _ := first["refresh_token"].(string)
	if st != http.StatusOK || rt == "" || claimsOf(t, first["access_token"].(string))["aud"] != AudienceARM {
		t.Fatalf("device code redeem: %d %v", st, first)
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {appID}, "refresh_token": {rt},
		"scope": {AudienceDefender + "/.default"}}
	st, second := postToken(t, s, contosoTID, refresh)
	if st != http.StatusOK {
		t.Fatalf("refresh for Defender: %d %v", st, second)
	}
	if c := claimsOf(t, second["access_token"].(string)); c["aud"] != AudienceDefender || c["upn"] != contosoAdmin || c["idtyp"] != "user" {
		t.Fatalf("defender claims = %v", c)
	}
	if second["refresh_token"] != nil {
		t.Fatal("a refresh without offline_access must not return a refresh token")
	}
	refresh.Set("scope", AudienceDefender+"/.default offline_access")
	st, third := postToken(t, s, contosoTID, refresh)
	if rt2, _ := third["refresh_token"].(string); st != http.StatusOK || rt2 == "" || rt2 == rt {
		t.Fatalf("refresh with offline_access must rotate the refresh token: %d %v", st, third)
	}
	// A public client may send its secret; a wrong one is refused.
	refresh.Set("client_secret", appSecret)
	if st, body := postToken(t, s, contosoTID, refresh); st != http.StatusOK {
		t.Fatalf("refresh with the right secret: %d %v", st, body)
	}
	refresh.Set("client_secret", "wrong")
	if st, body := postToken(t, s, contosoTID, refresh); st != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Fatalf("refresh with a wrong secret: %d %v", st, body)
	}
	// Without offline_access the sign-in gives no refresh token.
	userCode, deviceCode = requestDeviceCode(t, s, contosoTID, appID, AudienceARM+"/.default")
	_ = s.ApproveDeviceCode(userCode, contosoAdmin)
	poll.Set("device_code", deviceCode)
	if st, body := postToken(t, s, contosoTID, poll); st != http.StatusOK || body["refresh_token"] != nil {
		t.Fatalf("no offline_access: %d %v", st, body)
	}
}
