package daemon

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
)

// keysAPI is AccessService as a test sees it, over one transport; raw is
// the answer as the client received it (JSON body or protojson), to
// search for secrets.
type keysAPI interface {
	create(t *testing.T, cred string, k *xdrlinkv1.ApiKey) (resp *xdrlinkv1.CreateApiKeyResponse, raw string, err error)
	get(t *testing.T, cred, name string) (*xdrlinkv1.ApiKey, string, error)
	list(t *testing.T, cred string, showRevoked bool) (*xdrlinkv1.ListApiKeysResponse, string, error)
	revoke(t *testing.T, cred, name string) (*xdrlinkv1.ApiKey, string, error)
	caller(t *testing.T, cred string) (*xdrlinkv1.Caller, error)
}

type grpcKeys struct{ c xdrlinkv1.AccessServiceClient }

func asJSON(m proto.Message) string { b, _ := protojson.Marshal(m); return string(b) }

func (g grpcKeys) create(t *testing.T, cred string, k *xdrlinkv1.ApiKey) (*xdrlinkv1.CreateApiKeyResponse, string, error) {
	r, err := g.c.CreateApiKey(bearerCtx(t.Context(), cred), &xdrlinkv1.CreateApiKeyRequest{ApiKey: k})
	return r, asJSON(r), err
}

func (g grpcKeys) get(t *testing.T, cred, name string) (*xdrlinkv1.ApiKey, string, error) {
	r, err := g.c.GetApiKey(bearerCtx(t.Context(), cred), &xdrlinkv1.GetApiKeyRequest{Name: name})
	return r, asJSON(r), err
}

func (g grpcKeys) list(t *testing.T, cred string, showRevoked bool) (*xdrlinkv1.ListApiKeysResponse, string, error) {
	r, err := g.c.ListApiKeys(bearerCtx(t.Context(), cred), &xdrlinkv1.ListApiKeysRequest{ShowRevoked: showRevoked, PageSize: 1000})
	return r, asJSON(r), err
}

func (g grpcKeys) revoke(t *testing.T, cred, name string) (*xdrlinkv1.ApiKey, string, error) {
	r, err := g.c.RevokeApiKey(bearerCtx(t.Context(), cred), &xdrlinkv1.RevokeApiKeyRequest{Name: name})
	return r, asJSON(r), err
}

func (g grpcKeys) caller(t *testing.T, cred string) (*xdrlinkv1.Caller, error) {
	return g.c.GetCaller(bearerCtx(t.Context(), cred), &xdrlinkv1.GetCallerRequest{})
}

type restKeys struct{ d *Daemon }

func (r restKeys) do(t *testing.T, method, path, body, cred string, out proto.Message) (string, error) {
	res := restCall(t, r.d, method, path, body, cred, out)
	if res.st != nil {
		return res.body, &restError{httpStatus: res.code, st: res.st}
	}
	return res.body, nil
}

func (r restKeys) create(t *testing.T, cred string, k *xdrlinkv1.ApiKey) (*xdrlinkv1.CreateApiKeyResponse, string, error) {
	out := &xdrlinkv1.CreateApiKeyResponse{}
	raw, err := r.do(t, http.MethodPost, "/v1/apiKeys", jsonBody(k), cred, out)
	return out, raw, err
}

func (r restKeys) get(t *testing.T, cred, name string) (*xdrlinkv1.ApiKey, string, error) {
	out := &xdrlinkv1.ApiKey{}
	raw, err := r.do(t, http.MethodGet, "/v1/"+name, "", cred, out)
	return out, raw, err
}

func (r restKeys) list(t *testing.T, cred string, showRevoked bool) (*xdrlinkv1.ListApiKeysResponse, string, error) {
	out := &xdrlinkv1.ListApiKeysResponse{}
	path := "/v1/apiKeys?page_size=1000"
	if showRevoked {
		path += "&show_revoked=true"
	}
	raw, err := r.do(t, http.MethodGet, path, "", cred, out)
	return out, raw, err
}

