package streaming

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/xdrlink/xdrlink/azure/cloud"
	"github.com/xdrlink/xdrlink/azure/outbound"
)

const (
	moduleName    = "xdrlink/azure/streaming"
	moduleVersion = "v0.1.0"
	settingsPath  = "/api/dataExportSettings"
)

// MaxSettingsPerTenant is the service's limit on entries per tenant
// (docs/azure.md §3.1).
const MaxSettingsPerTenant = 5

// Client calls the streaming API of one tenant. The credential decides the
// tenant; it must yield delegated (user) tokens.
type Client struct {
	endpoint string
	pl       *outbound.APIPipeline
}

// NewClient builds a client for svc (cloud.Endpoints.DefenderStreaming).
// opts are usually outbound.ClientOptions(outbound.APIDefenderStreaming, tenant).
func NewClient(svc cloud.Service, cred azcore.TokenCredential, opts *policy.ClientOptions) (*Client, error) {
	if !svc.Configured() {
		return nil, errors.New("streaming: the Defender streaming API is not configured for this cloud")
	}
	if cred == nil {
		return nil, errors.New("streaming: a credential is required")
	}
	pl, err := outbound.NewAPIPipeline(moduleName, moduleVersion, svc, cred, opts)
	if err != nil {
		return nil, err
	}
	return &Client{endpoint: strings.TrimSuffix(svc.Endpoint, "/"), pl: pl}, nil
}

type listResponse struct {
	Value []Setting `json:"value"`
}

// List returns the tenant's entries.
func (c *Client) List(ctx context.Context) (settings []Setting, err error) {
	ctx, end := c.pl.StartSpan(ctx, "streaming.List")
	defer func() { end(err) }()
	req, err := runtime.NewRequest(ctx, http.MethodGet, c.endpoint+settingsPath)
	if err != nil {
		return nil, err
	}
	req.Raw().Header.Set("Accept", "application/json")
	resp, err := c.pl.Do(req)
	if err != nil {
		return nil, classify(err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK) {
		return nil, responseError(resp)
	}
	var out listResponse
	if err := runtime.UnmarshalAsJSON(resp, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

// Upsert creates or replaces the entry s.ID with s (a whole-object write:
// logs missing from s are turned off). It returns the stored entry.
func (c *Client) Upsert(ctx context.Context, s Setting) (stored Setting, err error) {
	ctx, end := c.pl.StartSpan(ctx, "streaming.Upsert")
	defer func() { end(err) }()
	if s.ID == "" {
		return Setting{}, errors.New("streaming: setting id is required")
	}
	if s.Logs == nil {
		s.Logs = []Log{} // the API expects an array, never null
	}
	req, err := runtime.NewRequest(ctx, http.MethodPost, c.endpoint+settingsPath)
	if err != nil {
		return Setting{}, err
	}
	req.Raw().Header.Set("Accept", "application/json")
	if err := runtime.MarshalAsJSON(req, s); err != nil {
		return Setting{}, err
	}
	resp, err := c.pl.Do(req)
	if err != nil {
		return Setting{}, classify(err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusCreated) {
		return Setting{}, responseError(resp)
	}
	body, err := runtime.Payload(resp)
	if err != nil {
		return Setting{}, err
	}
	// UNCONFIRMED: what POST returns; an empty body means the write was
	// taken as sent.
	if len(strings.TrimSpace(string(body))) == 0 {
		return s, nil
	}
	if err := runtime.UnmarshalAsJSON(resp, &stored); err != nil {
		return Setting{}, err
	}
	return stored, nil
}

// Delete removes the entry id. A missing entry is an azerr.NotFound error.
func (c *Client) Delete(ctx context.Context, id string) (err error) {
	ctx, end := c.pl.StartSpan(ctx, "streaming.Delete")
	defer func() { end(err) }()
	if id == "" {
		return errors.New("streaming: setting id is required")
	}
	req, err := runtime.NewRequest(ctx, http.MethodDelete, c.endpoint+settingsPath+"/"+url.PathEscape(id))
	if err != nil {
		return err
	}
	resp, err := c.pl.Do(req)
	if err != nil {
		return classify(err)
	}
	if !runtime.HasStatusCode(resp, http.StatusOK, http.StatusNoContent) {
		return responseError(resp)
	}
	return nil
}

// Find returns the entry with id. Ids compare case-insensitively.
// UNCONFIRMED: the service's id case rules; the portal only ever writes
// SentinelExportSettings-<workspace>.
func Find(settings []Setting, id string) (Setting, bool) {
	for _, s := range settings {
		if strings.EqualFold(s.ID, id) {
			return s, true
		}
	}
	return Setting{}, false
}
