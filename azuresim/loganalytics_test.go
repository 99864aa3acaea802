package azuresim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	contosoCustomer  = "20000000-0000-4000-8000-0000000000d1"
	fabrikamCustomer = "30000000-0000-4000-8000-0000000000d1"
	laPathContoso    = "/v1/workspaces/" + contosoCustomer + "/query"
)

const (
	qIncidents = `SecurityIncident
| where TimeGenerated > ago(7d)
| where ProviderName in ("Microsoft XDR", "Microsoft 365 Defender")
| summarize arg_max(TimeGenerated, *) by IncidentNumber
| summarize Incidents = count(), Last = max(TimeGenerated)`
	qAlerts = `SecurityAlert | where TimeGenerated > ago(14d) | summarize count() by ProductName, ProviderName`
	qVolume = `union withsource=Table isfuzzy=true DeviceProcessEvents, DeviceNetworkEvents, IdentityLogonEvents, EmailEvents
| where TimeGenerated > ago(1d)
| summarize Events = count(), Last = max(TimeGenerated) by Table`
	qDaily = `union withsource=Table isfuzzy=true DeviceProcessEvents, DeviceNetworkEvents, IdentityLogonEvents
| where TimeGenerated > ago(14d)
| summarize Events = count() by Table, bin(TimeGenerated, 1d)`
)

// laCall runs a query with the app's token for tenant (the SP holds
// Microsoft Sentinel Contributor on contoso's resource group).
func laCall(t *testing.T, s *Sim, tenant, path, query, timespan string) result {
	t.Helper()
	body := map[string]any{"query": query}
	if timespan != "" {
		body["timespan"] = timespan
	}
	return rawCall(t, s, appToken(t, s, tenant, AudienceLogAnalytics), http.MethodPost, path, body)
}

// laRows returns the primary table's rows, failing unless the answer is a
// clean 200.
func laRows(t *testing.T, r result) [][]any {
	t.Helper()
	wantStatus(t, r, http.StatusOK)
	if r.body["error"] != nil {
		t.Fatalf("unexpected partial error: %s", r.raw)
	}
	tables := r.body["tables"].([]any)
	if len(tables) != 1 {
		t.Fatalf("tables = %s", r.raw)
	}
	tb := tables[0].(map[string]any)
	if tb["name"] != "PrimaryResult" {
		t.Fatalf("table name %v", tb["name"])
	}
	var rows [][]any
	for _, row := range tb["rows"].([]any) {
		rows = append(rows, row.([]any))
	}
	return rows
}

func streamTables(t *testing.T, s *Sim, categories ...string) {
	t.Helper()
	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	wantStatus(t, rawCall(t, s, tok, http.MethodPost, streamingPath, contosoEntry("SentinelExportSettings-ws-contoso", categories...)), streamingUpsertStatus)
}

func batchFloor(t time.Time) string {
	return t.Truncate(laBatchInterval).UTC().Format(time.RFC3339Nano)
}

// beforeNextMonday advances the sim clock to d before the next Monday 00:00
// UTC and returns that Monday. A table connected then with d =
// laStreamingFirstDataDelay + time.Minute (or an MTP connector with d =
// time.Minute) gets its first rows at Monday's first batch, and the days
// after are working days with the world's full volumes (dailyVolume), so
// counts do not depend on the day the test runs.
func beforeNextMonday(t *testing.T, s *Sim, d time.Duration) time.Time {
	t.Helper()
	now := s.Now()
	monday := utcDay(now).AddDate(0, 0, (int(time.Monday)-int(now.Weekday())+7)%7)
	for !monday.Add(-d).After(now) {
		monday = monday.AddDate(0, 0, 7)
	}
	s.AdvanceClock(monday.Add(-d).Sub(now))
	return monday
}

// streamFromMonday streams the categories so their first rows arrive at
// the next Monday's first batch, and returns the sim clock at that batch.
func streamFromMonday(t *testing.T, s *Sim, categories ...string) time.Time {
	t.Helper()
	monday := beforeNextMonday(t, s, laStreamingFirstDataDelay+time.Minute)
	streamTables(t, s, categories...)
	s.AdvanceClock(laStreamingFirstDataDelay + time.Minute)
	return monday
}

