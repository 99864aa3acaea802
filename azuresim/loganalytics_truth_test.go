package azuresim

import (
	"context"
	"fmt"
	"iter"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// The verification queries, as xdrlink sends them: START and END are
// RFC 3339 UTC datetimes with up to 7 fractional digits.
const (
	qDailyIncidents = `SecurityIncident
| where TimeGenerated >= datetime(START) and TimeGenerated < datetime(END)
| where ProviderName in ("Microsoft XDR", "Microsoft 365 Defender")
| summarize Rows = count(), Last = max(TimeGenerated) by Day = bin(TimeGenerated, 1d)`
	qDailyAlerts = `SecurityAlert
| where TimeGenerated >= datetime(START) and TimeGenerated < datetime(END)
| where ProductName in ("Microsoft Defender Advanced Threat Protection", "Office 365 Advanced Threat Protection", "Azure Advanced Threat Protection", "Microsoft Cloud App Security", "Microsoft 365 Defender", "Microsoft Defender XDR")
| summarize Rows = count(), Last = max(TimeGenerated) by ProductName, Day = bin(TimeGenerated, 1d)`
	qDailyTables = `union withsource=Table isfuzzy=true DeviceProcessEvents, DeviceNetworkEvents, IdentityLogonEvents, DeviceFileEvents, DeviceRegistryEvents
| where TimeGenerated >= datetime(START) and TimeGenerated < datetime(END)
| summarize Rows = count(), Last = max(TimeGenerated) by Table, Day = bin(TimeGenerated, 1d)`
	qLastIncident = `SecurityIncident
| where TimeGenerated < datetime(START)
| where ProviderName in ("Microsoft XDR", "Microsoft 365 Defender")
| summarize Last = max(TimeGenerated)`
	qLastAlerts = `SecurityAlert
| where TimeGenerated < datetime(START)
| where ProductName in ("Microsoft Defender Advanced Threat Protection", "Office 365 Advanced Threat Protection", "Azure Advanced Threat Protection", "Microsoft Cloud App Security", "Microsoft 365 Defender", "Microsoft Defender XDR")
| summarize Last = max(TimeGenerated) by ProductName`
	qLastTables = `union withsource=Table isfuzzy=true DeviceNetworkEvents, IdentityLogonEvents, DeviceProcessEvents
| where TimeGenerated < datetime(START)
| summarize Last = max(TimeGenerated) by Table`
)

func verificationQuery(q string, start, end time.Time) string {
	const layout = "2006-01-02T15:04:05.9999999Z"
	return strings.NewReplacer("START", start.UTC().Format(layout), "END", end.UTC().Format(layout)).Replace(q)
}

// signalDays is one signal's answer to a daily query: rows per day and the
// newest row.
type signalDays struct {
	daily map[time.Time]int64
	last  time.Time
}

func parseTime(t *testing.T, v any) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// queryDaily runs a daily query through the HTTP endpoint with the
// "START/END" timespan and groups its rows ([key..., Day, Rows, Last]) by key.
func queryDaily(t *testing.T, s *Sim, q string, start, end time.Time) map[string]signalDays {
	t.Helper()
	timespan := start.Format(time.RFC3339Nano) + "/" + end.Format(time.RFC3339Nano)
	out := map[string]signalDays{}
	for _, row := range laRows(t, laCall(t, s, contosoTID, laPathContoso, verificationQuery(q, start, end), timespan)) {
		n := len(row)
		key := fmt.Sprint(row[:n-3]...)
		sd, ok := out[key]
		if !ok {
			sd = signalDays{daily: map[time.Time]int64{}}
		}
		sd.daily[parseTime(t, row[n-3])] = int64(row[n-2].(float64))
		if last := parseTime(t, row[n-1]); last.After(sd.last) {
			sd.last = last
		}
		out[key] = sd
	}
	return out
}

// queryLast runs a "last received" query (no timespan): the newest row
// before start per key; a missing table answers as holding nothing.
func queryLast(t *testing.T, s *Sim, q string, start time.Time) map[string]time.Time {
	t.Helper()
	out := map[string]time.Time{}
	for _, row := range laRows(t, laCall(t, s, contosoTID, laPathContoso, verificationQuery(q, start, start), "")) {
		if row[len(row)-1] != nil {
			out[fmt.Sprint(row[:len(row)-1]...)] = parseTime(t, row[len(row)-1])
		}
	}
	return out
}

// wantTruth compares a query's answer for one signal with IngestedRows.
func wantTruth(t *testing.T, what string, got signalDays, daily map[time.Time]int64, last time.Time) {
	t.Helper()
	if got.daily == nil {
		got.daily = map[time.Time]int64{}
	}
	if !maps.Equal(got.daily, daily) {
		t.Errorf("%s: query days %v\nIngestedRows %v", what, got.daily, daily)
	}
	if len(daily) > 0 && !got.last.Equal(last) {
		t.Errorf("%s: query last %v, IngestedRows last %v", what, got.last, last)
	}
}

// The verification queries, evaluated by the query endpoint, agree with
// IngestedRows for a workspace with history: over 14 days (the first before
// the connect) and over 3 days, for tables, incidents and alerts per
// product, and for the newest row before a window.
func TestIngestedRowsMatchesTheQueryAPI(t *testing.T) {
	h := contosoHistory()
	s := startSim(t, Options{World: historyWorld(t, h)})
	end := s.Now().Truncate(100 * time.Nanosecond) // what 7 fractional digits can say
	products := s.AlertProducts(contosoCustomer)
	if fmt.Sprint(products) != "[Microsoft Defender Advanced Threat Protection Azure Advanced Threat Protection]" {
		t.Fatalf("alert products %v (contoso has WINDEFATP and ATA)", products)
	}
	tables := []string{"DeviceProcessEvents", "DeviceNetworkEvents", "IdentityLogonEvents", "DeviceFileEvents", "DeviceRegistryEvents"}
	for _, days := range []int{14, 3} {
		start := utcDay(end).AddDate(0, 0, -days)
		name := fmt.Sprintf("%d days", days)
		got := queryDaily(t, s, qDailyTables, start, end)
		for _, table := range tables {
			daily, last := s.IngestedRows(contosoCustomer, table, "", start, end)
			wantTruth(t, name+" "+table, got[table], daily, last)
		}
		daily, last := s.IngestedRows(contosoCustomer, tableSecurityIncident, "", start, end)
		wantTruth(t, name+" incidents", queryDaily(t, s, qDailyIncidents, start, end)[""], daily, last)
		alerts := queryDaily(t, s, qDailyAlerts, start, end)
		if len(alerts) != len(products) {
			t.Errorf("%s: alerts of %v, want %v", name, slices.Collect(maps.Keys(alerts)), products)
		}
		for _, p := range products {
			daily, last := s.IngestedRows(contosoCustomer, tableSecurityAlert, p, start, end)
			wantTruth(t, name+" "+p, alerts[p], daily, last)
		}
		if days == 14 {
			firstData := simStart(t, s, h).Add(laStreamingFirstDataDelay - time.Duration(h.ConnectedAgo))
			// Rows come in batches after it: the first may fall on the next day.
			firstBatch := firstData.Truncate(laBatchInterval).Add(laBatchInterval)
			want := int(utcDay(end).Sub(utcDay(firstBatch))/day) + 1
			daily, _ := s.IngestedRows(contosoCustomer, "DeviceProcessEvents", "", start, end)
			if len(daily) != want || daily[start] != 0 {
				t.Errorf("14 days of DeviceProcessEvents with data from %v: %v, want %d days, none on the first", firstData, daily, want)
			}
		}
	}

	// The newest row before a window that starts yesterday: IdentityLogonEvents
	// fell silent 2 days ago, DeviceNetworkEvents was turned off 4 days ago.
	start := utcDay(end).AddDate(0, 0, -1)
	lasts := queryLast(t, s, qLastTables, start)
	for _, table := range []string{"DeviceNetworkEvents", "IdentityLogonEvents", "DeviceProcessEvents"} {
		daily, last := s.IngestedRows(contosoCustomer, table, "", start, start)
		if len(daily) != 0 || last.IsZero() || !lasts[table].Equal(last) {
			t.Errorf("last %s before %v: query %v, IngestedRows %v %v", table, start, lasts[table], daily, last)
		}
	}
	simStart := simStart(t, s, h)
	if got := lasts["IdentityLogonEvents"]; got.After(simStart.Add(-2*day)) || simStart.Add(-2*day).Sub(got) >= laBatchInterval {
		t.Errorf("IdentityLogonEvents last %v, silent since %v", got, simStart.Add(-2*day))
	}
	if _, last := s.IngestedRows(contosoCustomer, tableSecurityIncident, "", start, start); !queryLast(t, s, qLastIncident, start)[""].Equal(last) {
		t.Errorf("last incident before %v: IngestedRows %v", start, last)
	}
	alertLasts := queryLast(t, s, qLastAlerts, start)
	for _, p := range products {
		if _, last := s.IngestedRows(contosoCustomer, tableSecurityAlert, p, start, start); !alertLasts[p].Equal(last) {
			t.Errorf("last %s before %v: query %v, IngestedRows %v", p, start, alertLasts[p], last)
		}
	}
}

// Each full UTC day holds exactly its weekday's volume: tables and alerts
// dailyVolume events, incidents incidentsOn incidents of two rows each.
func TestIngestedRowsFollowTheWeek(t *testing.T) {
	h := &WorkspaceHistory{ConnectedAgo: Duration(16 * day), Tables: []string{"DeviceProcessEvents"}}
	s := startSim(t, Options{World: historyWorld(t, h)})
	start := simStart(t, s, h)
	// The first full day of data: the table's first rows come after the
	// first-data delay, which may put them on the next day.
	first := utcDay(start.Add(-16*day + laStreamingFirstDataDelay)).Add(day)
	volumes := s.Tenants()[1].Spec.DataVolumes
	weekend := 0
	var incidents int64
	for d := first; !d.Add(day).After(utcDay(start)); d = d.Add(day) {
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			weekend++
		}
		for table, want := range map[string]int64{
			"DeviceProcessEvents": dailyVolume(int64(volumes["DeviceProcessEvents"]), d),
			tableSecurityAlert:    dailyVolume(int64(volumes[tableSecurityAlert]), d),
			tableSecurityIncident: 2 * incidentsOn(int64(volumes[tableSecurityIncident]), d),
		} {
			if daily, _ := s.IngestedRows(contosoCustomer, table, "", d, d.Add(day)); daily[d] != want {
				t.Errorf("%s on %s %s: %d rows, want %d", table, d.Weekday(), d.Format(time.DateOnly), daily[d], want)
			}
		}
		incidents += incidentsOn(int64(volumes[tableSecurityIncident]), d)
	}
	if weekend < 4 {
		t.Fatalf("%d weekend days checked, want the 4 of two weeks", weekend)
	}
	// Each incident is counted once, under a number of its own.
	q := fmt.Sprintf("SecurityIncident | where TimeGenerated >= datetime(%s) and TimeGenerated < datetime(%s) "+
		"| summarize arg_max(TimeGenerated, *) by IncidentNumber | summarize count()",
		first.Format(time.RFC3339), utcDay(start).Format(time.RFC3339))
	if rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, q, "")); rows[0][0] != float64(incidents) {
		t.Fatalf("distinct incidents %v, want %d", rows[0][0], incidents)
	}
}

