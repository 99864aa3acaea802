package daemon

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	grpcmd "google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/internal/syncbuf"
	"github.com/xdrlink/xdrlink/server/accesssvc"
)

// startAuthDaemon is startDaemon with --auth=required and the sandbox's
// emulated Entra as the issuer, logging JSON into logs (when not nil).
func startAuthDaemon(t *testing.T, logs *syncbuf.Buffer, mutate ...func(*Config)) *Daemon {
	t.Helper()
	return startDaemon(t, append([]func(*Config){func(c *Config) {
		c.Auth = AuthRequired
		if logs != nil {
			c.Logger = slog.New(slog.NewJSONHandler(logs, nil))
		}
	}}, mutate...)...)
}

// staffOf is the sandbox emulator's staff sign-in setup.
func staffOf(t testing.TB, d *Daemon) azuresim.StaffIdentity {
	t.Helper()
	si, ok := d.azure.sandbox.StaffIdentity()
	if !ok {
		t.Fatal("the sandbox world has no staff identity")
	}
	return si
}

// staffToken is an access token for the xdrlink API of a demo staff user
// ("admin", "viewer", ...), as the console's sign-in would get it.
func staffToken(t testing.TB, d *Daemon, user string) string {
	t.Helper()
	si := staffOf(t, d)
	u, ok := si.User(user)
	if !ok {
		t.Fatalf("no staff user %s", user)
	}
	tok, err := d.azure.sandbox.IssueUserToken(si.TenantID, u.UPN, si.PublicClientID, si.APIScope)
	if err != nil {
		t.Fatalf("token for %s: %v", user, err)
	}
	return tok
}

// passwordGrantToken gets a staff user's token the way a script would: the
// password grant at the emulator's token endpoint.
func passwordGrantToken(t testing.TB, d *Daemon, user string) string {
	t.Helper()
	si := staffOf(t, d)
	u, ok := si.User(user)
	if !ok {
		t.Fatalf("no staff user %s", user)
	}
	resp, err := d.azure.sandbox.HTTPClient().PostForm(si.TokenEndpoint, url.Values{"grant_type": {"password"},
		"client_id": {si.PublicClientID}, "username": {u.UPN}, "password": {u.Password}, "scope": {si.APIScope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil || resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("password grant for %s: HTTP %d %s", user, resp.StatusCode, b)
	}
	return body.AccessToken
}

// makeKey stores an API key directly (as `xdrlinkd create-api-key` does)
// and returns it with its id.
func makeKey(t testing.TB, d *Daemon, role xdrlinkv1.Role, groups ...string) (key, id string) {
	t.Helper()
	resp, err := accesssvc.Create(context.Background(), d.store,
		&xdrlinkv1.ApiKey{DisplayName: "test " + role.String(), Role: role, AccessGroups: groups}, "test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetKey(), strings.TrimPrefix(resp.GetApiKey().GetName(), "apiKeys/")
}

// makeExpiredKey stores a key whose expiry has passed: Create checks the
// expiry against the now it is given, so an hour-old now lets it in.
func makeExpiredKey(t testing.TB, d *Daemon, role xdrlinkv1.Role) string {
	t.Helper()
	now := time.Now()
	resp, err := accesssvc.Create(context.Background(), d.store, &xdrlinkv1.ApiKey{DisplayName: "expired", Role: role,
		ExpireTime: timestamppb.New(now.Add(-time.Minute))}, "test", now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetKey()
}

// plainConn is a gRPC connection without TLS or credentials.
func plainConn(t testing.TB, d *Daemon) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(d.GRPCAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// bearerCtx carries "authorization: Bearer cred" (none when cred is "").
func bearerCtx(ctx context.Context, cred string) context.Context {
	if cred == "" {
		return ctx
	}
	return grpcmd.AppendToOutgoingContext(ctx, "authorization", "Bearer "+cred)
}

// errInfo is the ErrorInfo of an error's status, or nil.
func errInfo(err error) *errdetails.ErrorInfo {
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei
		}
	}
	return nil
}

// restCall is one REST exchange with a bearer credential (none when
// cred is "") and extra header pairs; a 2xx body is decoded into out.
func restCall(t testing.TB, d *Daemon, method, path, body, cred string, out proto.Message, headers ...string) restResult {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, "http://"+d.HTTPAddr()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", jsonCT)
	}
	if cred != "" {
		req.Header.Set("Authorization", "Bearer "+cred)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	res := restResult{code: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.StatusCode/100 == 2 {
		if out != nil {
			if err := protojson.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %v: %s", method, path, err, b)
			}
		}
		return res
	}
	st := &spb.Status{}
	if err := protojson.Unmarshal(b, st); err != nil {
		t.Fatalf("%s %s: HTTP %d with a body that is not a google.rpc.Status: %s", method, path, resp.StatusCode, b)
	}
	res.st = status.FromProto(st)
	return res
}

// secretWindows are the substrings of s of n characters, for searching
// logs and bodies for any sizeable piece of a credential.
func secretWindows(s string, n int) []string {
	if len(s) < n {
		return []string{s}
	}
	out := make([]string, 0, len(s)-n+1)
	for i := 0; i+n <= len(s); i++ {
		out = append(out, s[i:i+n])
	}
	return out
}

// leaks says which piece of secret (at least 16 characters, or all of it)
// text holds, or "".
func leaks(text, secret string) string {
	for _, w := range secretWindows(secret, 16) {
		if strings.Contains(text, w) {
			return w
		}
	}
	return ""
}

// apiKeySecret is the secret part of an API key: its prefix and id are
// its public name (apiKeys/{id}), which messages may quote.
func apiKeySecret(key string) string {
	return key[strings.LastIndex(key, "_")+1:]
}
