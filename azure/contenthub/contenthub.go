package contenthub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/xdrlink/xdrlink/azure/resources"
	"github.com/xdrlink/xdrlink/azure/sentinel"
)

// DefenderXDRContentID is the contentId of the "Microsoft Defender XDR" solution
// (docs/azure.md §6). Its product package id is UNCONFIRMED (§6), so it is looked up at run
// time by this contentId.
const DefenderXDRContentID = "azuresentinel.azure-sentinel-solution-microsoft365defender"

// Installer installs solutions into one workspace.
type Installer struct {
	sentinel    *sentinel.Client
	deployments *resources.Client
}

// New returns an installer; deployments must be for the workspace's subscription.
func New(s *sentinel.Client, deployments *resources.Client) *Installer {
	return &Installer{sentinel: s, deployments: deployments}
}

// Options tune an install.
type Options struct {
	// Location is the workspace region, the template's "workspace-location" parameter.
	Location string
	// DeploymentName defaults to DeploymentName(contentID, version).
	DeploymentName string
	// PollFrequency is how often the deployment is polled (default 5s; azcore uses the
	// server's Retry-After when it sends one).
	PollFrequency time.Duration
	// OnStarted receives the deployment poller's resume token as soon as the deployment is
	// accepted, so a worker that dies can resume polling instead of deploying again.
	OnStarted func(resumeToken string) error
}

// Result describes what Install did.
type Result struct {
	ContentID string
	// Version is the catalog version; InstalledBefore the version installed before ("" none).
	Version         string
	InstalledBefore string
	// Skipped is true when the current version was already installed.
	Skipped        bool
	DeploymentName string
}

// ErrNotInCatalog is returned when the workspace's Content Hub has no such solution.
var ErrNotInCatalog = errors.New("contenthub: solution not in the workspace's Content Hub catalog")

// Install installs contentID at the catalog's current version unless it is already installed.
func (i *Installer) Install(ctx context.Context, contentID string, opts Options) (*Result, error) {
	pkg, err := i.sentinel.FindProductPackage(ctx, contentID)
	if err != nil {
		return nil, err
	}
	if pkg == nil {
		return nil, fmt.Errorf("%w: %s", ErrNotInCatalog, contentID)
	}
	res := &Result{ContentID: contentID, Version: pkg.Properties.Version, InstalledBefore: pkg.Properties.InstalledVersion}
	if pkg.Installed() {
		res.Skipped = true
		return res, nil
	}
	full, err := i.sentinel.GetContentProductPackage(ctx, pkg.Name)
	if err != nil {
		return nil, err
	}
	template, err := StripPostDeployment(full.Properties.PackagedContent)
	if err != nil {
		return nil, err
	}
	res.DeploymentName = opts.DeploymentName
	if res.DeploymentName == "" {
		res.DeploymentName = DeploymentName(contentID, res.Version)
	}
	ws := i.sentinel.Workspace()
	poller, err := i.deployments.BeginCreateDeployment(ctx, ws.ResourceGroup, res.DeploymentName, DeploymentProperties(template, ws.Name, opts.Location))
	if err != nil {
		return nil, err
	}
	if opts.OnStarted != nil {
		tok, err := poller.ResumeToken()
		if err != nil {
			return nil, err
		}
		if err := opts.OnStarted(tok); err != nil {
			return nil, err
		}
	}
	freq := opts.PollFrequency
	if freq <= 0 {
		freq = 5 * time.Second
	}
	if _, err := resources.WaitDeployment(ctx, poller, &runtime.PollUntilDoneOptions{Frequency: freq}); err != nil {
		return nil, fmt.Errorf("contenthub: deployment %s: %w", res.DeploymentName, err)
	}
	return res, nil
}

// DeploymentProperties is the deployment body of docs/azure.md §6 step 4: Incremental mode,
// the template, and the "workspace" and "workspace-location" parameters.
func DeploymentProperties(template json.RawMessage, workspace, location string) resources.DeploymentProperties {
	return resources.DeploymentProperties{
		Mode:     resources.DeploymentModeIncremental,
		Template: template,
		Parameters: map[string]resources.ParameterValue{
			"workspace":          {Value: workspace},
			"workspace-location": {Value: location},
		},
	}
}

var nonName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// DeploymentName is a deterministic deployment name for a solution version, so a retried
// install targets the same deployment instead of starting a second one.
func DeploymentName(contentID, version string) string {
	id := contentID
	if i := strings.LastIndex(id, "azure-sentinel-solution-"); i >= 0 {
		id = id[i+len("azure-sentinel-solution-"):]
	}
	name := nonName.ReplaceAllString("xdrlink-"+id, "-")
	v := nonName.ReplaceAllString(version, "-")
	// ARM allows 64 characters. The id part gives way first; a version that alone exceeds
	// the limit (a malformed catalog entry) is cut too instead of panicking.
	if limit := 64 - len(v) - 1; len(name) > limit {
		name = name[:max(limit, 0)]
	}
	full := name + "-" + v
	return full[:min(len(full), 64)]
}

// StripPostDeployment removes every metadata.postDeployment from the template, nested
// templates included: the field script does so "because of invalid characters" (§6 step 5).
// Numbers keep their original text; only key order may change.
func StripPostDeployment(template json.RawMessage) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(template))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("contenthub: packagedContent is not JSON: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, errors.New("contenthub: packagedContent is not a JSON object")
	}
	strip(v)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // ARM template expressions contain '<', '>' and '&'
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return json.RawMessage(bytes.TrimRight(buf.Bytes(), "\n")), nil
}

func strip(v any) {
	switch t := v.(type) {
	case map[string]any:
		if md, ok := t["metadata"].(map[string]any); ok {
			delete(md, "postDeployment")
		}
		for _, child := range t {
			strip(child)
		}
	case []any:
		for _, child := range t {
			strip(child)
		}
	}
}
