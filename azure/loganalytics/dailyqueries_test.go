package loganalytics

import (
	"strings"
	"testing"
	"time"
)

var (
	testEnd    = time.Date(2026, 11, 30, 2, 13, 35, 123456789, time.UTC)
	testWindow = NewWindow(testEnd, 14)
	alertList  = `"Microsoft Defender Advanced Threat Protection", "Office 365 Advanced Threat Protection", "Azure Advanced Threat Protection", "Microsoft Cloud App Security", "Microsoft 365 Defender", "Microsoft Defender XDR"`
)

// The query texts are the contract with the service and what a report
// shows: golden strings, line breaks included.
func TestDailyQueryTexts(t *testing.T) {
	const (
		span   = "2026-11-16T00:00:00Z/2026-11-30T02:13:35.1234567Z"
		window = "| where TimeGenerated >= datetime(2026-11-16T00:00:00Z) and TimeGenerated < datetime(2026-11-30T02:13:35.1234567Z)\n"
		before = "| where TimeGenerated < datetime(2026-11-16T00:00:00Z)\n"
	)
	tables, err := TablesDailyQuery(testWindow, []string{"DeviceProcessEvents", "DeviceNetworkEvents"})
	if err != nil {
		t.Fatal(err)
	}
	tablesLast, err := TablesLastQuery(testWindow.Start, []string{"DeviceFileEvents", "EmailEvents"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		got  Query
		want Query
	}{
		{IncidentsDailyQuery(testWindow), Query{"daily rows of XDR incidents", "SecurityIncident\n" + window +
			"| where ProviderName in (\"Microsoft XDR\", \"Microsoft 365 Defender\")\n" +
			"| summarize Rows = count(), Last = max(TimeGenerated) by Day = bin(TimeGenerated, 1d)", span}},
		{AlertsDailyQuery(testWindow), Query{"daily rows of XDR alerts per product", "SecurityAlert\n" + window +
			"| where ProductName in (" + alertList + ")\n" +
			"| summarize Rows = count(), Last = max(TimeGenerated) by ProductName, Day = bin(TimeGenerated, 1d)", span}},
		{tables, Query{"daily rows of the advanced-hunting tables", "union withsource=Table isfuzzy=true DeviceProcessEvents, DeviceNetworkEvents\n" + window +
			"| summarize Rows = count(), Last = max(TimeGenerated) by Table, Day = bin(TimeGenerated, 1d)", span}},
		{IncidentsLastQuery(testWindow.Start), Query{"newest XDR incident row before the window", "SecurityIncident\n" + before +
			"| where ProviderName in (\"Microsoft XDR\", \"Microsoft 365 Defender\")\n" +
			"| summarize Last = max(TimeGenerated)", ""}},
		{AlertsLastQuery(testWindow.Start), Query{"newest XDR alert row per product before the window", "SecurityAlert\n" + before +
			"| where ProductName in (" + alertList + ")\n" +
			"| summarize Last = max(TimeGenerated) by ProductName", ""}},
		{tablesLast, Query{"newest row per advanced-hunting table before the window", "union withsource=Table isfuzzy=true DeviceFileEvents, EmailEvents\n" + before +
			"| summarize Last = max(TimeGenerated) by Table", ""}},
	} {
		if tc.got != tc.want {
			t.Errorf("query\n%+v\nwant\n%+v", tc.got, tc.want)
		}
	}
}

// Datetimes carry at most Kusto's 7 fractional digits, no trailing zeros,
// always in UTC.
func TestDatetimeLiterals(t *testing.T) {
	est := time.FixedZone("EST", -5*3600)
	for in, want := range map[time.Time]string{
		time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC):           "datetime(2026-11-16T00:00:00Z)",
		time.Date(2026, 11, 30, 2, 13, 35, 123456789, time.UTC): "datetime(2026-11-30T02:13:35.1234567Z)",
		time.Date(2026, 11, 30, 2, 13, 35, 500000000, time.UTC): "datetime(2026-11-30T02:13:35.5Z)",
		time.Date(2026, 11, 29, 21, 0, 0, 99, est):              "datetime(2026-11-30T02:00:00Z)",
	} {
		if got := datetime(in); got != want {
			t.Errorf("datetime(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestTableNamesMustBeIdentifiers(t *testing.T) {
	for _, tables := range [][]string{
		nil,
		{},
		{"DeviceInfo | take 1"},
		{"Device-Info"},
		{"DeviceInfo", ""},
		{"1Device"},
		{"DeviceInfo,EmailEvents"},
		{"Device Info"},
		{"DeviceInfo\n| take 1"},
		{"[\"DeviceInfo\"]"},
		{strings.Repeat("A", 129)},
	} {
		if q, err := TablesDailyQuery(testWindow, tables); err == nil {
			t.Errorf("TablesDailyQuery(%q) accepted: %q", tables, q.Text)
		}
		if q, err := TablesLastQuery(testWindow.Start, tables); err == nil {
			t.Errorf("TablesLastQuery(%q) accepted: %q", tables, q.Text)
		}
	}
	if _, err := TablesDailyQuery(testWindow, []string{"_Custom_CL", strings.Repeat("A", 128)}); err != nil {
		t.Errorf("identifiers refused: %v", err)
	}
}
