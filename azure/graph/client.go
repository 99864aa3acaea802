package graph

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/xdrlink/xdrlink/azure/azerr"
	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/outbound"
)

const (
	moduleName    = "xdrlink/azure/graph"
	moduleVersion = "v0.1.0"
	// maxPages bounds @odata.nextLink chains, so a looping service cannot
	// hold a worker forever.
	maxPages = 100
)

// Client calls Microsoft Graph v1.0 for one tenant.
type Client struct {
	base *url.URL // endpoint + /v1.0
	pl   *outbound.APIPipeline
}

// NewClient builds a client for svc (cloud.Endpoints.Graph). opts are
// usually outbound.ClientOptions(outbound.APIGraph, tenant).
func NewClient(svc cloud.Service, cred azcore.TokenCredential, opts *policy.ClientOptions) (*Client, error) {
	if !svc.Configured() {
		return nil, errors.New("graph: Microsoft Graph is not configured for this cloud")
	}
	if cred == nil {
		return nil, errors.New("graph: a credential is required")
	}
	base, err := url.Parse(strings.TrimSuffix(svc.Endpoint, "/") + "/v1.0")
	if err != nil {
		return nil, fmt.Errorf("graph: endpoint: %w", err)
	}
	pl, err := outbound.NewAPIPipeline(moduleName, moduleVersion, svc, cred, opts)
	if err != nil {
		return nil, err
	}
	return &Client{base: base, pl: pl}, nil
}

// page is one Graph collection response.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"@odata.nextLink"`
}

// list GETs path (relative to /v1.0, with its query) and follows
// @odata.nextLink. permission names what a 403 means the caller lacks.
func list[T any](ctx context.Context, c *Client, path string, query url.Values, permission string) ([]T, error) {
	u := *c.base
	u.Path += path
	// Graph's OData parser wants %20 for spaces in $filter, not form-style +.
	u.RawQuery = strings.ReplaceAll(query.Encode(), "+", "%20")
	next := u.String()
	var out []T
	for i := 0; next != ""; i++ {
		if i == maxPages {
			return nil, fmt.Errorf("graph: more than %d pages at %s", maxPages, path)
		}
		if err := c.sameHost(next); err != nil {
			return nil, err
		}
		req, err := runtime.NewRequest(ctx, http.MethodGet, next)
		if err != nil {
			return nil, err
		}
		req.Raw().Header.Set("Accept", "application/json")
		resp, err := c.pl.Do(req)
		if err != nil {
			return nil, azerr.Wrap(err)
		}
		if !runtime.HasStatusCode(resp, http.StatusOK) {
			return nil, responseError(resp, permission)
		}
		var p page[T]
		if err := runtime.UnmarshalAsJSON(resp, &p); err != nil {
			return nil, err
		}
		out = append(out, p.Value...)
		next = p.NextLink
	}
	return out, nil
}

// sameHost refuses a nextLink to another host: the pipeline would send it
// the bearer token.
func (c *Client) sameHost(link string) error {
	u, err := url.Parse(link)
	if err != nil || !strings.EqualFold(u.Scheme, c.base.Scheme) || !strings.EqualFold(u.Host, c.base.Host) {
		return fmt.Errorf("graph: refusing to follow link to another host: %q", link)
	}
	return nil
}

func responseError(resp *http.Response, permission string) error {
	e := azerr.From(azerr.FromResponse(resp))
	if e.Kind == azerr.Forbidden && e.MissingPermission == "" {
		e.MissingPermission = permission
	}
	return e
}