func TestLogAnalyticsRowsOnlyAfterConnect(t *testing.T) {
	s := startSim(t, Options{})
	// Never connected: the tables do not resolve, a fuzzy union finds nothing.
	r := laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | summarize LastLogReceived=max(TimeGenerated)", "")
	wantError(t, r, http.StatusBadRequest, laBadArgumentCode)
	if !strings.Contains(string(r.raw), "Failed to resolve table expression named 'DeviceProcessEvents'") {
		t.Fatalf("body %s", r.raw)
	}
	wantError(t, laCall(t, s, contosoTID, laPathContoso, qVolume, ""), http.StatusBadRequest, laBadArgumentCode)

	beforeNextMonday(t, s, laStreamingFirstDataDelay+time.Minute)
	connectedAt := s.Now()
	streamTables(t, s, "AdvancedHunting-DeviceProcessEvents", "IdentityLogonEvents")
	connectedBy := s.Now()
	// Until the first data arrives the tables do not exist.
	s.AdvanceClock(laStreamingFirstDataDelay - time.Minute)
	wantError(t, laCall(t, s, contosoTID, laPathContoso, qVolume, ""), http.StatusBadRequest, laBadArgumentCode)
	s.AdvanceClock(48 * time.Hour) // Monday and Tuesday: 48h of data on working days
	now := s.Now()
	rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, qVolume, ""))
	// DeviceNetworkEvents has a volume but was never streamed: no row.
	want := fmt.Sprint([][]any{
		{"DeviceProcessEvents", float64(12000), batchFloor(now)},
		{"IdentityLogonEvents", float64(900), batchFloor(now)},
	})
	if fmt.Sprint(rows) != want {
		t.Fatalf("volume rows = %v, want %v", rows, want)
	}
	// Nothing before the connect, on the sim clock.
	rows = laRows(t, laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | summarize First = min(TimeGenerated), N = count()", ""))
	first, _ := time.Parse(time.RFC3339Nano, rows[0][0].(string))
	// The first row is in the first batch after the first data delay, counted
	// from the connect (between connectedAt and connectedBy).
	if !first.After(connectedAt.Add(laStreamingFirstDataDelay)) || first.After(connectedBy.Add(laStreamingFirstDataDelay+laBatchInterval)) {
		t.Fatalf("first row at %v, connected between %v and %v", first, connectedAt, connectedBy)
	}
	if rows[0][1] != float64(24000) {
		t.Fatalf("events over 48h = %v, want 2 x 12000", rows[0][1])
	}
}

func TestLogAnalyticsDailyVolumeAndDisconnect(t *testing.T) {
	s := startSim(t, Options{})
	streamFromMonday(t, s, "AdvancedHunting-DeviceProcessEvents")
	s.AdvanceClock(36*time.Hour - time.Minute)
	tok := userToken(t, s, contosoTID, contosoAdmin, AudienceDefender)
	wantStatus(t, rawCall(t, s, tok, http.MethodDelete, streamingPath+"/SentinelExportSettings-ws-contoso", nil), streamingDeleteStatus)
	disconnectedAt := s.Now()
	s.AdvanceClock(36 * time.Hour)

	rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, qDaily, ""))
	var total float64
	days := map[string]bool{}
	for _, r := range rows {
		if r[0] != "DeviceProcessEvents" {
			t.Fatalf("row for %v", r[0])
		}
		day, _ := time.Parse(time.RFC3339Nano, r[1].(string))
		if !day.Equal(day.Truncate(24 * time.Hour)) {
			t.Fatalf("bin %v is not a UTC midnight", day)
		}
		days[r[1].(string)] = true
		total += r[2].(float64)
	}
	if total != 18000 || len(days) != len(rows) || len(rows) < 2 || len(rows) > 3 {
		t.Fatalf("daily rows %v: total %v, want 36h x 12000/day = 18000", rows, total)
	}
	last := laRows(t, laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | summarize LastLogReceived=max(TimeGenerated)", ""))
	if lt, _ := time.Parse(time.RFC3339Nano, last[0][0].(string)); lt.After(disconnectedAt) {
		t.Fatalf("rows after the disconnect: last %v, disconnected %v", lt, disconnectedAt)
	}
	// The table still resolves (it once received data) but is now silent.
	connected := laRows(t, laCall(t, s, contosoTID, laPathContoso,
		"DeviceProcessEvents | summarize LastLogReceived=max(TimeGenerated) | project IsConnected = LastLogReceived > ago(7d)", ""))
	if connected[0][0] != true {
		t.Fatalf("IsConnected = %v (data 36h old is within 7d)", connected[0][0])
	}
}

