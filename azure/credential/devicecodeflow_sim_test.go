package credential_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/golang-jwt/jwt/v5"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/sentinel"
)

// claimsOf reads a token's claims without verifying it.
func claimsOf(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func tokenOpts(scope string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{scope}}
}

// approveViaAdminAPI completes a sign-in the way a person (or a script) outside the process
// does: through the emulator's admin API over HTTPS.
func approveViaAdminAPI(t *testing.T, env *simtest.Env, userCode, user string) {
	t.Helper()
	resp, err := env.Sim.HTTPClient().Post(env.Sim.URL()+"/_sim/devicecodes/"+url.PathEscape(userCode)+"/approve",
		"application/json", strings.NewReader(`{"user":"`+user+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("approve: %s", resp.Status)
	}
}

// formOf decodes a recorded form body.
func formOf(t *testing.T, x simtest.Exchange) url.Values {
	t.Helper()
	v, err := url.ParseQuery(string(x.RequestBody))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestDeviceCodeFlowRestartProof: start, poll while pending, approve, poll again, then one
// refresh token serves ARM and the Defender streaming API. Every step is a separate call with
// only stored strings in between, as a job does across restarts.
func TestDeviceCodeFlowRestartProof(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	armScope, defenderScope := env.Cloud.ResourceManager.Scope(), env.Cloud.DefenderStreaming.Scope()

	started := time.Now()
	g, err := env.Creds.StartDeviceCode(ctx, simtest.Profile, simtest.FabrikamTenant, []string{armScope})
	if err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	if g.DeviceCode == "" || g.UserCode == "" || g.VerificationURI != env.Sim.URL()+"/devicelogin" ||
		!strings.Contains(g.Message, g.UserCode) || g.Interval != time.Second {
		t.Fatalf("%+v / interval %v", g, g.Interval)
	}
	// expires_in (15 min) counts from when the request was sent: between the
	// call and its answer, however long that took.
	if d, e := g.ExpiresAt.Sub(started), g.ExpiresAt.Sub(answered); d < 14*time.Minute || e > 15*time.Minute {
		t.Fatalf("expiry %v after the call, %v after its answer", d, e)
	}
	start := formOf(t, env.Recorder.Last(t, http.MethodPost, "/oauth2/v2.0/devicecode"))
	if start.Get("scope") != armScope+" offline_access" || start.Get("client_id") != simtest.AppID || start.Has("client_secret") {
		t.Fatalf("device-code request %v", start)
	}

	_, err = env.Creds.PollDeviceCode(ctx, simtest.Profile, simtest.FabrikamTenant, g.DeviceCode)
	if !errors.Is(err, credential.ErrAuthorizationPending) {
		t.Fatalf("pending: %v", err)
	}
	if e := azerr.From(err); e.Kind != azerr.InteractionRequired || e.Code != "AADSTS70016" {
		t.Fatalf("pending classified as %+v", e)
	}

	approveViaAdminAPI(t, env, g.UserCode, simtest.FabrikamAdmin)
	tokens, err := env.Creds.PollDeviceCode(ctx, simtest.Profile, simtest.FabrikamTenant, g.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	if tokens.RefreshToken == "" || tokens.UserPrincipalName != simtest.FabrikamAdmin || tokens.UserObjectID == "" ||
		time.Until(tokens.ExpiresOn) < 50*time.Minute {
		t.Fatalf("%v", tokens)
	}
	if c := claimsOf(t, tokens.AccessToken); c["aud"] != "https://management.azure.com" || c["idtyp"] != "user" || c["oid"] != tokens.UserObjectID {
		t.Fatalf("claims %v", c)
	}
	poll := formOf(t, env.Recorder.Last(t, http.MethodPost, "/oauth2/v2.0/token"))
	if poll.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" || poll.Has("client_secret") {
		t.Fatalf("poll request %v", poll)
	}
	// A device code is redeemed once.
	if _, err := env.Creds.PollDeviceCode(ctx, simtest.Profile, simtest.FabrikamTenant, g.DeviceCode); !errors.Is(err, credential.ErrBadDeviceCode) {
		t.Fatalf("second redemption: %v", err)
	}

	// One refresh token, two audiences; the rotated refresh tokens are reported in order.
	var mu sync.Mutex
	var rotated []string
	cred, err := env.Creds.RefreshCredential(simtest.Profile, simtest.FabrikamTenant, tokens.RefreshToken, func(rt string) {
		mu.Lock()
		rotated = append(rotated, rt)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	env.Recorder.Reset()
	// Concurrent callers of one scope share a single redemption.
	var wg sync.WaitGroup
	armTokens := make([]string, 8)
	for i := range armTokens {
		wg.Go(func() {
			tk, err := cred.GetToken(ctx, tokenOpts(armScope))
			if err != nil {
				t.Error(err)
			}
			armTokens[i] = tk.Token
		})
	}
	wg.Wait()
	for _, tk := range armTokens[1:] {
		if tk != armTokens[0] {
			t.Fatal("concurrent GetToken calls redeemed the refresh token more than once")
		}
	}
	defender := getToken(t, cred, defenderScope)
	if c := claimsOf(t, armTokens[0]); c["aud"] != "https://management.azure.com" || c["upn"] != simtest.FabrikamAdmin {
		t.Fatalf("ARM claims %v", c)
	}
	if c := claimsOf(t, defender.Token); c["aud"] != "https://api.securitycenter.microsoft.com" || c["upn"] != simtest.FabrikamAdmin {
		t.Fatalf("Defender claims %v", c)
	}
	if getToken(t, cred, armScope).Token != armTokens[0] {
		t.Fatal("ARM token not cached")
	}
	refreshes := env.Recorder.Find(http.MethodPost, "/oauth2/v2.0/token")
	if len(refreshes) != 2 || len(rotated) != 2 {
		t.Fatalf("%d refresh requests, %d rotations; want 2 and 2", len(refreshes), len(rotated))
	}
	// The second redemption spent the first rotation, not the original token.
	first, second := formOf(t, refreshes[0]), formOf(t, refreshes[1])
	if first.Get("refresh_token") != tokens.RefreshToken || second.Get("refresh_token") != rotated[0] ||
		rotated[1] == rotated[0] || rotated[0] == tokens.RefreshToken {
		t.Fatal("refresh token rotation not followed")
	}
	if second.Get("grant_type") != "refresh_token" || second.Get("scope") != defenderScope+" offline_access" || second.Has("client_secret") {
		t.Fatalf("refresh request %v", second)
	}

	// After a restart: a new credential from the stored (newest) refresh token drives the
	// delegated first connect of Defender XDR through ARM.
	restarted, err := env.Creds.RefreshCredential(simtest.Profile, simtest.FabrikamTenant, rotated[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := sentinel.New(env.ARMWith(t, restarted, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.Fabrikam)
	if err != nil {
		t.Fatal(err)
	}
	if _, created, err := c.PutMTPDataConnector(ctx, "mtp", "", sentinel.MTPProperties{
		TenantID: simtest.FabrikamTenant, DataTypes: sentinel.MTPDataTypes{Incidents: sentinel.DataTypeState{State: sentinel.StateEnabled}},
	}); err != nil || !created {
		t.Fatalf("delegated connect: created=%v err=%v", created, err)
	}
}

func TestDeviceCodeFlowFailures(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	scopes := []string{env.Cloud.ResourceManager.Scope()}
	start := func() *credential.DeviceCodeGrant {
		t.Helper()
		g, err := env.Creds.StartDeviceCode(ctx, simtest.Profile, simtest.ContosoTenant, scopes)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	poll := func(deviceCode string) error {
		_, err := env.Creds.PollDeviceCode(ctx, simtest.Profile, simtest.ContosoTenant, deviceCode)
		return err
	}

	t.Run("declined", func(t *testing.T) {
		g := start()
		if err := env.Sim.DeclineDeviceCode(g.UserCode); err != nil {
			t.Fatal(err)
		}
		err := poll(g.DeviceCode)
		if !errors.Is(err, credential.ErrSignInDeclined) || azerr.Classify(err) != azerr.InteractionRequired {
			t.Fatalf("%v", err)
		}
	})
	t.Run("unknown code", func(t *testing.T) {
		err := poll("not-a-device-code")
		if !errors.Is(err, credential.ErrBadDeviceCode) {
			t.Fatalf("%v", err)
		}
		// Another tenant's code is not valid here either.
		g, serr := env.Creds.StartDeviceCode(ctx, simtest.Profile, simtest.FabrikamTenant, scopes)
		if serr != nil {
			t.Fatal(serr)
		}
		if err := poll(g.DeviceCode); !errors.Is(err, credential.ErrBadDeviceCode) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("garbage refresh token", func(t *testing.T) {
		cred, err := env.Creds.RefreshCredential(simtest.Profile, simtest.ContosoTenant, "garbage-refresh-token", func(string) { t.Error("rotated") })
		if err != nil {
			t.Fatal(err)
		}
		_, err = cred.GetToken(ctx, tokenOpts(scopes[0]))
		e := azerr.From(err)
		if !errors.Is(err, credential.ErrSignInRequired) || e.Kind != azerr.InteractionRequired || e.Code != "AADSTS9002313" {
			t.Fatalf("%v / %+v", err, e)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		if _, err := env.Creds.StartDeviceCode(ctx, "nope", simtest.ContosoTenant, scopes); !errors.Is(err, credential.ErrUnknownProfile) {
			t.Fatalf("%v", err)
		}
		if _, err := env.Creds.StartDeviceCode(ctx, simtest.Profile, "not-a-guid", scopes); err == nil {
			t.Fatal("tenant not validated")
		}
		if _, err := env.Creds.StartDeviceCode(ctx, simtest.Profile, simtest.ContosoTenant, nil); err == nil {
			t.Fatal("no scopes accepted")
		}
		if _, err := env.Creds.RefreshCredential(simtest.Profile, simtest.ContosoTenant, "", nil); err == nil {
			t.Fatal("empty refresh token accepted")
		}
	})
	// Last: it moves the sim clock.
	t.Run("expired", func(t *testing.T) {
		g := start()
		env.Sim.AdvanceClock(16 * time.Minute)
		err := poll(g.DeviceCode)
		if !errors.Is(err, credential.ErrDeviceCodeExpired) {
			t.Fatalf("%v", err)
		}
		if e := azerr.From(err); e.Code != "AADSTS70020" || !strings.Contains(e.Message, "expired") {
			t.Fatalf("%+v", e)
		}
	})
}

// TestDeviceCodeFlowUnknownApp: a start failure is classified like any other Entra error.
func TestDeviceCodeFlowUnknownApp(t *testing.T) {
	env := simtest.Start(t, simtest.Config{Profiles: []credential.Profile{
		{Name: "other", Kind: credential.KindClientSecret, ClientID: "b0000000-0000-4000-8000-00000000000b", ClientSecretEnv: simtest.SecretEnv},
	}})
	_, err := env.Creds.StartDeviceCode(context.Background(), "other", simtest.ContosoTenant, []string{env.Cloud.ResourceManager.Scope()})
	if e := azerr.From(err); e == nil || e.Code != "AADSTS700016" || e.StatusCode != http.StatusBadRequest {
		t.Fatalf("%v", err)
	}
	if strings.Contains(err.Error(), simtest.AppSecret) {
		t.Fatal("error leaks the secret")
	}
}
