package credential

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/cloud"
)

// fakeEntra answers every token request with status and body; the emulator never sends
// slow_down, consent failures or 5xx on these grants.
func fakeEntra(t *testing.T, status int, body string) *Provider {
	t.Helper()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	p, err := NewProvider(Options{
		Cloud:         cloud.MustResolve(cloud.Setting{Name: cloud.Custom, URL: srv.URL}),
		ClientOptions: azcore.ClientOptions{Transport: srv.Client(), Retry: policy.RetryOptions{MaxRetries: -1}},
		Profiles:      []Profile{{Name: "mssp", Kind: KindClientSecret, ClientID: appID, ClientSecretEnv: "X"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func entraBody(code string, aadsts int) string {
	return fmt.Sprintf(`{"error":%q,"error_description":"AADSTS%d: something","error_codes":[%d]}`, code, aadsts, aadsts)
}

func TestPollDeviceCodeErrors(t *testing.T) {
	const deviceCode = "DEVICE-CODE-secret-value"
	for _, tc := range []struct {
		status   int
		body     string
		sentinel error
		kind     azerr.Kind
	}{
		{400, entraBody("authorization_pending", 70016), ErrAuthorizationPending, azerr.InteractionRequired},
		{400, entraBody("slow_down", 70017), ErrSlowDown, azerr.Throttled},
		{400, entraBody("expired_token", 70020), ErrDeviceCodeExpired, azerr.InteractionRequired},
		{400, entraBody("authorization_declined", 70000), ErrSignInDeclined, azerr.InteractionRequired},
		{400, entraBody("access_denied", 70000), ErrSignInDeclined, azerr.Forbidden},
		{400, entraBody("bad_verification_code", 70000), ErrBadDeviceCode, ""},
		{400, entraBody("invalid_grant", 70000), ErrBadDeviceCode, azerr.Unauthenticated},
		// Not about the code: consent missing, Entra down.
		{400, entraBody("invalid_grant", 65001), nil, azerr.MissingConsent},
		{503, entraBody("temporarily_unavailable", 50000), nil, azerr.Transient},
	} {
		t.Run(tc.body, func(t *testing.T) {
			p := fakeEntra(t, tc.status, tc.body)
			_, err := p.PollDeviceCode(context.Background(), "mssp", tenantA, deviceCode)
			if err == nil {
				t.Fatal("no error")
			}
			for _, s := range []error{ErrAuthorizationPending, ErrSlowDown, ErrDeviceCodeExpired, ErrSignInDeclined, ErrBadDeviceCode} {
				if errors.Is(err, s) != (s == tc.sentinel) {
					t.Fatalf("errors.Is(%v, %v) = %v", err, s, !(s == tc.sentinel))
				}
			}
			if tc.kind != "" && azerr.Classify(err) != tc.kind {
				t.Fatalf("kind %s, want %s", azerr.Classify(err), tc.kind)
			}
			if msg := fmt.Sprintf("%v %+v", err, azerr.From(err).Err); strings.Contains(msg, deviceCode) {
				t.Fatalf("error shows the device code: %s", msg)
			}
		})
	}
}

func TestRefreshCredentialErrors(t *testing.T) {
	const refreshToken = "REFRESH-TOKEN-secret-value"
	for _, tc := range []struct {
		status       int
		body         string
		signIn       bool
		kind         azerr.Kind
		wantRotation bool
	}{
		{400, entraBody("invalid_grant", 70043), true, azerr.InteractionRequired, false},
		{400, entraBody("interaction_required", 50076), true, azerr.InteractionRequired, false},
		{400, entraBody("invalid_grant", 65001), true, azerr.MissingConsent, false}, // kept: an admin must consent
		{401, entraBody("invalid_client", 7000215), false, azerr.Unauthenticated, false},
		{500, entraBody("server_error", 50000), false, azerr.Transient, false},
		{200, `{"access_token":"AT","expires_in":"3600"}`, false, "", false}, // v1-style string expires_in, no rotation
		{200, `{"access_token":"AT","expires_in":3600,"refresh_token":"RT2"}`, false, "", true},
	} {
		t.Run(tc.body, func(t *testing.T) {
			p := fakeEntra(t, tc.status, tc.body)
			var rotated []string
			cred, err := p.RefreshCredential("mssp", tenantA, refreshToken, func(rt string) { rotated = append(rotated, rt) })
			if err != nil {
				t.Fatal(err)
			}
			tk, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
			if tc.status == 200 {
				if err != nil || tk.Token != "AT" || tk.ExpiresOn.IsZero() || (len(rotated) == 1) != tc.wantRotation {
					t.Fatalf("%v %v %v", tk, err, rotated)
				}
				return
			}
			if errors.Is(err, ErrSignInRequired) != tc.signIn || azerr.Classify(err) != tc.kind {
				t.Fatalf("%v: kind %s", err, azerr.Classify(err))
			}
			if strings.Contains(fmt.Sprintf("%v %+v", err, azerr.From(err).Err), refreshToken) {
				t.Fatal("error shows the refresh token")
			}
		})
	}
}
