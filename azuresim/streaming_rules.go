package azuresim

import (
	"net/http"
	"strings"
)

// Rules of the Defender streaming API (dataExportSettings, docs/azure.md §3).
// The API is undocumented; the documented facts are the 5-entry limit, the
// category names and which are refused, the delegated-only rule and the
// role/licence prerequisites. Status codes, error codes and messages other
// than "Category 'X' is not supported." are the emulator's choices, each
// marked UNCONFIRMED below.

// streamingMaxEntries is the per-tenant entry limit (docs/azure.md §3.1).
const streamingMaxEntries = 5

const (
	// UNCONFIRMED: how the API refuses an app-only token. The tool that
	// documents the refusal does not quote the answer; we use 403 with a
	// message the product client recognises (azure/streaming/errors.go).
	streamingAppOnlyStatus  = http.StatusForbidden
	streamingAppOnlyCode    = "Forbidden"
	streamingAppOnlyMessage = "Application tokens are not supported by this API. Sign in as a user (delegated token) who is Security Administrator or Global Administrator."

	// UNCONFIRMED: the answer to a user without Security Administrator or
	// Global Administrator (reads also accept Security Reader).
	streamingRoleStatus  = http.StatusForbidden
	streamingRoleCode    = "Forbidden"
	streamingRoleMessage = "The user '%s' needs the Security Administrator or Global Administrator role in tenant '%s'."

	// UNCONFIRMED: a tenant without a Defender XDR licence (no "MTP" plan).
	streamingNoLicenseStatus  = http.StatusForbidden
	streamingNoLicenseCode    = "InvalidLicense"
	streamingNoLicenseMessage = "License is invalid: tenant '%s' has no Microsoft Defender XDR licence."

	// UNCONFIRMED: a 6th distinct entry. Status/code/message are ours.
	streamingLimitStatus  = http.StatusBadRequest
	streamingLimitCode    = "BadRequest"
	streamingLimitMessage = "The tenant already has the maximum of %d data export settings; delete one before adding '%s'."

	// The refusal text is documented (docs/azure.md §3.1); UNCONFIRMED: 400 BadRequest.
	streamingCategoryStatus  = http.StatusBadRequest
	streamingCategoryCode    = "BadRequest"
	streamingCategoryMessage = "Category '%s' is not supported."

	// UNCONFIRMED: a workspaceResourceId that is not a workspace of the
	// caller's tenant (docs/azure.md §11.3: entries are checked against it).
	streamingWorkspaceStatus  = http.StatusBadRequest
	streamingWorkspaceCode    = "BadRequest"
	streamingWorkspaceMessage = "Workspace '%s' was not found in tenant '%s'."

	// UNCONFIRMED: POST answers 200 with the stored entry for both create
	// and update.
	streamingUpsertStatus = http.StatusOK

	// UNCONFIRMED: DELETE of an existing entry answers 200 with no body.
	streamingDeleteStatus = http.StatusOK
)

// streamingShortCategories are the MDI and MDA tables, writable only under
// their bare names (the AdvancedHunting- forms are refused, §3.1).
var streamingShortCategories = map[string]bool{
	"CloudAppEvents": true, "IdentityDirectoryEvents": true, "IdentityLogonEvents": true, "IdentityQueryEvents": true,
}

// streamingLongCategoryTables are the MDE and Defender XDR tables, writable
// as AdvancedHunting-<Table>. Everything else (MDO, TVM, Behavior*, "Alert",
// unknown names) is refused.
var streamingLongCategoryTables = map[string]bool{
	"DeviceInfo": true, "DeviceNetworkInfo": true, "DeviceProcessEvents": true, "DeviceNetworkEvents": true,
	"DeviceFileEvents": true, "DeviceRegistryEvents": true, "DeviceLogonEvents": true, "DeviceImageLoadEvents": true,
	"DeviceEvents": true, "DeviceFileCertificateInfo": true, "AlertInfo": true, "AlertEvidence": true,
}

// streamingPortalOnlyTables are the Defender for Office 365 tables the API
// refuses under every name; only a human in the portal can turn them on
// (docs/azure.md §3.1), which the emulator models with Sim.PortalStreamTable.
var streamingPortalOnlyTables = map[string]bool{
	"EmailEvents": true, "EmailAttachmentInfo": true, "EmailUrlInfo": true, "EmailPostDeliveryEvents": true, "UrlClickEvents": true,
}

// streamingCategoryTable returns the table a writable category streams, or
// ok=false when POST must refuse the category. Names are case-sensitive
// (UNCONFIRMED).
func streamingCategoryTable(category string) (table string, ok bool) {
	if streamingShortCategories[category] {
		return category, true
	}
	if t, found := strings.CutPrefix(category, "AdvancedHunting-"); found && streamingLongCategoryTables[t] {
		return t, true
	}
	return "", false
}

// streamingCategoryOf is the category under which POST accepts table (the
// inverse of streamingCategoryTable), or ok=false for a table the API
// cannot stream.
func streamingCategoryOf(table string) (category string, ok bool) {
	switch {
	case streamingShortCategories[table]:
		return table, true
	case streamingLongCategoryTables[table]:
		return "AdvancedHunting-" + table, true
	}
	return "", false
}

// streamingTables are all tables the streaming API can feed, for the Log
// Analytics schema.
func streamingTables() []string {
	out := make([]string, 0, len(streamingShortCategories)+len(streamingLongCategoryTables))
	for t := range streamingLongCategoryTables {
		out = append(out, t)
	}
	for t := range streamingShortCategories {
		out = append(out, t)
	}
	return out
}
