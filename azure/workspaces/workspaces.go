package workspaces

import (
	"context"
	"net/http"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

// Workspace is the part of a Log Analytics workspace resource xdrlink reads.
type Workspace struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Type       string     `json:"type"`
	Location   string     `json:"location"`
	Properties Properties `json:"properties"`
}

// Properties of a workspace.
type Properties struct {
	// CustomerID is the workspace GUID of the Log Analytics query API (not the ARM id).
	CustomerID        string `json:"customerId"`
	ProvisioningState string `json:"provisioningState"`
	RetentionInDays   int    `json:"retentionInDays"`
	Sku               struct {
		Name string `json:"name"`
	} `json:"sku"`
}

// Client reads workspaces.
type Client struct {
	arm *armclient.Client
}

// New returns a workspaces client.
func New(arm *armclient.Client) *Client { return &Client{arm: arm} }

// Get reads the workspace; a missing one fails with azerr.NotFound.
func (c *Client) Get(ctx context.Context, ws armclient.Workspace) (*Workspace, error) {
	if err := ws.Validate(); err != nil {
		return nil, err
	}
	var out Workspace
	if _, err := c.arm.DoJSON(ctx, armclient.Request{Operation: "workspaces.get", Method: http.MethodGet, Path: ws.Path(),
		APIVersion: armclient.OperationalInsightsWorkspaces, OK: []int{http.StatusOK}}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
