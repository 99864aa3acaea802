package azuresim

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Fixture ids from testdata/world.json.
const (
	appID        = "a0000000-0000-4000-8000-00000000000a"
	appSecret    = "xdrlink-secret"
	contosoTID   = "20000000-0000-4000-8000-000000000000"
	contosoSub   = "20000000-0000-4000-8000-0000000000c1"
	contosoRG    = "rg-sentinel"
	contosoWS    = "ws-contoso"
	contosoAdmin = "secadmin@contoso.onmicrosoft.com"
	contosoGuest = "partner_mssp.example#EXT#@contoso.onmicrosoft.com"
	analystUPN   = "analyst@contoso.onmicrosoft.com"
	fabrikamTID  = "30000000-0000-4000-8000-000000000000"
	fabrikamSub  = "30000000-0000-4000-8000-0000000000c1"
	fabrikamRG   = "rg-soc"
	fabrikamWS   = "ws-fabrikam"
	fabrikamUser = "admin@fabrikam.onmicrosoft.com"
	northTID     = "40000000-0000-4000-8000-000000000000"
	northSub     = "40000000-0000-4000-8000-0000000000c1"
	northRG      = "rg-sec"
	northWS      = "ws-northwind"

	previewAPI = "2025-10-01-preview"
	stableAPI  = "2025-12-01"
)

func loadTestWorld(t testing.TB) *World {
	t.Helper()
	w, err := LoadWorldFile("testdata/world.json")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// startSim starts a sim with the test world (or w) and closes it at cleanup.
func startSim(t testing.TB, opts Options) *Sim {
	t.Helper()
	if opts.World == nil {
		opts.World = loadTestWorld(t)
	}
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// appCredential is a real azidentity client-secret credential against the sim.
func appCredential(t testing.TB, s *Sim, tenant string) azcore.TokenCredential {
	t.Helper()
	return appCredentialFor(t, s, tenant, appID, appSecret)
}

func appCredentialFor(t testing.TB, s *Sim, tenant, clientID, secret string) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(tenant, clientID, secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: s.ClientOptions(), DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

// staticCred serves a fixed token (for delegated tokens minted by the sim).
type staticCred struct{ tok string }

func (c staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: c.tok, ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// armClient is a real azcore ARM client pipeline; retries off unless asked.
func armClient(t testing.TB, s *Sim, cred azcore.TokenCredential, retries int32) *arm.Client {
	t.Helper()
	co := s.ClientOptions()
	// MaxRetryDelay must exceed Retry-After, or azcore gives up instead of waiting.
	co.Retry = policy.RetryOptions{MaxRetries: retries, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 3 * time.Second}
	if retries == 0 {
		co.Retry.MaxRetries = -1
	}
	c, err := arm.NewClient("azuresimtest", "v0.0.1", cred, &arm.ClientOptions{
		ClientOptions:         co,
		DisableRPRegistration: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// armClientWithRP is armClient with azcore's RP-registration policy on.
func armClientWithRP(t testing.TB, s *Sim, cred azcore.TokenCredential) *arm.Client {
	t.Helper()
	co := s.ClientOptions()
	co.Retry = policy.RetryOptions{MaxRetries: -1}
	// azcore's default registration options poll every 15 s, but its first
	// GET comes right after the register POST, which the sim completes.
	c, err := arm.NewClient("azuresimtest", "v0.0.1", cred, &arm.ClientOptions{ClientOptions: co})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r result) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r result) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// do sends one request through the client's pipeline.
func do(t testing.TB, c *arm.Client, method, path, apiVersion string, body any) result {
	t.Helper()
	req, err := runtime.NewRequest(context.Background(), method, runtime.JoinPaths(c.Endpoint(), path))
	if err != nil {
		t.Fatal(err)
	}
	if apiVersion != "" {
		q := req.Raw().URL.Query()
		q.Set("api-version", apiVersion)
		req.Raw().URL.RawQuery = q.Encode()
	}
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := c.Pipeline().Do(req)
	return readResult(t, method, path, resp, err)
}

// readResult finishes a test request: it fails the test on a transport
// error or a non-empty body that is not a JSON object.
func readResult(t testing.TB, method, path string, resp *http.Response, err error) result {
	t.Helper()
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	res := result{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &res.body); err != nil {
			t.Fatalf("%s %s: body is not a JSON object: %s", method, path, raw)
		}
	}
	return res
}

func wantStatus(t testing.TB, r result, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body: %s", r.status, status, r.raw)
	}
}

func wantError(t testing.TB, r result, status int, code string) {
	t.Helper()
	wantStatus(t, r, status)
	if r.errCode() != code {
		t.Fatalf("error code = %q, want %q; body: %s", r.errCode(), code, r.raw)
	}
	if r.errMessage() == "" {
		t.Fatalf("error body has no message: %s", r.raw)
	}
}

func wsPath(sub, rg, ws string) string {
	return "/subscriptions/" + sub + "/resourceGroups/" + rg + "/providers/Microsoft.OperationalInsights/workspaces/" + ws
}

func siPath(sub, rg, ws, rest string) string {
	return wsPath(sub, rg, ws) + "/providers/Microsoft.SecurityInsights/" + rest
}

func TestMain(m *testing.M) {
	os.Exit(runWithLeakCheck(m))
}

func jsonDecode(resp *http.Response, v any) error { return json.NewDecoder(resp.Body).Decode(v) }
