package daemon

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
	"github.com/xdrlink/xdrlink/server/authn"
)

// jwtParts splits a compact JWT and decodes its payload.
func jwtParts(t testing.TB, tok string) (header, payload, sig string, claims map[string]any) {
	t.Helper()
	p := strings.Split(tok, ".")
	if len(p) != 3 {
		t.Fatalf("not a JWT: %d parts", len(p))
	}
	b, err := base64.RawURLEncoding.DecodeString(p[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &claims); err != nil {
		t.Fatal(err)
	}
	return p[0], p[1], p[2], claims
}

// tamperSignature changes one character in the middle of the signature
// (the last one may only carry padding bits).
func tamperSignature(t testing.TB, tok string) string {
	h, p, sig, _ := jwtParts(t, tok)
	b := []byte(sig)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return h + "." + p + "." + string(b)
}

// algNone is tok's claims under {"alg":"none"} with an empty signature.
func algNone(t testing.TB, tok string) string {
	_, p, _, _ := jwtParts(t, tok)
	return base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + p + "."
}

// foreignKeyToken is tok's claims signed by a fresh RSA key under a key id
// the issuer never published.
func foreignKeyToken(t testing.TB, tok string) string {
	_, _, _, claims := jwtParts(t, tok)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	j := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	j.Header["kid"] = "xdrlink-test-unpublished-kid"
	s, err := j.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// otherIssuerToken is a token the emulator signs with its real key for the
// xdrlink API's audience, but as a customer tenant: another "iss".
func otherIssuerToken(t testing.TB, d *Daemon, audience string) string {
	t.Helper()
	clientID := d.azure.cfg.Profiles[0].ClientID
	for _, c := range d.azure.sandbox.Customers() {
		if tok, err := d.azure.sandbox.IssueAppToken(c.EntraTenantID, clientID, audience); err == nil {
			return tok
		}
	}
	t.Fatal("no customer tenant could issue an app token")
	return ""
}

// callerOverGRPC calls GetCaller with the given authorization values (none,
// one, or several headers) and a request id.
func callerOverGRPC(t *testing.T, d *Daemon, requestID string, authz ...string) (*xdrlinkv1.Caller, error) {
	ctx := grpcmd.AppendToOutgoingContext(t.Context(), "x-request-id", requestID)
	for _, a := range authz {
		ctx = grpcmd.AppendToOutgoingContext(ctx, "authorization", a)
	}
	return xdrlinkv1.NewAccessServiceClient(plainConn(t, d)).GetCaller(ctx, &xdrlinkv1.GetCallerRequest{})
}

// callerOverREST is GET /v1/caller with the given Authorization headers.
func callerOverREST(t *testing.T, d *Daemon, requestID string, authz ...string) restResult {
	h := []string{"X-Request-Id", requestID}
	for _, a := range authz {
		h = append(h, "Authorization", a)
	}
	return restCall(t, d, http.MethodGet, "/v1/caller", "", "", &xdrlinkv1.Caller{}, h...)
}

// authFailureLine is the "authentication failed" log line of request id.
func authFailureLine(logs, id string) map[string]any {
	for _, e := range logLines(logs, id) {
		if e["msg"] == "authentication failed" && e["request_id"] == id {
			return e
		}
	}
	return nil
}

// TestAuthBadTokensRefused: every kind of bad bearer token and API key is
// UNAUTHENTICATED over gRPC and 401 over REST, reason UNAUTHENTICATED, with
// a message saying what was wrong and an "authentication failed" log line;
// neither the log nor the answer holds the credential or any 16-character
// piece of it. Good tokens work, also after the issuer rotates its key.
func TestAuthBadTokensRefused(t *testing.T) {
	var logs syncbuf.Buffer
	d := startAuthDaemon(t, &logs)
	si := staffOf(t, d)

	// Good tokens first: the daemon fetches the key set, so that the
	// token signed after the rotation needs a refetch.
	good := passwordGrantToken(t, d, "admin")
	c, err := callerOverGRPC(t, d, "good-before-rotation", "Bearer "+good)
	if err != nil {
		t.Fatalf("admin token refused: %v", err)
	}
	if c.GetAuthMethod() != xdrlinkv1.AuthMethod_AUTH_METHOD_OIDC || !strings.HasPrefix(c.GetPrincipal(), "oidc:"+si.TenantID+"/") ||
		c.GetScoped() || len(c.GetGrants()) != 1 || c.GetGrants()[0].GetRole() != xdrlinkv1.Role_ROLE_ADMIN {
		t.Fatalf("admin caller %v", c)
	}
	if _, err := d.azure.sandbox.RotateSigningKey(); err != nil {
		t.Fatal(err)
	}
	rotated := staffToken(t, d, "admin")
	if rotated == good {
		t.Fatal("same token after rotation")
	}
	if _, err := callerOverGRPC(t, d, "good-after-rotation", "Bearer "+rotated); err != nil {
		t.Fatalf("token signed by the rotated key refused (no key refetch?): %v", err)
	}
	if r := callerOverREST(t, d, "good-after-rotation-rest", "Bearer "+rotated); r.code != http.StatusOK {
		t.Fatalf("REST with the rotated key's token: %d %s", r.code, r.body)
	}

	revokedKey, revokedID := makeKey(t, d, xdrlinkv1.Role_ROLE_VIEWER)
	if _, err := xdrlinkv1.NewAccessServiceClient(plainConn(t, d)).RevokeApiKey(bearerCtx(t.Context(), good),
		&xdrlinkv1.RevokeApiKeyRequest{Name: "apiKeys/" + revokedID}); err != nil {
		t.Fatal(err)
	}
	knownKey, _ := makeKey(t, d, xdrlinkv1.Role_ROLE_ADMIN)
	_, unknownKey, _ := authn.NewAPIKey()
	wrongSecret := knownKey[:len(knownKey)-64] + strings.Repeat("0", 64)

	type tc struct {
		name string
		// authz are the Authorization values sent (one header each).
		authz []string
		// secret is what must appear nowhere (defaults to the credential).
		secret string
		want   string // in the message
	}
	cases := []tc{
		{name: "no credentials", want: "no credentials"},
		{name: "wrong audience", authz: []string{"Bearer " + mustIssueApp(t, d, si.TenantID, si.ServiceClientID, azuresim.AudienceARM)}, want: "audience"},
		{name: "wrong issuer", authz: []string{"Bearer " + otherIssuerToken(t, d, si.Audience)}, want: "issued by a different provider"},
		{name: "wrong signature", authz: []string{"Bearer " + tamperSignature(t, rotated)}, want: "signature"},
		{name: "alg none", authz: []string{"Bearer " + algNone(t, rotated)}, want: "invalid bearer token"},
		{name: "unknown key id", authz: []string{"Bearer " + foreignKeyToken(t, rotated)}, want: "signature"},
		{name: "garbage", authz: []string{"Bearer this-is-no-token-at-all-but-long-enough"}, want: "malformed"},
		{name: "basic scheme", authz: []string{"Basic " + base64.StdEncoding.EncodeToString([]byte("admin@mssp:"+azuresim.DemoStaffPassword))}, want: `"Bearer "`},
		{name: "bearer without credential", authz: []string{"Bearer"}, want: `"Bearer "`},
		{name: "two authorization headers", authz: []string{"Bearer " + rotated, "Bearer " + good}, want: "more than one Authorization header"},
		{name: "malformed API key", authz: []string{"Bearer xdrlink_notakey_0123456789abcdef"}, want: "unknown or malformed API key"},
		{name: "unknown API key", authz: []string{"Bearer " + unknownKey}, want: "unknown or malformed API key"},
		{name: "API key wrong secret", authz: []string{"Bearer " + wrongSecret}, secret: apiKeySecret(wrongSecret), want: "unknown or malformed API key"},
		{name: "revoked API key", authz: []string{"Bearer " + revokedKey}, secret: apiKeySecret(revokedKey), want: "revoked"},
		{name: "expired API key", authz: []string{"Bearer " + makeExpiredKey(t, d, xdrlinkv1.Role_ROLE_ADMIN)}, want: "expired"},
	}
	// Last: a token from the future (the emulator's clock only moves
	// forward, so an expired one cannot be made against the daemon's real
	// clock; server/authn tests expiry with an injected clock).
	d.azure.sandbox.AdvanceClock(2 * time.Hour)
	cases = append(cases, tc{name: "not yet valid", authz: []string{"Bearer " + staffToken(t, d, "admin")}, want: "nbf"})

	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			secrets := []string{tc.secret}
			if tc.secret == "" {
				secrets = nil
				for _, a := range tc.authz {
					_, cred, _ := strings.Cut(a, " ")
					if strings.HasPrefix(cred, authn.APIKeyPrefix) && len(cred) > 64 {
						cred = apiKeySecret(cred)
					}
					if cred != "" {
						secrets = append(secrets, cred)
					}
				}
			}
			check := func(transport, rid string, httpCode int, err error) {
				t.Helper()
				st, _ := status.FromError(err)
				ei := errInfo(err)
				if st.Code() != codes.Unauthenticated || ei.GetReason() != xdrlinkv1.ErrorReason_ERROR_REASON_UNAUTHENTICATED.String() {
					t.Fatalf("%s: got %v (reason %q), want UNAUTHENTICATED", transport, err, ei.GetReason())
				}
				if httpCode != 0 && httpCode != http.StatusUnauthorized {
					t.Errorf("%s: HTTP %d, want 401", transport, httpCode)
				}
				if !strings.Contains(st.Message(), tc.want) {
					t.Errorf("%s: message %q does not say %q", transport, st.Message(), tc.want)
				}
				for _, s := range secrets {
					if w := leaks(st.Message(), s); w != "" {
						t.Errorf("%s: message %q holds %q of the credential", transport, st.Message(), w)
					}
				}
				line := authFailureLine(logs.String(), rid)
				if line == nil {
					t.Errorf("%s: no \"authentication failed\" log line for request %s:\n%s", transport, rid, logs.String())
				} else if line["method"] != xdrlinkv1.AccessService_GetCaller_FullMethodName || line["client"] == "" {
					t.Errorf("%s: log line %v", transport, line)
				}
			}
			rid := fmt.Sprintf("bad-credential-%02d-grpc", i)
			_, err := callerOverGRPC(t, d, rid, tc.authz...)
			check("grpc", rid, 0, err)

			rid = fmt.Sprintf("bad-credential-%02d-rest", i)
			r := callerOverREST(t, d, rid, tc.authz...)
			var restErr error
			if r.st != nil {
				restErr = r.st.Err()
			}
			check("rest", rid, r.code, restErr)
			headers := fmt.Sprint(r.header) // WWW-Authenticate among them
			for _, s := range secrets {
				if w := leaks(r.body, s); w != "" {
					t.Errorf("rest: body holds %q of the credential: %s", w, r.body)
				}
				if w := leaks(headers, s); w != "" {
					t.Errorf("rest: headers hold %q of the credential: %s", w, headers)
				}
			}
		})
	}

	// The whole log, every line of every request: no credential.
	all := logs.String()
	for _, tc := range cases {
		for _, a := range tc.authz {
			_, cred, _ := strings.Cut(a, " ")
			if strings.HasPrefix(cred, authn.APIKeyPrefix) && len(cred) > 64 {
				cred = apiKeySecret(cred)
			}
			if w := leaks(all, cred); cred != "" && w != "" {
				t.Errorf("%s: the log holds %q of the credential", tc.name, w)
			}
		}
	}
	for _, tok := range []string{good, rotated} {
		if w := leaks(all, tok); w != "" {
			t.Errorf("the log holds %q of a good token", w)
		}
	}
}

func mustIssueApp(t testing.TB, d *Daemon, tenant, client, audience string) string {
	t.Helper()
	tok, err := d.azure.sandbox.IssueAppToken(tenant, client, audience)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
