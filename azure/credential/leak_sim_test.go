package credential_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	azlog "github.com/Azure/azure-sdk-for-go/sdk/azcore/log"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/credential"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
)

// TestNoSecretOrTokenInLogs runs a full credential + ARM sequence (app secret, a failing
// secret, a device-code sign-in, on-behalf-of, the restart-proof device-code flow with its
// refresh credential) with slog and azcore's log listener capturing
// everything, logs every error and credential the way the workflow does, and then checks
// that neither the client secrets nor any token that crossed the wire appears in any of it.
func TestNoSecretOrTokenInLogs(t *testing.T) {
	var azcoreLog, appLog syncbuf.Buffer
	azlog.SetListener(func(ev azlog.Event, msg string) { _, _ = azcoreLog.Write([]byte(string(ev) + ": " + msg + "\n")) })
	defer azlog.SetListener(nil)
	prevDefault := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&appLog, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(prevDefault)

	const wrongSecret = "wrong-secret-value-42"
	env := simtest.Start(t, simtest.Config{
		Profiles: []credential.Profile{
			{Name: simtest.Profile, Kind: credential.KindClientSecret, ClientID: simtest.AppID, ClientSecretEnv: simtest.SecretEnv},
			{Name: "bad", Kind: credential.KindClientSecret, ClientID: simtest.AppID, ClientSecretEnv: "BAD_SECRET"},
		},
		Env: map[string]string{"BAD_SECRET": wrongSecret},
	})
	ctx := context.Background()
	var errs []error
	logErr := func(step string, err error) {
		if err != nil {
			errs = append(errs, err)
			slog.Error("azure step failed", "step", step, "err", err, "kind", azerr.Classify(err))
		}
	}

	// App-only: secret from the environment.
	cred, err := env.Creds.Get(simtest.Profile, simtest.FabrikamTenant)
	if err != nil {
		t.Fatal(err)
	}
	prof, _ := env.Creds.Profile(simtest.Profile)
	slog.Info("credential ready", "cred", cred, "profile", prof)
	app, err := sentinel.New(env.ARMWith(t, cred, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.Fabrikam)
	if err != nil {
		t.Fatal(err)
	}
	_, err = app.GetOnboardingState(ctx)
	logErr("get onboarding", err)
	_, err = app.CheckMTPRequirements(ctx, simtest.FabrikamTenant)
	logErr("check requirements", err)
	props := sentinel.MTPProperties{TenantID: simtest.FabrikamTenant, DataTypes: sentinel.MTPDataTypes{Incidents: sentinel.DataTypeState{State: sentinel.StateEnabled}}}
	_, _, err = app.PutMTPDataConnector(ctx, "mtp", "", props) // 401 Missing consent
	logErr("connect as app", err)

	// A wrong secret.
	bad, err := env.Creds.Get("bad", simtest.FabrikamTenant)
	if err != nil {
		t.Fatal(err)
	}
	badClient, _ := sentinel.New(env.ARMWith(t, bad, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.Fabrikam)
	_, err = badClient.ListAlertRules(ctx)
	logErr("list with a wrong secret", err)
	if azerr.Classify(err) != azerr.Unauthenticated {
		t.Fatalf("wrong secret: %v", err)
	}

	// Delegated: device code, then on-behalf-of.
	var prompt credential.DeviceCodePrompt
	dc, err := env.Creds.DeviceCode(simtest.Profile, simtest.FabrikamTenant, credential.DeviceCodeOptions{
		Prompt: func(_ context.Context, p credential.DeviceCodePrompt) error {
			prompt = p
			slog.Info("sign-in required", "prompt", p)
			return env.Sim.ApproveDeviceCode(p.UserCode, simtest.FabrikamAdmin)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	user, _ := sentinel.New(env.ARMWith(t, dc, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.Fabrikam)
	created, _, err := user.PutMTPDataConnector(ctx, "mtp", "", props)
	logErr("connect as user", err)
	if err != nil || created == nil {
		t.Fatalf("delegated connect: %v", err)
	}
	assertion := getToken(t, dc, "api://"+simtest.AppID+"/.default").Token
	obo, err := env.Creds.OnBehalfOf(simtest.Profile, simtest.FabrikamTenant, assertion)
	if err != nil {
		t.Fatal(err)
	}
	slog.Info("obo ready", "cred", obo)
	oboClient, _ := sentinel.New(env.ARMWith(t, obo, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.Fabrikam)
	_, err = oboClient.ListDataConnectors(ctx)
	logErr("list as obo", err)
	_, err = oboClient.GetDataConnector(ctx, "absent")
	logErr("get absent", err)

	// Restart-proof delegated sign-in: start, poll, refresh for two audiences. The workflow
	// logs and formats every value it holds.
	var fmtText strings.Builder
	show := func(what string, v any) {
		slog.Info(what, "value", v)
		fmt.Fprintf(&fmtText, "%v|%+v|%#v|%s\n", v, v, v, v)
	}
	grant, err := env.Creds.StartDeviceCode(ctx, simtest.Profile, simtest.FabrikamTenant, []string{env.Cloud.ResourceManager.Scope()})
	if err != nil {
		t.Fatal(err)
	}
	show("device code started", grant)
	show("device code started", *grant)
	_, err = env.Creds.PollDeviceCode(ctx, simtest.Profile, simtest.FabrikamTenant, grant.DeviceCode)
	logErr("poll pending", err)
	if err := env.Sim.ApproveDeviceCode(grant.UserCode, simtest.FabrikamAdmin); err != nil {
		t.Fatal(err)
	}
	tokens, err := env.Creds.PollDeviceCode(ctx, simtest.Profile, simtest.FabrikamTenant, grant.DeviceCode)
	if err != nil {
		t.Fatal(err)
	}
	show("signed in", tokens)
	show("signed in", *tokens)
	var rotated []string
	refresh, err := env.Creds.RefreshCredential(simtest.Profile, simtest.FabrikamTenant, tokens.RefreshToken, func(rt string) {
		rotated = append(rotated, rt)
		slog.Info("refresh token rotated") // what a caller may log: that it happened
	})
	if err != nil {
		t.Fatal(err)
	}
	show("refresh credential", refresh)
	refreshed, _ := sentinel.New(env.ARMWith(t, refresh, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.Fabrikam)
	_, err = refreshed.ListDataConnectors(ctx)
	logErr("list with refreshed token", err)
	getToken(t, refresh, env.Cloud.DefenderStreaming.Scope())
	badRefresh, _ := env.Creds.RefreshCredential(simtest.Profile, simtest.FabrikamTenant, tokens.RefreshToken[:len(tokens.RefreshToken)-4]+"xxxx", nil)
	_, err = badRefresh.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{env.Cloud.ResourceManager.Scope()}})
	logErr("refresh with a tampered token", err)
	if !errors.Is(err, credential.ErrSignInRequired) {
		t.Fatalf("tampered refresh token: %v", err)
	}
	for what, v := range map[string]any{"grant": grant, "tokens": tokens} {
		b, _ := json.Marshal(v)
		fmt.Fprintf(&fmtText, "%s json %s\n", what, b) // JSON keeps the user code, never the device code or tokens
	}

	// Everything that must stay secret.
	secrets := map[string]string{"client secret": simtest.AppSecret, "wrong secret": wrongSecret, "user assertion": assertion, "user code": prompt.UserCode,
		"device code": grant.DeviceCode, "access token": tokens.AccessToken, "refresh token": tokens.RefreshToken}
	if len(rotated) != 2 {
		t.Fatalf("%d rotations, want 2", len(rotated))
	}
	for i, rt := range rotated {
		secrets[fmt.Sprintf("rotated refresh token %d", i)] = rt
	}
	bearer := 0
	for _, x := range env.Recorder.Exchanges() {
		if tok, ok := strings.CutPrefix(x.Authorization, "Bearer "); ok {
			secrets["bearer token to "+x.Path] = tok
			bearer++
		}
		if strings.HasSuffix(x.Path, "/oauth2/v2.0/token") || strings.HasSuffix(x.Path, "/oauth2/v2.0/devicecode") {
			var body map[string]any
			_ = json.Unmarshal(x.ResponseBody, &body)
			for _, field := range []string{"access_token", "refresh_token", "id_token", "device_code"} {
				if v, _ := body[field].(string); v != "" {
					secrets[field+" from "+x.Path] = v
				}
			}
		}
	}
	if bearer < 5 {
		t.Fatalf("only %d bearer tokens recorded: the sequence did not run", bearer)
	}
	var errText strings.Builder
	for _, e := range errs {
		errText.WriteString(e.Error())
		errText.WriteString("\n")
	}
	outputs := map[string]string{"azcore log": azcoreLog.String(), "slog": appLog.String(), "errors": errText.String(), "fmt": fmtText.String()}
	// The grant's user code is shown to the person: only fmt and slog leave it out.
	if !strings.Contains(fmtText.String(), "user tokens(user="+simtest.FabrikamAdmin) || !strings.Contains(fmtText.String(), "device-code grant(verification_uri=") {
		t.Fatalf("fmt capture did not work:\n%s", fmtText.String())
	}
	if !strings.Contains(fmtText.String(), `"user_code":"`+grant.UserCode+`"`) {
		t.Fatal("grant JSON lost the user code")
	}
	outputs["fmt"] = strings.ReplaceAll(outputs["fmt"], grant.UserCode, "USER-CODE-IN-JSON")
	outputs["fmt"] = strings.ReplaceAll(outputs["fmt"], grant.Message, "MESSAGE-IN-JSON")
	secrets["grant user code"] = grant.UserCode
	if !strings.Contains(outputs["azcore log"], "Authorization: REDACTED") || !strings.Contains(outputs["slog"], "Missing consent") {
		t.Fatalf("capture did not work:\n%s\n%s", outputs["azcore log"][:min(2000, len(outputs["azcore log"]))], outputs["slog"])
	}
	for what, secret := range secrets {
		if secret == "" {
			t.Fatalf("%s is empty", what)
		}
		needles := []string{secret}
		if parts := strings.Split(secret, "."); len(parts) == 3 {
			needles = append(needles, parts[2]) // a JWT's signature alone is as bad as the whole
		}
		for where, text := range outputs {
			for _, n := range needles {
				if strings.Contains(text, n) {
					t.Errorf("%s appears in the %s", what, where)
				}
			}
		}
	}
	if t.Failed() {
		return
	}
	t.Logf("checked %d secrets against %d bytes of azcore log, %d bytes of slog, %d errors; %d token requests",
		len(secrets), len(outputs["azcore log"]), len(outputs["slog"]), len(errs), len(env.Recorder.Find(http.MethodPost, "/oauth2/v2.0/token")))
}
