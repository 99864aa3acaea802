package sentinel

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

// Client calls Microsoft.SecurityInsights on one workspace.
type Client struct {
	arm *armclient.Client
	ws  armclient.Workspace
}

// New returns a client for the workspace; the workspace reference is validated here so that
// no caller-supplied name can reshape a URL path.
func New(arm *armclient.Client, ws armclient.Workspace) (*Client, error) {
	if err := ws.Validate(); err != nil {
		return nil, err
	}
	return &Client{arm: arm, ws: ws}, nil
}

// Workspace is the workspace this client works on.
func (c *Client) Workspace() armclient.Workspace { return c.ws }

// path is the provider path of a SecurityInsights resource collection or resource.
func (c *Client) path(collection string, name ...string) (string, error) {
	p := c.ws.Path() + "/providers/Microsoft.SecurityInsights/" + collection
	for _, n := range name {
		esc, err := armclient.ChildName(n)
		if err != nil {
			return "", err
		}
		p += "/" + esc
	}
	return p, nil
}

// Resource is the common envelope of SecurityInsights child resources. Properties stay raw
// so a read-modify-write sends back what it read.
type Resource struct {
	ID         string          `json:"id,omitempty"`
	Name       string          `json:"name,omitempty"`
	Type       string          `json:"type,omitempty"`
	Kind       string          `json:"kind,omitempty"`
	Etag       string          `json:"etag,omitempty"`
	Properties json.RawMessage `json:"properties,omitempty"`
}

// putBody is what a PUT sends: kind, etag and properties (id, name and type are read-only).
type putBody struct {
	Kind       string          `json:"kind,omitempty"`
	Etag       string          `json:"etag,omitempty"`
	Properties json.RawMessage `json:"properties"`
}

// get reads one resource into out.
func (c *Client) get(ctx context.Context, op, apiVersion, collection, name string, out any) error {
	p, err := c.path(collection, name)
	if err != nil {
		return err
	}
	_, err = c.arm.DoJSON(ctx, armclient.Request{Operation: op, Method: http.MethodGet, Path: p, APIVersion: apiVersion, OK: []int{http.StatusOK}}, out)
	return err
}

// put writes one resource and reports whether ARM created it (201) rather than updated it (200).
func (c *Client) put(ctx context.Context, op, apiVersion, collection, name string, body, out any) (created bool, err error) {
	p, err := c.path(collection, name)
	if err != nil {
		return false, err
	}
	status, err := c.arm.DoJSON(ctx, armclient.Request{Operation: op, Method: http.MethodPut, Path: p, APIVersion: apiVersion, Body: body,
		OK: []int{http.StatusOK, http.StatusCreated}}, out)
	return status == http.StatusCreated, err
}

// del deletes one resource and reports whether it existed (200) rather than not (204).
func (c *Client) del(ctx context.Context, op, apiVersion, collection, name string) (existed bool, err error) {
	p, err := c.path(collection, name)
	if err != nil {
		return false, err
	}
	resp, err := c.arm.Do(ctx, armclient.Request{Operation: op, Method: http.MethodDelete, Path: p, APIVersion: apiVersion,
		OK: []int{http.StatusOK, http.StatusNoContent}})
	if err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK, nil
}

func list[T any](ctx context.Context, c *Client, op, apiVersion, collection string, query map[string][]string) ([]T, error) {
	p, err := c.path(collection)
	if err != nil {
		return nil, err
	}
	return armclient.List[T](ctx, c.arm, armclient.Request{Operation: op, Path: p, APIVersion: apiVersion, Query: query})
}
