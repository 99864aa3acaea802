package azuresim

import (
	"encoding/json"
	"strings"
)

// ContentProduct is one Content Hub solution in the sim's catalog.
type ContentProduct struct {
	PackageID   string // the product package's resource name
	ContentID   string
	DisplayName string
	Version     string
}

// DefenderXDRContentID is the Content Hub contentId of the Microsoft Defender
// XDR solution (azure-api.md §6).
const DefenderXDRContentID = "azuresentinel.azure-sentinel-solution-microsoft365defender"

// ContentCatalog is what contentProductPackages lists in every workspace.
var ContentCatalog = []ContentProduct{
	{defenderXDRPackageID, DefenderXDRContentID, "Microsoft Defender XDR", "3.0.11"},
	{"azuresentinel.azure-sentinel-solution-azureactivedirectory", "azuresentinel.azure-sentinel-solution-azureactivedirectory", "Microsoft Entra ID", "3.3.0"},
	{"azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud", "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud", "Microsoft Defender for Cloud", "3.0.3"},
	{"azuresentinel.azure-sentinel-solution-threatintelligence-taxii", "azuresentinel.azure-sentinel-solution-threatintelligence-taxii", "Threat Intelligence", "3.0.9"},
}

func catalogByName(name string) (ContentProduct, bool) {
	for _, p := range ContentCatalog {
		if strings.EqualFold(p.PackageID, name) {
			return p, true
		}
	}
	return ContentProduct{}, false
}

func catalogByContentID(id string) (ContentProduct, bool) {
	for _, p := range ContentCatalog {
		if strings.EqualFold(p.ContentID, id) {
			return p, true
		}
	}
	return ContentProduct{}, false
}

func (p ContentProduct) productID() string { return contentProductID(p.ContentID) }

// contentProductID is the contentProductId of a solution's contentId.
func contentProductID(contentID string) string {
	return contentID + "-sl-" + stableUUID(contentID)[:13]
}

// template is the package's ARM template (packagedContent): a small
// mainTemplate in the shape of the real one, whose deployment installs the
// solution (a contentPackages resource) at the catalog version.
func (p ContentProduct) template() map[string]any {
	raw := `{
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "` + p.Version + `",
  "parameters": {
    "workspace": {"type": "string", "metadata": {"description": "Workspace name for Log Analytics where Microsoft Sentinel is setup"}},
    "workspace-location": {"type": "string", "defaultValue": "", "metadata": {"description": "Region to deploy solution resources"}}
  },
  "variables": {
    "_solutionName": "` + p.DisplayName + `",
    "_solutionVersion": "` + p.Version + `",
    "_solutionId": "` + p.ContentID + `",
    "_solutionProductId": "` + p.productID() + `"
  },
  "resources": [
    {
      "type": "Microsoft.OperationalInsights/workspaces/providers/contentPackages",
      "apiVersion": "2023-04-01-preview",
      "location": "[parameters('workspace-location')]",
      "name": "[concat(parameters('workspace'),'/Microsoft.SecurityInsights/', variables('_solutionId'))]",
      "properties": {
        "version": "[variables('_solutionVersion')]",
        "kind": "Solution",
        "contentSchemaVersion": "3.0.0",
        "displayName": "[variables('_solutionName')]",
        "publisherDisplayName": "Microsoft Sentinel, Microsoft Corporation",
        "contentId": "[variables('_solutionId')]",
        "contentProductId": "[variables('_solutionProductId')]",
        "contentKind": "Solution",
        "id": "[variables('_solutionProductId')]"
      }
    }
  ]
}`
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		panic("azuresim: bad catalog template: " + err.Error())
	}
	return m
}

// productResource renders a catalog entry for a workspace, with the
// installed version when installed.
func (p ContentProduct) productResource(w *WorkspaceState, installedVersion string, withContent bool) *armResource {
	props := map[string]any{
		"contentId": p.ContentID, "contentProductId": p.productID(), "contentKind": "Solution",
		"contentSchemaVersion": "3.0.0", "version": p.Version, "displayName": p.DisplayName,
		"isNew": "false", "isPreview": "false", "isFeatured": "false", "isDeprecated": "false",
		"source":           map[string]any{"kind": "Solution", "name": p.DisplayName, "sourceId": p.ContentID},
		"author":           map[string]any{"name": "Microsoft", "email": "support@microsoft.com"},
		"support":          map[string]any{"tier": "Microsoft", "name": "Microsoft Corporation", "link": "https://support.microsoft.com/"},
		"providers":        []any{"Microsoft"},
		"categories":       map[string]any{"domains": []any{"Security - Threat Protection"}},
		"firstPublishDate": "2022-05-02",
	}
	if installedVersion != "" {
		props["installedVersion"] = installedVersion
	}
	if withContent {
		props["packagedContent"] = p.template()
	}
	return &armResource{ID: childID(w, "contentProductPackages", p.PackageID), Name: p.PackageID,
		Type: "Microsoft.SecurityInsights/contentProductPackages", Properties: props}
}

// installPackage records an installed solution; the caller holds the tenant lock.
func installPackage(w *WorkspaceState, contentID, version, name string) *armResource {
	displayName := contentID
	if p, ok := catalogByContentID(contentID); ok {
		displayName = p.DisplayName
		if name == "" {
			name = p.PackageID
		}
	}
	if name == "" {
		name = contentID
	}
	res := &armResource{ID: childID(w, "contentPackages", name), Name: name, Type: "Microsoft.SecurityInsights/contentPackages",
		Etag: newETag(), Properties: map[string]any{
			"contentId": contentID, "contentKind": "Solution", "version": version, "installedVersion": version,
			"displayName": displayName, "contentProductId": contentProductID(contentID),
		}}
	// one installed package per contentId
	for k, p := range w.packages {
		if cid, _ := p.Properties["contentId"].(string); strings.EqualFold(cid, contentID) {
			delete(w.packages, k)
		}
	}
	w.packages[strings.ToLower(name)] = res
	return res
}