// A streamed table's first rows come laStreamingFirstDataDelay after the
// entry turned it on, in the history as live.
func TestFirstDataDelay(t *testing.T) {
	h := contosoHistory()
	s := startSim(t, Options{World: historyWorld(t, h)})
	on := simStart(t, s, h).Add(-4 * day) // DeviceFileEvents turned on
	rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, "DeviceFileEvents | summarize min(TimeGenerated)", ""))
	if first := parseTime(t, rows[0][0]); !first.After(on.Add(laStreamingFirstDataDelay)) || first.Sub(on.Add(laStreamingFirstDataDelay)) > laBatchInterval {
		t.Fatalf("first DeviceFileEvents row %v, turned on %v", first, on)
	}
	rows = laRows(t, laCall(t, s, contosoTID, laPathContoso, "SecurityIncident | summarize min(TimeGenerated)", ""))
	connected := simStart(t, s, h).Add(-time.Duration(h.ConnectedAgo))
	if first := parseTime(t, rows[0][0]); first.Sub(connected) > 6*time.Hour { // 4 a day, no delay
		t.Fatalf("first incident row %v, connected %v", first, connected)
	}
}

func TestSilenceTable(t *testing.T) {
	s := startSim(t, Options{})
	streamTables(t, s, "AdvancedHunting-DeviceProcessEvents")
	s.AdvanceClock(laStreamingFirstDataDelay + time.Hour)
	if err := s.SilenceTable(contosoCustomer, "DeviceProcessEvents"); err != nil {
		t.Fatal(err)
	}
	silent := s.Now()
	s.AdvanceClock(time.Hour)
	_, last := s.IngestedRows(contosoCustomer, "DeviceProcessEvents", "", silent, s.Now())
	rows := laRows(t, laCall(t, s, contosoTID, laPathContoso, "DeviceProcessEvents | summarize max(TimeGenerated)", ""))
	if got := parseTime(t, rows[0][0]); !got.Equal(last) || last.After(silent) || silent.Sub(last) > laBatchInterval {
		t.Fatalf("last row %v (IngestedRows %v), silent since %v", got, last, silent)
	}
	var ti TableIngestion
	r := rawCall(t, s, "", http.MethodPost, "/_sim/loganalytics/"+contosoCustomer+"/tables/DeviceProcessEvents/silence", nil)
	wantStatus(t, r, http.StatusOK)
	for _, x := range s.Ingestion(contosoCustomer) {
		if x.Table == "DeviceProcessEvents" {
			ti = x
		}
	}
	if ti.SilentSince == nil || !ti.SilentSince.Before(s.Now()) || r.body["silentSince"] != ti.SilentSince.Format(time.RFC3339Nano) || ti.Spans[0].To != nil {
		t.Fatalf("ingestion %+v, admin answer %s: the first silence stands and the span stays open", ti, r.raw)
	}
	if err := s.SilenceTable(contosoCustomer, "Nope"); err == nil {
		t.Fatal("unknown table silenced")
	}
	if err := s.SilenceTable("00000000-0000-4000-8000-000000000000", "DeviceProcessEvents"); err == nil {
		t.Fatal("unknown workspace accepted")
	}
	r = rawCall(t, s, "", http.MethodGet, "/_sim/workspaces/"+contosoSub+"/"+contosoRG+"/"+contosoWS+"/ingestion", nil)
	wantStatus(t, r, http.StatusOK)
	if v := r.body["value"].([]any); len(v) != 1 || v[0].(map[string]any)["silentSince"] != r.body["value"].([]any)[0].(map[string]any)["silentSince"] ||
		v[0].(map[string]any)["table"] != "DeviceProcessEvents" || v[0].(map[string]any)["silentSince"] == nil {
		t.Fatalf("workspace ingestion %s", r.raw)
	}
}

