package authn

import (
	"io"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
	"github.com/xdrlink/xdrlink/store"
)

// BenchmarkAuthenticate is what authentication adds to each call: an API key
// found in the cache (one SHA-256), and an OIDC token seen before (one
// SHA-256; the first time, its RSA signature and claims are checked).
func BenchmarkAuthenticate(b *testing.B) {
	keys := &keyStore{keys: map[string]*store.APIKey{}}
	w, customers := azuresim.DemoWorld()
	sim, err := azuresim.Start(azuresim.Options{World: w, Customers: customers})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	si, _ := sim.StaffIdentity()
	a, err := New(b.Context(), Options{APIKeys: keys, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		OIDC: &OIDCOptions{Issuer: si.Issuer, Audiences: []string{si.Audience}, HTTPClient: sim.HTTPClient()}})
	if err != nil {
		b.Fatal(err)
	}
	id, key, hash := NewAPIKey()
	body, err := proto.Marshal(&xdrlinkv1.ApiKey{DisplayName: "bench", Role: xdrlinkv1.Role_ROLE_VIEWER})
	if err != nil {
		b.Fatal(err)
	}
	keys.keys[id] = &store.APIKey{ID: id, SecretHash: hash, Body: body}
	u, _ := si.User("operator")
	tok, err := sim.IssueUserToken(si.TenantID, u.UPN, si.PublicClientID, si.APIScope)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, cred string }{{"api-key", key}, {"oidc", tok}} {
		ctx := withBearer(bc.cred)
		if _, err := a.Authenticate(ctx); err != nil { // warms the cache and the key set
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
