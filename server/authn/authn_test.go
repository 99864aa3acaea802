package authn

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/server/authz"
	"github.com/xdrlink/xdrlink/store"
)

func TestAPIKeyRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		id, key, hash := NewAPIKey()
		if seen[id] || seen[key] {
			t.Fatalf("NewAPIKey repeated %s", id)
		}
		seen[id], seen[key] = true, true
		if len(id) != apiKeyIDLen || strings.ToLower(id) != id || !strings.HasPrefix(key, APIKeyPrefix+id+"_") ||
			len(key) != len(APIKeyPrefix)+apiKeyIDLen+1+apiKeySecretLen || len(hash) != 32 {
			t.Fatalf("key %q id %q hash %d bytes", key, id, len(hash))
		}
		gotID, gotHash, ok := parseAPIKey(key)
		if !ok || gotID != id || !bytes.Equal(gotHash, hash) {
			t.Fatalf("parseAPIKey(%q) = %q, %x, %v; want %q, %x", key, gotID, gotHash, ok, id, hash)
		}
	}
	_, key, _ := NewAPIKey()
	secret := key[len(key)-apiKeySecretLen:]
	id := key[len(APIKeyPrefix) : len(APIKeyPrefix)+apiKeyIDLen]
	for name, bad := range map[string]string{
		"empty":            "",
		"no prefix":        strings.TrimPrefix(key, APIKeyPrefix),
		"other prefix":     "xdrlinq_" + strings.TrimPrefix(key, APIKeyPrefix),
		"short id":         APIKeyPrefix + id[1:] + "_" + secret,
		"long id":          APIKeyPrefix + id + "x_" + secret,
		"short secret":     key[:len(key)-1],
		"long secret":      key + "0",
		"non-hex secret":   APIKeyPrefix + id + "_" + strings.Repeat("g", apiKeySecretLen),
		"no separator":     APIKeyPrefix + id + secret,
		"token-like":       "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
		"separator in id":  APIKeyPrefix + id[:8] + "_" + id[9:] + "_" + secret,
		"whitespace added": key + " ",
	} {
		if gotID, _, ok := parseAPIKey(bad); ok {
			t.Errorf("%s: parseAPIKey(%q) accepted it as %q", name, bad, gotID)
		}
	}
}

func TestScrub(t *testing.T) {
	cred := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzb21lb25lIn0.c2lnbmF0dXJlLWJ5dGVz"
	for _, tc := range []struct{ msg, want string }{
		{"bad token " + cred, "bad token [credential]"},
		{`malformed payload "eyJzdWIiOiJzb21lb25lIn0"`, `malformed payload "[credential]"`},
		{"signature c2lnbmF0dXJlLWJ5dGVz invalid", "signature [credential] invalid"},
		{"nothing of it here", "nothing of it here"},
	} {
		if got := scrub(tc.msg, cred); got != tc.want {
			t.Errorf("scrub(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
	// Parts shorter than 8 characters are too common to replace.
	if got := scrub("a.b is short", "a.b.cdefghijk"); got != "a.b is short" {
		t.Errorf("short parts replaced: %q", got)
	}
}

func TestBearer(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  []string
		cred    string
		present bool
		err     string
	}{
		{name: "none"},
		{name: "bearer", values: []string{"Bearer abc.def"}, cred: "abc.def", present: true},
		{name: "lower case scheme", values: []string{"bearer abc"}, cred: "abc", present: true},
		{name: "extra spaces", values: []string{"  Bearer   abc  "}, cred: "abc", present: true},
		{name: "basic", values: []string{"Basic YWRtaW46cGFzcw=="}, err: `must be "Bearer "`},
		{name: "scheme only", values: []string{"Bearer"}, err: `must be "Bearer "`},
		{name: "scheme and blanks", values: []string{"Bearer    "}, err: `must be "Bearer "`},
		{name: "no scheme", values: []string{"abc.def.ghi"}, err: `must be "Bearer "`},
		{name: "two headers", values: []string{"Bearer a", "Bearer b"}, err: "more than one Authorization header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.values != nil {
				md := metadata.MD{}
				for _, v := range tc.values {
					md.Append("authorization", v)
				}
				ctx = metadata.NewIncomingContext(ctx, md)
			}
			cred, present, err := bearer(ctx)
			if tc.err != "" {
				if status.Code(err) != codes.Unauthenticated || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want UNAUTHENTICATED saying %q", err, tc.err)
				}
				return
			}
			if err != nil || cred != tc.cred || present != tc.present {
				t.Fatalf("bearer = %q, %v, %v; want %q, %v", cred, present, err, tc.cred, tc.present)
			}
		})
	}
}

