package azuresim

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// staffSim starts the demo world and returns its staff setup.
func staffSim(t *testing.T) (*Sim, StaffIdentity) {
	t.Helper()
	w, customers := DemoWorld()
	s := startSim(t, Options{World: w, Customers: customers})
	si, ok := s.StaffIdentity()
	if !ok {
		t.Fatal("demo world has no staff identity")
	}
	return s, si
}

// staffVerifier is how the product verifies staff tokens: go-oidc against
// the MSSP tenant's discovery document, audience the xdrlink API app.
func staffVerifier(t *testing.T, s *Sim, si StaffIdentity) *oidc.IDTokenVerifier {
	t.Helper()
	ctx := oidc.ClientContext(context.Background(), s.HTTPClient())
	p, err := oidc.NewProvider(ctx, si.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	return p.Verifier(&oidc.Config{ClientID: si.Audience, Now: s.Now})
}

func passwordToken(t *testing.T, s *Sim, si StaffIdentity, upn, password string) (int, map[string]any) {
	t.Helper()
	return postToken(t, s, si.TenantID, url.Values{"grant_type": {"password"}, "client_id": {si.PublicClientID},
		"username": {upn}, "password": {password}, "scope": {si.APIScope + " openid profile"}})
}

func wantAADSTS(t *testing.T, status int, body map[string]any, wantCode string, aadsts float64) {
	t.Helper()
	codes, _ := body["error_codes"].([]any)
	if status != http.StatusBadRequest || body["error"] != wantCode || len(codes) != 1 || codes[0] != aadsts {
		t.Fatalf("want 400 %s AADSTS%v, got %d %v", wantCode, aadsts, status, body)
	}
}

// staffClaims are the claims the product reads from a staff token.
type staffClaims struct {
	Iss, Sub, Aud, Tid, Oid, Upn, Name, Azp, Idtyp, Ver, Scp string
	PreferredUsername                                        string   `json:"preferred_username"`
	Roles                                                    []string `json:"roles"`
	Exp, Nbf, Iat                                            int64
}

func TestStaffPasswordGrantTokensVerifyWithGoOIDC(t *testing.T) {
	s, si := staffSim(t)
	v := staffVerifier(t, s, si)
	if si.Issuer != s.URL()+"/"+si.TenantID+"/v2.0" || si.TenantID != DemoStaff().TenantID || si.APIClientID != DemoStaff().APIClientID {
		t.Fatalf("staff identity %+v", si)
	}
	want := map[string][]string{
		"admin": {"Admin"}, "operator": {"Operator"}, "viewer": {"Viewer"},
		"east-operator": {"Operator.pod-east"}, "west-viewer": {"Viewer.pod-west"}, "unassigned": nil,
	}
	for local, roles := range want {
		u, ok := si.User(local)
		if !ok || u.Password != DemoStaffPassword || !slices.Equal(u.Roles, roles) {
			t.Fatalf("%s: %+v", local, u)
		}
		status, body := passwordToken(t, s, si, u.UPN, u.Password)
		if status != http.StatusOK || body["token_type"] != "Bearer" {
			t.Fatalf("%s: %d %v", local, status, body)
		}
		raw, _ := body["access_token"].(string)
		tok, err := v.Verify(context.Background(), raw)
		if err != nil {
			t.Fatalf("%s: %v", local, err)
		}
		var c staffClaims
		if err := tok.Claims(&c); err != nil {
			t.Fatal(err)
		}
		if c.Iss != si.Issuer || c.Aud != si.Audience || si.Audience != si.APIClientID || c.Tid != si.TenantID || c.Oid != u.ObjectID || c.Sub != u.ObjectID ||
			c.Upn != u.UPN || c.PreferredUsername != u.UPN || c.Name != u.DisplayName || c.Azp != si.PublicClientID ||
			c.Idtyp != "user" || c.Ver != "2.0" || c.Scp != "access_as_user" {
			t.Fatalf("%s: claims %+v", local, c)
		}
		if c.Nbf == 0 || c.Iat == 0 || c.Exp <= c.Iat || c.Nbf > c.Iat {
			t.Fatalf("%s: times nbf %d iat %d exp %d", local, c.Nbf, c.Iat, c.Exp)
		}
		if !slices.Equal(c.Roles, roles) {
			t.Fatalf("%s: roles %v, want %v", local, c.Roles, roles)
		}
		if roles == nil && strings.Contains(string(mustJSONClaims(t, tok)), `"roles"`) {
			t.Fatalf("%s: a user without assignments has a roles claim", local)
		}
	}
}

func mustJSONClaims(t *testing.T, tok *oidc.IDToken) []byte {
	t.Helper()
	var raw json.RawMessage
	if err := tok.Claims(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

// Delegated tokens from the other grants carry the roles too.
func TestStaffDeviceCodeTokenCarriesRoles(t *testing.T) {
	s, si := staffSim(t)
	v := staffVerifier(t, s, si)
	raw, err := s.IssueUserToken(si.TenantID, "east-operator@mssp.onmicrosoft.com", si.PublicClientID, si.APIIdentifierURI+"/access_as_user")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := v.Verify(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	var c staffClaims
	_ = tok.Claims(&c)
	if !slices.Equal(c.Roles, []string{"Operator.pod-east"}) {
		t.Fatalf("roles %v", c.Roles)
	}
}

func TestStaffServiceAppClientCredentials(t *testing.T) {
	s, si := staffSim(t)
	v := staffVerifier(t, s, si)
	status, body := postToken(t, s, si.TenantID, url.Values{"grant_type": {"client_credentials"}, "client_id": {si.ServiceClientID},
		"client_secret": {si.ServiceClientSecret}, "scope": {si.APIScope}})
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	tok, err := v.Verify(context.Background(), body["access_token"].(string))
	if err != nil {
		t.Fatal(err)
	}
	var c staffClaims
	_ = tok.Claims(&c)
	if c.Idtyp != "app" || c.Azp != si.ServiceClientID || c.Tid != si.TenantID || c.Sub == "" || c.Sub != c.Oid ||
		!slices.Equal(c.Roles, si.ServiceRoles) || !slices.Equal(c.Roles, []string{"Operator"}) {
		t.Fatalf("claims %+v", c)
	}
}

func TestStaffPasswordGrantFailures(t *testing.T) {
	s, si := staffSim(t)
	status, body := passwordToken(t, s, si, "admin@mssp.onmicrosoft.com", "wrong")
	wantAADSTS(t, status, body, "invalid_grant", 50126)
	if !strings.HasPrefix(body["error_description"].(string), "AADSTS50126: ") {
		t.Fatalf("description %v", body["error_description"])
	}
	status, body = passwordToken(t, s, si, "nobody@mssp.onmicrosoft.com", DemoStaffPassword)
	wantAADSTS(t, status, body, "invalid_grant", 50034)
	status, body = passwordToken(t, s, si, "admin@mssp.onmicrosoft.com", "")
	wantAADSTS(t, status, body, "invalid_request", 900144)

	// A confidential client must authenticate (no public flows).
	status, body = postToken(t, s, si.TenantID, url.Values{"grant_type": {"password"}, "client_id": {si.ServiceClientID},
		"username": {"admin@mssp.onmicrosoft.com"}, "password": {DemoStaffPassword}, "scope": {si.APIScope}})
	if status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Fatalf("confidential client without secret: %d %v", status, body)
	}

	// Customer users have no password in the world: as if MFA were required.
	w, customers := DemoWorld()
	c := customers[0]
	status, body = postToken(t, s, c.EntraTenantID, url.Values{"grant_type": {"password"},
		"client_id": {w.Apps[0].ClientID}, "username": {c.AdminUPN}, "password": {"x"}, "scope": {AudienceGraph + "/.default"}})
	wantAADSTS(t, status, body, passwordGrantMFACode, passwordGrantMFAAADSTS)
}

func TestStaffSigningKeyRotation(t *testing.T) {
	s, si := staffSim(t)
	v := staffVerifier(t, s, si)
	token := func() string {
		t.Helper()
		status, body := passwordToken(t, s, si, "admin@mssp.onmicrosoft.com", DemoStaffPassword)
		if status != http.StatusOK {
			t.Fatalf("%d %v", status, body)
		}
		return body["access_token"].(string)
	}
	before := token()
	if _, err := v.Verify(context.Background(), before); err != nil { // caches the first key set
		t.Fatal(err)
	}
	oldKids := s.SigningKeyIDs()
	kid, err := s.RotateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.SigningKeyIDs(); !slices.Equal(got, []string{kid, oldKids[0]}) {
		t.Fatalf("keys after rotation %v (new %s, old %v)", got, kid, oldKids)
	}
	after := token()
	if kidOf(t, after) != kid || kidOf(t, before) != oldKids[0] {
		t.Fatal("tokens not signed by the expected keys")
	}
	// The same verifier meets an unknown kid and refetches the JWKS.
	if _, err := v.Verify(context.Background(), after); err != nil {
		t.Fatalf("token signed after rotation: %v", err)
	}
	if _, err := v.Verify(context.Background(), before); err != nil {
		t.Fatalf("token signed before rotation: %v", err)
	}

	// A second rotation, through the admin API, drops the first key.
	resp, err := s.HTTPClient().Post(s.URL()+"/_sim/signing-keys/rotate", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Kid   string   `json:"kid"`
		Value []string `json:"value"`
	}
	err = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !slices.Equal(out.Value, []string{out.Kid, kid}) {
		t.Fatalf("admin rotate: %d %+v %v", resp.StatusCode, out, err)
	}
	var jwks struct {
		Keys []struct{ Kid string } `json:"keys"`
	}
	if err := getJSON(t, s, s.URL()+"/"+si.TenantID+"/discovery/v2.0/keys", &jwks); err != nil {
		t.Fatal(err)
	}
	if len(jwks.Keys) != 2 || jwks.Keys[0].Kid != out.Kid || jwks.Keys[1].Kid != kid {
		t.Fatalf("jwks %+v", jwks)
	}
	if _, err := staffVerifier(t, s, si).Verify(context.Background(), before); err == nil {
		t.Fatal("a token signed by a dropped key still verifies")
	}
	if _, err := s.tokens.parse(before); err == nil {
		t.Fatal("the sim still accepts a token signed by a dropped key")
	}
	if _, err := staffVerifier(t, s, si).Verify(context.Background(), after); err != nil {
		t.Fatalf("token signed by the previous key: %v", err)
	}
}

func kidOf(t *testing.T, raw string) string {
	t.Helper()
	h, _, _ := strings.Cut(raw, ".")
	var hdr struct{ Kid string }
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil || json.Unmarshal(b, &hdr) != nil {
		t.Fatalf("header of %q: %v", raw, err)
	}
	return hdr.Kid
}

func getJSON(t *testing.T, s *Sim, u string, v any) error {
	t.Helper()
	resp, err := s.HTTPClient().Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", u, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// The discovery document go-oidc reads: its issuer is the URL it was asked
// for, for the tenant id and for a domain alike (Entra names the tenant id).
func TestStaffDiscoveryAndAdminStaff(t *testing.T) {
	s, si := staffSim(t)
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
		Token   string `json:"token_endpoint"`
	}
	if err := getJSON(t, s, si.DiscoveryURL, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Issuer != si.Issuer || doc.Token != si.TokenEndpoint || doc.JWKSURI != s.URL()+"/"+si.TenantID+"/discovery/v2.0/keys" {
		t.Fatalf("discovery %+v, staff %+v", doc, si)
	}
	if s.Issuer("mssp.onmicrosoft.com") != si.Issuer {
		t.Fatalf("issuer by domain %s", s.Issuer("mssp.onmicrosoft.com"))
	}
	var got StaffIdentity
	if err := getJSON(t, s, s.URL()+"/_sim/staff", &got); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(si)
	if !bytes.Equal(a, b) {
		t.Fatalf("GET /_sim/staff %s, want %s", a, b)
	}
}

// Generated worlds have the same staff, in their own MSSP tenant; worlds
// without the staff apps have no staff identity.
func TestStaffInGeneratedWorldOnly(t *testing.T) {
	s := startSim(t, Options{World: GenerateWorld(3, 7)})
	si, ok := s.StaffIdentity()
	if !ok || si.TenantID == DemoStaff().TenantID || len(si.Users) != len(DemoStaff().Users) {
		t.Fatalf("generated world staff %+v %v", si, ok)
	}
	status, body := passwordToken(t, s, si, "viewer@mssp.onmicrosoft.com", DemoStaffPassword)
	if status != http.StatusOK {
		t.Fatalf("%d %v", status, body)
	}
	if _, ok := startSim(t, Options{}).StaffIdentity(); ok {
		t.Fatal("the test world has a staff identity")
	}
}

func TestWorldRejectsUndefinedAppRole(t *testing.T) {
	w, _ := DemoWorld()
	w.Tenants[0].Users[0].AppRoles = map[string][]string{DemoStaff().APIClientID: {"Owner"}}
	raw, _ := json.Marshal(w)
	if _, err := LoadWorld(bytes.NewReader(raw)); err == nil || !strings.Contains(err.Error(), `"Owner"`) {
		t.Fatalf("want an undefined role error, got %v", err)
	}
}
