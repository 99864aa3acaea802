package kql

import (
	"context"
	"errors"
	"iter"
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

const day = 24 * time.Hour

func testDB() MemDB {
	tg := Column{Name: "TimeGenerated", Type: TypeDatetime}
	return MemDB{
		"SecurityIncident": {
			Columns: []Column{tg, {Name: "IncidentNumber", Type: TypeLong}, {Name: "ProviderName", Type: TypeString}, {Name: "Status", Type: TypeString}},
			Rows: []Row{
				{Values: []any{ago(3 * day), int64(1), "Microsoft XDR", "New"}},
				{Values: []any{ago(2 * day), int64(1), "Microsoft XDR", "Closed"}},
				{Values: []any{ago(5 * day), 2, "Microsoft 365 Defender", "New"}}, // int: normalized to long
				{Values: []any{ago(1 * day), int64(3), "Azure Sentinel", "New"}},
				{Values: []any{ago(9 * day), int64(4), "Microsoft XDR", "New"}},
			},
		},
		"SecurityAlert": {
			Columns: []Column{tg, {Name: "ProductName", Type: TypeString}, {Name: "ProviderName", Type: TypeString}},
			Rows: []Row{
				{Values: []any{ago(1 * day), "Microsoft Defender Advanced Threat Protection", "MDATP"}, Weight: 3},
				{Values: []any{ago(2 * day), "Office 365 Advanced Threat Protection", "OATP"}},
				{Values: []any{ago(13 * day), "Microsoft Defender Advanced Threat Protection", "MDATP"}},
				{Values: []any{ago(15 * day), "Azure Advanced Threat Protection", "AATP"}},
			},
		},
		"DeviceInfo": {
			Columns: []Column{tg, {Name: "DeviceName", Type: TypeString}},
			Rows: []Row{
				{Values: []any{ago(36 * time.Hour), "a"}, Weight: 100},
				{Values: []any{ago(12 * time.Hour), "b"}, Weight: 40},
				{Values: []any{ago(2 * time.Hour), "c"}, Weight: 2},
			},
		},
		"DeviceProcessEvents": {
			Columns: []Column{tg, {Name: "DeviceName", Type: TypeString}, {Name: "FileName", Type: TypeString}},
			Rows:    []Row{{Values: []any{ago(30 * time.Minute), "a", "cmd.exe"}, Weight: 1000}},
		},
		"IdentityLogonEvents": { // known table, no data yet
			Columns: []Column{tg, {Name: "AccountUpn", Type: TypeString}},
		},
	}
}

func run(t *testing.T, query string, env Env) *Result {
	t.Helper()
	res, err := Eval(context.Background(), query, testDB(), env)
	if err != nil {
		t.Fatalf("Eval(%q): %v", query, err)
	}
	return res
}

func colNames(cols []Column) string {
	var s []string
	for _, c := range cols {
		s = append(s, c.Name+":"+string(c.Type))
	}
	return strings.Join(s, ",")
}

func TestEvalXDRLinkQueries(t *testing.T) {
	env := Env{Now: now}
	for _, tc := range []struct {
		name, query, cols string
		rows              [][]any
	}{
		{"incidents", incidentsQuery, "Incidents:long,Last:datetime",
			[][]any{{int64(2), ago(2 * day)}}},
		{"alerts", alertsQuery, "ProductName:string,ProviderName:string,count_:long",
			[][]any{{"Microsoft Defender Advanced Threat Protection", "MDATP", int64(4)}, {"Office 365 Advanced Threat Protection", "OATP", int64(1)}}},
		{"volume", volumeQuery, "Table:string,Events:long,Last:datetime",
			[][]any{{"DeviceInfo", int64(42), ago(2 * time.Hour)}, {"DeviceProcessEvents", int64(1000), ago(30 * time.Minute)}}},
		{"daily", dailyQuery, "Table:string,TimeGenerated:datetime,Events:long",
			[][]any{
				{"DeviceInfo", time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), int64(100)},
				{"DeviceInfo", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), int64(42)},
				{"DeviceProcessEvents", time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), int64(1000)},
			}},
		{"last log", lastLogQuery, "LastLogReceived:datetime", [][]any{{ago(2 * time.Hour)}}},
		{"connected", connectedQuery, "IsConnected:bool", [][]any{{true}}},
		{"last log, no data", "IdentityLogonEvents | summarize LastLogReceived=max(TimeGenerated)", "LastLogReceived:datetime", [][]any{{nil}}},
		{"incidents, no data", strings.Replace(incidentsQuery, "SecurityIncident", "IdentityLogonEvents | extend IncidentNumber = 1, ProviderName = 'Microsoft XDR'", 1),
			"Incidents:long,Last:datetime", [][]any{{int64(0), nil}}},
		{"by over no rows", "IdentityLogonEvents | summarize count() by AccountUpn", "AccountUpn:string,count_:long", [][]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.query, env)
			if got := colNames(res.Columns); got != tc.cols {
				t.Errorf("columns = %s, want %s", got, tc.cols)
			}
			if !reflect.DeepEqual(res.Rows, tc.rows) {
				t.Errorf("rows = %v, want %v", res.Rows, tc.rows)
			}
		})
	}
}

