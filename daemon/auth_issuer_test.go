package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/xdrlink/xdrlink/azuresim"
	xdrlinkv1 "github.com/xdrlink/xdrlink/gen/xdrlink/v1"
)

// TestAuthConfiguredIssuer: --oidc-issuer, --oidc-audience and
// --oidc-ca-file name an issuer other than the sandbox's (here a second
// emulator, as an MSSP's Entra would be): its tokens are accepted through
// that CA, with their roles, and the sandbox emulator's own tokens are not.
func TestAuthConfiguredIssuer(t *testing.T) {
	world, customers := azuresim.DemoWorld()
	idp, err := azuresim.Start(azuresim.Options{World: world, Customers: customers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Close() })
	ca := filepath.Join(t.TempDir(), "idp-ca.pem")
	if err := os.WriteFile(ca, idp.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	staff := idp.Staff()
	d := startAuthDaemon(t, nil, func(c *Config) {
		c.OIDCIssuer, c.OIDCAudiences, c.OIDCCAFile = staff.Issuer, []string{"api://other", staff.Audience}, ca
	})
	viewer, ok := staff.User("viewer")
	if !ok {
		t.Fatal("no viewer in the staff")
	}
	tok, err := idp.IssueUserToken(staff.TenantID, viewer.UPN, staff.PublicClientID, staff.APIScope)
	if err != nil {
		t.Fatal(err)
	}
	access := xdrlinkv1.NewAccessServiceClient(plainConn(t, d))
	caller, err := access.GetCaller(bearerCtx(t.Context(), tok), &xdrlinkv1.GetCallerRequest{})
	if err != nil {
		t.Fatalf("a token of the configured issuer: %v", err)
	}
	if len(caller.GetGrants()) != 1 || caller.GetGrants()[0].GetRole() != xdrlinkv1.Role_ROLE_VIEWER {
		t.Errorf("grants %v, want VIEWER", caller.GetGrants())
	}
	// The sandbox's emulator signs with other keys and names another
	// issuer: its token is refused here.
	if _, err := access.GetCaller(bearerCtx(t.Context(), staffToken(t, d, "admin")), &xdrlinkv1.GetCallerRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("the sandbox emulator's token: %v, want UNAUTHENTICATED", err)
	}
}