func putMTPConnector(t *testing.T, s *Sim, incidents, alerts string) {
	t.Helper()
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	body := map[string]any{"kind": "MicrosoftThreatProtection", "properties": map[string]any{
		"tenantId":  contosoTID,
		"dataTypes": map[string]any{"incidents": map[string]any{"state": incidents}, "alerts": map[string]any{"state": alerts}},
	}}
	r := do(t, c, http.MethodPut, siPath(contosoSub, contosoRG, contosoWS, "dataConnectors/"+stableUUID("mtp")), previewAPI, body)
	if r.status != http.StatusOK && r.status != http.StatusCreated {
		t.Fatalf("MTP PUT: %d %s", r.status, r.raw)
	}
}

func TestLogAnalyticsIncidentsAndAlertsFollowMTPConnector(t *testing.T) {
	s := startSim(t, Options{})
	// contoso's workspace is not onboarded: SecurityIncident does not resolve.
	wantError(t, laCall(t, s, contosoTID, laPathContoso, qIncidents, ""), http.StatusBadRequest, laBadArgumentCode)

	beforeNextMonday(t, s, time.Minute)
	putMTPConnector(t, s, "Enabled", "Enabled")
	if rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, qIncidents, "")); fmt.Sprint(rows) != "[[0 <nil>]]" {
		t.Fatalf("incidents right after connect = %v, want [[0 <nil>]]", rows)
	}
	s.AdvanceClock(48 * time.Hour)
	rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, qIncidents, ""))
	if rows[0][0] != float64(8) { // 4 per day (world dataVolumes) x 2 days
		t.Fatalf("incidents = %v, want 8", rows)
	}
	alerts := laRows(t, laCall(t, s, contosoTID, laPathContoso, qAlerts, ""))
	var total float64
	products := map[string]string{}
	for _, r := range alerts {
		products[r[0].(string)] = r[1].(string)
		total += r[2].(float64)
	}
	want := map[string]string{"Microsoft Defender Advanced Threat Protection": "MDATP", "Azure Advanced Threat Protection": "AATP"}
	if total != 60 || fmt.Sprint(products) != fmt.Sprint(want) {
		t.Fatalf("alerts = %v, want 60 from %v (contoso has WINDEFATP and ATA)", alerts, want)
	}

	// Alerts off: alert rows stop, incidents continue.
	putMTPConnector(t, s, "Enabled", "Disabled")
	laRows(t, laCall(t, s, contosoTID, laPathContoso, qAlerts, "")) // the family observes the change
	s.AdvanceClock(24 * time.Hour)
	alerts = laRows(t, laCall(t, s, contosoTID, laPathContoso, "SecurityAlert | where TimeGenerated > ago(23h) | summarize count()", ""))
	incidents := laRows(t, laCall(t, s, contosoTID, laPathContoso, "SecurityIncident | where TimeGenerated > ago(23h) | summarize count()", ""))
	if alerts[0][0] != float64(0) || incidents[0][0] == float64(0) {
		t.Fatalf("after disabling alerts: alerts %v incidents %v", alerts, incidents)
	}
}