func TestEvalOperators(t *testing.T) {
	env := Env{Now: now}
	for _, tc := range []struct {
		name, query string
		rows        [][]any
	}{
		{"take splits weights", "DeviceInfo | take 3 | project DeviceName", [][]any{{"a"}, {"a"}, {"a"}}},
		{"take across rows", "DeviceInfo | where DeviceName != 'a' | take 41 | summarize count()", [][]any{{int64(41)}}},
		{"order asc", "DeviceInfo | order by DeviceName asc | project DeviceName | take 1", [][]any{{"a"}}},
		{"order desc default", "DeviceInfo | sort by DeviceName | project DeviceName | take 1", [][]any{{"c"}}},
		{"extend replaces", "DeviceInfo | extend DeviceName = 'x' | summarize count() by DeviceName", [][]any{{"x", int64(142)}}},
		{"in~ and =~", "DeviceInfo | where DeviceName in~ ('A', 'B') and DeviceName !~ 'B' | summarize count()", [][]any{{int64(100)}}},
		{"!in", "DeviceInfo | where DeviceName !in ('a', 'b') | summarize count()", [][]any{{int64(2)}}},
		{"or", "DeviceInfo | where DeviceName == 'a' or DeviceName == 'c' | summarize count()", [][]any{{int64(102)}}},
		{"datetime arithmetic", "DeviceInfo | where TimeGenerated > now() - 1d and TimeGenerated - ago(1d) > 1h | summarize count()", [][]any{{int64(42)}}},
		{"datetime literal", "DeviceInfo | where TimeGenerated >= datetime(2026-11-20) | summarize count()", [][]any{{int64(42)}}},
		{"sum weighted", "SecurityIncident | extend N = 2 | summarize sum(N), min(IncidentNumber), max(IncidentNumber)", [][]any{{int64(10), int64(1), int64(4)}}},
		{"arg_min with columns", "SecurityIncident | summarize arg_min(TimeGenerated, Status) by IncidentNumber | where IncidentNumber == 1", [][]any{{int64(1), ago(3 * day), "New"}}},
		{"named arg_max", "SecurityIncident | summarize Latest = arg_max(TimeGenerated, Status) by IncidentNumber | project Latest, Status | take 1", [][]any{{ago(2 * day), "Closed"}}},
		{"bin 7d starts on Monday", "DeviceInfo | summarize by W = bin(TimeGenerated, 7d)", [][]any{{time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)}}},
		{"isempty", "DeviceInfo | where isempty(DeviceName) or not(isnotempty(DeviceName)) | summarize count()", [][]any{{int64(0)}}},
		{"bool compare", "DeviceInfo | extend B = DeviceName == 'a' | where B == true | summarize count()", [][]any{{int64(100)}}},
		{"union without withsource", "union DeviceInfo, DeviceProcessEvents | summarize count() by FileName", [][]any{{nil, int64(142)}, {"cmd.exe", int64(1000)}}},
		{"real literal", "DeviceInfo | extend R = 1.5 + 1 | summarize max(R)", [][]any{{2.5}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := run(t, tc.query, env)
			if !reflect.DeepEqual(res.Rows, tc.rows) {
				t.Errorf("rows = %v, want %v", res.Rows, tc.rows)
			}
		})
	}
}

