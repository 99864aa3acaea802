package streaming

import (
	"slices"
	"strings"
)

// Product is the Defender product that owns a table.
type Product string

// Products as docs/azure.md §3.2 groups the tables.
const (
	ProductEndpoint    Product = "MDE"  // Defender for Endpoint
	ProductOffice      Product = "MDO"  // Defender for Office 365
	ProductIdentity    Product = "MDI"  // Defender for Identity
	ProductCloudApps   Product = "MDA"  // Defender for Cloud Apps
	ProductXDR         Product = "XDR"  // Defender XDR alerts
	ProductVulnerables Product = "TVM"  // Threat & Vulnerability Management
	ProductBehaviors   Product = "UEBA" // Behavior tables
)

// Support says how a table can be turned on.
type Support string

const (
	// SupportAPI: the streaming API accepts the table's category.
	SupportAPI Support = "api"
	// SupportPortalOnly: the API refuses every name for it; a human must
	// tick it in the portal (MDO tables, docs/azure.md §3.1).
	SupportPortalOnly Support = "portal_only"
	// SupportNone: the table never reaches Sentinel (TVM, Behavior*,
	// docs/azure.md §3.2).
	SupportNone Support = "none"
)

// Table is one advanced-hunting table and how it is streamed.
type Table struct {
	Name    string
	Product Product
	Support Support
	// Category is the writable category name ("" unless Support is
	// SupportAPI): AdvancedHunting-<Table> for MDE and XDR, the bare table
	// name for MDI and MDA (the long forms are refused, docs/azure.md §3.1).
	Category string
}

func apiTable(name string, p Product) Table {
	cat := "AdvancedHunting-" + name
	if p == ProductIdentity || p == ProductCloudApps {
		cat = name
	}
	return Table{Name: name, Product: p, Support: SupportAPI, Category: cat}
}

func table(name string, p Product, s Support) Table { return Table{Name: name, Product: p, Support: s} }

// catalog lists the tables of docs/azure.md §3.2, in its order.
var catalog = []Table{
	apiTable("DeviceInfo", ProductEndpoint),
	apiTable("DeviceNetworkInfo", ProductEndpoint),
	apiTable("DeviceProcessEvents", ProductEndpoint),
	apiTable("DeviceNetworkEvents", ProductEndpoint),
	apiTable("DeviceFileEvents", ProductEndpoint),
	apiTable("DeviceRegistryEvents", ProductEndpoint),
	apiTable("DeviceLogonEvents", ProductEndpoint),
	apiTable("DeviceImageLoadEvents", ProductEndpoint),
	apiTable("DeviceEvents", ProductEndpoint),
	apiTable("DeviceFileCertificateInfo", ProductEndpoint),
	table("EmailEvents", ProductOffice, SupportPortalOnly),
	table("EmailAttachmentInfo", ProductOffice, SupportPortalOnly),
	table("EmailUrlInfo", ProductOffice, SupportPortalOnly),
	table("EmailPostDeliveryEvents", ProductOffice, SupportPortalOnly),
	table("UrlClickEvents", ProductOffice, SupportPortalOnly),
	apiTable("IdentityDirectoryEvents", ProductIdentity),
	apiTable("IdentityLogonEvents", ProductIdentity),
	apiTable("IdentityQueryEvents", ProductIdentity),
	apiTable("CloudAppEvents", ProductCloudApps),
	apiTable("AlertInfo", ProductXDR),
	apiTable("AlertEvidence", ProductXDR),
	table("DeviceTvmSoftwareInventory", ProductVulnerables, SupportNone),
	table("DeviceTvmSoftwareVulnerabilities", ProductVulnerables, SupportNone),
	table("DeviceTvmSoftwareVulnerabilitiesKB", ProductVulnerables, SupportNone),
	table("DeviceTvmSecureConfigurationAssessment", ProductVulnerables, SupportNone),
	table("DeviceTvmSecureConfigurationAssessmentKB", ProductVulnerables, SupportNone),
	table("DeviceTvmBrowserExtensions", ProductVulnerables, SupportNone),
	table("DeviceTvmBrowserExtensionsKB", ProductVulnerables, SupportNone),
	table("DeviceTvmCertificateInfo", ProductVulnerables, SupportNone),
	table("DeviceTvmHardwareFirmware", ProductVulnerables, SupportNone),
	table("DeviceTvmInfoGathering", ProductVulnerables, SupportNone),
	table("DeviceTvmInfoGatheringKB", ProductVulnerables, SupportNone),
	table("DeviceTvmSoftwareEvidenceBeta", ProductVulnerables, SupportNone),
	table("BehaviorInfo", ProductBehaviors, SupportNone),
	table("BehaviorEntities", ProductBehaviors, SupportNone),
}

// Catalog returns every known table, in docs/azure.md §3.2 order.
func Catalog() []Table { return slices.Clone(catalog) }

// Lookup finds a table by exact name (table names are case-sensitive in
// Log Analytics).
func Lookup(name string) (Table, bool) {
	for _, t := range catalog {
		if t.Name == name {
			return t, true
		}
	}
	return Table{}, false
}

// TableOf maps a category read back from the API to its table, accepting
// the long "AdvancedHunting-" form for every product (GET can return forms
// that POST refuses, docs/azure.md §3.1).
func TableOf(category string) (string, bool) {
	name := strings.TrimPrefix(category, "AdvancedHunting-")
	if _, ok := Lookup(name); ok {
		return name, true
	}
	return "", false
}

// Selection is a set of requested tables split by how they can be enabled.
type Selection struct {
	// Categories are the writable category names, in request order.
	Categories []string
	// PortalOnly are tables that need a portal step.
	PortalOnly []string
	// NotStreamable are tables that never reach Sentinel.
	NotStreamable []string
	// Unknown are names not in the catalog.
	Unknown []string
}

// Select splits tables into what the API can write and what it cannot.
// Duplicates are dropped.
func Select(tables []string) Selection {
	var s Selection
	seen := map[string]bool{}
	for _, name := range tables {
		if seen[name] {
			continue
		}
		seen[name] = true
		t, ok := Lookup(name)
		switch {
		case !ok:
			s.Unknown = append(s.Unknown, name)
		case t.Support == SupportAPI:
			s.Categories = append(s.Categories, t.Category)
		case t.Support == SupportPortalOnly:
			s.PortalOnly = append(s.PortalOnly, name)
		default:
			s.NotStreamable = append(s.NotStreamable, name)
		}
	}
	return s
}
