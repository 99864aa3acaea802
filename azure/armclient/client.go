package armclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/internal/guid"
	"github.com/xdrlink/xdrlink/azure/outbound"
)

// Module identity for azcore's telemetry policy (User-Agent) and tracer.
const (
	moduleName    = "github.com/xdrlink/xdrlink/azure"
	moduleVersion = "v0.1.0"
)

// Client sends ARM requests through an azcore arm.Client pipeline.
type Client struct {
	arm *arm.Client
}

// New builds a client for one customer tenant: cred authenticates, opts come from
// outbound.ARMClientOptions(tenant, subscription).
func New(cred azcore.TokenCredential, opts *arm.ClientOptions) (*Client, error) {
	c, err := arm.NewClient(moduleName, moduleVersion, cred, opts)
	if err != nil {
		return nil, err
	}
	return &Client{arm: c}, nil
}

// Pipeline is the azcore pipeline (for pollers).
func (c *Client) Pipeline() runtime.Pipeline { return c.arm.Pipeline() }

// Request describes one ARM call.
type Request struct {
	// Operation names the call for telemetry ("sentinel.dataConnectors.put").
	Operation string
	Method    string
	// Path is the resource path ("/subscriptions/..."), or an absolute nextLink URL.
	Path       string
	APIVersion string
	// Query holds extra query parameters ($filter...).
	Query url.Values
	// Body, when non-nil, is sent as JSON.
	Body any
	// OK lists the success status codes; any other status is an error.
	OK []int
}

// Do sends the request and returns the response when its status is in OK; otherwise an
// *azerr.Error. The body has been read into memory (runtime.Payload) either way.
func (c *Client) Do(ctx context.Context, r Request) (*http.Response, error) {
	if r.Operation != "" {
		ctx = outbound.WithOperation(ctx, r.Operation)
	}
	req, err := c.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := c.arm.Pipeline().Do(req)
	if err != nil {
		return nil, azerr.Wrap(err)
	}
	if !runtime.HasStatusCode(resp, r.OK...) {
		return nil, azerr.FromResponse(resp)
	}
	return resp, nil
}

// DoJSON is Do that decodes a successful body into out (skipped when out is nil or the
// body is empty) and returns the status code.
func (c *Client) DoJSON(ctx context.Context, r Request, out any) (int, error) {
	resp, err := c.Do(ctx, r)
	if err != nil {
		return 0, err
	}
	if out != nil {
		body, err := runtime.Payload(resp)
		if err != nil {
			return resp.StatusCode, err
		}
		if len(body) > 0 {
			if err := json.Unmarshal(body, out); err != nil {
				return resp.StatusCode, fmt.Errorf("armclient: decode %s response: %w", r.Operation, err)
			}
		}
	}
	return resp.StatusCode, nil
}

func (c *Client) newRequest(ctx context.Context, r Request) (*policy.Request, error) {
	var req *policy.Request
	var err error
	if strings.HasPrefix(r.Path, "https://") {
		// A nextLink carries its own query (api-version, $skipToken). It must point at the
		// same host: following a link elsewhere would hand our bearer token to that host.
		if err := c.sameHost(r.Path); err != nil {
			return nil, err
		}
		req, err = runtime.NewRequest(ctx, r.Method, r.Path)
	} else {
		req, err = runtime.NewRequest(ctx, r.Method, runtime.JoinPaths(c.arm.Endpoint(), r.Path))
		if err == nil {
			q := req.Raw().URL.Query()
			q.Set("api-version", r.APIVersion)
			for k, vs := range r.Query {
				q[k] = vs
			}
			// ARM (and OData $filter) want %20, not "+", for spaces.
			req.Raw().URL.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
		}
	}
	if err != nil {
		return nil, err
	}
	req.Raw().Header.Set("Accept", "application/json")
	if r.Body != nil {
		if err := runtime.MarshalAsJSON(req, r.Body); err != nil {
			return nil, err
		}
	}
	return req, nil
}