// TestLogAnalyticsMTPDataDatesFromTheConnectorWrite: incident data starts at
// the ARM PUT and stops at the DELETE, even when no query ran in between.
func TestLogAnalyticsMTPDataDatesFromTheConnectorWrite(t *testing.T) {
	s := startSim(t, Options{})
	beforeNextMonday(t, s, time.Minute)
	putMTPConnector(t, s, "Enabled", "Enabled")
	s.AdvanceClock(48 * time.Hour) // no Log Analytics query before this
	if rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, qIncidents, "")); rows[0][0] != float64(8) {
		t.Fatalf("incidents 48h after the PUT = %v, want 8 (4 a day since the PUT)", rows)
	}
	c := armClient(t, s, appCredential(t, s, contosoTID), 0)
	wantStatus(t, do(t, c, http.MethodDelete, siPath(contosoSub, contosoRG, contosoWS, "dataConnectors/"+stableUUID("mtp")), previewAPI, nil), http.StatusOK)
	s.AdvanceClock(48 * time.Hour)
	q := "SecurityIncident | where TimeGenerated > ago(47h) | summarize count()"
	if rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, q, "")); rows[0][0] != float64(0) {
		t.Fatalf("incidents after the DELETE = %v, want 0", rows)
	}
}

func TestLogAnalyticsDataIsDeterministic(t *testing.T) {
	s := startSim(t, Options{})
	streamTables(t, s, "AdvancedHunting-DeviceProcessEvents", "IdentityLogonEvents")
	s.AdvanceClock(50 * time.Hour)
	a := laCall(t, s, contosoTID, laPathContoso, qDaily, "")
	b := laCall(t, s, contosoTID, laPathContoso, qDaily, "")
	if string(a.raw) != string(b.raw) {
		t.Fatalf("same query, different answers:\n%s\n%s", a.raw, b.raw)
	}
}

func TestLogAnalyticsTimespanNarrowsRows(t *testing.T) {
	s := startSim(t, Options{})
	streamFromMonday(t, s, "AdvancedHunting-DeviceProcessEvents")
	s.AdvanceClock(48*time.Hour - time.Minute) // Tuesday's last batch included
	q := "DeviceProcessEvents | summarize count()"
	all := laRows(t, laCall(t, s, contosoTID, laPathContoso, q, ""))[0][0].(float64)
	hour := laRows(t, laCall(t, s, contosoTID, laPathContoso, q, "PT1H"))[0][0].(float64)
	if all != 24000 || hour < 12*41 || hour > 12*42 {
		t.Fatalf("count all=%v, last hour=%v (want 24000 and about 12000/24)", all, hour)
	}
	wantError(t, laCall(t, s, contosoTID, laPathContoso, q, "yesterday"), http.StatusBadRequest, laBadArgumentCode)
}

func TestLogAnalyticsRejectsUnsupportedKQL(t *testing.T) {
	s := startSim(t, Options{})
	streamTables(t, s, "AdvancedHunting-DeviceProcessEvents")
	s.AdvanceClock(laStreamingFirstDataDelay + time.Hour)
	r := laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | join (DeviceInfo) on DeviceId", "")
	wantError(t, r, http.StatusBadRequest, laBadArgumentCode)
	e := r.body["error"].(map[string]any)
	inner := e["innererror"].(map[string]any)
	detail := inner["innererror"].(map[string]any)
	if inner["code"] != laSyntaxInnerCode || detail["code"] != laSyntaxDetailCode || detail["token"] != "join" ||
		detail["line"] != float64(1) || detail["pos"] != float64(22) || e["correlationId"] == "" {
		t.Fatalf("syntax error body %s", r.raw)
	}
	r = laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | where Nope == 1", "")
	wantError(t, r, http.StatusBadRequest, laBadArgumentCode)
	inner = r.body["error"].(map[string]any)["innererror"].(map[string]any)
	if inner["code"] != laSemanticInnerCode || !strings.Contains(string(r.raw), "named 'Nope'") {
		t.Fatalf("semantic error body %s", r.raw)
	}
	wantError(t, rawCall(t, s, appToken(t, s, contosoTID, AudienceLogAnalytics), http.MethodPost, laPathContoso, map[string]any{"timespan": "P1D"}),
		http.StatusBadRequest, laBadArgumentCode)
	wantError(t, rawCall(t, s, appToken(t, s, contosoTID, AudienceLogAnalytics), http.MethodPost, laPathContoso,
		map[string]any{"query": "DeviceProcessEvents", "workspaces": []string{fabrikamCustomer}}), http.StatusBadRequest, laBadArgumentCode)
}

