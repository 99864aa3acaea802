package azuresim

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Every emulated API verifies the token; these cases drive ARM with tokens
// that are wrong in exactly one way.
func TestARMTokenChecks(t *testing.T) {
	s := startSim(t, Options{})
	ws := wsPath(contosoSub, contosoRG, contosoWS)
	graphTok, _ := s.IssueAppToken(contosoTID, appID, AudienceGraph)
	fabTok, _ := s.IssueAppToken(fabrikamTID, appID, AudienceARM)
	good, _ := s.IssueAppToken(contosoTID, appID, AudienceARM)

	// Same claims, signed by a key that is not the sim's.
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	c := claimsOf(t, good)
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(otherKey)
	// Signed with the sim's key but claiming the "none" algorithm.
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, c).SignedString(jwt.UnsafeAllowNoneSignatureType)

	cases := []struct {
		name   string
		token  string
		status int
		code   string
	}{
		{"valid", good, http.StatusOK, ""},
		{"missing", "", http.StatusUnauthorized, "AuthenticationFailed"},
		{"wrong audience", graphTok, http.StatusUnauthorized, "InvalidAuthenticationTokenAudience"},
		{"wrong tenant", fabTok, http.StatusUnauthorized, "InvalidAuthenticationTokenTenant"},
		{"foreign signature", forged, http.StatusUnauthorized, "InvalidAuthenticationToken"},
		{"alg none", none, http.StatusUnauthorized, "InvalidAuthenticationToken"},
		{"garbage", "not.a.jwt", http.StatusUnauthorized, "InvalidAuthenticationToken"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, s.URL()+ws+"?api-version=2022-10-01", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := s.HTTPClient().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body ErrorBody
			_ = jsonDecode(resp, &body)
			if resp.StatusCode != tc.status || body.Error.Code != tc.code {
				t.Fatalf("got %d %q (%s), want %d %q", resp.StatusCode, body.Error.Code, body.Error.Message, tc.status, tc.code)
			}
			if tc.status == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer authorization_uri=") {
				t.Fatalf("401 without a Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestTokenExpiresWhenSimClockAdvances(t *testing.T) {
	s := startSim(t, Options{TokenLifetime: time.Hour})
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	ws := wsPath(contosoSub, contosoRG, contosoWS)
	wantStatus(t, do(t, c, http.MethodGet, ws, "2022-10-01", nil), http.StatusOK)
	s.AdvanceClock(61 * time.Minute)
	// The client's MSAL cache still holds the token (it uses real time);
	// the sim must refuse it as expired.
	r := do(t, c, http.MethodGet, ws, "2022-10-01", nil)
	wantError(t, r, http.StatusUnauthorized, "ExpiredAuthenticationToken")
}

func TestRequireTokenKind(t *testing.T) {
	s := startSim(t, Options{})
	app, _ := s.IssueAppToken(contosoTID, appID, AudienceDefender)
	user, _ := s.IssueUserToken(contosoTID, contosoAdmin, appID, AudienceDefender+"/.default")
	check := func(tok string, kind TokenKind) error {
		r := httptest.NewRequest(http.MethodGet, "/api/dataExportSettings", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		_, err := s.RequireToken(r, AudienceDefender, kind)
		return err
	}
	if err := check(app, TokenDelegated); err == nil || err.(*APIError).Status != tokenKindMismatchStatus {
		t.Fatalf("app token for a delegated-only API: %v", err)
	}
	if err := check(user, TokenApp); err == nil {
		t.Fatal("user token for an app-only API must fail")
	}
	for _, tc := range []struct {
		tok  string
		kind TokenKind
	}{{user, TokenDelegated}, {app, TokenApp}, {app, TokenAny}, {user, TokenAny}} {
		if err := check(tc.tok, tc.kind); err != nil {
			t.Fatalf("kind %v: %v", tc.kind, err)
		}
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+user)
	caller, err := s.RequireToken(r, AudienceDefender, TokenAny)
	if err != nil {
		t.Fatal(err)
	}
	if caller.Kind != TokenDelegated || caller.UPN != contosoAdmin || caller.TenantID != contosoTID {
		t.Fatalf("caller = %+v", caller)
	}
	if err := caller.RequireTenant(s, fabrikamTID); err == nil || err.(*APIError).Code != "InvalidAuthenticationTokenTenant" {
		t.Fatalf("RequireTenant: %v", err)
	}
}

// The fault middleware's principalHint and the handler's RequireToken share
// one signature check per request; expiry is still judged when the token is
// used, so a token that expires in between (injected latency while the
// clock moves) is refused.
func TestRequestTokenVerifiedOncePerRequestExpiryAtUse(t *testing.T) {
	s := startSim(t, Options{TokenLifetime: time.Minute})
	tok, err := s.IssueAppToken(contosoTID, appID, AudienceARM)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/subscriptions/"+contosoSub, nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	ri := &requestInfo{family: FamilyARM}
	r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri))

	if got := s.principalHint(r); !strings.HasPrefix(got, contosoTID+"/") {
		t.Fatalf("principalHint = %q", got)
	}
	if ri.token == nil || ri.token.raw != tok || ri.token.err != nil {
		t.Fatalf("signature check not kept for the request: %+v", ri.token)
	}
	kept := ri.token
	if _, err := s.RequireToken(r, AudienceARM, TokenAny); err != nil {
		t.Fatalf("RequireToken: %v", err)
	}
	if ri.token != kept {
		t.Fatal("RequireToken verified the signature again")
	}
	s.AdvanceClock(2 * time.Minute)
	_, err = s.RequireToken(r, AudienceARM, TokenAny)
	if ae, ok := err.(*APIError); !ok || ae.Code != "ExpiredAuthenticationToken" {
		t.Fatalf("after expiry: %v, want ExpiredAuthenticationToken", err)
	}

	// A different token on the same request is verified on its own.
	r.Header.Set("Authorization", "Bearer "+tok+"x")
	if got := s.principalHint(r); got != "invalid" {
		t.Fatalf("tampered token: principalHint = %q, want invalid", got)
	}
}
