package sentinel

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

// ProductPackage is a Content Hub catalog entry (contentProductPackages, docs/azure.md §6).
type ProductPackage struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"`
	Type       string                   `json:"type,omitempty"`
	Properties ProductPackageProperties `json:"properties"`
}

// ProductPackageProperties are the catalog fields xdrlink uses.
type ProductPackageProperties struct {
	ContentID        string `json:"contentId"`
	ContentProductID string `json:"contentProductId"`
	ContentKind      string `json:"contentKind"`
	Version          string `json:"version"`
	InstalledVersion string `json:"installedVersion,omitempty"`
	DisplayName      string `json:"displayName"`
	// PackagedContent is the ARM template to deploy; only GET by name returns it (§6).
	PackagedContent json.RawMessage `json:"packagedContent,omitempty"`
}

// Installed reports whether the catalog entry is installed at its current version.
func (p ProductPackage) Installed() bool {
	return p.Properties.InstalledVersion != "" && p.Properties.InstalledVersion == p.Properties.Version
}

// ContentPackage is an installed solution (contentPackages, docs/azure.md §6).
type ContentPackage struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"`
	Type       string                   `json:"type,omitempty"`
	Etag       string                   `json:"etag,omitempty"`
	Properties ContentPackageProperties `json:"properties"`
}

// ContentPackageProperties is the install body (§6 InstallPackage) plus installedVersion.
type ContentPackageProperties struct {
	ContentID        string `json:"contentId"`
	ContentProductID string `json:"contentProductId,omitempty"`
	ContentKind      string `json:"contentKind"`
	Version          string `json:"version"`
	DisplayName      string `json:"displayName,omitempty"`
	InstalledVersion string `json:"installedVersion,omitempty"`
}

// ListContentProductPackages lists the catalog, optionally narrowed by an OData $filter such
// as ContentIDFilter(id).
func (c *Client) ListContentProductPackages(ctx context.Context, filter string) ([]ProductPackage, error) {
	var q map[string][]string
	if filter != "" {
		q = map[string][]string{"$filter": {filter}}
	}
	return list[ProductPackage](ctx, c, "sentinel.contentProductPackages.list", armclient.SecurityInsightsStable, "contentProductPackages", q)
}

// ContentIDFilter is the $filter selecting one solution by contentId (docs/azure.md §6: look
// the package id up at run time). Quotes are doubled as OData requires.
func ContentIDFilter(contentID string) string {
	return "properties/contentId eq '" + strings.ReplaceAll(contentID, "'", "''") + "'"
}

// FindProductPackage returns the catalog entry with contentID, or nil when the catalog has
// none.
func (c *Client) FindProductPackage(ctx context.Context, contentID string) (*ProductPackage, error) {
	all, err := c.ListContentProductPackages(ctx, ContentIDFilter(contentID))
	if err != nil {
		return nil, err
	}
	for i := range all {
		if strings.EqualFold(all[i].Properties.ContentID, contentID) {
			return &all[i], nil
		}
	}
	return nil, nil
}

// GetContentProductPackage reads a catalog entry with its packagedContent.
func (c *Client) GetContentProductPackage(ctx context.Context, name string) (*ProductPackage, error) {
	var p ProductPackage
	if err := c.get(ctx, "sentinel.contentProductPackages.get", armclient.SecurityInsightsStable, "contentProductPackages", name, &p); err != nil {
		return nil, err
	}
	if len(p.Properties.PackagedContent) == 0 || string(p.Properties.PackagedContent) == "null" {
		return nil, fmt.Errorf("sentinel: product package %s has no packagedContent", name)
	}
	return &p, nil
}

// GetContentPackage reads an installed package; absent fails with azerr.NotFound.
func (c *Client) GetContentPackage(ctx context.Context, name string) (*ContentPackage, error) {
	var p ContentPackage
	if err := c.get(ctx, "sentinel.contentPackages.get", armclient.SecurityInsightsStable, "contentPackages", name, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// PutContentPackage installs a package record (§6 InstallPackage). Whether this alone also
// creates the solution's templates is UNCONFIRMED (§6); contenthub deploys the template.
func (c *Client) PutContentPackage(ctx context.Context, name string, props ContentPackageProperties) (pkg *ContentPackage, created bool, err error) {
	body := ContentPackage{Properties: ContentPackageProperties{
		ContentID: props.ContentID, ContentProductID: props.ContentProductID, ContentKind: props.ContentKind,
		Version: props.Version, DisplayName: props.DisplayName,
	}}
	var out ContentPackage
	created, err = c.put(ctx, "sentinel.contentPackages.put", armclient.SecurityInsightsStable, "contentPackages", name, body, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, created, nil
}
