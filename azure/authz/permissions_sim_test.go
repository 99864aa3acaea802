package authz_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/authz"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWorkspacePermissions(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()

	// The MSSP app holds Microsoft Sentinel Contributor on Contoso's resource group.
	app := authz.New(env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub))
	perms, err := app.WorkspacePermissions(ctx, simtest.Contoso)
	if err != nil {
		t.Fatal(err)
	}
	if missing := perms.Missing(authz.WorkspaceActionNames()...); len(missing) != 0 {
		t.Fatalf("Sentinel Contributor lacks %v", missing)
	}
	get := env.Recorder.Last(t, http.MethodGet, "/workspaces/"+simtest.ContosoWS+"/providers/Microsoft.Authorization/permissions")
	if get.APIVersion() != armclient.AuthorizationPermissions {
		t.Fatal(get.APIVersion())
	}
	if perms.Allowed("Microsoft.Authorization/roleAssignments/write") {
		t.Fatal("Sentinel Contributor cannot assign roles")
	}
	rg, err := app.ResourceGroupPermissions(ctx, simtest.ContosoSub, simtest.ContosoRG)
	if err != nil || !rg.Allowed("Microsoft.Resources/deployments/write") {
		t.Fatalf("%v %v", rg, err)
	}

	// The analyst's custom role: SecurityInsights reads except settings, workspace read.
	user := authz.New(env.ARMAs(t, simtest.User(simtest.ContosoTenant, simtest.ContosoAnalyst), simtest.ContosoSub))
	up, err := user.WorkspacePermissions(ctx, simtest.Contoso)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Microsoft.SecurityInsights/dataConnectors/write", "Microsoft.SecurityInsights/onboardingStates/write",
		"Microsoft.SecurityInsights/alertRules/write", "Microsoft.SecurityInsights/settings/write",
		"Microsoft.SecurityInsights/contentPackages/write", "Microsoft.Resources/deployments/write",
		"Microsoft.OperationalInsights/workspaces/query/read",
	}
	if got := up.Missing(authz.WorkspaceActionNames()...); !slices.Equal(got, want) {
		t.Fatalf("missing %v\nwant %v", got, want)
	}
	if !up.Allowed("Microsoft.SecurityInsights/dataConnectors/read") || up.Allowed("Microsoft.SecurityInsights/settings/read") {
		t.Fatal("notActions of the custom role not applied")
	}
}
