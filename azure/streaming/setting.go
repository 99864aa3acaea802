package streaming

import (
	"encoding/json"

	"github.com/xdrlink/xdrlink/azure/armclient"
)

// Setting is one data export setting, field for field as the API sends it
// (docs/azure.md §3.1). Fields a Sentinel export leaves empty are sent as
// explicit nulls, as the portal does.
type Setting struct {
	ID                 string  `json:"id"`
	DesignatedTenantID *string `json:"designatedTenantId"`
	// EventHubProperties and StorageAccountProperties are kept raw: xdrlink
	// never writes them, but entries made by others for other destinations
	// must survive a read-modify-write untouched.
	EventHubProperties       json.RawMessage      `json:"eventHubProperties"`
	StorageAccountProperties json.RawMessage      `json:"storageAccountProperties"`
	WorkspaceProperties      *WorkspaceProperties `json:"workspaceProperties"`
	Logs                     []Log                `json:"logs"`
}

// WorkspaceProperties names the destination workspace.
type WorkspaceProperties struct {
	WorkspaceResourceID string `json:"workspaceResourceId"`
	SubscriptionID      string `json:"subscriptionId"`
	ResourceGroup       string `json:"resourceGroup"`
	Name                string `json:"name"`
}

// Log is one category of the export and whether it is on.
type Log struct {
	Category string `json:"category"`
	Enabled  bool   `json:"enabled"`
}

// SentinelSettingID is the id the portal gives the entry that feeds a
// Sentinel workspace (docs/azure.md §3.1); reusing it keeps xdrlink and the
// portal editing the same entry instead of using up the five slots.
func SentinelSettingID(workspaceName string) string {
	return "SentinelExportSettings-" + workspaceName
}

// NewSentinelSetting builds the entry that streams categories into ws.
func NewSentinelSetting(ws armclient.Workspace, categories []string) Setting {
	s := Setting{
		ID: SentinelSettingID(ws.Name),
		WorkspaceProperties: &WorkspaceProperties{
			WorkspaceResourceID: ws.Path(),
			SubscriptionID:      ws.SubscriptionID,
			ResourceGroup:       ws.ResourceGroup,
			Name:                ws.Name,
		},
		Logs: make([]Log, 0, len(categories)),
	}
	for _, c := range categories {
		s.Logs = append(s.Logs, Log{Category: c, Enabled: true})
	}
	return s
}

// EnabledTables returns the tables the setting streams, in log order,
// reading both the long and the short category forms; categories that name
// no known table are skipped.
func (s Setting) EnabledTables() []string {
	var out []string
	for _, l := range s.Logs {
		if !l.Enabled {
			continue
		}
		if t, ok := TableOf(l.Category); ok {
			out = append(out, t)
		}
	}
	return out
}
