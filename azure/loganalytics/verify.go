package loganalytics

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/monitor/azquery"
)

// IncidentSummary is what the incidents query reports.
type IncidentSummary struct {
	Incidents int64
	Last      time.Time // zero when there were none
}

// Incidents counts XDR incidents within window (IncidentsWindow by default).
func (c *Client) Incidents(ctx context.Context, workspaceID string, window time.Duration) (IncidentSummary, error) {
	q, err := IncidentsQuery(window)
	if err != nil {
		return IncidentSummary{}, err
	}
	rows, err := c.primary(ctx, workspaceID, q, isoSpan(window), "Incidents", "Last")
	if err != nil {
		return IncidentSummary{}, err
	}
	if len(rows.rows) != 1 {
		return IncidentSummary{}, shapeError("incidents query returned %d rows, want 1", len(rows.rows))
	}
	var out IncidentSummary
	if out.Incidents, err = rows.long(0, "Incidents"); err != nil {
		return IncidentSummary{}, err
	}
	out.Last, err = rows.time(0, "Last")
	return out, err
}

// AlertCount is one (product, provider) pair of the alerts query.
type AlertCount struct {
	ProductName, ProviderName string
	Count                     int64
}

// AlertsByProduct counts alerts per product within window (AlertsWindow by default).
func (c *Client) AlertsByProduct(ctx context.Context, workspaceID string, window time.Duration) ([]AlertCount, error) {
	q, err := AlertsQuery(window)
	if err != nil {
		return nil, err
	}
	rows, err := c.primary(ctx, workspaceID, q, isoSpan(window), "ProductName", "ProviderName", "count_")
	if err != nil {
		return nil, err
	}
	out := make([]AlertCount, len(rows.rows))
	for i := range rows.rows {
		if out[i].ProductName, err = rows.str(i, "ProductName"); err != nil {
			return nil, err
		}
		if out[i].ProviderName, err = rows.str(i, "ProviderName"); err != nil {
			return nil, err
		}
		if out[i].Count, err = rows.long(i, "count_"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// IsUnresolvedTable recognises the semantic error for a table the workspace
// does not have (yet: the service creates a table with its first data). The detail is nested in the body's innererror, so it is
// read from the raw response.
func IsUnresolvedTable(err error) bool {
	var re *azcore.ResponseError
	if err == nil || !errors.As(err, &re) || re.RawResponse == nil || re.ErrorCode != "BadArgumentError" {
		return false
	}
	body, perr := runtime.Payload(re.RawResponse)
	return perr == nil && strings.Contains(string(body), "Failed to resolve table")
}

// primary runs q and returns its first table, checking that it has the
// columns the caller reads.
func (c *Client) primary(ctx context.Context, workspaceID, q string, span azquery.TimeInterval, cols ...string) (*resultRows, error) {
	tables, err := c.Query(ctx, workspaceID, q, span)
	if err != nil {
		return nil, err
	}
	if len(tables) == 0 {
		return nil, shapeError("no result table")
	}
	return newResultRows(tables[0], cols)
}