func (c *Client) sameHost(link string) error {
	u, err := url.Parse(link)
	if err != nil {
		return fmt.Errorf("armclient: bad nextLink: %w", err)
	}
	base, err := url.Parse(c.arm.Endpoint())
	if err != nil {
		return err
	}
	if !strings.EqualFold(u.Host, base.Host) {
		return fmt.Errorf("armclient: nextLink host %q is not the ARM endpoint %q", u.Host, base.Host)
	}
	return nil
}

// page is ARM's list envelope.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink"`
}

// maxPages bounds nextLink following; a service that loops must not hang a worker.
const maxPages = 1000

// List GETs r.Path and follows nextLink until the last page.
func List[T any](ctx context.Context, c *Client, r Request) ([]T, error) {
	r.Method = http.MethodGet
	if len(r.OK) == 0 {
		r.OK = []int{http.StatusOK}
	}
	var all []T
	for i := 0; ; i++ {
		if i == maxPages {
			return nil, fmt.Errorf("armclient: %s: more than %d pages", r.Operation, maxPages)
		}
		var p page[T]
		if _, err := c.DoJSON(ctx, r, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Value...)
		if p.NextLink == "" {
			return all, nil
		}
		r.Path, r.Query = p.NextLink, nil
	}
}

// Workspace identifies a Log Analytics (Sentinel) workspace.
type Workspace struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
}

var (
	// ARM resource group names: letters, digits, _ - . ( ), at most 90, not ending in '.'.
	resourceGroupPattern = regexp.MustCompile(`^[-\w._()]{1,90}$`)
	// Log Analytics workspace names: 4-63 letters, digits and hyphens.
	workspaceNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{2,61}[A-Za-z0-9]$`)
)

// Validate rejects values that would change the meaning of the URL path.
func (w Workspace) Validate() error {
	if _, err := ResourceGroupPath(w.SubscriptionID, w.ResourceGroup); err != nil {
		return err
	}
	if !workspaceNamePattern.MatchString(w.Name) {
		return fmt.Errorf("armclient: invalid workspace name %q", w.Name)
	}
	return nil
}

// ResourceGroupPath validates the ids and returns /subscriptions/{sub}/resourceGroups/{rg}.
func ResourceGroupPath(subscriptionID, resourceGroup string) (string, error) {
	switch {
	case !guid.Valid(subscriptionID):
		return "", fmt.Errorf("armclient: subscription id %q is not a GUID", subscriptionID)
	case !resourceGroupPattern.MatchString(resourceGroup) || strings.HasSuffix(resourceGroup, "."):
		return "", fmt.Errorf("armclient: invalid resource group name %q", resourceGroup)
	}
	return resourceGroupPath(subscriptionID, resourceGroup), nil
}

func resourceGroupPath(subscriptionID, resourceGroup string) string {
	return "/subscriptions/" + url.PathEscape(subscriptionID) + "/resourceGroups/" + url.PathEscape(resourceGroup)
}

// ResourceGroupPath is /subscriptions/{sub}/resourceGroups/{rg} of the workspace.
func (w Workspace) ResourceGroupPath() string {
	return resourceGroupPath(w.SubscriptionID, w.ResourceGroup)
}

// Path is the workspace's ARM resource id.
func (w Workspace) Path() string {
	return w.ResourceGroupPath() + "/providers/Microsoft.OperationalInsights/workspaces/" + url.PathEscape(w.Name)
}

// ChildName validates the name of a child resource (connector, rule, setting, package)
// before it goes into a path. ARM names of these resources are GUIDs or simple identifiers.
func ChildName(name string) (string, error) {
	if name == "" || len(name) > 260 || strings.ContainsAny(name, "/\\?#%") || name == "." || name == ".." {
		return "", fmt.Errorf("armclient: invalid resource name %q", name)
	}
	return url.PathEscape(name), nil
}