func TestCompileRejects(t *testing.T) {
	for _, tc := range []struct{ query, msg string }{
		{"Nope | take 1", "Failed to resolve table expression named 'Nope'"},
		{"union DeviceInfo, Nope", "Failed to resolve table expression named 'Nope'"},
		{"union isfuzzy=true Nope, Nope2", "Failed to resolve table expression named 'Nope'"},
		{"DeviceInfo | where Nope == 1", "Failed to resolve scalar expression named 'Nope'"},
		{"DeviceInfo | where DeviceName > ago(1d)", "Cannot compare values of types string and datetime"},
		{"DeviceInfo | where DeviceName", "expects a bool predicate"},
		{"DeviceInfo | where DeviceName == 'a' and 1", "needs bool operands"},
		{"DeviceInfo | summarize sum(DeviceName)", "sum() expects a number"},
		{"DeviceInfo | where ago(DeviceName) > now()", "ago() expects a timespan"},
		{"DeviceInfo | where TimeGenerated + TimeGenerated > now()", "operator + is not defined"},
		{"DeviceInfo | summarize count(), count()", "produced twice"},
		{"DeviceInfo | project DeviceName, DeviceName", "given twice"},
		{"DeviceInfo | project DeviceName == 'a'", "give the expression a name"},
		{"DeviceInfo | summarize count() by DeviceName == 'a'", "name the group expression"},
		{"DeviceInfo | summarize arg_max(bin(TimeGenerated, 1d), *)", "first argument must be a column"},
		{"DeviceInfo | summarize arg_max(TimeGenerated, Nope)", "named 'Nope'"},
		{"DeviceInfo | where DeviceName in (1, 2)", "does not match"},
		{"DeviceInfo | where 1 in~ (1)", "in~ needs a string"},
		{"DeviceInfo | where 1 =~ 1", "needs string operands"},
		{"DeviceInfo | where bin(DeviceName, 1d) == 'a'", "bin() is not defined"},
		{"DeviceInfo | order by Nope", "named 'Nope'"},
		{"DeviceInfo | summarize count() | where DeviceName == 'a'", "named 'DeviceName'"},
		{"union withsource=DeviceName DeviceInfo", "clashes"},
	} {
		q, err := Parse(tc.query)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.query, err)
			continue
		}
		_, err = Compile(q, testDB())
		var se *SemanticError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, tc.msg) {
			t.Errorf("Compile(%q) = %v, want SemanticError containing %q", tc.query, err, tc.msg)
		}
	}
}

func TestCompileRejectsUnionTypeClash(t *testing.T) {
	db := MemDB{
		"A": {Columns: []Column{{Name: "X", Type: TypeString}}},
		"B": {Columns: []Column{{Name: "X", Type: TypeLong}}},
	}
	q, _ := Parse("union A, B")
	var se *SemanticError
	if _, err := Compile(q, db); !errors.As(err, &se) || !strings.Contains(se.Msg, "column 'X' is long in 'B'") {
		t.Fatalf("err = %v", err)
	}
}

// spySource records the windows the plan pushes down.
type spySource struct {
	MemDB
	windows map[string]Window
}

func (s *spySource) Rows(table string, w Window) iter.Seq[Row] {
	s.windows[table] = w
	return s.MemDB.Rows(table, w)
}