func TestLogAnalyticsPartialError(t *testing.T) {
	s := startSim(t, Options{})
	streamTables(t, s, "AdvancedHunting-DeviceProcessEvents")
	s.AdvanceClock(laStreamingFirstDataDelay + time.Hour)
	s.SetQueryPartialError(contosoCustomer, &QueryPartialError{Message: "Query execution has exceeded the allowed limits"})
	r := laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | summarize count()", "")
	wantStatus(t, r, http.StatusOK)
	e, _ := r.body["error"].(map[string]any)
	if e["code"] != laPartialCode || e["message"] != "Query execution has exceeded the allowed limits" || len(r.body["tables"].([]any)) != 1 {
		t.Fatalf("partial answer %s", r.raw)
	}
	s.SetQueryPartialError(contosoCustomer, nil)
	laRows(t, laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | summarize count()", ""))
}

func TestLogAnalyticsAccess(t *testing.T) {
	s := startSim(t, Options{})
	q := "DeviceProcessEvents | take 1"
	// A token of another tenant, even a valid one, cannot read contoso's workspace.
	wantError(t, laCall(t, s, fabrikamTID, laPathContoso, q, ""), laForbiddenStatus, laForbiddenCode)
	// The analyst's custom role has no workspaces/query/read.
	analyst := userToken(t, s, contosoTID, analystUPN, AudienceLogAnalytics)
	wantError(t, rawCall(t, s, analyst, http.MethodPost, laPathContoso, map[string]any{"query": q}), laForbiddenStatus, laForbiddenCode)
	wantError(t, rawCall(t, s, appToken(t, s, contosoTID, AudienceARM), http.MethodPost, laPathContoso, map[string]any{"query": q}),
		http.StatusUnauthorized, "InvalidAuthenticationTokenAudience")
	wantError(t, laCall(t, s, contosoTID, "/v1/workspaces/00000000-0000-4000-8000-000000000000/query", q, ""),
		laWorkspaceNotFoundStatus, laWorkspaceNotFoundCode)
}

func TestParseTimespan(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in       string
		from, to time.Time
	}{
		{"P1D", now.Add(-24 * time.Hour), now},
		{"PT2H30M", now.Add(-150 * time.Minute), now},
		{"P1W", now.Add(-7 * 24 * time.Hour), now},
		{"P1DT0.5S", now.Add(-24*time.Hour - 500*time.Millisecond), now},
		{"2026-11-01T00:00:00Z/2026-11-02T00:00:00Z", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T00:00:00Z/PT1H", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 1, 0, 0, 0, time.UTC)},
		{"P1D/2026-11-02T00:00:00+01:00", time.Date(2026, 10, 31, 23, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 23, 0, 0, 0, time.UTC)},
	} {
		w, err := parseTimespan(tc.in, now)
		if err != nil || !w.From.Equal(tc.from) || !w.To.Equal(tc.to) {
			t.Errorf("parseTimespan(%q) = %v, %v; want %v..%v", tc.in, w, err, tc.from, tc.to)
		}
	}
	for _, bad := range []string{"P", "PT", "P1M", "P1Y", "1D", "P1D/P2D", "2026-11-02T00:00:00Z/2026-11-01T00:00:00Z", "x/y", "P99999999D"} {
		if _, err := parseTimespan(bad, now); err == nil {
			t.Errorf("parseTimespan(%q) accepted", bad)
		}
	}
}

// MDO tables can only be turned on in the portal; the sim's portal step
// makes their data flow, and the API still refuses them.
func TestLogAnalyticsPortalOnlyTables(t *testing.T) {
	w := loadTestWorld(t)
	w.Tenants[1].DataVolumes["EmailEvents"] = 2880
	s := startSim(t, Options{World: w})
	if err := s.PortalStreamTable(contosoCustomer, "DeviceProcessEvents", true); err == nil {
		t.Fatal("portal step accepted an API-writable table")
	}
	beforeNextMonday(t, s, laStreamingFirstDataDelay+time.Minute)
	if err := s.PortalStreamTable(contosoCustomer, "EmailEvents", true); err != nil {
		t.Fatal(err)
	}
	s.AdvanceClock(laStreamingFirstDataDelay + time.Hour) // data from the connect's delay on
	rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, qVolume, ""))
	if len(rows) != 1 || rows[0][0] != "EmailEvents" || rows[0][1] != float64(120) {
		t.Fatalf("volume rows = %v, want EmailEvents with 2880/24 events", rows)
	}
	r := rawCall(t, s, "", http.MethodPost, "/_sim/loganalytics/"+contosoCustomer+"/portalTables/EmailEvents", map[string]any{"enabled": false})
	wantStatus(t, r, http.StatusOK)
	if got := s.Ingestion(contosoCustomer); len(got) != 1 || got[0].Spans[0].To == nil {
		t.Fatalf("ingestion after portal off = %+v", got)
	}
}