// countingSource counts the rows the query source synthesizes.
type countingSource struct {
	*laDatabase
	rows int
}

func (c *countingSource) Rows(table string, w kql.Window) iter.Seq[kql.Row] {
	return func(yield func(kql.Row) bool) {
		for r := range c.laDatabase.Rows(table, w) {
			c.rows++
			if !yield(r) {
				return
			}
		}
	}
}

// The daily query's datetime bounds reach the source: over a 30-day
// history it synthesizes 14 days of batches, not 30.
func TestDailyQuerySynthesizesOnlyItsWindow(t *testing.T) {
	h := &WorkspaceHistory{ConnectedAgo: Duration(30 * day), Tables: []string{"DeviceProcessEvents"}}
	s := startSim(t, Options{World: historyWorld(t, h)})
	ws, _ := s.WorkspaceByCustomerID(contosoCustomer)
	end := s.Now()
	start := utcDay(end).AddDate(0, 0, -14)
	src := &countingSource{laDatabase: s.laDatabase(ws)}
	q := strings.Replace(verificationQuery(qDailyTables, start, end), "DeviceNetworkEvents, IdentityLogonEvents, DeviceFileEvents, DeviceRegistryEvents", "DeviceNetworkEvents", 1)
	if _, err := kql.Eval(context.Background(), q, src, kql.Env{Now: end}); err != nil {
		t.Fatal(err)
	}
	if perDay := int(day / laBatchInterval); src.rows == 0 || src.rows > 15*perDay {
		t.Fatalf("%d rows synthesized for 14 days of one table (%d batches a day)", src.rows, perDay)
	}
}
