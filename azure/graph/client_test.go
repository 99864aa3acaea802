package graph_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/graph"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/outbound"
	"github.com/xdrlink/xdrlink/azuresim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	contosoApp   = simtest.App(simtest.ContosoTenant)
	contosoAdmin = simtest.User(simtest.ContosoTenant, simtest.ContosoAdmin)
	fabrikamApp  = simtest.App(simtest.FabrikamTenant)
)

func newClient(t *testing.T, env *simtest.Env, as simtest.Principal) (*graph.Client, *simtest.Recorder) {
	t.Helper()
	return simtest.NewClient(t, env, outbound.APIGraph, graph.NewClient, as)
}

func TestRoleAssignmentsAndHasRole(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	c, rec := newClient(t, env, contosoApp)
	ctx := context.Background()
	got, err := c.RoleAssignments(ctx, simtest.ContosoAdminID)
	if err != nil {
		t.Fatal(err)
	}
	req := rec.Latest(t)
	wantURL := env.Sim.URL() + "/v1.0/roleManagement/directory/roleAssignments?%24filter=principalId%20eq%20%27" + simtest.ContosoAdminID + "%27"
	if req.Method != http.MethodGet || req.URL != wantURL || !req.Bearer() || len(req.RequestBody) != 0 {
		t.Fatalf("request %s %s, want GET %s", req.Method, req.URL, wantURL)
	}
	if len(got) != 1 || got[0].RoleDefinitionID != graph.RoleSecurityAdministrator || got[0].PrincipalID != simtest.ContosoAdminID {
		t.Fatalf("assignments = %+v", got)
	}
	for _, tc := range []struct {
		principal string
		roles     []string
		want      bool
	}{
		{simtest.ContosoAdminID, []string{graph.RoleSecurityAdministrator, graph.RoleGlobalAdministrator}, true},
		{simtest.ContosoAdminID, []string{graph.RoleGlobalAdministrator}, false},
		{simtest.ContosoAnalystID, []string{graph.RoleSecurityAdministrator, graph.RoleGlobalAdministrator}, false},
		{simtest.ContosoAppSPID, []string{graph.RoleSecurityReader}, false},
	} {
		if ok, err := c.HasRole(ctx, tc.principal, tc.roles...); err != nil || ok != tc.want {
			t.Errorf("HasRole(%s, %v) = %v, %v; want %v", tc.principal, tc.roles, ok, err, tc.want)
		}
	}
	n := len(rec.Exchanges())
	if _, err := c.RoleAssignments(ctx, "x' or 1 eq 1"); err == nil || len(rec.Exchanges()) != n {
		t.Fatalf("a non-GUID principal must fail before any request: %v", err)
	}
	// Fabrikam's service principal has no Graph permission.
	f, _ := newClient(t, env, fabrikamApp)
	_, err = f.RoleAssignments(ctx, simtest.ContosoAdminID)
	if e := simtest.WantKind(t, err, azerr.Forbidden); e.Code != "Authorization_RequestDenied" || e.MissingPermission != graph.PermissionRoles {
		t.Fatalf("fabrikam error %+v", e)
	}
}

func TestMyDirectoryRoles(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c, rec := newClient(t, env, contosoAdmin)
	got, err := c.MyDirectoryRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := env.Sim.URL() + "/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?%24select=displayName%2CroleTemplateId"; rec.Latest(t).URL != want {
		t.Fatalf("url %s, want %s", rec.Latest(t).URL, want)
	}
	if len(got) != 1 || got[0].RoleTemplateID != graph.RoleSecurityAdministrator || got[0].DisplayName != "Security Administrator" {
		t.Fatalf("roles = %+v", got)
	}
	f, _ := newClient(t, env, simtest.User(simtest.FabrikamTenant, simtest.FabrikamAdmin))
	if got, err := f.MyDirectoryRoles(ctx); err != nil || len(got) != 1 || got[0].RoleTemplateID != graph.RoleGlobalAdministrator {
		t.Fatalf("fabrikam admin roles = %+v, %v", got, err)
	}
	app, _ := newClient(t, env, contosoApp)
	_, err = app.MyDirectoryRoles(ctx)
	simtest.WantKind(t, err, azerr.InvalidRequest)
}

