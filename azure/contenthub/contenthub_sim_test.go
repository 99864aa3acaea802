package contenthub_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/contenthub"
	"github.com/xdrlink/xdrlink/azure/internal/simtest"
	"github.com/xdrlink/xdrlink/azure/resources"
	"github.com/xdrlink/xdrlink/azure/sentinel"
	"github.com/xdrlink/xdrlink/azuresim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func installer(t *testing.T, env *simtest.Env, arm *armclient.Client, ws armclient.Workspace) *contenthub.Installer {
	t.Helper()
	s, err := sentinel.New(arm, ws)
	if err != nil {
		t.Fatal(err)
	}
	d, err := resources.New(arm, ws.SubscriptionID)
	if err != nil {
		t.Fatal(err)
	}
	return contenthub.New(s, d)
}

func TestInstallDefenderXDRSolution(t *testing.T) {
	env := simtest.Start(t, simtest.Config{Sim: azuresim.Options{DeploymentPolls: 3}})
	ctx := context.Background()
	in := installer(t, env, env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub), simtest.Contoso)

	var token string
	res, err := in.Install(ctx, contenthub.DefenderXDRContentID, contenthub.Options{
		Location: "westeurope", PollFrequency: 10 * time.Millisecond,
		OnStarted: func(tok string) error { token = tok; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped || res.Version != "3.0.11" || res.InstalledBefore != "" || res.DeploymentName != "xdrlink-microsoft365defender-3.0.11" || token == "" {
		t.Fatalf("%+v token=%q", res, token)
	}
	ws, _ := env.Sim.Workspace(simtest.ContosoSub, simtest.ContosoRG, simtest.ContosoWS)
	if v := ws.InstalledPackageVersion(contenthub.DefenderXDRContentID); v != "3.0.11" {
		t.Fatalf("installed version in the sim: %q", v)
	}

	put := env.Recorder.Last(t, http.MethodPut, "/providers/Microsoft.Resources/deployments/"+res.DeploymentName)
	if put.APIVersion() != armclient.ResourcesDeployments {
		t.Fatal(put.APIVersion())
	}
	var body struct {
		Properties struct {
			Mode       string                     `json:"mode"`
			Template   map[string]json.RawMessage `json:"template"`
			Parameters map[string]struct {
				Value string `json:"value"`
			} `json:"parameters"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(put.RequestBody, &body); err != nil {
		t.Fatal(err)
	}
	p := body.Properties
	if p.Mode != "Incremental" || p.Parameters["workspace"].Value != simtest.ContosoWS || p.Parameters["workspace-location"].Value != "westeurope" ||
		len(p.Parameters) != 2 || len(p.Template["resources"]) == 0 || strings.Contains(string(put.RequestBody), "postDeployment") {
		t.Fatalf("deployment body %s", put.RequestBody)
	}
	// The LRO was polled through Azure-AsyncOperation until it finished.
	polls := env.Recorder.Find(http.MethodGet, "/operationStatuses/")
	if len(polls) < 3 {
		t.Fatalf("%d status polls, the sim answers Running 3 times", len(polls))
	}
	if !strings.Contains(string(polls[len(polls)-1].ResponseBody), "Succeeded") {
		t.Fatalf("last poll %s", polls[len(polls)-1].ResponseBody)
	}

	again, err := in.Install(ctx, contenthub.DefenderXDRContentID, contenthub.Options{Location: "westeurope"})
	if err != nil || !again.Skipped || again.InstalledBefore != "3.0.11" {
		t.Fatalf("%+v %v", again, err)
	}

	_, err = in.Install(ctx, "no.such.solution", contenthub.Options{})
	if !errors.Is(err, contenthub.ErrNotInCatalog) {
		t.Fatal(err)
	}
}

// TestDeploymentResume: a poller rebuilt from the resume token (a restarted worker)
// finishes the deployment.
func TestDeploymentResume(t *testing.T) {
	ctx := context.Background()
	d, tpl := deploymentOfSolution(t)
	poller, err := d.BeginCreateDeployment(ctx, simtest.ContosoRG, "resume-test", contenthub.DeploymentProperties(tpl, simtest.ContosoWS, "westeurope"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := poller.ResumeToken()
	if err != nil {
		t.Fatal(err)
	}
	resumed, err := d.ResumeDeployment(tok)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := resources.WaitDeployment(ctx, resumed, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("%+v", dep)
	}
	got, err := d.GetDeployment(ctx, simtest.ContosoRG, "resume-test")
	if err != nil || got.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("%+v %v", got, err)
	}
}

// TestInstallForbidden: a principal without Microsoft.Resources/deployments/write.
func TestInstallForbidden(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	in := installer(t, env, env.ARMAs(t, simtest.User(simtest.ContosoTenant, simtest.ContosoAnalyst), simtest.ContosoSub), simtest.Contoso)
	_, err := in.Install(context.Background(), contenthub.DefenderXDRContentID, contenthub.Options{Location: "westeurope"})
	var e *azerr.Error
	if !errors.As(err, &e) || e.Kind != azerr.Forbidden || e.MissingPermission != "Microsoft.Resources/deployments/write" {
		t.Fatalf("%v", err)
	}
}

// TestDeploymentFailureIsClassified: a template whose resource cannot be applied ends the
// LRO in Failed; the poller's error names the inner code.
func TestDeploymentFailureIsClassified(t *testing.T) {
	env := simtest.Start(t, simtest.Config{})
	ctx := context.Background()
	d, _ := resources.New(env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub), simtest.ContosoSub)
	tpl := `{"resources":[{"type":"Microsoft.OperationalInsights/workspaces/providers/contentPackages","apiVersion":"2023-04-01-preview",
	  "name":"ws-missing/Microsoft.SecurityInsights/pkg","properties":{"contentId":"x","version":"1.0.0"}}]}`
	poller, err := d.BeginCreateDeployment(ctx, simtest.ContosoRG, "fails", resources.DeploymentProperties{Template: json.RawMessage(tpl)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = resources.WaitDeployment(ctx, poller, &runtime.PollUntilDoneOptions{Frequency: 10 * time.Millisecond})
	e := azerr.From(err)
	if e == nil || e.Kind != azerr.NotFound || e.Code != "ResourceNotFound" {
		t.Fatalf("%+v", e)
	}
}

// TestAbandonedDeploymentEnds: a deployment whose client went away (a
// crash before it polled) does not block its name forever: the retried PUTs
// see DeploymentActive until it ends, then replace it.
func TestAbandonedDeploymentEnds(t *testing.T) {
	ctx := context.Background()
	d, tpl := deploymentOfSolution(t)
	props := contenthub.DeploymentProperties(tpl, simtest.ContosoWS, "westeurope")
	if _, err := d.BeginCreateDeployment(ctx, simtest.ContosoRG, "abandoned", props); err != nil {
		t.Fatal(err)
	}
	conflicts := 0
	for attempt := 0; ; attempt++ {
		_, err := d.BeginCreateDeployment(ctx, simtest.ContosoRG, "abandoned", props)
		if err == nil {
			break
		}
		if !azerr.Is(err, azerr.Conflict) || attempt > 5 {
			t.Fatalf("retried PUT %d: %v", attempt, err)
		}
		conflicts++
	}
	if conflicts == 0 {
		t.Error("a running deployment was replaced at once; want DeploymentActive while it runs")
	}
}

// deploymentOfSolution starts an emulator whose deployments take two polls
// and returns Contoso's deployments client with the Defender XDR
// solution's template.
func deploymentOfSolution(t *testing.T) (*resources.Client, json.RawMessage) {
	t.Helper()
	env := simtest.Start(t, simtest.Config{Sim: azuresim.Options{DeploymentPolls: 2}})
	ctx := context.Background()
	arm := env.ARM(t, simtest.ContosoTenant, simtest.ContosoSub)
	s, _ := sentinel.New(arm, simtest.Contoso)
	d, _ := resources.New(arm, simtest.ContosoSub)
	pkg, err := s.FindProductPackage(ctx, contenthub.DefenderXDRContentID)
	if err != nil {
		t.Fatal(err)
	}
	full, err := s.GetContentProductPackage(ctx, pkg.Name)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := contenthub.StripPostDeployment(full.Properties.PackagedContent)
	if err != nil {
		t.Fatal(err)
	}
	return d, tpl
}
