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
	for d, want := range map[time.Duration]string{36 * time.Hour: "36h", 45 * time.Second: "45s"} {
		if got, err := kustoSpan(d); err != nil || got != want {
			t.Errorf("kustoSpan(%v) = %q, %v, want %q", d, got, err, want)
		}
	}
}

func TestQueryBuildersRejectBadInput(t *testing.T) {
	for name, err := range map[string]error{
		"zero window": second(IncidentsQuery(0)),
		"sub-second":  second(AlertsQuery(1500 * time.Millisecond)),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func second(_ string, err error) error { return err }