func TestLogAnalyticsAdminRoutes(t *testing.T) {
	s := startSim(t, Options{})
	streamTables(t, s, "AdvancedHunting-DeviceProcessEvents")
	s.AdvanceClock(laStreamingFirstDataDelay + time.Hour)
	admin := "/_sim/loganalytics/" + contosoCustomer
	wantStatus(t, rawCall(t, s, "", http.MethodPut, admin+"/partialError", map[string]any{"code": "PartialError", "message": "m"}), http.StatusOK)
	r := laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | summarize count()", "")
	if e, _ := r.body["error"].(map[string]any); e["message"] != "m" {
		t.Fatalf("answer %s", r.raw)
	}
	wantStatus(t, rawCall(t, s, "", http.MethodDelete, admin+"/partialError", nil), http.StatusNoContent)
	laRows(t, laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | summarize count()", ""))
	r = rawCall(t, s, "", http.MethodGet, admin+"/ingestion", nil)
	wantStatus(t, r, http.StatusOK)
	if v := r.body["value"].([]any); len(v) != 1 || v[0].(map[string]any)["table"] != "DeviceProcessEvents" {
		t.Fatalf("ingestion %s", r.raw)
	}
}

// Malformed or unsupported KQL is refused with the service's 400 shape:
// BadArgumentError with a SyntaxError or SemanticError inner error.
func TestLogAnalyticsRefusesMalformedKQL(t *testing.T) {
	s := startSim(t, Options{})
	streamTables(t, s, "AdvancedHunting-DeviceProcessEvents")
	s.AdvanceClock(laStreamingFirstDataDelay + time.Hour)
	for _, tc := range []struct{ query, inner, detail string }{
		{"DeviceProcessEvents | where TimeGenerated > ago(1d) | ", laSyntaxInnerCode, "expected an operator"},
		{"DeviceProcessEvents | mv-expand TenantId", laSyntaxInnerCode, `unsupported operator "mv"`},
		{"DeviceProcessEvents | where strlen(TenantId) > 1", laSyntaxInnerCode, `unsupported function "strlen"`},
		{"DeviceProcessEvents | where (TimeGenerated > ago(1d)", laSyntaxInnerCode, `expected ")"`},
		{"DeviceProcessEvents | where TimeGenerated > ago(1d))", laSyntaxInnerCode, "expected '|' or end of query"},
		{"DeviceProcessEvents | where TenantId > datetime(2026-11-30T02:13:35.1234567Z)", laSemanticInnerCode, "Cannot compare values of types string and datetime"},
		{"union withsource=Table isfuzzy=true DeviceFileEvents, EmailEvents | summarize Last = max(TimeGenerated) by Table",
			laSemanticInnerCode, "Failed to resolve table expression named 'DeviceFileEvents'"},
	} {
		r := laCall(t, s, contosoTID, laPathContoso, tc.query, "")
		wantError(t, r, http.StatusBadRequest, laBadArgumentCode)
		inner, _ := r.body["error"].(map[string]any)["innererror"].(map[string]any)
		detail, _ := inner["innererror"].(map[string]any)
		if inner["code"] != tc.inner || !strings.Contains(fmt.Sprint(detail["message"]), tc.detail) {
			t.Errorf("%q: %s, want %s with %q", tc.query, r.raw, tc.inner, tc.detail)
		}
	}
}
