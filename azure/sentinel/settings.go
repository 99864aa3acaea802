package sentinel

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/xdrlink/xdrlink/azure/armclient"
	"github.com/xdrlink/xdrlink/azure/azerr"
)

// Settings names and kinds (docs/azure.md §5); the name equals the kind.
const (
	SettingEntityAnalytics = "EntityAnalytics"
	SettingUeba            = "Ueba"
)

// EntityProviders values (docs/azure.md §5). ActiveDirectory is "Connect entities" and needs
// Defender for Identity with a sensor (§5, §8.4).
const (
	EntityProviderActiveDirectory      = "ActiveDirectory"
	EntityProviderAzureActiveDirectory = "AzureActiveDirectory"
)

// UebaDataSources values (docs/azure.md §5).
const (
	UebaAuditLogs     = "AuditLogs"
	UebaAzureActivity = "AzureActivity"
	UebaSecurityEvent = "SecurityEvent"
	UebaSigninLogs    = "SigninLogs"
)

// Setting is a SecurityInsights settings resource with raw properties.
type Setting = Resource

// GetSetting reads a settings resource; an absent one fails with azerr.NotFound.
func (c *Client) GetSetting(ctx context.Context, name string) (*Setting, error) {
	var s Setting
	if err := c.get(ctx, "sentinel.settings.get", armclient.SecurityInsightsPreview, "settings", name, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// PutSetting writes s (kind = name, etag, raw properties). A stale etag fails with
// azerr.EtagConflict.
func (c *Client) PutSetting(ctx context.Context, s Setting) (setting *Setting, created bool, err error) {
	var out Setting
	created, err = c.put(ctx, "sentinel.settings.put", armclient.SecurityInsightsPreview, "settings", s.Name,
		putBody{Kind: s.Kind, Etag: s.Etag, Properties: s.Properties}, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, created, nil
}

// ListSettings lists the workspace's settings resources.
func (c *Client) ListSettings(ctx context.Context) ([]Setting, error) {
	return list[Setting](ctx, c, "sentinel.settings.list", armclient.SecurityInsightsPreview, "settings", nil)
}

// EnsureEntityProviders makes settings/EntityAnalytics include every given provider,
// keeping providers already there. changed is false when nothing was written.
func (c *Client) EnsureEntityProviders(ctx context.Context, providers ...string) (setting *Setting, changed bool, err error) {
	return c.ensureListSetting(ctx, SettingEntityAnalytics, "entityProviders", providers)
}

// EnsureUebaDataSources makes settings/Ueba include every given data source, keeping those
// already there. changed is false when nothing was written.
func (c *Client) EnsureUebaDataSources(ctx context.Context, sources ...string) (setting *Setting, changed bool, err error) {
	return c.ensureListSetting(ctx, SettingUeba, "dataSources", sources)
}

// ensureListSetting is the read-modify-write of a settings resource whose properties hold
// one string list: GET (absent → create without etag), union, PUT with the etag read. Other
// properties are sent back as read.
func (c *Client) ensureListSetting(ctx context.Context, name, field string, want []string) (*Setting, bool, error) {
	cur, err := c.GetSetting(ctx, name)
	switch {
	case azerr.Is(err, azerr.NotFound):
		cur = &Setting{Name: name, Kind: name, Properties: json.RawMessage(`{}`)}
	case err != nil:
		return nil, false, err
	}
	props := map[string]json.RawMessage{}
	if len(cur.Properties) > 0 {
		if err := json.Unmarshal(cur.Properties, &props); err != nil {
			return nil, false, fmt.Errorf("sentinel: decode settings %s: %w", name, err)
		}
		if props == nil {
			props = map[string]json.RawMessage{}
		}
	}
	var have []string
	if raw, ok := props[field]; ok {
		if err := json.Unmarshal(raw, &have); err != nil {
			return nil, false, fmt.Errorf("sentinel: decode settings %s.%s: %w", name, field, err)
		}
	}
	merged := append([]string(nil), have...)
	for _, w := range want {
		if !slices.ContainsFunc(merged, func(h string) bool { return strings.EqualFold(h, w) }) {
			merged = append(merged, w)
		}
	}
	if len(merged) == len(have) && cur.Etag != "" {
		return cur, false, nil
	}
	b, err := json.Marshal(merged)
	if err != nil {
		return nil, false, err
	}
	props[field] = b
	next := *cur
	next.Kind = name
	if next.Name == "" {
		next.Name = name
	}
	if next.Properties, err = json.Marshal(props); err != nil {
		return nil, false, err
	}
	out, _, err := c.PutSetting(ctx, next)
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}