func (r restKeys) revoke(t *testing.T, cred, name string) (*xdrlinkv1.ApiKey, string, error) {
	out := &xdrlinkv1.ApiKey{}
	raw, err := r.do(t, http.MethodPost, "/v1/"+name+":revoke", "{}", cred, out)
	return out, raw, err
}

func (r restKeys) caller(t *testing.T, cred string) (*xdrlinkv1.Caller, error) {
	out := &xdrlinkv1.Caller{}
	_, err := r.do(t, http.MethodGet, "/v1/caller", "", cred, out)
	return out, err
}

// keySecrets are the forms in which an API key's secret could leak: the
// key, its secret part, and the SHA-256 the store keeps, in hex and base64.
func keySecrets(key string) []string {
	sum := sha256.Sum256([]byte(apiKeySecret(key)))
	return []string{key, apiKeySecret(key), hex.EncodeToString(sum[:]), base64.StdEncoding.EncodeToString(sum[:]),
		base64.RawURLEncoding.EncodeToString(sum[:])}
}

func wantCode(t *testing.T, what string, err error, want codes.Code) *status.Status {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != want {
		t.Fatalf("%s: got %v, want %s", what, err, want)
	}
	return st
}

// TestAuthAPIKeyLifecycle: an admin creates a scoped operator key; the key
// is in the create answer only (never in Get or List, nor its hash); it
// authenticates as apikey:{id} with its role over its groups; scoped admin
// keys and past expiries are INVALID_ARGUMENT; a revoked key is refused
// at once, saying so; List hides revoked keys unless asked and shows each
// key's state. Over gRPC and REST.
func TestAuthAPIKeyLifecycle(t *testing.T) {
	d := startAuthDaemon(t, nil)
	admin := staffToken(t, d, "admin")
	expired := makeExpiredKey(t, d, authz.Viewer)
	expiredName := ""
	for _, api := range []struct {
		name string
		api  keysAPI
	}{{"grpc", grpcKeys{xdrlinkv1.NewAccessServiceClient(plainConn(t, d))}}, {"rest", restKeys{d}}} {
		t.Run(api.name, func(t *testing.T) {
			a := api.api
			created, raw, err := a.create(t, admin, &xdrlinkv1.ApiKey{DisplayName: "ticketing " + api.name, Role: authz.Operator,
				AccessGroups: []string{"pod-east"}, ExpireTime: timestamppb.New(time.Now().Add(24 * time.Hour))})
			if err != nil {
				t.Fatal(err)
			}
			key, k := created.GetKey(), created.GetApiKey()
			id := strings.TrimPrefix(k.GetName(), "apiKeys/")
			if !strings.HasPrefix(key, "xdrlink_"+id+"_") || k.GetState() != xdrlinkv1.ApiKey_STATE_ACTIVE ||
				k.GetRole() != authz.Operator || !slices.Equal(k.GetAccessGroups(), []string{"pod-east"}) ||
				!strings.HasPrefix(k.GetCreator(), "oidc:") || k.GetCreateTime() == nil {
				t.Fatalf("created %s: %v", key, k)
			}
			// The key once, in the key field only; its hash never.
			if strings.Count(raw, apiKeySecret(key)) != 1 {
				t.Errorf("create answer holds the key %d times: %s", strings.Count(raw, apiKeySecret(key)), raw)
			}
			for _, s := range keySecrets(key)[2:] {
				if strings.Contains(raw, s) {
					t.Errorf("create answer holds the key's hash: %s", raw)
				}
			}

			c, err := a.caller(t, key)
			if err != nil {
				t.Fatalf("the new key does not authenticate: %v", err)
			}
			if c.GetPrincipal() != "apikey:"+id || c.GetAuthMethod() != xdrlinkv1.AuthMethod_AUTH_METHOD_API_KEY || !c.GetScoped() ||
				c.GetDisplayName() != "ticketing "+api.name || len(c.GetGrants()) != 1 ||
				c.GetGrants()[0].GetRole() != authz.Operator || c.GetGrants()[0].GetAccessGroup() != "pod-east" {
				t.Errorf("caller of the key: %v", c)
			}
			// Its role holds: an operator key may not list keys.
			if _, _, err := a.list(t, key, false); status.Code(err) != codes.PermissionDenied {
				t.Errorf("operator key lists keys: %v", err)
			}

			got, rawGet, err := a.get(t, admin, k.GetName())
			if err != nil || got.GetName() != k.GetName() || got.GetState() != xdrlinkv1.ApiKey_STATE_ACTIVE {
				t.Fatalf("get: %v %v", got, err)
			}
			list, rawList, err := a.list(t, admin, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range keySecrets(key)[1:] { // the key's id is its name: only the secret is looked for
				for what, body := range map[string]string{"get": rawGet, "list": rawList} {
					if w := leaks(body, s); w != "" {
						t.Errorf("%s shows %q of the key or its hash: %s", what, w, body)
					}
				}
			}
			states := map[string]xdrlinkv1.ApiKey_State{}
			for _, e := range list.GetApiKeys() {
				states[e.GetName()] = e.GetState()
			}
			if states[k.GetName()] != xdrlinkv1.ApiKey_STATE_ACTIVE {
				t.Errorf("list: %v", states)
			}
			if expiredName == "" {
				for _, e := range list.GetApiKeys() {
					if strings.HasPrefix(expired, "xdrlink_"+strings.TrimPrefix(e.GetName(), "apiKeys/")+"_") {
						expiredName = e.GetName()
					}
				}
			}
			if expiredName == "" || states[expiredName] != xdrlinkv1.ApiKey_STATE_EXPIRED {
				t.Errorf("the expired key %q is not listed EXPIRED: %v", expiredName, states)
			}

			_, _, err = a.create(t, admin, &xdrlinkv1.ApiKey{DisplayName: "scoped admin", Role: authz.Admin, AccessGroups: []string{"pod-east"}})
			if st := wantCode(t, "scoped admin key", err, codes.InvalidArgument); !strings.Contains(st.Message(), "access_groups") {
				t.Errorf("scoped admin key: %v", err)
			}
			_, _, err = a.create(t, admin, &xdrlinkv1.ApiKey{DisplayName: "past", Role: authz.Viewer, ExpireTime: timestamppb.New(time.Now().Add(-time.Minute))})
			if st := wantCode(t, "past expiry", err, codes.InvalidArgument); !strings.Contains(st.Message(), "expire_time") {
				t.Errorf("past expiry: %v", err)
			}

			revoked, _, err := a.revoke(t, admin, k.GetName())
			if err != nil || revoked.GetState() != xdrlinkv1.ApiKey_STATE_REVOKED || revoked.GetRevokeTime() == nil ||
				!strings.HasPrefix(revoked.GetRevoker(), "oidc:") {
				t.Fatalf("revoke: %v %v", revoked, err)
			}
			// At once: no wait for the authenticator's cache.
			_, err = a.caller(t, key)
			if st := wantCode(t, "revoked key", err, codes.Unauthenticated); !strings.Contains(st.Message(), "revoked") {
				t.Errorf("revoked key: %v", err)
			}
			if again, _, err := a.revoke(t, admin, k.GetName()); err != nil || again.GetState() != xdrlinkv1.ApiKey_STATE_REVOKED {
				t.Errorf("revoking again: %v %v", again, err)
			}
			list, _, err = a.list(t, admin, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range list.GetApiKeys() {
				if e.GetName() == k.GetName() || e.GetState() == xdrlinkv1.ApiKey_STATE_REVOKED {
					t.Errorf("list without show_revoked shows %v", e)
				}
			}
			list, _, err = a.list(t, admin, true)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(list.GetApiKeys(), func(e *xdrlinkv1.ApiKey) bool {
				return e.GetName() == k.GetName() && e.GetState() == xdrlinkv1.ApiKey_STATE_REVOKED
			}) {
				t.Errorf("list with show_revoked lacks the revoked key: %v", list.GetApiKeys())
			}
		})
	}
}