// keyStore is an APIKeyStore of one map; only GetAPIKey is used by the
// authenticator.
type keyStore struct {
	store.APIKeyStore
	mu   sync.Mutex
	keys map[string]*store.APIKey
	err  error
}

func (s *keyStore) GetAPIKey(_ context.Context, id string) (*store.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil, s.err
	}
	k, ok := s.keys[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	c := *k
	return &c, nil
}

func (s *keyStore) add(t *testing.T, k *xdrlinkv1.ApiKey) (key, id string) {
	t.Helper()
	id, key, hash := NewAPIKey()
	body, err := proto.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.keys[id] = &store.APIKey{ID: id, SecretHash: hash, Body: body}
	s.mu.Unlock()
	return key, id
}

// clock is a settable clock for the authenticator.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func withBearer(cred string) context.Context {
	return metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+cred))
}

func wantUnauthenticated(t *testing.T, err error, says string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != codes.Unauthenticated || !strings.Contains(st.Message(), says) {
		t.Fatalf("got %v, want UNAUTHENTICATED saying %q", err, says)
	}
	for _, d := range st.Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok && ei.GetReason() == xdrlinkv1.ErrorReason_ERROR_REASON_UNAUTHENTICATED.String() {
			return
		}
	}
	t.Errorf("%v has no ErrorInfo with reason UNAUTHENTICATED", err)
}

