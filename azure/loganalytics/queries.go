package loganalytics

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/monitor/azquery"
)

// The onboarding's first check (Incidents, AlertsByProduct): counts over a
// window relative to now (docs/azure.md §7.2). Table-name validation is
// shared with the verification's queries (dailyqueries.go).

// Default windows of the first check's queries (docs/azure.md §7.2).
const (
	IncidentsWindow = 7 * 24 * time.Hour
	AlertsWindow    = 14 * 24 * time.Hour
)

// ProviderNames are the SecurityIncident.ProviderName values of XDR
// incidents: current and pre-rename (docs/azure.md §11.4).
var ProviderNames = []string{"Microsoft XDR", "Microsoft 365 Defender"}

var tableName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// checkTables rejects names that are not plain Kusto identifiers, so no
// caller text can change a query's meaning.
func checkTables(tables []string) error {
	if len(tables) == 0 {
		return errors.New("loganalytics: no tables given")
	}
	for _, t := range tables {
		if !tableName.MatchString(t) {
			return fmt.Errorf("loganalytics: %q is not a table name", t)
		}
	}
	return nil
}

// kustoSpan renders a positive duration as a Kusto timespan literal in the
// largest whole unit (7d, 36h, 90m, 45s).
func kustoSpan(d time.Duration) (string, error) {
	switch {
	case d <= 0 || d%time.Second != 0:
		return "", fmt.Errorf("loganalytics: window %v must be a positive whole number of seconds", d)
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("%dd", d/(24*time.Hour)), nil
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour), nil
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute), nil
	}
	return fmt.Sprintf("%ds", d/time.Second), nil
}

// isoSpan renders the same window as the ISO 8601 duration the request
// body's timespan takes (P7D, PT36H, PT90M, PT45S).
func isoSpan(d time.Duration) azquery.TimeInterval {
	switch {
	case d%(24*time.Hour) == 0:
		return azquery.TimeInterval(fmt.Sprintf("P%dD", d/(24*time.Hour)))
	case d%time.Hour == 0:
		return azquery.TimeInterval(fmt.Sprintf("PT%dH", d/time.Hour))
	case d%time.Minute == 0:
		return azquery.TimeInterval(fmt.Sprintf("PT%dM", d/time.Minute))
	}
	return azquery.TimeInterval(fmt.Sprintf("PT%dS", d/time.Second))
}

func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = `"` + s + `"`
	}
	return strings.Join(q, ", ")
}

// IncidentsQuery counts the XDR incidents updated within window and the
// latest update.
func IncidentsQuery(window time.Duration) (string, error) {
	span, err := kustoSpan(window)
	if err != nil {
		return "", err
	}
	return "SecurityIncident\n" +
		"| where TimeGenerated > ago(" + span + ")\n" +
		"| where ProviderName in (" + quoted(ProviderNames) + ")\n" +
		"| summarize arg_max(TimeGenerated, *) by IncidentNumber\n" +
		"| summarize Incidents = count(), Last = max(TimeGenerated)", nil
}

// AlertsQuery counts alerts by product within window.
func AlertsQuery(window time.Duration) (string, error) {
	span, err := kustoSpan(window)
	if err != nil {
		return "", err
	}
	return "SecurityAlert\n" +
		"| where TimeGenerated > ago(" + span + ")\n" +
		"| summarize count() by ProductName, ProviderName", nil
}
