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

// TableVolume is one table's events and last event within the window.
type TableVolume struct {
	Table  string
	Events int64
	Last   time.Time
}

// TableVolumes counts events per table within window (VolumeWindow by
// default). Tables without events are absent from the result.
func (c *Client) TableVolumes(ctx context.Context, workspaceID string, tables []string, window time.Duration) ([]TableVolume, error) {
	q, err := VolumeQuery(tables, window)
	if err != nil {
		return nil, err
	}
	rows, err := c.primary(ctx, workspaceID, q, isoSpan(window), "Table", "Events", "Last")
	if err != nil || rows == nil {
		return nil, err
	}
	out := make([]TableVolume, len(rows.rows))
	for i := range rows.rows {
		if out[i].Table, err = rows.str(i, "Table"); err != nil {
			return nil, err
		}
		if out[i].Events, err = rows.long(i, "Events"); err != nil {
			return nil, err
		}
		if out[i].Last, err = rows.time(i, "Last"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DailyVolume is one table's events on one UTC day.
type DailyVolume struct {
	Table  string
	Day    time.Time // UTC midnight
	Events int64
}

// DailyVolumes counts events per table per UTC day over the last days
// (DailyDays by default). Days without events are absent.
func (c *Client) DailyVolumes(ctx context.Context, workspaceID string, tables []string, days int) ([]DailyVolume, error) {
	q, err := DailyVolumeQuery(tables, days)
	if err != nil {
		return nil, err
	}
	rows, err := c.primary(ctx, workspaceID, q, isoSpan(time.Duration(days)*24*time.Hour), "Table", "TimeGenerated", "Events")
	if err != nil || rows == nil {
		return nil, err
	}
	out := make([]DailyVolume, len(rows.rows))
	for i := range rows.rows {
		if out[i].Table, err = rows.str(i, "Table"); err != nil {
			return nil, err
		}
		if out[i].Day, err = rows.time(i, "TimeGenerated"); err != nil {
			return nil, err
		}
		if out[i].Events, err = rows.long(i, "Events"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LastLogReceived is the time of the table's latest event. ok is false when
// the table has no events or does not exist in the workspace yet (the
// service cannot resolve a table that never received data).
func (c *Client) LastLogReceived(ctx context.Context, workspaceID, table string) (last time.Time, ok bool, err error) {
	q, err := LastLogQuery(table)
	if err != nil {
		return time.Time{}, false, err
	}
	rows, err := c.primary(ctx, workspaceID, q, "", "LastLogReceived")
	if IsUnresolvedTable(err) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	if len(rows.rows) != 1 {
		return time.Time{}, false, shapeError("last-log query returned %d rows, want 1", len(rows.rows))
	}
	last, err = rows.time(0, "LastLogReceived")
	return last, err == nil && !last.IsZero(), err
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
