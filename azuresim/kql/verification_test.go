package kql

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The verification queries over testDB: START is 14 days before END's day,
// END carries 7 fractional digits, as the verification writes them.
func TestEvalVerificationQueries(t *testing.T) {
	start := time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 11, 20, 11, 30, 0, 123456700, time.UTC)
	d := func(day int) time.Time { return time.Date(2026, 11, day, 0, 0, 0, 0, time.UTC) }
	env := Env{Now: now, Timespan: Window{From: start, To: end}}
	for _, tc := range []struct {
		name, query, cols string
		start             time.Time
		rows              [][]any
	}{
		{"daily incidents", dailyIncidentsQuery, "Day:datetime,Rows:long,Last:datetime", start,
			[][]any{{d(17), int64(1), ago(3 * day)}, {d(18), int64(1), ago(2 * day)}, {d(15), int64(1), ago(5 * day)}, {d(11), int64(1), ago(9 * day)}}},
		{"daily alerts", dailyAlertsQuery, "ProductName:string,Day:datetime,Rows:long,Last:datetime", start,
			[][]any{
				{"Microsoft Defender Advanced Threat Protection", d(19), int64(3), ago(day)},
				{"Office 365 Advanced Threat Protection", d(18), int64(1), ago(2 * day)},
				{"Microsoft Defender Advanced Threat Protection", d(7), int64(1), ago(13 * day)},
			}},
		{"daily tables, one missing", dailyTablesQuery, "Table:string,Day:datetime,Rows:long,Last:datetime", start,
			[][]any{{"DeviceProcessEvents", d(20), int64(1000), ago(30 * time.Minute)}}},
		{"last incident, none", lastIncidentQuery, "Last:datetime", start, [][]any{{nil}}},
		{"last alerts", lastAlertsQuery, "ProductName:string,Last:datetime", start,
			[][]any{{"Azure Advanced Threat Protection", ago(15 * day)}}},
		{"last tables", strings.Replace(lastTablesQuery, "DeviceFileEvents", "DeviceInfo", 1), "Table:string,Last:datetime", d(20),
			[][]any{{"DeviceInfo", ago(36 * time.Hour)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := verificationQuery(tc.query, tc.start, end)
			e := env
			if strings.Contains(tc.query, "< datetime(START)") {
				e.Timespan = Window{} // the "last received" queries send no timespan
			}
			res := run(t, q, e)
			if got := colNames(res.Columns); got != tc.cols {
				t.Errorf("columns = %s, want %s", got, tc.cols)
			}
			if !reflect.DeepEqual(res.Rows, tc.rows) {
				t.Errorf("rows = %v, want %v", res.Rows, tc.rows)
			}
		})
	}
}

// A fuzzy union of tables none of which exists fails like one missing table.
func TestEvalFuzzyUnionOfMissingTables(t *testing.T) {
	q := verificationQuery(lastTablesQuery, now.Add(-day), now)
	_, err := Eval(context.Background(), q, testDB(), Env{Now: now})
	var se *SemanticError
	if !errors.As(err, &se) || se.Msg != "Failed to resolve table expression named 'DeviceFileEvents'" {
		t.Fatalf("err = %v", err)
	}
}

// The daily queries' two datetime bounds narrow the Source's window, so a
// 14-day query never makes the emulator synthesize older history.
func TestPushdownVerificationWindow(t *testing.T) {
	start := time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)
	end := time.Date(2026, 11, 20, 11, 30, 0, 123456700, time.UTC)
	for _, q := range []string{dailyIncidentsQuery, dailyAlertsQuery, dailyTablesQuery} {
		p, err := Compile(mustParse(t, verificationQuery(q, start, end)), testDB())
		if err != nil {
			t.Fatal(err)
		}
		if w := p.Window(Env{Now: now}); !w.From.Equal(start) || !w.To.Equal(end) {
			t.Errorf("%s: window %v, want %v..%v", q, w, start, end)
		}
	}
	p, err := Compile(mustParse(t, verificationQuery(lastIncidentQuery, start, end)), testDB())
	if err != nil {
		t.Fatal(err)
	}
	if w := p.Window(Env{Now: now}); !w.From.IsZero() || !w.To.Equal(start) {
		t.Errorf("last incident: window %v, want ..%v", w, start)
	}
}

func mustParse(t *testing.T, q string) *Query {
	t.Helper()
	parsed, err := Parse(q)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return parsed
}
