package azuresim

import (
	"encoding/json"
	"strings"
	"time"
)

// ContentProduct is one Content Hub solution in the sim's catalog.
type ContentProduct struct {
	PackageID   string // the product package's resource name
	ContentID   string
	DisplayName string
	Version     string
	Description string
	// Connector is the contentId of the data connector the solution
	// depends on (its dependencies criteria).
	Connector string
	Domain    string // categories.domains
}

// DefenderXDRContentID is the Content Hub contentId of the Microsoft Defender
// XDR solution (docs/azure.md §6).
const DefenderXDRContentID = "azuresentinel.azure-sentinel-solution-microsoft365defender"

// ContentCatalog is what contentProductPackages lists in every workspace.
var ContentCatalog = []ContentProduct{
	{PackageID: defenderXDRPackageID, ContentID: DefenderXDRContentID, DisplayName: "Microsoft Defender XDR", Version: "3.0.11",
		Description: "Microsoft Defender XDR incidents, alerts and advanced hunting events in Microsoft Sentinel.",
		Connector:   kindMTP, Domain: "Security - Threat Protection"},
	{PackageID: "azuresentinel.azure-sentinel-solution-azureactivedirectory", ContentID: "azuresentinel.azure-sentinel-solution-azureactivedirectory",
		DisplayName: "Microsoft Entra ID", Version: "3.3.0", Description: "Microsoft Entra ID sign-in and audit logs in Microsoft Sentinel.",
		Connector: "AzureActiveDirectory", Domain: "Identity"},
	{PackageID: "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud", ContentID: "azuresentinel.azure-sentinel-solution-microsoftdefenderforcloud",
		DisplayName: "Microsoft Defender for Cloud", Version: "3.0.3", Description: "Microsoft Defender for Cloud alerts in Microsoft Sentinel.",
		Connector: "AzureSecurityCenter", Domain: "Security - Cloud Security"},
	{PackageID: "azuresentinel.azure-sentinel-solution-threatintelligence-taxii", ContentID: "azuresentinel.azure-sentinel-solution-threatintelligence-taxii",
		DisplayName: "Threat Intelligence", Version: "3.0.9", Description: "Threat indicators from TAXII servers and platforms in Microsoft Sentinel.",
		Connector: "ThreatIntelligenceTaxii", Domain: "Security - Threat Intelligence"},
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

// metadata is the package property bag both contentProductPackages and
// installed contentPackages return (the fields of the spec's examples).
func (p ContentProduct) metadata() map[string]any {
	return map[string]any{
		"contentId": p.ContentID, "contentProductId": p.productID(), "contentKind": "Solution",
		"contentSchemaVersion": "3.0.0", "version": p.Version, "displayName": p.DisplayName,
		"description": p.Description, "publisherDisplayName": "Microsoft Sentinel, Microsoft Corporation",
		"icon":  "https://raw.githubusercontent.com/Azure/Azure-Sentinel/master/Logos/Azure_Sentinel.svg",
		"isNew": "false", "isPreview": "false", "isFeatured": "false", "isDeprecated": "false",
		"source": map[string]any{"kind": "Solution", "name": p.DisplayName, "sourceId": p.ContentID},
		"author": map[string]any{"name": "Microsoft", "email": "support@microsoft.com"},
		"support": map[string]any{"tier": "Microsoft", "name": "Microsoft Corporation", "email": "support@microsoft.com",
			"link": "https://support.microsoft.com/"},
		"dependencies": map[string]any{"operator": "AND", "criteria": []any{
			map[string]any{"contentId": p.Connector, "kind": "DataConnector", "version": p.Version}}},
		"providers":                []any{"Microsoft"},
		"categories":               map[string]any{"domains": []any{p.Domain}, "verticals": nil},
		"firstPublishDate":         "2022-05-02",
		"lastPublishDate":          "2025-06-01",
		"threatAnalysisTactics":    []any{},
		"threatAnalysisTechniques": []any{},
	}
}

// productResource renders a catalog entry for a workspace, with the
// installed version when installed.
func (p ContentProduct) productResource(w *WorkspaceState, installedVersion string, withContent bool) *armResource {
	props := p.metadata()
	if installedVersion != "" {
		props["installedVersion"] = installedVersion
	}
	if withContent {
		props["packagedContent"] = p.template()
	}
	// The catalog is the service's, so its etag and systemData are fixed.
	return &armResource{ID: childID(w, "contentProductPackages", p.PackageID), Name: p.PackageID,
		Type: "Microsoft.SecurityInsights/contentProductPackages", Etag: `"` + stableUUID(p.ContentID, p.Version) + `"`,
		Properties: props, SystemData: catalogSystemData}
}

// catalogSystemData dates the catalog to the sim's fixed publish date.
var catalogSystemData = newSystemData(seedWriterOf, time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), nil)

// installPackage records an installed solution, written by by at now; the
// caller holds the tenant lock.
func installPackage(w *WorkspaceState, contentID, version, name string, by writer, now time.Time) *armResource {
	props := map[string]any{"contentId": contentID, "contentKind": "Solution", "displayName": contentID,
		"contentProductId": contentProductID(contentID)}
	if p, ok := catalogByContentID(contentID); ok {
		props = p.metadata()
		if name == "" {
			name = p.PackageID
		}
	}
	if name == "" {
		name = contentID
	}
	props["version"], props["installedVersion"] = version, version
	// one installed package per contentId
	var prev *armResource
	for k, p := range w.packages {
		if cid, _ := p.Properties["contentId"].(string); strings.EqualFold(cid, contentID) {
			prev = p
			delete(w.packages, k)
		}
	}
	res := &armResource{ID: childID(w, "contentPackages", name), Name: name, Type: "Microsoft.SecurityInsights/contentPackages",
		Etag: newETag(), Properties: props, SystemData: newSystemData(by, now, prev)}
	w.packages[strings.ToLower(name)] = res
	return res
}