func TestSubscribedSkusPerTenant(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c, rec := newClient(t, env, contosoApp)
	skus, err := c.SubscribedSkus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Latest(t).URL != env.Sim.URL()+"/v1.0/subscribedSkus" {
		t.Fatalf("url %s", rec.Latest(t).URL)
	}
	if len(skus) != 1 || skus[0].SkuID != graph.SkuM365E5 || len(skus[0].ServicePlans) != 4 {
		t.Fatalf("contoso skus = %+v", skus)
	}
	for plan, want := range map[string]bool{graph.PlanMTP: true, graph.PlanWINDEFATP: true, graph.PlanATA: true, graph.PlanMCAS: false} {
		if got := graph.HasServicePlan(skus, plan); got != want {
			t.Errorf("contoso HasServicePlan(%s) = %v", plan, got)
		}
	}
	f, _ := newClient(t, env, simtest.User(simtest.FabrikamTenant, simtest.FabrikamAdmin))
	skus, err = f.SubscribedSkus(ctx)
	if err != nil || len(skus) != 1 || len(skus[0].ServicePlans) != 1 || graph.HasServicePlan(skus, graph.PlanATA) {
		t.Fatalf("fabrikam skus = %+v, %v", skus, err)
	}
	n, _ := newClient(t, env, simtest.App(simtest.NorthwindTenant))
	_, err = n.SubscribedSkus(ctx)
	if e := simtest.WantKind(t, err, azerr.Forbidden); e.MissingPermission != graph.PermissionSkus {
		t.Fatalf("northwind error %+v", e)
	}
}

func TestSubscribedSkusFollowsNextLink(t *testing.T) {
	env := simtest.Start(t, simtest.Config{EditWorld: func(w *azuresim.World) {
		for i := range 130 {
			w.Tenants[1].Licenses = append(w.Tenants[1].Licenses, azuresim.License{
				SkuID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), SkuPartNumber: fmt.Sprintf("SKU_%d", i)})
		}
	}})
	c, rec := newClient(t, env, contosoApp)
	skus, err := c.SubscribedSkus(context.Background())
	if err != nil || len(skus) != 131 || len(rec.Exchanges()) < 2 {
		t.Fatalf("%d skus in %d requests, %v", len(skus), len(rec.Exchanges()), err)
	}
}

func TestMDISensors(t *testing.T) {
	env := simtest.Start(t, simtest.Config{EditWorld: func(w *azuresim.World) {
		w.Tenants[2].ServicePrincipals[0].AppRoles = map[string][]string{"https://graph.microsoft.com": {"SecurityIdentitiesSensors.Read.All"}}
	}})
	ctx := context.Background()
	c, rec := newClient(t, env, contosoApp)
	got, err := c.MDISensors(ctx)
	if err != nil || len(got) != 1 || got[0].ID != "dc01-sensor" || got[0].SensorType != "domainControllerIntegrated" {
		t.Fatalf("contoso sensors = %+v, %v", got, err)
	}
	if rec.Latest(t).URL != env.Sim.URL()+"/v1.0/security/identities/sensors" {
		t.Fatalf("url %s", rec.Latest(t).URL)
	}
	f, _ := newClient(t, env, fabrikamApp)
	if got, err := f.MDISensors(ctx); err != nil || len(got) != 0 {
		t.Fatalf("fabrikam (no MDI) sensors = %+v, %v", got, err)
	}
	u, _ := newClient(t, env, contosoAdmin) // delegated: no sensors scope
	_, err = u.MDISensors(ctx)
	if e := simtest.WantKind(t, err, azerr.Forbidden); e.MissingPermission != graph.PermissionSensors {
		t.Fatalf("error %+v", e)
	}
}
