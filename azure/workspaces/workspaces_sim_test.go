package workspaces_test

import (
	"context"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/workspaces"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGetWorkspace(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c := workspaces.New(env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub))
	ws, err := c.Get(ctx, simtest.Contoso)
	if err != nil {
		t.Fatal(err)
	}
	if ws.Properties.CustomerID != simtest.ContosoCustomerID || ws.Location != "westeurope" || ws.Name != simtest.ContosoWS {
		t.Fatalf("%+v", ws)
	}
	if got := env.Recorder.Last(t, http.MethodGet, "/workspaces/"+simtest.ContosoWS); got.APIVersion() != armclient.OperationalInsightsWorkspaces {
		t.Fatal(got.APIVersion())
	}
	missing := simtest.Contoso
	missing.Name = "ws-missing"
	if _, err := c.Get(ctx, missing); azerr.Classify(err) != azerr.NotFound {
		t.Fatalf("%v", err)
	}
	// A workspace in another tenant's subscription: the token's tenant does not own it.
	if _, err := c.Get(ctx, simtest.Fabrikam); azerr.Classify(err) != azerr.Unauthenticated {
		t.Fatalf("cross-tenant: %v", err)
	}
	bad := simtest.Contoso
	bad.ResourceGroup = "rg/../x"
	if _, err := c.Get(ctx, bad); err == nil {
		t.Fatal("path injection accepted")
	}
}
