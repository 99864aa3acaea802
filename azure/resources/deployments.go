package resources

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
)

// DeploymentModeIncremental leaves resources not in the template alone (§6 step 4).
const DeploymentModeIncremental = "Incremental"

// Deployment is a Microsoft.Resources/deployments resource.
type Deployment struct {
	ID         string               `json:"id,omitempty"`
	Name       string               `json:"name,omitempty"`
	Properties DeploymentProperties `json:"properties"`
}

// DeploymentProperties are the request and response properties xdrlink uses.
type DeploymentProperties struct {
	Mode       string                    `json:"mode"`
	Template   json.RawMessage           `json:"template,omitempty"`
	Parameters map[string]ParameterValue `json:"parameters,omitempty"`
	// ProvisioningState is set in responses: Accepted, Running, Succeeded, Failed, Canceled.
	ProvisioningState string          `json:"provisioningState,omitempty"`
	CorrelationID     string          `json:"correlationId,omitempty"`
	Outputs           json.RawMessage `json:"outputs,omitempty"`
}

// ParameterValue is {"value": ...}.
type ParameterValue struct {
	Value any `json:"value"`
}

// DeploymentPoller tracks a running deployment; PollUntilDone returns the final resource or
// the deployment's failure (an *azcore.ResponseError, classified by azerr).
type DeploymentPoller = runtime.Poller[Deployment]

var deploymentNamePattern = regexp.MustCompile(`^[-\w._()]{1,64}$`)

func (c *Client) deploymentPath(resourceGroup, name string) (string, error) {
	if !deploymentNamePattern.MatchString(name) {
		return "", fmt.Errorf("resources: invalid deployment name %q", name)
	}
	rg, err := armclient.ResourceGroupPath(c.subscription, resourceGroup)
	if err != nil {
		return "", err
	}
	return rg + "/providers/Microsoft.Resources/deployments/" + url.PathEscape(name), nil
}

// BeginCreateDeployment PUTs a deployment and returns a poller for the LRO (201/200 plus
// Azure-AsyncOperation, docs/azure.md §10). The caller polls with PollUntilDone; the poller's
// ResumeToken lets a restarted worker continue.
func (c *Client) BeginCreateDeployment(ctx context.Context, resourceGroup, name string, props DeploymentProperties) (*DeploymentPoller, error) {
	p, err := c.deploymentPath(resourceGroup, name)
	if err != nil {
		return nil, err
	}
	body := Deployment{Properties: DeploymentProperties{Mode: props.Mode, Template: props.Template, Parameters: props.Parameters}}
	if body.Properties.Mode == "" {
		body.Properties.Mode = DeploymentModeIncremental
	}
	resp, err := c.arm.Do(ctx, armclient.Request{Operation: "resources.deployments.put", Method: http.MethodPut, Path: p,
		APIVersion: armclient.ResourcesDeployments, Body: body, OK: []int{http.StatusOK, http.StatusCreated}})
	if err != nil {
		return nil, err
	}
	poller, err := runtime.NewPoller(resp, c.arm.Pipeline(), &runtime.NewPollerOptions[Deployment]{
		FinalStateVia: runtime.FinalStateViaAzureAsyncOp,
	})
	if err != nil {
		return nil, azerr.Wrap(err)
	}
	return poller, nil
}

// ResumeDeployment rebuilds a poller from a ResumeToken saved by an earlier worker.
func (c *Client) ResumeDeployment(token string) (*DeploymentPoller, error) {
	return runtime.NewPollerFromResumeToken(token, c.arm.Pipeline(), &runtime.NewPollerFromResumeTokenOptions[Deployment]{})
}

// GetDeployment reads a deployment.
func (c *Client) GetDeployment(ctx context.Context, resourceGroup, name string) (*Deployment, error) {
	p, err := c.deploymentPath(resourceGroup, name)
	if err != nil {
		return nil, err
	}
	var out Deployment
	if _, err := c.arm.DoJSON(ctx, armclient.Request{Operation: "resources.deployments.get", Method: http.MethodGet, Path: p,
		APIVersion: armclient.ResourcesDeployments, OK: []int{http.StatusOK}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WaitDeployment polls until the deployment finishes; failures are classified by azerr.
func WaitDeployment(ctx context.Context, p *DeploymentPoller, opts *runtime.PollUntilDoneOptions) (*Deployment, error) {
	d, err := p.PollUntilDone(ctx, opts)
	if err != nil {
		return nil, azerr.Wrap(err)
	}
	return &d, nil
}
