package daemon

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	grpcmd "google.golang.org/grpc/metadata"

	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// The caller's address (the principal with --auth=none, the audit log,
// rate limits) cannot be made up with X-Forwarded-For: over REST only a
// trusted proxy's header counts, and over gRPC the header counts only on the
// gateway's in-process connection.
func TestClientAddressNotSpoofable(t *testing.T) {
	const forged = "203.0.113.9"
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		want    string
	}{
		{"untrusted peer", nil, "127.0.0.1"},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, forged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDaemon(t, func(c *Config) { c.TrustedProxies = tc.trusted })
			ctx := context.Background()

			// REST: a tenant created with a forged X-Forwarded-For.
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+d.HTTPAddr()+"/v1/tenants?tenant_id=rest",
				strings.NewReader(jsonBody(&xdrlinkv1.Tenant{EntraTenantId: "11111111-1111-1111-1111-111111111111",
					Workspace: &xdrlinkv1.Workspace{SubscriptionId: "22222222-2222-2222-2222-222222222222", ResourceGroup: "rg", Name: "ws-rest", Region: "westeurope"}})))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", forged)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("create over REST: %d", resp.StatusCode)
			}

			// gRPC: the same header as metadata, straight from a client.
			c := dial(t, d)
			gctx := grpcmd.AppendToOutgoingContext(ctx, "x-forwarded-for", forged)
			if _, err := c.Tenants.CreateTenant(gctx, &xdrlinkv1.CreateTenantRequest{TenantId: "grpc", Tenant: &xdrlinkv1.Tenant{
				EntraTenantId: "11111111-1111-1111-1111-111111111111",
				Workspace:     &xdrlinkv1.Workspace{SubscriptionId: "22222222-2222-2222-2222-222222222222", ResourceGroup: "rg", Name: "ws-grpc", Region: "westeurope"},
			}}); err != nil {
				t.Fatal(err)
			}

			events, err := c.Audit.ListAuditEvents(ctx, &xdrlinkv1.ListAuditEventsRequest{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*xdrlinkv1.AuditEvent{}
			for _, e := range events.GetAuditEvents() {
				got[e.GetResource()] = e
			}
			for resource, want := range map[string]string{"tenants/rest": tc.want, "tenants/grpc": "127.0.0.1"} {
				e := got[resource]
				if e == nil {
					t.Fatalf("no audit event for %s: %v", resource, events.GetAuditEvents())
				}
				if e.GetClientAddress() != want || e.GetPrincipal() != "anonymous@"+want {
					t.Errorf("%s: client %q, principal %q; want %s", resource, e.GetClientAddress(), e.GetPrincipal(), want)
				}
			}
		})
	}
}
