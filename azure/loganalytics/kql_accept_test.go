package loganalytics_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xdrlink/xdrlink/azure/loganalytics"
	"github.com/xdrlink/xdrlink/azuresim/kql"
)

// Every verification query must be inside the KQL subset the emulator
// evaluates (package azuresim/kql), with the columns Daily and Last read;
// otherwise the emulator-backed tests would judge a query the service never
// sees. The catalog has no DeviceNetworkEvents: isfuzzy must skip it.

func acceptCatalog() kql.MemDB {
	tg := kql.Column{Name: "TimeGenerated", Type: kql.TypeDatetime}
	str := func(name string) kql.Column { return kql.Column{Name: name, Type: kql.TypeString} }
	return kql.MemDB{
		"SecurityIncident":    {Columns: []kql.Column{tg, {Name: "IncidentNumber", Type: kql.TypeLong}, str("ProviderName"), str("Status")}},
		"SecurityAlert":       {Columns: []kql.Column{tg, str("ProductName"), str("ProviderName")}},
		"DeviceProcessEvents": {Columns: []kql.Column{tg, str("DeviceName"), str("FileName")}},
		"DeviceFileEvents":    {Columns: []kql.Column{tg, str("DeviceName")}},
		"EmailEvents":         {Columns: []kql.Column{tg, str("RecipientEmailAddress")}},
	}
}

// acceptedQueries are every builder's output with the result columns the
// client reads.
func acceptedQueries(t *testing.T) map[loganalytics.Query]string {
	t.Helper()
	w := loganalytics.NewWindow(time.Date(2026, 11, 30, 2, 13, 35, 123456789, time.UTC), 14)
	tables := []string{"DeviceProcessEvents", "DeviceNetworkEvents", "EmailEvents", "DeviceFileEvents"}
	td, err := loganalytics.TablesDailyQuery(w, tables)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := loganalytics.TablesLastQuery(w.Start, tables)
	if err != nil {
		t.Fatal(err)
	}
	return map[loganalytics.Query]string{
		loganalytics.IncidentsDailyQuery(w):      "Day:datetime Rows:long Last:datetime",
		loganalytics.AlertsDailyQuery(w):         "ProductName:string Day:datetime Rows:long Last:datetime",
		td:                                       "Table:string Day:datetime Rows:long Last:datetime",
		loganalytics.IncidentsLastQuery(w.Start): "Last:datetime",
		loganalytics.AlertsLastQuery(w.Start):    "ProductName:string Last:datetime",
		tl:                                       "Table:string Last:datetime",
	}
}

func compile(text string) (*kql.Plan, error) {
	q, err := kql.Parse(text)
	if err != nil {
		return nil, err
	}
	return kql.Compile(q, acceptCatalog())
}

func TestEmulatorAcceptsEveryQuery(t *testing.T) {
	for q, want := range acceptedQueries(t) {
		p, err := compile(q.Text)
		if err != nil {
			t.Errorf("%s: refused: %v\n%s", q.Purpose, err, q.Text)
			continue
		}
		var cols []string
		for _, c := range p.Columns() {
			cols = append(cols, fmt.Sprintf("%s:%s", c.Name, c.Type))
		}
		if got := strings.Join(cols, " "); got != want {
			t.Errorf("%s: columns %s, want %s", q.Purpose, got, want)
		}
	}
}

// The acceptance above means something only if the emulator refuses what
// is wrong: each query with its last summarize cut short, with an unknown
// function, and with a column the table does not have.
func TestEmulatorRefusesMalformedQueries(t *testing.T) {
	for q := range acceptedQueries(t) {
		i := strings.LastIndex(q.Text, "| summarize")
		for name, text := range map[string]string{
			"no summarize operand": q.Text[:i+len("| summarize")],
			"unknown function":     strings.Replace(q.Text, "max(TimeGenerated)", "maxx(TimeGenerated)", 1),
			"unknown column":       strings.Replace(q.Text, "TimeGenerated <", "TimeGenerate <", 1),
		} {
			if text == q.Text {
				t.Fatalf("%s, %s: the variant is the query itself", q.Purpose, name)
			}
			_, err := compile(text)
			var syn *kql.SyntaxError
			var sem *kql.SemanticError
			if !errors.As(err, &syn) && !errors.As(err, &sem) {
				t.Errorf("%s, %s: %v, want a syntax or semantic error\n%s", q.Purpose, name, err, text)
			}
		}
	}
}
