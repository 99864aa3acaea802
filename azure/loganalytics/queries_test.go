package loganalytics

import (
	"testing"
	"time"
)

// The query texts are the contract with the service (docs/azure.md §7.2).
func TestQueryTexts(t *testing.T) {
	for _, tc := range []struct {
		got  func() (string, error)
		want string
	}{
		{func() (string, error) { return IncidentsQuery(IncidentsWindow) }, "SecurityIncident\n| where TimeGenerated > ago(7d)\n| where ProviderName in (\"Microsoft XDR\", \"Microsoft 365 Defender\")\n| summarize arg_max(TimeGenerated, *) by IncidentNumber\n| summarize Incidents = count(), Last = max(TimeGenerated)"},
		{func() (string, error) { return AlertsQuery(AlertsWindow) }, "SecurityAlert\n| where TimeGenerated > ago(14d)\n| summarize count() by ProductName, ProviderName"},
		{func() (string, error) { return VolumeQuery([]string{"DeviceInfo", "CloudAppEvents"}, VolumeWindow) }, "union withsource=Table isfuzzy=true DeviceInfo, CloudAppEvents\n| where TimeGenerated > ago(1d)\n| summarize Events = count(), Last = max(TimeGenerated) by Table"},
		{func() (string, error) { return DailyVolumeQuery([]string{"DeviceInfo"}, DailyDays) }, "union withsource=Table isfuzzy=true DeviceInfo\n| where TimeGenerated > ago(14d)\n| summarize Events = count() by Table, bin(TimeGenerated, 1d)"},
		{func() (string, error) { return LastLogQuery("DeviceInfo") }, "DeviceInfo | summarize LastLogReceived=max(TimeGenerated)"},
		{func() (string, error) { return VolumeQuery([]string{"T"}, 36*time.Hour) }, "union withsource=Table isfuzzy=true T\n| where TimeGenerated > ago(36h)\n| summarize Events = count(), Last = max(TimeGenerated) by Table"},
		{func() (string, error) { return AlertsQuery(90 * time.Minute) }, "SecurityAlert\n| where TimeGenerated > ago(90m)\n| summarize count() by ProductName, ProviderName"},
	} {
		got, err := tc.got()
		if err != nil || got != tc.want {
			t.Errorf("query = %q, %v\nwant %q", got, err, tc.want)
		}
	}
	if got := isoSpan(36 * time.Hour); got != "PT36H" {
		t.Errorf("isoSpan = %s", got)
	}
}

func TestQueryBuildersRejectBadInput(t *testing.T) {
	for name, err := range map[string]error{
		"injection":   second(VolumeQuery([]string{"DeviceInfo | take 1"}, time.Hour)),
		"empty list":  second(VolumeQuery(nil, time.Hour)),
		"bad table":   second(LastLogQuery("Device-Info")),
		"zero window": second(IncidentsQuery(0)),
		"sub-second":  second(AlertsQuery(1500 * time.Millisecond)),
		"zero days":   second(DailyVolumeQuery([]string{"DeviceInfo"}, 0)),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func second(_ string, err error) error { return err }
