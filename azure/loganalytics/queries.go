package loganalytics

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
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

func quoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = `"` + s + `"`
	}
	return strings.Join(q, ", ")
}