// TestAPIKeys: a key authenticates with its role over its groups until it
// expires (by the injected clock); a revocation in the store reaches a
// cached key when the cache's time is up, or at once after Forget; a
// store failure is not the caller's fault (not UNAUTHENTICATED).
func TestAPIKeys(t *testing.T) {
	clk := &clock{now: time.Now()}
	st := &keyStore{keys: map[string]*store.APIKey{}}
	var logs bytes.Buffer
	a, err := New(context.Background(), Options{APIKeys: st, Now: clk.Now, Logger: slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	key, id := st.add(t, &xdrlinkv1.ApiKey{DisplayName: "ticketing", Role: authz.Operator, AccessGroups: []string{"pod-east", "pod-west"},
		ExpireTime: timestamppb.New(clk.Now().Add(time.Hour))})
	p, err := a.Authenticate(withBearer(key))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "apikey:"+id || p.DisplayName != "ticketing" || p.Method != xdrlinkv1.AuthMethod_AUTH_METHOD_API_KEY || !p.Scoped() ||
		len(p.Grants) != 2 || p.RoleFor("pod-west") != authz.Operator || p.RoleFor("pod-north") != 0 {
		t.Fatalf("principal %+v", p)
	}
	unscoped, _ := st.add(t, &xdrlinkv1.ApiKey{Role: authz.Viewer})
	if p, err := a.Authenticate(withBearer(unscoped)); err != nil || p.Scoped() || p.RoleFor("") != authz.Viewer {
		t.Fatalf("unscoped key: %+v %v", p, err)
	}

	clk.advance(time.Hour)
	_, err = a.Authenticate(withBearer(key))
	wantUnauthenticated(t, err, "expired")

	// Revocation: the cache holds the key for a while, Forget ends that.
	key2, id2 := st.add(t, &xdrlinkv1.ApiKey{Role: authz.Viewer})
	if _, err := a.Authenticate(withBearer(key2)); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.keys[id2].Revoked = true
	st.mu.Unlock()
	if _, err := a.Authenticate(withBearer(key2)); err != nil {
		t.Fatalf("cached key refused before the cache's time is up: %v", err)
	}
	clk.advance(apiKeyCacheTTL)
	_, err = a.Authenticate(withBearer(key2))
	wantUnauthenticated(t, err, "revoked")

	key3, id3 := st.add(t, &xdrlinkv1.ApiKey{Role: authz.Viewer})
	if _, err := a.Authenticate(withBearer(key3)); err != nil {
		t.Fatal(err)
	}
	st.mu.Lock()
	st.keys[id3].Revoked = true
	st.mu.Unlock()
	a.ForgetAPIKey(id3)
	_, err = a.Authenticate(withBearer(key3))
	wantUnauthenticated(t, err, "revoked")

	// A wrong secret for a known id is the same answer as an unknown key.
	_, err = a.Authenticate(withBearer(key3[:len(key3)-apiKeySecretLen] + strings.Repeat("a", apiKeySecretLen)))
	wantUnauthenticated(t, err, "unknown or malformed API key")

	// Bearer tokens are not accepted without an issuer.
	_, err = a.Authenticate(withBearer("eyJhbGciOiJSUzI1NiJ9.e30.c2ln"))
	wantUnauthenticated(t, err, "no OIDC issuer")

	freshKey, _ := st.add(t, &xdrlinkv1.ApiKey{Role: authz.Viewer}) // not cached
	st.mu.Lock()
	st.err = errors.New("database is down")
	st.mu.Unlock()
	if _, err := a.Authenticate(withBearer(freshKey)); err == nil || status.Code(err) == codes.Unauthenticated {
		t.Errorf("a store failure answered %v: the caller did nothing wrong", err)
	}

	for _, k := range []string{key, key2, key3, unscoped} {
		if s := k[len(k)-apiKeySecretLen:]; strings.Contains(logs.String(), s[:16]) {
			t.Errorf("the log holds a key's secret: %s", logs.String())
		}
	}
	if !strings.Contains(logs.String(), "authentication failed") {
		t.Errorf("no failure logged: %s", logs.String())
	}
}

// syncWriter serializes writes to a buffer read at the end.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

func TestDisabled(t *testing.T) {
	a, err := New(context.Background(), Options{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer garbage"))
	p, err := a.Authenticate(ctx)
	if err != nil || p.Method != xdrlinkv1.AuthMethod_AUTH_METHOD_NONE || p.RoleFor("any") != authz.Admin || p.Scoped() {
		t.Fatalf("disabled: %+v %v", p, err)
	}
}

// TestOIDCTimes: tokens of the emulator's Entra (the sandbox's issuer) are
// accepted while valid by the authenticator's clock, refused once expired
// and before their nbf, saying so, and without the token in the message
// or the log.
func TestOIDCTimes(t *testing.T) {
	w, customers := azuresim.DemoWorld()
	sim, err := azuresim.Start(azuresim.Options{World: w, Customers: customers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	si, ok := sim.StaffIdentity()
	if !ok {
		t.Fatal("no staff identity")
	}
	clk := &clock{now: time.Now()}
	var logs bytes.Buffer
	a, err := New(t.Context(), Options{Now: clk.Now, Logger: slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil)),
		OIDC: &OIDCOptions{Issuer: si.Issuer, Audiences: []string{"api://other", si.Audience}, HTTPClient: sim.HTTPClient()}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := si.User("east-operator")
	tok, err := sim.IssueUserToken(si.TenantID, u.UPN, si.PublicClientID, si.APIScope)
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(withBearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != "oidc:"+si.TenantID+"/"+u.ObjectID || p.DisplayName != u.UPN || p.Method != xdrlinkv1.AuthMethod_AUTH_METHOD_OIDC ||
		len(p.Grants) != 1 || p.Grants[0] != (authz.Grant{Role: authz.Operator, AccessGroup: "pod-east"}) {
		t.Fatalf("principal %+v", p)
	}

	for _, tc := range []struct {
		name  string
		shift time.Duration
		says  string
	}{
		// The emulator's tokens live an hour; go-oidc allows no skew on
		// exp and five minutes on nbf, which the emulator backdates by
		// five minutes.
		{"expired", time.Hour + time.Second, "expired"},
		{"not yet valid", -11 * time.Minute, "nbf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk.mu.Lock()
			clk.now = time.Now().Add(tc.shift)
			clk.mu.Unlock()
			_, err := a.Authenticate(withBearer(tok))
			wantUnauthenticated(t, err, tc.says)
			for _, part := range strings.Split(tok, ".") {
				if strings.Contains(err.Error(), part[:16]) || strings.Contains(logs.String(), part[:16]) {
					t.Errorf("token quoted: %v\n%s", err, logs.String())
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "authentication failed") {
		t.Errorf("no failure logged: %s", logs.String())
	}
}

// fakeAddr is a peer address on any network.
type fakeAddr struct{ network, addr string }

func (a fakeAddr) Network() string { return a.network }
func (a fakeAddr) String() string  { return a.addr }

// TestClientAddress: the peer's host, except on the REST gateway's
// in-process connection, whose first X-Forwarded-For hop is the client the
// gateway resolved; what a network client sends as x-forwarded-for is
// never taken.
func TestClientAddress(t *testing.T) {
	for _, tc := range []struct {
		name string
		peer net.Addr
		xff  []string
		want string
	}{
		{"no peer", nil, nil, "unknown"},
		{"tcp peer", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4711}, nil, "192.0.2.1"},
		{"tcp peer claiming another address", &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 4711}, []string{"203.0.113.9"}, "192.0.2.1"},
		{"tcp peer claiming through a bufconn-like name", fakeAddr{"tcp", "bufconn:1"}, []string{"203.0.113.9"}, "bufconn"},
		{"gateway", fakeAddr{"bufconn", "bufconn"}, []string{"192.0.2.7, 127.0.0.1"}, "192.0.2.7"},
		{"gateway without forwarding", fakeAddr{"bufconn", "bufconn"}, nil, "bufconn"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.peer != nil {
				ctx = peer.NewContext(ctx, &peer.Peer{Addr: tc.peer})
			}
			if tc.xff != nil {
				ctx = metadata.NewIncomingContext(ctx, metadata.MD{"x-forwarded-for": tc.xff})
			}
			if got := ClientAddress(ctx); got != tc.want {
				t.Errorf("ClientAddress = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOIDCIssuerDown: a token that cannot be checked because the issuer
// is unreachable is UNAVAILABLE (retry later), not the caller's fault:
// when discovery fails, and when the key set must be fetched again for a
// key id the server has not seen.
func TestOIDCIssuerDown(t *testing.T) {
	start := func(t *testing.T) (*azuresim.Sim, azuresim.StaffIdentity, *Authenticator) {
		w, customers := azuresim.DemoWorld()
		sim, err := azuresim.Start(azuresim.Options{World: w, Customers: customers})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sim.Close() })
		si, _ := sim.StaffIdentity()
		a, err := New(t.Context(), Options{Logger: slog.New(slog.DiscardHandler),
			OIDC: &OIDCOptions{Issuer: si.Issuer, Audiences: []string{si.Audience}, HTTPClient: sim.HTTPClient()}})
		if err != nil {
			t.Fatal(err)
		}
		return sim, si, a
	}
	token := func(t *testing.T, sim *azuresim.Sim, si azuresim.StaffIdentity) string {
		u, _ := si.User("viewer")
		tok, err := sim.IssueUserToken(si.TenantID, u.UPN, si.PublicClientID, si.APIScope)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	t.Run("discovery", func(t *testing.T) {
		sim, si, a := start(t)
		tok := token(t, sim, si)
		_ = sim.Close()
		_, err := a.Authenticate(withBearer(tok))
		if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "retry later") {
			t.Errorf("issuer down: %v, want UNAVAILABLE", err)
		}
	})
	t.Run("key refetch", func(t *testing.T) {
		sim, si, a := start(t)
		if _, err := a.Authenticate(withBearer(token(t, sim, si))); err != nil {
			t.Fatal(err)
		}
		if _, err := sim.RotateSigningKey(); err != nil {
			t.Fatal(err)
		}
		tok := token(t, sim, si) // signed by a key the server has not fetched
		_ = sim.Close()
		_, err := a.Authenticate(withBearer(tok))
		if status.Code(err) != codes.Unavailable {
			t.Errorf("key set unreachable: %v, want UNAVAILABLE", err)
		}
	})
}
