package azuresim

import (
	"net/http"
	"time"
)

// Choices the Log Analytics query family makes where docs/azure.md does not
// say what the service does. Each is UNCONFIRMED and set only here.

const (
	// UNCONFIRMED: the 400 envelope for queries the service cannot run. The
	// shape (code BadArgumentError, innererror SyntaxError/SemanticError) is
	// what azquery's tests and field reports show; the inner codes
	// (SYN0002, SEM0100) and messages are from general knowledge.
	laBadArgumentCode    = "BadArgumentError"
	laBadArgumentMessage = "The request had some invalid properties"
	laSyntaxInnerCode    = "SyntaxError"
	laSyntaxInnerMessage = "A recognition error occurred in the query."
	laSyntaxDetailCode   = "SYN0002"
	laSemanticInnerCode  = "SemanticError"
	laSemanticInnerMsg   = "A semantic error occurred."
	laSemanticDetailCode = "SEM0100"

	// UNCONFIRMED: a customerId that names no workspace.
	laWorkspaceNotFoundStatus  = http.StatusNotFound
	laWorkspaceNotFoundCode    = "WorkspaceNotFoundError"
	laWorkspaceNotFoundMessage = "The workspace '%s' could not be found."

	// UNCONFIRMED: a token of another tenant, or a principal without
	// Microsoft.OperationalInsights/workspaces/query/read on the workspace.
	laForbiddenStatus  = http.StatusForbidden
	laForbiddenCode    = "InsufficientAccessError"
	laForbiddenMessage = "The provided credentials have insufficient access to perform the requested operation"

	// UNCONFIRMED: the partial-error envelope (HTTP 200, tables plus error).
	// azquery's own test expects code "PartialError".
	laPartialCode    = "PartialError"
	laPartialMessage = "There were some errors when processing your request."

	// UNCONFIRMED: the result-size limit (general knowledge: 500,000
	// records) and the partial-error detail reported when it is hit.
	laMaxResultRows       = 500000
	laTruncatedDetailCode = "E_QUERY_RESULT_SET_TOO_LARGE"
	laTruncatedDetailMsg  = "Query result set has exceeded the internal record count limit 500000 records"

	// laQueryAction is the RBAC action a query needs (docs/azure.md §7.1).
	laQueryAction = "Microsoft.OperationalInsights/workspaces/query/read"

	// The emulator's ingestion model (not a service fact): events of a
	// connected table arrive in batches every laBatchInterval, aligned to
	// the Unix epoch, so a full UTC day holds exactly that day's volume
	// (dailyVolume). Rows are synthesized per batch, never stored.
	laBatchInterval = 5 * time.Minute

	// UNCONFIRMED: how long after a streaming API entry turns a table on its
	// first rows reach the workspace. The export pipeline's latency is not
	// documented; we take 2h. SecurityIncident and SecurityAlert (the MTP
	// connector) are not delayed.
	laStreamingFirstDataDelay = 2 * time.Hour

	// laIncidentUpdateDelay: each emulated incident is written twice (New,
	// then Active this much later), so arg_max(TimeGenerated, *) by
	// IncidentNumber has something to collapse.
	laIncidentUpdateDelay = 30 * time.Minute

	// laProviderName is SecurityIncident.ProviderName for XDR incidents: the
	// current name (docs/azure.md §7.2, §11.4).
	laProviderName = "Microsoft XDR"
)

// xdrIncidentProviders are the ProviderNames of XDR incidents: the current
// name and the one before the rename. The emulator writes only the first.
var xdrIncidentProviders = []string{laProviderName, "Microsoft 365 Defender"}

// weekdayPercent is the emulator's model of the working week (not a service
// fact): Defender data comes from people and their devices, so a weekend
// day carries 40% of a working day's events.
var weekdayPercent = [7]int64{
	time.Sunday: 40, time.Monday: 100, time.Tuesday: 100, time.Wednesday: 100,
	time.Thursday: 100, time.Friday: 100, time.Saturday: 40,
}

// dailyVolume is the number of events a table with the world's volume
// (Tenant.DataVolumes: a working day's count) receives on the UTC day that
// starts at day.
func dailyVolume(base int64, day time.Time) int64 {
	return base * weekdayPercent[day.Weekday()] / 100
}

// alertProduct is a SecurityAlert (ProductName, ProviderName) pair and the
// service plans that make a tenant produce it. UNCONFIRMED: "MCAS" as
// ProviderName (docs/azure.md §7.2 lists it as unconfirmed) and the fallback
// pair for tenants with none of the component plans.
type alertProduct struct {
	productName, providerName string
	plans                     []string
}

var alertProducts = []alertProduct{
	{"Microsoft Defender Advanced Threat Protection", "MDATP", []string{"WINDEFATP", "MDE_LITE"}},
	{"Office 365 Advanced Threat Protection", "OATP", []string{"ATP_ENTERPRISE", "THREAT_INTELLIGENCE"}},
	{"Azure Advanced Threat Protection", "AATP", []string{"ATA"}},
	{"Microsoft Cloud App Security", "MCAS", []string{"ADALLOM_S_STANDALONE"}},
}

var fallbackAlertProduct = alertProduct{productName: "Microsoft Defender XDR", providerName: "MTP"}