func TestPushdownWindow(t *testing.T) {
	for _, tc := range []struct {
		query    string
		timespan Window
		want     Window
	}{
		{volumeQuery, Window{}, Window{From: ago(day)}},
		{incidentsQuery, Window{}, Window{From: ago(7 * day)}},
		{"DeviceInfo | where ago(2d) <= TimeGenerated and TimeGenerated < ago(1d)", Window{}, Window{From: ago(2 * day), To: ago(day)}},
		{"DeviceInfo | where DeviceName == 'a' | where TimeGenerated == datetime(2026-01-01)", Window{}, Window{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{dailyQuery, Window{From: ago(3 * day), To: ago(day)}, Window{From: ago(3 * day), To: ago(day)}},
		{volumeQuery, Window{From: ago(3 * day)}, Window{From: ago(day)}},
		// Not pushed: after a projection, inside or, with a column on both sides.
		{"DeviceInfo | extend X = 1 | where TimeGenerated > ago(1d)", Window{}, Window{}},
		{"DeviceInfo | where TimeGenerated > ago(1d) or DeviceName == 'a'", Window{}, Window{}},
		{"DeviceInfo | where TimeGenerated > TimeGenerated - 1d", Window{}, Window{}},
	} {
		spy := &spySource{MemDB: testDB(), windows: map[string]Window{}}
		q, err := Parse(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(q, spy)
		if err != nil {
			t.Fatal(err)
		}
		env := Env{Now: now, Timespan: tc.timespan}
		if _, err := p.Run(context.Background(), spy, env); err != nil {
			t.Fatal(err)
		}
		for _, table := range p.Tables() {
			if got := spy.windows[table]; !got.From.Equal(tc.want.From) || !got.To.Equal(tc.want.To) {
				t.Errorf("%q: window for %s = %v, want %v", tc.query, table, got, tc.want)
			}
		}
	}
}

func TestTimespanFiltersRows(t *testing.T) {
	res := run(t, "DeviceInfo | summarize count()", Env{Now: now, Timespan: Window{From: ago(day), To: ago(3 * time.Hour)}})
	if got := res.Rows[0][0]; got != int64(40) {
		t.Fatalf("count = %v, want 40 (only the batch between 1d and 3h ago)", got)
	}
}

func TestRunTruncatesAtMaxRows(t *testing.T) {
	res := run(t, "DeviceInfo", Env{Now: now, MaxRows: 50})
	if !res.Truncated || len(res.Rows) != 50 {
		t.Fatalf("truncated=%v rows=%d, want true 50", res.Truncated, len(res.Rows))
	}
	res = run(t, "DeviceInfo", Env{Now: now})
	if res.Truncated || len(res.Rows) != 142 {
		t.Fatalf("truncated=%v rows=%d, want false 142", res.Truncated, len(res.Rows))
	}
}

// endless yields rows until the consumer stops.
type endless struct{}

func (endless) Columns(string) ([]Column, bool) {
	return []Column{{Name: "TimeGenerated", Type: TypeDatetime}}, true
}

func (endless) Rows(string, Window) iter.Seq[Row] {
	return func(yield func(Row) bool) {
		for yield(Row{Values: []any{now}}) {
		}
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Eval(ctx, "T | summarize count()", endless{}, Env{Now: now})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tc := range []struct {
		in   any
		want any
	}{
		{time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC), "2026-01-02T03:04:05.0000006Z"},
		{26*time.Hour + 3*time.Minute + 4*time.Second + 500*time.Millisecond, "1.02:03:04.5000000"},
		{-90 * time.Second, "-00:01:30"},
		{int64(3), int64(3)},
		{"x", "x"},
	} {
		if got := FormatValue(tc.in); got != tc.want {
			t.Errorf("FormatValue(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// A Source that breaks its own schema must not crash the evaluator.
func TestEvalToleratesSchemaViolations(t *testing.T) {
	db := MemDB{"T": {
		Columns: []Column{{Name: "TimeGenerated", Type: TypeDatetime}, {Name: "S", Type: TypeString}, {Name: "N", Type: TypeLong}},
		Rows:    []Row{{Values: []any{"not a time", int64(5), "x"}}, {Values: []any{now}}},
	}}
	for _, q := range []string{
		"T | where S =~ 'x' or S in~ ('y') | summarize count()",
		"T | summarize by bin(TimeGenerated, 1d), bin(N, 2)",
		"T | where TimeGenerated > ago(1d) | summarize max(S), sum(N), arg_max(TimeGenerated, *)",
	} {
		if _, err := Eval(context.Background(), q, db, Env{Now: now, Timespan: Window{From: ago(day)}}); err != nil {
			t.Errorf("Eval(%q): %v", q, err)
		}
	}
}
