package resources_test

import (
	"context"
	"net/http"
	"testing"

	"go.uber.org/goleak"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/resources"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestProviderRegistration(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c, err := resources.New(env.ARM(t, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.FabrikamSub)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range resources.RequiredProviders {
		p, err := c.GetProvider(ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		if p.Registered() {
			t.Fatalf("%s registered in Fabrikam's fixture", ns)
		}
	}
	get := env.Recorder.Last(t, http.MethodGet, "/providers/Microsoft.Insights")
	if get.APIVersion() != armclient.ResourcesProviders {
		t.Fatal(get.APIVersion())
	}
	p, err := c.RegisterProvider(ctx, resources.ProviderInsights)
	if err != nil {
		t.Fatal(err)
	}
	if p.Namespace != resources.ProviderInsights {
		t.Fatalf("%+v", p)
	}
	reg := env.Recorder.Last(t, http.MethodPost, "/providers/Microsoft.Insights/register")
	if reg.APIVersion() != armclient.ResourcesProviders || len(reg.RequestBody) != 0 {
		t.Fatalf("%s %q", reg.APIVersion(), reg.RequestBody)
	}
	p, err = c.GetProvider(ctx, resources.ProviderInsights)
	if err != nil || !p.Registered() {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := c.GetProvider(ctx, "not a namespace/../x"); err == nil {
		t.Fatal("bad namespace accepted")
	}
}

func TestProviderRegistrationForbidden(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	// The analyst holds only a custom read role on the workspace.
	c, err := resources.New(env.ARMAs(t, simtest.User(simtest.ContosoTenant, simtest.ContosoAnalyst), simtest.ContosoSub), simtest.ContosoSub)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RegisterProvider(context.Background(), resources.ProviderInsights)
	e := azerr.From(err)
	if e == nil || e.Kind != azerr.Forbidden || e.MissingPermission != "Microsoft.Insights/register/action" {
		t.Fatalf("%v", err)
	}
}

func TestDeploymentErrors(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	c, err := resources.New(env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub), simtest.ContosoSub)
	if err != nil {
		t.Fatal(err)
	}
	// RBAC comes first: the app's role is on rg-sentinel only, so another group is forbidden...
	_, err = c.BeginCreateDeployment(ctx, "rg-missing", "d1", resources.DeploymentProperties{Template: []byte(`{"resources":[]}`)})
	if azerr.Classify(err) != azerr.Forbidden {
		t.Fatalf("resource group outside the role: %v", err)
	}
	// ...while Fabrikam's app is Owner of the subscription and learns the group is missing.
	fab, err := resources.New(env.ARM(t, simtest.FabrikamTenant, simtest.FabrikamSub), simtest.FabrikamSub)
	if err != nil {
		t.Fatal(err)
	}
	_, err = fab.BeginCreateDeployment(ctx, "rg-missing", "d1", resources.DeploymentProperties{Template: []byte(`{"resources":[]}`)})
	if azerr.Classify(err) != azerr.NotFound {
		t.Fatalf("missing resource group: %v", err)
	}
	_, err = c.BeginCreateDeployment(ctx, simtest.ContosoRG, "d2", resources.DeploymentProperties{
		Template:   []byte(`{"parameters":{"workspace":{"type":"string"}},"resources":[]}`),
		Parameters: map[string]resources.ParameterValue{"other": {Value: "x"}},
	})
	if azerr.Classify(err) != azerr.InvalidRequest {
		t.Fatalf("bad parameters: %v", err)
	}
	_, err = c.GetDeployment(ctx, simtest.ContosoRG, "never-created")
	if azerr.Classify(err) != azerr.NotFound {
		t.Fatalf("%v", err)
	}
	if _, err := c.BeginCreateDeployment(ctx, simtest.ContosoRG, "bad/name", resources.DeploymentProperties{}); err == nil {
		t.Fatal("bad name accepted")
	}
}
